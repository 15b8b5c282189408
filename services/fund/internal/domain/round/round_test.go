package round_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

var (
	opens  = time.Date(2027, 1, 12, 9, 0, 0, 0, time.UTC)
	closes = time.Date(2027, 3, 31, 16, 0, 0, 0, time.UTC)
)

func terms() round.Round {
	return round.Round{
		ID: "r1", Name: "TCF 2027", Opens: opens, Closes: closes, BudgetPence: 750000, MinAwardPence: 10000, MaxAwardPence: 100000,
		ProjectStart: civil.New(2027, 5, 1), ProjectEnd: civil.New(2027, 12, 31), Themes: []string{"visibility", "recognition"},
		ExcludePreviouslyFunded: true,
	}
}

// replay rebuilds a round from payloads, as the event store would hand them back.
func replay(t *testing.T, payloads ...events.Payload) round.Round {
	t.Helper()
	var h []events.Envelope
	for i, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		h = append(h, events.Envelope{ID: "e", Type: p.EventType(), AggregateID: "r1", Version: i + 1, Data: data})
	}
	r, ok, err := round.Rebuild("r1", h)
	if err != nil || !ok {
		t.Fatalf("rebuild: %v (exists %v)", err, ok)
	}
	return r
}

func opened(t *testing.T) (round.Round, events.Payload) {
	t.Helper()
	p, err := round.Open(terms(), opens.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return replay(t, p), p
}

func TestAnUpcomingRoundMayChangeAnything(t *testing.T) {
	t.Parallel()
	r, p := opened(t)
	next := terms()
	next.BudgetPence, next.Themes, next.ExcludePreviouslyFunded = 900000, []string{"sustainability"}, false
	out, err := r.Update(next, opens.Add(-time.Hour))
	if err != nil || len(out) != 1 {
		t.Fatalf("update before opening: %v, %v", out, err)
	}
	got := replay(t, p, out[0])
	want := next
	want.Version = 2
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b civil.Date) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("round after update (-want +got):\n%s", diff)
	}
	if again, err := got.Update(next, opens.Add(-time.Hour)); err != nil || len(again) != 0 {
		t.Errorf("the same terms again: %v, %v; want nothing recorded", again, err)
	}
}

// (Its budget may change too, raised or lowered: TestABudgetTypedTooLowIsRaisedOpenOrClosed.)
func TestAnOpenRoundMayChangeOnlyItsNameAndClosingTime(t *testing.T) {
	t.Parallel()
	r, _ := opened(t)
	during := opens.Add(time.Hour)
	extended := terms()
	extended.Name, extended.Closes = "TCF 2027 (extended)", closes.Add(7*24*time.Hour)
	if out, err := r.Update(extended, during); err != nil || len(out) != 1 {
		t.Fatalf("extending an open round: %v, %v", out, err)
	}
	for field, edit := range map[string]func(*round.Round){
		"max_award_pence":           func(n *round.Round) { n.MaxAwardPence-- },
		"themes":                    func(n *round.Round) { n.Themes = []string{"visibility"} },
		"opens":                     func(n *round.Round) { n.Opens = opens.Add(-time.Hour) },
		"exclude_previously_funded": func(n *round.Round) { n.ExcludePreviouslyFunded = false },
	} {
		next := terms()
		edit(&next)
		_, err := r.Update(next, during)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Conflict || e.Field != field {
			t.Errorf("changing %s while open: %v, want Conflict naming it", field, err)
		}
	}
	past := terms()
	past.Closes = during.Add(-time.Minute)
	if _, err := r.Update(past, during); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("closing time moved into the past: %v, want Invalid", err)
	}
	if _, err := r.Update(terms(), closes.Add(time.Second)); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("changing a closed round: %v, want Conflict", err)
	}
}

