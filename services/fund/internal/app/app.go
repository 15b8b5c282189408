// Package app holds the fund service's commands and queries.
package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/precondition"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/funding"
	"github.com/itss/techcommit/services/fund/internal/domain/ledger"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
	"github.com/itss/techcommit/services/fund/internal/domain/window"
)

// EventStore is where rounds, ledgers and applications live.
type EventStore interface {
	Execute(ctx context.Context, cmd store.Command) ([]events.Envelope, error)
	Load(ctx context.Context, aggregateID string) ([]events.Envelope, error)
	LoadMany(ctx context.Context, aggregateIDs []string) (map[string][]events.Envelope, error)
	LoadByType(ctx context.Context, aggregateType string) ([]events.Envelope, error)
	LoadRecent(ctx context.Context, aggregateID string, maxAge time.Duration) ([]events.Envelope, error)
	LoadByTypeRecent(ctx context.Context, aggregateType string, maxAge time.Duration) ([]events.Envelope, error)
	LoadThrough(ctx context.Context, aggregateID string, version int) ([]events.Envelope, error)
	// LoadManyThrough is LoadThrough for several aggregates (id → version), a few
	// at a time: a list whose entries name their versions.
	LoadManyThrough(ctx context.Context, through map[string]int) (map[string][]events.Envelope, error)
	IDsOfType(ctx context.Context, aggregateType string) ([]string, error)
	// PreloadIDs loads these aggregates into memory at start (see Warm).
	PreloadIDs(ctx context.Context, aggregateIDs []string) error
}

// recently is how far behind another replica's changes some checks may be: for a
// draft, the round it is for; for a draft and a submission, the rounds before it and
// the organisation's standing (which follows the signatory service's events, so lags
// anyway). Neither changes them, and a submission checks its round afresh: the
// closing time is the round's own, compared with the clock at the moment of submitting.
const recently = time.Second

// Signatories is the read model of organisations built from the signatory service's events.
type Signatories interface {
	Get(ctx context.Context, org string) (Signatory, bool, error)
	// Recent is Get, possibly as read up to maxAge ago.
	Recent(ctx context.Context, org string, maxAge time.Duration) (Signatory, bool, error)
	Put(ctx context.Context, s Signatory) error
	// Forget blanks the person whose address has digest subject wherever an
	// organisation names them. Run again, it finds nothing to do.
	Forget(ctx context.Context, subject string) error
}

// Signatory is what the fund knows about an organisation.
type Signatory struct {
	ID        string
	Name      string
	Kind      string
	Withdrawn bool
	// AnnouncedOn is the announcement's date (Europe/London), which may lie ahead:
	// the organisation is a signatory from that day (zero when recorded before the
	// date was kept: taken as announced).
	AnnouncedOn civil.Date
	// NominatedLeadEmail is the address of the organisation's Technician Commitment
	// lead as the signatory service last recorded it (announcement, then contacts
	// changes): the only person who may endorse its applications. Only the address is
	// kept; the fund needs nothing else of the person.
	NominatedLeadEmail string
	// WithdrawnOn is the day the organisation withdrew from the Commitment (zero
	// when not withdrawn, or recorded before the day was kept).
	WithdrawnOn civil.Date
	// Succeeds is the organisation this one succeeds, as its announcement said: the
	// same organisation, which withdrew and signed again as this record. The rule on
	// the previous round's grantees counts an award to it as one to this.
	Succeeds string
}

// RoundChanges says which rounds a change of budget or of place in the order of
// rounds touched (see adapters.RoundChanges), for the round sweep to settle.
type RoundChanges interface {
	// Last is the position of the last change so far.
	Last(ctx context.Context) (uint64, error)
	// Since returns the rounds touched after position after, and the position read
	// through. complete is false when it cannot tell (what it reads no longer holds
	// every change since): every round is then to be settled.
	Since(ctx context.Context, after uint64) (rounds []string, through uint64, complete bool, err error)
}

// Views answers application list queries from the projection.
type Views interface {
	// Save writes the views of applications, each as of its version, never putting
	// back an older version than the one stored.
	Save(ctx context.Context, apps ...*application.Application) error
	List(ctx context.Context, q ListQuery) (Page, error)
	FundedOrganisations(ctx context.Context, roundID string) ([]string, error)
	AwaitingReport(ctx context.Context, roundID string) ([]string, error)
	// InRound lists every application of a round, whatever its status.
	InRound(ctx context.Context, roundID string) ([]string, error)
	// ReportOutstanding lists a round's awarded applications whose report is due
	// and not in.
	ReportOutstanding(ctx context.Context, roundID string) ([]string, error)
	// Newest returns the ids of up to n applications, the newest first.
	Newest(ctx context.Context, n int) ([]string, error)
	// Counts is how many of a round's applications stand in each status.
	Counts(ctx context.Context, roundID string) (map[application.Status]int, error)
}

// ListQuery filters applications.
type ListQuery struct {
	Org, RoundID string
	Status       application.Status
	Limit        int
	Cursor       string
}

// Page is a page of applications.
type Page struct {
	IDs []string
	// Versions are the listed applications' versions as the list has them, by id: an
	// entry for each of IDs.
	Versions   map[string]int
	NextCursor string
	// Total is how many applications the query matches over every page.
	Total int
}

// App is the fund service's use cases.
type App struct {
	// awarding holds one token: awards queue for it within this replica (see Award).
	awarding    chan struct{}
	events      EventStore
	signatories Signatories
	views       Views
	clock       clock.Clock
	// contact is where applicants write to ITSS (FUND_CONTACT_EMAIL), which a refusal
	// that only ITSS can put right gives.
	contact string

	roundsMu sync.Mutex
	rebuilt  map[string]rebuiltRound // by id: each round as of its latest event seen

	// drawn holds, by application id, the version of the funding record's claim the
	// round sweep found drawn on its round's budget: a claim it need not look at
	// again (see letGoClaims).
	drawnMu sync.Mutex
	drawn   map[string]int

	// sweeping holds one round sweep at a time in this process, over what it keeps:
	// changes is where it learns which rounds were touched (nil: it settles every
	// round each time), read through position through once followed (from its first
	// sweep on); unsettled are the rounds it has still to settle; closed, the rounds
	// it found closed (a close is final).
	sweeping  sync.Mutex
	changes   RoundChanges
	followed  bool
	through   uint64
	unsettled map[string]bool
	closed    map[string]bool

	// stopWithin is how long a request of the service may run (RequestsStopWithin):
	// a correction of a project window begun longer ago has stopped.
	stopWithin time.Duration
}

// rebuiltRound is a round rebuilt from its events up to the event lastEvent.
type rebuiltRound struct {
	lastEvent string
	round     round.Round
}

// ListedTypes are the aggregate types the fund lists (see store.EventStore.Catalogue).
var ListedTypes = []string{round.AggregateType}

// New checks its dependencies. contact is the address applicants write to ITSS at
// (FUND_CONTACT_EMAIL).
func New(es EventStore, sig Signatories, views Views, clk clock.Clock, contact string) (*App, error) {
	if es == nil || sig == nil || views == nil || clk == nil {
		return nil, errors.New("app: event store, signatories, views and clock are required")
	}
	if contact == "" {
		return nil, errors.New("app: ITSS's contact address is required: a refusal only ITSS can put right gives it")
	}
	return &App{events: es, signatories: sig, views: views, clock: clk, contact: contact, awarding: make(chan struct{}, 1),
		rebuilt: map[string]rebuiltRound{}, drawn: map[string]int{}, unsettled: map[string]bool{}, closed: map[string]bool{}}, nil
}

// What Warm preloads at most. Rounds are one or two a year: all of them, up to a
// bound against a flood. Applications are the newest: those of the open round,
// which applicants and ops work on, and the lists' pages come from the mirror
// anyway; a round takes tens of applications (5-9 are funded), so 512 hold several
// rounds' worth. All 60,000 of a burst would cost about 5 KiB each of memory (their
// events as stored) and a read each at start: the idle service would be far over
// its 40 MiB and the start would take many seconds; an older application is read
// whole on its first request, as before.
const (
	roundsPreloaded       = 256
	applicationsPreloaded = 512
)

// Warm loads the rounds and the newest applications into the event store's memory,
// with the keys of the people they name, while the service starts and before it
// says it is ready: the rounds, one round, a page of applications or one
// application read after a start then cost what they do later (one read past each
// aggregate's last commit), not every commit and every person's key.
func (a *App) Warm(ctx context.Context) error {
	rounds, err := a.events.IDsOfType(ctx, round.AggregateType)
	if err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	rounds = rounds[max(0, len(rounds)-roundsPreloaded):] // ids are time-ordered: the newest
	apps, err := a.views.Newest(ctx, applicationsPreloaded)
	if err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	if err := a.events.PreloadIDs(ctx, append(rounds, apps...)); err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	return nil
}

