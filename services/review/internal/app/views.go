package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/review/internal/domain/round"
	"github.com/itss/techcommit/services/review/internal/domain/submission"
)

// The review service's reads are answered from read models shaped for a store that
// finds a document fast only by its _id (the embedded FerretDB): one document per
// round, per assignment and per submission, each carrying the version of the
// aggregate it shows, written by the projection from the service's own events. Every
// replica holds their list fields in memory (the adapter's store.Mirror and
// store.Lists), so a list walks its own page whatever the history holds, and one
// submission's status, previous cycle and feedback are found by _id. The replica that
// ran a command holds its result at once (Hold), so its caller reads what they wrote.

// RoundEntry is a round as the rounds list shows it.
type RoundEntry struct {
	ID, Name               string
	Deadline               time.Time
	ReviewersPerSubmission int
	Status                 string
	Submissions            int
	Version                int // the round's
}

// AssignmentEntry is one reviewer on one submission as the reviewer's list shows it,
// with what of its round decides whether it is overdue.
type AssignmentEntry struct {
	RoundID, RoundName       string
	Deadline                 time.Time
	SubmissionID, ReviewerID string
	// OrganisationName is the submitting organisation's, as the round holds it, so
	// that a reviewer's list says whose submission each is ("" in an entry saved
	// before it was kept, until the round's next change of the assignment).
	OrganisationName string
	// Org is the submitting organisation's id, by which the list names it as it now
	// stands ("" in an entry saved before it was kept: the list then says
	// OrganisationName).
	Org   string
	State string
	// HasReview is true once a review is in (returned for revision or not).
	HasReview      bool
	ReturnedReason string
	// WithheldReason is set when ops hold the review back from the feedback.
	WithheldReason string
	// DeclinedReason is the reviewer's reason for declining (shown to ops only).
	DeclinedReason string
	// OverdueRecorded is true once the overdue event is recorded.
	OverdueRecorded bool
	// Closed and Released are the round's and the submission's, which end overdueness.
	Closed, Released bool
	// Moved is true once the submission moved from this round to a later one: the
	// round no longer lists it, and its reviewers here are off it.
	Moved   bool
	Version int // the round's
}

// Key orders a reviewer's assignments: by round, then submission.
func (e AssignmentEntry) Key() string { return e.RoundID + "/" + e.SubmissionID + "/" + e.ReviewerID }

// Active says the reviewer is still on the submission.
func (e AssignmentEntry) Active() bool { return e.State == round.Assigned || e.State == round.Accepted }

// OverdueAt says whether the review is outstanding past the deadline at now, as
// round.Round.Overdue does.
func (e AssignmentEntry) OverdueAt(now time.Time) bool {
	reviewed := e.HasReview && e.ReturnedReason == ""
	return !now.Before(e.Deadline) && !e.Closed && !e.Released && e.Active() && !reviewed
}

// SubmissionEntry is one submission as the submissions list shows it. Two aggregates
// write it: the submission (its half up to Version) and the round it is put in (its
// half as of Placement and RoundVersion), so each half moves forward on its own. A
// submission that moves to a later round is written by both rounds: the versions of
// two rounds do not compare, so the round half is ordered by the placement that put
// the submission in the round first (see RoundHalfAfter).
type SubmissionEntry struct {
	ID  string
	Org string
	// Submitted is true once the submission was received (a draft until then).
	Submitted   bool
	CreatedAt   time.Time
	SubmittedAt time.Time
	Version     int // the submission's

	RoundID  string // the review round it is in, if any
	Released bool   // its feedback is out
	// Placement is the sequence of the placement that put it in the round (0 before
	// placements were recorded), RoundVersion the round's version.
	Placement, RoundVersion int
	// Feedback is the released feedback, kept in the submission's document (read by
	// _id) and not in the lists' memory.
	Feedback *round.Feedback
}

// RoundHalfAfter says whether e's round half is newer than held's: the later
// placement's, or within one placement the round's later version.
func (e SubmissionEntry) RoundHalfAfter(held SubmissionEntry) bool {
	if e.Placement != held.Placement {
		return e.Placement > held.Placement
	}
	return e.RoundVersion > held.RoundVersion
}

