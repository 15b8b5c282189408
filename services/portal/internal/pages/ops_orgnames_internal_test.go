package pages

import (
	"context"
	"testing"
	"time"
)

// A name forgotten (corrected in this console) is read afresh by the next page, and a
// read under way as it was forgotten, which may have read the name before the
// correction, is shown to its own page but not held for the next.
func TestAForgottenNameIsReadAfresh(t *testing.T) {
	t.Parallel()
	var l heldLabels
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	named := func(name string) func(context.Context, string) (string, bool) {
		return func(context.Context, string) (string, bool) { return name, true }
	}
	labels := func(read func(context.Context, string) (string, bool)) string {
		return l.labels(context.Background(), now, time.Hour, 10, []string{"org-1"}, read)["org-1"]
	}
	if got := labels(named("Univeristy of Exampleton")); got != "Univeristy of Exampleton" {
		t.Fatalf("the first read is %q", got)
	}
	if got := labels(named("University of Exampleton")); got != "Univeristy of Exampleton" {
		t.Errorf("a name held is read again: %q", got)
	}
	l.forget("org-1")
	if got := labels(named("University of Exampleton")); got != "University of Exampleton" {
		t.Errorf("once forgotten the name reads %q, want it read afresh", got)
	}

	l.forget("org-1")
	racing := func(ctx context.Context, id string) (string, bool) {
		l.forget(id) // corrected while this read was under way
		return "Univeristy of Exampleton", true
	}
	if got := labels(racing); got != "Univeristy of Exampleton" {
		t.Errorf("the racing read shows %q to its page", got)
	}
	if got := labels(named("University of Exampleton")); got != "University of Exampleton" {
		t.Errorf("after a read under way as the name was forgotten, the next page reads %q, want it read afresh", got)
	}
}
