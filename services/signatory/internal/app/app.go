// Package app holds the signatory service's commands and queries: each command loads
// an organisation from its events, lets the domain decide, and appends what it decided;
// queries read the organisation itself or the projected views.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/inwords"
	"github.com/itss/techcommit/libs/precondition"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

// EventStore is where organisations' events live (see store.EventStore).
type EventStore interface {
	Execute(ctx context.Context, cmd store.Command) ([]events.Envelope, error)
	Load(ctx context.Context, aggregateID string) ([]events.Envelope, error)
	// LoadMany loads several aggregates at once (an aggregate with no events is left
	// out).
	LoadMany(ctx context.Context, aggregateIDs []string) (map[string][]events.Envelope, error)
	// PreloadIDs loads these aggregates into memory at start (see Warm).
	PreloadIDs(ctx context.Context, aggregateIDs []string) error
}

// Views answers list queries from the projection of organisations.
type Views interface {
	Save(ctx context.Context, o *organisation.Organisation) error
	List(ctx context.Context, q ListQuery) (Page[Summary], error)
	Directory(ctx context.Context, q DirectoryQuery) (Page[DirectoryEntry], error)
	// Overdue counts the organisations whose open obligation is overdue on today.
	Overdue(ctx context.Context, today civil.Date) (int, error)
	// Newest returns the ids of up to n organisations, the newest first.
	Newest(ctx context.Context, n int) ([]string, error)
	// SucceededBy returns the id of the organisation announced as succeeding id, or "".
	SucceededBy(ctx context.Context, id string) (string, error)
	// ClaimSuccession claims successor, at now, as the one record to succeed
	// predecessor, and returns the claim that stands: successor's, or another record's
	// made first.
	ClaimSuccession(ctx context.Context, predecessor, successor string, now time.Time) (SuccessionClaim, error)
	// TakeOverSuccession claims successor, at now, in place of the claim from, which
	// was abandoned, and returns the claim that stands: successor's, or another
	// record's that took it over first.
	TakeOverSuccession(ctx context.Context, predecessor string, from SuccessionClaim, successor string, now time.Time) (SuccessionClaim, error)
}

// SuccessionClaim is a claim of a record to succeed one that withdrew: the record,
// when it was claimed (zero for a claim made before claims were dated), and its
// place among the claims of that succession (one abandoned is followed by another).
type SuccessionClaim struct {
	Successor string
	At        time.Time
	N         int
}

// SuccessionLease is how long a claim to succeed a record stands for a record whose
// announcement is not stored: the time its announcement may still be on its way (a
// request is cut off well within it). After it, a claim whose record was never
// announced as the successor was abandoned (the process stopped between the claim
// and the announcement, or ops announced that record without naming a
// predecessor), and another record may take it over.
const SuccessionLease = 2 * time.Minute

// App is the signatory service's use cases.
type App struct {
	events  EventStore
	views   Views
	policy  organisation.Policy
	clock   clock.Clock
	erasure *Erasure // see UseErasure
}

// New checks its dependencies and returns the App. The clock says what day it is in
// London: which dates are in the future, who is listed, what is overdue.
func New(es EventStore, views Views, policy organisation.Policy, clk clock.Clock) (*App, error) {
	if es == nil || views == nil || clk == nil {
		return nil, errors.New("app: event store, views and clock are required")
	}
	return &App{events: es, views: views, policy: policy, clock: clk}, nil
}

// preloaded bounds how many organisations Warm loads: the Commitment has a few
// hundred (115+ institutions), which fit whole; an organisation's events as stored
// are about 5 KiB, so the bound keeps what a start holds to a few MiB of the
// service's 40 MiB idle target, and leaves most of what the event store remembers
// (4,096 aggregates) for later loads.
const preloaded = 512

// Warm loads the newest organisations into the event store's memory, with the keys
// of the people they name, while the service starts and before it says it is ready:
// one organisation or its obligations read after a start then cost what they do
// later (one read past the last commit), not every commit and every person's key,
// from the first request.
func (a *App) Warm(ctx context.Context) error {
	ids, err := a.views.Newest(ctx, preloaded)
	if err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	if err := a.events.PreloadIDs(ctx, ids); err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	return nil
}

// Today is the date in London now: the day every date rule and every obligation's
// standing is judged on.
func (a *App) Today() civil.Date { return organisation.DateOf(a.clock.Now()) }