// OpenRound creates a round (ops). It is never refused for the rule on the previous
// round's grantees: a new round has funded no one, and it can only take pairs of
// bound rounds away among the others (see round.Pairs).
func (a *App) OpenRound(ctx context.Context, by auth.Principal, r round.Round) (round.Round, error) {
	if !by.IsOps() {
		return round.Round{}, apperr.New(apperr.Forbidden, "only ITSS operations staff open rounds")
	}
	r.ID = uuid.Must(uuid.NewV7()).String()
	_, err := a.events.Execute(ctx, store.Command{AggregateType: round.AggregateType, AggregateID: r.ID, Actor: by.Actor(),
		Decide: func(history []events.Envelope) ([]events.Payload, error) {
			if len(history) > 0 {
				return nil, apperr.New(apperr.Conflict, "round %s exists", r.ID)
			}
			p, err := round.Open(r, a.clock.Now())
			if err != nil {
				return nil, err
			}
			return []events.Payload{p}, nil
		}})
	if err != nil {
		return round.Round{}, err
	}
	return a.Round(ctx, r.ID)
}

// UpdateRound replaces a round's terms (ops), within what its status allows. A new
// closing time that would bind two rounds that funded one organisation under the rule
// on the previous round's grantees is refused (see reorder). A lowered budget is held
// on the round's ledger (ledger.Hold) once everything else the round checks has
// passed, just before the round records it, in one order with every award, so that a
// lowering racing an award can never leave the awards over the budget: it is never
// below what the awards hold (409 naming budget_pence). A raised budget reaches the
// ledger only once the round has recorded it, so that no award draws on a budget the
// round never recorded. Whatever the outcome, the ledger then follows the budget the
// round records (followBudget): a raise recorded is set, a lowering refused (the
// round changed since the caller read it) put back; should the request stop half
// way, the round sweep does the same (settleRound). A moved project window is
// refused where it would leave a held application's milestones outside it, or a
// submission's racing it (correctWindow), and then moves the funded projects'
// reports (moveReportDues).
func (a *App) UpdateRound(ctx context.Context, by auth.Principal, id string, next round.Round, match precondition.Versions) (round.Round, error) {
	if !by.IsOps() {
		return round.Round{}, apperr.New(apperr.Forbidden, "only ITSS operations staff change rounds")
	}
	moved, correction := false, ""
	r, err := a.reorder(ctx, by.Actor(), id, func(r round.Round) ([]events.Payload, error) {
		// The versions the caller read (If-Match): checked in the command that
		// appends, so that two people correcting one round from forms opened
		// together cannot both be applied.
		if !match.Allows(r.Version) {
			return nil, apperr.New(apperr.PreconditionFailed,
				"round “%s” %s: read it again and send your change with its new ETag", r.Name, match.Mismatch(r.Version))
		}
		payloads, err := r.Update(next, a.clock.Now())
		if err != nil || len(payloads) == 0 {
			return payloads, err
		}
		if moved = round.ProjectWindowChanged(r, r.After(payloads)); moved {
			if correction, err = a.correctWindow(ctx, by.Actor(), r, r.After(payloads)); err != nil {
				return nil, err
			}
		}
		return payloads, nil
	}, func(r round.Round) (string, string) {
		return "closes", fmt.Sprintf("round “%s” cannot close at %s", r.Name, round.LondonTime(next.Closes))
	}, func(r, next round.Round) error {
		if next.BudgetPence >= r.BudgetPence {
			return nil
		}
		return a.ledger(ctx, by.Actor(), r, func(l *ledger.Ledger) ([]events.Payload, error) {
			return l.Hold(r.ID, next.BudgetPence, r.Version)
		})
	})
	// A failure to follow leaves the ledger as safe as the hold left it (never above
	// the round's budget) until the round sweep follows.
	_ = a.followBudget(ctx, by.Actor(), id)
	if err != nil && correction != "" {
		a.dropCorrection(ctx, by.Actor(), id, correction)
	}
	if err != nil || !moved {
		return r, err
	}
	// The funded projects' reports move with the window now, by the one who moved it;
	// what this does not move (a failure, or an award racing the correction with the
	// window it read before) the report sweep moves (SweepReports), before it asks
	// for or chases any report of the round.
	_ = a.moveReportDues(ctx, by.Actor(), r)
	return r, nil
}

// followBudget sets round id's ledger to the budget the round records now, unless a
// lowering the round may still record holds it (ledger.Follow).
func (a *App) followBudget(ctx context.Context, actor, id string) error {
	r, err := a.round(ctx, id, 0)
	if err != nil {
		return err
	}
	return a.ledger(ctx, actor, r, func(l *ledger.Ledger) ([]events.Payload, error) {
		return l.Follow(r.ID, r.BudgetPence, r.Version, a.clock.Now())
	})
}

// settleActor is who the round sweep records what it settles as.
const settleActor = "system:budget-sweep"

// settleRound settles what a change of round id left half way when its request
// stopped after writing elsewhere and before the round recorded it: a lowering held
// on the round's ledger (ledger.Hold), a change to the round's place in the order
// checked on the funding record (funding.Record.Reorder), either of which holds
// awards to a change the round has not recorded, or a correction of the project
// window begun on the round's window records (window.Begin), which holds its
// submissions to the corrected window. Once such a change is older than its request
// can run (ledger.HoldGrace; for a correction of the window, the request timeout:
// stoppedCorrections) its request is taken to have stopped, and the round is
// restated at its next version (round.Restated), so that the change can no longer
// be recorded, however late its request: the funding record's check then no longer
// counts, the ledger follows the round, putting the lowering back, and the
// correction is dropped on the window records (dropCorrection). A raise the round
// recorded whose request stopped before the ledger followed is set. The change is
// not finished in the request's stead, as a correction of an award is: what was
// written carries the budget or the dates alone, not the other terms the request
// sent with them, and the request was never answered as made. rec is the funding
// record.
//
// It returns waiting when the round holds a change whose request may yet record it
// (within the grace): the round is to be settled again.
func (a *App) settleRound(ctx context.Context, id string, rec *funding.Record) (waiting bool, err error) {
	r, err := a.round(ctx, id, 0)
	if err != nil {
		return false, err
	}
	history, err := a.events.Load(ctx, ledger.ID(id))
	if err != nil {
		return false, err
	}
	l, err := ledger.Rebuild(r.BudgetPence, history)
	if err != nil {
		return false, err
	}
	now := a.clock.Now()
	stopped := false
	if l.Held(r.BudgetPence, r.Version) {
		if now.Sub(l.HeldSince()) < ledger.HoldGrace {
			return true, nil // its request may yet have the round record it
		}
		stopped = true
	}
	if since, ok := rec.CheckedSince(r); ok {
		if now.Sub(since) < ledger.HoldGrace {
			waiting = true
		} else {
			stopped = true
		}
	}
	corrections, pending, err := a.stoppedCorrections(ctx, r, now)
	if err != nil {
		return false, err
	}
	waiting = waiting || pending
	if stopped = stopped || len(corrections) > 0; stopped {
		_, err := a.events.Execute(ctx, store.Command{AggregateType: round.AggregateType, AggregateID: id, Actor: settleActor,
			Decide: func(history []events.Envelope) ([]events.Payload, error) {
				if len(history) != r.Version {
					return nil, nil // the round has moved on: what was held is settled either way
				}
				return []events.Payload{r.Restated()}, nil
			}})
		if err != nil {
			return false, err
		}
	}
	// The round is past the version they were decided on: none can be recorded now.
	for _, c := range corrections {
		a.dropCorrection(ctx, settleActor, id, c)
	}
	return waiting, a.followBudget(ctx, settleActor, id)
}

// stoppedCorrections are the corrections of round r's project window begun on its
// window records, decided on the round's version as it stands (the round has not
// recorded them) and dropped on none of them, whose request has stopped by now: begun
// longer ago than a request may run (RequestsStopWithin). pending says one is not
// that old yet. Only a round that takes submissions is read: a correction holds
// nothing but submissions, and a round past its closing time takes none.
func (a *App) stoppedCorrections(ctx context.Context, r round.Round, now time.Time) (stopped []string, pending bool, err error) {
	if !r.ClosedAt.IsZero() || !now.Before(r.Closes) {
		return nil, false, nil
	}
	histories, err := a.events.LoadMany(ctx, window.IDs(r.ID))
	if err != nil {
		return nil, false, err
	}
	within := a.stopWithin
	if within <= 0 || within > window.Grace {
		within = window.Grace
	}
	seen := map[string]bool{}
	for _, rec := range window.IDs(r.ID) {
		open, err := window.Open(histories[rec], now)
		if err != nil {
			return nil, false, err
		}
		for _, c := range open {
			switch {
			case seen[c.ID] || c.RoundVersion != r.Version:
				// Seen on a record before, or decided on a version before the round's:
				// recorded, or over.
			case now.Sub(c.At) < within:
				pending = true
			default:
				stopped = append(stopped, c.ID)
			}
			seen[c.ID] = true
		}
	}
	return stopped, pending, nil
}

// moveReportDues moves the report of each funded project of r whose report is not
// in to the day r's project window now sets (application.MoveReportDue).
func (a *App) moveReportDues(ctx context.Context, actor string, r round.Round) error {
	today := civil.Of(a.clock.Now().In(round.London))
	for _, list := range []func(context.Context, string) ([]string, error){a.views.AwaitingReport, a.views.ReportOutstanding} {
		ids, err := list(ctx, r.ID)
		if err != nil {
			return err
		}
		if _, err := a.markEachAs(ctx, actor, ids, func(app *application.Application) ([]events.Payload, error) { return app.MoveReportDue(r, today) }); err != nil {
			return err
		}
	}
	return nil
}

