package app

import (
	"testing"
	"time"
)

// A replica names an organisation as it last read it for nameFor, and no longer: a
// name read before this replica wrote the organisation is not kept (it may be the
// name the write replaced), and the write drops the name held, so that a correction
// reaches the reviewer at once on the replica that took it in, and within nameFor on
// the others.
func TestANameHeldIsDroppedByAWriteAndLapses(t *testing.T) {
	t.Parallel()
	var n names
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	if _, ok, _ := n.get("org-1", at); ok {
		t.Fatal("a name is held before any was read")
	}
	_, _, gen := n.get("org-1", at)
	n.put("org-1", "Univeristy of a", at, gen)
	if name, ok, _ := n.get("org-1", at.Add(nameFor-time.Second)); !ok || name != "Univeristy of a" {
		t.Errorf("within nameFor: %q, %v; want the name read", name, ok)
	}
	if _, ok, _ := n.get("org-1", at.Add(nameFor)); ok {
		t.Error("the name is still held at nameFor, want it read again")
	}

	// A read begins, the organisation is written (ITSS corrected its name), and the
	// read, which found the old name, ends: it is not kept.
	_, _, gen = n.get("org-1", at)
	n.drop("org-1")
	n.put("org-1", "Univeristy of a", at, gen)
	if name, ok, _ := n.get("org-1", at); ok {
		t.Errorf("a name read before the write is held: %q", name)
	}
	_, _, gen = n.get("org-1", at)
	n.put("org-1", "University of Aberdare", at, gen)
	n.drop("org-1")
	if name, ok, _ := n.get("org-1", at); ok {
		t.Errorf("a name held before the write is still held after it: %q", name)
	}
}
