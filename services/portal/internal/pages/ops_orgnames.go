package pages

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/itss/techcommit/services/portal/internal/clients"
)

// The fund's and the review service's records name an organisation by its id alone;
// the console's lists showed that id (a UUID) where a person looks for a name. The
// console asks the signatory service for the names of the organisations on a page
// it has not seen lately, and remembers them for a few minutes: an organisation's
// name changes rarely, and a list of 50 should not cost 50 more requests each time.
// A correction of its name made in this console forgets it here at once (another
// replica of the portal shows the new name once what it held lapses).

// opsNameFor is how long a name read is shown without asking again; opsNamesHeld
// bounds how many are held.
const (
	opsNameFor   = 5 * time.Minute
	opsNamesHeld = 10000
	// opsNamesAtOnce bounds the requests one page makes for names it lacks.
	opsNamesAtOnce = 8
)

// opsNames returns the names of the organisations ids names, as far as it knows them:
// an id it could not read (the signatory service did not answer) is left out, and the
// page shows the id instead (opsOrgLabel).
func (h *Handler) opsNames(ctx context.Context, set *clients.Set, ids ...string) map[string]string {
	return h.orgNames.labels(ctx, h.clock.Now(), opsNameFor, opsNamesHeld, ids, func(ctx context.Context, id string) (string, bool) {
		resp, err := set.Signatory.GetOrganisationWithResponse(ctx, id)
		switch {
		case err != nil:
			return "", false
		case resp.StatusCode() == http.StatusNotFound:
			return "", true // no such organisation: held as that
		case resp.JSON200 != nil:
			return resp.JSON200.Name, true
		}
		return "", false
	})
}

// heldLabels is a page's memory of what a service calls things it names by id (an
// organisation's name, what a submission answers), bounded, so that a list of 50
// costs requests only for ids not shown lately: it reads those it lacks, at most
// opsNamesAtOnce at a time.
type heldLabels struct {
	mu   sync.Mutex
	held map[string]heldLabel
	// forgot counts the calls to forget, so that a read under way as one was made
	// (which may have read what was forgotten) is not held.
	forgot uint64
}

// forget drops what is held for id, which has just changed (ITSS corrected an
// organisation's name in this console), so that the next page reads it afresh.
func (l *heldLabels) forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, id)
	l.forgot++
}

type heldLabel struct {
	label string
	until time.Time // zero: held for good (what it labels never changes)
}

// labels returns the label of each of ids that it holds, fresh, or that read gives
// (read says false when it could not read one: that id is left out, and is asked
// again next time). Each read is held for ttl (0: for good); past most held, the
// memory starts again rather than grow without bound.
func (l *heldLabels) labels(ctx context.Context, now time.Time, ttl time.Duration, most int, ids []string, read func(context.Context, string) (string, bool)) map[string]string {
	out := make(map[string]string, len(ids))
	var missing []string
	l.mu.Lock()
	forgot := l.forgot
	for _, id := range ids {
		if _, seen := out[id]; seen || id == "" {
			continue
		}
		if h, ok := l.held[id]; ok && (h.until.IsZero() || now.Before(h.until)) {
			out[id] = h.label
		} else {
			out[id] = ""
			missing = append(missing, id)
		}
	}
	l.mu.Unlock()
	if len(missing) == 0 {
		return out
	}
	type answer struct {
		label string
		ok    bool
	}
	got := make([]answer, len(missing))
	var wg sync.WaitGroup
	sem := make(chan struct{}, opsNamesAtOnce)
	for i, id := range missing {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			got[i].label, got[i].ok = read(ctx, id)
		})
	}
	wg.Wait()
	var until time.Time
	if ttl > 0 {
		until = now.Add(ttl)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil || len(l.held)+len(missing) > most {
		l.held = map[string]heldLabel{}
	}
	for i, id := range missing {
		if !got[i].ok {
			delete(out, id)
			continue
		}
		if l.forgot == forgot {
			// Read after anything forgotten since changed: it may be held.
			l.held[id] = heldLabel{label: got[i].label, until: until}
		}
		out[id] = got[i].label
	}
	return out
}

// opsNamesOf is opsNames for the organisations that items name, id giving each one's.
func opsNamesOf[T any](ctx context.Context, h *Handler, set *clients.Set, items []T, id func(T) string) map[string]string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = id(it)
	}
	return h.opsNames(ctx, set, ids...)
}

// opsOrgLabel is what a page shows for an organisation: its name, or its id when the
// name is not known.
func opsOrgLabel(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}
