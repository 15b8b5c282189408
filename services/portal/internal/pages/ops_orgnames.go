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

// opsNameFor is how long a name read is shown without asking again; opsNamesHeld
// bounds how many are held.
const (
	opsNameFor   = 5 * time.Minute
	opsNamesHeld = 10000
	// opsNamesAtOnce bounds the requests one page makes for names it lacks.
	opsNamesAtOnce = 8
)

type opsOrgNames struct {
	mu   sync.Mutex
	held map[string]opsHeldName
}

type opsHeldName struct {
	name  string // "" when the signatory service has no such organisation
	until time.Time
}

// opsNames returns the names of the organisations ids names, as far as it knows them:
// an id it could not read (the signatory service did not answer) is left out, and the
// page shows the id instead (opsOrgLabel).
func (h *Handler) opsNames(ctx context.Context, set *clients.Set, ids ...string) map[string]string {
	now := h.clock.Now()
	out := make(map[string]string, len(ids))
	var missing []string
	h.orgNames.mu.Lock()
	for _, id := range ids {
		if _, seen := out[id]; seen || id == "" {
			continue
		}
		if n, ok := h.orgNames.held[id]; ok && now.Before(n.until) {
			out[id] = n.name
		} else {
			out[id] = ""
			missing = append(missing, id)
		}
	}
	h.orgNames.mu.Unlock()
	if len(missing) == 0 {
		return out
	}
	read := make([]*opsHeldName, len(missing))
	var wg sync.WaitGroup
	sem := make(chan struct{}, opsNamesAtOnce)
	for i, id := range missing {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			resp, err := set.Signatory.GetOrganisationWithResponse(ctx, id)
			switch {
			case err != nil:
			case resp.StatusCode() == http.StatusNotFound:
				read[i] = &opsHeldName{until: now.Add(opsNameFor)}
			case resp.JSON200 != nil:
				read[i] = &opsHeldName{name: resp.JSON200.Name, until: now.Add(opsNameFor)}
			}
		})
	}
	wg.Wait()
	h.orgNames.mu.Lock()
	defer h.orgNames.mu.Unlock()
	if h.orgNames.held == nil || len(h.orgNames.held)+len(missing) > opsNamesHeld {
		h.orgNames.held = map[string]opsHeldName{} // start again rather than grow without bound
	}
	for i, id := range missing {
		if read[i] == nil {
			delete(out, id)
			continue
		}
		h.orgNames.held[id] = *read[i]
		out[id] = read[i].name
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
