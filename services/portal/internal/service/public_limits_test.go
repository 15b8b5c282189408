package service

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/testenv"
	fundtest "github.com/itss/techcommit/services/fund/servicetest"
	sigtest "github.com/itss/techcommit/services/signatory/servicetest"
)

// ingressAddr is the test portal's one trusted proxy, standing for the ingress
// controller: its X-Forwarded-For names the visitor.
const ingressAddr = "127.0.0.4"

// The public pages called the services with nothing to say whom for, so that every
// visitor was counted against the portal's one address: one client asking fast
// enough had the directory and the open rounds refused to everybody. The portal now
// names the visitor as it counts them itself (the connection's address, or the
// client its own trusted proxy names) and the services, trusting the portal as a
// proxy, count each visitor on their own. What a visitor writes in X-Forwarded-For
// from anywhere else is not believed, so nobody can move to a fresh allowance, or
// into someone else's, by naming one; and each 429 says how long to wait.
func TestOneVisitorCannotUseUpThePublicPagesForOthers(t *testing.T) {
	t.Parallel()
	env := testenv.NewEnv(t)
	sig := sigtest.Start(t, env, "", "")
	fund := fundtest.Start(t, env, "", "")
	p := startPortalOn(t, env, services{signatory: sig.URL, fund: fund.URL, env: map[string]string{"HTTP_TRUSTED_PROXIES": ingressAddr}})
	attacker, victim, ingress := p.from("127.0.0.2"), p.from("127.0.0.3"), p.from(ingressAddr)

	for _, tc := range []struct{ name, page string }{{"directory", "/directory"}, {"rounds", "/fund/rounds"}} {
		page := tc.page
		t.Run(tc.name, func(t *testing.T) {
			refused := exhaust(t, "127.0.0.2", func(int) response { return attacker(page) })
			wantRetryAfter(t, "the attacker's 429", refused)
			// At once, before the attacker's allowance has refilled with more than
			// a request or two.
			if r := victim(page); r.status != http.StatusOK {
				t.Errorf("another visitor, once one had used up their allowance: %s = %d, want 200", page, r.status)
			}

			// Naming another client (a made-up one, or the victim) from an
			// untrusted address is not believed: the requests are still the
			// attacker's, refused but for the few its allowance has refilled
			// with meanwhile.
			exhaust(t, "127.0.0.2 again", func(int) response { return attacker(page) })
			const tries = 20
			started := time.Now()
			answers := make([]response, tries)
			var wg sync.WaitGroup
			for i := range tries {
				wg.Go(func() {
					named := fmt.Sprintf("198.51.100.%d", i+1)
					if i == 0 {
						named = "127.0.0.3"
					}
					answers[i] = attacker(page, "X-Forwarded-For", named)
				})
			}
			wg.Wait()
			allowed := 0
			for _, r := range answers {
				if r.status == http.StatusOK {
					allowed++
					continue
				}
				wantRetryAfter(t, "a spoofed request's answer", r)
				if t.Failed() {
					break
				}
			}
			// The services' public allowance refills at 20 a second; the bucket
			// exhaust left may hold most of a request already (it stops at the first
			// refusal), which counts one more. Believed, the names would have all 20.
			if refill := 2 + int(20*time.Since(started).Seconds()); allowed > refill {
				t.Errorf("naming other clients in X-Forwarded-For got %d of %d pages past the attacker's limit, want at most %d", allowed, tries, refill)
			}

			// Behind the portal's own proxy, the client it names is the visitor,
			// whatever that client wrote before it (the chain's left part).
			refused = exhaust(t, "203.0.113.7 behind the ingress", func(i int) response {
				return ingress(page, "X-Forwarded-For", fmt.Sprintf("192.0.2.%d, 203.0.113.7", i%250+1))
			})
			wantRetryAfter(t, "the 429 of a client behind the ingress", refused)
			if r := ingress(page, "X-Forwarded-For", "203.0.113.8"); r.status != http.StatusOK {
				t.Errorf("another client behind the ingress: %s = %d, want 200", page, r.status)
			}
		})
	}
}

// from returns a function that asks the portal for a page over a connection from
// local, a loopback address (Linux answers on all of 127.0.0.0/8), with the given
// headers, following no redirect.
func (p *portal) from(local string) func(path string, headers ...string) response {
	p.tb.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	transport := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 32}
	p.tb.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return func(path string, headers ...string) response {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, p.url+path, nil)
		if err != nil {
			p.tb.Fatal(err)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			p.tb.Error(err)
			return response{}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	}
}

// exhaust asks, a wave of requests at once, until one is refused, and returns the
// refusal; every answer before it must be the page.
func exhaust(tb testing.TB, who string, get func(i int) response) response {
	tb.Helper()
	const wave, waves = 25, 40
	for w := range waves {
		answers := make([]response, wave)
		var wg sync.WaitGroup
		for i := range wave {
			wg.Go(func() { answers[i] = get(w*wave + i) })
		}
		wg.Wait()
		var refused *response
		for i, r := range answers {
			switch r.status {
			case http.StatusOK:
			case http.StatusTooManyRequests:
				refused = &answers[i]
			default:
				tb.Fatalf("%s: a page = %d: %s", who, r.status, r.body)
			}
		}
		if refused != nil {
			return *refused
		}
	}
	tb.Fatalf("%s: %d requests at once were never refused", who, wave*waves)
	return response{}
}

// wantRetryAfter checks that a 429 says how long to wait, in whole seconds, one at
// least, and that its page tells the person the same wait in words: a page that said
// "Wait a minute" over a service's Retry-After of 1 kept people waiting sixty times
// as long as the service asked, and told a tool's reader the opposite of its header.
func wantRetryAfter(tb testing.TB, what string, r response) {
	tb.Helper()
	if r.status != http.StatusTooManyRequests {
		tb.Errorf("%s = %d, want 429", what, r.status)
		return
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		tb.Errorf("%s has Retry-After %q, want whole seconds, at least 1", what, r.header.Get("Retry-After"))
		return
	}
	words := fmt.Sprintf("Wait %d seconds", secs)
	switch {
	case secs == 1:
		words = "Wait 1 second "
	case secs == 60:
		words = "Wait a minute"
	case secs > 60:
		return
	}
	if !strings.Contains(r.body, words) {
		tb.Errorf("%s has Retry-After %d but its page does not say %q:\n%s", what, secs, words, r.body)
	}
}
