// Package app is the review service's use cases: submissions by institutions, the
// reviewer pool, rounds with automatic and manual assignment, reviews, and released
// feedback.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // static images have no zoneinfo; obligation windows are in Europe/London

	"github.com/google/uuid"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/precondition"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/review/internal/domain/assign"
	"github.com/itss/techcommit/services/review/internal/domain/placement"
	"github.com/itss/techcommit/services/review/internal/domain/round"
	"github.com/itss/techcommit/services/review/internal/domain/submission"
)

// EventStore is where submissions, reviewers and rounds live.
type EventStore interface {
	Execute(ctx context.Context, cmd store.Command) ([]events.Envelope, error)
	Load(ctx context.Context, aggregateID string) ([]events.Envelope, error)
	LoadByType(ctx context.Context, aggregateType string) ([]events.Envelope, error)
	LoadMany(ctx context.Context, aggregateIDs []string) (map[string][]events.Envelope, error)
	// LoadRecent is Load, answered from memory when this process read the aggregate
	// within maxAge (what it returns may be that far behind other replicas' changes).
	LoadRecent(ctx context.Context, aggregateID string, maxAge time.Duration) ([]events.Envelope, error)
	// IDsOfType lists a catalogued type's aggregate ids in id order, so that a page
	// of them can be loaded without loading them all.
	IDsOfType(ctx context.Context, aggregateType string) ([]string, error)
	// LoadThrough is Load when the aggregate is known to have reached version (the
	// projection's case), answered from memory when it has.
	LoadThrough(ctx context.Context, aggregateID string, version int) ([]events.Envelope, error)
	// LoadManyThrough is LoadThrough for several aggregates (id → version), a few
	// at a time: a list whose entries name their versions.
	LoadManyThrough(ctx context.Context, through map[string]int) (map[string][]events.Envelope, error)
	// Preload loads up to limit aggregates of these types into memory at start.
	Preload(ctx context.Context, limit int, aggregateTypes ...string) error
}

// Organisation is what the review service knows of an organisation, from the
// signatory service's events.
type Organisation struct {
	ID   string
	Name string
	// Kind is signatory or supporter ("" when recorded before the kind was kept).
	Kind            string
	Announced       bool
	Withdrawn       bool
	LeadName        string
	LeadEmail       string
	ObligationID    string
	ObligationKind  string
	ObligationCycle int
	// WindowOpens is the first day (Europe/London) the open obligation may be met.
	WindowOpens civil.Date
	// AnnouncedOn is the announcement's date, which may lie ahead: the organisation
	// is a signatory from that day (zero when recorded before the date was kept).
	AnnouncedOn civil.Date
	// Succeeds is the record this organisation succeeds, and SucceededBy the one
	// that succeeds it: an organisation that withdrew and signed again is a new
	// record, and the conflict rules hold its records as one organisation.
	Succeeds, SucceededBy string
}

// Organisations is that read model.
type Organisations interface {
	Get(ctx context.Context, id string) (Organisation, bool, error)
	Put(ctx context.Context, o Organisation) error
	// Withdrawn lists the organisations that have withdrawn, by id.
	Withdrawn(ctx context.Context) (map[string]bool, error)
	// Names lists every organisation's name, by id.
	Names(ctx context.Context) (map[string]string, error)
	// Forget blanks the person whose address has digest subject wherever an
	// organisation names them. Run again, it finds nothing to do.
	Forget(ctx context.Context, subject string) error
}

// App is the review service.
type App struct {
	events EventStore
	orgs   Organisations
	read   ReadModels
	clock  clock.Clock
	// wake tells WatchDeadlines that a round changed.
	wake chan struct{}

	// rounds holds the latest round each command or read rebuilt, which the next one
	// continues from instead of replaying the round's every event (see rebuildRound).
	mu     sync.Mutex
	rounds map[string]*round.Round

	// names holds organisations' names for currentName.
	names names
}

// ListedTypes are the aggregate types the review service lists (see store.EventStore.Catalogue).
var ListedTypes = []string{submission.AggregateType, reviewerType, round.AggregateType}

// New checks its dependencies.
func New(es EventStore, orgs Organisations, read ReadModels, clk clock.Clock) (*App, error) {
	if es == nil || orgs == nil || read == nil || clk == nil {
		return nil, errors.New("app: event store, organisations, read models and clock are required")
	}
	return &App{events: es, orgs: orgs, read: read, clock: clk, wake: make(chan struct{}, 1), rounds: map[string]*round.Round{}}, nil
}

// ForgetInOrganisations blanks an erased person (by the digest of their address) in
// the organisations that name them. Only the consumer of the signatory service's
// events calls it, in the order of those events: it is the read model's one writer,
// and the erasure is one more of its events. A separate writer, reading and
// replacing the same documents beside it, lost the change it raced (a withdrawal, a
// new lead) or wrote the erased lead back.
func (a *App) ForgetInOrganisations(ctx context.Context, subject string) error {
	return a.orgs.Forget(ctx, subject)
}

// UpdateOrganisation changes the read model from a signatory event.
func (a *App) UpdateOrganisation(ctx context.Context, id string, f func(*Organisation)) error {
	o, ok, err := a.orgs.Get(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		o = Organisation{ID: id}
	}
	f(&o)
	err = a.orgs.Put(ctx, o)
	// The name this replica holds goes once the write is made: a read begun before it
	// may have found the old name, and is not kept (names.put).
	a.names.drop(id)
	return err
}

// --- submissions ---

// submissionSpace derives a submission's id from its obligation.
var submissionSpace = uuid.MustParse("3e0c5b7a-1f55-4c8e-9a2d-7b6f0d4c2e91")

// SubmissionID is the id of the one submission that answers an obligation, so that
// two drafts for one obligation, however concurrent, collide on the event store's
// unique index instead of both being created.
func SubmissionID(obligation string) string {
	return uuid.NewSHA1(submissionSpace, []byte(obligation)).String()
}

// DraftSubmission starts the submission for an organisation's open obligation: a lead
// for their own organisation, ops for the one they name.
func (a *App) DraftSubmission(ctx context.Context, by auth.Principal, org string, c events.SubmissionContent) (*submission.Submission, error) {
	switch {
	case by.IsOps() && org == "":
		return nil, apperr.Field("organisation_id", "name the organisation you are acting for")
	case by.IsOps():
	case by.Role == auth.RoleLead && (org == "" || org == by.Org) && by.Org != "":
		org = by.Org
	case by.Role == auth.RoleLead:
		return nil, apperr.New(apperr.Forbidden, "a lead submits only for their own organisation")
	default:
		return nil, apperr.New(apperr.Forbidden, "only an organisation's lead or ITSS operations staff submit")
	}
	o, ok, err := a.orgs.Get(ctx, org)
	if err != nil {
		return nil, err
	}
	if !ok || !o.Announced || o.Withdrawn {
		return nil, apperr.New(apperr.Forbidden, "only announced organisations that have not withdrawn may submit")
	}
	if o.ObligationID == "" {
		return nil, apperr.New(apperr.Conflict, "organisation %s has no open obligation to submit for", org)
	}
	if err := submission.CheckShape(c); err != nil {
		return nil, err
	}
	id := SubmissionID(o.ObligationID)
	return a.changeSubmission(ctx, by.Actor(), id, func(s *submission.Submission) ([]events.Payload, error) {
		switch {
		case s.Exists() && s.Status() != submission.StatusDraft && o.ObligationKind == events.ObligationSelfAssessmentAndActionPlan:
			// The obligation is met, and a signatory's repeats: the signatory service
			// opens the next when it hears of the receipt, and this service hears of
			// that a moment later.
			return nil, apperr.New(apperr.Unavailable, "organisation %s's submission for obligation %s is in, and its next obligation is not known here yet: try again in a moment", org, o.ObligationID)
		case s.Exists():
			return nil, apperr.New(apperr.Conflict, "the submission for this obligation exists already: /v1/submissions/%s", id)
		}
		return s.Draft(org, o.ObligationID, o.ObligationKind, o.ObligationCycle, c)
	})
}

// UpdateSubmission revises a draft. match is the versions the caller read
// (If-Match): the draft is revised only if it is still at one of them. The check is
// made in the command that appends, so two writers that read the same version cannot
// both pass it: the second to append loses on the store's unique version, and its
// retry decides again on the draft the first wrote, which is at another version.
func (a *App) UpdateSubmission(ctx context.Context, by auth.Principal, id string, match precondition.Versions, c events.SubmissionContent) (*submission.Submission, error) {
	cur, err := a.Submission(ctx, by, id)
	if err != nil {
		return nil, err
	}
	if err := a.notWithdrawn(ctx, cur.OrganisationID(), "changed"); err != nil {
		return nil, err
	}
	return a.changeSubmission(ctx, by.Actor(), id, func(s *submission.Submission) ([]events.Payload, error) {
		if !match.Allows(s.Version()) {
			return nil, apperr.New(apperr.PreconditionFailed,
				"submission %s %s: read it again and send your change with its new ETag", id, match.Mismatch(s.Version()))
		}
		return s.Update(c)
	})
}

// notWithdrawn refuses a change to a draft of an organisation that has withdrawn:
// its obligations lapsed with it, and a submission of it could never be reviewed.
func (a *App) notWithdrawn(ctx context.Context, org, what string) error {
	o, _, err := a.orgs.Get(ctx, org)
	if err != nil {
		return err
	}
	if o.Withdrawn {
		return withdrawnDraft(what)
	}
	return nil
}

func withdrawnDraft(what string) error {
	return apperr.New(apperr.Forbidden, "the organisation has withdrawn from the Commitment: its obligations lapsed, and its draft can no longer be %s", what)
}

// Submit submits a complete draft; its receipt closes the obligation in the signatory service.
func (a *App) Submit(ctx context.Context, by auth.Principal, id string) (*submission.Submission, error) {
	cur, err := a.Submission(ctx, by, id)
	if err != nil {
		return nil, err
	}
	o, _, err := a.orgs.Get(ctx, cur.OrganisationID())
	if err != nil {
		return nil, err
	}
	return a.changeSubmission(ctx, by.Actor(), id, func(s *submission.Submission) ([]events.Payload, error) {
		if s.Status() == submission.StatusSubmitted {
			return nil, nil
		}
		if o.Withdrawn {
			return nil, withdrawnDraft("submitted")
		}
		now := a.clock.Now()
		if o.ObligationID == s.ObligationID() && !o.WindowOpens.IsZero() && civil.Of(now.In(london)).Before(o.WindowOpens) {
			return nil, apperr.New(apperr.Conflict, "the window for this submission opens on %s; it can be submitted from then (the draft is kept)",
				o.WindowOpens.InWords())
		}
		return s.Submit(now)
	})
}

