package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// Writers on several replicas may upsert one new document at the same moment (a
// read model's record of one address, one organisation's view). Both can find no
// document and both insert; the store refuses the second insert on _id (MongoDB
// retries that itself since 4.2, FerretDB does not). Every upsert must still succeed,
// and the document holds one of the writes whole.
func TestUpsertsOfOneNewDocumentRacing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	coll := db.Collection("racing")
	const docs, writers = 20, 8
	for d := range docs {
		id := fmt.Sprintf("doc-%d", d)
		var wg sync.WaitGroup
		errs := make(chan error, 2*writers)
		for w := range writers {
			wg.Add(2)
			go func() {
				defer wg.Done()
				errs <- store.Replace(ctx, coll, id, bson.D{{Key: "_id", Value: id}, {Key: "by", Value: w}, {Key: "n", Value: w}})
			}()
			go func() {
				defer wg.Done()
				errs <- store.Update(ctx, coll, id, bson.D{{Key: "$set", Value: bson.D{{Key: "by", Value: -w}, {Key: "n", Value: -w}}}})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
		}
		var got struct {
			By, N int
		}
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got.By != got.N {
			t.Errorf("%s holds parts of two writes: %+v", id, got)
		}
	}
	if n, err := coll.CountDocuments(ctx, bson.D{}); err != nil || n != docs {
		t.Errorf("%d documents (%v), want %d", n, err, docs)
	}
}
