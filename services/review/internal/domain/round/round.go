// Package round is a peer-review round: the submissions in it, who reviews each, the
// reviews, and the consolidated feedback ops release. Everything that must not be
// decided twice (an assignment, a review) is in this one aggregate, so concurrent
// commands on a round are serialised by the event store's unique index.
package round

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/review/internal/domain/assign"
	"github.com/itss/techcommit/services/review/internal/domain/submission"
)

// AggregateType names review rounds in the event store.
const AggregateType = "review_round"

// Assignment states.
const (
	Assigned = "assigned"
	Accepted = "accepted"
	Declined = "declined"
	Removed  = "removed"
)

// Round statuses. A round is open while reviewers are assigned, answer and review;
// ops close it (at or after the deadline, or earlier) to moderate a settled set of
// reviews; it is feedback_released once every submission's feedback is out.
const (
	StatusOpen             = "open"
	StatusClosed           = "closed"
	StatusFeedbackReleased = "feedback_released"
)

// Reviewer is a pool member as the round needs to know them.
type Reviewer struct {
	assign.Reviewer
	Name  string
	Email string
}

// Assignment is one reviewer on one submission.
type Assignment struct {
	SubmissionID string
	ReviewerID   string
	Name, Email  string
	State        string
	// Overdue is true once the overdue event is recorded (the reviewer was chased);
	// see Round.Overdue for whether the review is outstanding past the deadline now.
	Overdue bool
	Review  *events.ReviewSubmittedV1
	// ReturnedReason is set while ops have returned the review for revision.
	ReturnedReason string
	// WithheldReason is set when ops hold the review back from the feedback.
	WithheldReason string
	// DeclinedReason is the reviewer's reason for declining, for ops: often a
	// conflict of interest they will want to record in the pool.
	DeclinedReason string
}

// Counts says whether the assignment's review counts towards the feedback: in, not
// returned for revision, not withheld, by a reviewer still on the submission.
func (a Assignment) Counts() bool {
	return a.Review != nil && a.ReturnedReason == "" && a.WithheldReason == "" && (a.State == Assigned || a.State == Accepted)
}

// Reviewed says whether the reviewer's review is in (and not returned to them).
func (a Assignment) Reviewed() bool { return a.Review != nil && a.ReturnedReason == "" }

// AwaitsRevision says the review was returned to a reviewer still on the submission
// and not withheld: until they revise it, the submission's feedback waits for it.
func (a Assignment) AwaitsRevision() bool {
	return a.Review != nil && a.ReturnedReason != "" && a.WithheldReason == "" && (a.State == Assigned || a.State == Accepted)
}

// Answerable says whether a reviewer can still accept or decline an assignment in
// state: it awaits their answer, its round is open and the deadline has not passed.
func Answerable(state string, roundOpen bool, deadline, now time.Time) bool {
	return state == Assigned && roundOpen && now.Before(deadline)
}

// Feedback is what the institution sees.
type Feedback struct {
	Text   string
	Scores []events.ThemeScore
}

// Contact is who at the institution is told the feedback is released.
type Contact struct {
	OrganisationName, LeadName, LeadEmail string
}

// DefaultReviewersPerSubmission is how many reviewers a submission gets unless the
// round says otherwise.
const DefaultReviewersPerSubmission = 2

// Round is the aggregate.
type Round struct {
	id          string
	version     int
	name        string
	deadline    time.Time
	perSub      int
	closed      bool
	submissions map[string]string // submission -> organisation, of every one ever added
	orgNames    map[string]string // submission -> organisation's name, as it was when added (the round's events carry it)
	placements  map[string]int    // submission -> its placement's sequence (0 before they were recorded)
	moved       map[string]string // submission -> the later round it moved to
	order       []string
	assignments map[assign.Pair]*Assignment
	feedback    map[string]Feedback
	// namedNow, set on a copy by Naming, gives the name as it now stands of the
	// organisation whose submission a message names ("" when it has none): ITSS may
	// have corrected it since the submission was added. It is no part of the round's
	// state, which its events alone make.
	namedNow func(sub string) string
}

