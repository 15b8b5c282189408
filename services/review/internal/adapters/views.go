package adapters

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"sync"
	"time"
	"unique"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/errgroup"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/review/internal/app"
	"github.com/itss/techcommit/services/review/internal/domain/round"
)

// Collections of the read models, for the rebuild.
const (
	RoundsCollection      = "review_rounds"
	AssignmentsCollection = "review_assignments"
	SubmissionsCollection = "submission_list"
)

// ReadModels is the review service's read models: a document per round, per
// assignment and per submission, read and written by _id, each with a Mirror of its
// list fields that every replica holds in memory (store.Lists), in the orders the
// lists page through. On the embedded store any other query reads the whole
// collection; from memory a page costs its own entries, and keeping up with other
// replicas' changes is a lookup by _id that finds nothing when nothing changed.
type ReadModels struct {
	rounds      *store.Views
	roundMirror *store.Mirror[roundDoc]
	roundLists  *store.Lists[app.RoundEntry]

	assignments      *store.Views
	assignmentMirror *store.Mirror[assignmentDoc]
	assignmentLists  *store.Lists[app.AssignmentEntry]

	submissions      *store.Views
	submissionMirror *store.Mirror[SubmissionEntryDoc]
	submissionLists  *store.Lists[app.SubmissionEntry]
	// merging makes a submission's merge of halves with what is held, and its apply,
	// one step.
	merging sync.Mutex
}

var _ app.ReadModels = (*ReadModels)(nil)

type roundDoc struct {
	ID          string    `bson:"_id"`
	Name        string    `bson:"name"`
	Deadline    time.Time `bson:"review_deadline"`
	PerSub      int       `bson:"reviewers_per_submission"`
	Status      string    `bson:"status"`
	Submissions int       `bson:"submission_count"`
	Version     int       `bson:"version"`
}

type assignmentDoc struct {
	ID              string    `bson:"_id"`
	RoundID         string    `bson:"round_id"`
	RoundName       string    `bson:"round_name"`
	Deadline        time.Time `bson:"review_deadline"`
	SubmissionID    string    `bson:"submission_id"`
	ReviewerID      string    `bson:"reviewer_id"`
	OrgName         string    `bson:"organisation_name,omitempty"` // absent from documents saved before it was kept
	OrgID           string    `bson:"organisation_id,omitempty"`   // absent from documents saved before it was kept
	State           string    `bson:"state"`
	HasReview       bool      `bson:"has_review,omitempty"`
	ReturnedReason  string    `bson:"returned_reason,omitempty"`
	WithheldReason  string    `bson:"withheld_reason,omitempty"`
	DeclinedReason  string    `bson:"declined_reason,omitempty"`
	OverdueRecorded bool      `bson:"overdue,omitempty"`
	Closed          bool      `bson:"closed,omitempty"`
	Released        bool      `bson:"released,omitempty"`
	Moved           bool      `bson:"moved,omitempty"`
	Version         int       `bson:"version"`
}

// SubmissionEntryDoc is a submission's list fields: what its Mirror holds. It is
// exported because submissionDoc embeds it inline, and the BSON encoder leaves out an
// embedded struct of an unexported type, inline or not: the documents held their _id
// alone, and a replica's start read every submission as a draft of no organisation.
type SubmissionEntryDoc struct {
	ID           string    `bson:"_id"`
	Org          string    `bson:"organisation_id"`
	Submitted    bool      `bson:"submitted"`
	CreatedAt    time.Time `bson:"created_at"`
	SubmittedAt  time.Time `bson:"submitted_at,omitempty"`
	Version      int       `bson:"version"`
	RoundID      string    `bson:"round_id,omitempty"`
	Released     bool      `bson:"released,omitempty"`
	RoundVersion int       `bson:"round_version,omitempty"`
	Placement    int       `bson:"placement,omitempty"`
}