// Status is where the entry stands: draft, submitted, in_review or feedback_released.
func (e SubmissionEntry) Status() string {
	switch {
	case !e.Submitted:
		return string(submission.StatusDraft)
	case e.Released:
		return "feedback_released"
	case e.RoundID != "":
		return "in_review"
	}
	return string(submission.StatusSubmitted)
}

// Changes are new versions of read model entries, made from aggregates as of a version.
type Changes struct {
	Rounds      []RoundEntry
	Assignments []AssignmentEntry
	// Submissions carry one half each: the submission's (Version > 0) or a round's
	// (RoundVersion > 0).
	Submissions []SubmissionEntry
}

func (c *Changes) add(o Changes) {
	c.Rounds = append(c.Rounds, o.Rounds...)
	c.Assignments = append(c.Assignments, o.Assignments...)
	c.Submissions = append(c.Submissions, o.Submissions...)
}

func (c Changes) empty() bool {
	return len(c.Rounds) == 0 && len(c.Assignments) == 0 && len(c.Submissions) == 0
}

// ReadModels keeps the rounds, the assignments and the submissions for the lists and
// pages that show them. Every read costs the entries it returns.
type ReadModels interface {
	// Save writes changes and records them for every replica (the projection, one
	// batch at a time). An older version never replaces a newer one.
	Save(ctx context.Context, c Changes) error
	// Hold takes changes into this replica's memory only, at once: a command's
	// result, which the projection saves shortly.
	Hold(c Changes)
	// Rounds is a page of rounds, latest deadline first, after the entry after.
	Rounds(ctx context.Context, after *RoundEntry, limit int) (page []RoundEntry, more bool, err error)
	// Assignments is a page of a reviewer's assignments in force, by round and
	// submission, after the entry after.
	Assignments(ctx context.Context, reviewer string, after *AssignmentEntry, limit int) (page []AssignmentEntry, more bool, err error)
	// Round is one round's entry (ok is false when none is held).
	Round(ctx context.Context, id string) (e RoundEntry, ok bool, err error)
	// RoundAssignments is a page of one round's assignments in every state, by
	// submission and reviewer, after the entry after; only one submission's when it
	// is named; none of a submission that moved to a later round.
	RoundAssignments(ctx context.Context, round, submission string, after *AssignmentEntry, limit int) (page []AssignmentEntry, more bool, err error)
	// EachOfRound calls f with each of a round's assignments, from memory, for the
	// counts a round's summary shows.
	EachOfRound(ctx context.Context, round string, f func(AssignmentEntry)) error
	// Organisations is the organisation of each of the submissions named that is held.
	Organisations(ctx context.Context, submissions []string) (map[string]string, error)
	// InForce is the assignments in force of each of the reviewers named.
	InForce(ctx context.Context, reviewers []string) (map[string][]AssignmentEntry, error)
	// Submissions is a page of submissions in id order after the id after, of one
	// organisation and in one status when they are named.
	Submissions(ctx context.Context, org, status, after string, limit int) (page []SubmissionEntry, more bool, err error)
	// Submission is one submission's entry, without its feedback.
	Submission(ctx context.Context, id string) (SubmissionEntry, bool, error)
	// OfOrganisation lists an organisation's submissions.
	OfOrganisation(ctx context.Context, org string) ([]SubmissionEntry, error)
	// Feedback is a submission's released feedback as saved (ok is false until the
	// projection saved it).
	Feedback(ctx context.Context, id string) (f round.Feedback, ok bool, err error)
	// Empty says whether no round and no submission is held.
	Empty() bool
	// Damaged says whether a submission held lacks its list fields (written so by an
	// earlier version), which SeedViews then writes again from the event store.
	Damaged() bool
}

// ProjectedSubjects are the events the read models are built from.
var ProjectedSubjects = []string{"tc.review.submission.>", "tc.review.round.>"}

// touched is what a round's events changed: its summary (what the rounds list shows:
// an opening, an addition, a close, a release), these assignments, every assignment
// (a close), and these submissions' placement and assignments (an addition, a
// release). An assignment's change leaves the summary as it is, and is not written
// there: on the embedded store every write waits for the one writer.
type touched struct {
	through int
	summary bool
	pairs   map[[2]string]bool
	all     bool
	subs    map[string]bool
}

