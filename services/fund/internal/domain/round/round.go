// Package round is a Collaboration Fund round: when it takes applications, how much it
// may award in all and per project, the project window and the themes in scope.
package round

import (
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // static images have no zoneinfo; rounds are in Europe/London

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// AggregateType names rounds in the event store.
const AggregateType = "round"

// Themes are the Commitment's four themes, the only ones a round or project may name.
var Themes = []string{"visibility", "recognition", "career_development", "sustainability"}

// Status is where a round is in its calendar.
type Status string

// Round statuses, derived from the time.
const (
	Upcoming Status = "upcoming"
	OpenNow  Status = "open"
	Closed   Status = "closed"
)

// Round is a fund round as opened by ops. Ops may correct it: anything before it
// opens, only its name and closing time once open (applicants have drafted against its
// rules and awards draw on its budget), its budget, open or closed (a budget typed
// too low would refuse the awards decided after the close, one typed too high let
// them overspend it), which its ledger holds to no less than is awarded, and its
// project window, open or closed (a window typed a year short sets every funded
// project's report due on the wrong day, and its chase; the applications it would
// leave outside are the app's to check, see ProjectWindowChanged). Ops may also
// close it early.
type Round struct {
	ID                      string
	Name                    string
	Opens, Closes           time.Time
	BudgetPence             int64
	MinAwardPence           int64
	MaxAwardPence           int64
	ProjectStart            civil.Date
	ProjectEnd              civil.Date
	Themes                  []string
	ExcludePreviouslyFunded bool
	// ClosedAt is when the round was recorded closed: its closing time, or earlier when
	// ops closed it early (ClosedEarly). Zero until the close is recorded.
	ClosedAt    time.Time
	ClosedEarly bool
	Version     int
}

// London is the time zone the fund's dates and times are given in.
var London = mustLoad("Europe/London")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded in the binary, so this cannot happen
	}
	return loc
}

// StatusAt says whether the round takes applications at t.
func (r Round) StatusAt(t time.Time) Status {
	switch {
	case !r.ClosedAt.IsZero() && !t.Before(r.ClosedAt):
		return Closed
	case t.Before(r.Opens):
		return Upcoming
	case t.Before(r.Closes):
		return OpenNow
	default:
		return Closed
	}
}

// ActualClose is when the round really stopped taking submissions: when its close
// was recorded (early, if ops closed it early), or else its closing time as it now
// stands. The order of rounds is the order of their actual closes: a round closed
// early is over when it was closed, whatever its terms said.
func (r Round) ActualClose() time.Time {
	if !r.ClosedAt.IsZero() {
		return r.ClosedAt
	}
	return r.Closes
}

// Cancelled says ops closed the round before it opened: it never took an
// application, so it has no place in the order of rounds.
func (r Round) Cancelled() bool { return !r.ClosedAt.IsZero() && !r.ClosedAt.After(r.Opens) }

// Previous is the round before r in the fund's real order: of the other rounds, the
// one that actually closed last before r actually closes. Rounds that overlap r but
// close first count (their grants are decided before r's), a round closed early
// counts from when it closed, and a round cancelled before it opened does not count.
// Rounds that close at the same instant are in order too, by opening, then id (see
// later): two rounds set to close at one time, as rounds opened on one day with the
// README's 17:00 do, each once counted the other as not before it, so neither
// excluded the other's grantees, and one organisation was funded in both.
// It reports false when r is the first.
func Previous(rounds []Round, r Round) (Round, bool) {
	var prev Round
	found := false
	for _, p := range rounds {
		if p.ID == r.ID || p.Cancelled() || !later(r, p) {
			continue
		}
		if !found || later(p, prev) {
			prev, found = p, true
		}
	}
	return prev, found
}

// later orders rounds by actual close, then opening, then id: the fund's order of
// rounds, which Previous follows whatever order it is given them in.
func later(a, b Round) bool {
	switch {
	case !a.ActualClose().Equal(b.ActualClose()):
		return a.ActualClose().After(b.ActualClose())
	case !a.Opens.Equal(b.Opens):
		return a.Opens.After(b.Opens)
	}
	return a.ID > b.ID
}

// ReportDue is when a funded project's report is due: a month after the project window ends.
func (r Round) ReportDue() civil.Date { return r.ProjectEnd.AddMonths(1) }