// submissionDoc is a submission's document: its list fields and its feedback.
type submissionDoc struct {
	SubmissionEntryDoc `bson:",inline"`
	Feedback           *feedbackDoc `bson:"feedback,omitempty"`
}

type feedbackDoc struct {
	Text   string     `bson:"text"`
	Scores []scoreDoc `bson:"scores"`
}

type scoreDoc struct {
	Theme string  `bson:"theme"`
	Score float64 `bson:"score"`
}

// NewReadModels opens the read models and reads their list fields into memory.
func NewReadModels(ctx context.Context, db *mongo.Database) (*ReadModels, error) {
	m := &ReadModels{
		roundLists: store.NewLists(func(e app.RoundEntry) string { return e.ID }, func(app.RoundEntry) []string { return nil },
			func(a, b app.RoundEntry) int {
				// Later deadlines first.
				if c := b.Deadline.Compare(a.Deadline); c != 0 {
					return c
				}
				return cmp.Compare(a.ID, b.ID)
			}, func(held, given app.RoundEntry) bool { return given.Version > held.Version }),
		// An assignment is in its reviewer's list, its round's, and its round's
		// submission's (the console's round page and a submission's reviewers).
		assignmentLists: store.NewLists(app.AssignmentEntry.Key, assignmentNames,
			func(a, b app.AssignmentEntry) int { return cmp.Compare(a.Key(), b.Key()) },
			func(held, given app.AssignmentEntry) bool { return given.Version > held.Version }),
		submissionLists: store.NewLists(func(e app.SubmissionEntry) string { return e.ID },
			func(e app.SubmissionEntry) []string { return []string{"org=" + e.Org, "status=" + e.Status()} },
			func(a, b app.SubmissionEntry) int { return cmp.Compare(a.ID, b.ID) },
			func(held, given app.SubmissionEntry) bool {
				return given.Version > held.Version || given.RoundHalfAfter(held)
			}),
	}
	var err error
	if m.rounds, err = store.NewViews(ctx, db, RoundsCollection); err != nil {
		return nil, err
	}
	if m.assignments, err = store.NewViews(ctx, db, AssignmentsCollection); err != nil {
		return nil, err
	}
	if m.submissions, err = store.NewViews(ctx, db, SubmissionsCollection); err != nil {
		return nil, err
	}
	if m.roundMirror, err = store.NewMirror(m.rounds.Collection(), RoundsCollection+"_changes", nil, m.applyRounds); err != nil {
		return nil, err
	}
	if m.assignmentMirror, err = store.NewMirror(m.assignments.Collection(), AssignmentsCollection+"_changes", nil, m.applyAssignments); err != nil {
		return nil, err
	}
	// The start reads the list fields only, not the feedback.
	project := bson.D{}
	for _, f := range []string{"organisation_id", "submitted", "created_at", "submitted_at", "version", "round_id", "released", "round_version", "placement"} {
		project = append(project, bson.E{Key: f, Value: 1})
	}
	if m.submissionMirror, err = store.NewMirror(m.submissions.Collection(), SubmissionsCollection+"_changes", project, m.applySubmissions); err != nil {
		return nil, err
	}
	for _, sync := range []func(context.Context) error{m.roundMirror.Sync, m.assignmentMirror.Sync, m.submissionMirror.Sync} {
		if err := sync(ctx); err != nil {
			return nil, fmt.Errorf("read the review read models: %w", err)
		}
	}
	return m, nil
}

func assignmentNames(e app.AssignmentEntry) []string {
	return []string{"reviewer=" + e.ReviewerID, "round=" + e.RoundID, "submission=" + e.RoundID + "/" + e.SubmissionID}
}

func roundOf(d roundDoc) app.RoundEntry {
	return app.RoundEntry{ID: d.ID, Name: d.Name, Deadline: d.Deadline.UTC(), ReviewersPerSubmission: d.PerSub, Status: d.Status,
		Submissions: d.Submissions, Version: d.Version}
}

