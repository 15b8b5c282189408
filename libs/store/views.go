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

// View is one aggregate's view document at a version, for PutMany. Doc must carry the
// version in a field named "version".
type View struct {
	ID      string
	Version int
	Doc     any
}

// PutMany writes the views of a batch of aggregates, never putting back an older version
// than the one stored. A view's first version is inserted (the cheapest write, many at
// once); a later one replaces an older version of the view. A view at the same or a
// newer version already, because its events were delivered again, is left as it is.
// In the usual case that is one round trip for the new views and one for the rest.
//
// There is no upsert: the embedded FerretDB stops a multi-statement update at the first
// upsert whose insert collides, leaving the statements after it undone.
func (v *Views) PutMany(ctx context.Context, views []View) error {
	var inserts, replaces []View
	for _, w := range views {
		if w.Version == 1 {
			inserts = append(inserts, w)
		} else {
			replaces = append(replaces, w)
		}
	}
	later := len(replaces)
	existing, err := v.insertMany(ctx, inserts)
	if err != nil {
		return err
	}
	// A first version already there was delivered before: the view may have moved on
	// since, so it gets the guarded replace, which leaves a newer version alone.
	replaces = append(replaces, existing...)
	if len(replaces) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, len(replaces))
	for i, w := range replaces {
		models[i] = mongo.NewReplaceOneModel().
			SetFilter(bson.D{{Key: "_id", Value: w.ID}, {Key: "version", Value: bson.D{{Key: "$lt", Value: w.Version}}}}).
			SetReplacement(w.Doc)
	}
	res, err := v.coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return fmt.Errorf("replace views: %w", Classify(err))
	}
	if res.MatchedCount == int64(len(replaces)) || later == 0 {
		return nil
	}
	// Some matched nothing: a view already at that version or newer, or a view whose
	// first version came in this same batch and so was never stored. Inserting the
	// later versions stores those and collides with the rest.
	_, err = v.insertMany(ctx, replaces[:later])
	return err
}

// insertMany inserts views and returns those that were already there.
func (v *Views) insertMany(ctx context.Context, views []View) ([]View, error) {
	if len(views) == 0 {
		return nil, nil
	}
	docs := make([]any, len(views))
	for i, w := range views {
		docs[i] = w.Doc
	}
	var existing []View
	for i, err := range insertEach(ctx, v.coll, docs) {
		switch {
		case errors.Is(err, errDuplicate):
			existing = append(existing, views[i])
		case err != nil:
			return nil, fmt.Errorf("insert view %s: %w", views[i].ID, err)
		}
	}
	return existing, nil
}