// CloseRound closes a round now, before its closing time (ops). A close that would
// bind two rounds that funded one organisation under the rule on the previous
// round's grantees is refused (see reorder).
func (a *App) CloseRound(ctx context.Context, by auth.Principal, id, reason string) (round.Round, error) {
	if !by.IsOps() {
		return round.Round{}, apperr.New(apperr.Forbidden, "only ITSS operations staff close rounds")
	}
	return a.reorder(ctx, by.Actor(), id, func(r round.Round) ([]events.Payload, error) {
		return r.Close(a.clock.Now(), reason)
	}, func(r round.Round) (string, string) {
		return "", fmt.Sprintf("round “%s” cannot be closed now", r.Name)
	}, nil)
}

// reorderAttempts bounds how often a change to a round starts again because the
// round changed between the change's check and its record.
const reorderAttempts = 25

// errMoved says a round changed between a change's check and its record.
var errMoved = errors.New("the round changed after the change to it was checked")

// reorder changes a round (ops) when the change may move it in the order of rounds
// (a new closing time, an early close, a cancellation), and so change which round is
// another's previous round. An award made earlier was checked against the order as
// it then stood, and an award is never taken back, so the change is checked instead:
// decided on the round, checked on the fund's funding record against the
// organisations funded (funding.Record.Reorder), and only then recorded on the round,
// at exactly the version the check expected; if the round changed meanwhile it all
// starts again. The record puts the check and every award in one order, so an award
// racing the change is decided knowing of it. A change that would make two rounds
// that funded one organisation neighbours bound by the rule is refused with 409:
// refusal says what (and the field at fault, if any) for the message, which goes on
// to name the rounds and the organisation.
func (a *App) reorder(ctx context.Context, actor, id string, decide func(round.Round) ([]events.Payload, error), refusal func(round.Round) (field, what string),
	hold func(cur, next round.Round) error) (round.Round, error) {
	for attempt := 1; ; attempt++ {
		history, err := a.events.Load(ctx, id)
		if err != nil {
			return round.Round{}, err
		}
		if len(history) == 0 || history[0].AggregateType != round.AggregateType {
			return round.Round{}, apperr.New(apperr.NotFound, "round %s not found", id)
		}
		r, _, err := round.Rebuild(id, history)
		if err != nil {
			return round.Round{}, err
		}
		payloads, err := decide(r)
		if err != nil {
			return round.Round{}, err
		}
		if len(payloads) == 0 {
			return r, nil
		}
		next := r.After(payloads)
		if err := a.checkReorder(ctx, actor, r, next); err != nil {
			var double *funding.DoubleFunding
			if errors.As(err, &double) {
				field, what := refusal(r)
				return round.Round{}, a.doubleFunding(ctx, double, field, what)
			}
			return round.Round{}, err
		}
		// What the change holds elsewhere until the round records it (a lowered
		// budget, on the ledger), once every check of it has passed.
		if hold != nil {
			if err = hold(r, next); errors.Is(err, ledger.ErrStale) {
				err = errMoved
			}
		}
		if err == nil {
			_, err = a.events.Execute(ctx, store.Command{AggregateType: round.AggregateType, AggregateID: id, Actor: actor,
				Decide: func(history []events.Envelope) ([]events.Payload, error) {
					if len(history) != r.Version {
						return nil, errMoved
					}
					return payloads, nil
				}})
		}
		switch {
		case err == nil:
			return next, nil
		case !errors.Is(err, errMoved):
			return round.Round{}, err
		case attempt >= reorderAttempts:
			return round.Round{}, apperr.Wrap(apperr.Conflict, err, "round %s is being changed by someone else; retry", id).Passing(time.Second)
		}
	}
}

// checkReorder checks on the fund's funding record that cur, changed to next, binds
// no two rounds that funded one organisation, and records the check if the change
// moves cur in the order of rounds (see funding.Record.Reorder). Awards made before
// the record took every claim are read from the applications' views.
func (a *App) checkReorder(ctx context.Context, actor string, cur, next round.Round) error {
	rounds, err := a.roundsWith(ctx, cur)
	if err != nil {
		return err
	}
	funded := map[string][]string{}
	for _, x := range rounds {
		if funded[x.ID], err = a.views.FundedOrganisations(ctx, x.ID); err != nil {
			return err
		}
	}
	_, err = a.onFunding(ctx, actor, func(rec *funding.Record) ([]events.Payload, error) {
		rounds, err := a.roundsWith(ctx, cur)
		if err != nil {
			return nil, err
		}
		records, err := a.recordsOf(ctx, rec, funded)
		if err != nil {
			return nil, err
		}
		return rec.Reorder(rounds, next, funded, records)
	})
	return err
}

// recordsOf gives, for each organisation funded (claimed on rec or in funded's
// awards) that succeeds another record, the records it succeeds (see lineage).
func (a *App) recordsOf(ctx context.Context, rec *funding.Record, funded map[string][]string) (map[string][]string, error) {
	records := map[string][]string{}
	seen := map[string]bool{}
	look := func(org string) error {
		if seen[org] {
			return nil
		}
		seen[org] = true
		lineage, err := a.lineage(ctx, org, 0)
		if err == nil && len(lineage) > 1 {
			records[org] = lineage[1:]
		}
		return err
	}
	for _, c := range rec.Claims() {
		if err := look(c.OrganisationID); err != nil {
			return nil, err
		}
	}
	for _, orgs := range funded {
		for _, org := range orgs {
			if err := look(org); err != nil {
				return nil, err
			}
		}
	}
	return records, nil
}

// doubleFunding is the 409 refusing a change to the order of rounds, naming the
// organisation as the fund knows it.
func (a *App) doubleFunding(ctx context.Context, d *funding.DoubleFunding, field, what string) error {
	org := d.OrganisationID
	if s, ok, err := a.signatories.Get(ctx, org); err == nil && ok && s.Name != "" {
		org = fmt.Sprintf("%s (%s)", s.Name, d.OrganisationID)
	}
	return &apperr.Error{Code: apperr.Conflict, Field: field, Message: fmt.Sprintf(
		"%s: that would make %s the previous round of %s, which excludes the previous round's grantees, and organisation %s is funded in both (an award is never taken back)",
		what, round.InWords(d.Previous), round.InWords(d.Next), org)}
}

// SweepRounds records the close of every round whose closing time has passed, so
// that its closing is an event like any other, and first settles each round where
// a change of it stopped half way (settleRound). A close at the closing time leaves the
// round where it stood in the order of rounds, so it needs no check (see reorder). It returns how many it closed; any
// number of replicas may run it at once, and a round is closed once.
//
// Its cost follows what changed, not how many rounds the fund has had: with the
// rounds' changes to follow (FollowRoundChanges), it settles only the rounds a change
// touched since it last looked (and those still waiting on one), and reads only the
// rounds it has not yet found closed; it settles and reads every round when it cannot
// tell what changed (its first sweep in a process, or what it follows lost changes).
func (a *App) SweepRounds(ctx context.Context) (int, error) {
	a.sweeping.Lock()
	defer a.sweeping.Unlock()
	all := a.changes == nil || !a.followed
	if all && a.changes != nil {
		// The first sweep settles every round there is as of the last change so far;
		// later sweeps, the rounds touched since.
		if last, err := a.changes.Last(ctx); err == nil {
			a.through, a.followed = last, true
		}
	} else if !all {
		touched, through, complete, err := a.changes.Since(ctx, a.through)
		switch {
		case err != nil || !complete:
			all = true // settled below, every one
		default:
			for _, id := range touched {
				a.unsettled[id] = true
			}
		}
		if err == nil {
			a.through = through
		}
	}
	var rounds []round.Round
	if all {
		var err error
		if rounds, err = a.Rounds(ctx, ""); err != nil {
			return 0, err
		}
		for _, r := range rounds {
			a.unsettled[r.ID] = true
		}
	} else {
		ids, err := a.events.IDsOfType(ctx, round.AggregateType)
		if err != nil {
			return 0, err
		}
		for _, id := range ids {
			if a.closed[id] {
				continue
			}
			r, err := a.round(ctx, id, 0)
			if err != nil {
				return 0, err
			}
			rounds = append(rounds, r)
		}
	}
	history, err := a.events.Load(ctx, funding.RecordID)
	if err != nil {
		return 0, err
	}
	rec, err := funding.Rebuild(history)
	if err != nil {
		return 0, err
	}
	if err := a.letGoClaims(ctx, rec); err != nil {
		return 0, err
	}
	for _, id := range slices.Sorted(maps.Keys(a.unsettled)) {
		waiting, err := a.settleRound(ctx, id, rec)
		if apperr.Is(err, apperr.NotFound) {
			waiting, err = false, nil // named by an event of no round: nothing to settle
		}
		if err != nil {
			return 0, err
		}
		if !waiting {
			delete(a.unsettled, id)
		}
	}
	now, closed := a.clock.Now(), 0
	for _, r := range rounds {
		if !r.ClosedAt.IsZero() {
			a.closed[r.ID] = true
		}
		if !r.ClosedAt.IsZero() || now.Before(r.Closes) {
			continue
		}
		appended := false
		if _, err := a.changeRound(ctx, "system:round-sweep", r.ID, func(r round.Round) ([]events.Payload, error) {
			p, err := r.Close(now, "")
			appended = len(p) > 0
			return p, err
		}); err != nil {
			return closed, err
		}
		if appended {
			closed++
		}
	}
	return closed, nil
}

// claimSweepActor is who the round sweep records the claims it lets go as.
const claimSweepActor = "system:claim-sweep"

