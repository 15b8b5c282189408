package store_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/itss/techcommit/libs/store"
)

type item struct {
	ID      string
	Status  string
	Version int
}

func TestListsKeepEachEntryInItsListsInOrder(t *testing.T) {
	t.Parallel()
	l := store.NewLists(
		func(i item) string { return i.ID },
		func(i item) []string { return []string{"status=" + i.Status} },
		func(a, b item) int { return cmp.Compare(a.ID, b.ID) },
		func(held, given item) bool { return given.Version > held.Version },
	)
	var start []item
	for i := range 40 { // a start: many at once
		start = append(start, item{ID: fmt.Sprintf("i%02d", 39-i), Status: "open", Version: 1})
	}
	l.Apply(start)
	l.Apply([]item{{ID: "i05", Status: "closed", Version: 2}, {ID: "i07", Status: "closed", Version: 1}}) // i07's is older: ignored
	l.Apply(start[:3])                                                                                    // delivered again: no change
	ids := func(is []item) []string {
		var out []string
		for _, i := range is {
			out = append(out, i.ID)
		}
		return out
	}
	closed, more := l.Page([]string{"status=closed"}, nil, nil, 10)
	if !slices.Equal(ids(closed), []string{"i05"}) || more {
		t.Errorf("closed: %v (more %v), want i05 alone", ids(closed), more)
	}
	open, more := l.Page([]string{"status=open"}, &item{ID: "i03"}, nil, 3)
	if !slices.Equal(ids(open), []string{"i04", "i06", "i07"}) || !more {
		t.Errorf("open after i03: %v (more %v), want i04 i06 i07 and more", ids(open), more)
	}
	all, more := l.Page(nil, &item{ID: "i37"}, nil, 5)
	if !slices.Equal(ids(all), []string{"i38", "i39"}) || more {
		t.Errorf("all after i37: %v (more %v), want i38 i39 and no more", ids(all), more)
	}
	if none, _ := l.Page([]string{"status=unknown"}, nil, nil, 5); len(none) != 0 {
		t.Errorf("a list nobody is in: %v", ids(none))
	}
	if n := l.Count([]string{"status=open"}, nil); n != 39 {
		t.Errorf("count of open: %d, want 39", n)
	}
	if n := l.Count(nil, func(i item) bool { return i.Status == "closed" || i.ID == "i00" }); n != 2 {
		t.Errorf("count of closed or i00 over all: %d, want 2", n)
	}
	if n := l.Count([]string{"status=open", "status=unknown"}, func(item) bool { return true }); n != 0 {
		t.Errorf("count over a list nobody is in: %d, want 0", n)
	}
	if l.Len() != 40 {
		t.Errorf("holds %d entries, want 40", l.Len())
	}
	if got, ok := l.Get("i05"); !ok || got != (item{ID: "i05", Status: "closed", Version: 2}) {
		t.Errorf("i05 held as %+v (%v), want its version 2", got, ok)
	}
	if got, ok := l.Get("nobody"); ok {
		t.Errorf("an id never given is held as %+v", got)
	}
}
