package store_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/itss/techcommit/libs/store"
)

// One batch can hold two versions of one entry (a draft and its submission, projected
// together): the entry is listed once, as its later version, in every list, whether
// the batch is small or large.
func TestListsTakeTwoVersionsOfOneEntryInOneBatch(t *testing.T) {
	t.Parallel()
	for _, size := range []int{2, 40} {
		l := store.NewLists(
			func(i item) string { return i.ID },
			func(i item) []string { return []string{"status=" + i.Status} },
			func(a, b item) int { return cmp.Compare(a.ID, b.ID) },
			func(held, given item) bool { return given.Version > held.Version },
		)
		l.Apply([]item{{ID: "a00", Status: "open", Version: 1}})
		var batch []item
		for i := range size - 2 {
			batch = append(batch, item{ID: fmt.Sprintf("b%02d", i), Status: "open", Version: 1})
		}
		batch = append(batch, item{ID: "c00", Status: "draft", Version: 1}, item{ID: "c00", Status: "open", Version: 2})
		l.Apply(batch)
		all, _ := l.Page(nil, nil, nil, 100)
		open, _ := l.Page([]string{"status=open"}, nil, nil, 100)
		drafts, _ := l.Page([]string{"status=draft"}, nil, nil, 100)
		count := func(is []item) int {
			return len(slices.DeleteFunc(slices.Clone(is), func(i item) bool { return i.ID != "c00" }))
		}
		if count(all) != 1 || count(open) != 1 || count(drafts) != 0 {
			t.Errorf("batch of %d: c00 listed %d times in all, %d in open, %d in drafts; want 1, 1, 0: %v", size, count(all), count(open), count(drafts), all)
		}
		if len(all) != size {
			t.Errorf("batch of %d: %d entries listed, want %d", size, len(all), size)
		}
	}
}

// A large batch is merged into the entries held, wherever its entries fall among
// them: every list stays complete and in order.
func TestListsMergeALargeBatchAmongTheHeld(t *testing.T) {
	t.Parallel()
	l := store.NewLists(
		func(i item) string { return i.ID },
		func(i item) []string { return []string{"status=" + i.Status} },
		func(a, b item) int { return cmp.Compare(a.ID, b.ID) },
		func(held, given item) bool { return given.Version > held.Version },
	)
	var held, batch []item
	for i := range 30 {
		held = append(held, item{ID: fmt.Sprintf("i%03d", 2*i+10), Status: "open", Version: 1})
	}
	l.Apply(held)
	for i := range 40 { // before, among and after the held ones, in no order
		batch = append(batch, item{ID: fmt.Sprintf("i%03d", (i*37)%80*2+1), Status: []string{"open", "closed"}[i%2], Version: 1})
	}
	batch = append(batch, item{ID: "i010", Status: "closed", Version: 2}) // moves
	l.Apply(batch)
	want := map[string][]string{}
	for _, i := range append(held[1:], batch...) {
		want[""] = append(want[""], i.ID)
		want["status="+i.Status] = append(want["status="+i.Status], i.ID)
	}
	for name, ids := range want {
		slices.Sort(ids)
		var names []string
		if name != "" {
			names = []string{name}
		}
		page, _ := l.Page(names, nil, nil, 200)
		var got []string
		for _, i := range page {
			got = append(got, i.ID)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("list %q: %v, want %v", name, got, ids)
		}
	}
}
