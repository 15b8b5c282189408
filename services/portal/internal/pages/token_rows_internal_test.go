package pages

import (
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/services/portal/internal/apitokens"
)

// A revoked token is in use no longer: its row said "In use until" a day weeks ahead
// beside "Revoked", and a new lead, whose hand-over revoked the tokens before them,
// read a list of tokens that seemed to work until then.
func TestARevokedTokenIsNotSaidToBeInUseUntilItWouldHaveExpired(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	tok := apitokens.Token{ID: "t1", Org: "o1", Name: "Grants tool", CreatedBy: "Dana Green", Created: now.AddDate(0, 0, -3),
		Expires: now.AddDate(0, 0, 30), Last4: "abcd", Revoked: now.Add(-time.Hour), RevokedBy: "Sam Patel"}
	row := tokenRowOf(tok, now)
	if strings.Contains(row.Expires, "2027") || !strings.Contains(row.Expires, "Not in use") {
		t.Errorf("a revoked token's row reads in use until %q", row.Expires)
	}
	tok.Revoked, tok.RevokedBy = time.Time{}, ""
	if row := tokenRowOf(tok, now); !strings.Contains(row.Expires, "2027") {
		t.Errorf("a token in use reads in use until %q, want the day it expires", row.Expires)
	}
}
