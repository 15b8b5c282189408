package embedded_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

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
