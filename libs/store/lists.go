package store

import (
	"slices"
	"sync"
)

// Lists holds small entries in memory, each in several ordered lists, so that a page
// of a list costs the entries it walks, whatever the number of entries: a Mirror's
// apply feeds it and a view's list queries page through it. Every entry is in the
// list named "" (all of them) and in the lists its names function gives (e.g.
// "org=o1", "status=sent"), all in one order.
type Lists[E any] struct {
	id      func(E) string
	names   func(E) []string
	compare func(a, b E) int
	newer   func(held, given E) bool

	mu      sync.RWMutex
	byID    map[string]E
	ordered map[string][]E
}

// NewLists keeps entries identified by id, in the lists names gives, ordered by
// compare (which must tell apart any two entries of different ids); of two entries
// with one id it keeps the given one when newer says so.
func NewLists[E any](id func(E) string, names func(E) []string, compare func(a, b E) int, newer func(held, given E) bool) *Lists[E] {
	return &Lists[E]{id: id, names: names, compare: compare, newer: newer, byID: map[string]E{}, ordered: map[string][]E{}}
}

// Apply takes entries in, as a Mirror's apply. A batch may hold several versions of
// one entry (a draft and its submission, projected together): only the latest one
// given is listed.
func (l *Lists[E]) Apply(entries []E) {
	l.mu.Lock()
	defer l.mu.Unlock()
	latest := make(map[string]E, len(entries))
	var order []string
	for _, e := range entries {
		id := l.id(e)
		held, had := latest[id]
		first := !had
		if first {
			held, had = l.byID[id]
		}
		if had && !l.newer(held, e) {
			continue
		}
		if first {
			order = append(order, id)
		}
		latest[id] = e
	}
	added := map[string][]E{}
	for _, id := range order {
		e := latest[id]
		if old, had := l.byID[id]; had {
			for _, name := range append(l.names(old), "") {
				list := l.ordered[name]
				if i, ok := slices.BinarySearchFunc(list, old, l.compare); ok {
					list = slices.Delete(list, i, i+1)
				}
				l.ordered[name] = list
			}
		}
		l.byID[id] = e
		for _, name := range append(l.names(e), "") {
			added[name] = append(added[name], e)
		}
	}
	for name, es := range added {
		list := l.ordered[name]
		if len(es) < 16 {
			for _, e := range es {
				i, _ := slices.BinarySearchFunc(list, e, l.compare)
				list = slices.Insert(list, i, e)
			}
		} else {
			// A start or a large batch: sorted by itself, then merged in from the
			// back, which stops as soon as the batch is placed (new ids, made in time
			// order, mostly go after every held one); sorting the whole list again
			// for every batch cost more than writing the batch's views.
			slices.SortFunc(es, l.compare)
			n := len(list)
			list = append(list, es...)
			i, w := n-1, len(list)-1
			for j := len(es) - 1; j >= 0; w-- {
				if i >= 0 && l.compare(list[i], es[j]) > 0 {
					list[w] = list[i]
					i--
				} else {
					list[w] = es[j]
					j--
				}
			}
		}
		l.ordered[name] = list
	}
}

// Page returns up to limit entries that match, in order, from the shortest of the
// named lists (all entries when names is empty), after the entry `after` when it is
// not nil; more says whether another matching entry follows.
func (l *Lists[E]) Page(names []string, after *E, match func(E) bool, limit int) (page []E, more bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	list := l.shortest(names)
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(list, *after, func(e, a E) int {
			if l.compare(e, a) <= 0 {
				return -1
			}
			return 1
		})
	}
	for _, e := range list[start:] {
		if match != nil && !match(e) {
			continue
		}
		if len(page) == limit {
			return page, true
		}
		page = append(page, e)
	}
	return page, false
}

// Count is how many entries match, walking the shortest of the named lists (all
// entries when names is empty); with a nil match it is that list's length, which
// costs nothing however many entries are held: the caller passes nil when one name
// says all that matches.
func (l *Lists[E]) Count(names []string, match func(E) bool) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	list := l.shortest(names)
	if match == nil {
		return len(list)
	}
	n := 0
	for _, e := range list {
		if match(e) {
			n++
		}
	}
	return n
}

// shortest is the shortest of the named lists, or the list of all when names is
// empty; the caller holds the lock.
func (l *Lists[E]) shortest(names []string) []E {
	list := l.ordered[""]
	for _, name := range names {
		if named := l.ordered[name]; len(named) < len(list) {
			list = named
		}
	}
	return list
}

// Last returns up to n entries from the end of the list of all, the last first.
func (l *Lists[E]) Last(n int) []E {
	l.mu.RLock()
	defer l.mu.RUnlock()
	all := l.ordered[""]
	out := make([]E, 0, min(n, len(all)))
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, all[i])
	}
	return out
}

// Get returns the entry held for id, for a caller that merges what it is given with
// what is held before applying it.
func (l *Lists[E]) Get(id string) (E, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.byID[id]
	return e, ok
}

// Len is how many entries are held.
func (l *Lists[E]) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.byID)
}

// Each calls f with every entry of the list named, in order, without copying the
// list: for counts over one owner's entries (a round's assignments), which cost the
// owner's entries in memory and no read of the store.
func (l *Lists[E]) Each(name string, f func(E)) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, e := range l.ordered[name] {
		f(e)
	}
}
