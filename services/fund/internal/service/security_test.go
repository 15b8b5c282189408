package service_test

import (
	"testing"

	"github.com/itss/techcommit/libs/testenv"
)

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