// A budget typed too low (£500 for £5,000) would refuse the awards ITSS decides on
// once the first had drawn it down, and awards are decided once the round has
// closed: it may be raised while the round is open and after it closed, never
// lowered (awards already drawn on it, and those racing the change, were checked
// against the budget as it was). After the round closed nothing else may change.
func TestABudgetTypedTooLowIsRaisedOpenOrClosed(t *testing.T) {
	t.Parallel()
	r, p := opened(t)
	raised := terms()
	raised.BudgetPence = 7500000
	for name, at := range map[string]time.Time{"open": opens.Add(time.Hour), "closed": closes.Add(time.Hour)} {
		out, err := r.Update(raised, at)
		if err != nil || len(out) != 1 {
			t.Fatalf("raising the budget of a round %s: %v, %v", name, out, err)
		}
		want := raised
		want.Version = 2
		if diff := cmp.Diff(want, replay(t, p, out[0]), cmp.Comparer(func(a, b civil.Date) bool { return a.String() == b.String() })); diff != "" {
			t.Errorf("round %s after its budget was raised (-want +got):\n%s", name, diff)
		}
	}
	closed := closes.Add(time.Hour)
	// A budget typed too high is lowered, open or closed: the round's ledger holds it
	// to no less than is awarded (ledger.Hold).
	lowered := terms()
	lowered.BudgetPence = 500000
	for name, at := range map[string]time.Time{"open": opens.Add(time.Hour), "closed": closed} {
		if out, err := r.Update(lowered, at); err != nil || len(out) != 1 {
			t.Errorf("lowering the budget of a round %s: %v, %v", name, out, err)
		}
	}
	lowered.BudgetPence = 0
	if _, err := r.Update(lowered, closed); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("a closed round's budget of nothing: %v, want Invalid", err)
	}
	renamed := raised
	renamed.Name = "TCF 2027 (renamed)"
	if _, err := r.Update(renamed, closed); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("renaming a closed round with its budget raised: %v, want Conflict", err)
	}
	// A closed round's budget is raised however long ago it closed: the closing time
	// gone by is not refused as it is for a round still to close.
	if out, err := r.Update(raised, closes.Add(300*24*time.Hour)); err != nil || len(out) != 1 {
		t.Errorf("raising the budget long after the round closed: %v, %v", out, err)
	}
	// The close recorded stays recorded.
	c, err := r.Close(closed, "")
	if err != nil || len(c) != 1 {
		t.Fatalf("close: %v, %v", c, err)
	}
	after := replay(t, p, c[0])
	out, err := after.Update(raised, closed)
	if err != nil || len(out) != 1 {
		t.Fatalf("raising the budget once the close is recorded: %v, %v", out, err)
	}
	if got := replay(t, p, c[0], out[0]); got.ClosedAt.IsZero() || got.BudgetPence != raised.BudgetPence {
		t.Errorf("closed at %v with budget %d, want the close kept and %d", got.ClosedAt, got.BudgetPence, raised.BudgetPence)
	}
}

// A round's themes are a set: the same themes in another order are the same terms,
// whether the round is open (nothing refused) or upcoming (nothing recorded).
func TestThemesInAnotherOrderAreTheSameTerms(t *testing.T) {
	t.Parallel()
	r, _ := opened(t)
	reordered := terms()
	reordered.Themes = []string{"recognition", "visibility"}
	for _, at := range []time.Time{opens.Add(-time.Hour), opens.Add(time.Hour)} {
		if out, err := r.Update(reordered, at); err != nil || len(out) != 0 {
			t.Errorf("the same themes in another order at %s: %v, %v; want nothing recorded", at, out, err)
		}
	}
}

func TestARoundClosesOnceEarlyOrOnTime(t *testing.T) {
	t.Parallel()
	r, p := opened(t)
	early := opens.Add(48 * time.Hour)
	out, err := r.Close(early, " budget committed ")
	if err != nil || len(out) != 1 {
		t.Fatalf("early close: %v, %v", out, err)
	}
	want := events.RoundClosedV1{RoundID: "r1", Name: "TCF 2027", ClosedAt: early, Early: true, Reason: "budget committed"}
	if diff := cmp.Diff(want, out[0]); diff != "" {
		t.Errorf("early close (-want +got):\n%s", diff)
	}
	closed := replay(t, p, out[0])
	if s := closed.StatusAt(early); s != round.Closed {
		t.Errorf("status %s at the moment it closed early, want closed", s)
	}
	if s := closed.StatusAt(early.Add(-time.Second)); s != round.OpenNow {
		t.Errorf("status %s before it closed early, want open", s)
	}
	if again, err := closed.Close(early.Add(time.Hour), ""); err != nil || len(again) != 0 {
		t.Errorf("closing again: %v, %v; want nothing recorded", again, err)
	}

	late, err := r.Close(closes.Add(time.Hour), "")
	if err != nil || len(late) != 1 {
		t.Fatalf("recording the close after the closing time: %v, %v", late, err)
	}
	if got := late[0].(events.RoundClosedV1); !got.ClosedAt.Equal(closes) || got.Early {
		t.Errorf("close on time recorded as %+v, want at %s and not early", got, closes)
	}
}

