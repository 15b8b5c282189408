// Package adapters connects the review service to MongoDB: its read model of
// organisations from the signatory service's events.
package adapters

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/review/internal/app"
)

// Organisations is the read model collection.
type Organisations struct {
	coll *mongo.Collection
}

var _ app.Organisations = (*Organisations)(nil)

type orgDoc struct {
	ID             string `bson:"_id"`
	Announced      bool   `bson:"announced"`
	Withdrawn      bool   `bson:"withdrawn"`
	ObligationID   string `bson:"obligation_id"`
	ObligationKind string `bson:"obligation_kind"`
}

// NewOrganisations opens the read model.
func NewOrganisations(db *mongo.Database) *Organisations {
	return &Organisations{coll: db.Collection("organisations")}
}

// Get reads one organisation.
func (o *Organisations) Get(ctx context.Context, id string) (app.Organisation, bool, error) {
	var d orgDoc
	err := o.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return app.Organisation{}, false, nil
	}
	if err != nil {
		return app.Organisation{}, false, fmt.Errorf("read organisation %s: %w", id, store.Classify(err))
	}
	return app.Organisation(d), true, nil
}

// Put writes one organisation; a single ordered consumer is its only writer.
func (o *Organisations) Put(ctx context.Context, org app.Organisation) error {
	_, err := o.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: org.ID}}, orgDoc(org), options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("write organisation %s: %w", org.ID, store.Classify(err))
	}
	return nil
}
