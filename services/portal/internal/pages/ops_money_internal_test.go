package pages

import (
	"testing"

	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
)

// The fund's messages about amounts read in pounds beside fields typed in pounds.
func TestOpsInPounds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"must be between 10000 and 100000 pence for this round", "must be between £100 and £1,000 for this round"},
		{"must not exceed the 1050 pence awarded: report what the grant paid for", "must not exceed the £10.50 awarded: report what the grant paid for"},
		{"must be at least min_award_pence", "must be at least the smallest award in pounds"},
		{"must be at most 100000000 pence", "must be at most £1,000,000"},
		{"must be positive", "must be positive"},
		{"add up to 5 items", "add up to 5 items"},
	} {
		if got := opsInPounds(c.in, opsform.FundRound); got != c.want {
			t.Errorf("opsInPounds(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