func TestOpenRefusesTermsThatCannotWork(t *testing.T) {
	t.Parallel()
	for field, edit := range map[string]func(*round.Round){
		"name":            func(r *round.Round) { r.Name = " " },
		"closes":          func(r *round.Round) { r.Closes = r.Opens },
		"max_award_pence": func(r *round.Round) { r.MaxAwardPence = r.BudgetPence + 1 },
		"project_end":     func(r *round.Round) { r.ProjectEnd = r.ProjectStart },
		"themes.1":        func(r *round.Round) { r.Themes = []string{"visibility", "morale"} },
	} {
		r := terms()
		edit(&r)
		_, err := round.Open(r, opens.Add(-time.Hour))
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Field != field {
			t.Errorf("%s: %v, want Invalid naming it", field, err)
		}
	}
	// The refusals say what the value must be against in words and figures, not by
	// the API's names for the other fields ("must be after opens").
	for field, c := range map[string]struct {
		edit func(*round.Round)
		says string
	}{
		"closes":          {func(r *round.Round) { r.Closes = r.Opens }, "must be after the round opens ("},
		"max_award_pence": {func(r *round.Round) { r.MaxAwardPence = r.MinAwardPence - 1 }, "must be at least the smallest award ("},
		"project_end":     {func(r *round.Round) { r.ProjectEnd = r.ProjectStart }, "must be after the project starts ("},
	} {
		r := terms()
		c.edit(&r)
		_, err := round.Open(r, opens.Add(-time.Hour))
		if e, ok := apperr.As(err); !ok || e.Field != field || !strings.HasPrefix(e.Message, c.says) {
			t.Errorf("%s: %v, want a message beginning %q", field, err, c.says)
		}
	}
	// A project ending in December 2999 would have its report fall due in 3000, a
	// day the suite takes no more.
	r := terms()
	r.ProjectEnd = civil.New(2999, 12, 31)
	if _, err := round.Open(r, opens.Add(-time.Hour)); err == nil || !strings.Contains(err.Error(), "no later than 30 November 2999") {
		t.Errorf("a project ending 31 December 2999: %v, want refused naming its last day", err)
	}
	r.ProjectEnd = civil.New(2999, 11, 30)
	if _, err := round.Open(r, opens.Add(-time.Hour)); err != nil {
		t.Errorf("a project ending 30 November 2999: %v", err)
	}
}

