package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// client calls the services over real sockets, the way an applicant's tool or the ops
// console would: a failed connection is retried, and a request whose connection broke
// after it was sent has an unknown outcome, which the workload must resolve by reading.
type client struct {
	http *http.Client
}

func newClient() *client {
	return &client{http: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

type reply struct {
	status   int
	body     []byte
	replayed bool // answered from an Idempotency-Key's stored response
	// retryAfter is the Retry-After header: a refusal the service says is passing.
	retryAfter string
}

func (r reply) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("decode %d reply %q (replayed: %v): %w", r.status, truncate(r.body), r.replayed, err)
	}
	return nil
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.status, truncate(r.body)) }

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// do sends one request. err is a transport failure (no reply).
func (c *client) do(ctx context.Context, method, url, token string, body any, header map[string]string) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, body: b, replayed: resp.Header.Get("Idempotent-Replayed") != "", retryAfter: resp.Header.Get("Retry-After")}, nil
}

// attempt is what one call of an operation saw, for the operation to decide on.
type attempt struct {
	reply
	err error
	// unknown is true once any earlier attempt of this operation may have reached the
	// server without its reply reaching us.
	unknown bool
}

// retry calls op until decide says it is settled or the deadline passes. Transport
// errors, 429 and 5xx are retried with a short backoff; decide sees every reply.
func (c *client) retry(ctx context.Context, within time.Duration, call func() (reply, error), decide func(attempt) (done bool, err error)) (stats opStats, err error) {
	deadline := time.Now().Add(within)
	unknown := false
	wait := 50 * time.Millisecond
	for {
		r, cerr := call()
		stats.attempts++
		a := attempt{reply: r, err: cerr, unknown: unknown}
		switch {
		case cerr != nil:
			stats.transport++
			unknown = true
		case r.status == http.StatusTooManyRequests || r.status >= 500 || retryLater(r):
			// A 5xx may come after the change was stored (a timeout, say): its
			// outcome is unknown too.
			stats.unavailable++
			unknown = unknown || r.status >= 500
		default:
			done, derr := decide(a)
			if done || derr != nil {
				return stats, derr
			}
			stats.waited++
		}
		if time.Now().After(deadline) {
			if cerr != nil {
				return stats, fmt.Errorf("gave up after %d attempts in %s: %w", stats.attempts, within, cerr)
			}
			return stats, fmt.Errorf("gave up after %d attempts in %s: last reply %s", stats.attempts, within, r)
		}
		select {
		case <-ctx.Done():
			return stats, ctx.Err()
		case <-time.After(wait):
		}
		if wait < time.Second {
			wait = wait * 3 / 2
		}
	}
}

// opStats counts what it took to settle one operation.
type opStats struct {
	attempts, transport, unavailable, waited int
}

func (s *opStats) add(o opStats) {
	s.attempts += o.attempts
	s.transport += o.transport
	s.unavailable += o.unavailable
	s.waited += o.waited
}

// retryLater is a conflict the service says is passing, with a Retry-After: another
// request holds the object or the Idempotency-Key (its process may have died holding
// it; the claim lapses), so the same request later will go through.
func retryLater(r reply) bool {
	return r.status == http.StatusConflict && r.retryAfter != ""
}
