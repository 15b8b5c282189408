package embedded_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/embedded"
)

// openWAL opens a SQLite database as FerretDB keeps its files: in WAL mode.
func openWAL(tb testing.TB, file string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=journal_mode(wal)&_pragma=synchronous(normal)&_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// TestBackupIsConsistentWhileWritten: a writer moves units between two rows in
// transactions (their sum stays 100) and counts its commits, while backups are taken.
// Every copy must hold a sum of 100 and at least the commits made before it began:
// a plain copy of the file would miss what is still in the write-ahead log.
func TestBackupIsConsistentWhileWritten(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if err := os.MkdirAll(filepath.Join(data, "ferretdb"), 0o750); err != nil {
		t.Fatal(err)
	}
	db := openWAL(t, filepath.Join(data, "ferretdb", "fund.sqlite"))
	for _, q := range []string{"CREATE TABLE acct (id TEXT PRIMARY KEY, n INTEGER)", "INSERT INTO acct VALUES ('a', 100), ('b', 0)",
		"CREATE TABLE commits (n INTEGER)", "INSERT INTO commits VALUES (0)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Stopped however the test ends: the writer must not report after it.
	t.Cleanup(func() { close(stop); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tx, err := db.Begin()
			if err != nil {
				t.Error(err)
				return
			}
			from, to := "a", "b"
			if i%2 == 0 {
				from, to = "b", "a"
			}
			_, err1 := tx.Exec("UPDATE acct SET n = n - 1 WHERE id = ?", from)
			_, err2 := tx.Exec("UPDATE acct SET n = n + 1 WHERE id = ?", to)
			_, err3 := tx.Exec("UPDATE commits SET n = ?", i)
			if err1 != nil || err2 != nil || err3 != nil {
				t.Error(err1, err2, err3)
				_ = tx.Rollback()
				return
			}
			if err := tx.Commit(); err != nil {
				t.Error(err)
				return
			}
			committed.Store(int64(i))
		}
	}()
	for i := range 5 {
		before := committed.Load()
		out := filepath.Join(t.TempDir(), "backup")
		m, err := embedded.Backup(context.Background(), data, out)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Files) != 1 || m.Files[0] != filepath.Join("ferretdb", "fund.sqlite") {
			t.Fatalf("backup %d holds %v", i, m.Files)
		}
		copyDB := openWAL(t, filepath.Join(out, "ferretdb", "fund.sqlite"))
		var sum, n int64
		if err := copyDB.QueryRow("SELECT (SELECT SUM(n) FROM acct), (SELECT n FROM commits)").Scan(&sum, &n); err != nil {
			t.Fatal(err)
		}
		if sum != 100 {
			t.Errorf("backup %d: the rows sum to %d, want 100: it tore a transaction", i, sum)
		}
		if n < before {
			t.Errorf("backup %d holds %d commits, but %d were made before it began", i, n, before)
		}
	}
}

// TestRestoreTakesOnlyFinishedBackupsAndEmptiesTheStreams.
func TestRestoreTakesOnlyFinishedBackupsAndEmptiesTheStreams(t *testing.T) {
	t.Parallel()
	data, backup := t.TempDir(), filepath.Join(t.TempDir(), "backup")
	if err := os.MkdirAll(filepath.Join(data, "ferretdb"), 0o750); err != nil {
		t.Fatal(err)
	}
	db := openWAL(t, filepath.Join(data, "ferretdb", "review.sqlite"))
	if _, err := db.Exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.Backup(context.Background(), data, backup); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.Backup(context.Background(), data, backup); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second backup into the same directory: %v, want a refusal", err)
	}

	target := t.TempDir()
	if err := os.MkdirAll(filepath.Join(target, "nats", "jetstream"), 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.Restore(target, backup); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := openWAL(t, filepath.Join(target, "ferretdb", "review.sqlite")).QueryRow("SELECT v FROM t").Scan(&v); err != nil || v != "kept" {
		t.Errorf("restored row %q (%v), want kept", v, err)
	}
	if _, err := os.Stat(filepath.Join(target, "nats")); !os.IsNotExist(err) {
		t.Errorf("the NATS store survived the restore (%v)", err)
	}

	unfinished := t.TempDir()
	if _, err := embedded.Restore(t.TempDir(), unfinished); err == nil {
		t.Error("restored a directory without a manifest")
	}
	if err := os.WriteFile(filepath.Join(unfinished, embedded.ManifestName), []byte(`{"files":["../../etc/passwd"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.Restore(t.TempDir(), unfinished); err == nil || !strings.Contains(err.Error(), "outside the backup") {
		t.Errorf("a manifest naming a file outside the backup: %v, want a refusal", err)
	}
}

// TestRestoreKeepsTheStreamsItIsToldToKeep: a NATS server of the local stack's
// layout holds two streams; a restore told to keep one empties the store but for
// it, and a NATS server started on the store again holds that stream's messages and
// not the other stream. A restore cut short with the kept stream moved aside finds
// it there the next time.
func TestRestoreKeepsTheStreamsItIsToldToKeep(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data, backup := t.TempDir(), filepath.Join(t.TempDir(), "backup")
	if err := os.MkdirAll(filepath.Join(data, "ferretdb"), 0o750); err != nil {
		t.Fatal(err)
	}
	db := openWAL(t, filepath.Join(data, "ferretdb", "signatory.sqlite"))
	if _, err := db.Exec("CREATE TABLE t (v TEXT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.Backup(ctx, data, backup); err != nil {
		t.Fatal(err)
	}
	streams := func(publish bool) map[string]uint64 {
		t.Helper()
		n, err := embedded.StartNATS(filepath.Join(data, "nats"), "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer n.Stop()
		nc, err := nats.Connect(n.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		if publish {
			for _, name := range []string{"KEEP", "GONE"} {
				if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name) + ".>"}, Storage: jetstream.FileStorage}); err != nil {
					t.Fatal(err)
				}
				for i := range 3 {
					if _, err := js.Publish(ctx, fmt.Sprintf("%s.%d", strings.ToLower(name), i), []byte("entry")); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		got := map[string]uint64{}
		for name := range js.StreamNames(ctx).Name() {
			s, err := js.Stream(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			got[name] = s.CachedInfo().State.Msgs
		}
		return got
	}
	if got := streams(true); got["KEEP"] != 3 || got["GONE"] != 3 {
		t.Fatalf("before the restore the streams hold %v", got)
	}
	if _, err := embedded.Restore(data, backup, "KEEP", "ABSENT"); err != nil {
		t.Fatal(err)
	}
	if got := streams(false); len(got) != 1 || got["KEEP"] != 3 {
		t.Errorf("after a restore keeping KEEP the streams are %v, want KEEP's 3 messages alone", got)
	}
	// Cut short: the kept stream is aside, the store already emptied.
	aside := filepath.Join(data, "restore-kept-streams")
	if err := os.MkdirAll(aside, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(embedded.StreamDir(data), "KEEP"), filepath.Join(aside, "KEEP")); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.Restore(data, backup, "KEEP"); err != nil {
		t.Fatal(err)
	}
	if got := streams(false); len(got) != 1 || got["KEEP"] != 3 {
		t.Errorf("after a restore that found KEEP aside the streams are %v, want KEEP's 3 messages alone", got)
	}
	if _, err := os.Stat(aside); !os.IsNotExist(err) {
		t.Errorf("the restore left %s behind (%v)", aside, err)
	}
}