// letGoClaims lets go of each claim on rec (the funding record) whose award's request
// stopped after the claim and before the round's ledger reserved the money: a claim
// older than ledger.HoldGrace whose application holds no reservation. Such a claim
// funds nothing, yet it refused awards to the organisation in every round bound to
// its round for good. The award is let go on the ledger first (ledger.LetGo), in one
// order with every reservation, so that the request, however late, can no longer
// reserve under the claim; only then is the claim released. A claim whose award drew
// on the budget is settled from its reservation (Settle) and stays; each is looked at
// once a process (drawn), and a round's ledger is read once for all its claims.
func (a *App) letGoClaims(ctx context.Context, rec *funding.Record) error {
	now := a.clock.Now()
	byRound := map[string][]funding.Claim{}
	var order []string
	a.drawnMu.Lock()
	for _, c := range rec.Claims() {
		if a.drawn[c.ApplicationID] == c.Version || now.Sub(c.At) < ledger.HoldGrace {
			continue
		}
		if _, seen := byRound[c.RoundID]; !seen {
			order = append(order, c.RoundID)
		}
		byRound[c.RoundID] = append(byRound[c.RoundID], c)
	}
	a.drawnMu.Unlock()
	for _, id := range order {
		r, err := a.round(ctx, id, 0)
		if apperr.Is(err, apperr.NotFound) {
			continue // a claim of no round: nothing drew on a ledger of it
		}
		if err != nil {
			return err
		}
		// Read once for all the round's claims: most drew on the budget, and need no
		// command; the others are decided again on the ledger as it stands.
		history, err := a.events.Load(ctx, ledger.ID(id))
		if err != nil {
			return err
		}
		read, err := ledger.Rebuild(r.BudgetPence, history)
		if err != nil {
			return err
		}
		for _, c := range byRound[id] {
			_, drawn := read.Reserved(c.ApplicationID)
			if !drawn {
				if err := a.ledger(ctx, claimSweepActor, r, func(l *ledger.Ledger) ([]events.Payload, error) {
					_, drawn = l.Reserved(c.ApplicationID)
					return l.LetGo(r.ID, c.ApplicationID, c.Version)
				}); err != nil {
					return err
				}
			}
			if drawn {
				a.drawnMu.Lock()
				a.drawn[c.ApplicationID] = c.Version
				a.drawnMu.Unlock()
				continue
			}
			if _, err := a.onFunding(ctx, claimSweepActor, func(rec *funding.Record) ([]events.Payload, error) {
				return rec.ReleaseAt(c.ApplicationID, c.Version)
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// RequestsStopWithin tells the round sweep how long a request of the service may
// run (HTTP_REQUEST_TIMEOUT, under window.Grace): a correction of a round's project
// window begun on its records longer ago whose round has not recorded it has
// stopped, and the sweep drops it (see settleRound). Untold, the sweep takes
// window.Grace.
func (a *App) RequestsStopWithin(d time.Duration) {
	a.sweeping.Lock()
	defer a.sweeping.Unlock()
	a.stopWithin = d
}

// FollowRoundChanges makes the round sweep settle only the rounds changes touched
// (see SweepRounds); without it, the sweep settles every round each time.
func (a *App) FollowRoundChanges(c RoundChanges) {
	a.sweeping.Lock()
	defer a.sweeping.Unlock()
	a.changes = c
}

func (a *App) changeRound(ctx context.Context, actor, id string, decide func(round.Round) ([]events.Payload, error)) (round.Round, error) {
	r, _, err := store.Change(ctx, a.events, store.Command{AggregateType: round.AggregateType, AggregateID: id, Actor: actor},
		func(history []events.Envelope) (round.Round, error) {
			if len(history) > 0 && history[0].AggregateType != round.AggregateType {
				return round.Round{}, apperr.New(apperr.NotFound, "round %s not found", id)
			}
			r, ok, err := round.Rebuild(id, history)
			if err == nil && !ok {
				err = apperr.New(apperr.NotFound, "round %s not found", id)
			}
			return r, err
		}, decide)
	return r, err
}

// Round returns one round, with the budget in force (see inForce).
func (a *App) Round(ctx context.Context, id string) (round.Round, error) {
	r, err := a.round(ctx, id, 0)
	if err != nil {
		return r, err
	}
	return a.inForce(ctx, r)
}

// inForce is r with the budget its ledger holds, once the ledger holds one of its
// own (BudgetSetV1): the round records the same once the ledger follows it, but a
// lowering held that the round has not yet recorded (or never will, until the round
// sweep puts it back), or a raise recorded that the ledger has not yet followed,
// reads as the budget the awards are decided against, never above the round's.
func (a *App) inForce(ctx context.Context, r round.Round) (round.Round, error) {
	history, err := a.events.Load(ctx, ledger.ID(r.ID))
	if err != nil {
		return r, err
	}
	l, err := ledger.Rebuild(r.BudgetPence, history)
	if err != nil {
		return r, err
	}
	if l.BudgetSet() {
		r.BudgetPence = l.Budget()
	}
	return r, nil
}

// round loads a round, possibly as it was up to maxAge ago (see EventStore.LoadRecent).
func (a *App) round(ctx context.Context, id string, maxAge time.Duration) (round.Round, error) {
	history, err := a.events.LoadRecent(ctx, id, maxAge)
	if err != nil {
		return round.Round{}, err
	}
	if len(history) == 0 || history[0].AggregateType != round.AggregateType {
		return round.Round{}, apperr.New(apperr.NotFound, "round %s not found", id)
	}
	return a.rebuildRound(id, history)
}

// rebuildRound is round.Rebuild, remembered: every draft checks its round and the
// rounds before it, and decoding their events each time was a tenth of its work. A
// round is rebuilt again when its history has moved on (its last event differs).
func (a *App) rebuildRound(id string, history []events.Envelope) (round.Round, error) {
	last := history[len(history)-1].ID
	a.roundsMu.Lock()
	known, ok := a.rebuilt[id]
	a.roundsMu.Unlock()
	if ok && known.lastEvent == last {
		return known.round, nil
	}
	r, _, err := round.Rebuild(id, history)
	if err != nil {
		return round.Round{}, err
	}
	a.roundsMu.Lock()
	defer a.roundsMu.Unlock()
	if len(a.rebuilt) >= 1024 {
		clear(a.rebuilt) // rounds are few; this only bounds a flood of bogus ids
	}
	a.rebuilt[id] = rebuiltRound{lastEvent: last, round: r}
	return r, nil
}

// Rounds lists rounds, newest first, optionally only those with a status now.
func (a *App) Rounds(ctx context.Context, status round.Status) ([]round.Round, error) {
	return a.rounds(ctx, status, 0)
}

// rounds lists rounds, possibly as they were up to maxAge ago.
func (a *App) rounds(ctx context.Context, status round.Status, maxAge time.Duration) ([]round.Round, error) {
	history, err := a.events.LoadByTypeRecent(ctx, round.AggregateType, maxAge)
	if err != nil {
		return nil, err
	}
	byID := map[string][]events.Envelope{}
	var ids []string
	for _, e := range history {
		if _, seen := byID[e.AggregateID]; !seen {
			ids = append(ids, e.AggregateID)
		}
		byID[e.AggregateID] = append(byID[e.AggregateID], e)
	}
	now := a.clock.Now()
	var out []round.Round
	for _, id := range ids {
		evs := byID[id]
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Version < evs[j].Version })
		r, err := a.rebuildRound(id, evs)
		if err != nil {
			return nil, err
		}
		if status == "" || r.StatusAt(now) == status {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return newer(out[i], out[j]) })
	return out, nil
}

// newer orders rounds newest first: by opening time, then by id, so that the order
// is total and a page's position is exact.
func newer(a, b round.Round) bool {
	if !a.Opens.Equal(b.Opens) {
		return a.Opens.After(b.Opens)
	}
	return a.ID > b.ID
}

// roundCursor is the position after a page of rounds: the last round listed.
type roundCursor struct {
	Opens time.Time `json:"opens"`
	ID    string    `json:"id"`
}

// RoundsPage lists up to limit rounds newest first, after cursor (the next cursor of
// the page before, or "" for the first page), optionally only those with a status
// now. The next cursor is "" on the last page.
func (a *App) RoundsPage(ctx context.Context, status round.Status, limit int, cursor string) ([]round.Round, string, error) {
	if limit < 1 || limit > 200 {
		return nil, "", apperr.Field("limit", "must be between 1 and 200")
	}
	rounds, err := a.Rounds(ctx, status)
	if err != nil {
		return nil, "", err
	}
	if cursor != "" {
		var c roundCursor
		if err := store.DecodeCursor(cursor, &c); err != nil || c.ID == "" {
			return nil, "", store.BadCursor()
		}
		after := round.Round{ID: c.ID, Opens: c.Opens}
		i := sort.Search(len(rounds), func(i int) bool { return newer(after, rounds[i]) })
		rounds = rounds[i:]
	}
	next := ""
	if len(rounds) > limit {
		last := rounds[limit-1]
		rounds, next = rounds[:limit], store.EncodeCursor(roundCursor{Opens: last.Opens.UTC(), ID: last.ID})
	}
	page := make([]round.Round, len(rounds))
	for i, r := range rounds {
		if page[i], err = a.inForce(ctx, r); err != nil {
			return nil, "", err
		}
	}
	return page, next, nil
}

// Now is the service's clock, for status computed at read time.
func (a *App) Now() time.Time { return a.clock.Now() }

// Ledger returns a round's budget ledger (ops).
func (a *App) Ledger(ctx context.Context, by auth.Principal, roundID string) (*ledger.Ledger, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff read the ledger")
	}
	r, err := a.Round(ctx, roundID)
	if err != nil {
		return nil, err
	}
	history, err := a.events.Load(ctx, ledger.ID(roundID))
	if err != nil {
		return nil, err
	}
	return ledger.Rebuild(r.BudgetPence, history)
}

// LedgerAndCounts is a round's ledger and how many of its applications stand in
// each status (ops): what the operations console shows of every round, read without
// listing the applications.
func (a *App) LedgerAndCounts(ctx context.Context, by auth.Principal, roundID string) (*ledger.Ledger, map[application.Status]int, error) {
	l, err := a.Ledger(ctx, by, roundID)
	if err != nil {
		return nil, nil, err
	}
	counts, err := a.views.Counts(ctx, roundID)
	if err != nil {
		return nil, nil, err
	}
	return l, counts, nil
}

// applicationSpace derives application ids from idempotency keys.
var applicationSpace = uuid.MustParse("b5f7f3e4-8a7e-4d39-9c27-0f3c9f1f5a21")

// CreateApplication drafts an application for the caller's organisation. With an
// idempotency key the application's id is a function of the caller and the key, so
// that retries of one request, however concurrent, create one application.
func (a *App) CreateApplication(ctx context.Context, by auth.Principal, roundID string, c application.Content, key, requestHash string) (*application.Application, bool, error) {
	if by.Role != auth.RoleApplicant {
		return nil, false, apperr.New(apperr.Forbidden, "only applicants draft applications")
	}
	r, err := a.round(ctx, roundID, recently)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil, false, apperr.Field("round_id", "no round %s", roundID)
		}
		return nil, false, err
	}
	id := uuid.Must(uuid.NewV7()).String()
	if key != "" {
		id = uuid.NewSHA1(applicationSpace, []byte(by.Org+"|"+by.Subject+"|"+key)).String()
	}
	el, err := a.eligibility(ctx, r, by.Org, recently)
	if err != nil {
		return nil, false, err
	}
	if el.UnknownPartners, err = a.unknownPartners(ctx, c, by.Org); err != nil {
		return nil, false, err
	}
	created := false
	// Without a key the id is new, so there is no history to load.
	cmd := store.Command{AggregateType: application.AggregateType, AggregateID: id, Actor: by.Actor(), New: key == ""}
	app, _, err := store.Change(ctx, a.events, cmd, func(history []events.Envelope) (*application.Application, error) { return rebuild(id, history) }, func(app *application.Application) ([]events.Payload, error) {
		if app.Exists() {
			if key != "" && app.OrganisationID() == by.Org && app.RequestHash() == requestHash {
				return nil, nil // a retry of the request that created it
			}
			return nil, apperr.New(apperr.Unprocessable, "this Idempotency-Key was used with a different request; use a new key for a new request")
		}
		created = true
		return app.Draft(r, by.Org, application.Person{Name: by.Name, Email: by.Email}, c, requestHash, el, a.clock.Now())
	})
	return app, created, err
}

