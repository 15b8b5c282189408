package service_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/api"
	"github.com/itss/techcommit/services/notify/internal/service"
)

var securityStart = time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)

// TestSecurityBodiesWhereNoneIsTakenAreRefused: a body sent to an operation that
// takes none, one over the body limit too, is 400 naming body, as each such
// operation's document declares.
func TestSecurityBodiesWhereNoneIsTakenAreRefused(t *testing.T) {
	t.Parallel()
	h := start(t, 1, securityStart)
	testenv.BodiesWhereNoneIsTaken(t, h.http, api.Spec)
}

func TestSecurityMalformedPathsAreRefused(t *testing.T) {
	t.Parallel()
	h := start(t, 1, securityStart)
	testenv.MalformedPaths(t, h.http, api.Spec)
}

func TestSecurityRequestHygiene(t *testing.T) {
	t.Parallel()
	h := start(t, 1, securityStart)
	c := h.http
	ops := c.Token(auth.RoleOps, "")
	for _, tt := range []struct {
		name   string
		r      testenv.Response
		status int
	}{
		{"operator injection in the query", c.Do("GET", "/v1/deliveries?status%5B%24ne%5D=x", ops, nil), http.StatusBadRequest},
		{"parameter of another operation", c.Do("GET", "/v1/reminders/preview?organisation_id=x", ops, nil), http.StatusBadRequest},
	} {
		if tt.r.Status != tt.status || tt.r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d problem+json: %s", tt.name, tt.r.Status, tt.r.Header.Get("Content-Type"), tt.status, tt.r.Body)
		}
		if tt.r.Header.Get("Cache-Control") != "no-store" || tt.r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: Cache-Control %q, X-Content-Type-Options %q", tt.name, tt.r.Header.Get("Cache-Control"), tt.r.Header.Get("X-Content-Type-Options"))
		}
	}
	if r := c.Do("HEAD", "/v1/deliveries", ops, nil); r.Status != http.StatusOK || len(r.Body) != 0 || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("HEAD /v1/deliveries: %d with %d bytes, Cache-Control %q", r.Status, len(r.Body), r.Header.Get("Cache-Control"))
	}
}

func TestSecurityRateLimits(t *testing.T) {
	t.Parallel()
	h := start(t, 0, securityStart)
	cfg := h.cfg
	cfg.HTTP.ReadPerSecond, cfg.HTTP.ReadBurst = 0.01, 4
	cfg.HTTP.PublicPerSecond, cfg.HTTP.PublicBurst = 0.01, 3
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Clock: h.clock, Logger: telemetry.Discard(), NoSweeper: true})
	if err != nil {
		t.Fatal(err)
	}
	c := h.env.Serve(t, svc.Serve, cleanup)
	ops := c.Token(auth.RoleOps, "")
	reads := c.Race(12, func(int) testenv.Response { return c.Do("GET", "/v1/deliveries", ops, nil) })
	if diff := cmp.Diff(map[int]int{200: 4, 429: 8}, reads); diff != "" {
		t.Errorf("12 reads at once by one caller (-want +got):\n%s", diff)
	}
	// Calendar feeds need no token: each address has its bucket, unknown feeds included.
	feeds := c.Race(12, func(int) testenv.Response {
		return c.Do("GET", "/v1/calendars/"+strings.Repeat("a", 24)+".ics", "", nil)
	})
	if feeds[http.StatusTooManyRequests] != 9 {
		t.Errorf("12 feed requests at once from one address: %v, want 9 refused with 429", feeds)
	}
}

// TestTokensForItsAudienceOnly: the notify service accepts only tokens whose aud
// names it (tc-notify), valid for at most AUTH_MAX_TOKEN_LIFETIME (an hour).
func TestTokensForItsAudienceOnly(t *testing.T) {
	t.Parallel()
	testenv.TokensForItsAudienceOnly(t, start(t, 1, time.Now()).http)
}

// TestHealthAndMetricsOnlyOnTheAdminPort: /healthz, /readyz and /metrics answer on
// ADMIN_ADDR, and 404 on the API's port.
func TestHealthAndMetricsOnlyOnTheAdminPort(t *testing.T) {
	t.Parallel()
	testenv.AdminApart(t, start(t, 1, time.Now()).http)
}