// Open checks a new round and returns the event that opens it.
func Open(r Round, now time.Time) (events.Payload, error) {
	r.Name = strings.TrimSpace(r.Name)
	if err := check(r, now); err != nil {
		return nil, err
	}
	return events.RoundOpenedV1{
		RoundID: r.ID, Name: r.Name, Opens: r.Opens.UTC(), Closes: r.Closes.UTC(), BudgetPence: r.BudgetPence,
		MinAwardPence: r.MinAwardPence, MaxAwardPence: r.MaxAwardPence, ProjectStart: r.ProjectStart, ProjectEnd: r.ProjectEnd,
		Themes: r.Themes, ExcludePreviouslyFunded: r.ExcludePreviouslyFunded,
	}, nil
}

// Update replaces the round's terms with next's, within what its status allows.
// Changing nothing records nothing.
func (r Round) Update(next Round, now time.Time) ([]events.Payload, error) {
	next.ID, next.Name = r.ID, strings.TrimSpace(next.Name)
	switch r.StatusAt(now) {
	case Closed:
		return r.correctClosed(next)
	case OpenNow:
		if field := frozenChange(r, withWindow(next, r)); field != "" {
			return nil, &apperr.Error{Code: apperr.Conflict, Field: field, Message: frozenMessage(r, field, "is open: only its name, its closing time, its budget and its project window may change")}
		}
	}
	if err := check(next, now); err != nil {
		return nil, err
	}
	if sameTerms(r, next) {
		return nil, nil
	}
	return []events.Payload{updated(next)}, nil
}

// correctClosed takes the two changes a closed round takes: its budget, raised or
// lowered, and a corrected project window. Awards are decided once a round has
// closed, and a budget typed too low (£500 for £5,000) would refuse them once the
// first had drawn it down, for good; one typed too high (£50,000) would let them
// overspend it. Whether it may be lowered is the round's ledger's to decide
// (ledger.Hold): never below what its awards hold, decided in one order with
// them. The project window is what the funded projects' reports fall due by, long
// after the close: one typed wrong is put right whenever it is found, within the
// round as ever (checkWindow).
func (r Round) correctClosed(next Round) ([]events.Payload, error) {
	corrected := r
	corrected.BudgetPence, corrected.ProjectStart, corrected.ProjectEnd = next.BudgetPence, next.ProjectStart, next.ProjectEnd
	switch {
	case next.BudgetPence <= 0:
		return nil, apperr.Field("budget_pence", "must be positive")
	case !sameTerms(corrected, next):
		return nil, apperr.New(apperr.Conflict, "round %q is closed; only its budget may still change, for the awards still to decide, and its project window be corrected", r.Name)
	case sameTerms(corrected, r):
		return nil, apperr.New(apperr.Conflict, "round %q is closed and this changes nothing; only its budget may still change, and its project window be corrected", r.Name)
	}
	if err := checkWindow(corrected); err != nil {
		return nil, err
	}
	return []events.Payload{updated(corrected)}, nil
}

// withWindow is next with r's project window, for the check of what else it changes.
func withWindow(next, r Round) Round {
	next.ProjectStart, next.ProjectEnd = r.ProjectStart, r.ProjectEnd
	return next
}

// ProjectWindowChanged says next moves r's project window: the funded projects'
// reports fall due by another day, and applications' milestones must fit it.
func ProjectWindowChanged(r, next Round) bool {
	return !sameDay(r.ProjectStart, next.ProjectStart) || !sameDay(r.ProjectEnd, next.ProjectEnd)
}

// frozenMessage says why a round refuses a change to a term.
func frozenMessage(r Round, field, why string) string {
	return fmt.Sprintf("round %q %s", r.Name, why)
}

// updated is the event that gives a round terms.
// Restated records the round's terms as they stand, changing none: it moves the
// round to its next version, so that a change decided on the version before, whose
// request may have stopped half way, can no longer be recorded (a change is recorded
// only at the version after the one it was decided on).
func (r Round) Restated() events.Payload { return updated(r) }

func updated(t Round) events.RoundUpdatedV1 {
	return events.RoundUpdatedV1{
		RoundID: t.ID, Name: t.Name, Opens: t.Opens.UTC(), Closes: t.Closes.UTC(), BudgetPence: t.BudgetPence,
		MinAwardPence: t.MinAwardPence, MaxAwardPence: t.MaxAwardPence, ProjectStart: t.ProjectStart, ProjectEnd: t.ProjectEnd,
		Themes: t.Themes, ExcludePreviouslyFunded: t.ExcludePreviouslyFunded,
	}
}

