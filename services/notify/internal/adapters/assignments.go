package adapters

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// Assignments is the read model of reviewers' open assignments, for the reminder
// before a review is due; of what happened to each after it was made (marks: one
// document per event, inserted and never changed, in a numbered run per assignment);
// and of the rounds closed.
//
// An assignment's record does not name its reviewer: the reviewer is kept apart, in
// a document of their own (reviewers), which only the review consumer's naming of
// them and their erasure write. The record is closed and opened again by that
// consumer, and on the embedded store every update is a read and a replace of the
// whole document, so an erasure reading and replacing the same record beside it
// (it is taken in by another consumer, of the signatory's stream) lost the close or
// wrote the erased reviewer back: the review service takes an erased reviewer off
// their open assignments at once, so the two met on every one of them. Records made
// before this release still name their reviewer (assignmentDoc.Reviewer): they are
// read and forgotten as before.
type Assignments struct {
	coll *mongo.Collection
	// reviewers holds each reviewer's name and address, under their id, as the
	// review service last named them (reviewerDoc).
	reviewers *mongo.Collection
	// marks holds each assignment's marks as a numbered run of documents, <key>#0,
	// <key>#1, ...: an assignment's marks are read by _id up to the first number
	// missing, not by a filter the embedded store answers by reading every mark.
	marks *mongo.Collection
	// oldMarks is where versions before this one kept each mark under its own id;
	// MoveOldMarks moves what it holds into marks.
	oldMarks *mongo.Collection
	// underWay says which erasures are under way (Rename waits for them).
	underWay *mongo.Collection
	// erasures is notify's record of erasures (MoveOldMarks reads it).
	erasures *Erasure
	rounds   *mongo.Collection
}

var _ app.Assignments = (*Assignments)(nil)

type assignmentDoc struct {
	ID             string `bson:"_id"`
	RoundID        string `bson:"round_id"`
	SubmissionID   string `bson:"submission_id"`
	ReviewerID     string `bson:"reviewer_id"`
	OrganisationID string `bson:"organisation_id"`
	RoundName      string `bson:"round_name,omitempty"`
	OrgName        string `bson:"organisation_name,omitempty"`
	// Reviewer is held only by records made before the reviewer was kept apart
	// (reviewerDoc); a record made since has none.
	Reviewer *personDoc `bson:"reviewer,omitempty"`
	Deadline time.Time  `bson:"deadline"`
	RemindOn string     `bson:"remind_on"` // YYYY-MM-DD
	Closed   bool       `bson:"closed"`
	// Returned is the round's version of the return this reminder is for (0: the
	// assignment as made).
	Returned int `bson:"returned,omitempty"`
	// Assigned is the round's version of the assignment the record is for (absent
	// in records made before it was kept).
	Assigned int `bson:"assigned_version,omitempty"`
}

// markDoc is one event of an assignment's life.
type markDoc struct {
	ID string `bson:"_id"` // <assignment>#<n>, its place in the assignment's run
	// Mark is assignment|version|kind: the same event told twice is the same mark,
	// kept once (versions before this one used it as the _id).
	Mark           string    `bson:"mark"`
	Assignment     string    `bson:"assignment"`
	RoundID        string    `bson:"round_id"`
	SubmissionID   string    `bson:"submission_id"`
	ReviewerID     string    `bson:"reviewer_id"`
	OrganisationID string    `bson:"organisation_id,omitempty"`
	RoundName      string    `bson:"round_name,omitempty"`
	OrgName        string    `bson:"organisation_name,omitempty"`
	Reviewer       personDoc `bson:"reviewer"`
	Deadline       time.Time `bson:"deadline"`
	Kind           string    `bson:"kind"`
	Version        int       `bson:"version"`
	At             time.Time `bson:"at"`
	Reason         string    `bson:"reason,omitempty"`
}

// reviewerDoc is a reviewer as the review service last named them, under their id:
// written (whole) when an assignment of theirs is recorded and when ops correct their
// record, and deleted by their erasure. Nothing else writes it, so no update of an
// assignment can bring back a reviewer their erasure took off it.
type reviewerDoc struct {
	ID       string    `bson:"_id"` // the reviewer's id in the pool
	Reviewer personDoc `bson:"reviewer"`
}