// london is where the Commitment's dates are counted: an obligation's window opens at
// the start of its day in the UK.
var london = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err) // time/tzdata is linked into the binary, so this cannot fail
	}
	return l
}()

// Submission returns one submission to ops or its organisation's lead.
func (a *App) Submission(ctx context.Context, by auth.Principal, id string) (*submission.Submission, error) {
	s, err := a.loadSubmission(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.Exists() || !(by.IsOps() || (by.Role == auth.RoleLead && by.Org == s.OrganisationID())) {
		return nil, apperr.New(apperr.NotFound, "submission %s not found", id)
	}
	return s, nil
}

// Previous is the organisation's last submission before this one, with its feedback,
// so a new cycle shows what was planned and what reviewers said.
type Previous struct {
	Submission *submission.Submission
	Feedback   *round.Feedback
}

// Feedback returns a submission's released feedback, to ops or its organisation's lead.
func (a *App) Feedback(ctx context.Context, by auth.Principal, id string) (round.Feedback, error) {
	if _, err := a.Submission(ctx, by, id); err != nil {
		return round.Feedback{}, err
	}
	e, ok, err := a.read.Submission(ctx, id)
	if err != nil {
		return round.Feedback{}, err
	}
	if !ok || !e.Released {
		return round.Feedback{}, apperr.New(apperr.NotFound, "no feedback on %s has been released yet", id)
	}
	return a.feedbackOf(ctx, e)
}

// --- reviewers ---

// RegisterReviewer adds a volunteer to the pool (ops), and returns the record with
// its version (its ETag, which an update's If-Match names). Their id is the subject
// of their token, so their own calls find their assignments.
func (a *App) RegisterReviewer(ctx context.Context, by auth.Principal, p events.ReviewerRegisteredV1) (Member, error) {
	if !by.IsOps() {
		return Member{}, apperr.New(apperr.Forbidden, "only ITSS operations staff manage the reviewer pool")
	}
	p.Name = strings.TrimSpace(p.Name)
	var ps apperr.Problems
	checkReviewer(&ps, p.ReviewerID, p.Name, p.OrganisationID, p.Capacity, p.Conflicts)
	// The identifier outlives an erasure in the clear (the aggregate's id, the token's
	// subject, the key of the assignments everywhere): an address there would too.
	// Records registered before keep theirs.
	if strings.Contains(p.ReviewerID, "@") {
		ps.Add("reviewer_id", "must not be an email address: it is kept after the reviewer is erased at their request, so give one that names no one, like rev-0142")
	}
	if err := a.checkReviewersOrganisation(ctx, &ps, p.OrganisationID); err != nil {
		return Member{}, err
	}
	if err := a.checkConflicts(ctx, &ps, p.Conflicts, nil); err != nil {
		return Member{}, err
	}
	if err := ps.Err(); err != nil {
		return Member{}, err
	}
	// The address is claimed (a write) only for a record that is otherwise valid.
	if err := a.claimAddress(ctx, by.Actor(), p.ReviewerID, p.Email, 0); err != nil {
		return Member{}, err
	}
	appended, err := a.events.Execute(ctx, store.Command{AggregateType: reviewerType, AggregateID: reviewerAggregate(p.ReviewerID), Actor: by.Actor(),
		Decide: func(h []events.Envelope) ([]events.Payload, error) {
			if len(h) > 0 {
				return nil, apperr.New(apperr.Conflict, "reviewer %s is already in the pool", p.ReviewerID)
			}
			return []events.Payload{p}, nil
		}})
	if err != nil {
		return Member{}, err
	}
	return Member{Reviewer: reviewerOf(events.ReviewerUpdatedV1(p)), Version: lastVersion(appended)}, nil
}

// lastVersion is the version of a history's latest event (0 for none).
func lastVersion(h []events.Envelope) int {
	if len(h) == 0 {
		return 0
	}
	return h[len(h)-1].Version
}

// UpdateReviewer replaces a pool member's record, and returns it with its new
// version; match is the versions the caller read (If-Match), checked in
// the command that appends, so that two people changing one record from forms
// opened together cannot both be applied. It applies to assignments made from then
// on (training, capacity, themes, conflicts); a change that would rule out an
// assignment in force is refused (keepsAssignments), and one made while the
// assignment was being made takes the reviewer off it (takeOffIneligible).
func (a *App) UpdateReviewer(ctx context.Context, by auth.Principal, p events.ReviewerUpdatedV1, match precondition.Versions) (Member, error) {
	if !by.IsOps() {
		return Member{}, apperr.New(apperr.Forbidden, "only ITSS operations staff manage the reviewer pool")
	}
	p.Name = strings.TrimSpace(p.Name)
	var ps apperr.Problems
	checkReviewer(&ps, p.ReviewerID, p.Name, p.OrganisationID, p.Capacity, p.Conflicts)
	// A change of organisation is checked as a registration is; a record that keeps its
	// organisation may still be changed after the organisation withdrew (its capacity
	// set to 0, say).
	current, at, ok, err := a.loadReviewerAt(ctx, p.ReviewerID)
	if err != nil {
		return Member{}, err
	}
	if !ok || current.Org != p.OrganisationID {
		if err := a.checkReviewersOrganisation(ctx, &ps, p.OrganisationID); err != nil {
			return Member{}, err
		}
	}
	if err := a.checkConflicts(ctx, &ps, p.Conflicts, current.Conflicts); err != nil {
		return Member{}, err
	}
	if err := ps.Err(); err != nil {
		return Member{}, err
	}
	// The conflict rules hold an organisation's records as one (see records).
	will := reviewerOf(p)
	if err := a.records(ctx, &will); err != nil {
		return Member{}, err
	}
	if ok {
		if err := a.records(ctx, &current); err != nil {
			return Member{}, err
		}
		if err := a.keepsAssignments(ctx, current, will); err != nil {
			return Member{}, err
		}
	}
	if ok && !sameAddress(current.Email, p.Email) {
		if err := a.claimAddress(ctx, by.Actor(), p.ReviewerID, p.Email, at); err != nil {
			return Member{}, err
		}
	}
	appended, err := a.events.Execute(ctx, store.Command{AggregateType: reviewerType, AggregateID: reviewerAggregate(p.ReviewerID), Actor: by.Actor(),
		Decide: func(h []events.Envelope) ([]events.Payload, error) {
			if len(h) == 0 {
				return nil, apperr.New(apperr.NotFound, "no reviewer %s in the pool", p.ReviewerID)
			}
			if at := lastVersion(h); !match.Allows(at) {
				return nil, apperr.New(apperr.PreconditionFailed,
					"reviewer %s %s: read it again and send your change with its new ETag", p.ReviewerID, match.Mismatch(at))
			}
			return []events.Payload{p}, nil
		}})
	if err != nil {
		return Member{}, err
	}
	// An assignment decided on the record before this change, while it was being
	// made, was not there for keepsAssignments to see (see stillEligible).
	if err := a.takeOffIneligible(ctx, by.Actor(), current, will); err != nil {
		return Member{}, err
	}
	return Member{Reviewer: reviewerOf(p), Version: lastVersion(appended)}, nil
}

// takeOffIneligible takes reviewer will, as the change from was just recorded them,
// off what they may no longer review in the open rounds (round.TakeOffIneligible),
// reading the rounds afresh from the event store.
func (a *App) takeOffIneligible(ctx context.Context, actor string, was, will round.Reviewer) error {
	if was.ID == "" || !narrows(was, will) {
		return nil // a record that was not there had no assignments to check before
	}
	rounds, err := a.openRoundsNow(ctx)
	if err != nil {
		return err
	}
	for _, r := range rounds {
		if len(r.TakeOffIneligible(was, will)) == 0 {
			continue
		}
		if _, err := a.changeRound(ctx, actor, r.ID(), func(r *round.Round) ([]events.Payload, error) { return r.TakeOffIneligible(was, will), nil }); err != nil {
			return fmt.Errorf("take %s off what they may no longer review in review round %s: %w", will.ID, r.ID(), err)
		}
	}
	return nil
}

// keepsAssignments refuses a change to a pool member that would make them ineligible
// for a submission they are assigned to in an open round (moved to its organisation,
// a conflict declared with it, no longer trained): ops take them off it first, or
// withhold their review, and so decide what happens to it. A change that leaves them
// as eligible as they were (a withdrawal of their organisation is not the change's
// doing) is not refused.
func (a *App) keepsAssignments(ctx context.Context, was, will round.Reviewer) error {
	if !narrows(was, will) {
		return nil
	}
	rounds, err := a.openRoundsNow(ctx)
	if err != nil {
		return err
	}
	for _, r := range rounds {
		for _, as := range r.Assignments() {
			if as.ReviewerID != was.ID || (as.State != round.Assigned && as.State != round.Accepted) {
				continue
			}
			if _, released := r.Feedback(as.SubmissionID); released {
				continue
			}
			org, _ := r.Organisation(as.SubmissionID)
			s := assign.Submission{ID: as.SubmissionID, Org: org}
			if why := assign.Eligible(will.Reviewer, s); why != "" && assign.Eligible(was.Reviewer, s) == "" {
				name, err := a.currentName(ctx, org, r.OrganisationName(as.SubmissionID))
				if err != nil {
					return err
				}
				return apperr.New(apperr.Conflict, "%s is assigned to %s's submission %s in review round %s, which they could no longer review (%s): take them off it, or withhold their review, first",
					was.ID, cmp.Or(name, org), as.SubmissionID, r.Name(), why)
			}
		}
	}
	return nil
}

// narrows says whether a change of a pool member's record from was to will may
// rule out a submission was could review (assign.Eligible): a change of name,
// address, capacity or themes, or a conflict withdrawn, rules out none, and spares
// reading every open round.
func narrows(was, will round.Reviewer) bool {
	if was.Org != will.Org || (was.Trained && !will.Trained) || (will.Erased && !was.Erased) {
		return true
	}
	for _, c := range will.Conflicts {
		if !slices.Contains(was.Conflicts, c) {
			return true
		}
	}
	return false
}

// addressType names the records of reviewers' addresses in the event store, each
// keyed by the address's digest (never the address).
const addressType = "reviewer_address"

func addressAggregate(email string) string { return "address-" + personal.Subject(email) }

// sameAddress compares two addresses as the key store and the portal's sign-in do
// (personal.Normalise), so that it agrees with the digest that keys their claims.
func sameAddress(a, b string) bool { return personal.Normalise(a) == personal.Normalise(b) }

// claimAddress records that email belongs to pool member id, unless another member
// holds it: one person is one member of the pool, as the portal signs a reviewer in
// by their address (a second member with it could never be reached). The address's
// record puts concurrent claims in an order (its unique index); a claim is held while
// its member's record has the address. A registration or a change of address claims
// first, then records the member, so a claim is held too for a minute while the
// member's record is still at the version the change was decided on (from; 0 for a
// registration): its change may be on its way. A member whose record moved on since
// without the address gave it up. Members registered before addresses were claimed
// are found in the pool.
func (a *App) claimAddress(ctx context.Context, actor, id, email string, from int) error {
	pool, err := a.pool(ctx)
	if err != nil {
		return err
	}
	for _, rv := range pool {
		if rv.ID != id && sameAddress(rv.Email, email) {
			return taken(rv.ID)
		}
	}
	_, err = a.events.Execute(ctx, store.Command{AggregateType: addressType, AggregateID: addressAggregate(email), Actor: actor,
		Decide: func(h []events.Envelope) ([]events.Payload, error) {
			var claim events.ReviewerAddressClaimedV1
			var at time.Time
			for _, e := range only(addressType, h) {
				p, err := events.Decode[events.ReviewerAddressClaimedV1](e)
				if err != nil {
					return nil, err
				}
				claim, at = p, e.Time
			}
			holder := claim.ReviewerID
			if holder == id {
				return nil, nil
			}
			if holder != "" {
				rv, version, registered, err := a.loadReviewerAt(ctx, holder)
				if err != nil {
					return nil, err
				}
				onItsWay := version <= claim.ReviewerVersion && a.clock.Now().Sub(at) < time.Minute
				if (registered && sameAddress(rv.Email, email)) || onItsWay {
					return nil, taken(holder)
				}
			}
			return []events.Payload{events.ReviewerAddressClaimedV1{ReviewerID: id, ReviewerVersion: from}}, nil
		}})
	return err
}

func taken(holder string) error {
	return apperr.Field("email", "is already the address of reviewer %s in the pool: each person is one member of the pool, as the portal signs reviewers in by their address", holder)
}

// checkReviewersOrganisation checks a reviewer's organisation is one the Commitment
// announced as a signatory and that has not withdrawn: reviewers are technicians of
// other signatories, and the rule that nobody reviews their own organisation holds
// only if the pool records their organisation by the id its submissions carry. An
// organisation recorded before the review service kept each one's kind is taken as
// announced. What is wrong is added to ps; the error is a failure to read.
func (a *App) checkReviewersOrganisation(ctx context.Context, ps *apperr.Problems, id string) error {
	if id == "" {
		return nil // checkReviewer says it is required
	}
	o, ok, err := a.orgs.Get(ctx, id)
	switch {
	case err != nil:
		return err
	case !ok || !o.Announced:
		ps.Add("organisation_id", "%q is not the id of an organisation announced with the Technician Commitment: give the id the signatory service holds for the reviewer's organisation (a signatory announced a moment ago reaches the review service within seconds)", id)
	case o.Withdrawn:
		ps.Add("organisation_id", "%s has withdrawn from the Technician Commitment: reviewers are technicians of its signatories", o.Name)
	case o.Kind != "" && o.Kind != "signatory":
		ps.Add("organisation_id", "%s is a %s, not a signatory: reviewers are technicians of the Commitment's signatories", o.Name, o.Kind)
	case o.AnnouncedOn.After(civil.Of(a.clock.Now().In(london))):
		ps.Add("organisation_id", "%s's announcement is dated %s: its technicians join the pool from that day", o.Name, o.AnnouncedOn.InWords())
	}
	return nil
}

// checkConflicts checks each declared conflict names an organisation announced with
// the Commitment (any kind, withdrawn or not): a conflict is kept only to be compared
// with the organisation of a submission, which an id never announced never matches.
// Those already on the member's record (kept) are not checked again. What is wrong
// is added to ps; the error is a failure to read.
func (a *App) checkConflicts(ctx context.Context, ps *apperr.Problems, conflicts, kept []string) error {
	for i, c := range conflicts {
		if slices.Contains(kept, c) {
			continue
		}
		o, ok, err := a.orgs.Get(ctx, c)
		if err != nil {
			return err
		}
		if !ok || !o.Announced {
			ps.Add(fmt.Sprintf("conflicts.%d", i), "%q is not the id of an organisation announced with the Technician Commitment: list the ids the signatory service holds for the organisations the reviewer must not review", c)
		}
	}
	return nil
}

// checkReviewer adds to ps what is wrong with a pool member's record on its face.
func checkReviewer(ps *apperr.Problems, id, name, org string, capacity int, conflicts []string) {
	if strings.TrimSpace(id) == "" {
		ps.Add("reviewer_id", "is required")
	}
	if name == "" {
		ps.Add("name", "is required")
	}
	if org == "" {
		ps.Add("organisation_id", "is required")
	}
	if capacity < 0 || capacity > 20 {
		ps.Add("capacity", "must be 0 to 20")
	}
	if org != "" && slices.Contains(conflicts, org) {
		ps.Add("conflicts", "a reviewer never reviews their own organisation; list only other organisations")
	}
}

func reviewerAggregate(id string) string { return "reviewer-" + id }

// reviewerType names pool members in the event store.
const reviewerType = "reviewer"

func reviewerOf(p events.ReviewerUpdatedV1) round.Reviewer {
	// A member is registered with an address: none, once read, means they were erased
	// at their request (their record's personal data is sealed away).
	return round.Reviewer{Reviewer: assign.Reviewer{ID: p.ReviewerID, Org: p.OrganisationID, Trained: p.Trained, Capacity: p.Capacity, Conflicts: p.Conflicts, Themes: p.Themes,
		Erased: p.Email == ""}, Name: p.Name, Email: p.Email}
}

// Reviewers lists a page of the pool in id order (ops), each member with the rounds
// they had reviews in, so ops see who carried how much.
func (a *App) Reviewers(ctx context.Context, by auth.Principal, p Page) ([]Member, string, error) {
	if !by.IsOps() {
		return nil, "", apperr.New(apperr.Forbidden, "only ITSS operations staff read the reviewer pool")
	}
	page, next, err := a.poolPage(ctx, p)
	if err != nil {
		return nil, "", err
	}
	// The page's members' assignments in force, from the assignments' read model:
	// every round replayed to count them cost what the history held.
	ids := make([]string, len(page))
	for i, rv := range page {
		ids[i] = rv.ID
	}
	held, err := a.read.InForce(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]Member, 0, len(page))
	for _, rv := range page {
		out = append(out, Member{Reviewer: rv, Workload: workload(held[rv.ID])})
	}
	return out, next, nil
}

