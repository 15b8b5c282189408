package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Views is a collection of query documents, one per aggregate, kept up to date by a
// projection from the service's own events. Each view carries the version of the
// aggregate it shows.
type Views struct {
	coll *mongo.Collection
}

// NewViews opens the view collection name of db and creates the given indexes.
func NewViews(ctx context.Context, db *mongo.Database, name string, indexes ...mongo.IndexModel) (*Views, error) {
	if db == nil || name == "" {
		return nil, errors.New("store: database and collection name are required")
	}
	coll := db.Collection(name)
	if len(indexes) > 0 {
		if err := CreateIndexes(ctx, coll, indexes); err != nil {
			return nil, fmt.Errorf("create view indexes on %s: %w", name, Classify(err))
		}
	}
	return &Views{coll: coll}, nil
}

// Collection returns the underlying collection, for queries.
func (v *Views) Collection() *mongo.Collection { return v.coll }

// Put replaces the view of id with doc. Projections call it from a single ordered
// consumer, so a plain replace is safe; doc should carry the aggregate version.
func (v *Views) Put(ctx context.Context, id string, doc any) error {
	_, err := v.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("put view %s: %w", id, Classify(err))
	}
	return nil
}

// Get reads the view of id into out; it returns false when there is none.
func (v *Views) Get(ctx context.Context, id string, out any) (bool, error) {
	err := v.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get view %s: %w", id, Classify(err))
	}
	return true, nil
}
