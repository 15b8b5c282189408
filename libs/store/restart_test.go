package store_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// TestALongAggregateIsRememberedAfterARestart: a process that starts after an
// aggregate's head was cached loads it from the head once, and then reads only what
// follows it, as it does for any aggregate it loaded.
func TestALongAggregateIsRememberedAfterARestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "")
	writer := openLog(t, db)
	const commits = 40
	for range commits {
		mustCount(t, writer, "long")
	}
	// A first restart reads every commit and caches them as the head.
	if n := (loaded{t}).n(openLog(t, db).Load(ctx, "long")); n != commits {
		t.Fatalf("loaded %d events, want %d", n, commits)
	}

	restarted := openLog(t, db)
	before := counted.Now()
	if n := (loaded{t}).n(restarted.Load(ctx, "long")); n != commits {
		t.Fatalf("first load after the restart: %d events, want %d", n, commits)
	}
	first := counted.Now().Sub(before)
	before = counted.Now()
	if n := (loaded{t}).n(restarted.Load(ctx, "long")); n != commits {
		t.Fatalf("second load after the restart: %d events, want %d", n, commits)
	}
	second := counted.Now().Sub(before)
	t.Logf("first load: %d finds, %d documents, %d bytes; second: %d finds, %d documents, %d bytes",
		first.Finds, first.Docs, first.Bytes, second.Finds, second.Docs, second.Bytes)
	if first.Docs > 8+1 {
		t.Errorf("the first load read %d documents, want at most the %d before the head and the head", first.Docs, 8+1)
	}
	if second.Finds != 1 || second.Docs != 0 {
		t.Errorf("the second load sent %d finds returning %d documents (%d bytes); want one find for the next commit, returning none",
			second.Finds, second.Docs, second.Bytes)
	}
}

// TestPreloadedAggregatesAreReadOnceAfterARestart: a process that preloads a type while
// starting loads each of its aggregates afterwards with one find (for the commit after
// the last), as a process that has loaded them before; at most limit are preloaded,
// and a type that is not catalogued is refused.
func TestPreloadedAggregatesAreReadOnceAfterARestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "")
	writer := openLog(t, db)
	writer.Catalogue("counter")
	ids := []string{"a", "b", "c", "d"}
	for _, id := range ids {
		for range 5 {
			mustCount(t, writer, id)
		}
	}

	restarted := openLog(t, db)
	restarted.Catalogue("counter")
	if err := restarted.Preload(ctx, 3, "counter"); err != nil {
		t.Fatal(err)
	}
	var finds, docs int
	for _, id := range ids {
		before := counted.Now()
		if n := (loaded{t}).n(restarted.Load(ctx, id)); n != 5 {
			t.Fatalf("%s: loaded %d events, want 5", id, n)
		}
		d := counted.Now().Sub(before)
		finds, docs = finds+d.Finds, docs+d.Docs
	}
	// Three preloaded: a find each, returning nothing; the fourth read whole: its five
	// commits and the find after them.
	if finds != 3+6 || docs != 5 {
		t.Errorf("the loads after the preload sent %d finds returning %d documents, want %d and %d", finds, docs, 3+6, 5)
	}
	if err := openLog(t, db).Preload(ctx, 10, "counter"); err == nil {
		t.Error("a preload of a type not catalogued succeeded")
	}
}

// TestARewriteThatChangesNothingKeepsTheAggregateInMemory: the pass that seals
// older events runs over every aggregate at start, after the service preloaded
// them; where it changes nothing, the aggregate stays in memory and its next load is
// one find. Before, every Rewrite dropped it, and the first request read all its
// commits again. Aggregates preloaded by id (PreloadIDs) are held the same way.
func TestARewriteThatChangesNothingKeepsTheAggregateInMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "")
	writer := openLog(t, db)
	for _, id := range []string{"kept", "changed"} {
		for range 5 {
			mustCount(t, writer, id)
		}
	}
	restarted := openLog(t, db)
	if err := restarted.PreloadIDs(ctx, []string{"kept", "changed"}); err != nil {
		t.Fatal(err)
	}
	same := func(_ string, data []byte) ([]byte, error) { return data, nil }
	if n, err := restarted.Rewrite(ctx, "kept", same); err != nil || n != 0 {
		t.Fatalf("rewrite with nothing to change: %d commits (%v), want 0", n, err)
	}
	// A rewrite that changes the aggregate drops it: what memory holds is the old form.
	n, err := restarted.Rewrite(ctx, "changed", func(_ string, data []byte) ([]byte, error) {
		return bytes.Replace(data, []byte(`"n"`), []byte(`"n" `), 1), nil
	})
	if err != nil || n != 5 {
		t.Fatalf("rewrite of every commit: %d commits (%v), want 5", n, err)
	}
	for _, c := range []struct {
		id    string
		finds int
	}{{"kept", 1}, {"changed", 6}} {
		before := counted.Now()
		if n := (loaded{t}).n(restarted.Load(ctx, c.id)); n != 5 {
			t.Fatalf("%s: loaded %d events, want 5", c.id, n)
		}
		if got := counted.Now().Sub(before); got.Finds != c.finds {
			t.Errorf("%s: the load after the rewrite sent %d finds, want %d", c.id, got.Finds, c.finds)
		}
	}
}

// TestEachCommitVisitsEveryCommitOnce: a pass over the log (the sealing pass at
// start) sees every commit of every aggregate once, across more than one batch of
// the cursor, each with its events in version order.
func TestEachCommitVisitsEveryCommitOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	es := openLog(t, db)
	const aggregates, commits = 60, 7 // 420 commits: more than one batch of 256
	for i := range aggregates {
		for range commits {
			mustCount(t, es, fmt.Sprint("agg-", i))
		}
	}
	seen := map[string]int{}
	err := es.EachCommit(ctx, func(evs []events.Envelope) error {
		for _, e := range evs {
			seen[fmt.Sprintf("%s/%d", e.AggregateID, e.Version)]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != aggregates*commits {
		t.Errorf("the pass saw %d events, want %d", len(seen), aggregates*commits)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("event %s seen %d times, want once", k, n)
		}
	}
}
