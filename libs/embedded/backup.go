package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Manifest describes a backup of the local stack's data directory.
type Manifest struct {
	Taken time.Time `json:"taken"`
	// Files are the backed-up files, relative to the data directory.
	Files []string `json:"files"`
}

// ManifestName is the manifest's file name in a backup directory.
const ManifestName = "backup.json"

// Backup copies the local stack's durable state out of dataDir into outDir while the
// stack may be running: every FerretDB database (one SQLite file each), Mailpit's
// caught mail, the development signing key and the portal's pseudonym secret. Each SQLite file is copied with
// SQLite's own online backup, VACUUM INTO, which reads one consistent snapshot of the
// file while writers go on; a plain file copy of a database in WAL mode could tear.
//
// The NATS store is not copied. The event stores in FerretDB are the source of truth
// and the streams only carry their events: after a restore, each service's
// rebuild-projections publishes its events again and rebuilds its projections (see
// deploy/README.md, "Local stack (embedded store)").
func Backup(ctx context.Context, dataDir, outDir string) (Manifest, error) {
	m := Manifest{Taken: time.Now().UTC()}
	if entries, err := os.ReadDir(outDir); err == nil && len(entries) > 0 {
		return m, fmt.Errorf("backup: %s is not empty", outDir)
	}
	dbs, err := filepath.Glob(filepath.Join(dataDir, "ferretdb", "*.sqlite"))
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if len(dbs) == 0 {
		return m, fmt.Errorf("backup: no FerretDB databases under %s", filepath.Join(dataDir, "ferretdb"))
	}
	if err := os.MkdirAll(filepath.Join(outDir, "ferretdb"), 0o750); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if mail := filepath.Join(dataDir, "mailpit.db"); exists(mail) {
		dbs = append(dbs, mail)
	}
	for _, src := range dbs {
		rel, err := filepath.Rel(dataDir, src)
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		if err := vacuumInto(ctx, src, filepath.Join(outDir, rel)); err != nil {
			return m, err
		}
		m.Files = append(m.Files, rel)
	}
	// The secrets the stack made for this data directory: the development signing
	// key, and the portal's pseudonym secret, without which a restored portal would
	// record its people anew and lose what it keeps under their pseudonyms.
	for _, name := range []string{"dev-signing-key.pem", "portal-pseudonym.key"} {
		if key := filepath.Join(dataDir, name); exists(key) {
			if err := copyFile(key, filepath.Join(outDir, name), 0o600); err != nil {
				return m, err
			}
			m.Files = append(m.Files, name)
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	// Written last: a backup without its manifest is one that did not finish.
	if err := os.WriteFile(filepath.Join(outDir, ManifestName), data, 0o600); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// vacuumInto writes a consistent copy of the SQLite database src to dst.
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backup %s: %w", src, err)
	}
	defer db.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("backup %s: %w", src, err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("backup %s: %w", src, err)
	}
	return nil
}

// Restore puts a backup taken by Backup into dataDir, with the stack stopped. It
// replaces the FerretDB databases and Mailpit's mail, and empties the NATS store:
// streams that ran on past the backup would carry events the restored event stores
// no longer hold. The streams named in keep stay as they are (the register of
// erasures, which must outlive a restore to undo what it brings back). Then start the
// stack and run each service's rebuild-projections.
func Restore(dataDir, fromDir string, keep ...string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(fromDir, ManifestName)) // #nosec G304 -- the backup the operator named
	if err != nil {
		return m, fmt.Errorf("restore: %s is not a finished backup: %w", fromDir, err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("restore: read %s: %w", ManifestName, err)
	}
	for _, rel := range m.Files {
		if rel != filepath.Clean(rel) || filepath.IsAbs(rel) || strings.HasPrefix(rel, "..") {
			return m, fmt.Errorf("restore: the manifest names %q, outside the backup", rel)
		}
		if !exists(filepath.Join(fromDir, rel)) {
			return m, fmt.Errorf("restore: the backup lacks %s", rel)
		}
	}
	// A kept stream is moved aside while the NATS store is emptied, and back after;
	// a restore cut short between the two finds it aside and takes it from there.
	aside := filepath.Join(dataDir, "restore-kept-streams")
	for _, name := range keep {
		from := filepath.Join(StreamDir(dataDir), name)
		if !exists(from) {
			continue
		}
		if err := os.MkdirAll(aside, 0o750); err != nil {
			return m, fmt.Errorf("restore: %w", err)
		}
		if err := os.RemoveAll(filepath.Join(aside, name)); err != nil {
			return m, fmt.Errorf("restore: %w", err)
		}
		if err := os.Rename(from, filepath.Join(aside, name)); err != nil {
			return m, fmt.Errorf("restore: keep stream %s: %w", name, err)
		}
	}
	for _, dir := range []string{"ferretdb", "nats"} {
		if err := os.RemoveAll(filepath.Join(dataDir, dir)); err != nil {
			return m, fmt.Errorf("restore: %w", err)
		}
	}
	for _, name := range keep {
		kept := filepath.Join(aside, name)
		if !exists(kept) {
			continue
		}
		if err := os.MkdirAll(StreamDir(dataDir), 0o750); err != nil {
			return m, fmt.Errorf("restore: %w", err)
		}
		if err := os.Rename(kept, filepath.Join(StreamDir(dataDir), name)); err != nil {
			return m, fmt.Errorf("restore: keep stream %s: %w", name, err)
		}
	}
	_ = os.Remove(aside)
	_ = os.Remove(filepath.Join(dataDir, "mailpit.db-wal"))
	_ = os.Remove(filepath.Join(dataDir, "mailpit.db-shm"))
	for _, rel := range m.Files {
		if err := copyFile(filepath.Join(fromDir, rel), filepath.Join(dataDir, rel), 0o600); err != nil {
			return m, err
		}
	}
	return m, nil
}

// StreamDir is where the local stack's NATS server keeps its streams (one directory
// each), under the stack's data directory: JetStream's store of the global account.
func StreamDir(dataDir string) string {
	return filepath.Join(dataDir, "nats", "jetstream", "$G", "streams")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src) // #nosec G304 -- in the backup or data directory the operator named (Restore keeps the manifest's names inside it)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode) // #nosec G304 -- in the backup or data directory the operator named (Restore keeps the manifest's names inside it)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}
