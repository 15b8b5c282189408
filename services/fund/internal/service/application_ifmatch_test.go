package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/itss/techcommit/libs/auth"
)

// An application carries its version as an ETag, and a change to a draft sent with
// an older If-Match is 412 and changes nothing: two tools (or a lead and a colleague)
// changing one draft from one reading silently replaced each other's change. Eight
// changes raced from one reading: one applies.
func TestADraftChangedSinceItWasReadIsNotOverwritten(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-im", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-im")
	h.eligible(applicant, round, 1000)
	created := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, draft(round, 5000)))
	id := created.JSON(t)["id"].(string)
	// The create answers the draft's ETag, so a tool changes what it just made
	// without reading it first.
	if e := created.Header.Get("ETag"); e != fmt.Sprintf(`"%v"`, created.JSON(t)["version"]) {
		t.Errorf("the draft's create answers ETag %q, want its version %v", e, created.JSON(t)["version"])
	}
	change := func(title string) map[string]any {
		d := draft(round, 5000)
		delete(d, "round_id")
		d["title"] = title
		return d
	}

	read := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil))
	etag := read.Header.Get("ETag")
	if etag != fmt.Sprintf(`"%v"`, read.JSON(t)["version"]) {
		t.Fatalf("the application's ETag is %q, want its version %v", etag, read.JSON(t)["version"])
	}
	first := h.Must(http.StatusOK, h.Do("PUT", "/v1/applications/"+id, applicant, change("Skills exchange, first tool"), "If-Match", etag))
	if e := first.Header.Get("ETag"); e == "" || e == etag {
		t.Errorf("the change answered ETag %q, want a new one after %q", e, etag)
	}
	stale := h.Must(http.StatusPreconditionFailed, h.Do("PUT", "/v1/applications/"+id, applicant, change("Skills exchange, second tool"), "If-Match", etag))
	if !strings.Contains(string(stale.Body), "was changed since it was read") {
		t.Errorf("the refused change: %s", stale.Body)
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).JSON(t); got["title"] != "Skills exchange, first tool" {
		t.Errorf("after a change on an old version the draft's title is %v, want the first change kept", got["title"])
	}

	etag = h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).Header.Get("ETag")
	statuses := make([]int, 8)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = h.Do("PUT", "/v1/applications/"+id, applicant, change(fmt.Sprintf("Skills exchange, racer %d", i)), "If-Match", etag).Status
		})
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
		default:
			t.Errorf("a racing change answered %d", s)
		}
	}
	if won != 1 {
		t.Errorf("%d racing changes from one reading applied (%v), want 1", won, statuses)
	}
	// Without If-Match a change applies whatever the version, as before.
	h.Must(http.StatusOK, h.Do("PUT", "/v1/applications/"+id, applicant, change("Skills exchange")))
}
