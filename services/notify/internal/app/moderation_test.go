package app

import (
	"testing"
	"time"
)

// Where a review stands follows the round's order of events, whatever order they are
// heard of in.
func TestAReviewStandsWhereTheRoundsLastEventLeftIt(t *testing.T) {
	t.Parallel()
	m := func(kind string, v int) Mark { return Mark{Kind: kind, Version: v, At: time.Unix(int64(100-v), 0)} }
	cases := []struct {
		name        string
		marks       []Mark
		closed      bool // the assignment's flag from before marks were kept
		outstanding bool
		returned    int
	}{
		{"assigned, nothing since", []Mark{m(MarkAssigned, 1)}, false, true, 0},
		{"accepted, no review", []Mark{m(MarkAccepted, 2), m(MarkAssigned, 1)}, false, true, 0},
		{"reviewed", []Mark{m(MarkAssigned, 1), m(MarkSubmitted, 3)}, false, false, 0},
		{"returned", []Mark{m(MarkSubmitted, 3), m(MarkReturned, 4)}, false, true, 4},
		{"revision heard of before the return", []Mark{m(MarkSubmitted, 5), m(MarkReturned, 4), m(MarkSubmitted, 3)}, false, false, 0},
		{"returned twice, revised once", []Mark{m(MarkSubmitted, 3), m(MarkReturned, 4), m(MarkSubmitted, 5), m(MarkReturned, 6)}, false, true, 6},
		{"returned, then taken off it", []Mark{m(MarkSubmitted, 3), m(MarkReturned, 4), m(MarkGone, 5)}, false, false, 0},
		{"declined, then asked again", []Mark{m(MarkAssigned, 1), m(MarkGone, 2), m(MarkAssigned, 3), m(MarkAccepted, 4)}, true, true, 0},
		{"reviewed before marks were kept", nil, true, false, 0},
		{"returned after a review from before marks were kept", []Mark{m(MarkReturned, 9)}, true, true, 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := stateOf(c.marks)
			closed := c.closed && !st.assigned
			if got := st.outstanding(closed); got != c.outstanding {
				t.Errorf("outstanding: %v, want %v", got, c.outstanding)
			}
			returned := 0
			if st.returned != nil {
				returned = st.returned.Version
			}
			if returned != c.returned {
				t.Errorf("the return still to answer: %d, want %d", returned, c.returned)
			}
		})
	}
}