// The previous round is found by when rounds really closed: a round ops closed early
// is over from that moment, though its terms gave a later closing time.
func TestPreviousFollowsTheRoundsActualCloses(t *testing.T) {
	t.Parallel()
	at := func(month time.Month, day int) time.Time { return time.Date(2027, month, day, 16, 0, 0, 0, time.UTC) }
	mk := func(id string, opens, closes, closedAt time.Time) round.Round {
		r := terms()
		r.ID, r.Opens, r.Closes, r.ClosedAt, r.ClosedEarly = id, opens, closes, closedAt, !closedAt.IsZero() && closedAt.Before(closes)
		return r
	}
	earlyClosed := mk("early", at(1, 1), at(6, 30), at(2, 1)) // closed early on 1 Feb
	next := mk("next", at(3, 1), at(8, 31), time.Time{})      // opens after that, before 30 Jun
	overlapping := mk("overlap", at(2, 15), at(4, 30), time.Time{})
	later := mk("later", at(9, 1), at(10, 31), time.Time{})
	cancelled := mk("cancelled", at(10, 1), at(10, 15), at(9, 20)) // closed before it opened
	// Rounds opened on one day with the README's closing time of 17:00 close together.
	twinEarly, twinLate := mk("twin-early", at(11, 1), at(12, 1), time.Time{}), mk("twin-late", at(11, 2), at(12, 1), time.Time{})
	twinA, twinB := mk("twin-a", at(11, 3), at(12, 2), time.Time{}), mk("twin-b", at(11, 3), at(12, 2), time.Time{})
	tests := []struct {
		name   string
		rounds []round.Round
		of     round.Round
		want   string
	}{
		{"a round closed early precedes one opened after it closed", []round.Round{next, earlyClosed}, next, "early"},
		{"a round still open when the next opens, closing first, precedes it", []round.Round{earlyClosed, overlapping, next}, next, "overlap"},
		{"the order given does not matter", []round.Round{next, overlapping, earlyClosed}, next, "overlap"},
		{"rounds closing later are not before it", []round.Round{later, next, earlyClosed}, earlyClosed, ""},
		{"the first round has none", []round.Round{earlyClosed}, earlyClosed, ""},
		{"the latest closed before it is the one", []round.Round{earlyClosed, overlapping, next, later}, later, "next"},
		{"a round cancelled before it opened does not count", []round.Round{earlyClosed, overlapping, next, cancelled, later}, later, "next"},
		{"of two closing together, the one opened first precedes the other", []round.Round{twinLate, twinEarly}, twinLate, "twin-early"},
		{"and not the other way round", []round.Round{twinLate, twinEarly}, twinEarly, ""},
		{"of two closing and opening together, the first by id precedes", []round.Round{twinB, twinA}, twinB, "twin-a"},
		{"and not the other way round, by id", []round.Round{twinB, twinA}, twinA, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := round.Previous(tt.rounds, tt.of)
			if ok != (tt.want != "") || got.ID != tt.want {
				t.Errorf("previous of %s is %q (%v), want %q", tt.of.ID, got.ID, ok, tt.want)
			}
		})
	}
}

// A project window must start no earlier than the round opens and end after it
// closes: one that ends by the closing date could never be funded.
func TestTheProjectWindowFitsTheRound(t *testing.T) {
	t.Parallel()
	r := terms()
	r.ProjectStart, r.ProjectEnd = civil.New(2027, 2, 1), civil.New(2027, 3, 31) // closes 31 Mar
	_, err := round.Open(r, opens.Add(-24*time.Hour))
	if e, ok := apperr.As(err); !ok || e.Field != "project_end" {
		t.Fatalf("a project window ending on the closing date: %v, want refused naming project_end", err)
	}
	r = terms()
	r.ProjectStart = civil.New(2027, 1, 11) // the round opens on 12 January
	_, err = round.Open(r, opens.Add(-24*time.Hour))
	if e, ok := apperr.As(err); !ok || e.Field != "project_start" {
		t.Fatalf("a project starting before the round opens: %v, want refused naming project_start", err)
	}
}

