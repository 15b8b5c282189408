package store_test

import (
	"context"
	"testing"
)

// Republished commits come back from Unpublished, those of other aggregates do not.
func TestRepublishHandsCommitsBackToTheRelay(t *testing.T) {
	ctx := context.Background()
	es := newStore(t)
	for _, id := range []string{"a", "a", "b"} {
		if _, err := count(es, id, ""); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := es.Unpublished(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range pending {
		ids = append(ids, c.ID)
	}
	es.MarkPublished(ids)
	n, err := es.Republish(ctx, []string{"a"})
	if err != nil || n != 2 {
		t.Fatalf("Republish = %d, %v; want 2 commits", n, err)
	}
	pending, err = es.Unpublished(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 {
		t.Fatalf("unpublished after republish = %d commits, want 2", len(pending))
	}
	for _, c := range pending {
		if c.Events[0].AggregateID != "a" {
			t.Errorf("commit %s of %s republished; only a's were asked for", c.ID, c.Events[0].AggregateID)
		}
	}
}
