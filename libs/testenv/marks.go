package testenv

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MarkEveryChangeRead moves the mark of every change log at mongoURI (each
// collection named *_changes, in every database: the store's Mirrors, whose mark
// says that every change up to it is in the views' documents) to its last change,
// as a log far past its last mark would have it. A replica started afterwards reads
// the views' documents and no change, so a test that restarts the stack then finds
// what the documents alone hold: a field the documents lost shows at once, where with
// a few changes the start would read them all and mend it. The mark stays true, for
// a view's writer writes its document before it records the change. It returns how
// many logs it marked.
func MarkEveryChangeRead(tb testing.TB, mongoURI string) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(mongoURI))
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	dbs, err := client.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		tb.Fatal(err)
	}
	marked := 0
	for _, name := range dbs {
		db := client.Database(name)
		colls, err := db.ListCollectionNames(ctx, bson.D{})
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range colls {
			if !strings.HasSuffix(c, "_changes") {
				continue
			}
			cur, err := db.Collection(c).Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
			if err != nil {
				tb.Fatal(err)
			}
			var ids []struct {
				ID string `bson:"_id"`
			}
			if err := cur.All(ctx, &ids); err != nil {
				tb.Fatal(err)
			}
			var last int64
			for _, d := range ids {
				if n, err := strconv.ParseInt(d.ID, 10, 64); err == nil {
					last = max(last, n)
				}
			}
			if last == 0 {
				continue
			}
			if _, err := db.Collection(c).ReplaceOne(ctx, bson.D{{Key: "_id", Value: "mark"}},
				bson.D{{Key: "_id", Value: "mark"}, {Key: "seen", Value: last}}, options.Replace().SetUpsert(true)); err != nil {
				tb.Fatal(err)
			}
			marked++
		}
	}
	return marked
}