// Close records that the round stopped taking submissions. Before its closing time
// that is ops closing it early; after, it records the close that time brought.
// Closing a closed round records nothing.
func (r Round) Close(now time.Time, reason string) ([]events.Payload, error) {
	if !r.ClosedAt.IsZero() {
		return nil, nil
	}
	e := events.RoundClosedV1{RoundID: r.ID, Name: r.Name, ClosedAt: r.Closes.UTC(), Reason: strings.TrimSpace(reason)}
	if now.Before(r.Closes) {
		e.ClosedAt, e.Early = now.UTC(), true
	}
	return []events.Payload{e}, nil
}

// InWords names a round in a message people read: by its name and its dates, since
// names repeat ("Technician Collaboration Fund 2026" for two rounds of a year), and a
// refusal naming "round X" twice told ops nothing. Its days are said as every other
// date the suite writes for people: "Monday 1 March 2027".
func InWords(r Round) string {
	day := func(t time.Time) string { return t.In(London).Format("Monday 2 January 2006") }
	return fmt.Sprintf("round %q (%s to %s)", r.Name, day(r.Opens), day(r.ActualClose()))
}

// LondonTime says t as the fund's messages do: "Tuesday 12 January 2027, 09:00 GMT".
func LondonTime(t time.Time) string { return t.In(London).Format("Monday 2 January 2006, 15:04 MST") }

// check applies the rules every version of a round must meet.
func check(r Round, now time.Time) error {
	switch {
	case r.Name == "":
		return apperr.Field("name", "is required")
	case !r.Closes.After(r.Opens):
		return apperr.Field("closes", "must be after the round opens (%s)", LondonTime(r.Opens))
	case !r.Closes.After(now):
		return apperr.Field("closes", "is in the past: a round closes at a time still to come")
	case r.BudgetPence <= 0:
		return apperr.Field("budget_pence", "must be positive")
	case r.MinAwardPence <= 0:
		return apperr.Field("min_award_pence", "must be positive")
	case r.MaxAwardPence < r.MinAwardPence:
		return apperr.Field("max_award_pence", "must be at least the smallest award (%d pence)", r.MinAwardPence)
	case r.MaxAwardPence > r.BudgetPence:
		return apperr.Field("max_award_pence", "must not exceed the budget (%d pence)", r.BudgetPence)
	}
	if err := checkWindow(r); err != nil {
		return err
	}
	if len(r.Themes) == 0 {
		return apperr.Field("themes", "name at least one theme")
	}
	for i, t := range r.Themes {
		if !slices.Contains(Themes, t) {
			return apperr.Field(fmt.Sprintf("themes.%d", i), "%q is not a Commitment theme", t)
		}
	}
	return nil
}

// checkWindow applies the rules every project window must meet: it fits the round,
// and its report falls due on a day the suite takes.
func checkWindow(r Round) error {
	switch {
	case !r.ProjectEnd.After(r.ProjectStart):
		return apperr.Field("project_end", "must be after the project starts (%s)", r.ProjectStart.InWords())
	case r.ReportDue().Time().Year() > civil.LastYear:
		// The report falls due a month after the project ends: a day the suite takes.
		return apperr.Field("project_end", "must be no later than 30 November %d, so that its report falls due within %d", civil.LastYear, civil.LastYear)
	case r.ProjectStart.Before(civil.Of(r.Opens.In(London))):
		return apperr.Field("project_start", "must not be before the round opens (%s)", civil.Of(r.Opens.In(London)).InWords())
	case !r.ProjectEnd.After(civil.Of(r.Closes.In(London))):
		// Grants are decided once applications are in: a project that ends by the
		// closing date could never be funded.
		return apperr.Field("project_end", "must be after the round closes (%s)", civil.Of(r.Closes.In(London)).InWords())
	}
	return nil
}

// frozenChange names the first term an upcoming round's terms change that an open one
// may not: every term but its name, its closing time and its budget (which its
// ledger holds to no less than is awarded); Update leaves the project window out of
// it for an open round.
func frozenChange(r, next Round) string {
	switch {
	case !next.Opens.Equal(r.Opens):
		return "opens"
	case next.MinAwardPence != r.MinAwardPence:
		return "min_award_pence"
	case next.MaxAwardPence != r.MaxAwardPence:
		return "max_award_pence"
	case !sameDay(next.ProjectStart, r.ProjectStart):
		return "project_start"
	case !sameDay(next.ProjectEnd, r.ProjectEnd):
		return "project_end"
	case !sameThemes(next.Themes, r.Themes):
		return "themes"
	case next.ExcludePreviouslyFunded != r.ExcludePreviouslyFunded:
		return "exclude_previously_funded"
	}
	return ""
}

