package pages

import "testing"

// The erasure's result says how many of the organisations that named the person now
// need a new nominated lead, in grammar that agrees with the count: it read "1 of
// them now need a new nominated lead".
func TestErasureSaysWhoNeedsANewLeadInGrammar(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		need, of int
		want     string
	}{
		{1, 1, "It now needs a new nominated lead: ask the organisation to name one."},
		{1, 3, "1 of them now needs a new nominated lead: ask the organisation to name one."},
		{2, 3, "2 of them now need a new nominated lead: ask each organisation to name one."},
		{2, 2, "Both now need a new nominated lead: ask each organisation to name one."},
		{3, 3, "All 3 now need a new nominated lead: ask each organisation to name one."},
		{0, 3, ""},
	} {
		if got := opsNeedLeadSentence(c.need, c.of); got != c.want {
			t.Errorf("%d of %d: %q, want %q", c.need, c.of, got, c.want)
		}
	}
}