func (t *touched) note(e events.Envelope) error {
	t.through = max(t.through, e.Version)
	switch e.Type {
	case events.ReviewRoundClosedV1{}.EventType():
		t.all, t.summary = true, true
		return nil
	case events.ReviewRoundOpenedV1{}.EventType(), events.RoundSubmissionAddedV1{}.EventType(), events.FeedbackReleasedV1{}.EventType(),
		events.RoundSubmissionMovedV1{}.EventType():
		t.summary = true
	}
	var keys struct {
		SubmissionID string `json:"submission_id"`
		ReviewerID   string `json:"reviewer_id"`
	}
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &keys); err != nil {
			return apperr.New(apperr.Invalid, "decode %s %s: %v", e.Type, e.ID, err)
		}
	}
	switch {
	case e.Type == (events.RoundSubmissionAddedV1{}).EventType() || e.Type == (events.FeedbackReleasedV1{}).EventType() ||
		e.Type == (events.RoundSubmissionMovedV1{}).EventType():
		t.subs[keys.SubmissionID] = true
	case keys.SubmissionID != "" && keys.ReviewerID != "":
		t.pairs[[2]string{keys.SubmissionID, keys.ReviewerID}] = true
	}
	return nil
}

func newTouched() *touched {
	return &touched{pairs: map[[2]string]bool{}, subs: map[string]bool{}}
}

// Project brings the read models up to date with a batch of the service's events:
// each round and submission they concern is loaded as of the batch's last event of
// it, and the entries the events changed are saved as of that version, so a batch
// handled twice, or after a command's own Hold, changes nothing. An event that does
// not decode is an Invalid error: no retry will change it.
func (a *App) Project(ctx context.Context, batch []events.Envelope) error {
	subs := map[string]int{}
	rounds := map[string]*touched{}
	var subIDs, roundIDs []string
	for _, e := range batch {
		switch {
		case strings.HasPrefix(e.Type, "tc.review.submission."):
			if _, ok := subs[e.AggregateID]; !ok {
				subIDs = append(subIDs, e.AggregateID)
			}
			subs[e.AggregateID] = max(subs[e.AggregateID], e.Version)
		case strings.HasPrefix(e.Type, "tc.review.round."):
			t, ok := rounds[e.AggregateID]
			if !ok {
				t = newTouched()
				rounds[e.AggregateID] = t
				roundIDs = append(roundIDs, e.AggregateID)
			}
			if err := t.note(e); err != nil {
				return err
			}
		}
	}
	var ch Changes
	for _, id := range subIDs {
		h, err := a.events.LoadThrough(ctx, id, subs[id])
		if err != nil {
			return fmt.Errorf("project submission %s: %w", id, err)
		}
		s, err := submission.Rebuild(id, only(submission.AggregateType, h))
		if err != nil {
			return apperr.New(apperr.Invalid, "project submission %s: %v", id, err)
		}
		if s.Exists() {
			ch.Submissions = append(ch.Submissions, submissionEntry(s))
		}
	}
	for _, id := range roundIDs {
		h, err := a.events.LoadThrough(ctx, id, rounds[id].through)
		if err != nil {
			return fmt.Errorf("project review round %s: %w", id, err)
		}
		r, err := a.rebuildRound(id, h)
		if err != nil {
			return apperr.New(apperr.Invalid, "project review round %s: %v", id, err)
		}
		if r.Exists() {
			ch.add(roundChanges(r, rounds[id]))
		}
	}
	if ch.empty() {
		return nil
	}
	return a.read.Save(ctx, ch)
}

func submissionEntry(s *submission.Submission) SubmissionEntry {
	return SubmissionEntry{ID: s.ID(), Org: s.OrganisationID(), Submitted: s.Status() == submission.StatusSubmitted,
		CreatedAt: s.CreatedAt(), SubmittedAt: s.SubmittedAt(), Version: s.Version()}
}

func roundEntry(r *round.Round) RoundEntry {
	return RoundEntry{ID: r.ID(), Name: r.Name(), Deadline: r.Deadline(), ReviewersPerSubmission: r.ReviewersPerSubmission(),
		Status: r.Status(), Submissions: len(r.Submissions()), Version: r.Version()}
}

