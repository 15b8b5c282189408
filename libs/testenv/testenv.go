// Package testenv gives tests the real infrastructure, started in process: a FerretDB
// shared by the tests of one binary (each test gets a database of its own) and a NATS
// server per test (so each test has its own streams and consumers).
package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.opentelemetry.io/otel/sdk/trace"

	"github.com/itss/techcommit/libs/embedded"
	"github.com/itss/techcommit/libs/store"
)

var (
	ferretOnce sync.Once
	ferret     *embedded.Mongo
	ferretErr  error
	dbCounter  atomic.Int64
)

// MongoURI returns the address of the shared embedded FerretDB, or of the MongoDB
// named by TEST_MONGO_URI when that is set (to run the same tests against MongoDB).
func MongoURI(tb testing.TB) string {
	tb.Helper()
	if uri := os.Getenv("TEST_MONGO_URI"); uri != "" {
		return uri
	}
	ferretOnce.Do(func() {
		removeLeftovers()
		dir, err := os.MkdirTemp("", fmt.Sprintf("tc-ferretdb-%d-", os.Getpid()))
		if err != nil {
			ferretErr = err
			return
		}
		ferret, ferretErr = embedded.StartFerretDB(dir, "127.0.0.1:0")
	})
	if ferretErr != nil {
		tb.Fatalf("start ferretdb: %v", ferretErr)
	}
	return ferret.URI
}

// removeLeftovers removes the FerretDB directories of earlier test processes that
// have ended. The shared FerretDB lives as long as its test binary, which has no hook
// to remove it at exit, so each binary clears up after those before it.
func removeLeftovers() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "tc-ferretdb-*"))
	for _, dir := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(dir), "tc-ferretdb-%d-", &pid); err != nil {
			_ = os.RemoveAll(dir) // named before directories carried their process
			continue
		}
		if pid != os.Getpid() && syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = os.RemoveAll(dir)
		}
	}
}

// DatabaseName returns a database name no other test uses, dropped when the test
// ends (dropWhenDone).
func DatabaseName(tb testing.TB) string {
	tb.Helper()
	uri := MongoURI(tb)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, tb.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	db := fmt.Sprintf("t%d_%d_%s", os.Getpid()%100000, dbCounter.Add(1), name)
	dropWhenDone(tb, uri, db)
	return db
}

// Mongo returns a connected client and a fresh database for this test; both are
// cleaned up when it ends.
func Mongo(tb testing.TB) (*mongo.Client, *mongo.Database) {
	tb.Helper()
	client, err := store.Connect(context.Background(), MongoURI(tb), trace.NewTracerProvider())
	if err != nil {
		tb.Fatalf("connect to mongo: %v", err)
	}
	db := client.Database(DatabaseName(tb))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	})
	return client, db
}

// dropWhenDone drops the database name at uri once the test has ended, after every
// client and service on it has stopped (their cleanups, registered later, run
// first). A test process keeps one store for all its tests: left there, the
// databases services were started on stayed until the process ended (hundreds of
// files by the end of a package's run, each looked at twice a second by the
// embedded store's _id indexing, and each kept open by FerretDB).
// The drops share one client for the process, as the store they drop in is one.
func dropWhenDone(tb testing.TB, uri, name string) {
	tb.Cleanup(func() {
		client, err := dropper(uri)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Database(name).Drop(ctx)
	})
}

var (
	droppersMu sync.Mutex
	droppers   = map[string]*mongo.Client{}
)

// dropper is the client dropWhenDone drops databases at uri with, connected once.
func dropper(uri string) (*mongo.Client, error) {
	droppersMu.Lock()
	defer droppersMu.Unlock()
	if c, ok := droppers[uri]; ok {
		return c, nil
	}
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return nil, err
	}
	droppers[uri] = c
	return c, nil
}

// BackUp copies every document of every collection of db into a fresh database of
// the test's, as a backup taken now would hold them, and returns its name: a service
// started on it is the service after a restore of that backup.
func BackUp(tb testing.TB, db *mongo.Database) string {
	tb.Helper()
	ctx := context.Background()
	_, to := Mongo(tb)
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		tb.Fatalf("back up %s: %v", db.Name(), err)
	}
	for _, name := range names {
		cur, err := db.Collection(name).Find(ctx, bson.D{})
		if err != nil {
			tb.Fatalf("back up %s.%s: %v", db.Name(), name, err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			tb.Fatalf("back up %s.%s: %v", db.Name(), name, err)
		}
		if len(docs) == 0 {
			continue
		}
		if _, err := to.Collection(name).InsertMany(ctx, docs); err != nil {
			tb.Fatalf("back up %s.%s: %v", db.Name(), name, err)
		}
	}
	return to.Name()
}

// NATS starts a NATS server with JetStream for this test and returns its URL.
func NATS(tb testing.TB) *embedded.NATS {
	tb.Helper()
	n, err := embedded.StartNATS(tb.TempDir(), "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("start nats: %v", err)
	}
	tb.Cleanup(n.Stop)
	return n
}

// JetStream connects to n and returns the connection and JetStream context.
func JetStream(tb testing.TB, n *embedded.NATS) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(n.URL)
	if err != nil {
		tb.Fatalf("connect to nats: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// Eventually polls cond every few milliseconds until it returns nil or the deadline
// passes, and then fails the test with cond's last error.
func Eventually(tb testing.TB, within time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(within)
	wait := 5 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %s: %v", within, err)
		}
		time.Sleep(wait)
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}
