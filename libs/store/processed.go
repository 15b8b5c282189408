package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ProcessedLog records which messages a consumer has handled, under a unique key, so
// that a redelivered message is recognised and has no second effect.
type ProcessedLog struct {
	coll *mongo.Collection
	// records batches concurrent Records (many consumers, or one with several
	// workers) into one insert.
	records *inserter
}

// NewProcessedLog opens the log in collection name of db. The key is the document id,
// which is unique on every MongoDB-compatible store.
func NewProcessedLog(db *mongo.Database, name string) (*ProcessedLog, error) {
	if db == nil || name == "" {
		return nil, errors.New("store: database and collection name are required")
	}
	coll := db.Collection(name)
	return &ProcessedLog{coll: coll, records: newInserter(coll)}, nil
}

// Seen reports whether key was recorded.
func (p *ProcessedLog) Seen(ctx context.Context, key string) (bool, error) {
	// A find by _id alone, which FerretDB answers from an index; a count would read
	// the whole collection.
	err := p.coll.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check processed %s: %w", key, Classify(err))
	}
	return true, nil
}

// Record records key. It returns false, without error, when key was recorded already:
// the caller lost a race with another handler of the same message.
func (p *ProcessedLog) Record(ctx context.Context, key string) (bool, error) {
	err := p.records.insert(ctx, bson.D{{Key: "_id", Value: key}, {Key: "at", Value: time.Now().UTC()}})
	if errors.Is(err, ErrDuplicate) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record processed %s: %w", key, err)
	}
	return true, nil
}