// Application returns one application: ops see all; an applicant only its own
// organisation's (another's is not found, so its existence is not revealed).
func (a *App) Application(ctx context.Context, by auth.Principal, id string) (*application.Application, error) {
	app, err := a.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(by, app) {
		return nil, apperr.New(apperr.NotFound, "application %s not found", id)
	}
	return app, nil
}

// UpdateApplication revises a draft.
func (a *App) UpdateApplication(ctx context.Context, by auth.Principal, id string, c application.Content, match precondition.Versions) (*application.Application, error) {
	return a.own(ctx, by, id, func(app *application.Application, roundOf roundOf) ([]events.Payload, error) {
		// The versions the caller read (If-Match): checked in the command that
		// appends, so that two tools changing one draft from one reading cannot both
		// be applied.
		if !match.Allows(app.Version()) {
			return nil, apperr.New(apperr.PreconditionFailed,
				"the draft “%s” %s: read it again and send your change with its new ETag", app.Content().Title, match.Mismatch(app.Version()))
		}
		r, err := roundOf()
		if err != nil {
			return nil, err
		}
		el, err := a.eligibility(ctx, r, app.OrganisationID(), recently)
		if err != nil {
			return nil, err
		}
		if el.UnknownPartners, err = a.unknownPartners(ctx, c, app.OrganisationID()); err != nil {
			return nil, err
		}
		return app.Update(r, c, el, a.clock.Now())
	})
}

// Submit submits a draft while its round is open. Its milestones are checked on a
// window record of the round before it is recorded, against a correction of the
// round's project window under way as well (checkSubmission); should the submission
// then fail, its checks are dropped (dropChecks), so that no correction takes it for
// a submission under way.
func (a *App) Submit(ctx context.Context, by auth.Principal, id string) (*application.Application, error) {
	var roundID string
	var checks []string // the checks this request recorded, one a decision
	app, err := a.own(ctx, by, id, func(app *application.Application, roundOf roundOf) ([]events.Payload, error) {
		if app.Status() == application.StatusSubmitted {
			return nil, nil // already done: submitting twice is not an error
		}
		r, err := roundOf()
		if err != nil {
			return nil, err
		}
		el, err := a.eligibility(ctx, r, app.OrganisationID(), recently)
		if err != nil {
			return nil, err
		}
		if el.UnknownPartners, err = a.unknownPartners(ctx, app.Content(), app.OrganisationID()); err != nil {
			return nil, err
		}
		now := a.clock.Now()
		submitted, err := app.Submit(r, el, now)
		if err != nil {
			return nil, err
		}
		check, err := a.checkSubmission(ctx, by.Actor(), r, app, el, now)
		if err != nil {
			return nil, err
		}
		if check != "" {
			roundID, checks = r.ID, append(checks, check)
		}
		return submitted, nil
	})
	if err != nil && len(checks) > 0 {
		a.dropChecks(ctx, by.Actor(), roundID, id, checks)
	}
	return app, err
}

// Withdraw withdraws an application.
func (a *App) Withdraw(ctx context.Context, by auth.Principal, id, reason string) (*application.Application, error) {
	return a.own(ctx, by, id, func(app *application.Application, _ roundOf) ([]events.Payload, error) {
		if app.Status() == application.StatusWithdrawn {
			return nil, nil
		}
		return app.Withdraw(reason)
	})
}

// SubmitReport records a funded project's report.
func (a *App) SubmitReport(ctx context.Context, by auth.Principal, id string, rep application.Report) (*application.Application, error) {
	return a.own(ctx, by, id, func(app *application.Application, roundOf roundOf) ([]events.Payload, error) {
		r, err := roundOf()
		if err != nil {
			return nil, err
		}
		return app.SubmitReport(r, rep, civil.Of(a.clock.Now().In(round.London)))
	})
}

// StartAssessment moves an application into assessment (ops).
func (a *App) StartAssessment(ctx context.Context, by auth.Principal, id string) (*application.Application, error) {
	return a.ops(ctx, by, id, func(app *application.Application, _ roundOf) ([]events.Payload, error) {
		return app.StartAssessment()
	})
}

// Decline declines with feedback (ops).
func (a *App) Decline(ctx context.Context, by auth.Principal, id, feedback string) (*application.Application, error) {
	return a.ops(ctx, by, id, func(app *application.Application, _ roundOf) ([]events.Payload, error) {
		return app.Decline(feedback)
	})
}

// ledgerAttempts lets every contender for a round's budget keep trying within the
// request's deadline: each loses only to another award, and must in the end either
// win or see that the budget is spent.
const ledgerAttempts = 100000

// Award grants amount to an application (ops). The round's ledger reserves the money
// first — its unique index makes concurrent awards queue, so together they can never
// exceed the budget — and the reservation is then settled onto the application (see
// Settle). If settling fails for want of the database, the settlement consumer
// finishes it from the reservation event; nothing is released on an uncertain error.
func (a *App) Award(ctx context.Context, by auth.Principal, id string, amount int64) (*application.Application, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff award grants")
	}
	// Awards queue here, one at a time within this replica (a round makes a handful),
	// so that a burst of them neither races on the ledger nor opens a database
	// connection each; across replicas the ledger's unique index still rules.
	select {
	case a.awarding <- struct{}{}:
		defer func() { <-a.awarding }()
	case <-ctx.Done():
		return nil, store.Classify(ctx.Err())
	}
	app, err := a.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !app.Exists() {
		return nil, apperr.New(apperr.NotFound, "application %s not found", id)
	}
	r, err := a.Round(ctx, app.RoundID())
	if err != nil {
		return nil, err
	}
	if app.Status() == application.StatusAwarded && app.AwardPence() == amount {
		return app, nil
	}
	// The standing read afresh: the rounds before and after this one and their awards
	// as they are now.
	el, err := a.eligibility(ctx, r, app.OrganisationID(), 0)
	if err != nil {
		return nil, err
	}
	if el.FundedInFollowingRound, err = a.fundedInFollowingRound(ctx, r, app.OrganisationID()); err != nil {
		return nil, err
	}
	if err := app.CheckAward(r, amount, el, civil.Of(a.clock.Now().In(round.London))); err != nil {
		return nil, err
	}
	// What the views said above may lag, and another replica may be awarding the
	// organisation in a neighbouring round at this moment: the claim decides.
	claim, err := a.claimFunding(ctx, by.Actor(), r, app)
	if err != nil {
		return nil, err
	}
	// Reserved under the claim: should this request stop before, the round sweep
	// lets the claim go once it is older than ledger.HoldGrace (letGoClaims), and the
	// ledger then refuses this reservation however late it comes.
	err = a.ledger(ctx, by.Actor(), r, func(l *ledger.Ledger) ([]events.Payload, error) {
		return l.ReserveUnder(r.ID, id, amount, claim)
	})
	if err != nil {
		// A claim let go is the sweep's to release, and the award is sent again.
		if refused(err) && !errors.Is(err, ledger.ErrLetGo) {
			if rerr := a.releaseFunding(ctx, by.Actor(), r, id, claim); rerr != nil {
				return nil, rerr
			}
		}
		return nil, err
	}
	return a.settle(ctx, by.Actor(), r, events.BudgetReservedV1{RoundID: r.ID, ApplicationID: id, AmountPence: amount})
}