func sameDay(a, b civil.Date) bool { return !a.Before(b) && !a.After(b) }

// sameThemes compares themes as the set they are: the order they are given in means
// nothing, so resending them in another order changes nothing.
func sameThemes(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func sameTerms(r, next Round) bool {
	return frozenChange(r, next) == "" && next.BudgetPence == r.BudgetPence && next.Name == r.Name && next.Closes.Equal(r.Closes)
}

// Rebuild replays a round's history. It reports false when there is no such round.
func Rebuild(id string, history []events.Envelope) (Round, bool, error) {
	r := Round{ID: id}
	for _, e := range history {
		var p events.Payload
		var err error
		switch e.Type {
		case events.RoundOpenedV1{}.EventType():
			p, err = events.Decode[events.RoundOpenedV1](e)
		case events.RoundUpdatedV1{}.EventType():
			p, err = events.Decode[events.RoundUpdatedV1](e)
		case events.RoundClosedV1{}.EventType():
			p, err = events.Decode[events.RoundClosedV1](e)
		default:
			return Round{}, false, fmt.Errorf("round %s: unknown event type %s", id, e.Type)
		}
		if err != nil {
			return Round{}, false, fmt.Errorf("round %s: %w", id, err)
		}
		r.apply(p)
		r.Version = e.Version
	}
	return r, r.Version > 0, nil
}

// After is the round as it will be once the events decided on it are appended: what
// the order of rounds will be is checked before they are (see funding.Record.Reorder).
func (r Round) After(payloads []events.Payload) Round {
	for _, p := range payloads {
		r.apply(p)
		r.Version++
	}
	return r
}

func (r *Round) apply(p events.Payload) {
	switch p := p.(type) {
	case events.RoundOpenedV1:
		r.setTerms(p.Name, p.Opens, p.Closes, p.BudgetPence, p.MinAwardPence, p.MaxAwardPence, p.ProjectStart, p.ProjectEnd, p.Themes, p.ExcludePreviouslyFunded)
	case events.RoundUpdatedV1:
		r.setTerms(p.Name, p.Opens, p.Closes, p.BudgetPence, p.MinAwardPence, p.MaxAwardPence, p.ProjectStart, p.ProjectEnd, p.Themes, p.ExcludePreviouslyFunded)
	case events.RoundClosedV1:
		r.ClosedAt, r.ClosedEarly = p.ClosedAt, p.Early
	}
}

func (r *Round) setTerms(name string, opens, closes time.Time, budget, minAward, maxAward int64, start, end civil.Date, themes []string, exclude bool) {
	r.Name, r.Opens, r.Closes = name, opens, closes
	r.BudgetPence, r.MinAwardPence, r.MaxAwardPence = budget, minAward, maxAward
	r.ProjectStart, r.ProjectEnd, r.Themes, r.ExcludePreviouslyFunded = start, end, themes, exclude
}

// Excluding lists the rounds whose awards r's awards must not meet for one
// organisation: the previous round, if r excludes its grantees, and each round that
// r precedes and that excludes r's grantees.
func Excluding(rounds []Round, r Round) []Round {
	var out []Round
	if p, ok := Previous(rounds, r); ok && r.ExcludePreviouslyFunded {
		out = append(out, p)
	}
	for _, n := range rounds {
		if n.ID == r.ID || !n.ExcludePreviouslyFunded {
			continue
		}
		if p, ok := Previous(rounds, n); ok && p.ID == r.ID {
			out = append(out, n)
		}
	}
	return out
}

// Pair is two rounds the rule on the previous round's grantees binds together: Next
// excludes the grantees of Previous, its previous round, so no organisation is funded
// in both, whichever awards first.
type Pair struct{ Next, Previous string }

// Pairs lists the pairs the rounds form in their order now: each round that excludes
// the previous round's grantees with its previous round. Opening a new round only
// ever takes pairs away among the others (it becomes the previous round of a round,
// or has one of its own), so it cannot put an organisation in two bound rounds;
// moving a round's close, closing it early or cancelling it can (see
// funding.Record.Reorder).
func Pairs(rounds []Round) []Pair {
	var out []Pair
	for _, n := range rounds {
		if !n.ExcludePreviouslyFunded {
			continue
		}
		if p, ok := Previous(rounds, n); ok {
			out = append(out, Pair{Next: n.ID, Previous: p.ID})
		}
	}
	return out
}
