package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	// The SQLite driver FerretDB itself uses, to add an index to its files.
	_ "modernc.org/sqlite"
)

// FerretDB 1.x on SQLite pushes a filter on _id alone down to SQL as
// `WHERE _ferretdb_sjson->'$._id' = ?`, but the unique index it creates on _id is on
// the expression `_ferretdb_sjson->"_id"`. SQLite matches an index to a query by its
// expression, so it never uses that index to find a document: every read by _id
// parses every row of the table, and its cost grows with the collection (3 ms per
// read at 5,000 documents of 1 KiB, against 0.3 ms with a matching index).
//
// indexIDs gives every collection's table an index on the expression the queries
// use. FerretDB creates tables as collections are first written, so it looks for new
// ones every interval until ctx ends. It is the embedded development store only:
// MongoDB indexes _id itself.
//
// Opening a file parses its whole schema, so a file is opened again only once it has
// changed (its size or time, or its write-ahead log's) since a pass found nothing
// missing in it: a store of many databases, most of them idle (every test's own, say),
// cost a pass over every file twice a second, a third of a test run's processor time.
func indexIDs(ctx context.Context, dir string, interval time.Duration, index func(context.Context, string) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	settled := map[string]fileStamp{}
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		present := make(map[string]bool, len(files))
		for _, f := range files {
			present[f] = true
			before := stampOf(f)
			if prev, ok := settled[f]; ok && prev == before {
				continue
			}
			delete(settled, f)
			if err := index(ctx, f); err != nil {
				continue
			}
			// A file written within the last moments may have been written again
			// within the same tick of the file system's clock: it is looked at
			// again until it has been still for a while.
			if time.Since(before.newest()) > settleAfter {
				settled[f] = before
			}
		}
		for f := range settled {
			if !present[f] {
				delete(settled, f)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// settleAfter is how long a database file must have been unchanged before indexIDs
// stops opening it: longer than the file system's clock's tick.
const settleAfter = 2 * time.Second

// fileStamp is what changes when a database file, or its write-ahead log, is written.
type fileStamp struct {
	size, walSize   int64
	mtime, walMtime time.Time
}

func stampOf(file string) fileStamp {
	var s fileStamp
	if fi, err := os.Stat(file); err == nil {
		s.size, s.mtime = fi.Size(), fi.ModTime()
	}
	if fi, err := os.Stat(file + "-wal"); err == nil {
		s.walSize, s.walMtime = fi.Size(), fi.ModTime()
	}
	return s
}

func (s fileStamp) newest() time.Time {
	if s.walMtime.After(s.mtime) {
		return s.walMtime
	}
	return s.mtime
}

// indexFile indexes the tables of one database file that lack the index. A file
// being created or dropped meanwhile fails this pass; the next one retries.
func indexFile(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c WHERE NOT EXISTS
		(SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || '`+indexSuffix+`')`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err == nil {
			tables = append(tables, name)
		}
	}
	_ = rows.Close() // read to the end above; a close error leaves nothing to undo
	for _, table := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+indexSuffix, table)
		if _, err := db.ExecContext(ctx, q); err != nil && !strings.Contains(err.Error(), "no such table") {
			return err
		}
	}
	return nil
}

// indexSuffix names the index indexIDs adds to a table.
const indexSuffix = "_id_pushdown"