// onFunding runs decide on the fund's funding record as it stands (rebuilt from its
// history at each attempt) and appends what it decides, as actor: the record's unique
// index puts concurrent claims, releases and changes of order one after another.
func (a *App) onFunding(ctx context.Context, actor string, decide func(rec *funding.Record) ([]events.Payload, error)) ([]events.Envelope, error) {
	return a.events.Execute(ctx, store.Command{AggregateType: funding.AggregateType, AggregateID: funding.RecordID, Actor: actor,
		MaxAttempts: ledgerAttempts,
		Decide: func(history []events.Envelope) ([]events.Payload, error) {
			rec, err := funding.Rebuild(history)
			if err != nil {
				return nil, err
			}
			return decide(rec)
		}})
}

// refused says err is a definite refusal (not a failure that leaves the outcome unknown).
func refused(err error) bool {
	return apperr.Is(err, apperr.Conflict) || apperr.Is(err, apperr.Invalid) || apperr.Is(err, apperr.NotFound)
}

// claimFunding claims app's award on the fund's funding record, which refuses it
// when the organisation is funded in a round bound to r by the rule on the previous
// round's grantees (see funding.Record.Claim). Every award claims, bound or not: a
// later change to the order of rounds is checked against the claims (see reorder).
// It returns the record's version the claim stands at (made now, or before by
// another attempt at the same award).
func (a *App) claimFunding(ctx context.Context, actor string, r round.Round, app *application.Application) (int, error) {
	org := app.OrganisationID()
	lineage, err := a.lineage(ctx, org, 0)
	if err != nil {
		return 0, err
	}
	standing := 0
	appended, err := a.onFunding(ctx, actor, func(rec *funding.Record) ([]events.Payload, error) {
		// The rounds read after the record: a change to their order recorded on
		// the record since is either in them or still pending on it.
		rounds, err := a.roundsWith(ctx, r)
		if err != nil {
			return nil, err
		}
		c, _ := rec.ClaimOf(app.ID())
		standing = c.Version
		return rec.Claim(org, lineage[1:], r.ID, app.ID(), rounds)
	})
	if err != nil {
		return 0, err
	}
	if len(appended) > 0 {
		return appended[0].Version, nil
	}
	return standing, nil
}

// roundsWith lists every round, read afresh, with r among them even if the list
// does not have it yet.
func (a *App) roundsWith(ctx context.Context, r round.Round) ([]round.Round, error) {
	rounds, err := a.rounds(ctx, "", 0)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(rounds, func(x round.Round) bool { return x.ID == r.ID }) {
		rounds = append(rounds, r)
	}
	return rounds, nil
}

// releaseFunding withdraws the claim of an award that was refused after all, unless
// the application holds a reservation on its round's budget (another attempt at the
// same award got there: its claim stands). actor is who the release is recorded as;
// claim is the record's version of the claim to release (0: whichever stands).
func (a *App) releaseFunding(ctx context.Context, actor string, r round.Round, applicationID string, claim int) error {
	history, err := a.events.Load(ctx, ledger.ID(r.ID))
	if err != nil {
		return err
	}
	l, err := ledger.Rebuild(r.BudgetPence, history)
	if err != nil {
		return err
	}
	if _, held := l.Reserved(applicationID); held {
		return nil
	}
	_, err = a.onFunding(ctx, actor, func(rec *funding.Record) ([]events.Payload, error) {
		return rec.ReleaseAt(applicationID, claim)
	})
	return err
}

// settlementActor is who a settlement is recorded as when its reservation's event
// names nobody (the service writes none such; the fallback keeps a malformed one
// from being recorded as no one): the system finished the award.
const settlementActor = "system:award-settlement"

// Settle records a reservation on its application, exactly once, as the settlement
// consumer does for every reservation. reservedBy is the actor of the reservation's
// event: the ops person who made the award. The consumer races the award's own
// request (the reservation is published as soon as it is committed) and wins it
// whenever the request is slow, and it alone finishes an award whose request
// failed after the reservation (the database failed it, or the replica stopped);
// either way the award on the application is that person's decision, so it is
// recorded as theirs, not as a shared identity of the service. If the application
// can no longer take the award (withdrawn or decided meanwhile), the reservation is
// released and the refusal returned.
func (a *App) Settle(ctx context.Context, reservedBy string, res events.BudgetReservedV1) error {
	r, err := a.Round(ctx, res.RoundID)
	if err != nil {
		return err
	}
	if reservedBy == "" {
		reservedBy = settlementActor
	}
	_, err = a.settle(ctx, reservedBy, r, res)
	return err
}

// settle records res on its application as actor, the ops person who awarded it
// (or settlementActor; see Settle).
func (a *App) settle(ctx context.Context, actor string, r round.Round, res events.BudgetReservedV1) (*application.Application, error) {
	awarded, appended, err := store.Change(ctx, a.events, store.Command{AggregateType: application.AggregateType, AggregateID: res.ApplicationID,
		Actor: actor, CausationID: fmt.Sprintf("award|%d", res.AmountPence)},
		func(history []events.Envelope) (*application.Application, error) {
			return rebuild(res.ApplicationID, history)
		},
		func(app *application.Application) ([]events.Payload, error) {
			if app.Status() == application.StatusAwarded && app.AwardPence() == res.AmountPence {
				return nil, nil
			}
			return app.Award(r, res.AmountPence)
		})
	switch {
	case err == nil && len(appended) > 0:
		return awarded, nil
	case err == nil:
		// Nothing appended: settled before, perhaps by a concurrent settlement whose
		// commit this one's history did not include.
		return a.load(ctx, res.ApplicationID)
	}
	if !refused(err) {
		return nil, err
	}
	// A definite refusal from the application: give the money back, and the claim on
	// the organisation's funding unless the application is awarded after all.
	if rerr := a.ledger(ctx, actor, r, func(l *ledger.Ledger) ([]events.Payload, error) {
		return l.Release(r.ID, res.ApplicationID)
	}); rerr != nil {
		return nil, rerr
	}
	if app, lerr := a.load(ctx, res.ApplicationID); lerr != nil {
		return nil, lerr
	} else if app.Exists() && app.Status() != application.StatusAwarded {
		if rerr := a.releaseFunding(ctx, actor, r, res.ApplicationID, 0); rerr != nil {
			return nil, rerr
		}
	}
	return nil, err
}

// List pages through applications: ops see all, applicants their organisation's.
func (a *App) List(ctx context.Context, by auth.Principal, q ListQuery) ([]*application.Application, Page, error) {
	switch by.Role {
	case auth.RoleOps:
	case auth.RoleApplicant, auth.RoleLead:
		q.Org = by.Org
	default:
		return nil, Page{}, apperr.New(apperr.Forbidden, "the %s role has no applications", by.Role)
	}
	page, err := a.views.List(ctx, q)
	if err != nil {
		return nil, Page{}, err
	}
	// The view chose the page; the event store says what each application is, and
	// whether the caller may see it: from what this process holds when that is as new
	// as the view's entry, read from the log where it is not. A page held in memory
	// costs no read, and shows nothing older than the list.
	histories, err := a.events.LoadManyThrough(ctx, page.Versions)
	if err != nil {
		return nil, Page{}, err
	}
	out := make([]*application.Application, 0, len(page.IDs))
	for _, id := range page.IDs {
		app, err := rebuild(id, histories[id])
		if err != nil {
			return nil, Page{}, err
		}
		if visible(by, app) {
			out = append(out, app)
		}
	}
	return out, page, nil
}

// Project brings the views of the applications a batch of their events is about up to
// date with at least those events: each as it is at the batch's last event about it,
// all written at once. Running it again, or over older events, changes nothing.
func (a *App) Project(ctx context.Context, batch []events.Envelope) error {
	through := map[string]int{}
	var ids []string
	for _, e := range batch {
		if _, ok := through[e.AggregateID]; !ok {
			ids = append(ids, e.AggregateID)
		}
		through[e.AggregateID] = max(through[e.AggregateID], e.Version)
	}
	apps := make([]*application.Application, 0, len(ids))
	for _, id := range ids {
		history, err := a.events.LoadThrough(ctx, id, through[id])
		if err != nil {
			return err
		}
		app, err := rebuild(id, history)
		if err != nil {
			return err
		}
		if app.Exists() {
			apps = append(apps, app)
		}
	}
	if err := a.views.Save(ctx, apps...); err != nil {
		return err
	}
	return a.withdrawLeftBehind(ctx, apps)
}

