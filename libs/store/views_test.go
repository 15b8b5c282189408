package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

type thingView struct {
	ID      string `bson:"_id"`
	Name    string `bson:"name"`
	Version int    `bson:"version"`
}

func view(id, name string, version int) store.View {
	return store.View{ID: id, Version: version, Doc: thingView{ID: id, Name: name, Version: version}}
}

// PutMany writes first versions and later ones in a batch, and never puts a view back
// to an older version than the one stored, whether the older one comes again in a
// later batch (a redelivery) or in the same batch.
func TestPutManyNeverPutsAViewBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	views, err := store.NewViews(ctx, db, "things")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		put  []store.View
		want map[string]thingView
	}{
		{put: []store.View{view("a", "a1", 1), view("b", "b1", 1), view("c", "c2", 2)},
			want: map[string]thingView{"a": {"a", "a1", 1}, "b": {"b", "b1", 1}, "c": {"c", "c2", 2}}},
		// a moves on; b's and c's first versions come again, with other content.
		{put: []store.View{view("a", "a3", 3), view("b", "b1 again", 1), view("c", "c1", 1), view("d", "d1", 1)},
			want: map[string]thingView{"a": {"a", "a3", 3}, "b": {"b", "b1", 1}, "c": {"c", "c2", 2}, "d": {"d", "d1", 1}}},
		// a's older versions, a newer one of b, and the same version of d again.
		{put: []store.View{view("a", "a2", 2), view("a", "a1", 1), view("b", "b4", 4), view("d", "d1 again", 1)},
			want: map[string]thingView{"a": {"a", "a3", 3}, "b": {"b", "b4", 4}, "c": {"c", "c2", 2}, "d": {"d", "d1", 1}}},
		{put: nil,
			want: map[string]thingView{"a": {"a", "a3", 3}, "b": {"b", "b4", 4}, "c": {"c", "c2", 2}, "d": {"d", "d1", 1}}},
	}
	for i, step := range steps {
		if err := views.PutMany(ctx, step.put); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		cur, err := views.Collection().Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var all []thingView
		if err := cur.All(ctx, &all); err != nil {
			t.Fatal(err)
		}
		got := map[string]thingView{}
		for _, v := range all {
			got[v.ID] = v
		}
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Errorf("step %d: views (-want +got):\n%s", i, diff)
		}
	}
}

// A batch replacing more views than the embedded store has connections (a closed
// review round rewrites every assignment's view at once) is written in full, and the
// database answers afterwards. Sent as one update command, about 100 replaces took
// every connection of FerretDB's SQLite pool and waited for one more forever, and
// every later read of the database timed out with them.
func TestPutManyReplacesMoreViewsThanTheStoreHasConnections(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	views, err := store.NewViews(ctx, db, "things")
	if err != nil {
		t.Fatal(err)
	}
	const n = 150
	var first, second []store.View
	want := map[string]thingView{}
	for i := range n {
		id := fmt.Sprintf("t%03d", i)
		first = append(first, view(id, id+" first", 1))
		second = append(second, view(id, id+" second", 2))
		want[id] = thingView{id, id + " second", 2}
	}
	if err := views.PutMany(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := views.PutMany(ctx, second); err != nil {
		t.Fatalf("replace %d views: %v", n, err)
	}
	cur, err := views.Collection().Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var all []thingView
	if err := cur.All(ctx, &all); err != nil {
		t.Fatal(err)
	}
	got := map[string]thingView{}
	for _, v := range all {
		got[v.ID] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("views (-want +got):\n%s", diff)
	}
}
