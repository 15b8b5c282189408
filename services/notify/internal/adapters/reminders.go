package adapters

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
)

// Reminders is the schedule of every obligation's ladder.
type Reminders struct {
	coll *mongo.Collection
}

var _ app.Reminders = (*Reminders)(nil)

const pending = "pending"

type reminderDoc struct {
	ID             string `bson:"_id"` // organisation|obligation|due|step: scheduling twice inserts nothing
	OrganisationID string `bson:"organisation_id"`
	ObligationID   string `bson:"obligation_id"`
	Due            string `bson:"due"`
	Step           string `bson:"step"`
	On             string `bson:"on"` // YYYY-MM-DD sorts as a date
	Overdue        bool   `bson:"overdue"`
	DaysLeft       int    `bson:"days_left"`
	State          string `bson:"state"` // pending, or the outcome that settled it
}

// NewReminders opens the collection and its indexes: the sweep reads only pending
// reminders whose day has come, so its cost follows what is due, not how many
// organisations there are.
func NewReminders(ctx context.Context, db *mongo.Database) (*Reminders, error) {
	coll := db.Collection("reminders")
	if err := store.CreateIndexes(ctx, coll, []mongo.IndexModel{
		{Keys: bson.D{{Key: "state", Value: 1}, {Key: "on", Value: 1}}},
		{Keys: bson.D{{Key: "organisation_id", Value: 1}, {Key: "state", Value: 1}}},
	}); err != nil {
		return nil, fmt.Errorf("create reminder indexes: %w", store.Classify(err))
	}
	return &Reminders{coll: coll}, nil
}

func reminderID(r ladder.Reminder) string {
	return r.OrganisationID + "|" + r.ObligationID + "|" + r.Due.String() + "|" + r.Step.Name
}

// Schedule inserts reminders one by one, ignoring those already there, so that a
// replayed schedule never resets a settled reminder to pending.
func (s *Reminders) Schedule(ctx context.Context, rs []ladder.Reminder) error {
	for _, r := range rs {
		doc := reminderDoc{ID: reminderID(r), OrganisationID: r.OrganisationID, ObligationID: r.ObligationID, Due: r.Due.String(),
			Step: r.Step.Name, On: r.Step.On.String(), Overdue: r.Step.Overdue, DaysLeft: r.Step.DaysLeft, State: pending}
		if _, err := s.coll.InsertOne(ctx, doc); err != nil && !mongo.IsDuplicateKeyError(err) {
			return fmt.Errorf("schedule reminder %s: %w", doc.ID, store.Classify(err))
		}
	}
	return nil
}

// DueBy lists pending reminders due by day, soonest first.
func (s *Reminders) DueBy(ctx context.Context, day civil.Date, limit int) ([]ladder.Reminder, error) {
	docs, err := s.find(ctx, bson.D{{Key: "state", Value: pending}, {Key: "on", Value: bson.D{{Key: "$lte", Value: day.String()}}}}, limit)
	return fromReminderDocs(docs), err
}

// Due lists an organisation's pending reminders due by day.
func (s *Reminders) Due(ctx context.Context, org string, day civil.Date) ([]ladder.Reminder, error) {
	docs, err := s.find(ctx, bson.D{{Key: "organisation_id", Value: org}, {Key: "state", Value: pending},
		{Key: "on", Value: bson.D{{Key: "$lte", Value: day.String()}}}}, 0)
	return fromReminderDocs(docs), err
}

// Upcoming lists pending reminders, soonest first.
func (s *Reminders) Upcoming(ctx context.Context, limit int) ([]ladder.Reminder, error) {
	docs, err := s.find(ctx, bson.D{{Key: "state", Value: pending}}, limit)
	return fromReminderDocs(docs), err
}

// Settle records a reminder's outcome. Every writer of a reminder writes a final
// state, so racing sweeps can only agree that it is done.
func (s *Reminders) Settle(ctx context.Context, r ladder.Reminder, outcome ladder.Outcome) error {
	_, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: reminderID(r)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(outcome)}}}})
	if err != nil {
		return fmt.Errorf("settle reminder %s: %w", reminderID(r), store.Classify(err))
	}
	return nil
}

// Retire settles an organisation's pending reminders other than those of one
// obligation's schedule. It is tidiness, not a guard: the sweep checks each reminder
// against the organisation's state before it sends anything.
func (s *Reminders) Retire(ctx context.Context, org, keepID string, keepDue civil.Date, outcome ladder.Outcome) error {
	filter := bson.D{{Key: "organisation_id", Value: org}, {Key: "state", Value: pending}}
	if keepID != "" {
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "obligation_id", Value: bson.D{{Key: "$ne", Value: keepID}}}},
			bson.D{{Key: "due", Value: bson.D{{Key: "$ne", Value: keepDue.String()}}}},
		}})
	}
	_, err := s.coll.UpdateMany(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(outcome)}}}})
	if err != nil {
		return fmt.Errorf("retire reminders of %s: %w", org, store.Classify(err))
	}
	return nil
}

func (s *Reminders) find(ctx context.Context, filter bson.D, limit int) ([]reminderDoc, error) {
	opts := options.Find().SetSort(bson.D{{Key: "on", Value: 1}, {Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := s.coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("query reminders: %w", store.Classify(err))
	}
	var docs []reminderDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("query reminders: %w", store.Classify(err))
	}
	return docs, nil
}

func fromReminderDocs(docs []reminderDoc) []ladder.Reminder {
	out := make([]ladder.Reminder, len(docs))
	for i, d := range docs {
		due, _ := civil.Parse(d.Due)
		on, _ := civil.Parse(d.On)
		out[i] = ladder.Reminder{OrganisationID: d.OrganisationID, ObligationID: d.ObligationID, Due: due,
			Step: ladder.Step{Name: d.Step, On: on, Overdue: d.Overdue, DaysLeft: d.DaysLeft}}
	}
	return out
}
