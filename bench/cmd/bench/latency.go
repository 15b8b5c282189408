package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/smtp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/itss/techcommit/libs/bus"
)

// latency is a distribution of delays.
type latency struct {
	n                       int
	p50, p90, p95, p99, max time.Duration
	missing                 int
}

func distribution(ds []time.Duration, missing int) latency {
	if len(ds) == 0 {
		return latency{missing: missing}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q int) time.Duration { return ds[min(len(ds)-1, len(ds)*q/100)] }
	return latency{n: len(ds), p50: at(50), p90: at(90), p95: at(95), p99: at(99), max: ds[len(ds)-1], missing: missing}
}

const (
	mailpitAPI = "http://127.0.0.1:8025/api/v1"
	smtpAddr   = "127.0.0.1:1025"
)

// eventLatency submits drafts at a steady rate (vegeta's pacer) and measures, for each,
// the time from the submission's HTTP response to the acknowledgement email being
// accepted by the SMTP server (Mailpit's record of when it received the message).
// profile starts a CPU profile of the steady load and returns what waits for it.
func eventLatency(ctx context.Context, round, token string, rate int, d time.Duration, profile func() func()) (latency, error) {
	n := rate * int(d/time.Second)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	ids, err := drafts(ctx, round, token, run, n)
	if err != nil {
		return latency{}, err
	}
	// Steady load on a system at rest: the loads before this one (and these drafts)
	// are digested first.
	took, err := caughtUp(ctx, "nats://127.0.0.1:4222", 5*time.Minute)
	if err != nil {
		return latency{}, err
	}
	fmt.Printf("consumers caught up with the earlier load in %s\n", took.Round(time.Millisecond))
	var next atomic.Int64
	targeter := func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		if i >= int64(len(ids)) {
			return vegeta.ErrNoTargets
		}
		t.Method, t.URL = http.MethodPost, "http://127.0.0.1:8084/v1/applications/"+ids[i]+"/submission"
		t.Header = http.Header{"Authorization": {"Bearer " + token}}
		return nil
	}
	answered := map[string]time.Time{} // application id -> when the submission was answered
	attacker := vegeta.NewAttacker(vegeta.KeepAlive(true))
	profiled := profile()
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, d, "ack") {
		if res.Code == http.StatusOK {
			id := strings.TrimSuffix(strings.TrimPrefix(res.URL, "http://127.0.0.1:8084/v1/applications/"), "/submission")
			answered[id] = res.End()
		}
	}
	profiled()
	titles := make(map[string]string, len(ids)) // title -> id
	for i, id := range ids {
		titles[draftTitle(run, i)] = id
	}
	// Wait for the emails, up to a bound, then read when Mailpit took each in.
	var got map[string]time.Time
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err = receivedMail(ctx, run)
		if err != nil {
			return latency{}, err
		}
		if len(got) >= len(answered) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	var ds []time.Duration
	for title, at := range got {
		if sent, ok := answered[titles[title]]; ok {
			ds = append(ds, at.Sub(sent))
		}
	}
	return distribution(ds, len(answered)-len(ds)), nil
}

func draftTitle(run string, i int) string { return fmt.Sprintf("Bench %s-%d", run, i) }

// drafts creates n drafts with distinct titles, 32 at a time.
func drafts(ctx context.Context, round, token, run string, n int) ([]string, error) {
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var body map[string]any
				_ = json.Unmarshal(draftBody(round), &body)
				body["title"] = draftTitle(run, i)
				b, _ := json.Marshal(body)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:8084/v1/applications", bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					var m map[string]any
					_ = json.NewDecoder(resp.Body).Decode(&m)
					_ = resp.Body.Close()
					if id, ok := m["id"].(string); ok && resp.StatusCode == http.StatusCreated {
						ids[i] = id
						continue
					}
					err = fmt.Errorf("draft: %d %v", resp.StatusCode, m)
				}
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
		}()
	}
	wg.Wait()
	return ids, firstErr
}

// receivedMail reads Mailpit's messages of this run: for each draft title, when the
// first email about it was received.
func receivedMail(ctx context.Context, run string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for start := 0; ; start += 1000 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/messages?start=%d&limit=1000", mailpitAPI, start), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("read mailpit: %w", err)
		}
		var page struct {
			Messages []struct {
				Subject string    `json:"Subject"`
				Created time.Time `json:"Created"`
			} `json:"messages"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		_ = resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read mailpit: %w", err)
		}
		for _, m := range page.Messages {
			_, title, ok := strings.Cut(m.Subject, "application received — ")
			if !ok || !strings.HasPrefix(title, "Bench "+run+"-") {
				continue
			}
			if at, seen := out[title]; !seen || m.Created.Before(at) {
				out[title] = m.Created
			}
		}
		if len(page.Messages) < 1000 {
			return out, nil
		}
	}
}

// smtpRoundTrip is the median time to hand one small message to the SMTP server
// (connect, MAIL, RCPT, DATA, QUIT): what the acknowledgement's own delivery costs.
func smtpRoundTrip() (time.Duration, error) {
	var ds []time.Duration
	for i := range 20 {
		t := time.Now()
		msg := fmt.Sprintf("Subject: bench smtp round trip %d\r\n\r\nx\r\n", i)
		if err := smtp.SendMail(smtpAddr, nil, "bench@example.org", []string{"sink@example.org"}, []byte(msg)); err != nil {
			return 0, fmt.Errorf("smtp round trip: %w", err)
		}
		ds = append(ds, time.Since(t))
	}
	return distribution(ds, 0).p50, nil
}

// jetStreamLatency is the baseline: raw JetStream publish → consume on the same NATS
// server, at the same steady rate, each message carrying when it was published.
func jetStreamLatency(ctx context.Context, url string, rate int, d time.Duration) (latency, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return latency{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return latency{}, err
	}
	name := "BENCH_LATENCY"
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"bench.latency"}, Storage: jetstream.FileStorage})
	if err != nil {
		return latency{}, err
	}
	defer func() { _ = js.DeleteStream(context.Background(), name) }()
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return latency{}, err
	}
	var mu sync.Mutex
	var ds []time.Duration
	cc, err := c.Consume(func(m jetstream.Msg) {
		sent, _ := strconv.ParseInt(string(m.Data()), 10, 64)
		took := time.Since(time.Unix(0, sent))
		_ = m.Ack()
		mu.Lock()
		ds = append(ds, took)
		mu.Unlock()
	})
	if err != nil {
		return latency{}, err
	}
	defer cc.Stop()
	n := rate * int(d/time.Second)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for range n {
		<-tick.C
		if _, err := js.Publish(ctx, "bench.latency", []byte(strconv.FormatInt(time.Now().UnixNano(), 10))); err != nil {
			return latency{}, err
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		done := len(ds) >= n
		mu.Unlock()
		if done {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	return distribution(append([]time.Duration(nil), ds...), n-len(ds)), nil
}

// caughtUp waits until every durable consumer of every stream on the NATS server at
// url has acknowledged everything in its stream, so that a measurement of steady
// load does not also measure the digestion of the load before it. It returns how
// long that took.
func caughtUp(ctx context.Context, url string, within time.Duration) (time.Duration, error) {
	began := time.Now()
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	for {
		err := bus.Behind(ctx, js)
		if err == nil {
			return time.Since(began), nil
		}
		if time.Since(began) > within {
			return 0, fmt.Errorf("consumers still behind after %s: %w", within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