// CreateOrganisation records an enquiry from a new organisation (ops only).
func (a *App) CreateOrganisation(ctx context.Context, by auth.Principal, q organisation.Enquiry) (*organisation.Organisation, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff record enquiries")
	}
	id := uuid.Must(uuid.NewV7()).String()
	return a.change(ctx, by.Actor(), "", id, func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.ReceiveEnquiry(q, a.Today())
	})
}

// RecordMeeting records ITSS's meeting with the organisation.
func (a *App) RecordMeeting(ctx context.Context, by auth.Principal, id string, on civil.Date, notes string) (*organisation.Organisation, error) {
	return a.opsChange(ctx, by, id, func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.RecordMeeting(on, notes, a.Today())
	})
}

// ReceiveForm records the signed form.
func (a *App) ReceiveForm(ctx context.Context, by auth.Principal, id string, signedOn civil.Date, c organisation.Contacts) (*organisation.Organisation, error) {
	return a.opsChange(ctx, by, id, func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.ReceiveForm(signedOn, c, a.Today())
	})
}

// Announce records the joint announcement and starts the obligation clock.
func (a *App) Announce(ctx context.Context, by auth.Principal, id string, on civil.Date) (*organisation.Organisation, error) {
	return a.AnnounceSucceeding(ctx, by, id, on, "")
}

// AnnounceSucceeding records the joint announcement of an organisation that succeeds
// another, succeeds ("" for none): one that withdrew and signed again as this new
// record, which the rules that follow an organisation then hold as one with it.
// Whether another record already succeeds it is read from the views, and, since
// they follow the announcements only within moments, claimed (ClaimSuccession) once
// the announcement is decided, before it is stored: of two announcements of
// successors of one organisation made at once, one is stored and the other refused.
// A claim whose announcement was then never stored (the process stopped between the
// two) holds the predecessor for that record, whose announcement sent again goes
// through; another record's is refused naming it for SuccessionLease, and then takes
// the abandoned claim over (TakeOverSuccession), so that one failed announcement does
// not bar the organisation's real successor for good.
func (a *App) AnnounceSucceeding(ctx context.Context, by auth.Principal, id string, on civil.Date, succeeds string) (*organisation.Organisation, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff record onboarding steps")
	}
	var predecessor *organisation.Organisation
	var succeededBy string
	if succeeds != "" {
		var err error
		if predecessor, err = a.load(ctx, succeeds); err != nil {
			return nil, err
		}
		if succeededBy, err = a.views.SucceededBy(ctx, succeeds); err != nil {
			return nil, err
		}
	}
	return a.opsChange(ctx, by, id, func(o *organisation.Organisation) ([]events.Payload, error) {
		out, err := o.AnnounceSucceeding(on, predecessor, succeededBy, a.policy, a.Today())
		if err != nil || succeeds == "" {
			return out, err
		}
		return out, a.claimSuccession(ctx, succeeds, id)
	})
}

// RecordSuccession records, after its announcement, the record an organisation
// succeeds (ops only): one that withdrew and signed again as this record, which the
// announcement did not name. It is decided as at the announcement (the views say
// whether another record succeeds it already), and claimed the same way before it is
// stored, so that of a later recording and an announcement, or two later
// recordings, naming one predecessor at once, one is stored and the other refused.
func (a *App) RecordSuccession(ctx context.Context, by auth.Principal, id, succeeds string) (*organisation.Organisation, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff record the record an organisation succeeds")
	}
	predecessor, err := a.load(ctx, succeeds)
	if err != nil {
		return nil, err
	}
	succeededBy, err := a.views.SucceededBy(ctx, succeeds)
	if err != nil {
		return nil, err
	}
	return a.opsChange(ctx, by, id, func(o *organisation.Organisation) ([]events.Payload, error) {
		out, err := o.RecordSuccession(predecessor, succeededBy)
		if err != nil || len(out) == 0 {
			return out, err
		}
		return out, a.claimSuccession(ctx, succeeds, id)
	})
}