func assignmentEntry(r *round.Round, as round.Assignment) AssignmentEntry {
	_, released := r.Feedback(as.SubmissionID)
	_, _, moved := r.Moved(as.SubmissionID)
	return AssignmentEntry{RoundID: r.ID(), RoundName: r.Name(), Deadline: r.Deadline(), SubmissionID: as.SubmissionID, ReviewerID: as.ReviewerID,
		OrganisationName: r.OrganisationName(as.SubmissionID), Org: submitter(r, as.SubmissionID), State: as.State, HasReview: as.Review != nil, ReturnedReason: as.ReturnedReason, WithheldReason: as.WithheldReason, DeclinedReason: as.DeclinedReason, OverdueRecorded: as.Overdue,
		Closed: r.Status() != round.StatusOpen, Released: released, Moved: moved, Version: r.Version()}
}

// roundChanges are the entries of round r that t says its events changed.
func roundChanges(r *round.Round, t *touched) Changes {
	var ch Changes
	if t.summary {
		ch.Rounds = []RoundEntry{roundEntry(r)}
	}
	for _, as := range r.Assignments() {
		if t.all || t.subs[as.SubmissionID] || t.pairs[[2]string{as.SubmissionID, as.ReviewerID}] {
			ch.Assignments = append(ch.Assignments, assignmentEntry(r, as))
		}
	}
	for sub := range t.subs {
		if _, org, moved := r.Moved(sub); moved {
			// In no round as far as this one says: the later round's half, of a later
			// placement, says where it is once it takes it.
			ch.Submissions = append(ch.Submissions, SubmissionEntry{ID: sub, Org: org, Submitted: true, Placement: r.Placement(sub), RoundVersion: r.Version()})
			continue
		}
		org, in := r.Organisation(sub)
		if !in {
			continue
		}
		e := SubmissionEntry{ID: sub, Org: org, Submitted: true, RoundID: r.ID(), Placement: r.Placement(sub), RoundVersion: r.Version()}
		if f, ok := r.Feedback(sub); ok {
			e.Released, e.Feedback = true, &f
		}
		ch.Submissions = append(ch.Submissions, e)
	}
	return ch
}

// holdRound takes into memory what a command's events changed in round r.
func (a *App) holdRound(r *round.Round, appended []events.Envelope) {
	if r == nil || len(appended) == 0 {
		return
	}
	t := newTouched()
	for _, e := range appended {
		if err := t.note(e); err != nil {
			return // the projection reports it
		}
	}
	a.read.Hold(roundChanges(r, t))
}

// ListSubmissions pages through submissions in id order: a lead sees their own
// organisation's, ops every organisation's (or the one named). The page is found in
// the lists held in memory; only the submissions on it are loaded.
func (a *App) ListSubmissions(ctx context.Context, by auth.Principal, q SubmissionQuery) ([]Listed, string, error) {
	switch {
	case by.IsOps():
	case by.Role == auth.RoleLead && by.Org != "":
		q.Org = by.Org
	default:
		return nil, "", apperr.New(apperr.Forbidden, "only an organisation's lead or ITSS operations staff list submissions")
	}
	// The cursor is made and read as every list's is: a bare id was taken as a
	// position whatever it held, so a made-up cursor answered an empty page.
	after := ""
	if q.Cursor != "" {
		var c cursorAt
		if err := store.DecodeCursor(q.Cursor, &c); err != nil {
			return nil, "", err
		}
		after = c.After
	}
	page, more, err := a.read.Submissions(ctx, q.Org, q.Status, after, q.Limit)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more && len(page) > 0 {
		next = store.EncodeCursor(cursorAt{After: page[len(page)-1].ID})
	}
	histories, err := a.events.LoadManyThrough(ctx, throughEntries(page))
	if err != nil {
		return nil, "", fmt.Errorf("load a page of submissions: %w", err)
	}
	out := make([]Listed, 0, len(page))
	for _, e := range page {
		s, err := submission.Rebuild(e.ID, only(submission.AggregateType, histories[e.ID]))
		if err != nil {
			return nil, "", err
		}
		if s.Exists() {
			out = append(out, Listed{Submission: s, Status: e.Status(), RoundID: e.RoundID})
		}
	}
	return out, next, nil
}