// Rebuild replays history.
func Rebuild(id string, history []events.Envelope) (*Round, error) {
	r := &Round{id: id, submissions: map[string]string{}, orgNames: map[string]string{}, placements: map[string]int{}, moved: map[string]string{},
		assignments: map[assign.Pair]*Assignment{}, feedback: map[string]Feedback{}}
	for _, e := range history {
		if err := r.apply(e); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Continue returns the round as of history, the round's events from its first: r is
// copied and only the events after its version are applied, so that a command on a
// long round does not replay every event of it at every attempt. r is not changed;
// when history holds nothing after it, r itself is the answer.
func (r *Round) Continue(history []events.Envelope) (*Round, error) {
	if n := len(history); n == 0 || history[n-1].Version <= r.version {
		// Nothing after r: r itself, which is never changed in place. Copying it
		// cost every read of a round what the round holds (a read of one
		// submission's reviews in a round of 200 copied 200 assignments).
		return r, nil
	}
	c := r.clone()
	for _, e := range history {
		if e.Version <= c.version {
			continue
		}
		if err := c.apply(e); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// clone copies the round deeply enough for apply to change the copy alone (the
// reviews and feedback it points to are never changed in place).
func (r *Round) clone() *Round {
	c := *r
	c.submissions, c.orgNames, c.feedback = maps.Clone(r.submissions), maps.Clone(r.orgNames), maps.Clone(r.feedback)
	c.placements, c.moved = maps.Clone(r.placements), maps.Clone(r.moved)
	c.order = slices.Clone(r.order)
	c.assignments = make(map[assign.Pair]*Assignment, len(r.assignments))
	for p, a := range r.assignments {
		cp := *a
		c.assignments[p] = &cp
	}
	return &c
}

// ID is the round's id.
func (r *Round) ID() string { return r.id }

// Version is the version of the round's last event, which its read models carry so
// that an older copy never replaces a newer one.
func (r *Round) Version() int { return r.version }

// ReviewersPerSubmission is the N automatic assignment fills each submission to.
func (r *Round) ReviewersPerSubmission() int { return r.perSub }

// The accessors below read the state as replayed.
func (r *Round) Exists() bool        { return r.version > 0 }
func (r *Round) Name() string        { return r.name }
func (r *Round) Deadline() time.Time { return r.deadline }

// Submissions are the submissions in the round, in the order they were added: not
// those it let go to a later round (see MovedTo).
func (r *Round) Submissions() []string {
	out := make([]string, 0, len(r.order))
	for _, id := range r.order {
		if _, gone := r.moved[id]; !gone {
			out = append(out, id)
		}
	}
	return out
}

// Status is where the round stands: open, closed or feedback_released (once every
// submission still in it has its feedback out). A closed round whose submissions
// all moved to later rounds has nothing left to release: it is done, as one whose
// last feedback is out. One closed without ever holding a submission stays closed.
func (r *Round) Status() string {
	if !r.closed {
		return StatusOpen
	}
	for _, id := range r.Submissions() {
		if _, released := r.feedback[id]; !released {
			return StatusClosed
		}
	}
	if len(r.order) == 0 {
		return StatusClosed
	}
	return StatusFeedbackReleased
}

// Overdue says whether an assignment's review is outstanding past the deadline at
// now: read from the clock, so it is true the moment the deadline passes, before any
// event records it, and false again once the review is in (late), the reviewer is off
// it, or the round is closed and takes no more reviews.
func (r *Round) Overdue(a Assignment, now time.Time) bool {
	return !now.Before(r.deadline) && !r.closed && r.outstanding(&a)
}

// NextDeadline is when the round next needs an overdue check: its deadline while
// reviews are outstanding and not yet recorded as overdue, or zero when nothing
// remains to notice.
func (r *Round) NextDeadline() time.Time {
	if !r.Exists() || r.closed {
		return time.Time{}
	}
	for _, a := range r.assignments {
		if r.outstanding(a) && !a.Overdue {
			return r.deadline
		}
	}
	return time.Time{}
}

// OrganisationName of a submission in the round, as it was when added.
func (r *Round) OrganisationName(sub string) string { return r.orgNames[sub] }

// inWords is how a refusal names the round: by its name, which people gave it, and
// its deadline, since names may repeat (two rounds called "Round Dec" read the same).
func (r *Round) inWords() string {
	if r.name == "" {
		return "review round " + r.id
	}
	if r.deadline.IsZero() {
		return "review round \u201c" + r.name + "\u201d"
	}
	return "review round \u201c" + r.name + "\u201d (reviews due " + londonTime(r.deadline) + ")"
}

// Naming is r naming, in the messages people read (its refusals), each submission
// by what now gives its organisation's name as it now stands, where r would name it
// as it was when added: ITSS may have corrected it since. The round's events still
// carry the name the submission was added with, which every release reads the same.
// now is called only for a message, with the id of a submission the round holds or
// let go; a "" from it leaves the name the round holds. r is not changed.
func (r *Round) Naming(now func(sub string) string) *Round {
	c := *r // what the copy shares, neither changes in place (see Continue)
	c.namedNow = now
	return &c
}

// submissionInWords names a submission of the round in a message people read: by
// whose it is ("Prifysgol Aberwen's submission"), which they know, rather than its
// id (its organisation's name as it now stands, see Naming, else as it was when
// added); by the id only when the round holds no name for its organisation.
func (r *Round) submissionInWords(sub string) string {
	name := ""
	if r.namedNow != nil {
		name = r.namedNow(sub)
	}
	if name = cmp.Or(name, r.orgNames[sub]); name != "" {
		return name + "'s submission"
	}
	return "submission " + sub
}

// nameInWords names the assignment's reviewer in a message: by name, or by their id
// when the assignment holds no name.
func (a *Assignment) nameInWords() string { return nameOr(a.Name, a.ReviewerID) }

// nameOr is name, or id when name is empty.
func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// Organisation of a submission in the round (ok is false for one it never held or
// let go to a later round).
func (r *Round) Organisation(sub string) (string, bool) {
	org, ok := r.submissions[sub]
	if _, gone := r.moved[sub]; gone {
		return "", false
	}
	return org, ok
}

// Moved says whether a submission of this round moved to a later round, which, and
// the submission's organisation.
func (r *Round) Moved(sub string) (to, org string, ok bool) {
	to, ok = r.moved[sub]
	return to, r.submissions[sub], ok
}

// Placement is the sequence of the placement that put sub in this round (0 for a
// submission added before placements were recorded): the submission's read model
// orders what different rounds say of it by it.
func (r *Round) Placement(sub string) int { return r.placements[sub] }

// Assignments lists every assignment, in a stable order.
func (r *Round) Assignments() []Assignment {
	out := make([]Assignment, 0, len(r.assignments))
	for _, a := range r.assignments {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SubmissionID != out[j].SubmissionID {
			return out[i].SubmissionID < out[j].SubmissionID
		}
		return out[i].ReviewerID < out[j].ReviewerID
	})
	return out
}

// AssignmentsOf returns a submission's assignments, by reviewer, without copying the
// round's others.
func (r *Round) AssignmentsOf(sub string) []Assignment {
	var out []Assignment
	for p, a := range r.assignments {
		if p.Submission == sub {
			out = append(out, *a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ReviewerID < out[j].ReviewerID })
	return out
}

// Assignment returns one assignment.
func (r *Round) Assignment(sub, reviewer string) (Assignment, bool) {
	a, ok := r.assignments[assign.Pair{Submission: sub, Reviewer: reviewer}]
	if !ok {
		return Assignment{}, false
	}
	return *a, true
}

// Feedback returns a submission's released feedback.
func (r *Round) Feedback(sub string) (Feedback, bool) {
	f, ok := r.feedback[sub]
	return f, ok
}

func active(a *Assignment) bool { return a.State == Assigned || a.State == Accepted }

// Open starts a round whose reviews are due by deadline, with n reviewers per
// submission (0 for the default).
func (r *Round) Open(name string, deadline time.Time, n int, now time.Time) ([]events.Payload, error) {
	if r.Exists() {
		return nil, apperr.New(apperr.Conflict, "round %s exists", r.id)
	}
	if strings.TrimSpace(name) == "" {
		return nil, apperr.Field("name", "is required")
	}
	if !deadline.After(now) {
		return nil, apperr.Field("review_deadline", "must be in the future")
	}
	if latest := aYearOn(now); deadline.After(latest) {
		return nil, apperr.Field("review_deadline", "must be within a year from now (by %s): reviews are due weeks after a round opens, and a later year is most likely a slip", londonTime(latest))
	}
	if n == 0 {
		n = DefaultReviewersPerSubmission
	}
	if n < 1 || n > 5 {
		return nil, apperr.Field("reviewers_per_submission", "must be 1 to 5")
	}
	return []events.Payload{events.ReviewRoundOpenedV1{RoundID: r.id, Name: strings.TrimSpace(name), ReviewDeadline: deadline.UTC(), ReviewersPerSubmission: n}}, nil
}

// AddSubmission puts a submitted submission into the round; orgName is its
// organisation's name, for the round's events to say whose submission they concern,
// and placement the sequence of its placement in this round (see package placement).
func (r *Round) AddSubmission(s *submission.Submission, orgName string, placement int) ([]events.Payload, error) {
	if err := r.requireOpen("submissions can no longer be added"); err != nil {
		return nil, err
	}
	if !s.Exists() {
		return nil, apperr.Field("submission_ids", "no submission %s", s.ID())
	}
	if s.Status() != submission.StatusSubmitted {
		whose := "that submission"
		if orgName != "" {
			whose = orgName + "'s submission"
		}
		return nil, apperr.New(apperr.Conflict, "%s is %s, not submitted; only submitted ones can be reviewed", whose, statusInWords(s.Status()))
	}
	if _, in := r.Organisation(s.ID()); in {
		return nil, nil
	}
	return []events.Payload{events.RoundSubmissionAddedV1{RoundID: r.id, SubmissionID: s.ID(), OrganisationID: s.OrganisationID(), OrganisationName: orgName,
		Placement: placement}}, nil
}

// Releasable says why a submission of the round may not go to a later round, or nil
// when it may: the round is closed, its feedback there is not released, and nothing
// about it can still be released (no review counts, none returned awaits revision).
// Once true it stays true: a closed round takes no new review but a revision, and
// only a review that counts lets feedback out.
func (r *Round) Releasable(sub string) error {
	if err := r.require(); err != nil {
		return err
	}
	if _, in := r.Organisation(sub); !in {
		return apperr.New(apperr.NotFound, "submission %s is not in review round %s", sub, r.id)
	}
	if !r.closed {
		return apperr.New(apperr.Conflict, "%s is already in %s, which is still open: close it first, and put the submission in a later round if nobody's review of it counts", r.submissionInWords(sub), r.inWords())
	}
	if _, released := r.feedback[sub]; released {
		return apperr.New(apperr.Conflict, "%s is already in %s, and its feedback there is released", r.submissionInWords(sub), r.inWords())
	}
	for _, a := range r.Assignments() {
		if a.SubmissionID != sub {
			continue
		}
		if a.Counts() {
			return apperr.New(apperr.Conflict, "%s has reviews that count in %s: release its feedback there", r.submissionInWords(sub), r.inWords())
		}
		if a.AwaitsRevision() {
			return apperr.New(apperr.Conflict, "%s is in %s, where the review by %s is returned for revision: wait for it, or withhold it, before putting the submission in a later round", r.submissionInWords(sub), r.inWords(), a.nameInWords())
		}
	}
	return nil
}

// MoveSubmission lets a submission go to the later round to (see Releasable). Letting
// it go to the same round again changes nothing.
func (r *Round) MoveSubmission(sub, to string) ([]events.Payload, error) {
	if cur, gone := r.moved[sub]; gone {
		if cur == to {
			return nil, nil
		}
		return nil, apperr.New(apperr.Conflict, "%s already moved from %s to another review round", r.submissionInWords(sub), r.inWords())
	}
	if err := r.Releasable(sub); err != nil {
		return nil, err
	}
	return []events.Payload{events.RoundSubmissionMovedV1{RoundID: r.id, SubmissionID: sub, OrganisationID: r.submissions[sub], ToRoundID: to}}, nil
}

// Weighing is what automatic assignment weighs besides the pool and the rules: the
// expertise each submission most needs and the work reviewers did in earlier rounds.
type Weighing struct {
	// WeakThemes are each submission's weakest self-rated themes, by submission id.
	WeakThemes map[string][]string
	// History is each reviewer's reviews in the previous rounds (see History).
	History map[string]int
	// Withdrawn are the organisations, by id, that have withdrawn from the
	// Commitment: their submissions are no longer reviewed, so get no reviewers.
	Withdrawn map[string]bool
}

// AutoAssign fills every submission whose feedback is not yet released up to n
// reviewers (0: the round's number) from the pool: the most reviews the rules allow,
// then the most with expertise in the submission's weakest themes, then the most even
// load over this round and the previous ones (assign.Plan).
func (r *Round) AutoAssign(pool []Reviewer, n int, w Weighing, now time.Time) ([]events.Payload, assign.Result, error) {
	if err := r.requireOpen("assignments no longer change"); err != nil {
		return nil, assign.Result{}, err
	}
	if err := r.beforeDeadline(now); err != nil {
		return nil, assign.Result{}, err
	}
	if n == 0 {
		n = r.perSub
	}
	if n < 1 || n > 5 {
		return nil, assign.Result{}, apperr.Field("reviewers_per_submission", "must be 1 to 5")
	}
	in := assign.Input{PerSubmission: n, History: w.History}
	byID := map[string]Reviewer{}
	for _, rv := range pool {
		in.Reviewers = append(in.Reviewers, rv.Reviewer)
		byID[rv.ID] = rv
	}
	for _, id := range r.Submissions() {
		if _, released := r.feedback[id]; !released && !w.Withdrawn[r.submissions[id]] {
			in.Submissions = append(in.Submissions, assign.Submission{ID: id, Org: r.submissions[id], WeakThemes: w.WeakThemes[id]})
		}
	}
	for p, a := range r.assignments {
		if active(a) {
			in.Current = append(in.Current, p)
		} else {
			in.Excluded = append(in.Excluded, p)
		}
	}
	res := assign.Plan(in)
	var out []events.Payload
	for _, p := range res.Adds {
		rv := byID[p.Reviewer]
		out = append(out, events.ReviewerAssignedV1{RoundID: r.id, SubmissionID: p.Submission, OrganisationID: r.submissions[p.Submission],
			ReviewerID: rv.ID, ReviewerName: rv.Name, ReviewerEmail: rv.Email, ReviewDeadline: r.deadline,
			RoundName: r.name, OrganisationName: r.orgNames[p.Submission]})
	}
	return out, res, nil
}

// Load counts each reviewer's assignments in force in the round (assigned or
// accepted, reviewed or not): the work they took on. Declined and removed ones are
// not theirs.
func (r *Round) Load() map[string]int {
	out := map[string]int{}
	for _, a := range r.assignments {
		if active(a) {
			out[a.ReviewerID]++
		}
	}
	return out
}

// HistoryRounds is how many previous rounds fairness counts: two years, at two
// rounds a year. Work done longer ago no longer weighs on who reviews next.
const HistoryRounds = 4

// History sums each reviewer's load over the previous rounds: the HistoryRounds
// rounds of all whose deadlines come last before r's. It returns the sums and how
// many rounds they cover.
func History(r *Round, all []*Round) (map[string]int, int) {
	var before []*Round
	for _, o := range all {
		if o.id != r.id && o.Exists() && o.deadline.Before(r.deadline) {
			before = append(before, o)
		}
	}
	sort.Slice(before, func(i, j int) bool {
		if !before[i].deadline.Equal(before[j].deadline) {
			return before[i].deadline.After(before[j].deadline)
		}
		return before[i].id < before[j].id
	})
	if len(before) > HistoryRounds {
		before = before[:HistoryRounds]
	}
	out := map[string]int{}
	for _, o := range before {
		for id, n := range o.Load() {
			out[id] += n
		}
	}
	return out, len(before)
}

// Assign assigns a reviewer by hand, with the reason recorded. The conflict rules
// still hold; capacity is ops' call.
func (r *Round) Assign(rv Reviewer, sub, reason string, now time.Time) ([]events.Payload, error) {
	if err := r.requireOpen("assignments no longer change"); err != nil {
		return nil, err
	}
	if err := r.beforeDeadline(now); err != nil {
		return nil, err
	}
	org, ok := r.Organisation(sub)
	if !ok {
		return nil, apperr.Field("submission_id", "submission %s is not in this round", sub)
	}
	if _, released := r.feedback[sub]; released {
		return nil, apperr.New(apperr.Conflict, "feedback on %s is already released", r.submissionInWords(sub))
	}
	if why := assign.Eligible(rv.Reviewer, assign.Submission{ID: sub, Org: org}); why != "" {
		return nil, apperr.New(apperr.Conflict, "%s may not review %s: %s", nameOr(rv.Name, rv.ID), r.submissionInWords(sub), why)
	}
	if a, ok := r.assignments[assign.Pair{Submission: sub, Reviewer: rv.ID}]; ok && active(a) {
		return nil, nil
	}
	if strings.TrimSpace(reason) == "" {
		return nil, apperr.Field("reason", "record why this assignment is made by hand")
	}
	return []events.Payload{events.ReviewerAssignedV1{RoundID: r.id, SubmissionID: sub, OrganisationID: org, ReviewerID: rv.ID,
		ReviewerName: rv.Name, ReviewerEmail: rv.Email, ReviewDeadline: r.deadline, Manual: true, Reason: reason,
		RoundName: r.name, OrganisationName: r.orgNames[sub]}}, nil
}

// Remove takes a reviewer off a submission, with the reason recorded.
func (r *Round) Remove(sub, reviewer, reason string) ([]events.Payload, error) {
	if err := r.requireOpen("assignments no longer change"); err != nil {
		return nil, err
	}
	a, err := r.active(sub, reviewer)
	if err != nil {
		return nil, err
	}
	// Removing them would drop a review that is in without a word: moderation says
	// what happens to a review, and the reviewer is told why.
	if a.Review != nil {
		return nil, apperr.New(apperr.Conflict, "%s has submitted a review of %s: return it to them for revision, or withhold it from the feedback, rather than removing them", a.nameInWords(), r.submissionInWords(sub))
	}
	if strings.TrimSpace(reason) == "" {
		return nil, apperr.Field("reason", "record why the reviewer is removed")
	}
	return []events.Payload{events.AssignmentRemovedV1{RoundID: r.id, SubmissionID: a.SubmissionID, ReviewerID: reviewer, Reason: reason,
		OrganisationID: r.submissions[sub], ReviewerName: a.Name, ReviewerEmail: a.Email, ReviewDeadline: r.deadline,
		RoundName: r.name, OrganisationName: r.orgNames[sub]}}, nil
}

// Accept records that the reviewer takes the assignment on, which they may do only
// before the deadline: a review taken on afterwards would already be late.
func (r *Round) Accept(sub, reviewer string, now time.Time) ([]events.Payload, error) {
	a, err := r.active(sub, reviewer)
	if err != nil {
		return nil, err
	}
	if err := r.requireOpen("assignments can no longer be answered"); err != nil {
		return nil, err
	}
	if a.State == Accepted {
		return nil, nil
	}
	if !now.Before(r.deadline) {
		return nil, apperr.New(apperr.Conflict, "the review deadline passed on %s, so this assignment can no longer be accepted, and no review of it is needed from you",
			londonTime(r.deadline))
	}
	return []events.Payload{events.AssignmentAcceptedV1{RoundID: r.id, SubmissionID: sub, ReviewerID: reviewer,
		OrganisationID: r.submissions[sub], ReviewerName: a.Name, ReviewerEmail: a.Email, ReviewDeadline: r.deadline,
		RoundName: r.name, OrganisationName: r.orgNames[sub]}}, nil
}

// StillEligible refuses a reviewer who may no longer review sub: the conflict rules
// checked when they were assigned hold until the feedback is out, so a reviewer
// since moved to the submitting organisation, who declared a conflict with it, who
// is no longer recorded as trained, or whose own organisation withdrew, neither
// accepts, nor reviews, nor reads the submission or the other reviews. They may
// still decline, which gives the place back.
func (r *Round) StillEligible(rv Reviewer, sub string) error {
	org, ok := r.Organisation(sub)
	if !ok {
		return nil // not in the round: the caller's own check says so
	}
	if a, ok := r.assignments[assign.Pair{Submission: sub, Reviewer: rv.ID}]; !ok || !active(a) {
		// Not theirs: the caller's own check says there is no such assignment (404),
		// not that they "may no longer" review what they were never asked to.
		return nil
	}
	why := assign.Eligible(rv.Reviewer, assign.Submission{ID: sub, Org: org})
	if why == "" {
		return nil
	}
	return apperr.New(apperr.Forbidden, "you may no longer review %s: %s since you were assigned, and ITSS will ask another reviewer (you may still decline the assignment)", r.submissionInWords(sub), ineligibleInWords[why])
}

// ineligibleInWords says each of assign.Eligible's reasons to the reviewer.
var ineligibleInWords = map[string]string{
	"organisation withdrawn":  "your organisation has withdrawn from the Technician Commitment",
	"erased at their request": "your details were erased at your request",
	"untrained":               "the reviewer pool no longer records you as trained",
	"same organisation":       "the reviewer pool records you at the organisation that submitted it",
	"declared conflict":       "you have declared a conflict with the organisation that submitted it",
}

// Decline records that the reviewer declines; the place goes back to the pool.
func (r *Round) Decline(sub, reviewer, reason string) ([]events.Payload, error) {
	a, err := r.active(sub, reviewer)
	if err != nil {
		return nil, err
	}
	if err := r.requireOpen("assignments can no longer be answered"); err != nil {
		return nil, err
	}
	if a.Review != nil {
		return nil, apperr.New(apperr.Conflict, "the review is already submitted; it cannot be declined")
	}
	return []events.Payload{events.AssignmentDeclinedV1{RoundID: r.id, SubmissionID: sub, ReviewerID: reviewer, Reason: reason,
		OrganisationID: r.submissions[sub], ReviewerName: a.Name, ReviewerEmail: a.Email, ReviewDeadline: r.deadline,
		RoundName: r.name, OrganisationName: r.orgNames[sub]}}, nil
}

// SubmitReview records a reviewer's review: a score of 1 to 4 on every theme. Only
// an accepted assignment is reviewed, once, while the round is open and before the
// submission's feedback is out; a review ops returned may be revised and resubmitted
// until then, even once the round is closed.
func (r *Round) SubmitReview(sub, reviewer string, themes []events.ThemeReview, summary string) ([]events.Payload, error) {
	a, err := r.active(sub, reviewer)
	if err != nil {
		return nil, err
	}
	if _, released := r.feedback[sub]; released {
		return nil, apperr.New(apperr.Conflict, "feedback on %s is already released; no more reviews are taken", r.submissionInWords(sub))
	}
	resubmission := a.Review != nil && a.ReturnedReason != ""
	switch {
	case a.Review != nil && a.WithheldReason != "":
		// Held back, a returned review counts for nothing whatever its revision says:
		// the reviewer was told no revision is needed.
		return nil, apperr.New(apperr.Conflict, "ITSS have held your review of %s back from the feedback (%s), so no revision of it is needed or taken", r.submissionInWords(sub), a.WithheldReason)
	case a.Review != nil && !resubmission:
		return nil, apperr.New(apperr.Conflict, "you have already submitted your review of %s", r.submissionInWords(sub))
	case r.closed && !resubmission:
		return nil, apperr.New(apperr.Conflict, "%s is closed; reviews are no longer taken", r.inWords())
	case a.State != Accepted:
		return nil, apperr.New(apperr.Conflict, "accept the assignment first (answer it with accept true), then submit the review")
	}
	// Every problem is named at once: a reviewer who left two themes out and gave one
	// twice was told of one, then the next, a round trip each.
	var problems apperr.Problems
	var missing []string
	for _, t := range submission.Themes {
		if !slices.ContainsFunc(themes, func(tr events.ThemeReview) bool { return tr.Theme == t }) {
			missing = append(missing, submission.ThemeName(t))
		}
	}
	if len(missing) > 0 {
		problems.Add("themes", "score every theme: %s missing", listInWords(missing))
	}
	for i, tr := range themes {
		if slices.IndexFunc(themes, func(o events.ThemeReview) bool { return o.Theme == tr.Theme }) < i {
			problems.Add(fmt.Sprintf("themes.%d.theme", i), "%s is given more than once: give each theme once", submission.ThemeName(tr.Theme))
		}
		if tr.Score < 1 || tr.Score > 4 {
			problems.Add(fmt.Sprintf("themes.%d.score", i), "must be 1 to 4")
		}
	}
	if strings.TrimSpace(summary) == "" {
		problems.Add("summary", "is required")
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return []events.Payload{events.ReviewSubmittedV1{RoundID: r.id, SubmissionID: sub, ReviewerID: reviewer, Themes: themes, Summary: strings.TrimSpace(summary),
		OrganisationID: r.submissions[sub], ReviewerName: a.Name, ReviewerEmail: a.Email,
		RoundName: r.name, OrganisationName: r.orgNames[sub], ReviewDeadline: r.deadline, Resubmission: resubmission}}, nil
}

// ReturnReview sends a review back to its reviewer with the reason, for them to
// revise and resubmit; until they do it counts for nothing.
func (r *Round) ReturnReview(sub, reviewer, reason string) ([]events.Payload, error) {
	a, err := r.moderated(sub, reviewer)
	if err != nil {
		return nil, err
	}
	if a.ReturnedReason != "" {
		return nil, apperr.New(apperr.Conflict, "the review is already returned to its reviewer: %s", a.ReturnedReason)
	}
	if a.WithheldReason != "" {
		return nil, apperr.New(apperr.Conflict, "the review is withheld from the feedback: %s", a.WithheldReason)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, apperr.Field("reason", "tell the reviewer what to revise")
	}
	return []events.Payload{events.ReviewReturnedV1{RoundID: r.id, RoundName: r.name, SubmissionID: sub, OrganisationID: r.submissions[sub],
		OrganisationName: r.orgNames[sub], ReviewerID: reviewer, ReviewerName: a.Name, ReviewerEmail: a.Email, ReviewDeadline: r.deadline, Reason: reason}}, nil
}

// WithholdReview holds a review back from the consolidated feedback, with the reason.
func (r *Round) WithholdReview(sub, reviewer, reason string) ([]events.Payload, error) {
	a, err := r.moderated(sub, reviewer)
	if err != nil {
		return nil, err
	}
	if a.WithheldReason != "" {
		return nil, apperr.New(apperr.Conflict, "the review is already withheld: %s", a.WithheldReason)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, apperr.Field("reason", "record why the review is withheld")
	}
	return []events.Payload{events.ReviewWithheldV1{RoundID: r.id, SubmissionID: sub, OrganisationID: r.submissions[sub], ReviewerID: reviewer, Reason: reason}}, nil
}

// moderated is the assignment whose review ops moderate: in, and before the
// submission's feedback is out.
func (r *Round) moderated(sub, reviewer string) (*Assignment, error) {
	a, err := r.active(sub, reviewer)
	if err != nil {
		return nil, err
	}
	if a.Review == nil {
		return nil, apperr.New(apperr.NotFound, "%s has not submitted a review of %s", a.nameInWords(), r.submissionInWords(sub))
	}
	if _, released := r.feedback[sub]; released {
		return nil, apperr.New(apperr.Conflict, "feedback on %s is already released; its reviews can no longer be moderated", r.submissionInWords(sub))
	}
	return a, nil
}

// Close ends reviewing: no more assignment changes, answers or new reviews. Ops then
// moderate and release feedback on what is in.
func (r *Round) Close(reason string) ([]events.Payload, error) {
	if err := r.require(); err != nil {
		return nil, err
	}
	if r.closed {
		return nil, apperr.New(apperr.Conflict, "%s is already closed", r.inWords())
	}
	return []events.Payload{events.ReviewRoundClosedV1{RoundID: r.id, RoundName: r.name, ReviewDeadline: r.deadline, Reason: strings.TrimSpace(reason)}}, nil
}

// ReleaseFeedback releases consolidated feedback with the mean score per theme of the
// reviews that count (see Assignment.Counts). No reviewer is named in it. The round
// must be closed, so that no review arrives after the feedback is written.
func (r *Round) ReleaseFeedback(sub, text string, to Contact) ([]events.Payload, error) {
	if err := r.require(); err != nil {
		return nil, err
	}
	if _, gone := r.moved[sub]; gone {
		return nil, apperr.New(apperr.Conflict, "%s moved from %s to a later review round; its feedback is released from there", r.submissionInWords(sub), r.inWords())
	}
	org, ok := r.Organisation(sub)
	if !ok {
		return nil, apperr.New(apperr.NotFound, "submission %s is not in this round", sub)
	}
	if _, done := r.feedback[sub]; done {
		return nil, apperr.New(apperr.Conflict, "feedback on %s is already released", r.submissionInWords(sub))
	}
	if !r.closed {
		return nil, apperr.New(apperr.Conflict, "%s is open and reviews may still arrive; close it first", r.inWords())
	}
	if strings.TrimSpace(text) == "" {
		return nil, apperr.Field("feedback", "is required")
	}
	sums, n := map[string]int{}, 0
	for _, a := range r.assignments {
		if a.SubmissionID != sub {
			continue
		}
		if a.AwaitsRevision() {
			return nil, apperr.New(apperr.Conflict, "the review by %s is returned for revision; wait for it or withhold it", a.nameInWords())
		}
		if a.Counts() {
			n++
			for _, t := range a.Review.Themes {
				sums[t.Theme] += t.Score
			}
		}
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "no review of %s that counts has been submitted", r.submissionInWords(sub))
	}
	var scores []events.ThemeScore
	for _, t := range submission.Themes {
		scores = append(scores, events.ThemeScore{Theme: t, Score: float64(sums[t]) / float64(n)})
	}
	return []events.Payload{events.FeedbackReleasedV1{RoundID: r.id, SubmissionID: sub, OrganisationID: org, Feedback: strings.TrimSpace(text), Scores: scores,
		OrganisationName: to.OrganisationName, LeadName: to.LeadName, LeadEmail: to.LeadEmail, RoundName: r.name}}, nil
}

// MarkOverdue records, once each, the reviews outstanding when the deadline has passed
// in a round still open. A review of a submission whose organisation has withdrawn
// (withdrawn names them, by id; nil for none) is not chased: nobody will use it, and
// TakeOffWithdrawn takes its reviewer off it instead.
func (r *Round) MarkOverdue(now time.Time, withdrawn map[string]bool) []events.Payload {
	if !r.Exists() || now.Before(r.deadline) || r.closed {
		return nil
	}
	var out []events.Payload
	for _, a := range r.Assignments() {
		if r.outstanding(&a) && !a.Overdue {
			if withdrawn[r.submissions[a.SubmissionID]] {
				continue
			}
			out = append(out, events.ReviewOverdueV1{RoundID: r.id, SubmissionID: a.SubmissionID, OrganisationID: r.submissions[a.SubmissionID], ReviewerID: a.ReviewerID,
				ReviewerName: a.Name, ReviewerEmail: a.Email, ReviewDeadline: r.deadline, RoundName: r.name, OrganisationName: r.orgNames[a.SubmissionID]})
		}
	}
	return out
}

// WithdrawnReason is why TakeOffWithdrawn takes reviewers off a submission, as the
// removal records it.
const WithdrawnReason = "the organisation withdrew from the Technician Commitment, so its submission is no longer reviewed"

// TakeOffWithdrawn takes reviewers off the submissions, in this round while it is open,
// of the organisations that have withdrawn from the Commitment (withdrawn names them,
// by id), as ops' Remove would, with WithdrawnReason: the organisation's obligations
// lapsed with it and its feedback is never sent, so a review of its submission is
// work nobody will use. Each reviewer is told (notify, from the removal), is chased
// no more, and the submission leaves their list.
//
// Taken off are the assignments in force whose review is not in: not yet accepted,
// accepted and not reviewed, or a review ops returned for revision (which counts for
// nothing until revised, and now never will be). A review that is in is left as it
// is, as Remove leaves it: it is the reviewer's finished work, on the audit trail,
// nobody chases it, and what becomes of it (withheld, or never released) is ops'
// moderation, not a removal that would drop it unsaid. A closed round is left as it
// is: it takes no more assignment changes, and chases nobody.
//
// It records nothing when there is nothing left to take off, so running it again (an
// event handled twice, two replicas, the deadline watch after the withdrawal's
// handler) changes nothing.
func (r *Round) TakeOffWithdrawn(withdrawn map[string]bool) []events.Payload {
	if len(withdrawn) == 0 {
		return nil
	}
	return r.takeOff(func(a Assignment, org string) string { return because(withdrawn[org], WithdrawnReason) }, events.RemovalOrganisationWithdrew, true)
}

// ErasedReason is why TakeOffErased takes a reviewer off a submission, as the removal
// records it.
const ErasedReason = "the reviewer's details were erased at their request, so they can no longer review it: it needs another reviewer"

// TakeOffErased takes the reviewers erased at their request (erased names them, by
// id) off the submissions, in this round while it is open, whose review they have
// not put in, with ErasedReason: nobody can write to them or sign them in again, so a
// place left with them would wait for a review that never comes while the round
// counted it covered. Ops see the submission needs another reviewer.
//
// What is taken off, and what is left, is as TakeOffWithdrawn's: a review that is in
// stays on the record (the erasure has sealed away who wrote it). The removal names
// neither the reviewer's name nor their address, even from a round rebuilt before
// the erasure: notify must not write to a person erased, and the removal says so by
// naming no address.
//
// It records nothing when there is nothing left to take off.
func (r *Round) TakeOffErased(erased map[string]bool) []events.Payload {
	if len(erased) == 0 {
		return nil
	}
	return r.takeOff(func(a Assignment, _ string) string { return because(erased[a.ReviewerID], ErasedReason) }, events.RemovalReviewerErased, false)
}

// Unreachable lists the reviewers, by id, of the assignments TakeOffErased would
// take off were they erased whose address the round does not hold: a round rebuilt
// from the log after a reviewer's erasure reads their sealed address as none. The
// caller asks the pool which of them are erased.
func (r *Round) Unreachable() []string {
	if !r.Exists() || r.closed {
		return nil
	}
	var out []string
	for _, a := range r.Assignments() {
		if a.Email == "" && r.outstanding(&a) && !slices.Contains(out, a.ReviewerID) {
			out = append(out, a.ReviewerID)
		}
	}
	return out
}

// ReviewersOrgWithdrawnReason is why TakeOffReviewersOfWithdrawn takes a reviewer
// off a submission, as the removal records it.
const ReviewersOrgWithdrawnReason = "the reviewer's organisation withdrew from the Technician Commitment, so they can no longer review it: it needs another reviewer"

// TakeOffReviewersOfWithdrawn takes the reviewers whose own organisation has
// withdrawn from the Commitment (gone names them, by id) off the submissions, in this
// round while it is open, whose review they have not put in, with
// ReviewersOrgWithdrawnReason. StillEligible already refuses them the review, so a
// place left with them would wait for a review that never comes while the round
// counted it covered; ops see the submission needs another reviewer.
//
// What is taken off, and what is left, is as TakeOffWithdrawn's: a review that is in
// stays on the record. Unlike TakeOffErased's, the removal names the reviewer and
// their address, so notify tells them no review is needed from them.
//
// It records nothing when there is nothing left to take off, so running it again (an
// event handled twice, two replicas, the deadline watch after the withdrawal's
// handler) changes nothing.
func (r *Round) TakeOffReviewersOfWithdrawn(gone map[string]bool) []events.Payload {
	if len(gone) == 0 {
		return nil
	}
	return r.takeOff(func(a Assignment, _ string) string { return because(gone[a.ReviewerID], ReviewersOrgWithdrawnReason) }, events.RemovalReviewerOrganisationWithdrew, true)
}

// IneligibleReason is why TakeOffIneligible takes a reviewer off a submission, as
// the removal records it, given assign.Eligible's reason.
const IneligibleReason = "the reviewer's record changed as they were assigned, so they may no longer review it (%s): it needs another reviewer"

// TakeOffIneligible takes reviewer now (the pool's latest record of them) off the
// submissions, in this round while it is open, whose review they have not put in and
// which they could review as was records them but may not as now does (a conflict
// declared with the submitting organisation, a move to it, their training no longer
// recorded), with IneligibleReason. A change to the pool that would make a reviewer
// ineligible for an assignment is refused, so what this finds is an assignment
// decided on the record before the change while the change was being made: both
// the assignment and the change re-check after they append, and this is what they
// record. A reason that was does not give (their organisation withdrew, say) is left
// to its own removal, as is an erasure (TakeOffErased, whose removal names nobody).
//
// It records nothing when there is nothing left to take off, so the assignment and
// the change may both run it.
func (r *Round) TakeOffIneligible(was, now Reviewer) []events.Payload {
	if was.Erased || now.Erased {
		return nil
	}
	return r.takeOff(func(a Assignment, org string) string {
		s := assign.Submission{ID: a.SubmissionID, Org: org}
		why := assign.Eligible(now.Reviewer, s)
		if a.ReviewerID != now.ID || why == "" || assign.Eligible(was.Reviewer, s) != "" {
			return ""
		}
		return fmt.Sprintf(IneligibleReason, why)
	}, "", true)
}

// because is reason when picked, and "" (not taken off) otherwise.
func because(picked bool, reason string) string {
	if !picked {
		return ""
	}
	return reason
}

// takeOff is the removal, with cause, of each outstanding assignment of this round,
// while it is open, that reasonFor gives a reason for (given the assignment and its
// submission's organisation; "" leaves it): the removals the service makes itself
// differ only in whom they pick and why. named says whether the removal names the
// reviewer and their address, for notify to tell them.
func (r *Round) takeOff(reasonFor func(a Assignment, org string) string, cause string, named bool) []events.Payload {
	if !r.Exists() || r.closed {
		return nil
	}
	var out []events.Payload
	for _, a := range r.Assignments() {
		org, in := r.Organisation(a.SubmissionID)
		if !in || !r.outstanding(&a) {
			continue
		}
		reason := reasonFor(a, org)
		if reason == "" {
			continue
		}
		rm := events.AssignmentRemovedV1{RoundID: r.id, SubmissionID: a.SubmissionID, ReviewerID: a.ReviewerID, Reason: reason, Cause: cause,
			OrganisationID: org, ReviewDeadline: r.deadline, RoundName: r.name, OrganisationName: r.orgNames[a.SubmissionID]}
		if named {
			rm.ReviewerName, rm.ReviewerEmail = a.Name, a.Email
		}
		out = append(out, rm)
	}
	return out
}

// Outstanding lists the reviewers, by id, with an assignment in this round, while it
// is open, whose review is not in and whose feedback is not out: those
// TakeOffReviewersOfWithdrawn would take off were their organisation gone. The
// caller asks the pool which of them work for an organisation that withdrew.
func (r *Round) Outstanding() []string {
	if !r.Exists() || r.closed {
		return nil
	}
	var out []string
	for _, a := range r.Assignments() {
		if r.outstanding(&a) && !slices.Contains(out, a.ReviewerID) {
			out = append(out, a.ReviewerID)
		}
	}
	return out
}

// outstanding says the assignment is in force, its review is not in and its
// submission's feedback is not out.
func (r *Round) outstanding(a *Assignment) bool {
	if !active(a) || a.Reviewed() {
		return false
	}
	_, released := r.feedback[a.SubmissionID]
	return !released
}

// Reviewable refuses to give reviewers a submission of the round whose organisation
// has withdrawn from the Commitment (withdrawn names them, by id): nobody would use
// the review. A submission not in the round is left to the caller's own check.
func (r *Round) Reviewable(sub string, withdrawn map[string]bool) error {
	if org, in := r.Organisation(sub); in && withdrawn[org] {
		return apperr.New(apperr.Conflict, "%s may not be given reviewers: its organisation has withdrawn from the Technician Commitment, so it is no longer reviewed", r.submissionInWords(sub))
	}
	return nil
}

// beforeDeadline refuses an assignment made once the review deadline has passed: the
// reviewer could no longer accept it (see Accept), so it would only earn them a chase
// for a review they cannot give.
func (r *Round) beforeDeadline(now time.Time) error {
	if now.Before(r.deadline) {
		return nil
	}
	return apperr.New(apperr.Conflict, "the review deadline passed on %s, so a reviewer assigned now could not accept: close the round, and put the submissions it did not review in a later round",
		londonTime(r.deadline))
}

// london is where the Commitment's times are said (with GMT or BST), as every email
// and page says them.
var london = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("review round: no Europe/London zone: " + err.Error())
	}
	return l
}()

// aYearOn is the time a year after t on the London clock, as people count a year:
// noon in winter is noon a year on in summer, not 13:00 BST, and a year after 29
// February is 28 February, as every date the suite counts on (libs/civil), not 1
// March. A time the clocks skip that day is read an hour on (01:30 as 02:30 BST),
// and one they show twice as the later, so the bound errs towards taking a deadline.
func aYearOn(t time.Time) time.Time {
	l := t.In(london)
	y, m, d := civil.Of(l).AddMonths(12).Time().Date()
	return time.Date(y, m, d, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), london)
}

// londonTime says t as people are told it: "Friday 4 December 2026, 17:00 GMT".
func londonTime(t time.Time) string { return t.In(london).Format("Monday 2 January 2006, 15:04 MST") }

func (r *Round) requireOpen(what string) error {
	if err := r.require(); err != nil {
		return err
	}
	if r.closed {
		return apperr.New(apperr.Conflict, "%s is %s; %s", r.inWords(), r.Status(), what)
	}
	return nil
}

func (r *Round) require() error {
	if !r.Exists() {
		return apperr.New(apperr.NotFound, "review round %s not found", r.id)
	}
	return nil
}

func (r *Round) active(sub, reviewer string) (*Assignment, error) {
	if err := r.require(); err != nil {
		return nil, err
	}
	a, ok := r.assignments[assign.Pair{Submission: sub, Reviewer: reviewer}]
	if !ok || !active(a) {
		return nil, apperr.New(apperr.NotFound, "no assignment of %s to %s in this round", reviewer, sub)
	}
	return a, nil
}

func (r *Round) apply(e events.Envelope) error {
	decode := func(v any) error {
		if err := json.Unmarshal(e.Data, v); err != nil {
			return fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err)
		}
		return nil
	}
	switch e.Type {
	case events.ReviewRoundOpenedV1{}.EventType():
		var p events.ReviewRoundOpenedV1
		if err := decode(&p); err != nil {
			return err
		}
		r.name, r.deadline, r.perSub = p.Name, p.ReviewDeadline, p.ReviewersPerSubmission
		if r.perSub == 0 {
			r.perSub = DefaultReviewersPerSubmission
		}
	case events.RoundSubmissionAddedV1{}.EventType():
		var p events.RoundSubmissionAddedV1
		if err := decode(&p); err != nil {
			return err
		}
		if _, known := r.submissions[p.SubmissionID]; !known {
			r.order = append(r.order, p.SubmissionID)
		}
		r.submissions[p.SubmissionID] = p.OrganisationID
		r.orgNames[p.SubmissionID] = p.OrganisationName
		r.placements[p.SubmissionID] = p.Placement
		delete(r.moved, p.SubmissionID)
	case events.RoundSubmissionMovedV1{}.EventType():
		var p events.RoundSubmissionMovedV1
		if err := decode(&p); err != nil {
			return err
		}
		// The reviewers still on it here are off it: it is reviewed in the later round.
		r.moved[p.SubmissionID] = p.ToRoundID
		for _, a := range r.assignments {
			if a.SubmissionID == p.SubmissionID && active(a) {
				a.State = Removed
			}
		}
	case events.ReviewerAssignedV1{}.EventType():
		var p events.ReviewerAssignedV1
		if err := decode(&p); err != nil {
			return err
		}
		r.assignments[assign.Pair{Submission: p.SubmissionID, Reviewer: p.ReviewerID}] = &Assignment{SubmissionID: p.SubmissionID, ReviewerID: p.ReviewerID, Name: p.ReviewerName, Email: p.ReviewerEmail, State: Assigned}
	case events.AssignmentAcceptedV1{}.EventType():
		var p events.AssignmentAcceptedV1
		if err := decode(&p); err != nil {
			return err
		}
		r.set(p.SubmissionID, p.ReviewerID, func(a *Assignment) { a.State = Accepted })
	case events.AssignmentDeclinedV1{}.EventType():
		var p events.AssignmentDeclinedV1
		if err := decode(&p); err != nil {
			return err
		}
		r.set(p.SubmissionID, p.ReviewerID, func(a *Assignment) { a.State, a.DeclinedReason = Declined, p.Reason })
	case events.AssignmentRemovedV1{}.EventType():
		var p events.AssignmentRemovedV1
		if err := decode(&p); err != nil {
			return err
		}
		r.set(p.SubmissionID, p.ReviewerID, func(a *Assignment) { a.State = Removed })
	case events.ReviewSubmittedV1{}.EventType():
		var p events.ReviewSubmittedV1
		if err := decode(&p); err != nil {
			return err
		}
		r.set(p.SubmissionID, p.ReviewerID, func(a *Assignment) { a.Review, a.ReturnedReason = &p, "" })
	case events.ReviewOverdueV1{}.EventType():
		var p events.ReviewOverdueV1
		if err := decode(&p); err != nil {
			return err
		}
		r.set(p.SubmissionID, p.ReviewerID, func(a *Assignment) { a.Overdue = true })
	case events.ReviewReturnedV1{}.EventType():
		var p events.ReviewReturnedV1
		if err := decode(&p); err != nil {
			return err
		}
		r.set(p.SubmissionID, p.ReviewerID, func(a *Assignment) { a.ReturnedReason = p.Reason })
	case events.ReviewWithheldV1{}.EventType():
		var p events.ReviewWithheldV1
		if err := decode(&p); err != nil {
			return err
		}
		r.set(p.SubmissionID, p.ReviewerID, func(a *Assignment) { a.WithheldReason = p.Reason })
	case events.ReviewRoundClosedV1{}.EventType():
		r.closed = true
	case events.FeedbackReleasedV1{}.EventType():
		var p events.FeedbackReleasedV1
		if err := decode(&p); err != nil {
			return err
		}
		r.feedback[p.SubmissionID] = Feedback{Text: p.Feedback, Scores: p.Scores}
	default:
		return fmt.Errorf("review round %s: unknown event %s", r.id, e.Type)
	}
	r.version = e.Version
	return nil
}

func (r *Round) set(sub, reviewer string, f func(*Assignment)) {
	if a, ok := r.assignments[assign.Pair{Submission: sub, Reviewer: reviewer}]; ok {
		f(a)
	}
}

// statusInWords is a submission's status as a sentence says it.
func statusInWords(st submission.Status) string {
	return strings.ReplaceAll(string(st), "_", " ")
}

// listInWords joins names as a sentence does, with "is" or "are" to follow:
// "Recognition is", "Visibility and Recognition are".
func listInWords(names []string) string {
	switch len(names) {
	case 1:
		return names[0] + " is"
	case 2:
		return names[0] + " and " + names[1] + " are"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " are"
}
