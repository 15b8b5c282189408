package pages

import (
	"context"

	"github.com/itss/techcommit/services/portal/internal/clients"
)

// The review service's lists of a round's assignments name a submission by its id
// alone, a UUID that says nothing to ITSS staff. The console asks the review service
// for each submission on a page what it answers (its kind and cycle), and remembers
// it: what a submission answers never changes, so a page of 50 costs requests only
// for submissions not shown before.

// opsSubmissionsHeld bounds how many submissions' names are held.
const opsSubmissionsHeld = 10000

// opsSubmissionWhats returns what each submission ids names answers, in words
// ("Self-assessment and action plan (cycle 1)", see submissionKind), as far as it
// knows: one it could not read is left out, and the page shows its id instead. What
// a submission answers never changes: it is held for good.
func (h *Handler) opsSubmissionWhats(ctx context.Context, set *clients.Set, ids ...string) map[string]string {
	return h.subNames.labels(ctx, h.clock.Now(), 0, opsSubmissionsHeld, ids, func(ctx context.Context, id string) (string, bool) {
		if resp, err := set.Review.GetSubmissionWithResponse(ctx, id); err == nil && resp.JSON200 != nil {
			return submissionKind(resp.JSON200), true
		}
		return "", false
	})
}
