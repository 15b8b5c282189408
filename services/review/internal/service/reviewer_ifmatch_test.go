package service_test

import (
	"net/http"
	"testing"
)

// A pool member's record carries its version as an ETag, and a change sent with an
// older If-Match is 412 and changes nothing: two people changing one record from
// forms opened together (capacity, then the name) put back each other's change.
func TestAReviewerChangedSinceItWasReadIsNotOverwritten(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.reviewer("rev-e", "org-e", true, 2)
	member := func(name string, capacity int) map[string]any {
		return map[string]any{"reviewer_id": "rev-e", "name": name, "email": "rev-e@reviewers.example", "organisation_id": "org-e",
			"trained": true, "capacity": capacity, "conflicts": []string{}}
	}
	read := h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers/rev-e", h.ops, nil))
	etag := read.Header.Get("ETag")
	if etag == "" {
		t.Fatal("the reviewer's record has no ETag")
	}
	changed := h.Must(http.StatusOK, h.Do("PUT", "/v1/reviewers/rev-e", h.ops, member("Reviewer rev-e", 5), "If-Match", etag))
	if changed.Header.Get("ETag") == etag || changed.Header.Get("ETag") == "" {
		t.Errorf("the change answered ETag %q, want a new one after %q", changed.Header.Get("ETag"), etag)
	}
	stale := h.Must(http.StatusPreconditionFailed, h.Do("PUT", "/v1/reviewers/rev-e", h.ops, member("Rita E", 2), "If-Match", etag))
	detail(t, stale, "was changed since it was read")
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers/rev-e", h.ops, nil)).JSON(t); got["capacity"] != float64(5) || got["name"] != "Reviewer rev-e" {
		t.Errorf("after a change on an old version the record is %v, want the capacity 5 the first change set", got)
	}
	// Without If-Match, as before.
	h.Must(http.StatusOK, h.Do("PUT", "/v1/reviewers/rev-e", h.ops, member("Rita E", 5)))
}
