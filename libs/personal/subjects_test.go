package personal_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// keysOn is a key store on db, as a replica opens it at start.
func keysOn(t *testing.T, db *mongo.Database) *personal.Keys {
	t.Helper()
	keys, err := personal.NewKeys(context.Background(), db, personal.KeysCollection, clock.NewFake(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// Finding a person by their address, known or new, costs the same with 5 or 50 other
// people's keys held: lookups by _id, no read of every key. On the embedded store a
// filter on the address's digest read every key, on every command naming a person
// this replica had not seen in the last minute (the round bench's seeding: 99 such
// reads in the signatory service for 64 organisations).
func TestAPersonIsFoundByAddressWithoutReadingEveryKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, others := range []int{5, 50} {
		db, counted := testenv.MonitoredDB(t, testenv.EveryCollection)
		warm := keysOn(t, db)
		for i := range others {
			if _, _, err := warm.For(ctx, fmt.Sprintf("person-%02d@example.ac.uk", i)); err != nil {
				t.Fatal(err)
			}
		}
		known, _, err := warm.For(ctx, "ada@example.ac.uk")
		if err != nil {
			t.Fatal(err)
		}
		keys := keysOn(t, db) // another replica: nothing in memory
		before := counted.Now()
		id, _, err := keys.For(ctx, "Ada@Example.ac.uk")
		if err != nil || id != known {
			t.Fatalf("ada is %q (%v), want %q", id, err, known)
		}
		if read := counted.Now().Sub(before); read.Scans != 0 {
			t.Errorf("with %d others, finding a known person read %d collections whole (%+v)", others, read.Scans, read)
		}
		before = counted.Now()
		if _, _, err := keys.For(ctx, "new.person@example.ac.uk"); err != nil {
			t.Fatal(err)
		}
		if read := counted.Now().Sub(before); read.Scans != 0 {
			t.Errorf("with %d others, making a new person read %d collections whole (%+v)", others, read.Scans, read)
		}
	}
}

// Keys made before their subject entries were kept are found by address after the
// first start that keeps them, and one an earlier version makes after that (a rolling
// upgrade) is found when making it again is refused: the person keeps one key. An
// erasure takes the entry with the key, and the address named again gets a new one.
func TestKeysMadeWithoutTheirEntriesAreFoundByAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	keys := keysOn(t, db)
	before, _, err := keys.For(ctx, "ada@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	later, _, err := keys.For(ctx, "bea@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	// As an earlier version left them: keys without entries, and later one more.
	if err := db.Collection(personal.KeysCollection + "_subjects").Drop(ctx); err != nil {
		t.Fatal(err)
	}
	upgraded := keysOn(t, db)
	if id, err := upgraded.Lookup(ctx, "ada@example.ac.uk"); err != nil || id != before {
		t.Errorf("ada after the first start that keeps entries: %q (%v), want %q", id, err, before)
	}
	if _, err := db.Collection(personal.KeysCollection+"_subjects").DeleteOne(ctx, bson.D{{Key: "_id", Value: personal.Subject("bea@example.ac.uk")}}); err != nil {
		t.Fatal(err)
	}
	fresh := keysOn(t, db)
	if id, _, err := fresh.For(ctx, "bea@example.ac.uk"); err != nil || id != later {
		t.Errorf("bea, whose key has no entry: %q (%v), want %q", id, err, later)
	}
	if n, err := db.Collection(personal.KeysCollection).CountDocuments(ctx, bson.D{}); err != nil || n != 2 {
		t.Errorf("%d keys (%v), want 2", n, err)
	}

	if _, found, err := fresh.EraseSubject(ctx, personal.Subject("ada@example.ac.uk")); err != nil || !found {
		t.Fatalf("erase ada: found %v (%v)", found, err)
	}
	if n, err := db.Collection(personal.KeysCollection+"_subjects").CountDocuments(ctx, bson.D{{Key: "_id", Value: personal.Subject("ada@example.ac.uk")}}); err != nil || n != 0 {
		t.Errorf("ada's entry after the erasure: %d (%v), want none", n, err)
	}
	if _, err := fresh.Lookup(ctx, "ada@example.ac.uk"); err != personal.ErrNoSuchPerson {
		t.Errorf("ada after the erasure: %v, want no such person", err)
	}
	again, _, err := keysOn(t, db).For(ctx, "ada@example.ac.uk")
	if err != nil || again == before || again == "" {
		t.Errorf("ada named again: %q (%v), want a new key", again, err)
	}
	if id, err := fresh.Lookup(ctx, "ada@example.ac.uk"); err != nil || id != again {
		t.Errorf("ada named again, looked up: %q (%v), want %q", id, err, again)
	}
}

// Replicas naming one new person at once, while a replica of an earlier version makes
// the person's key without its entry, make one key, which all of them then find by
// address.
func TestOneNewPersonNamedAtOnceByReplicasOfTwoVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	replicas := []*personal.Keys{keysOn(t, db), keysOn(t, db), keysOn(t, db)}
	ids := make([]string, 24)
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Go(func() {
		<-start
		// The earlier version's insert: a key under the unique digest, no entry.
		_, err := db.Collection(personal.KeysCollection).InsertOne(ctx, bson.D{{Key: "_id", Value: "psn-earlier"},
			{Key: "subject", Value: personal.Subject("cara@example.ac.uk")}, {Key: "key", Value: make([]byte, 32)}, {Key: "created_at", Value: time.Now()}})
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			t.Error(err)
		}
	})
	for i := range ids {
		wg.Go(func() {
			<-start
			id, _, err := replicas[i%len(replicas)].For(ctx, "Cara@example.ac.uk")
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	close(start)
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("ids %v, want one", ids)
		}
	}
	if n, err := db.Collection(personal.KeysCollection).CountDocuments(ctx, bson.D{}); err != nil || n != 1 {
		t.Errorf("%d keys (%v), want 1", n, err)
	}
	if id, err := keysOn(t, db).Lookup(ctx, "cara@example.ac.uk"); err != nil || id != ids[0] {
		t.Errorf("cara looked up: %q (%v), want %q", id, err, ids[0])
	}
}
