package service_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/api"
	"github.com/itss/techcommit/services/fund/internal/config"
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
	for _, token := range []string{"", h.Token(auth.RoleApplicant, "org-a")} {
		if r := h.Do("POST", "/v1/applications//submission", token, nil); r.Status != http.StatusNotFound {
			t.Errorf("POST /v1/applications//submission (token %t): %d, want 404: %s", token != "", r.Status, r.Body)
		}
	}
}

func TestSecurityRequestHygiene(t *testing.T) {
	t.Parallel()
	h := start(t)
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-a")
	for _, tt := range []struct {
		name   string
		r      testenv.Response
		status int
	}{
		{"operator injection in the query", h.Do("GET", "/v1/applications?status%5B%24ne%5D=x", applicant, nil), http.StatusBadRequest},
		{"duplicate key", h.Do("POST", "/v1/applications", applicant, `{"round_id":"`+round+`","round_id":"other"}`), http.StatusBadRequest},
		{"text instead of JSON", h.Do("POST", "/v1/applications", applicant, `{}`, "Content-Type", "text/plain"), http.StatusUnsupportedMediaType},
	} {
		if tt.r.Status != tt.status || tt.r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d problem+json: %s", tt.name, tt.r.Status, tt.r.Header.Get("Content-Type"), tt.status, tt.r.Body)
		}
		if tt.r.Header.Get("Cache-Control") != "no-store" || tt.r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: Cache-Control %q, X-Content-Type-Options %q", tt.name, tt.r.Header.Get("Cache-Control"), tt.r.Header.Get("X-Content-Type-Options"))
		}
	}
	if r := h.Do("HEAD", "/v1/rounds", "", nil); r.Status != http.StatusOK || len(r.Body) != 0 {
		t.Errorf("HEAD /v1/rounds: %d with %d bytes", r.Status, len(r.Body))
	}
}

func TestSecurityRateLimits(t *testing.T) {
	t.Parallel()
	// The fund's writes are bounded by FUND_WRITE_RATE and FUND_WRITE_BURST, over RATE_WRITE_*.
	h := start(t, func(c *config.Config) {
		c.Fund.WriteRate, c.Fund.WriteBurst = 0.01, 3
		c.HTTP.WritePerSecond, c.HTTP.WriteBurst = 1000, 1000
		c.HTTP.PublicPerSecond, c.HTTP.PublicBurst = 0.01, 3
	})
	applicant := h.Token(auth.RoleApplicant, "org-a")
	writes := h.Race(10, func(int) testenv.Response { return h.Do("POST", "/v1/applications", applicant, `{}`) })
	if writes[http.StatusTooManyRequests] != 7 {
		t.Errorf("10 writes at once by one caller with FUND_WRITE_BURST 3: %v, want 7 refused with 429", writes)
	}
	public := h.Race(12, func(int) testenv.Response { return h.Do("GET", "/v1/rounds", "", nil) })
	if diff := cmp.Diff(map[int]int{200: 3, 429: 9}, public); diff != "" {
		t.Errorf("12 reads of the open rounds at once from one address (-want +got):\n%s", diff)
	}
}

// TestTokensForItsAudienceOnly: the fund service accepts only tokens whose aud
// names it (tc-fund), valid for at most AUTH_MAX_TOKEN_LIFETIME (an hour).
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
