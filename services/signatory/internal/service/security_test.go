package service_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/api"
	"github.com/itss/techcommit/services/signatory/internal/config"
	"github.com/itss/techcommit/services/signatory/internal/service"
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
	// The probe of issue 16, by name.
	for _, r := range []testenv.Response{h.Do("GET", "/v1/organisations//history", "", nil), h.Do("GET", "/v1/organisations//history", h.Token(auth.RoleOps, ""), nil)} {
		if r.Status != http.StatusNotFound {
			t.Errorf("GET /v1/organisations//history: %d, want 404: %s", r.Status, r.Body)
		}
	}
}

func TestSecurityRequestHygiene(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	for _, tt := range []struct {
		name   string
		r      testenv.Response
		status int
	}{
		{"unknown query parameter", h.Do("GET", "/v1/organisations?status%5B%24ne%5D=x", ops, nil), http.StatusBadRequest},
		{"duplicate key", h.Do("POST", "/v1/organisations", ops, `{"name":"A","name":"B"}`), http.StatusBadRequest},
		{"form instead of JSON", h.Do("POST", "/v1/organisations", ops, `{"name":"A"}`, "Content-Type", "text/plain"), http.StatusUnsupportedMediaType},
	} {
		if tt.r.Status != tt.status || tt.r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d problem+json: %s", tt.name, tt.r.Status, tt.r.Header.Get("Content-Type"), tt.status, tt.r.Body)
		}
		if tt.r.Header.Get("Cache-Control") != "no-store" || tt.r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: Cache-Control %q, X-Content-Type-Options %q", tt.name, tt.r.Header.Get("Cache-Control"), tt.r.Header.Get("X-Content-Type-Options"))
		}
	}
	if r := h.Do("HEAD", "/v1/directory", "", nil); r.Status != http.StatusOK || len(r.Body) != 0 {
		t.Errorf("HEAD /v1/directory: %d with %d bytes", r.Status, len(r.Body))
	}
}

func TestSecurityRateLimits(t *testing.T) {
	t.Parallel()
	env := testenv.NewEnv(t)
	env.Spec = api.Spec
	cfg := config.Default()
	cfg.Platform = env.Platform(t, cfg.Platform)
	cfg.HTTP.ReadPerSecond, cfg.HTTP.ReadBurst = 0.01, 4
	cfg.HTTP.PublicPerSecond, cfg.HTTP.PublicBurst = 0.01, 3
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	c := env.Serve(t, svc.Serve, cleanup)
	ops := c.Token(auth.RoleOps, "")
	reads := c.Race(12, func(int) testenv.Response { return c.Do("GET", "/v1/organisations", ops, nil) })
	if diff := cmp.Diff(map[int]int{200: 4, 429: 8}, reads); diff != "" {
		t.Errorf("12 reads at once by one caller (-want +got):\n%s", diff)
	}
	public := c.Race(12, func(int) testenv.Response { return c.Do("GET", "/v1/directory", "", nil) })
	if diff := cmp.Diff(map[int]int{200: 3, 429: 9}, public); diff != "" {
		t.Errorf("12 directory reads at once from one address (-want +got):\n%s", diff)
	}
}

// TestTokensForItsAudienceOnly: the signatory service accepts only tokens whose aud
// names it (tc-signatory), valid for at most AUTH_MAX_TOKEN_LIFETIME (an hour).
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