// poolPage is a page of the pool in id order. It pages the catalogue's ids and loads
// only the page's members: loading the whole pool for each page made every page
// cost one load per member (400 members, two pages: 800 loads for the ops console's
// pool).
func (a *App) poolPage(ctx context.Context, p Page) ([]round.Reviewer, string, error) {
	ids, err := a.events.IDsOfType(ctx, reviewerType)
	if err != nil {
		return nil, "", err
	}
	prefix := reviewerAggregate("")
	for i, id := range ids {
		ids[i] = strings.TrimPrefix(id, prefix)
	}
	ids, next, err := paged(ids, func(id string) string { return id }, p)
	if err != nil {
		return nil, "", err
	}
	aggs := make([]string, len(ids))
	for i, id := range ids {
		aggs[i] = reviewerAggregate(id)
	}
	loaded, err := a.events.LoadMany(ctx, aggs)
	if err != nil {
		return nil, "", fmt.Errorf("load a page of the reviewer pool: %w", err)
	}
	out := make([]round.Reviewer, 0, len(ids))
	for _, agg := range aggs {
		rv, ok, err := latestReviewer(loaded[agg])
		if err != nil {
			return nil, "", err
		}
		if ok { // else catalogued before its first commit, which did not happen
			out = append(out, rv)
		}
	}
	return out, next, nil
}

// latestReviewer is a pool member's record from their history (ok is false when
// the history is not a pool member's).
func latestReviewer(h []events.Envelope) (round.Reviewer, bool, error) {
	h = only(reviewerType, h)
	if len(h) == 0 {
		return round.Reviewer{}, false, nil
	}
	latest := h[0]
	for _, e := range h {
		if e.Version > latest.Version {
			latest = e
		}
	}
	rv, err := decodeReviewer(latest)
	return rv, err == nil, err
}

// loadReviewer reads one pool member's latest record, read afresh from the log (ok
// is false when id is no member).
func (a *App) loadReviewer(ctx context.Context, id string) (round.Reviewer, bool, error) {
	rv, _, ok, err := a.loadReviewerAt(ctx, id)
	return rv, ok, err
}

// loadReviewerAt is loadReviewer with the record's version (its ETag).
func (a *App) loadReviewerAt(ctx context.Context, id string) (round.Reviewer, int, bool, error) {
	h, err := a.events.Load(ctx, reviewerAggregate(id))
	if err != nil {
		return round.Reviewer{}, 0, false, fmt.Errorf("load reviewer %s: %w", id, err)
	}
	rv, ok, err := latestReviewer(h)
	return rv, lastVersion(h), ok, err
}