// reviewersCollection holds the reviewerDocs.
const reviewersCollection = "assignment_reviewers"

// roundDoc says a round is closed.
type roundDoc struct {
	ID     string `bson:"_id"`
	Closed bool   `bson:"closed"`
}

// docID is where an assignment's reminder is kept: the assignment's own, or one per
// return of its review.
func docID(a app.Assignment) string {
	if a.Returned > 0 {
		return fmt.Sprintf("%s|returned@%d", a.Key(), a.Returned)
	}
	return a.Key()
}

// NewAssignments opens the collection and its index.
func NewAssignments(ctx context.Context, db *mongo.Database) (*Assignments, error) {
	coll := db.Collection("assignments")
	if err := store.CreateIndexes(ctx, coll, []mongo.IndexModel{
		{Keys: bson.D{{Key: "closed", Value: 1}, {Key: "remind_on", Value: 1}}},
	}); err != nil {
		return nil, fmt.Errorf("create assignment indexes: %w", store.Classify(err))
	}
	marks := db.Collection(markRunsCollection)
	if err := store.CreateIndexes(ctx, marks, []mongo.IndexModel{
		{Keys: bson.D{{Key: "round_id", Value: 1}}},
		{Keys: bson.D{{Key: "reviewer_id", Value: 1}}},
	}); err != nil {
		return nil, fmt.Errorf("create assignment mark indexes: %w", store.Classify(err))
	}
	s := &Assignments{coll: coll, reviewers: db.Collection(reviewersCollection), marks: marks, oldMarks: db.Collection(oldMarksCollection), rounds: db.Collection("review_rounds"),
		underWay: db.Collection(personal.UnderWayCollection), erasures: NewErasure(db)}
	if _, err := s.MoveOldMarks(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// The collections of marks: the runs, and where versions before them kept each mark
// under its own id.
const (
	markRunsCollection = "assignment_mark_runs"
	oldMarksCollection = "assignment_marks"
)

// MoveOldMarks moves the marks a version before this one kept under their own ids into
// their assignments' runs, and returns how many it moved. It runs at start
// and at every sweep, for the marks such a version still writes during a rolling
// upgrade; with none left it reads an empty collection.
//
// A reviewer erased as their marks are moved may have been looked for in the runs
// before a mark reached them and among the marks kept apart after it left (27 to 30
// of 40 such moves left the erased reviewer named in a run): once moved, the marks of
// a reviewer erased (notify's record of erasures, written before an erasure reads)
// are forgotten in the runs.
func (s *Assignments) MoveOldMarks(ctx context.Context) (int, error) {
	docs, err := readAll[markDoc](ctx, s.oldMarks, nil)
	if err != nil {
		return 0, err
	}
	moved := map[string]bool{}
	for i, d := range docs {
		d.Mark = d.ID // its id, in the version that kept it
		if _, err := s.addMark(ctx, d); err != nil {
			return i, err
		}
		if _, err := s.oldMarks.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}}); err != nil {
			return i, fmt.Errorf("move mark %s: %w", d.ID, store.Classify(err))
		}
		moved[d.Reviewer.Email] = true
	}
	for _, email := range slices.Sorted(maps.Keys(moved)) {
		if email == "" {
			continue
		}
		if erased, err := s.erasures.Erased(ctx, email); err != nil || !erased {
			if err != nil {
				return len(docs), err
			}
			continue
		}
		if _, err := personal.Forget(ctx, s.marks, personal.Subject(email), false); err != nil {
			return len(docs), err
		}
	}
	return len(docs), nil
}

// Open records an assignment unless it is already known, so that an assignment whose
// closing event overtook it stays closed.
func (s *Assignments) Open(ctx context.Context, a app.Assignment) error {
	if err := s.name(ctx, a.ReviewerID, a.Reviewer); err != nil {
		return err
	}
	doc := assignmentDoc{ID: docID(a), Returned: a.Returned, RoundID: a.RoundID, SubmissionID: a.SubmissionID, ReviewerID: a.ReviewerID, OrganisationID: a.OrganisationID,
		RoundName: a.RoundName, OrgName: a.OrganisationName, Deadline: a.Deadline, RemindOn: a.RemindOn.String(),
		Assigned: a.Assigned}
	if _, err := s.coll.InsertOne(ctx, doc); err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("record assignment %s: %w", doc.ID, store.Classify(err))
	}
	return nil
}