func roundDocOf(e app.RoundEntry) roundDoc {
	return roundDoc{ID: e.ID, Name: e.Name, Deadline: e.Deadline, PerSub: e.ReviewersPerSubmission, Status: e.Status, Submissions: e.Submissions, Version: e.Version}
}

func assignmentOf(d assignmentDoc) app.AssignmentEntry {
	// Many assignments share a round (its id and name) and an organisation (its
	// name): each is held once.
	return app.AssignmentEntry{RoundID: unique.Make(d.RoundID).Value(), RoundName: unique.Make(d.RoundName).Value(), Deadline: d.Deadline.UTC(),
		SubmissionID: d.SubmissionID, ReviewerID: d.ReviewerID, OrganisationName: unique.Make(d.OrgName).Value(), Org: unique.Make(d.OrgID).Value(), State: unique.Make(d.State).Value(), HasReview: d.HasReview,
		ReturnedReason: d.ReturnedReason, WithheldReason: d.WithheldReason, DeclinedReason: d.DeclinedReason, OverdueRecorded: d.OverdueRecorded, Closed: d.Closed, Released: d.Released, Moved: d.Moved, Version: d.Version}
}

func assignmentDocOf(e app.AssignmentEntry) assignmentDoc {
	return assignmentDoc{ID: e.Key(), RoundID: e.RoundID, RoundName: e.RoundName, Deadline: e.Deadline, SubmissionID: e.SubmissionID,
		ReviewerID: e.ReviewerID, OrgName: e.OrganisationName, OrgID: e.Org, State: e.State, HasReview: e.HasReview, ReturnedReason: e.ReturnedReason, WithheldReason: e.WithheldReason, DeclinedReason: e.DeclinedReason,
		OverdueRecorded: e.OverdueRecorded, Closed: e.Closed, Released: e.Released, Moved: e.Moved, Version: e.Version}
}

func submissionOf(d SubmissionEntryDoc) app.SubmissionEntry {
	return app.SubmissionEntry{ID: d.ID, Org: unique.Make(d.Org).Value(), Submitted: d.Submitted, CreatedAt: d.CreatedAt.UTC(), SubmittedAt: d.SubmittedAt.UTC(),
		Version: d.Version, RoundID: unique.Make(d.RoundID).Value(), Released: d.Released, Placement: d.Placement, RoundVersion: d.RoundVersion}
}

func submissionEntryDocOf(e app.SubmissionEntry) SubmissionEntryDoc {
	return SubmissionEntryDoc{ID: e.ID, Org: e.Org, Submitted: e.Submitted, CreatedAt: e.CreatedAt, SubmittedAt: e.SubmittedAt, Version: e.Version,
		RoundID: e.RoundID, Released: e.Released, Placement: e.Placement, RoundVersion: e.RoundVersion}
}

// merge is what is known of a submission from held and given together: each half
// from whichever is newer (the round half by placement, then round version).
func merge(held, given app.SubmissionEntry) app.SubmissionEntry {
	out := held
	if given.Version > held.Version {
		out.Org, out.Submitted, out.CreatedAt, out.SubmittedAt, out.Version = given.Org, given.Submitted || held.Submitted, given.CreatedAt, given.SubmittedAt, given.Version
	}
	if given.RoundHalfAfter(held) {
		out.RoundID, out.Released, out.Placement, out.RoundVersion, out.Feedback = given.RoundID, given.Released, given.Placement, given.RoundVersion, given.Feedback
		out.Submitted = true // only a submitted submission is put in a round
		if out.Org == "" {
			out.Org = given.Org
		}
	}
	return out
}

func (m *ReadModels) applyRounds(docs []roundDoc) {
	es := make([]app.RoundEntry, len(docs))
	for i, d := range docs {
		es[i] = roundOf(d)
	}
	m.roundLists.Apply(es)
}

