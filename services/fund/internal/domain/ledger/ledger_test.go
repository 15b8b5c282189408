package ledger_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/domain/ledger"
)

func apply(t *testing.T, budget int64, payloads ...events.Payload) *ledger.Ledger {
	t.Helper()
	var h []events.Envelope
	for i, p := range payloads {
		data, _ := json.Marshal(p)
		h = append(h, events.Envelope{Type: p.EventType(), Version: i + 1, Data: data})
	}
	l, err := ledger.Rebuild(budget, h)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestReservationsNeverExceedTheBudget(t *testing.T) {
	t.Parallel()
	l := apply(t, 1000)
	var history []events.Payload
	for i := range 5 {
		ps, err := l.Reserve("r", string(rune('a'+i)), 300)
		if i < 3 {
			if err != nil || len(ps) != 1 {
				t.Fatalf("reservation %d: %v", i, err)
			}
			history = append(history, ps...)
			l = apply(t, 1000, history...)
			continue
		}
		if !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("reservation %d over budget: %v, want Conflict", i, err)
		}
	}
	if l.Remaining() != 100 || l.Awarded() != 900 {
		t.Errorf("remaining %d awarded %d, want 100 and 900", l.Remaining(), l.Awarded())
	}
	if ps, err := l.Reserve("r", "a", 300); err != nil || len(ps) != 0 {
		t.Errorf("repeating a reservation: %v %v, want nothing", ps, err)
	}
	ps, _ := l.Release("r", "b")
	l = apply(t, 1000, append(history, ps...)...)
	if l.Remaining() != 400 {
		t.Errorf("after a release %d remain, want 400", l.Remaining())
	}
}

// A correction moves an award's reservation in one entry: lowered, it frees the
// difference; raised, it takes only the difference, and never beyond the budget; an
// application never awarded holds nothing to correct.
func TestAnAdjustmentMovesAReservationWithinTheBudget(t *testing.T) {
	t.Parallel()
	var history []events.Payload
	l := apply(t, 1000)
	for _, app := range []string{"a", "b"} {
		ps, err := l.Reserve("r", app, 400)
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, ps...)
		l = apply(t, 1000, history...)
	}
	ps, err := l.Adjust("r", "a", 50, "typed £4 for 50p")
	if err != nil || len(ps) != 1 {
		t.Fatalf("lowering: %v %v, want one entry", ps, err)
	}
	if adj := ps[0].(events.BudgetAdjustedV1); adj.FromPence != 400 || adj.ToPence != 50 || adj.RemainingPence != 550 {
		t.Errorf("the entry %+v, want 400 to 50 with 550 remaining", adj)
	}
	history = append(history, ps...)
	l = apply(t, 1000, history...)
	if got, _ := l.Reserved("a"); got != 50 || l.Awarded() != 450 || l.Remaining() != 550 || l.Entries() != 3 {
		t.Errorf("after lowering: a holds %d, awarded %d, remaining %d, entries %d; want 50, 450, 550, 3", got, l.Awarded(), l.Remaining(), l.Entries())
	}
	if _, err := l.Adjust("r", "b", 1000, "typed"); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("raising beyond the budget: %v, want Conflict", err)
	}
	if ps, err := l.Adjust("r", "b", 950, "typed"); err != nil || len(ps) != 1 {
		t.Errorf("raising to exactly what remains: %v %v", ps, err)
	}
	if ps, err := l.Adjust("r", "a", 50, "again"); err != nil || len(ps) != 0 {
		t.Errorf("adjusting to the amount held: %v %v, want nothing", ps, err)
	}
	if _, err := l.Adjust("r", "c", 50, "never awarded"); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("an application with no reservation: %v, want Conflict", err)
	}
	if _, err := l.Adjust("r", "a", 0, "zero"); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("adjusting to nothing: %v, want Invalid", err)
	}
}

// A budget typed too high is lowered on the ledger, to no less than what it holds
// awarded; from then on the ledger's budget is its own, whatever the round says.
func TestABudgetIsLoweredToNoLessThanIsAwarded(t *testing.T) {
	t.Parallel()
	res, err := apply(t, 10000).Reserve("r", "a", 4000)
	if err != nil {
		t.Fatal(err)
	}
	l := apply(t, 10000, res...)
	_, err = l.Hold("r", 3999, 2)
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Conflict || e.Field != "budget_pence" {
		t.Errorf("lowering below what is awarded: %v, want Conflict naming budget_pence", err)
	}
	ps, err := l.Hold("r", 4000, 2)
	if err != nil || len(ps) != 1 {
		t.Fatalf("lowering to what is awarded: %v %v", ps, err)
	}
	if set := ps[0].(events.BudgetSetV1); set.FromPence != 10000 || set.ToPence != 4000 || set.AwardedPence != 4000 {
		t.Errorf("the entry %+v, want 10000 to 4000 with 4000 awarded", set)
	}
	// Rebuilt over the round's budget as its own events say it (10000), the ledger
	// keeps its own.
	l = apply(t, 10000, append(res, ps...)...)
	if l.Budget() != 4000 || l.Remaining() != 0 || !l.BudgetSet() {
		t.Errorf("budget %d, remaining %d, set %t; want 4000, 0, set", l.Budget(), l.Remaining(), l.BudgetSet())
	}
	if _, err := l.Reserve("r", "b", 1); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("an award after the lowering: %v, want Conflict", err)
	}
	if ps, err := l.Hold("r", 4000, 2); err != nil || len(ps) != 0 {
		t.Errorf("the same budget again: %v %v, want nothing", ps, err)
	}
}