// claimSuccession claims id as the one record to succeed predecessor, once its
// succession is decided and before it is stored (ClaimSuccession): the views follow
// the records only within moments, so two records naming one predecessor at once
// both read that none succeeds it yet. A claim whose succession was then never
// stored (the process stopped between the two) holds the predecessor for that
// record, whose request sent again goes through; another record's is refused naming
// it for SuccessionLease, and then takes the abandoned claim over
// (TakeOverSuccession), so that one failed request does not bar the organisation's
// real successor for good. The refusal names succeeds.
func (a *App) claimSuccession(ctx context.Context, predecessor, id string) error {
	now := a.clock.Now()
	claim, err := a.views.ClaimSuccession(ctx, predecessor, id, now)
	if err != nil || claim.Successor == id {
		return err
	}
	// Another record's claim stands while its succession may be on its way, and for
	// good once it is stored naming the predecessor.
	other, err := a.load(ctx, claim.Successor)
	if err != nil {
		return err
	}
	if other.Succeeds() == predecessor { // its succession is stored
		return apperr.Field("succeeds", "organisation %s is already succeeded by organisation %s, recorded as its successor a moment ago", predecessor, claim.Successor)
	}
	if until := claim.At.Add(SuccessionLease); now.Before(until) {
		return apperr.Field("succeeds", "organisation %s is being recorded as the successor of organisation %s at this moment; if that does not go through, send this one again in %s",
			claim.Successor, predecessor, inwords.Duration(until.Sub(now)))
	}
	if claim, err = a.views.TakeOverSuccession(ctx, predecessor, claim, id, now); err != nil || claim.Successor == id {
		return err
	}
	return apperr.Field("succeeds", "organisation %s is already succeeded by organisation %s, recorded as its successor a moment ago", predecessor, claim.Successor)
}

// SucceededBy returns the id of the organisation that succeeds id, or "" (ops only:
// to a lead it would name another organisation's record).
func (a *App) SucceededBy(ctx context.Context, by auth.Principal, id string) (string, error) {
	if !by.IsOps() {
		return "", nil
	}
	return a.views.SucceededBy(ctx, id)
}

// Withdraw records the organisation's withdrawal.
func (a *App) Withdraw(ctx context.Context, by auth.Principal, id string, on civil.Date, reason, initiatedBy string) (*organisation.Organisation, error) {
	return a.opsChange(ctx, by, id, func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.Withdraw(on, reason, initiatedBy, a.Today())
	})
}

// ChangeContacts replaces the contacts: ops for any organisation, a lead for their own.
// match is the organisation's versions the caller read (If-Match): the contacts are
// replaced only if it is still at one of them. The check is made
// in the command that appends, so two writers that read the same version cannot both
// pass it: the second to append loses on the store's unique version, and its retry
// decides again on the organisation the first wrote, which is at another version.
func (a *App) ChangeContacts(ctx context.Context, by auth.Principal, id string, match precondition.Versions, c organisation.Contacts) (*organisation.Organisation, error) {
	if !by.ActsFor(id) {
		return nil, notFound(id)
	}
	return a.changeAt(ctx, by.Actor(), id, match, "change", func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.ChangeContacts(c)
	})
}

// CorrectDetails replaces the organisation's details (ops only): a slip in the name
// the enquiry recorded, an institution renamed, a website moved. match is the
// organisation's versions the caller read (If-Match), checked in the command that
// appends, as ChangeContacts checks it.
func (a *App) CorrectDetails(ctx context.Context, by auth.Principal, id string, match precondition.Versions, d organisation.Details) (*organisation.Organisation, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff correct an organisation's details")
	}
	return a.changeAt(ctx, by.Actor(), id, match, "correction", func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.CorrectDetails(d)
	})
}

// RecordSubmission closes an obligation from the review service's "submission
// received" event. causationID is the event's id, so a redelivery appends nothing.
// The date of receipt is the London date of the time it was received.
func (a *App) RecordSubmission(ctx context.Context, causationID string, s events.SubmissionReceivedV1) error {
	_, err := a.change(ctx, "system:review", causationID, s.OrganisationID, func(o *organisation.Organisation) ([]events.Payload, error) {
		if !o.Exists() {
			return nil, nil // not ours to know: nothing to close
		}
		return o.RecordSubmission(s.ObligationID, s.SubmissionID, organisation.DateOf(s.ReceivedAt), a.policy)
	})
	return err
}

// Get returns one organisation: ops see any, a lead only their own.
func (a *App) Get(ctx context.Context, by auth.Principal, id string) (*organisation.Organisation, error) {
	if !by.ActsFor(id) {
		return nil, notFound(id)
	}
	o, err := a.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !o.Exists() {
		return nil, notFound(id)
	}
	return o, nil
}

// notFound is the answer about an organisation that does not exist and, to a lead,
// about another organisation (docs/API.md: another organisation's objects are 404,
// so that the answer does not tell one from the other). Which roles may ask at all
// is the operation's x-roles, refused with 403 before this.
func notFound(id string) error {
	return apperr.New(apperr.NotFound, "organisation %s not found", id)
}