func (m *ReadModels) applyAssignments(docs []assignmentDoc) {
	es := make([]app.AssignmentEntry, len(docs))
	for i, d := range docs {
		es[i] = assignmentOf(d)
	}
	m.assignmentLists.Apply(es)
}

func (m *ReadModels) applySubmissions(docs []SubmissionEntryDoc) {
	es := make([]app.SubmissionEntry, len(docs))
	for i, d := range docs {
		es[i] = submissionOf(d)
	}
	m.holdSubmissions(es)
}

// holdSubmissions merges entries with those held and applies them, without their
// feedback (read by _id when asked for).
func (m *ReadModels) holdSubmissions(es []app.SubmissionEntry) {
	if len(es) == 0 {
		return
	}
	m.merging.Lock()
	defer m.merging.Unlock()
	merged := map[string]app.SubmissionEntry{}
	var ids []string
	for _, e := range es {
		held, ok := merged[e.ID]
		if !ok {
			ids = append(ids, e.ID)
			held, ok = m.submissionLists.Get(e.ID)
		}
		if ok {
			e = merge(held, e)
		}
		e.Feedback = nil
		merged[e.ID] = e
	}
	out := make([]app.SubmissionEntry, len(ids))
	for i, id := range ids {
		out[i] = merged[id]
	}
	m.submissionLists.Apply(out)
}

// Hold takes a command's changes into this replica's memory.
func (m *ReadModels) Hold(c app.Changes) {
	m.roundLists.Apply(c.Rounds)
	m.assignmentLists.Apply(c.Assignments)
	m.holdSubmissions(c.Submissions)
}

// Save writes the changes' documents, never an older version over a newer, and
// records them for every replica's memory.
func (m *ReadModels) Save(ctx context.Context, c app.Changes) error {
	if len(c.Rounds) > 0 {
		latest := map[string]app.RoundEntry{}
		for _, e := range c.Rounds {
			if held, ok := latest[e.ID]; !ok || e.Version > held.Version {
				latest[e.ID] = e
			}
		}
		views, docs := make([]store.View, 0, len(latest)), make([]roundDoc, 0, len(latest))
		for _, e := range latest {
			d := roundDocOf(e)
			views, docs = append(views, store.View{ID: d.ID, Version: d.Version, Doc: d}), append(docs, d)
		}
		if err := m.rounds.PutMany(ctx, views); err != nil {
			return err
		}
		if err := m.roundMirror.Record(ctx, docs...); err != nil {
			return err
		}
	}
	if len(c.Assignments) > 0 {
		latest := map[string]app.AssignmentEntry{}
		for _, e := range c.Assignments {
			if held, ok := latest[e.Key()]; !ok || e.Version > held.Version {
				latest[e.Key()] = e
			}
		}
		views, docs := make([]store.View, 0, len(latest)), make([]assignmentDoc, 0, len(latest))
		for _, e := range latest {
			d := assignmentDocOf(e)
			views, docs = append(views, store.View{ID: d.ID, Version: d.Version, Doc: d}), append(docs, d)
		}
		if err := m.assignments.PutMany(ctx, views); err != nil {
			return err
		}
		if err := m.assignmentMirror.Record(ctx, docs...); err != nil {
			return err
		}
	}
	if len(c.Submissions) > 0 {
		return m.saveSubmissions(ctx, c.Submissions)
	}
	return nil
}

