package service_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/api"
	"github.com/itss/techcommit/services/review/internal/config"
	"github.com/itss/techcommit/services/review/internal/service"
)

// TestSecurityBodiesWhereNoneIsTakenAreRefused: a body sent to an operation that
// takes none, one over the body limit too, is 400 naming body, as each such
// operation's document declares.
func TestSecurityBodiesWhereNoneIsTakenAreRefused(t *testing.T) {
	t.Parallel()
	h := start(t)
	testenv.BodiesWhereNoneIsTaken(t, h.Client, api.Spec)
}

func TestSecurityMalformedPathsAreRefused(t *testing.T) {
	t.Parallel()
	h := start(t)
	testenv.MalformedPaths(t, h.Client, api.Spec)
}

func TestSecurityRequestHygiene(t *testing.T) {
	t.Parallel()
	h := start(t)
	lead := h.Token(auth.RoleLead, "org-a")
	for _, tt := range []struct {
		name   string
		r      testenv.Response
		status int
	}{
		{"operator injection in the query", h.Do("GET", "/v1/submissions?status%5B%24ne%5D=x", h.ops, nil), http.StatusBadRequest},
		{"duplicate key", h.Do("POST", "/v1/submissions", lead, `{"webpage":"https://a.example","webpage":"https://b.example"}`), http.StatusBadRequest},
		{"text instead of JSON", h.Do("POST", "/v1/submissions", lead, `{}`, "Content-Type", "text/plain"), http.StatusUnsupportedMediaType},
	} {
		if tt.r.Status != tt.status || tt.r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d problem+json: %s", tt.name, tt.r.Status, tt.r.Header.Get("Content-Type"), tt.status, tt.r.Body)
		}
		if tt.r.Header.Get("Cache-Control") != "no-store" || tt.r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: Cache-Control %q, X-Content-Type-Options %q", tt.name, tt.r.Header.Get("Cache-Control"), tt.r.Header.Get("X-Content-Type-Options"))
		}
	}
	if r := h.Do("HEAD", "/v1/submissions", h.ops, nil); r.Status != http.StatusOK || len(r.Body) != 0 {
		t.Errorf("HEAD /v1/submissions: %d with %d bytes", r.Status, len(r.Body))
	}
}

func TestSecurityRateLimits(t *testing.T) {
	t.Parallel()
	env := testenv.NewEnv(t)
	env.Spec = api.Spec
	cfg := config.Default()
	cfg.Platform = env.Platform(t, cfg.Platform)
	cfg.HTTP.ReadPerSecond, cfg.HTTP.ReadBurst = 0.01, 4
	cfg.HTTP.WritePerSecond, cfg.HTTP.WriteBurst = 0.01, 2
	if _, err := bus.EnsureStream(context.Background(), env.JS, bus.StreamSpec{Name: events.StreamSignatory, Subjects: []string{events.SubjectsSignatory}}); err != nil {
		t.Fatal(err)
	}
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard(), Clock: clock.NewFake(start0)})
	if err != nil {
		t.Fatal(err)
	}
	c := env.Serve(t, svc.Serve, cleanup)
	ops := c.Token(auth.RoleOps, "")
	reads := c.Race(12, func(int) testenv.Response { return c.Do("GET", "/v1/submissions", ops, nil) })
	if diff := cmp.Diff(map[int]int{200: 4, 429: 8}, reads); diff != "" {
		t.Errorf("12 reads at once by one caller (-want +got):\n%s", diff)
	}
	lead := c.Token(auth.RoleLead, "org-a")
	writes := c.Race(10, func(int) testenv.Response { return c.Do("POST", "/v1/submissions", lead, `{}`) })
	if writes[http.StatusTooManyRequests] != 8 {
		t.Errorf("10 writes at once by one caller with RATE_WRITE_BURST 2: %v, want 8 refused with 429", writes)
	}
}

// TestTokensForItsAudienceOnly: the review service accepts only tokens whose aud
// names it (tc-review), valid for at most AUTH_MAX_TOKEN_LIFETIME (an hour).
func TestTokensForItsAudienceOnly(t *testing.T) {
	t.Parallel()
	testenv.TokensForItsAudienceOnly(t, start(t).Client)
}

// TestHealthAndMetricsOnlyOnTheAdminPort: /healthz, /readyz and /metrics answer on
// ADMIN_ADDR, and 404 on the API's port.
func TestHealthAndMetricsOnlyOnTheAdminPort(t *testing.T) {
	t.Parallel()
	testenv.AdminApart(t, start(t).Client)
}
