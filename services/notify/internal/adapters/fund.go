package adapters

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/notify/internal/app"
)

// FundProgress keeps the steps applications reached, one document per step
// ("<application>|<step>"), inserted once and never changed. It holds the fund's ids
// and nothing of any person.
type FundProgress struct {
	coll *mongo.Collection
}

var _ app.FundProgress = (*FundProgress)(nil)

type fundStepDoc struct {
	ID          string `bson:"_id"`
	Application string `bson:"application_id"`
	Step        string `bson:"step"`
}

// NewFundProgress opens the collection.
func NewFundProgress(db *mongo.Database) *FundProgress {
	return &FundProgress{coll: db.Collection("fund_progress")}
}

func fundStepID(application, step string) string { return application + "|" + step }

// Reach records that the application reached step; recording it again changes nothing.
func (f *FundProgress) Reach(ctx context.Context, application, step string) error {
	doc := fundStepDoc{ID: fundStepID(application, step), Application: application, Step: step}
	if _, err := f.coll.InsertOne(ctx, doc); err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("record application %s %s: %w", application, step, store.Classify(err))
	}
	return nil
}

// Reached says whether the application reached step.
func (f *FundProgress) Reached(ctx context.Context, application, step string) (bool, error) {
	err := f.coll.FindOne(ctx, bson.D{{Key: "_id", Value: fundStepID(application, step)}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read application %s %s: %w", application, step, store.Classify(err))
	}
	return true, nil
}
