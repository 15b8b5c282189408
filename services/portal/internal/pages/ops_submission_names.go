package pages

import (
	"context"
	"sync"

	"github.com/itss/techcommit/services/portal/internal/clients"
)

// The review service's lists of a round's assignments name a submission by its id
// alone, a UUID that says nothing to ITSS staff. The console asks the review service
// for each submission on a page what it answers (its kind and cycle), and remembers
// it: what a submission answers never changes, so a page of 50 costs requests only
// for submissions not shown before.

// opsSubmissionsHeld bounds how many submissions' names are held.
const opsSubmissionsHeld = 10000

type opsSubmissionNames struct {
	mu   sync.Mutex
	held map[string]string
}

// opsSubmissionWhats returns what each submission ids names answers, in words
// ("Self-assessment and action plan (cycle 1)", see submissionKind), as far as it
// knows: one it could not read is left out, and the page shows its id instead.
func (h *Handler) opsSubmissionWhats(ctx context.Context, set *clients.Set, ids ...string) map[string]string {
	out := make(map[string]string, len(ids))
	var missing []string
	h.subNames.mu.Lock()
	for _, id := range ids {
		if _, seen := out[id]; seen || id == "" {
			continue
		}
		what, ok := h.subNames.held[id]
		out[id] = what
		if !ok {
			missing = append(missing, id)
		}
	}
	h.subNames.mu.Unlock()
	if len(missing) == 0 {
		return out
	}
	read := make([]string, len(missing))
	var wg sync.WaitGroup
	sem := make(chan struct{}, opsNamesAtOnce)
	for i, id := range missing {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if resp, err := set.Review.GetSubmissionWithResponse(ctx, id); err == nil && resp.JSON200 != nil {
				read[i] = submissionKind(resp.JSON200)
			}
		})
	}
	wg.Wait()
	h.subNames.mu.Lock()
	defer h.subNames.mu.Unlock()
	if h.subNames.held == nil || len(h.subNames.held)+len(missing) > opsSubmissionsHeld {
		h.subNames.held = map[string]string{} // start again rather than grow without bound
	}
	for i, id := range missing {
		if read[i] == "" {
			delete(out, id)
			continue
		}
		h.subNames.held[id] = read[i]
		out[id] = read[i]
	}
	return out
}