// Excluding names both neighbours a round's awards must not meet: the previous round
// when this one excludes its grantees, and the following round when it excludes this
// one's.
func TestExcludingNamesTheNeighboursBoundByTheRule(t *testing.T) {
	t.Parallel()
	at := func(month time.Month) time.Time { return time.Date(2027, month, 1, 16, 0, 0, 0, time.UTC) }
	mk := func(id string, closes time.Time, exclude bool) round.Round {
		r := terms()
		r.ID, r.Opens, r.Closes, r.ExcludePreviouslyFunded = id, at(1), closes, exclude
		return r
	}
	a, b, c := mk("a", at(3), true), mk("b", at(6), true), mk("c", at(9), false)
	rounds := []round.Round{a, b, c}
	ids := func(rs []round.Round) (out []string) {
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tt := range []struct {
		of   round.Round
		want []string
	}{{a, []string{"b"}}, {b, []string{"a"}}, {c, nil}} {
		if got := ids(round.Excluding(rounds, tt.of)); !cmp.Equal(got, tt.want) {
			t.Errorf("Excluding(%s) = %v, want %v", tt.of.ID, got, tt.want)
		}
	}
}

// Pairs binds each round that excludes the previous round's grantees to its previous
// round as the rounds stand; a new round only takes pairs away among the others, and
// an early close recorded by After moves its round in the order.
func TestPairsFollowTheOrderOfRounds(t *testing.T) {
	t.Parallel()
	at := func(month time.Month) time.Time { return time.Date(2027, month, 1, 16, 0, 0, 0, time.UTC) }
	mk := func(id string, closes time.Time, exclude bool) round.Round {
		r := terms()
		r.ID, r.Opens, r.Closes, r.ExcludePreviouslyFunded = id, at(1), closes, exclude
		return r
	}
	p, q := mk("p", at(3), false), mk("q", at(7), true)
	if got, want := round.Pairs([]round.Round{p, q}), []round.Pair{{Next: "q", Previous: "p"}}; !cmp.Equal(got, want) {
		t.Errorf("Pairs(p, q) = %v, want %v", got, want)
	}
	between := mk("r3", at(5), false)
	if got, want := round.Pairs([]round.Round{p, between, q}), []round.Pair{{Next: "q", Previous: "r3"}}; !cmp.Equal(got, want) {
		t.Errorf("with r3 opened between them: %v, want %v", got, want)
	}
	early := q.After([]events.Payload{events.RoundClosedV1{RoundID: "q", ClosedAt: at(4), Early: true}})
	if early.Version != q.Version+1 || early.ActualClose() != at(4) {
		t.Fatalf("q closed early: version %d, closed %v", early.Version, early.ActualClose())
	}
	if got, want := round.Pairs([]round.Round{p, between, early}), []round.Pair{{Next: "q", Previous: "p"}}; !cmp.Equal(got, want) {
		t.Errorf("with q closed early, before r3 closes: %v, want %v", got, want)
	}
}

// A project window typed wrong (a year short) sets every funded project's report due
// on the wrong day: it is corrected once the round is open and after it closed, however
// long ago, to a window that still fits the round (starting no earlier than it opens,
// ending after it closes, its report due within the suite's calendar), and the
// correction is the RoundUpdatedV1 any correction is. A closed round takes it with a
// raised budget, and nothing else.
func TestAProjectWindowTypedWrongIsCorrectedOpenOrClosed(t *testing.T) {
	t.Parallel()
	r, p := opened(t)
	corrected := terms()
	corrected.ProjectEnd = civil.New(2028, 12, 31)
	if !round.ProjectWindowChanged(r, corrected) || round.ProjectWindowChanged(r, terms()) {
		t.Errorf("ProjectWindowChanged: a moved end should say so, the same window not")
	}
	for name, at := range map[string]time.Time{"open": opens.Add(time.Hour), "closed": closes.Add(time.Hour), "closed long ago": closes.Add(400 * 24 * time.Hour)} {
		out, err := r.Update(corrected, at)
		if err != nil || len(out) != 1 {
			t.Fatalf("correcting the window of a round %s: %v, %v", name, out, err)
		}
		if _, ok := out[0].(events.RoundUpdatedV1); !ok {
			t.Errorf("correction recorded as %T, want RoundUpdatedV1", out[0])
		}
		got := replay(t, p, out[0])
		if got.ReportDue().String() != "2029-01-31" {
			t.Errorf("report due after the correction %s: %s, want 2029-01-31", name, got.ReportDue())
		}
	}
	both := corrected
	both.BudgetPence = 7500000
	if out, err := r.Update(both, closes.Add(time.Hour)); err != nil || len(out) != 1 {
		t.Errorf("a closed round's window corrected with its budget raised: %v, %v", out, err)
	}
	renamed := corrected
	renamed.Name = "TCF 2027 (renamed)"
	if _, err := r.Update(renamed, closes.Add(time.Hour)); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("a closed round's window corrected with its name: %v, want Conflict", err)
	}
	for field, edit := range map[string]func(*round.Round){
		"project_start": func(n *round.Round) { n.ProjectStart = civil.New(2027, 1, 11) },         // before it opens
		"project_end":   func(n *round.Round) { n.ProjectEnd = civil.New(2027, 3, 31) },           // by its close
		"project_end ":  func(n *round.Round) { n.ProjectEnd = civil.New(civil.LastYear, 12, 1) }, // report due past the calendar
	} {
		next := terms()
		edit(&next)
		for name, at := range map[string]time.Time{"open": opens.Add(time.Hour), "closed": closes.Add(time.Hour)} {
			_, err := r.Update(next, at)
			if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Field != strings.TrimSpace(field) {
				t.Errorf("%s that does not fit, round %s: %v, want Invalid naming it", field, name, err)
			}
		}
	}
}
