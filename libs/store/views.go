package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
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
	err := Replace(ctx, v.coll, id, doc)
	if err != nil {
		return fmt.Errorf("put view %s: %w", id, Classify(err))
	}
	return nil
}

// Get reads the view of id into out; it returns false when there is none.
func (v *Views) Get(ctx context.Context, id string, out any) (bool, error) {
	found, err := FindByID(ctx, v.coll, id, out)
	if err != nil {
		return false, fmt.Errorf("get view %s: %w", id, err)
	}
	return found, nil
}

// updateStatements bounds how many replaces one update command carries. The embedded
// FerretDB (1.24, on SQLite) keeps the query of each statement of an update command
// open, holding one of the database's 100 SQLite connections, until the whole command
// is done, and each statement's write needs one more: a command of about 100
// statements (a closed round's every assignment) took every connection and waited
// for one of its own forever, and every later request to that database with it. In
// chunks the command holds a few connections at a time, and costs no more, since
// FerretDB writes each statement in a transaction of its own anyway.
const updateStatements = 16

// View is one aggregate's view document at a version, for PutMany. Doc must carry the
// version in a field named "version".
type View struct {
	ID      string
	Version int
	Doc     any
}

// PutMany writes the views of a batch of aggregates, never putting back an older version
// than the one stored. A view's first version is inserted (the cheapest write, many at
// once); a later one replaces an older version of the view; a view at the same or a
// newer version already, because its events were delivered again, is left as it is.
//
// The guard reads each stored version by _id and then writes by _id, because the
// embedded FerretDB finds a document by _id only when _id is all its filter says (a
// filter on _id and version scans the whole collection), and it stops a multi-statement
// update at the first upsert whose insert collides. Between the read and the write
// another writer could slip in, so views are written by one writer at a time (a batch
// consumer, whose messages go to one replica at a time).
func (v *Views) PutMany(ctx context.Context, views []View) error {
	var first, later []View
	for _, w := range views {
		if w.Version == 1 {
			first = append(first, w)
		} else {
			later = append(later, w)
		}
	}
	existing, err := v.insertMany(ctx, first)
	if err != nil {
		return err
	}
	// A first version already there was delivered before: the view may have moved on.
	later = append(later, existing...)
	if len(later) == 0 {
		return nil
	}
	stored := make([]int, len(later)) // 0: no view yet
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, w := range later {
		g.Go(func() error {
			var doc struct {
				Version int `bson:"version"`
			}
			err := v.coll.FindOne(gctx, bson.D{{Key: "_id", Value: w.ID}}, options.FindOne().SetProjection(bson.D{{Key: "version", Value: 1}})).Decode(&doc)
			if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
				return fmt.Errorf("read view %s: %w", w.ID, Classify(err))
			}
			stored[i] = doc.Version
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var models []mongo.WriteModel
	var missing []View
	for i, w := range later {
		switch {
		case stored[i] == 0:
			missing = append(missing, w)
		case stored[i] < w.Version:
			models = append(models, mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: w.ID}}).SetReplacement(w.Doc))
		}
	}
	for chunk := range slices.Chunk(models, updateStatements) {
		if _, err := v.coll.BulkWrite(ctx, chunk, options.BulkWrite().SetOrdered(false)); err != nil {
			return fmt.Errorf("replace views: %w", Classify(err))
		}
	}
	_, err = v.insertMany(ctx, missing)
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
	for i, err := range InsertEach(ctx, v.coll, docs) {
		switch {
		case errors.Is(err, ErrDuplicate):
			existing = append(existing, views[i])
		case err != nil:
			return nil, fmt.Errorf("insert view %s: %w", views[i].ID, err)
		}
	}
	return existing, nil
}