// throughEntries names each listed submission's version, so that the page is loaded
// from what this process holds when that is as new as the list, and read from the
// log only where it is not: a list shows nothing older than its own entries, and a
// page of submissions held in memory costs no read.
func throughEntries(page []SubmissionEntry) map[string]int {
	through := make(map[string]int, len(page))
	for _, e := range page {
		through[e.ID] = e.Version
	}
	return through
}

// PreviousCycle finds the organisation's last submitted submission before s in the
// organisation's list, and reads only that submission and its feedback.
func (a *App) PreviousCycle(ctx context.Context, s *submission.Submission) (*Previous, error) {
	entries, err := a.read.OfOrganisation(ctx, s.OrganisationID())
	if err != nil {
		return nil, err
	}
	var best *SubmissionEntry
	for i, e := range entries {
		if e.ID != s.ID() && e.Submitted && e.CreatedAt.Before(s.CreatedAt()) && (best == nil || e.SubmittedAt.After(best.SubmittedAt)) {
			best = &entries[i]
		}
	}
	if best == nil {
		return nil, nil
	}
	prev, err := a.loadSubmission(ctx, best.ID)
	if err != nil || !prev.Exists() {
		return nil, err
	}
	p := &Previous{Submission: prev}
	if best.Released {
		f, err := a.feedbackOf(ctx, *best)
		if err != nil {
			return nil, err
		}
		p.Feedback = &f
	}
	return p, nil
}

// feedbackOf is a released submission's feedback: from its document, or, in the
// moment before the projection saved it, from the round that released it.
func (a *App) feedbackOf(ctx context.Context, e SubmissionEntry) (round.Feedback, error) {
	f, ok, err := a.read.Feedback(ctx, e.ID)
	if err != nil || ok {
		return f, err
	}
	r, err := a.loadRound(ctx, e.RoundID)
	if err != nil {
		return round.Feedback{}, err
	}
	f, _ = r.Feedback(e.ID)
	return f, nil
}

// SeedViews builds the read models from the event store when there are none yet (a
// new deployment of this version, or read models dropped), since the stream the
// projection reads may no longer hold the oldest events; and again when they are
// damaged: versions before 2026-12-06 stored each submission's list document with
// its _id alone, so a start read every submission back as a draft of no
// organisation. It runs at start, before the projection consumes, so the two never
// write at once in this replica; each document is merged with what is stored, never
// put back older.
func (a *App) SeedViews(ctx context.Context) error {
	if !a.read.Empty() && !a.read.Damaged() {
		return nil
	}
	var all []events.Envelope
	for _, t := range []string{submission.AggregateType, round.AggregateType} {
		evs, err := a.events.LoadByType(ctx, t)
		if err != nil {
			return fmt.Errorf("seed the read models: %w", err)
		}
		all = append(all, evs...)
	}
	return a.Project(ctx, all)
}

// preloaded is how many rounds, reviewers and submissions Warm loads at most (in
// that order, each type in id order): half of the 4,096
// aggregates the store remembers, so that what later reads load still has room. A
// few hundred organisations with two cycles each and a pool of a few hundred
// reviewers fit whole; a submission costs a few KiB of memory, a reviewer less.
const preloaded = 2048

// Warm loads the rounds, the reviewers and the submissions into the event store's
// memory while the service starts, before it says it is ready: a page of
// submissions, a round, or a reviewer's assignments (which load the reviewer's own
// record to check who asks) read after a start then cost what they do later (one
// read past each aggregate's last commit), not every commit of each, from the first
// request.
func (a *App) Warm(ctx context.Context) error {
	if err := a.events.Preload(ctx, preloaded, round.AggregateType, reviewerType, submission.AggregateType); err != nil {
		return err
	}
	return a.WarmNames(ctx)
}

// WarmNames holds every organisation's name (up to namesMax) as the first requests
// name them (currentName), read in one query rather than one by one as each page
// first names each.
func (a *App) WarmNames(ctx context.Context) error {
	now := a.clock.Now()
	_, _, gen := a.names.get("", now)
	all, err := a.orgs.Names(ctx)
	if err != nil {
		return err
	}
	for org, name := range all {
		a.names.put(org, name, now, gen)
	}
	return nil
}

// Status is where a submission stands: its own status until it is submitted, then
// whether it is in a round and its feedback is out, from its entry.
func (a *App) Status(ctx context.Context, s *submission.Submission) (string, error) {
	st, _, err := a.Standing(ctx, s)
	return st, err
}