// A lowering holds the ledger's budget from the round's version it was decided on
// until the round has moved past it: Follow then sets the budget the round records
// (the lowering recorded, or put back), never while it may still be recorded; two
// lowerings decided on one version hold the lower; one decided on a version older
// than the ledger followed is stale.
func TestALoweringHoldsTheBudgetUntilTheRoundHasMovedOn(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	hold, err := apply(t, 10000).Hold("r", 6000, 3)
	if err != nil || len(hold) != 1 {
		t.Fatalf("holding 6000 on version 3: %v %v", hold, err)
	}
	l := apply(t, 10000, hold...)
	if ps, err := l.Follow("r", 10000, 3, now); err != nil || len(ps) != 0 {
		t.Errorf("following the round still at version 3: %v %v, want nothing while the lowering may be recorded", ps, err)
	}
	if ps, err := l.Hold("r", 8000, 3); err != nil || len(ps) != 0 {
		t.Errorf("a higher lowering decided on version 3 too: %v %v, want nothing (the ledger holds less)", ps, err)
	}
	lower, err := l.Hold("r", 5000, 3)
	if err != nil || len(lower) != 1 || lower[0].(events.BudgetSetV1).ToPence != 5000 {
		t.Fatalf("a lower lowering decided on version 3 too: %v %v, want it held", lower, err)
	}
	// The round recorded the 6000 at version 4: the ledger follows it.
	l = apply(t, 10000, append(hold, lower...)...)
	back, err := l.Follow("r", 6000, 4, now)
	if err != nil || len(back) != 1 {
		t.Fatalf("following version 4: %v %v", back, err)
	}
	if set := back[0].(events.BudgetSetV1); set.FromPence != 5000 || set.ToPence != 6000 || !set.Follows || set.RoundVersion != 4 {
		t.Errorf("the follow %+v, want 5000 to 6000 following version 4", set)
	}
	l = apply(t, 10000, append(append(hold, lower...), back...)...)
	if _, err := l.Hold("r", 4000, 3); !errors.Is(err, ledger.ErrStale) {
		t.Errorf("a lowering decided on version 3 after the ledger followed 4: %v, want ErrStale", err)
	}
	if ps, err := l.Follow("r", 10000, 3, now); err != nil || len(ps) != 0 {
		t.Errorf("following an older version: %v %v, want nothing", ps, err)
	}
}

// A budget set before entries named the round's version (an older release's) is
// taken to be under way for HoldGrace, then followed.
func TestAnUnversionedBudgetIsFollowedAfterTheGrace(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	data, _ := json.Marshal(events.BudgetSetV1{RoundID: "r", FromPence: 10000, ToPence: 14000})
	l, err := ledger.Rebuild(10000, []events.Envelope{{Type: events.BudgetSetV1{}.EventType(), Version: 1, Time: at, Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	if ps, _ := l.Follow("r", 10000, 2, at.Add(ledger.HoldGrace-time.Second)); len(ps) != 0 {
		t.Errorf("followed within the grace: %v", ps)
	}
	if ps, _ := l.Follow("r", 10000, 2, at.Add(ledger.HoldGrace)); len(ps) != 1 || ps[0].(events.BudgetSetV1).ToPence != 10000 {
		t.Errorf("after the grace: %v, want the round's 10000", ps)
	}
}

// An award whose request stopped after its claim is let go on the ledger: from then
// on a reservation under that claim is refused, however late, while one under a claim
// made since is taken; an application that drew on the budget has nothing let go, and
// the entry releases nothing.
func TestAnAwardLetGoIsNeverReservedUnderItsClaim(t *testing.T) {
	t.Parallel()
	l := apply(t, 10000)
	if _, err := l.ReserveUnder("r", "a", 3000, 4); err != nil {
		t.Fatalf("a reservation under a claim standing: %v", err)
	}
	letGo, err := l.LetGo("r", "a", 4)
	if err != nil || len(letGo) != 1 {
		t.Fatalf("letting go of the award of claim 4: %v, %v", letGo, err)
	}
	l = apply(t, 10000, letGo...)
	if l.Awarded() != 0 || l.Remaining() != 10000 {
		t.Errorf("after letting go: awarded %d, remaining %d; want the budget untouched", l.Awarded(), l.Remaining())
	}
	if _, err := l.ReserveUnder("r", "a", 3000, 4); !errors.Is(err, ledger.ErrLetGo) || !apperr.Is(err, apperr.Conflict) {
		t.Errorf("a reservation under the claim let go: %v, want ErrLetGo (409)", err)
	}
	if again, err := l.LetGo("r", "a", 4); err != nil || len(again) != 0 {
		t.Errorf("letting go again: %v, %v; want nothing", again, err)
	}
	reserved, err := l.ReserveUnder("r", "a", 3000, 9)
	if err != nil || len(reserved) != 1 {
		t.Fatalf("a reservation under the claim made since: %v, %v", reserved, err)
	}
	l = apply(t, 10000, append(letGo, reserved...)...)
	if drawn, err := l.LetGo("r", "a", 9); err != nil || len(drawn) != 0 {
		t.Errorf("letting go of an award that drew on the budget: %v, %v; want nothing", drawn, err)
	}
	if l.Awarded() != 3000 {
		t.Errorf("awarded %d, want 3000", l.Awarded())
	}
}
