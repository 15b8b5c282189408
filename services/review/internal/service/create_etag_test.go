package service_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// TestACreateAnswersWithTheETagOfWhatItCreated: a draft's and a pool member's create
// answer with the ETag of the version they created, the one a read that follows
// gives, so that the first update can name it in If-Match without a read between;
// a registration repeated with its Idempotency-Key answers the same ETag.
func TestACreateAnswersWithTheETagOfWhatItCreated(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	lead := h.Token(auth.RoleLead, "a")
	var created testenv.Response
	testenv.Eventually(t, 10*time.Second, func() error { // once the service knows the obligation
		if created = h.Do("POST", "/v1/submissions", lead, complete("Start an award")); created.Status != http.StatusCreated {
			return fmt.Errorf("draft: %d %s", created.Status, created.Body)
		}
		return nil
	})
	id := created.JSON(t)["id"].(string)
	read := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+id, lead, nil))
	if etag := created.Header.Get("ETag"); etag == "" || etag != read.Header.Get("ETag") {
		t.Errorf("the draft's create answered ETag %q, the read after it %q", etag, read.Header.Get("ETag"))
	}
	h.Must(http.StatusOK, h.Do("PUT", "/v1/submissions/"+id, lead, complete("Revised"), "If-Match", created.Header.Get("ETag")))

	member := map[string]any{"reviewer_id": "rev-r", "name": "Reviewer rev-r", "email": "rev-r@reviewers.example", "organisation_id": "org-r",
		"trained": true, "capacity": 2, "conflicts": []string{}}
	// The first send with a key is the create, the second its replay.
	registered := h.register(member, "Idempotency-Key", "form-k")
	replayed := h.Must(http.StatusCreated, h.Do("POST", "/v1/reviewers", h.ops, member, "Idempotency-Key", "form-k"))
	got := h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers/rev-r", h.ops, nil))
	etag := registered.Header.Get("ETag")
	if etag == "" || etag != got.Header.Get("ETag") {
		t.Errorf("the registration answered ETag %q, the read after it %q", etag, got.Header.Get("ETag"))
	}
	if replayed.Header.Get("Idempotent-Replayed") != "true" || replayed.Header.Get("ETag") != etag {
		t.Errorf("the repeated registration answered ETag %q (replayed %q), want the first's %q", replayed.Header.Get("ETag"), replayed.Header.Get("Idempotent-Replayed"), etag)
	}
	member["capacity"] = 4
	h.Must(http.StatusOK, h.Do("PUT", "/v1/reviewers/rev-r", h.ops, member, "If-Match", etag))
}