// saveSubmissions merges each submission's halves with its stored document and
// writes it. Only the projection writes these documents, one batch at a time, so the
// read and the write by _id need no guard.
func (m *ReadModels) saveSubmissions(ctx context.Context, es []app.SubmissionEntry) error {
	given := map[string]app.SubmissionEntry{}
	var ids []string
	for _, e := range es {
		if held, ok := given[e.ID]; ok {
			given[e.ID] = merge(held, e)
			continue
		}
		ids = append(ids, e.ID)
		given[e.ID] = e
	}
	saved := make([]SubmissionEntryDoc, len(ids))
	changed := make([]bool, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, id := range ids {
		g.Go(func() error {
			var d submissionDoc
			found, err := m.submissions.Get(gctx, id, &d)
			if err != nil {
				return err
			}
			stored := app.SubmissionEntry{}
			if found {
				stored = submissionOf(d.SubmissionEntryDoc)
				stored.Feedback = feedbackOf(d.Feedback)
			}
			e := merge(stored, given[id])
			if found && e.Version == stored.Version && e.Placement == stored.Placement && e.RoundVersion == stored.RoundVersion {
				return nil // delivered again
			}
			e.ID = id
			out := submissionDoc{SubmissionEntryDoc: submissionEntryDocOf(e), Feedback: feedbackDocOf(e.Feedback)}
			if err := m.submissions.Put(gctx, id, out); err != nil {
				return err
			}
			saved[i], changed[i] = out.SubmissionEntryDoc, true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var record []SubmissionEntryDoc
	for i := range ids {
		if changed[i] {
			record = append(record, saved[i])
		}
	}
	return m.submissionMirror.Record(ctx, record...)
}

func feedbackOf(d *feedbackDoc) *round.Feedback {
	if d == nil {
		return nil
	}
	f := &round.Feedback{Text: d.Text}
	for _, s := range d.Scores {
		f.Scores = append(f.Scores, events.ThemeScore{Theme: s.Theme, Score: s.Score})
	}
	return f
}

func feedbackDocOf(f *round.Feedback) *feedbackDoc {
	if f == nil {
		return nil
	}
	d := &feedbackDoc{Text: f.Text, Scores: []scoreDoc{}}
	for _, s := range f.Scores {
		d.Scores = append(d.Scores, scoreDoc{Theme: s.Theme, Score: s.Score})
	}
	return d
}

// Rounds pages through rounds, latest deadline first.
func (m *ReadModels) Rounds(ctx context.Context, after *app.RoundEntry, limit int) ([]app.RoundEntry, bool, error) {
	if err := m.roundMirror.Sync(ctx); err != nil {
		return nil, false, err
	}
	page, more := m.roundLists.Page(nil, after, nil, limit)
	return page, more, nil
}

// Assignments pages through a reviewer's assignments in force.
func (m *ReadModels) Assignments(ctx context.Context, reviewer string, after *app.AssignmentEntry, limit int) ([]app.AssignmentEntry, bool, error) {
	if err := m.assignmentMirror.Sync(ctx); err != nil {
		return nil, false, err
	}
	page, more := m.assignmentLists.Page([]string{"reviewer=" + reviewer}, after, func(e app.AssignmentEntry) bool {
		return e.ReviewerID == reviewer && e.Active()
	}, limit)
	return page, more, nil
}

// Round is one round's entry.
func (m *ReadModels) Round(ctx context.Context, id string) (app.RoundEntry, bool, error) {
	if err := m.roundMirror.Sync(ctx); err != nil {
		return app.RoundEntry{}, false, err
	}
	e, ok := m.roundLists.Get(id)
	return e, ok, nil
}

// RoundAssignments pages through a round's assignments, or one submission's in it:
// not those of a submission it let go to a later round, which it no longer lists.
func (m *ReadModels) RoundAssignments(ctx context.Context, round, submission string, after *app.AssignmentEntry, limit int) ([]app.AssignmentEntry, bool, error) {
	if err := m.assignmentMirror.Sync(ctx); err != nil {
		return nil, false, err
	}
	name := "round=" + round
	if submission != "" {
		name = "submission=" + round + "/" + submission
	}
	page, more := m.assignmentLists.Page([]string{name}, after, func(e app.AssignmentEntry) bool {
		return e.RoundID == round && (submission == "" || e.SubmissionID == submission) && !e.Moved
	}, limit)
	return page, more, nil
}

// EachOfRound walks a round's assignments in memory.
func (m *ReadModels) EachOfRound(ctx context.Context, round string, f func(app.AssignmentEntry)) error {
	if err := m.assignmentMirror.Sync(ctx); err != nil {
		return err
	}
	m.assignmentLists.Each("round="+round, f)
	return nil
}

// Organisations looks up submissions' organisations in memory.
func (m *ReadModels) Organisations(ctx context.Context, submissions []string) (map[string]string, error) {
	if err := m.submissionMirror.Sync(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(submissions))
	for _, id := range submissions {
		if e, ok := m.submissionLists.Get(id); ok {
			out[id] = e.Org
		}
	}
	return out, nil
}

// InForce lists the assignments in force of each reviewer named.
func (m *ReadModels) InForce(ctx context.Context, reviewers []string) (map[string][]app.AssignmentEntry, error) {
	if err := m.assignmentMirror.Sync(ctx); err != nil {
		return nil, err
	}
	out := make(map[string][]app.AssignmentEntry, len(reviewers))
	for _, id := range reviewers {
		out[id], _ = m.assignmentLists.Page([]string{"reviewer=" + id}, nil, func(e app.AssignmentEntry) bool {
			return e.ReviewerID == id && e.Active()
		}, math.MaxInt)
	}
	return out, nil
}

// Submissions pages through submissions in id order.
func (m *ReadModels) Submissions(ctx context.Context, org, status, after string, limit int) ([]app.SubmissionEntry, bool, error) {
	if err := m.submissionMirror.Sync(ctx); err != nil {
		return nil, false, err
	}
	var names []string
	if org != "" {
		names = append(names, "org="+org)
	}
	if status != "" {
		names = append(names, "status="+status)
	}
	var from *app.SubmissionEntry
	if after != "" {
		from = &app.SubmissionEntry{ID: after}
	}
	page, more := m.submissionLists.Page(names, from, func(e app.SubmissionEntry) bool {
		return (org == "" || e.Org == org) && (status == "" || e.Status() == status)
	}, limit)
	return page, more, nil
}

// Submission is one submission's entry.
func (m *ReadModels) Submission(ctx context.Context, id string) (app.SubmissionEntry, bool, error) {
	if err := m.submissionMirror.Sync(ctx); err != nil {
		return app.SubmissionEntry{}, false, err
	}
	e, ok := m.submissionLists.Get(id)
	return e, ok, nil
}

// OfOrganisation lists an organisation's submissions.
func (m *ReadModels) OfOrganisation(ctx context.Context, org string) ([]app.SubmissionEntry, error) {
	if err := m.submissionMirror.Sync(ctx); err != nil {
		return nil, err
	}
	page, _ := m.submissionLists.Page([]string{"org=" + org}, nil, func(e app.SubmissionEntry) bool { return e.Org == org }, math.MaxInt)
	return page, nil
}

// Feedback reads a submission's document for its feedback.
func (m *ReadModels) Feedback(ctx context.Context, id string) (round.Feedback, bool, error) {
	var d submissionDoc
	found, err := m.submissions.Get(ctx, id, &d)
	if err != nil || !found || d.Feedback == nil {
		return round.Feedback{}, false, err
	}
	return *feedbackOf(d.Feedback), true, nil
}

// Empty says whether no round and no submission is held.
func (m *ReadModels) Empty() bool {
	return m.roundLists.Len() == 0 && m.submissionLists.Len() == 0
}

// Damaged says whether a submission held has lost its list fields: every entry
// names its organisation, and one read from a document an earlier version wrote
// (its _id alone; see SubmissionEntryDoc) names none. It looks in memory only.
func (m *ReadModels) Damaged() bool {
	lost, _ := m.submissionLists.Page(nil, nil, func(e app.SubmissionEntry) bool { return e.Org == "" }, 1)
	return len(lost) > 0
}
