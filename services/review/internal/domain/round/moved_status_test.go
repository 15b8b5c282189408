package round_test

import (
	"testing"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/review/internal/domain/round"
)

// TestRoundWhoseSubmissionsAllMovedIsFinished: a closed round whose only submission
// moved to a later round has nothing left to release, and said "closed" for good
// (the console's Today listed it for ever); it is done, as one whose last feedback is
// out. A round closed without ever holding a submission stays closed.
func TestRoundWhoseSubmissionsAllMovedIsFinished(t *testing.T) {
	t.Parallel()
	h := opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Close(""))...)
	if st := rebuild(t, "r1", h).Status(); st != round.StatusClosed {
		t.Fatalf("closed with its submission in it: %s, want closed", st)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).MoveSubmission("s1", "r2"))...)
	if st := rebuild(t, "r1", h).Status(); st != round.StatusFeedbackReleased {
		t.Errorf("closed with its only submission moved on: %s, want %s", st, round.StatusFeedbackReleased)
	}

	var empty history
	empty.add(t, must[[]events.Payload](t)(rebuild(t, "r3", empty).Open("Empty", deadline, 0, now))...)
	empty.add(t, must[[]events.Payload](t)(rebuild(t, "r3", empty).Close(""))...)
	if st := rebuild(t, "r3", empty).Status(); st != round.StatusClosed {
		t.Errorf("closed without ever holding a submission: %s, want closed", st)
	}
}