// withdrawLeftBehind withdraws those of apps still open whose organisation has
// withdrawn from the Commitment: the withdrawal's own sweep (WithdrawOrganisation)
// reads the views, which may not yet have held them. Each is saved in its view
// before the organisation's standing is read here, and the sweep records the
// standing before reading the views, so one or the other sees every application.
// The standing is read as recently as a draft reads it (the organisation's
// standing lags the signatory service's events anyway), once per organisation.
func (a *App) withdrawLeftBehind(ctx context.Context, apps []*application.Application) error {
	standing := map[string]Signatory{}
	for _, app := range apps {
		switch app.Status() {
		case application.StatusDraft, application.StatusSubmitted, application.StatusInAssessment:
		default:
			continue
		}
		s, seen := standing[app.OrganisationID()]
		if !seen {
			var err error
			if s, _, err = a.signatories.Recent(ctx, app.OrganisationID(), recently); err != nil {
				return err
			}
			standing[app.OrganisationID()] = s
		}
		if !s.Withdrawn {
			continue
		}
		if err := a.withdrawForOrganisation(ctx, s, app.ID()); err != nil {
			return err
		}
	}
	return nil
}

// ForgetInSignatories blanks an erased person (by the digest of their address) in
// the organisations that name them. Only the consumer of the signatory service's
// events calls it, in the order of those events: it is the read model's one writer,
// and the erasure is one more of its events. A separate writer, reading and
// replacing the same documents beside it, lost the withdrawal it raced or wrote the
// erased lead back.
func (a *App) ForgetInSignatories(ctx context.Context, subject string) error {
	return a.signatories.Forget(ctx, subject)
}

// RecordSignatory updates the read model from a signatory event: an announcement
// (name, kind and nominated lead) or a withdrawal (Withdrawn and its day only). What
// the event does not carry is kept.
func (a *App) RecordSignatory(ctx context.Context, s Signatory) error {
	_, err := a.recordSignatory(ctx, s)
	return err
}

// recordSignatory is RecordSignatory, returning the organisation as it is now kept.
func (a *App) recordSignatory(ctx context.Context, s Signatory) (Signatory, error) {
	cur, ok, err := a.signatories.Get(ctx, s.ID)
	if err != nil {
		return Signatory{}, err
	}
	if ok && cur.Withdrawn && !s.Withdrawn {
		return cur, nil // a withdrawal is final
	}
	if ok && s.Name == "" {
		s.Name, s.Kind, s.AnnouncedOn = cur.Name, cur.Kind, cur.AnnouncedOn
	}
	if ok && s.NominatedLeadEmail == "" {
		s.NominatedLeadEmail = cur.NominatedLeadEmail
	}
	if ok && s.WithdrawnOn.IsZero() {
		s.WithdrawnOn = cur.WithdrawnOn
	}
	if ok && s.Succeeds == "" {
		s.Succeeds = cur.Succeeds
	}
	return s, a.signatories.Put(ctx, s)
}

// RecordSuccession records that org succeeds the record succeeds, as ITSS recorded
// after org's announcement: held as an announcement's Succeeds is. What else the
// read model holds of org is kept; a withdrawal already taken in keeps it too, since
// the rule the link serves counts awards whatever the record's standing now.
func (a *App) RecordSuccession(ctx context.Context, org, succeeds string) error {
	return a.changeSignatory(ctx, org, true, func(cur *Signatory) bool {
		if cur.Succeeds == succeeds {
			return false // taken already: a redelivery
		}
		cur.Succeeds = succeeds
		return true
	})
}

// changeSignatory reads org's record in the read model, lets change change it, and
// writes it if change says it did. An organisation the read model does not hold is
// begun with its id when orNew, and otherwise left alone. Only the consumer of the
// signatory's events writes the records, one event at a time.
func (a *App) changeSignatory(ctx context.Context, org string, orNew bool, change func(*Signatory) bool) error {
	cur, ok, err := a.signatories.Get(ctx, org)
	if err != nil {
		return err
	}
	if !ok {
		if !orNew {
			return nil
		}
		cur = Signatory{ID: org}
	}
	if !change(&cur) {
		return nil
	}
	return a.signatories.Put(ctx, cur)
}

// RecordName records an organisation's name as ITSS corrected it
// (OrganisationDetailsCorrectedV1), so that the fund's checks and answers name it so.
// One the fund does not know yet is left: its announcement carries the name as
// corrected. A withdrawn one takes it too, as its record is still named in answers.
func (a *App) RecordName(ctx context.Context, org, name string) error {
	return a.changeSignatory(ctx, org, false, func(cur *Signatory) bool {
		if cur.Name == name {
			return false // taken already: a redelivery
		}
		cur.Name = name
		return true
	})
}

// CorrectAnnouncement records the corrected day of org's announcement, from which it
// applies: what else the read model holds of org is kept, and the same day again (a
// redelivery) changes nothing.
func (a *App) CorrectAnnouncement(ctx context.Context, org string, on civil.Date) error {
	// An organisation never announced here has nothing to correct.
	return a.changeSignatory(ctx, org, false, func(cur *Signatory) bool {
		if cur.AnnouncedOn == on {
			return false
		}
		cur.AnnouncedOn = on
		return true
	})
}

// organisationWithdrawal is who the fund records as withdrawing an application
// because its organisation left the Commitment: the service, not the applicant.
const organisationWithdrawal = "system:organisation-withdrawal"

