package store_test

import (
	"context"
	"os"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// TestCreateIndexesBuildsOnlyWhatTheStoreUses: on the embedded store (FerretDB on
// SQLite), which answers no query from a secondary index, an index that is not
// unique is not created, and one an earlier version created is dropped; a unique
// index is created and holds. On any other store every index is created.
func TestCreateIndexesBuildsOnlyWhatTheStoreUses(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	ctx := context.Background()
	coll := db.Collection("things")
	byA := mongo.IndexModel{Keys: bson.D{{Key: "a", Value: 1}}}
	byB := mongo.IndexModel{Keys: bson.D{{Key: "b", Value: 1}}, Options: options.Index().SetUnique(true)}
	if _, err := coll.Indexes().CreateOne(ctx, byA); err != nil { // as an earlier version did
		t.Fatal(err)
	}

	if err := store.CreateIndexes(ctx, coll, []mongo.IndexModel{byA, byB}); err != nil {
		t.Fatal(err)
	}
	uses := store.QueriesUseIndexes(ctx, coll)
	if embedded := os.Getenv("TEST_MONGO_URI") == ""; embedded && uses {
		t.Error("the embedded store is taken to answer queries from secondary indexes")
	}
	cur, err := coll.Indexes().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var listed []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &listed); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, l := range listed {
		have[l.Name] = true
	}
	if have["a_1"] != uses {
		t.Errorf("index a_1 exists: %v; want %v, as the store uses secondary indexes: %v", have["a_1"], uses, uses)
	}
	if !have["b_1"] {
		t.Errorf("the unique index b_1 was not created (indexes: %v)", have)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "1"}, {Key: "b", Value: "x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "2"}, {Key: "b", Value: "x"}}); !mongo.IsDuplicateKeyError(err) {
		t.Errorf("a second document with the same b: %v, want a duplicate key error", err)
	}
	// Again, as every restart does: nothing changes.
	if err := store.CreateIndexes(ctx, coll, []mongo.IndexModel{byA, byB}); err != nil {
		t.Fatalf("creating the indexes again: %v", err)
	}
}
