package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadManyReturnsEachAggregateInVersionOrder(t *testing.T) {
	t.Parallel()
	es := newStore(t)
	for _, id := range []string{"b", "a", "b", "c", "b", "a"} {
		if _, err := count(es, id, ""); err != nil {
			t.Fatal(err)
		}
	}
	got, err := es.LoadMany(context.Background(), []string{"a", "b", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string][]int{}
	for id, evs := range got {
		for _, e := range evs {
			if e.AggregateID != id {
				t.Errorf("event of %s returned under %s", e.AggregateID, id)
			}
			versions[id] = append(versions[id], e.Version)
		}
	}
	if diff := cmp.Diff(map[string][]int{"a": {1, 2}, "b": {1, 2, 3}}, versions); diff != "" {
		t.Errorf("versions by aggregate (-want +got):\n%s", diff)
	}
	if none, err := es.LoadMany(context.Background(), nil); err != nil || len(none) != 0 {
		t.Errorf("no ids: %v, %v", none, err)
	}
}
