package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The _id index is added to every collection's table, those of a database written
// again after it was left alone too, while a database file left unchanged is no longer
// opened on every pass: each opening parses its whole schema, and a test run's
// hundreds of idle databases spent a third of its processor time on it.
func TestIDsAreIndexedWithoutReopeningIdleFiles(t *testing.T) {
	dir := t.TempDir()
	m, err := StartFerretDB(dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	client, err := mongo.Connect(options.Client().ApplyURI(m.URI).SetTimeout(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	insert := func(db, coll string) {
		t.Helper()
		id := fmt.Sprintf("%s-%d", coll, time.Now().UnixNano())
		if _, err := client.Database(db).Collection(coll).InsertOne(context.Background(), bson.M{"_id": id}); err != nil {
			t.Fatal(err)
		}
	}
	insert("idle", "first")
	insert("busy", "first")

	// A second indexer over the same files, counting the files it opens.
	var mu sync.Mutex
	opened := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		indexIDs(ctx, dir, 50*time.Millisecond, func(ctx context.Context, file string) error {
			mu.Lock()
			opened[filepath.Base(file)]++
			mu.Unlock()
			return indexFile(ctx, file)
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	openings := func(file string) int {
		mu.Lock()
		defer mu.Unlock()
		return opened[file]
	}

	idle := filepath.Join(dir, "idle.sqlite")
	waitIndexed(t, idle, "first")

	// Left alone, the idle file settles: passes go by (the busy file, written on
	// every one, is opened by each) and it is not opened again.
	deadline := time.Now().Add(settleAfter + 10*time.Second)
	for {
		before, busyBefore := openings("idle.sqlite"), openings("busy.sqlite")
		for openings("busy.sqlite") < busyBefore+10 {
			insert("busy", "first")
			time.Sleep(20 * time.Millisecond)
		}
		if openings("idle.sqlite") == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the idle database's file is still opened on every pass (%d times) %s after it was last written", openings("idle.sqlite"), settleAfter+10*time.Second)
		}
	}

	// Written again, it is looked at again: its new collection gets the index.
	insert("idle", "second")
	waitIndexed(t, idle, "second")
}

// waitIndexed waits until the table of collection coll in the database file has the
// index on the expression FerretDB's _id lookups use.
func waitIndexed(t *testing.T, file, coll string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM _ferretdb_collections c JOIN sqlite_master m
			ON m.type = 'index' AND m.name = c.table_name || '`+indexSuffix+`' WHERE c.name = ?`, coll).Scan(&n)
		if err == nil && n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("collection %s in %s has no _id index after 10s (%d, %v)", coll, filepath.Base(file), n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