// History pages through the organisation's events, oldest first: who changed what,
// and when (ops only). The cursor is the version of the previous page's last event.
func (a *App) History(ctx context.Context, by auth.Principal, id string, q PageQuery) (Page[events.Envelope], error) {
	if !by.IsOps() {
		return Page[events.Envelope]{}, apperr.New(apperr.Forbidden, "only ITSS operations staff read the audit trail")
	}
	after, err := afterCursor(q.Cursor)
	if err != nil {
		return Page[events.Envelope]{}, err
	}
	history, err := a.events.Load(ctx, id)
	if err != nil {
		return Page[events.Envelope]{}, err
	}
	if len(history) == 0 {
		return Page[events.Envelope]{}, apperr.New(apperr.NotFound, "organisation %s not found", id)
	}
	// Versions run 1, 2, ... with no gap, so the page starts at index after.
	return pageOf(history, after, q.Limit), nil
}

// Obligations pages through the organisation's obligations, oldest first, with the
// day they stand on: ops see any organisation's, a lead only their own.
func (a *App) Obligations(ctx context.Context, by auth.Principal, id string, q PageQuery) (Page[organisation.Obligation], civil.Date, error) {
	after, err := afterCursor(q.Cursor)
	if err != nil {
		return Page[organisation.Obligation]{}, civil.Date{}, err
	}
	o, err := a.Get(ctx, by, id)
	if err != nil {
		return Page[organisation.Obligation]{}, civil.Date{}, err
	}
	return pageOf(o.Obligations(), after, q.Limit), a.Today(), nil
}

// List pages through organisations (ops only).
func (a *App) List(ctx context.Context, by auth.Principal, q ListQuery) (Page[Summary], error) {
	if !by.IsOps() {
		return Page[Summary]{}, apperr.New(apperr.Forbidden, "only ITSS operations staff list organisations")
	}
	return a.views.List(ctx, q)
}

// Directory pages through the public directory: the organisations announced on or
// before today in London, so that one announced ahead appears on its day without an
// event to say so.
func (a *App) Directory(ctx context.Context, q DirectoryQuery) (Page[DirectoryEntry], error) {
	q.Today = a.Today()
	return a.views.Directory(ctx, q)
}

// OverdueObligations counts the organisations' obligations overdue today, for the
// tc_obligations_overdue gauge.
func (a *App) OverdueObligations(ctx context.Context) (int, error) {
	return a.views.Overdue(ctx, a.Today())
}

// Project brings the view of one organisation up to date with its events.
func (a *App) Project(ctx context.Context, id string) error {
	o, err := a.load(ctx, id)
	if err != nil {
		return err
	}
	if !o.Exists() {
		return nil
	}
	return a.views.Save(ctx, o)
}

func (a *App) opsChange(ctx context.Context, by auth.Principal, id string, decide func(*organisation.Organisation) ([]events.Payload, error)) (*organisation.Organisation, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff record onboarding steps")
	}
	return a.change(ctx, by.Actor(), "", id, decide)
}

// changeAt is change for a command that holds to the organisation's versions the
// caller read (If-Match, match): the check is made in the command that appends, so
// two writers that read the same version cannot both pass it (see ChangeContacts).
// what names the caller's request in the refusal ("send your change").
func (a *App) changeAt(ctx context.Context, actor, id string, match precondition.Versions, what string, decide func(*organisation.Organisation) ([]events.Payload, error)) (*organisation.Organisation, error) {
	return a.change(ctx, actor, "", id, func(o *organisation.Organisation) ([]events.Payload, error) {
		if !o.Exists() {
			return nil, apperr.New(apperr.NotFound, "organisation %s not found", id)
		}
		if !match.Allows(o.Version()) {
			return nil, apperr.New(apperr.PreconditionFailed,
				"organisation %s %s: read it again and send your %s with its new ETag", id, match.Mismatch(o.Version()), what)
		}
		return decide(o)
	})
}

// change runs one command on one organisation and returns it as it is afterwards.
func (a *App) change(ctx context.Context, actor, causation, id string, decide func(*organisation.Organisation) ([]events.Payload, error)) (*organisation.Organisation, error) {
	o, _, err := store.Change(ctx, a.events, store.Command{AggregateType: organisation.AggregateType, AggregateID: id, Actor: actor, CausationID: causation},
		func(history []events.Envelope) (*organisation.Organisation, error) {
			return organisation.Rebuild(id, history)
		}, decide)
	return o, err
}

func (a *App) load(ctx context.Context, id string) (*organisation.Organisation, error) {
	history, err := a.events.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	return organisation.Rebuild(id, history)
}
