package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// Assignments is the read model of reviewers' open assignments, for the reminder
// before a review is due.
type Assignments struct {
	coll *mongo.Collection
}

var _ app.Assignments = (*Assignments)(nil)

type assignmentDoc struct {
	ID             string    `bson:"_id"`
	RoundID        string    `bson:"round_id"`
	SubmissionID   string    `bson:"submission_id"`
	ReviewerID     string    `bson:"reviewer_id"`
	OrganisationID string    `bson:"organisation_id"`
	RoundName      string    `bson:"round_name,omitempty"`
	OrgName        string    `bson:"organisation_name,omitempty"`
	Reviewer       personDoc `bson:"reviewer"`
	Deadline       time.Time `bson:"deadline"`
	RemindOn       string    `bson:"remind_on"` // YYYY-MM-DD
	Closed         bool      `bson:"closed"`
}

// NewAssignments opens the collection and its index.
func NewAssignments(ctx context.Context, db *mongo.Database) (*Assignments, error) {
	coll := db.Collection("assignments")
	if err := store.CreateIndexes(ctx, coll, []mongo.IndexModel{
		{Keys: bson.D{{Key: "closed", Value: 1}, {Key: "remind_on", Value: 1}}},
	}); err != nil {
		return nil, fmt.Errorf("create assignment indexes: %w", store.Classify(err))
	}
	return &Assignments{coll: coll}, nil
}

// Open records an assignment unless it is already known, so that an assignment whose
// closing event overtook it stays closed.
func (s *Assignments) Open(ctx context.Context, a app.Assignment) error {
	doc := assignmentDoc{ID: a.Key(), RoundID: a.RoundID, SubmissionID: a.SubmissionID, ReviewerID: a.ReviewerID, OrganisationID: a.OrganisationID,
		RoundName: a.RoundName, OrgName: a.OrganisationName, Reviewer: personDoc(a.Reviewer), Deadline: a.Deadline, RemindOn: a.RemindOn.String()}
	if _, err := s.coll.InsertOne(ctx, doc); err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("record assignment %s: %w", doc.ID, store.Classify(err))
	}
	return nil
}

// Close marks an assignment done (reviewed, declined or removed), creating the record
// if its opening event has not arrived yet. Closing is the only change an assignment
// ever sees, so concurrent closes can only agree.
func (s *Assignments) Close(ctx context.Context, a app.Assignment) error {
	var err error
	for range 2 { // an upsert racing the opening insert loses on _id; the second try updates
		_, err = s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: a.Key()}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "closed", Value: true}}}}, options.UpdateOne().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("close assignment %s: %w", a.Key(), store.Classify(err))
	}
	return nil
}

// Closed says whether the assignment is done.
func (s *Assignments) Closed(ctx context.Context, a app.Assignment) (bool, error) {
	var d assignmentDoc
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: a.Key()}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read assignment %s: %w", a.Key(), store.Classify(err))
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
	for i, d := range docs {
		on, _ := civil.Parse(d.RemindOn)
		out[i] = app.Assignment{RoundID: d.RoundID, SubmissionID: d.SubmissionID, ReviewerID: d.ReviewerID, OrganisationID: d.OrganisationID,
			RoundName: d.RoundName, OrganisationName: d.OrgName, Reviewer: mail.Person(d.Reviewer), Deadline: d.Deadline, RemindOn: on}
	}
	return out, nil
}
