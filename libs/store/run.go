package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Run is what one owner holds (an address's records, an assignment's marks) as a
// numbered run of documents in Coll, whose _ids are ID(0), ID(1), ...: each inserted
// once and never changed. It is read by _id up to the first number missing, so that
// it costs what it holds on both stores (the embedded one answers any other filter by
// reading the whole collection), and the unique _id is the only guard its writers
// need: a writer that finds its number taken reads that document and tries the next.
type Run[T any] struct {
	Coll *mongo.Collection
	ID   func(n int) string
	// Max bounds the run, far above what an owner holds, so that a corrupt run does
	// not turn one call into a long walk.
	Max int
}

// ErrRunFull says a run holds Max documents.
var ErrRunFull = errors.New("the run is full")

// Read reads the run, by _id, until the first number missing. A run of Max documents
// is returned with ErrRunFull.
func (r Run[T]) Read(ctx context.Context) ([]T, error) {
	var out []T
	for n := range r.Max {
		var d T
		ok, err := FindByID(ctx, r.Coll, r.ID(n), &d)
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		out = append(out, d)
	}
	return out, ErrRunFull
}

// Add makes sure the run holds a document has accepts: it reads the run and, when none
// does, inserts doc(id) at the first free number, racing any other writer on the
// unique _id. A number another writer took first is read, and the one it holds stands
// when has accepts it. Add returns the run, with the document added or found.
func (r Run[T]) Add(ctx context.Context, has func(T) bool, doc func(id string) T) ([]T, error) {
	run, err := r.Read(ctx)
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(run, has) {
		return run, nil
	}
	for n := len(run); n < r.Max; n++ {
		d := doc(r.ID(n))
		_, err := r.Coll.InsertOne(ctx, d)
		if err == nil {
			return append(run, d), nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return nil, Classify(err)
		}
		var theirs T
		if ok, err := FindByID(ctx, r.Coll, r.ID(n), &theirs); err != nil {
			return nil, err
		} else if !ok {
			return nil, fmt.Errorf("run: %s was taken, and is gone", r.ID(n))
		}
		run = append(run, theirs)
		if has(theirs) {
			return run, nil
		}
	}
	return nil, ErrRunFull
}