// pool is every reviewer's latest record, in id order.
func (a *App) pool(ctx context.Context) ([]round.Reviewer, error) {
	all, err := a.events.LoadByType(ctx, reviewerType)
	if err != nil {
		return nil, err
	}
	latest := map[string]events.Envelope{}
	for _, e := range all {
		if cur, ok := latest[e.AggregateID]; !ok || e.Version > cur.Version {
			latest[e.AggregateID] = e
		}
	}
	out := make([]round.Reviewer, 0, len(latest))
	for _, e := range latest {
		rv, err := decodeReviewer(e)
		if err != nil {
			return nil, err
		}
		out = append(out, rv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// decodeReviewer reads a pool member's record from its latest event.
func decodeReviewer(e events.Envelope) (round.Reviewer, error) {
	if e.Type == (events.ReviewerRegisteredV1{}).EventType() {
		r, err := events.Decode[events.ReviewerRegisteredV1](e)
		if err != nil {
			return round.Reviewer{}, err
		}
		return reviewerOf(events.ReviewerUpdatedV1(r)), nil
	}
	p, err := events.Decode[events.ReviewerUpdatedV1](e)
	if err != nil {
		return round.Reviewer{}, err
	}
	return reviewerOf(p), nil
}

// member is the pool member a reviewer's token names. The pool, not the token, says
// who is a reviewer and where they work: a token naming a member at another
// organisation than the pool records is refused, and a subject not in the pool is no
// reviewer (ok is false).
func (a *App) member(ctx context.Context, by auth.Principal) (rv round.Reviewer, ok bool, err error) {
	if by.Role != auth.RoleReviewer {
		return round.Reviewer{}, false, apperr.New(apperr.Forbidden, "only reviewers in the pool review")
	}
	if rv, ok, err = a.loadReviewer(ctx, by.Subject); err != nil || !ok {
		return round.Reviewer{}, false, err
	}
	if rv.Org != by.Org {
		return round.Reviewer{}, false, apperr.New(apperr.Forbidden, "the reviewer pool records you at another organisation than your sign-in names")
	}
	return rv, true, nil
}

// reviewer is the caller as a pool member, or not found when they are not one.
func (a *App) reviewer(ctx context.Context, by auth.Principal, notFound string) (round.Reviewer, error) {
	rv, ok, err := a.member(ctx, by)
	if err != nil {
		return round.Reviewer{}, err
	}
	if !ok {
		return round.Reviewer{}, apperr.New(apperr.NotFound, "%s", notFound)
	}
	return rv, nil
}

// --- rounds ---

// OpenRound opens a review round (ops) with n reviewers per submission (0: the default).
func (a *App) OpenRound(ctx context.Context, by auth.Principal, name string, deadline time.Time, n int) (*round.Round, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff run review rounds")
	}
	return a.changeRound(ctx, by.Actor(), uuid.Must(uuid.NewV7()).String(), func(r *round.Round) ([]events.Payload, error) {
		return r.Open(name, deadline, n, a.clock.Now())
	})
}

// Round returns a round (ops).
func (a *App) Round(ctx context.Context, by auth.Principal, id string) (*round.Round, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff read a whole round")
	}
	r, err := a.loadRound(ctx, id)
	if err != nil {
		return nil, err
	}
	if !r.Exists() {
		return nil, apperr.New(apperr.NotFound, "review round %s not found", id)
	}
	return r, nil
}

// AddSubmissions puts submitted submissions into a round (ops). A submission is in
// one round at a time: one already in another round moves from it only when that
// round is closed with nothing of the submission left to release there (nobody's
// review of it counts and none returned awaits revision; see round.Releasable), so
// that a submission nobody reviewed can be reviewed in a later round.
//
// Which round holds a submission is decided by its placement record (package
// placement), whose versions the event store's unique index orders; what the read
// models say may lag. Each submission takes three steps, in this order:
//
//  1. its placement is claimed for this round (SubmissionPlacedV1), the claim
//     re-checking that the placement is still the one read: of two requests putting
//     it in two rounds, the second is refused naming the round it was just put in;
//  2. the round it leaves, if any, lets it go (RoundSubmissionMovedV1);
//  3. this round takes it (RoundSubmissionAddedV1, with the placement's sequence).
//
// The claim comes first so that no step is taken on a placement another request
// holds, and the old round lets go before the new one takes, so that a crash between
// steps leaves the submission in at most one round (between 2 and 3 in none, with
// its placement saying where it is going). Every step records nothing when already
// done, so the same request repeated finishes the job; until it is, another request
// to put the submission elsewhere is refused, as it may be in flight.
func (a *App) AddSubmissions(ctx context.Context, by auth.Principal, id string, subs []string) (*round.Round, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff run review rounds")
	}
	// The ids named are checked together first, so that a refusal names every one that
	// is wrong (apperr.Invalids): a request naming a submission twice (which would add
	// it twice: the round's check runs against the round as loaded, before this
	// request's events), one that does not exist, one whose organisation withdrew.
	var ps apperr.Problems
	first := make(map[string]int, len(subs))
	loaded := make([]*submission.Submission, 0, len(subs))
	names := map[string]string{}
	withdrawn := map[string]bool{}
	for i, sid := range subs {
		field := fmt.Sprintf("submission_ids.%d", i)
		if j, again := first[sid]; again {
			ps.Add(field, "names submission %s a second time (it is submission_ids.%d): give each once", sid, j)
			continue
		}
		first[sid] = i
		s, err := a.loadSubmission(ctx, sid)
		if err != nil {
			return nil, err
		}
		if !s.Exists() {
			ps.Add(field, "no submission %s", sid)
			continue
		}
		if _, known := names[s.OrganisationID()]; !known {
			o, _, err := a.orgs.Get(ctx, s.OrganisationID())
			if err != nil {
				return nil, err
			}
			names[s.OrganisationID()], withdrawn[s.OrganisationID()] = o.Name, o.Withdrawn
		}
		// A withdrawn organisation's obligations lapsed with it: its plan is not
		// given to volunteers to review.
		if withdrawn[s.OrganisationID()] {
			ps.Add(field, "submission %s is from %s, which has withdrawn from the Technician Commitment: it is not reviewed", sid, names[s.OrganisationID()])
			continue
		}
		loaded = append(loaded, s)
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	target, err := a.loadRound(ctx, id)
	if err != nil {
		return nil, err
	}
	seen := make([]placement.Seen, 0, len(subs))
	for _, s := range loaded {
		sid := s.ID()
		// What the round would refuse (closed, not submitted) is refused before any
		// placement is claimed for it.
		if _, err := target.AddSubmission(s, names[s.OrganisationID()], 0); err != nil {
			return nil, err
		}
		sn, err := a.placeable(ctx, id, sid)
		if err != nil {
			return nil, err
		}
		seen = append(seen, sn)
	}
	var claimed []*submission.Submission
	placements := map[string]int{}
	var refused error
	for i, s := range loaded { // step 1
		p, err := a.place(ctx, by.Actor(), s.ID(), id, seen[i])
		if err != nil {
			refused = err
			break
		}
		if err := a.leave(ctx, by.Actor(), p.From(), s.ID(), id); err != nil { // step 2
			return nil, err
		}
		claimed, placements[s.ID()] = append(claimed, s), p.Version()
	}
	// Those claimed are added even when a later one was refused, so that none is left
	// placed here and in no round.
	r, err := a.changeRound(ctx, by.Actor(), id, func(r *round.Round) ([]events.Payload, error) { // step 3
		var out []events.Payload
		for _, s := range claimed {
			p, err := r.AddSubmission(s, names[s.OrganisationID()], placements[s.ID()])
			if err != nil {
				return nil, err
			}
			out = append(out, p...)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	if e, ok := apperr.As(refused); ok && e.Code == apperr.Conflict && len(claimed) > 0 {
		return nil, apperr.New(apperr.Conflict, "%s (the submissions named before it are in review round %s)", e.Message, id)
	}
	if refused != nil {
		return nil, refused
	}
	return r, nil
}

// placeable reads where submission sub is placed and says why it may not be put in
// round id, or returns the placement read, for the claim to re-check. With no
// placement recorded (a submission put in a round before placements were), the
// submission's read model says which round holds it.
func (a *App) placeable(ctx context.Context, id, sub string) (placement.Seen, error) {
	p, err := a.loadPlacement(ctx, sub)
	if err != nil {
		return placement.Seen{}, err
	}
	seen := placement.Seen{Version: p.Version(), Round: p.Round()}
	if !p.Recorded() {
		e, ok, err := a.read.Submission(ctx, sub)
		if err != nil {
			return placement.Seen{}, err
		}
		if ok {
			seen.Round = e.RoundID
		}
	}
	if seen.Round == "" || seen.Round == id {
		return seen, nil
	}
	cur, err := a.loadRound(ctx, seen.Round)
	if err != nil {
		return placement.Seen{}, err
	}
	if _, in := cur.Organisation(sub); in {
		return seen, a.naming(ctx, cur).Releasable(sub)
	}
	if _, _, moved := cur.Moved(sub); !moved && cur.Status() == round.StatusOpen {
		// Placed there by a request that has not yet added it (or crashed before):
		// that request may still be under way, and the round may still take it.
		return placement.Seen{}, apperr.New(apperr.Conflict, "submission %s is being put in review round %s: repeat that request to finish it, and close that round before putting the submission elsewhere", sub, seen.Round)
	}
	return seen, nil // placed in a closed round that never took it, which never will
}

// place claims submission sub's placement for round id, unless it changed since seen,
// and returns the placement as it then stands: in round id (Place refuses anything
// else), with the round it came from.
func (a *App) place(ctx context.Context, actor, sub, id string, seen placement.Seen) (*placement.Placement, error) {
	var before []events.Envelope
	appended, err := a.events.Execute(ctx, store.Command{AggregateType: placement.AggregateType, AggregateID: placement.ID(sub), Actor: actor,
		Decide: func(h []events.Envelope) ([]events.Payload, error) {
			before = only(placement.AggregateType, h)
			cur, err := placement.Rebuild(sub, before)
			if err != nil {
				return nil, err
			}
			return cur.Place(id, seen)
		}})
	if err != nil {
		return nil, err
	}
	return placement.Rebuild(sub, append(slices.Clip(before), appended...))
}

// leave has round from, if any and if it still holds submission sub, let it go to
// round to.
func (a *App) leave(ctx context.Context, actor, from, sub, to string) error {
	if from == "" || from == to {
		return nil
	}
	cur, err := a.loadRound(ctx, from)
	if err != nil {
		return err
	}
	if _, in := cur.Organisation(sub); !in {
		if moved, _, ok := cur.Moved(sub); !ok || moved == to {
			return nil // never taken there, or let go already
		}
	}
	_, err = a.changeRound(ctx, actor, from, func(r *round.Round) ([]events.Payload, error) { return r.MoveSubmission(sub, to) })
	return err
}

func (a *App) loadPlacement(ctx context.Context, sub string) (*placement.Placement, error) {
	h, err := a.events.Load(ctx, placement.ID(sub))
	if err != nil {
		return nil, fmt.Errorf("load the placement of %s: %w", sub, err)
	}
	return placement.Rebuild(sub, only(placement.AggregateType, h))
}

// AssignmentReport is what an automatic assignment run achieved.
type AssignmentReport struct {
	assign.Result
	// HistoryRounds is how many previous rounds the load over the rounds counts.
	HistoryRounds int
}

// AutoAssign fills the round's submissions to n reviewers each (ops), weighing the
// submissions' weakest themes and the reviewers' work in previous rounds. Concurrent
// runs on one round are serialised by the event store: the loser re-plans from the
// winner's assignments, so nobody is assigned twice.
func (a *App) AutoAssign(ctx context.Context, by auth.Principal, id string, n int) (r *round.Round, report AssignmentReport, err error) {
	if !by.IsOps() {
		return nil, report, apperr.New(apperr.Forbidden, "only ITSS operations staff run review rounds")
	}
	pool, err := a.pool(ctx)
	if err != nil {
		return nil, report, err
	}
	if err := a.markWithdrawn(ctx, pool); err != nil {
		return nil, report, err
	}
	w, rounds, err := a.weighing(ctx, id)
	if err != nil {
		return nil, report, err
	}
	r, err = a.changeRound(ctx, by.Actor(), id, func(r *round.Round) ([]events.Payload, error) {
		p, res, err := r.AutoAssign(pool, n, w, a.clock.Now())
		report = AssignmentReport{Result: res, HistoryRounds: rounds}
		return p, err
	})
	if err != nil {
		return r, report, err
	}
	// The pool was read well before the assignments were appended: each reviewer
	// assigned is read again (see stillEligible), and an assignment their record no
	// longer allows is taken off and reported uncovered.
	byID := map[string]round.Reviewer{}
	for _, rv := range pool {
		byID[rv.ID] = rv
	}
	checked := map[string]round.Reviewer{}
	kept := report.Adds[:0:0]
	for _, add := range report.Adds {
		was := byID[add.Reviewer]
		now, seen := checked[was.ID]
		if !seen {
			if now, err = a.stillEligible(ctx, by.Actor(), r, was); err != nil {
				return r, report, err
			}
			checked[was.ID] = now
		}
		org, _ := r.Organisation(add.Submission)
		s := assign.Submission{ID: add.Submission, Org: org, WeakThemes: w.WeakThemes[add.Submission]}
		why := assign.Eligible(now.Reviewer, s)
		if why == "" {
			kept = append(kept, add)
			continue
		}
		report.uncover(add.Submission, assign.Matches(was.Reviewer, s),
			fmt.Sprintf("%s was taken off it again: their record in the pool changed as they were assigned, and they may no longer review it (%s)", was.ID, why))
	}
	if len(kept) < len(report.Adds) {
		r, err = a.loadRound(ctx, id) // as the removals left it
	}
	report.Adds = kept
	return r, report, err
}

// uncover counts one review of submission sub fewer (matched says it met the
// submission's weakest themes), for the reason given.
func (rep *AssignmentReport) uncover(sub string, matched bool, reason string) {
	rep.Covered--
	rep.Reviews--
	if matched {
		rep.Matched--
	}
	for i, u := range rep.Uncovered {
		if u.SubmissionID == sub {
			rep.Uncovered[i].Missing++
			rep.Uncovered[i].Reason += "; " + reason
			return
		}
	}
	rep.Uncovered = append(rep.Uncovered, assign.Uncovered{SubmissionID: sub, Missing: 1, Reason: reason})
}

// weighing reads what assignment in round id weighs: the weakest themes of the
// round's submissions and the reviewers' load in the previous rounds. A submission
// added after this read is planned without its themes, which costs it only the
// expertise preference, never a rule.
func (a *App) weighing(ctx context.Context, id string) (round.Weighing, int, error) {
	rounds, err := a.allRounds(ctx)
	if err != nil {
		return round.Weighing{}, 0, err
	}
	i := slices.IndexFunc(rounds, func(r *round.Round) bool { return r.ID() == id })
	if i < 0 {
		return round.Weighing{}, 0, nil // changeRound says the round is not found
	}
	history, n := round.History(rounds[i], rounds)
	withdrawn, err := a.orgs.Withdrawn(ctx)
	if err != nil {
		return round.Weighing{}, 0, err
	}
	w := round.Weighing{History: history, WeakThemes: map[string][]string{}, Withdrawn: withdrawn}
	ids := rounds[i].Submissions()
	histories, err := a.events.LoadMany(ctx, ids)
	if err != nil {
		return round.Weighing{}, 0, fmt.Errorf("load the submissions of round %s: %w", id, err)
	}
	for _, sid := range ids {
		s, err := submission.Rebuild(sid, only(submission.AggregateType, histories[sid]))
		if err != nil {
			return round.Weighing{}, 0, err
		}
		w.WeakThemes[sid] = s.WeakestThemes()
	}
	return w, n, nil
}

// RoundLoad is a reviewer's load in one round, for the pool's workload history.
type RoundLoad struct {
	RoundID, RoundName string
	Deadline           time.Time
	Reviews            int
}

// Member is a pool member with their workload across rounds, latest deadline first.
type Member struct {
	round.Reviewer
	Workload []RoundLoad
	// Version is the record's event-store version (its ETag; 0 in lists).
	Version int
}

// Assign assigns a reviewer by hand (ops).
func (a *App) Assign(ctx context.Context, by auth.Principal, id, sub, reviewer, reason string) (*round.Round, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff assign reviewers")
	}
	// The one reviewer named, not the pool: a hand assignment read every member's
	// record, 400 loads in a pool of 400.
	rv, ok, err := a.loadReviewer(ctx, reviewer)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Field("reviewer_id", "no reviewer %s in the pool", reviewer)
	}
	if err := a.standing(ctx, &rv); err != nil {
		return nil, err
	}
	r, err := a.changeRound(ctx, by.Actor(), id, func(r *round.Round) ([]events.Payload, error) {
		if err := a.reviewable(ctx, r, sub); err != nil {
			return nil, err
		}
		return r.Assign(rv, sub, reason, a.clock.Now())
	})
	if err != nil {
		return nil, err
	}
	now, err := a.stillEligible(ctx, by.Actor(), r, rv)
	if err != nil {
		return nil, err
	}
	org, _ := r.Organisation(sub)
	if why := assign.Eligible(now.Reviewer, assign.Submission{ID: sub, Org: org}); why != "" {
		name, err := a.currentName(ctx, org, r.OrganisationName(sub))
		if err != nil {
			return nil, err
		}
		return nil, apperr.New(apperr.Conflict, "%s's record in the pool changed as they were assigned, and they may no longer review %s (%s): they are not assigned to it",
			reviewer, cmp.Or(name, org)+"'s submission "+sub, why)
	}
	return r, nil
}

// stillEligible reads reviewer was afresh once they were assigned in round r (as the
// assignment left it) on the record was, takes them off what the record read now no
// longer lets them review (round.TakeOffIneligible), and returns the record read.
//
// A change to the pool that would make a reviewer ineligible for an assignment is
// refused (see keepsAssignments), but it is checked before the change is appended,
// as the assignment is decided before it is appended: each could miss the other. So
// each re-checks after it appends, on the event store's word: the assignment here,
// the change in UpdateReviewer (takeOffIneligible). Of an assignment and a change
// made at once, whichever reads last finds the other's event, so the reviewer is
// never left in force on what the change rules out.
func (a *App) stillEligible(ctx context.Context, actor string, r *round.Round, was round.Reviewer) (round.Reviewer, error) {
	now, ok, err := a.loadReviewer(ctx, was.ID)
	if err != nil || !ok {
		return was, err
	}
	// Neither its organisation's withdrawal nor its erasure is the record's doing:
	// each has its own removal (see TakeOffIneligible).
	now.OrgWithdrawn, now.Erased = was.OrgWithdrawn, was.Erased
	if now.Org != was.Org {
		if now.OrgWithdrawn, err = a.orgWithdrawn(ctx, now.Org); err != nil {
			return was, err
		}
	}
	if err := a.records(ctx, &now); err != nil {
		return was, err
	}
	// What others assigned since is theirs to re-check.
	if len(r.TakeOffIneligible(was, now)) == 0 {
		return now, nil
	}
	if _, err := a.changeRound(ctx, actor, r.ID(), func(r *round.Round) ([]events.Payload, error) { return r.TakeOffIneligible(was, now), nil }); err != nil {
		return was, fmt.Errorf("take %s off what they may no longer review in review round %s: %w", was.ID, r.ID(), err)
	}
	return now, nil
}

// reviewable refuses submission sub of round r when its organisation has withdrawn
// from the Commitment. It is read at every attempt of the command that appends, so
// that an assignment that loses its race to the withdrawal's removals (see
// OrganisationWithdrawn) is decided again knowing of the withdrawal.
func (a *App) reviewable(ctx context.Context, r *round.Round, sub string) error {
	org, in := r.Organisation(sub)
	if !in {
		return nil // the round's own check says so
	}
	gone, err := a.orgWithdrawn(ctx, org)
	if err != nil {
		return err
	}
	return r.Reviewable(sub, map[string]bool{org: gone})
}

// withdrawalActor is who the rounds' log says took reviewers off the submissions of
// an organisation that withdrew: the service, on the signatory service's word.
const withdrawalActor = "system:organisation-withdrawn"

// OrganisationWithdrawn takes the reviewers off organisation org's submissions in
// the open rounds once it has withdrawn from the Commitment (see
// round.TakeOffWithdrawn), takes org's own technicians in the pool off what they
// have not reviewed (round.TakeOffReviewersOfWithdrawn), and returns how many it took
// off; notify tells each of them that no review is needed from them. The caller
// records the withdrawal in the read model of organisations first, so that an
// assignment decided after this looks is refused (see reviewable and weighing).
//
// Each round is changed by its own command, which decides again on the round as the
// log holds it at every attempt: ops changing the round at the same moment, another
// replica handling the same event, or the deadline watch, make an attempt lose on the
// store's unique version and retry, and an attempt that finds the reviewers off
// already records nothing. So the event handled twice takes nobody off twice.
//
// The deadline watch makes the same check at each pass for every organisation that
// has withdrawn (markOverdue), which catches what this cannot see: a round the
// rounds' read model does not list yet, an assignment by hand decided on the very
// moment of the withdrawal, a withdrawal handled before this was released.
func (a *App) OrganisationWithdrawn(ctx context.Context, org string) (int, error) {
	rounds, err := a.openRounds(ctx)
	if err != nil {
		return 0, err
	}
	withdrawn := map[string]bool{org: true}
	removed := 0
	for _, r := range rounds {
		if len(r.TakeOffWithdrawn(withdrawn)) == 0 {
			continue
		}
		_, n, err := a.takeOff(ctx, r.ID(), theWithdrawnsSubmissions(withdrawn))
		removed += n
		if err != nil {
			return removed, fmt.Errorf("take reviewers off %s's submission in review round %s: %w", org, r.ID(), err)
		}
	}
	// Its technicians in the pool come off what they have not reviewed: they may no
	// longer review it (round.StillEligible), so it needs another reviewer.
	gone, err := a.reviewersOfWithdrawn(ctx, rounds, withdrawn, 0)
	if err != nil {
		return removed, err
	}
	for _, r := range rounds {
		if len(r.TakeOffReviewersOfWithdrawn(gone)) == 0 {
			continue
		}
		_, n, err := a.takeOff(ctx, r.ID(), theWithdrawnsReviewers(gone))
		removed += n
		if err != nil {
			return removed, fmt.Errorf("take %s's reviewers off review round %s: %w", org, r.ID(), err)
		}
	}
	return removed, nil
}

// withdrawnReviewersMaxAge is how long the deadline watch's pass may judge a
// reviewer's organisation by the record this replica last read of them. The pool
// keeps no index of its members by organisation, and reading afresh at every pass
// each reviewer who owes a review would cost one load each a minute; a member is at
// most this long behind a move made through another replica, and the withdrawal's
// own handler reads them afresh.
const withdrawnReviewersMaxAge = 10 * time.Minute

// reviewersOfWithdrawn names, by id, the reviewers owing a review in rounds (see
// round.Outstanding) whose organisation is one withdrawn names, as the pool records
// them. With maxAge 0 each record is read afresh; otherwise it may be as old as
// maxAge, and a member it finds is read afresh before being named, so that one moved
// since to another organisation is not taken off. A reviewer erased at their request
// is left to takeOffErased, whose removal names nobody.
func (a *App) reviewersOfWithdrawn(ctx context.Context, rounds []*round.Round, withdrawn map[string]bool, maxAge time.Duration) (map[string]bool, error) {
	if len(withdrawn) == 0 {
		return nil, nil
	}
	gone, asked := map[string]bool{}, map[string]bool{}
	for _, r := range rounds {
		for _, id := range r.Outstanding() {
			if asked[id] {
				continue
			}
			asked[id] = true
			if err := a.judgeReviewer(ctx, id, withdrawn, maxAge, gone); err != nil {
				return nil, err
			}
		}
	}
	return gone, nil
}

// judgeReviewer marks reviewer id in gone when the pool records them, unerased, at
// an organisation withdrawn names (see reviewersOfWithdrawn).
func (a *App) judgeReviewer(ctx context.Context, id string, withdrawn map[string]bool, maxAge time.Duration, gone map[string]bool) error {
	h, err := a.events.LoadRecent(ctx, reviewerAggregate(id), maxAge)
	if err != nil {
		return fmt.Errorf("load reviewer %s: %w", id, err)
	}
	rv, ok, err := latestReviewer(h)
	if err != nil || !ok || rv.Erased || !withdrawn[rv.Org] {
		return err
	}
	if maxAge > 0 { // what memory says is confirmed by a fresh read
		if rv, ok, err = a.loadReviewer(ctx, id); err != nil || !ok || rv.Erased || !withdrawn[rv.Org] {
			return err
		}
	}
	gone[id] = true
	return nil
}

// takeOff records in round id, on the withdrawal's word, the removals takeOff gives
// (round.TakeOffWithdrawn for a withdrawn organisation's submissions,
// round.TakeOffReviewersOfWithdrawn for its technicians), deciding on the round as
// the log holds it, and returns the round as it then is and how many it took off.
func (a *App) takeOff(ctx context.Context, id string, takeOff func(*round.Round) []events.Payload) (*round.Round, int, error) {
	n := 0
	r, err := a.changeRound(ctx, withdrawalActor, id, func(r *round.Round) ([]events.Payload, error) {
		p := takeOff(r)
		n = len(p)
		return p, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return r, n, nil
}

// theWithdrawnsSubmissions and theWithdrawnsReviewers are the removals of a round
// for the organisations withdrawn names, and for the reviewers gone names.
func theWithdrawnsSubmissions(withdrawn map[string]bool) func(*round.Round) []events.Payload {
	return func(r *round.Round) []events.Payload { return r.TakeOffWithdrawn(withdrawn) }
}

func theWithdrawnsReviewers(gone map[string]bool) func(*round.Round) []events.Payload {
	return func(r *round.Round) []events.Payload { return r.TakeOffReviewersOfWithdrawn(gone) }
}

// orgWithdrawn says whether org has withdrawn from the Commitment.
func (a *App) orgWithdrawn(ctx context.Context, org string) (bool, error) {
	o, ok, err := a.orgs.Get(ctx, org)
	return ok && o.Withdrawn, err
}

// standing reads what the reviewer's record does not say of them: whether their
// organisation has withdrawn, and the other records of it and of the organisations
// they declared a conflict with (see records).
func (a *App) standing(ctx context.Context, rv *round.Reviewer) error {
	var err error
	if rv.OrgWithdrawn, err = a.orgWithdrawn(ctx, rv.Org); err != nil {
		return err
	}
	return a.records(ctx, rv)
}

// records reads the other records of the reviewer's organisation and of those they
// declared a conflict with: an organisation that withdrew and signed again is a new
// record that succeeds the old one, and a reviewer of either is of the same
// organisation, a conflict with either a conflict with both.
func (a *App) records(ctx context.Context, rv *round.Reviewer) error {
	return a.recordsKnown(ctx, rv, map[string][]string{})
}

// recordsKnown is records, reading each organisation's other records once into
// known (a pool names the same organisations many times).
func (a *App) recordsKnown(ctx context.Context, rv *round.Reviewer, known map[string][]string) error {
	of := func(org string) ([]string, error) {
		if others, ok := known[org]; ok {
			return others, nil
		}
		others, err := a.otherRecords(ctx, org)
		if err == nil {
			known[org] = others
		}
		return others, err
	}
	var err error
	if rv.OrgRecords, err = of(rv.Org); err != nil {
		return err
	}
	rv.ConflictRecords = nil
	for _, c := range rv.Conflicts {
		others, err := of(c)
		if err != nil {
			return err
		}
		rv.ConflictRecords = append(rv.ConflictRecords, others...)
	}
	return nil
}

// recordsBound bounds how many records of one organisation are followed: an
// organisation signs again a handful of times at most, and a loop in the records as
// the events told them must not hold a request.
const recordsBound = 16

// otherRecords is the records org succeeds and is succeeded by, however far back
// and forward: the same organisation, which withdrew and signed again.
func (a *App) otherRecords(ctx context.Context, org string) ([]string, error) {
	if org == "" {
		return nil, nil
	}
	seen := []string{org}
	for i := 0; i < len(seen) && len(seen) < recordsBound; i++ {
		o, ok, err := a.orgs.Get(ctx, seen[i])
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for _, next := range []string{o.Succeeds, o.SucceededBy} {
			if next != "" && !slices.Contains(seen, next) {
				seen = append(seen, next)
			}
		}
	}
	return seen[1:], nil
}

// markWithdrawn marks the reviewers whose organisation has withdrawn from the
// Commitment, reading each organisation once, with the other records of their
// organisation and of those they declared a conflict with (see records).
func (a *App) markWithdrawn(ctx context.Context, reviewers []round.Reviewer) error {
	withdrawn, known := map[string]bool{}, map[string][]string{}
	for i, rv := range reviewers {
		if err := a.recordsKnown(ctx, &reviewers[i], known); err != nil {
			return err
		}
		gone, seen := withdrawn[rv.Org]
		if !seen {
			var err error
			if gone, err = a.orgWithdrawn(ctx, rv.Org); err != nil {
				return err
			}
			withdrawn[rv.Org] = gone
		}
		reviewers[i].OrgWithdrawn = gone
	}
	return nil
}

// Remove takes a reviewer off a submission (ops).
func (a *App) Remove(ctx context.Context, by auth.Principal, id, sub, reviewer, reason string) (*round.Round, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff remove reviewers")
	}
	return a.changeRound(ctx, by.Actor(), id, func(r *round.Round) ([]events.Payload, error) { return r.Remove(sub, reviewer, reason) })
}

// Assignment is a reviewer's assignment as they see it.
type Assignment struct {
	RoundID, RoundName string
	// OrganisationName is the submitting organisation's ("" when the service did not
	// record it).
	OrganisationName string
	Deadline         time.Time
	// Overdue says the review is outstanding past the deadline, now.
	Overdue bool
	// Answerable says the reviewer can still accept or decline: it awaits their
	// answer, the round is open and the deadline has not passed.
	Answerable bool
	// RoundOpen says the round still takes answers and reviews (ops have not closed it).
	RoundOpen bool
	round.Assignment
}

// Page asks for one page of a list: at most Limit items after the position Cursor
// (an opaque next_cursor of a previous page, or "" for the first page).
type Page struct {
	Limit  int
	Cursor string
}

// cursorAt is the position a cursor carries: the sort key of the last item given.
type cursorAt struct {
	After string `json:"a"`
}

// paged returns the page of items (sorted by key, keys unique) that p asks for, and
// the cursor of the next page ("" on the last).
func paged[T any](items []T, key func(T) string, p Page) ([]T, string, error) {
	if p.Limit < 1 || p.Limit > 200 {
		return nil, "", apperr.Field("limit", "must be 1 to 200")
	}
	after := ""
	if p.Cursor != "" {
		var c cursorAt
		if err := store.DecodeCursor(p.Cursor, &c); err != nil {
			return nil, "", err
		}
		after = c.After
	}
	sort.SliceStable(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := sort.Search(len(items), func(i int) bool { return after == "" || key(items[i]) > after })
	out := items[start:]
	if len(out) <= p.Limit {
		return out, "", nil
	}
	out = out[:p.Limit]
	return out, store.EncodeCursor(cursorAt{After: key(out[len(out)-1])}), nil
}

// Respond accepts or declines an assignment (the assigned reviewer) and returns it as
// it now stands.
func (a *App) Respond(ctx context.Context, by auth.Principal, id, sub string, accept bool, reason string) (Assignment, error) {
	rv, err := a.eligibleReviewer(ctx, by, sub)
	if err != nil {
		return Assignment{}, err
	}
	r, err := a.changeRound(ctx, by.Actor(), id, func(r *round.Round) ([]events.Payload, error) {
		if accept {
			if err := r.StillEligible(rv, sub); err != nil {
				return nil, err
			}
			return r.Accept(sub, by.Subject, a.clock.Now())
		}
		return r.Decline(sub, by.Subject, reason)
	})
	if err != nil {
		return Assignment{}, err
	}
	return a.assignmentIn(ctx, r, sub, by.Subject)
}

func (a *App) assignmentIn(ctx context.Context, r *round.Round, sub, reviewer string) (Assignment, error) {
	as, _ := r.Assignment(sub, reviewer)
	name, err := a.currentName(ctx, submitter(r, sub), r.OrganisationName(sub))
	if err != nil {
		return Assignment{}, err
	}
	now, open := a.clock.Now(), r.Status() == round.StatusOpen
	return Assignment{RoundID: r.ID(), RoundName: r.Name(), OrganisationName: name, Deadline: r.Deadline(), Overdue: r.Overdue(as, now),
		Answerable: round.Answerable(as.State, open, r.Deadline(), now), RoundOpen: open, Assignment: as}, nil
}

// currentName is what a reviewer is told an organisation is called: its name as the
// signatory service last gave it, else named (the name the round holds for its
// submission), else "". A round keeps the name a submission's organisation had when
// the submission was added, so that its events read the same to every release;
// ITSS may have corrected it since (OrganisationDetailsCorrectedV1).
func (a *App) currentName(ctx context.Context, org, named string) (string, error) {
	if org == "" {
		return named, nil
	}
	now := a.clock.Now()
	name, ok, gen := a.names.get(org, now)
	if !ok {
		o, found, err := a.orgs.Get(ctx, org)
		if err != nil {
			return "", fmt.Errorf("read organisation %s: %w", org, err)
		}
		if name = ""; found {
			name = o.Name
		}
		a.names.put(org, name, now, gen)
	}
	return cmp.Or(name, named), nil
}

// naming is round r naming the submissions its refusals name by their
// organisations' names as they now stand (see round.Naming), read only when a refusal
// names one. A name that cannot be read leaves the name the round holds: the refusal
// is still what it says, in the words it had before names could be corrected.
func (a *App) naming(ctx context.Context, r *round.Round) *round.Round {
	return r.Naming(func(sub string) string {
		name, err := a.currentName(ctx, submitter(r, sub), "")
		if err != nil {
			return ""
		}
		return name
	})
}

// submitter is the organisation whose submission sub of round r is, whether the
// round still holds it or let it go to a later round ("" for one it never held).
func submitter(r *round.Round, sub string) string {
	if org, ok := r.Organisation(sub); ok {
		return org
	}
	_, org, _ := r.Moved(sub)
	return org
}

// eligibleReviewer is the caller as a pool member, with whether their organisation
// has withdrawn, for round.StillEligible.
func (a *App) eligibleReviewer(ctx context.Context, by auth.Principal, sub string) (round.Reviewer, error) {
	rv, err := a.reviewer(ctx, by, "no assignment of yours for "+sub)
	if err != nil {
		return round.Reviewer{}, err
	}
	err = a.standing(ctx, &rv)
	return rv, err
}

// SubmissionToReview returns a submission to a reviewer assigned to it.
func (a *App) SubmissionToReview(ctx context.Context, by auth.Principal, id, sub string) (*submission.Submission, error) {
	if err := a.assigned(ctx, by, id, sub); err != nil {
		return nil, err
	}
	return a.loadSubmission(ctx, sub)
}

// SubmitReview records the caller's review (the assigned reviewer) and returns their
// assignment as it now stands.
func (a *App) SubmitReview(ctx context.Context, by auth.Principal, id, sub string, themes []events.ThemeReview, summary string) (Assignment, error) {
	rv, err := a.eligibleReviewer(ctx, by, sub)
	if err != nil {
		return Assignment{}, err
	}
	r, err := a.changeRound(ctx, by.Actor(), id, func(r *round.Round) ([]events.Payload, error) {
		if err := r.StillEligible(rv, sub); err != nil {
			return nil, err
		}
		return r.SubmitReview(sub, by.Subject, themes, summary)
	})
	if err != nil {
		return Assignment{}, err
	}
	return a.assignmentIn(ctx, r, sub, by.Subject)
}

// Review is a review as a reader may see it: ops see who wrote it; a reviewer sees
// the other reviews only once their own is in, and never who wrote them.
type Review struct {
	Author     string
	ReviewerID string // for ops only
	Themes     []events.ThemeReview
	Summary    string
	// ReturnedReason and WithheldReason are ops' moderation, shown to ops and to the
	// review's own reviewer.
	ReturnedReason, WithheldReason string
}

// Reviews lists a submission's reviews by the reviewers still on it. For a reviewer
// who has not yet submitted their own, the others are hidden (hidden is true); they
// never see reviews returned for revision or withheld.
func (a *App) Reviews(ctx context.Context, by auth.Principal, id, sub string) (reviews []Review, hidden bool, err error) {
	var rv round.Reviewer
	notIn := apperr.New(apperr.NotFound, "submission %s is not in review round %s", sub, id)
	if !by.IsOps() {
		// A reviewer is told what is true whichever it is (not in the pool, the
		// submission not in the round, not assigned to it), and so learns nothing
		// of the round: "not in the round" misled one who simply was not assigned.
		notIn = apperr.New(apperr.NotFound, "no assignment of yours for %s in review round %s", sub, id)
		if rv, err = a.reviewer(ctx, by, notIn.Message); err != nil {
			return nil, false, err
		}
		if err = a.standing(ctx, &rv); err != nil {
			return nil, false, err
		}
	}
	r, err := a.loadRound(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if _, in := r.Organisation(sub); !in {
		return nil, false, notIn
	}
	if !by.IsOps() {
		own, ok := r.Assignment(sub, by.Subject)
		if !ok || (own.State != round.Assigned && own.State != round.Accepted) {
			return nil, false, notIn
		}
		if err := a.naming(ctx, r).StillEligible(rv, sub); err != nil {
			return nil, false, err
		}
		if own.Review == nil {
			return []Review{}, true, nil
		}
	}
	out := []Review{}
	n := 0
	for _, as := range r.AssignmentsOf(sub) {
		if as.Review == nil || (as.State != round.Assigned && as.State != round.Accepted) {
			continue
		}
		rv := Review{Themes: as.Review.Themes, Summary: as.Review.Summary}
		switch {
		case by.IsOps():
			rv.Author, rv.ReviewerID = as.Name, as.ReviewerID
			rv.ReturnedReason, rv.WithheldReason = as.ReturnedReason, as.WithheldReason
		case as.ReviewerID == by.Subject:
			rv.Author = "You"
			rv.ReturnedReason, rv.WithheldReason = as.ReturnedReason, as.WithheldReason
		case !as.Counts():
			continue
		default:
			n++
			rv.Author = fmt.Sprintf("Reviewer %d", n)
		}
		out = append(out, rv)
	}
	return out, false, nil
}

// ReturnReview sends a review back to its reviewer for revision, with the reason (ops).
func (a *App) ReturnReview(ctx context.Context, by auth.Principal, id, sub, reviewer, reason string) (Review, error) {
	return a.moderate(ctx, by, id, sub, reviewer, func(r *round.Round) ([]events.Payload, error) { return r.ReturnReview(sub, reviewer, reason) })
}

// WithholdReview holds a review back from the consolidated feedback, with the reason (ops).
func (a *App) WithholdReview(ctx context.Context, by auth.Principal, id, sub, reviewer, reason string) (Review, error) {
	return a.moderate(ctx, by, id, sub, reviewer, func(r *round.Round) ([]events.Payload, error) { return r.WithholdReview(sub, reviewer, reason) })
}

func (a *App) moderate(ctx context.Context, by auth.Principal, id, sub, reviewer string, decide func(*round.Round) ([]events.Payload, error)) (Review, error) {
	if !by.IsOps() {
		return Review{}, apperr.New(apperr.Forbidden, "only ITSS operations staff moderate reviews")
	}
	r, err := a.changeRound(ctx, by.Actor(), id, decide)
	if err != nil {
		return Review{}, err
	}
	as, _ := r.Assignment(sub, reviewer)
	return Review{Author: as.Name, ReviewerID: as.ReviewerID, Themes: as.Review.Themes, Summary: as.Review.Summary,
		ReturnedReason: as.ReturnedReason, WithheldReason: as.WithheldReason}, nil
}

// CloseRound closes a round to assignment changes, answers and new reviews (ops).
func (a *App) CloseRound(ctx context.Context, by auth.Principal, id, reason string) (*round.Round, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff run review rounds")
	}
	return a.changeRound(ctx, by.Actor(), id, func(r *round.Round) ([]events.Payload, error) { return r.Close(reason) })
}

// ReleaseFeedback releases consolidated feedback to the institution (ops).
func (a *App) ReleaseFeedback(ctx context.Context, by auth.Principal, id, sub, text string) (round.Feedback, error) {
	if !by.IsOps() {
		return round.Feedback{}, apperr.New(apperr.Forbidden, "only ITSS operations staff moderate and release feedback")
	}
	var to round.Contact
	if cur, err := a.loadRound(ctx, id); err == nil {
		if org, in := cur.Organisation(sub); in {
			o, _, err := a.orgs.Get(ctx, org)
			if err != nil {
				return round.Feedback{}, err
			}
			to = round.Contact{OrganisationName: o.Name, LeadName: o.LeadName, LeadEmail: o.LeadEmail}
		}
	}
	r, err := a.changeRound(ctx, by.Actor(), id, func(r *round.Round) ([]events.Payload, error) { return r.ReleaseFeedback(sub, text, to) })
	if err != nil {
		return round.Feedback{}, err
	}
	f, _ := r.Feedback(sub)
	return f, nil
}

// SweepOverdue records reviews outstanding past their round's deadline, and returns
// how many it marked.
func (a *App) SweepOverdue(ctx context.Context) (int, error) {
	marked, _, err := a.markOverdue(ctx)
	return marked, err
}

// markOverdue records reviews outstanding past their round's deadline and says when
// the next deadline with outstanding reviews falls (zero if none does). A review of
// the submission of an organisation that has withdrawn is not chased: its reviewer is
// taken off it (see OrganisationWithdrawn, whose work this finishes when it could not);
// nor is one a reviewer erased at their request owes: they are taken off it
// (takeOffErased); nor one owed by a reviewer whose own organisation withdrew: they
// are taken off it too (reviewersOfWithdrawn, finishing OrganisationWithdrawn's work).
func (a *App) markOverdue(ctx context.Context) (marked int, next time.Time, err error) {
	rounds, err := a.openRounds(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	var withdrawn map[string]bool
	if len(rounds) > 0 {
		if withdrawn, err = a.orgs.Withdrawn(ctx); err != nil {
			return 0, time.Time{}, err
		}
	}
	// The reviewers owing a review whose own organisation withdrew, which the
	// withdrawal's handler took off unless it could not see them.
	gone, err := a.reviewersOfWithdrawn(ctx, rounds, withdrawn, withdrawnReviewersMaxAge)
	if err != nil {
		return 0, time.Time{}, err
	}
	now := a.clock.Now()
	erased := map[string]bool{} // the pool's word on each reviewer asked, once a pass
	for _, r := range rounds {
		if len(r.TakeOffWithdrawn(withdrawn)) > 0 {
			if r, _, err = a.takeOff(ctx, r.ID(), theWithdrawnsSubmissions(withdrawn)); err != nil {
				return marked, time.Time{}, err
			}
		}
		if r, err = a.takeOffErased(ctx, r, erased); err != nil {
			return marked, time.Time{}, err
		}
		if len(r.TakeOffReviewersOfWithdrawn(gone)) > 0 {
			if r, _, err = a.takeOff(ctx, r.ID(), theWithdrawnsReviewers(gone)); err != nil {
				return marked, time.Time{}, err
			}
		}
		if len(r.MarkOverdue(now, withdrawn)) == 0 {
			if d := r.NextDeadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
			continue
		}
		if _, err := a.changeRound(ctx, "system:review-deadline", r.ID(), func(r *round.Round) ([]events.Payload, error) {
			p := r.MarkOverdue(now, withdrawn)
			marked += len(p)
			return p, nil
		}); err != nil {
			return marked, time.Time{}, err
		}
	}
	return marked, next, nil
}

// erasureActor is who the rounds' log says took an erased reviewer off their
// assignments: the service, on the signatory service's word that they were erased.
const erasureActor = "system:person-erased"

// takeOffErased takes the reviewers erased at their request off the assignments of
// round r whose review they have not put in (see round.TakeOffErased), and returns
// the round as it then is. Erasure destroys the key their name and address were
// sealed under, so a round rebuilt from the log after it holds no address for them
// (round.Unreachable); the pool's record says whether that is an erasure (erased
// caches its word for the pass). The erasure's consumer wakes the deadline watch
// (Forget), whose pass runs this at once; any pass after catches what one missed
// (the rounds' read model rebuilt at that moment, a replica stopped).
func (a *App) takeOffErased(ctx context.Context, r *round.Round, erased map[string]bool) (*round.Round, error) {
	unreachable := r.Unreachable()
	if len(unreachable) == 0 {
		return r, nil
	}
	for _, id := range unreachable {
		if _, asked := erased[id]; asked {
			continue
		}
		rv, ok, err := a.loadReviewer(ctx, id)
		if err != nil {
			return r, err
		}
		erased[id] = ok && rv.Erased
	}
	if len(r.TakeOffErased(erased)) == 0 {
		return r, nil
	}
	return a.changeRound(ctx, erasureActor, r.ID(), func(r *round.Round) ([]events.Payload, error) { return r.TakeOffErased(erased), nil })
}

// roundChanged wakes the deadline timer when a round changed in this process brings
// its next deadline nearer, so that deadline is timed at once.
func (a *App) roundChanged() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// WatchDeadlines notices each round's review deadline as it passes: it sets a timer
// for the earliest deadline with reviews outstanding and records them overdue when it
// fires. The timer is re-armed when a round changes here, and at least every recheck
// besides, which bounds how late a deadline is noticed when the round was changed by
// another replica or the clock jumped.
func (a *App) WatchDeadlines(ctx context.Context, recheck time.Duration, warn func(error)) error {
	for {
		_, next, err := a.markOverdue(ctx)
		if err != nil && ctx.Err() == nil {
			warn(err)
		}
		wait := recheck
		if !next.IsZero() {
			if until := next.Sub(a.clock.Now()); until < wait {
				wait = max(until, 0)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-a.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

func (a *App) assigned(ctx context.Context, by auth.Principal, id, sub string) error {
	rv, err := a.eligibleReviewer(ctx, by, sub)
	if err != nil {
		return err
	}
	r, err := a.loadRound(ctx, id)
	if err != nil {
		return err
	}
	as, ok := r.Assignment(sub, by.Subject)
	if !ok || (as.State != round.Assigned && as.State != round.Accepted) {
		return apperr.New(apperr.NotFound, "no assignment of yours for %s", sub)
	}
	return a.naming(ctx, r).StillEligible(rv, sub)
}

// allRounds is every round, for automatic assignment, which weighs the reviewers' load
// in the rounds before (an ops command, a few times a round).
func (a *App) allRounds(ctx context.Context) ([]*round.Round, error) {
	all, err := a.events.LoadByType(ctx, round.AggregateType)
	if err != nil {
		return nil, err
	}
	byID := map[string][]events.Envelope{}
	var ids []string
	for _, e := range all {
		if _, ok := byID[e.AggregateID]; !ok {
			ids = append(ids, e.AggregateID)
		}
		byID[e.AggregateID] = append(byID[e.AggregateID], e)
	}
	out := make([]*round.Round, 0, len(ids))
	for _, id := range ids {
		h := byID[id]
		sort.Slice(h, func(i, j int) bool { return h[i].Version < h[j].Version })
		r, err := a.rebuildRound(id, h)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// openRounds are the rounds still open, as the rounds' read model lists them, loaded:
// the deadline watch need not replay rounds long closed.
func (a *App) openRounds(ctx context.Context) ([]*round.Round, error) {
	ids, err := a.listedRounds(ctx, func(e RoundEntry) bool { return e.Status == round.StatusOpen })
	if err != nil {
		return nil, err
	}
	return a.loadRounds(ctx, ids)
}

// openRoundsNow are the rounds open now, as the event store holds them: every round
// in its catalogue, read afresh, but those the rounds' read model lists as closed (a
// round once closed never opens again). Unlike openRounds it misses no round the
// read model has yet to list, nor any change to one, so a check that must see every
// assignment in force reads it (a few open rounds at a time).
func (a *App) openRoundsNow(ctx context.Context) ([]*round.Round, error) {
	ids, err := a.events.IDsOfType(ctx, round.AggregateType)
	if err != nil {
		return nil, err
	}
	closed, err := a.listedRounds(ctx, func(e RoundEntry) bool { return e.Status != round.StatusOpen })
	if err != nil {
		return nil, err
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(closed, id) })
	rounds, err := a.loadRounds(ctx, ids)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(rounds, func(r *round.Round) bool { return !r.Exists() || r.Status() != round.StatusOpen }), nil
}

// listedRounds pages through the rounds' read model and returns the ids of the
// entries match takes, in its order.
func (a *App) listedRounds(ctx context.Context, match func(RoundEntry) bool) ([]string, error) {
	var ids []string
	var after *RoundEntry
	for {
		page, more, err := a.read.Rounds(ctx, after, 200)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if match(e) {
				ids = append(ids, e.ID)
			}
		}
		if !more || len(page) == 0 {
			return ids, nil
		}
		after = &page[len(page)-1]
	}
}

// loadRounds loads the rounds ids names from the event store, in that order.
func (a *App) loadRounds(ctx context.Context, ids []string) ([]*round.Round, error) {
	histories, err := a.events.LoadMany(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("load the open review rounds: %w", err)
	}
	out := make([]*round.Round, 0, len(ids))
	for _, id := range ids {
		r, err := a.rebuildRound(id, histories[id])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (a *App) changeSubmission(ctx context.Context, actor, id string, decide func(*submission.Submission) ([]events.Payload, error)) (*submission.Submission, error) {
	s, appended, err := store.Change(ctx, a.events, store.Command{AggregateType: submission.AggregateType, AggregateID: id, Actor: actor},
		func(h []events.Envelope) (*submission.Submission, error) {
			return submission.Rebuild(id, only(submission.AggregateType, h))
		}, decide)
	if err == nil && len(appended) > 0 && s.Exists() {
		a.read.Hold(Changes{Submissions: []SubmissionEntry{submissionEntry(s)}})
	}
	return s, err
}

// changeRound decides and appends a change to round id, and wakes the deadline watch
// when the change brings the round's next deadline nearer (a first assignment, a
// review returned): only then can the watch's timer be set too late. An accept, a
// review or a removal leaves the deadline or moves it away, and the timer firing
// early finds nothing and is set again; waking the watch for them made it load every
// open round from the log beside each of a round's busiest commands.
func (a *App) changeRound(ctx context.Context, actor, id string, decide func(*round.Round) ([]events.Payload, error)) (*round.Round, error) {
	var before time.Time // the round's next deadline before the attempt that was kept
	r, appended, err := store.Change(ctx, a.events, store.Command{AggregateType: round.AggregateType, AggregateID: id, Actor: actor, MaxAttempts: 200, Combine: true},
		func(h []events.Envelope) (*round.Round, error) { return a.rebuildRound(id, h) },
		func(r *round.Round) ([]events.Payload, error) {
			before = r.NextDeadline()
			return decide(a.naming(ctx, r))
		})
	if err == nil {
		a.holdRound(r, appended)
		if after := r.NextDeadline(); len(appended) > 0 && !after.IsZero() && (before.IsZero() || after.Before(before)) {
			a.roundChanged()
		}
	}
	return r, err
}

func (a *App) loadSubmission(ctx context.Context, id string) (*submission.Submission, error) {
	h, err := a.events.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	return submission.Rebuild(id, only(submission.AggregateType, h))
}

func (a *App) loadRound(ctx context.Context, id string) (*round.Round, error) {
	h, err := a.events.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	return a.rebuildRound(id, h)
}

// rebuildRound is the round that history (its events from the first) makes. A round
// is one aggregate that every assignment, answer and review changes, so commands on
// it race and retry: replaying hundreds of its events at every attempt made each
// attempt long and the queue behind it longer. The latest round rebuilt is kept and
// continued from; it is never changed in place (Continue copies it).
func (a *App) rebuildRound(id string, history []events.Envelope) (*round.Round, error) {
	history = only(round.AggregateType, history)
	a.mu.Lock()
	held := a.rounds[id]
	a.mu.Unlock()
	var r *round.Round
	var err error
	if n := len(history); held != nil && n > 0 && history[n-1].Version >= held.Version() && history[0].Version == 1 {
		r, err = held.Continue(history)
	} else {
		r, err = round.Rebuild(id, history)
	}
	if err != nil || !r.Exists() {
		return r, err
	}
	a.mu.Lock()
	if cur := a.rounds[id]; cur == nil || cur.Version() < r.Version() {
		a.rounds[id] = r
	}
	a.mu.Unlock()
	return r, nil
}

// SubmissionQuery filters the submissions list.
type SubmissionQuery struct {
	Org    string
	Status string
	Limit  int
	Cursor string // the last id of the previous page
}

// Listed is a submission with where it stands in review.
type Listed struct {
	*submission.Submission
	Status string
	// RoundID is the review round it is in ("" when none).
	RoundID string
}

// only returns history if it is an aggregate of the given type, and none otherwise: an
// id of another kind of aggregate (a round's id given as a submission's) names
// nothing, rather than failing to replay.
func only(aggregateType string, history []events.Envelope) []events.Envelope {
	if len(history) > 0 && history[0].AggregateType != aggregateType {
		return nil
	}
	return history
}

// Now is the service's clock, for views that depend on the time (whether a review is
// overdue).
func (a *App) Now() time.Time { return a.clock.Now() }

// Forget drops what the app holds in memory of these aggregates: a person erased
// from their events must not be served from a round rebuilt before (the next read
// rebuilds it from the log, where the person reads as erased). A reviewer's erasure
// wakes the deadline watch, whose pass takes them off the assignments whose review
// they have not put in (takeOffErased).
func (a *App) Forget(aggregateIDs []string) {
	a.mu.Lock()
	reviewer := false
	for _, id := range aggregateIDs {
		delete(a.rounds, id)
		reviewer = reviewer || strings.HasPrefix(id, reviewerAggregate(""))
	}
	a.mu.Unlock()
	if reviewer {
		a.roundChanged()
	}
}