// Reopen opens again the closed record of an assignment for a later one of the same
// reviewer (a.Assigned after the version it holds), with that assignment's deadline
// and reminder day. A record already for this assignment, or a later one, is left.
func (s *Assignments) Reopen(ctx context.Context, a app.Assignment) error {
	filter := bson.D{{Key: "_id", Value: docID(a)}, {Key: "closed", Value: true}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "assigned_version", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "assigned_version", Value: bson.D{{Key: "$lt", Value: a.Assigned}}}},
	}}}
	if err := s.name(ctx, a.ReviewerID, a.Reviewer); err != nil {
		return err
	}
	set := bson.D{{Key: "closed", Value: false}, {Key: "assigned_version", Value: a.Assigned}, {Key: "deadline", Value: a.Deadline},
		{Key: "remind_on", Value: a.RemindOn.String()},
		{Key: "round_name", Value: a.RoundName}, {Key: "organisation_name", Value: a.OrganisationName}}
	if _, err := s.coll.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: set}}); err != nil {
		return fmt.Errorf("reopen assignment %s: %w", docID(a), store.Classify(err))
	}
	return nil
}

// Rename writes the reviewer's name and address, as the pool now holds them, in their
// own document and on each mark of theirs, and on each assignment recorded before
// the reviewer was kept apart (a scan of the reviewer's: ops correct a record
// rarely, and each reviewer has a few).
//
// An erasure of the reviewer's earlier address under way as it writes may have read
// their document and marks before and write them after, deleting or blanking what it
// read (the embedded store's writes are a read and a replace, and an erasure reads a
// whole collection before it writes): 17 to 28 of 40 corrections beside such an
// erasure lost the corrected address from the marks (and the reviewer's document,
// deleted so, would leave them without reminders). Erasures
// say when they start, before they read, and when they are done (Erasure.Forget):
// the correction is written again after any that was under way as it was written,
// once it is done. One that starts later reads the correction.
func (s *Assignments) Rename(ctx context.Context, reviewerID string, p mail.Person) error {
	since := time.Now()
	if err := s.rename(ctx, reviewerID, p); err != nil {
		return err
	}
	waited, err := personal.AwaitForgetting(ctx, s.underWay, since)
	if err != nil || !waited {
		return err
	}
	return s.rename(ctx, reviewerID, p)
}

func (s *Assignments) rename(ctx context.Context, reviewerID string, p mail.Person) error {
	if err := s.name(ctx, reviewerID, p); err != nil {
		return err
	}
	set := bson.D{{Key: "$set", Value: bson.D{{Key: "reviewer", Value: personDoc(p)}}}}
	for _, c := range []*mongo.Collection{s.coll, s.marks, s.oldMarks} {
		filter := bson.D{{Key: "reviewer_id", Value: reviewerID}}
		if c == s.coll { // only the records that name their reviewer themselves
			filter = append(filter, bson.E{Key: "reviewer", Value: bson.D{{Key: "$exists", Value: true}}})
		}
		if _, err := c.UpdateMany(ctx, filter, set); err != nil {
			return fmt.Errorf("rename reviewer %s: %w", reviewerID, store.Classify(err))
		}
	}
	return nil
}

// name keeps the reviewer as the review service names them now (an event of theirs
// the review consumer handles, in the stream's order), whole. A reviewer with no
// address (an event that names nobody) changes nothing.
func (s *Assignments) name(ctx context.Context, reviewerID string, p mail.Person) error {
	if reviewerID == "" || p.Email == "" {
		return nil
	}
	if err := store.Replace(ctx, s.reviewers, reviewerID, reviewerDoc{ID: reviewerID, Reviewer: personDoc(p)}); err != nil {
		return fmt.Errorf("record reviewer %s: %w", reviewerID, store.Classify(err))
	}
	return nil
}