// Standing is a submission's status (see Status) and the review round it is in
// ("" when none), from its entry.
func (a *App) Standing(ctx context.Context, s *submission.Submission) (status, roundID string, err error) {
	if s.Status() != submission.StatusSubmitted {
		return string(s.Status()), "", nil
	}
	e, ok, err := a.read.Submission(ctx, s.ID())
	if err != nil || !ok {
		return string(submission.StatusSubmitted), "", err
	}
	e.Submitted = true
	return e.Status(), e.RoundID, nil
}

// pageLimit refuses a limit outside the lists' bounds.
func pageLimit(limit int) error {
	if limit < 1 || limit > 200 {
		return apperr.Field("limit", "must be 1 to 200")
	}
	return nil
}

// roundCursor is the position after a page of rounds.
type roundCursor struct {
	Deadline time.Time `json:"d"`
	ID       string    `json:"id"`
}

// Rounds lists a page of review rounds, latest deadline first (ops).
func (a *App) Rounds(ctx context.Context, by auth.Principal, p Page) ([]RoundEntry, string, error) {
	if !by.IsOps() {
		return nil, "", apperr.New(apperr.Forbidden, "only ITSS operations staff read review rounds")
	}
	if err := pageLimit(p.Limit); err != nil {
		return nil, "", err
	}
	var after *RoundEntry
	if p.Cursor != "" {
		var c roundCursor
		if err := store.DecodeCursor(p.Cursor, &c); err != nil {
			return nil, "", err
		}
		after = &RoundEntry{ID: c.ID, Deadline: c.Deadline}
	}
	page, more, err := a.read.Rounds(ctx, after, p.Limit)
	if err != nil {
		return nil, "", err
	}
	if !more || len(page) == 0 {
		return page, "", nil
	}
	last := page[len(page)-1]
	return page, store.EncodeCursor(roundCursor{Deadline: last.Deadline, ID: last.ID}), nil
}

// MyAssignments lists a page of the caller's assignments in force (reviewer); a
// subject the pool does not know has none.
func (a *App) MyAssignments(ctx context.Context, by auth.Principal, p Page) ([]Assignment, string, error) {
	if err := pageLimit(p.Limit); err != nil {
		return nil, "", err
	}
	if _, ok, err := a.member(ctx, by); err != nil || !ok {
		return []Assignment{}, "", err
	}
	var after *AssignmentEntry
	if p.Cursor != "" {
		var c cursorAt
		if err := store.DecodeCursor(p.Cursor, &c); err != nil {
			return nil, "", err
		}
		rid, sub, _ := strings.Cut(c.After, "/")
		after = &AssignmentEntry{RoundID: rid, SubmissionID: sub, ReviewerID: by.Subject}
	}
	page, more, err := a.read.Assignments(ctx, by.Subject, after, p.Limit)
	if err != nil {
		return nil, "", err
	}
	now := a.clock.Now()
	out := make([]Assignment, 0, len(page))
	names := map[string]string{} // many assignments name one organisation: it is read once
	for _, e := range page {
		name, ok := names[e.Org]
		if !ok || e.Org == "" {
			if name, err = a.currentName(ctx, e.Org, e.OrganisationName); err != nil {
				return nil, "", err
			}
			names[e.Org] = name
		}
		as := round.Assignment{SubmissionID: e.SubmissionID, ReviewerID: e.ReviewerID, State: e.State, Overdue: e.OverdueRecorded, ReturnedReason: e.ReturnedReason, WithheldReason: e.WithheldReason}
		if e.HasReview {
			// Only whether a review is in is shown in the list; the review itself is
			// read with the submission's reviews.
			as.Review = &events.ReviewSubmittedV1{}
		}
		out = append(out, Assignment{RoundID: e.RoundID, RoundName: e.RoundName, OrganisationName: name, Deadline: e.Deadline, Overdue: e.OverdueAt(now),
			Answerable: round.Answerable(e.State, !e.Closed, e.Deadline, now), RoundOpen: !e.Closed, Assignment: as})
	}
	if !more || len(page) == 0 {
		return out, "", nil
	}
	last := page[len(page)-1]
	return out, store.EncodeCursor(cursorAt{After: last.RoundID + "/" + last.SubmissionID}), nil
}