// WithdrawOrganisation records that an organisation withdrew from the Technician
// Commitment on the day given, then withdraws each of its applications still open
// (drafted, submitted or in assessment): none of them could ever be awarded or
// changed by its applicant, and an assessment would wait on them for ever. A decided
// application stays as it is: an award's report is still due.
//
// The organisation's applications are read from its list in the applications'
// views, a page at a time. The organisation is recorded as withdrawn first, so that
// no new draft or submission follows, and so that an application whose events the
// views had not yet taken is withdrawn when they are (see Project). Should a
// withdrawal fail, the error is returned and the event, redelivered, finishes the rest.
func (a *App) WithdrawOrganisation(ctx context.Context, org string, on civil.Date) error {
	s, err := a.recordSignatory(ctx, Signatory{ID: org, Withdrawn: true, WithdrawnOn: on})
	if err != nil {
		return err
	}
	q := ListQuery{Org: org, Limit: 200}
	for {
		page, err := a.views.List(ctx, q)
		if err != nil {
			return fmt.Errorf("list the applications of organisation %s: %w", org, err)
		}
		for _, id := range page.IDs {
			if err := a.withdrawForOrganisation(ctx, s, id); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		q.Cursor = page.NextCursor
	}
}

// withdrawForOrganisation withdraws application id, if it is still open, because its
// organisation s withdrew. It is decided on the application as it stands when
// appended, so a decision racing it leaves one or the other, never both; and an
// application already withdrawn is left, so that the organisation's withdrawal seen
// twice, or replayed after a restart, appends nothing more.
func (a *App) withdrawForOrganisation(ctx context.Context, s Signatory, id string) error {
	_, err := a.change(ctx, organisationWithdrawal, id, func(app *application.Application) ([]events.Payload, error) {
		if app.OrganisationID() != s.ID {
			return nil, nil // the view's word is checked against the application itself
		}
		return app.WithdrawForOrganisation(s.Name, s.WithdrawnOn), nil
	})
	if err != nil {
		return fmt.Errorf("withdraw application %s of withdrawn organisation %s: %w", id, s.ID, err)
	}
	return nil
}

// RecordContacts updates the organisation's nominated lead from a contacts change,
// which carries the contacts in full: an empty lead means none is recorded now. A
// change for an organisation not yet announced is kept for when it is.
func (a *App) RecordContacts(ctx context.Context, org, leadEmail string) error {
	return a.changeSignatory(ctx, org, true, func(cur *Signatory) bool {
		cur.NominatedLeadEmail = leadEmail
		return true
	})
}

// SweepReports marks reports due for funded projects whose window has ended, and
// overdue (once, so that their applicants are chased) those not in by the day after
// they were due. It returns how many it marked; running it twice marks nothing twice.
func (a *App) SweepReports(ctx context.Context) (int, error) {
	rounds, err := a.Rounds(ctx, "")
	if err != nil {
		return 0, err
	}
	today := civil.Of(a.clock.Now().In(round.London))
	marked := 0
	for _, r := range rounds {
		if !today.After(r.ProjectEnd) {
			// A report asked for, or chased, by a window since corrected to end later
			// moves to its new day here, if the correction did not move it.
			if err := a.moveReportDues(ctx, "system:report-sweep", r); err != nil {
				return marked, err
			}
			continue
		}
		// A report whose day the round's window no longer sets (its correction did not
		// move it, or an award raced it) is moved first, and asked for or chased by
		// its new day on a later sweep.
		mark := func(decide func(*application.Application) ([]events.Payload, error)) func(*application.Application) ([]events.Payload, error) {
			return func(app *application.Application) ([]events.Payload, error) {
				if moved, err := app.MoveReportDue(r, today); err != nil || len(moved) > 0 {
					return moved, err
				}
				return decide(app)
			}
		}
		ids, err := a.views.AwaitingReport(ctx, r.ID)
		if err != nil {
			return marked, err
		}
		n, err := a.markEach(ctx, ids, mark(func(app *application.Application) ([]events.Payload, error) { return app.MarkReportDue(r, today) }))
		marked += n
		if err != nil {
			return marked, err
		}
		// A report marked due on this sweep reaches this list on a later one; its due
		// day is a month away.
		if ids, err = a.views.ReportOutstanding(ctx, r.ID); err != nil {
			return marked, err
		}
		n, err = a.markEach(ctx, ids, mark(func(app *application.Application) ([]events.Payload, error) { return app.MarkReportOverdue(today) }))
		marked += n
		if err != nil {
			return marked, err
		}
	}
	return marked, nil
}

// markEach applies mark to each application of ids as the report sweep, and returns
// how many it changed (mark deciding nothing is no change).
func (a *App) markEach(ctx context.Context, ids []string, mark func(*application.Application) ([]events.Payload, error)) (int, error) {
	return a.markEachAs(ctx, "system:report-sweep", ids, mark)
}

// markEachAs is markEach by actor.
func (a *App) markEachAs(ctx context.Context, actor string, ids []string, mark func(*application.Application) ([]events.Payload, error)) (int, error) {
	marked := 0
	for _, id := range ids {
		appended := false
		if _, err := a.change(ctx, actor, id, func(app *application.Application) ([]events.Payload, error) {
			p, err := mark(app)
			appended = len(p) > 0
			return p, err
		}); err != nil {
			return marked, err
		}
		if appended {
			marked++
		}
	}
	return marked, nil
}

// unknownPartners are the organisation ids c gives its partners that the fund has not
// learned of from the signatory service (the lead's own is the domain's to refuse).
func (a *App) unknownPartners(ctx context.Context, c application.Content, lead string) ([]string, error) {
	var unknown []string
	for _, p := range c.Partners {
		if p.OrganisationID == "" || p.OrganisationID == lead || slices.Contains(unknown, p.OrganisationID) {
			continue
		}
		if _, ok, err := a.signatories.Recent(ctx, p.OrganisationID, recently); err != nil {
			return nil, err
		} else if !ok {
			unknown = append(unknown, p.OrganisationID)
		}
	}
	return unknown, nil
}

// eligibility is the organisation's standing for round r, read as it was up to
// maxAge ago (0: afresh).
func (a *App) eligibility(ctx context.Context, r round.Round, org string, maxAge time.Duration) (application.Eligibility, error) {
	s, ok, err := a.signatories.Recent(ctx, org, maxAge)
	if err != nil {
		return application.Eligibility{}, err
	}
	el := application.Eligibility{ActiveSignatory: ok && s.Kind == "signatory" && !s.Withdrawn, OrganisationName: s.Name,
		NominatedLeadEmail: s.NominatedLeadEmail, Contact: a.contact}
	// An announcement dated ahead makes a signatory on its day, as the directory
	// lists it from then: not before.
	if today := civil.Of(a.clock.Now().In(round.London)); el.ActiveSignatory && s.AnnouncedOn.After(today) {
		el.ActiveSignatory, el.AnnouncedFrom = false, s.AnnouncedOn
	}
	if r.ExcludePreviouslyFunded {
		prev, found, err := a.previousRound(ctx, r, maxAge)
		if err != nil {
			return el, err
		}
		if found {
			funded, err := a.views.FundedOrganisations(ctx, prev.ID)
			if err != nil {
				return el, err
			}
			lineage, err := a.lineage(ctx, org, maxAge)
			if err != nil {
				return el, err
			}
			el.FundedLastRound = slices.ContainsFunc(lineage, func(id string) bool { return slices.Contains(funded, id) })
		}
	}
	return el, nil
}

// lineageBound bounds how many records one organisation is followed back through:
// an organisation signs again a handful of times at most, and a loop in the
// records as the events told them must not hold a request.
const lineageBound = 16

// lineage is org and the records it succeeds, the nearest first: the same
// organisation, which withdrew and signed again, each as a new record (read as up
// to maxAge ago). The rule on the previous round's grantees holds them as one.
func (a *App) lineage(ctx context.Context, org string, maxAge time.Duration) ([]string, error) {
	out := []string{org}
	for len(out) < lineageBound {
		s, ok, err := a.signatories.Recent(ctx, out[len(out)-1], maxAge)
		if err != nil {
			return nil, err
		}
		if !ok || s.Succeeds == "" || slices.Contains(out, s.Succeeds) {
			break
		}
		out = append(out, s.Succeeds)
	}
	return out, nil
}

// fundedInFollowingRound names a round that follows r (r is its previous round),
// excludes the previous round's grantees and has funded org, or returns "". Rounds
// that overlap may award out of their order; the rule holds whichever award is first.
func (a *App) fundedInFollowingRound(ctx context.Context, r round.Round, org string) (string, error) {
	rounds, err := a.rounds(ctx, "", 0)
	if err != nil {
		return "", err
	}
	lineage, err := a.lineage(ctx, org, 0)
	if err != nil {
		return "", err
	}
	for _, n := range rounds {
		if !n.ExcludePreviouslyFunded || n.ID == r.ID {
			continue
		}
		if p, ok := round.Previous(rounds, n); !ok || p.ID != r.ID {
			continue
		}
		funded, err := a.views.FundedOrganisations(ctx, n.ID)
		if err != nil {
			return "", err
		}
		if slices.ContainsFunc(lineage, func(id string) bool { return slices.Contains(funded, id) }) {
			return n.Name, nil
		}
	}
	return "", nil
}

// previousRound is the round before r in the order the rounds really closed (see
// round.Previous).
func (a *App) previousRound(ctx context.Context, r round.Round, maxAge time.Duration) (round.Round, bool, error) {
	rounds, err := a.rounds(ctx, "", maxAge)
	if err != nil {
		return round.Round{}, false, err
	}
	p, ok := round.Previous(rounds, r)
	return p, ok, nil
}

func (a *App) own(ctx context.Context, by auth.Principal, id string, decide func(*application.Application, roundOf) ([]events.Payload, error)) (*application.Application, error) {
	if by.Role != auth.RoleApplicant {
		return nil, apperr.New(apperr.Forbidden, "only the applicant changes an application")
	}
	return a.withRound(ctx, by, id, decide)
}

func (a *App) ops(ctx context.Context, by auth.Principal, id string, decide func(*application.Application, roundOf) ([]events.Payload, error)) (*application.Application, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff assess applications")
	}
	return a.withRound(ctx, by, id, decide)
}

// roundOf returns the round of the application being decided on, loading it only
// for the decisions that need it.
type roundOf func() (round.Round, error)

// withRound runs decide on an application the caller may see, in one load of it and,
// if decide asks, one of its round.
func (a *App) withRound(ctx context.Context, by auth.Principal, id string, decide func(*application.Application, roundOf) ([]events.Payload, error)) (*application.Application, error) {
	var r round.Round
	return a.change(ctx, by.Actor(), id, func(app *application.Application) ([]events.Payload, error) {
		if !visible(by, app) {
			return nil, apperr.New(apperr.NotFound, "application %s not found", id)
		}
		return decide(app, func() (round.Round, error) {
			if r.ID == app.RoundID() {
				return r, nil
			}
			var err error
			r, err = a.Round(ctx, app.RoundID())
			return r, err
		})
	})
}

// visible says whether by may see app: ops see all, an applicant and the nominated
// lead (reading through the portal) their organisation's.
func visible(by auth.Principal, app *application.Application) bool {
	return app.Exists() && by.ActsFor(app.OrganisationID()) && (by.Role == auth.RoleOps || by.Role == auth.RoleApplicant || by.Role == auth.RoleLead)
}

func (a *App) change(ctx context.Context, actor, id string, decide func(*application.Application) ([]events.Payload, error)) (*application.Application, error) {
	app, _, err := store.Change(ctx, a.events, store.Command{AggregateType: application.AggregateType, AggregateID: id, Actor: actor},
		func(history []events.Envelope) (*application.Application, error) { return rebuild(id, history) }, decide)
	return app, err
}

// rebuild replays an application's history. Any other aggregate's history (an id
// from another kind of path) is no application.
func rebuild(id string, history []events.Envelope) (*application.Application, error) {
	if len(history) > 0 && history[0].AggregateType != application.AggregateType {
		history = nil
	}
	return application.Rebuild(id, history)
}

func (a *App) load(ctx context.Context, id string) (*application.Application, error) {
	history, err := a.events.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	return rebuild(id, history)
}

func (a *App) ledger(ctx context.Context, actor string, r round.Round, decide func(*ledger.Ledger) ([]events.Payload, error)) error {
	_, err := a.ledgerAppend(ctx, actor, r, decide)
	return err
}

// ledgerAppend runs decide on round r's ledger as it stands and appends what it
// decides, as actor, returning the entries appended.
func (a *App) ledgerAppend(ctx context.Context, actor string, r round.Round, decide func(*ledger.Ledger) ([]events.Payload, error)) ([]events.Envelope, error) {
	return a.events.Execute(ctx, store.Command{AggregateType: ledger.AggregateType, AggregateID: ledger.ID(r.ID), Actor: actor, MaxAttempts: ledgerAttempts,
		Decide: func(history []events.Envelope) ([]events.Payload, error) {
			l, err := ledger.Rebuild(r.BudgetPence, history)
			if err != nil {
				return nil, err
			}
			return decide(l)
		}})
}