// reviewer is the reviewer of an assignment's record: the one the record itself names
// (made before the reviewer was kept apart), or else the one kept under their id;
// nobody when their erasure deleted it. known caches the reviewers kept, by id, for a
// read of many records.
func (s *Assignments) reviewer(ctx context.Context, d assignmentDoc, known map[string]*personDoc) (mail.Person, error) {
	if d.Reviewer != nil && d.Reviewer.Email != "" {
		return mail.Person(*d.Reviewer), nil
	}
	if d.ReviewerID == "" {
		return mail.Person{}, nil
	}
	p, ok := known[d.ReviewerID]
	if !ok {
		var r reviewerDoc
		found, err := store.FindByID(ctx, s.reviewers, d.ReviewerID, &r)
		if err != nil {
			return mail.Person{}, fmt.Errorf("read reviewer %s: %w", d.ReviewerID, err)
		}
		if found {
			p = &r.Reviewer
		}
		if known != nil {
			known[d.ReviewerID] = p
		}
	}
	if p == nil {
		return mail.Person{}, nil
	}
	return mail.Person(*p), nil
}

// Close marks an assignment done (reviewed, declined or removed), creating the record
// if its opening event has not arrived yet. Closing is the only change an assignment
// ever sees, so concurrent closes can only agree.
func (s *Assignments) Close(ctx context.Context, a app.Assignment) error {
	// An upsert racing the opening insert loses on _id; Update's second try updates.
	if err := store.Update(ctx, s.coll, docID(a), bson.D{{Key: "$set", Value: bson.D{{Key: "closed", Value: true}}}}); err != nil {
		return fmt.Errorf("close assignment %s: %w", docID(a), store.Classify(err))
	}
	return nil
}

// Closed says whether the assignment is done.
func (s *Assignments) Closed(ctx context.Context, a app.Assignment) (bool, error) {
	var d assignmentDoc
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: docID(a)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read assignment %s: %w", docID(a), store.Classify(err))
	}
	return d.Closed, nil
}

// DueForReminder lists open assignments whose reminder day has come and whose
// deadline has not passed.
func (s *Assignments) DueForReminder(ctx context.Context, today civil.Date, now time.Time, limit int) ([]app.Assignment, error) {
	cur, err := s.coll.Find(ctx, bson.D{{Key: "closed", Value: false}, {Key: "remind_on", Value: bson.D{{Key: "$lte", Value: today.String()}}},
		{Key: "deadline", Value: bson.D{{Key: "$gt", Value: now}}}}, options.Find().SetSort(bson.D{{Key: "remind_on", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("query assignments: %w", store.Classify(err))
	}
	var docs []assignmentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("query assignments: %w", store.Classify(err))
	}
	out := make([]app.Assignment, len(docs))
	known := map[string]*personDoc{}
	for i, d := range docs {
		if out[i], err = s.fromAssignmentDoc(ctx, d, known); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Assignments) fromAssignmentDoc(ctx context.Context, d assignmentDoc, known map[string]*personDoc) (app.Assignment, error) {
	p, err := s.reviewer(ctx, d, known)
	if err != nil {
		return app.Assignment{}, err
	}
	on, _ := civil.Parse(d.RemindOn)
	return app.Assignment{RoundID: d.RoundID, SubmissionID: d.SubmissionID, ReviewerID: d.ReviewerID, OrganisationID: d.OrganisationID,
		RoundName: d.RoundName, OrganisationName: d.OrgName, Reviewer: p, Deadline: d.Deadline, RemindOn: on, Returned: d.Returned,
		Assigned: d.Assigned}, nil
}

// Get reads the assignment as it was made. One whose closing event came first has
// no reviewer: it is reported as unknown.
func (s *Assignments) Get(ctx context.Context, a app.Assignment) (app.Assignment, bool, error) {
	a.Returned = 0
	var d assignmentDoc
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: docID(a)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return app.Assignment{}, false, nil
	}
	if err != nil {
		return app.Assignment{}, false, fmt.Errorf("read assignment %s: %w", docID(a), store.Classify(err))
	}
	if d.RoundID == "" {
		return app.Assignment{}, false, nil
	}
	made, err := s.fromAssignmentDoc(ctx, d, nil)
	return made, err == nil, err
}

// Mark adds one event of an assignment's life to the assignment's run, unless it is
// already there, and returns the assignment's marks in the round's order.
func (s *Assignments) Mark(ctx context.Context, m app.Mark) ([]app.Mark, error) {
	run, err := s.addMark(ctx, markDoc{Mark: fmt.Sprintf("%s|%09d|%s", m.Key(), m.Version, m.Kind), Assignment: m.Key(), RoundID: m.RoundID,
		SubmissionID: m.SubmissionID, ReviewerID: m.ReviewerID, OrganisationID: m.OrganisationID, RoundName: m.RoundName,
		OrgName: m.OrganisationName, Reviewer: personDoc(m.Reviewer), Deadline: m.Deadline, Kind: m.Kind, Version: m.Version, At: m.At,
		Reason: m.Reason})
	if err != nil {
		return nil, err
	}
	return marksOf(run), nil
}

// maxRun bounds an assignment's run of marks (an assignment has a handful).
const maxRun = 1000

// markRun is the run of the marks of an assignment, its key given.
func (s *Assignments) markRun(assignment string) store.Run[markDoc] {
	return store.Run[markDoc]{Coll: s.marks, ID: func(n int) string { return assignment + "#" + strconv.Itoa(n) }, Max: maxRun}
}

// addMark puts d at the first free place of its assignment's run, unless a mark with
// its Mark is there already, and returns the run with it. Two writers of one mark at
// once may both keep it (each finding the other's place taken by another mark first):
// the reads keep it once.
func (s *Assignments) addMark(ctx context.Context, d markDoc) ([]markDoc, error) {
	run, err := s.markRun(d.Assignment).Add(ctx, func(have markDoc) bool { return have.Mark == d.Mark },
		func(id string) markDoc { d.ID = id; return d })
	if err != nil {
		return nil, fmt.Errorf("record %s of assignment %s: %w", d.Kind, d.Assignment, err)
	}
	return run, nil
}

// run reads an assignment's marks by _id, up to the first place missing.
func (s *Assignments) run(ctx context.Context, assignment string) ([]markDoc, error) {
	run, err := s.markRun(assignment).Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the marks of %s: %w", assignment, err)
	}
	return run, nil
}

// Marks lists an assignment's marks in the round's order.
func (s *Assignments) Marks(ctx context.Context, a app.Assignment) ([]app.Mark, error) {
	run, err := s.run(ctx, a.Key())
	if err != nil {
		return nil, err
	}
	return marksOf(run), nil
}

// RoundMarks lists the marks of a round's assignments in the round's order (when
// the round closes; on the embedded store, a read of every mark).
func (s *Assignments) RoundMarks(ctx context.Context, round string) ([]app.Mark, error) {
	cur, err := s.marks.Find(ctx, bson.D{{Key: "round_id", Value: round}})
	if err != nil {
		return nil, fmt.Errorf("read the marks of round %s: %w", round, store.Classify(err))
	}
	var docs []markDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read the marks of round %s: %w", round, store.Classify(err))
	}
	return marksOf(docs), nil
}

// marksOf are the marks of docs in the round's order, each mark once.
func marksOf(docs []markDoc) []app.Mark {
	seen := make(map[string]bool, len(docs))
	out := make([]app.Mark, 0, len(docs))
	for _, d := range docs {
		if seen[d.Mark] {
			continue
		}
		seen[d.Mark] = true
		out = append(out, app.Mark{Assignment: app.Assignment{RoundID: d.RoundID, SubmissionID: d.SubmissionID, ReviewerID: d.ReviewerID,
			OrganisationID: d.OrganisationID, RoundName: d.RoundName, OrganisationName: d.OrgName, Reviewer: mail.Person(d.Reviewer),
			Deadline: d.Deadline}, Kind: d.Kind, Version: d.Version, At: d.At, Reason: d.Reason})
	}
	app.SortMarks(out)
	return out
}

// CloseRound records that a round is closed; closing it again changes nothing.
func (s *Assignments) CloseRound(ctx context.Context, round string) error {
	if _, err := s.rounds.InsertOne(ctx, roundDoc{ID: round, Closed: true}); err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("record round %s closed: %w", round, store.Classify(err))
	}
	return nil
}

// RoundClosed says whether a round is closed.
func (s *Assignments) RoundClosed(ctx context.Context, round string) (bool, error) {
	var d roundDoc
	err := s.rounds.FindOne(ctx, bson.D{{Key: "_id", Value: round}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read round %s: %w", round, store.Classify(err))
	}
	return d.Closed, nil
}
