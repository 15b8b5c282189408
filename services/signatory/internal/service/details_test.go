package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// details is a body for updateDetails.
func details(name, website string) map[string]any {
	return map[string]any{"name": name, "sector": "higher_education", "country": "GB", "website": website}
}

// TestITSSCorrectsAnOrganisationsDetails: a slip in the name an enquiry recorded, or
// a website since moved, is corrected by ITSS (updateDetails, with If-Match as the
// contacts are), by the enquiry's rules; the directory (its search and order), the
// operations list, the organisation's read and its history show the correction, and
// it is published for the other services (OrganisationDetailsCorrectedV1). A
// correction from a page read before another change is 412, changing nothing; the
// kind, which set the obligation clocks, cannot be sent; a lead may not correct them.
func TestITSSCorrectsAnOrganisationsDetails(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	created := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, withDate(enquiry, "name", "Zniversity of Exampelton"))).JSON(t)
	id := created["id"].(string)
	for _, s := range []struct {
		path string
		body any
	}{{"/meeting", map[string]any{"held_on": "2025-02-10"}}, {"/form", form}, {"/announcement", map[string]any{"announced_on": "2025-03-20"}}} {
		h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+s.path, ops, s.body))
	}
	other := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, withDate(enquiry, "name", "Othertown Institute"))).JSON(t)["id"].(string)
	for _, s := range []struct {
		path string
		body any
	}{{"/meeting", map[string]any{"held_on": "2025-02-10"}}, {"/form", form}, {"/announcement", map[string]any{"announced_on": "2025-03-20"}}} {
		h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+other+s.path, ops, s.body))
	}
	path := "/v1/organisations/" + id + "/details"
	read := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, ops, nil))
	etag := read.Header.Get("ETag")

	// Refused beside the field, as at the enquiry; the kind is not among the details.
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{withDate(details("University of Exampleton", "https://www.exampleton.ac.uk"), "country", "UK"), "country"},
		{details("University\nof Exampleton", "https://www.exampleton.ac.uk"), "name"},
		{details("University of Exampleton", "www.exampleton.ac.uk"), "website"},
		{withDate(details("University of Exampleton", "https://www.exampleton.ac.uk"), "kind", "supporter"), "kind"},
	} {
		r := h.Do("PUT", path, ops, bad.body, "If-Match", etag)
		if r.Status != http.StatusBadRequest || r.JSON(t)["field"] != bad.field {
			t.Errorf("%v: %d %s, want 400 naming %s", bad.body, r.Status, r.Body, bad.field)
		}
	}
	if r := h.Do("PUT", path, h.Token(auth.RoleLead, id), details("Lead's Own Name", "https://www.exampleton.ac.uk"), "If-Match", etag); r.Status != http.StatusForbidden {
		t.Errorf("a lead's correction: %d, want 403", r.Status)
	}

	// Corrected, with the ETag it was read with: the website kept with its scheme and
	// host in lower case, as at the enquiry.
	fixed := h.Must(http.StatusOK, h.Do("PUT", path, ops, details("University of Exampleton", "Https://WWW.Exampleton.ac.uk/Technicians"), "If-Match", etag))
	got := fixed.JSON(t)
	if got["name"] != "University of Exampleton" || got["website"] != "https://www.exampleton.ac.uk/Technicians" || got["kind"] != "signatory" || got["status"] != "announced" ||
		fixed.Header.Get("ETag") != fmt.Sprintf(`"%v"`, got["version"]) {
		t.Errorf("the correction answers %s with ETag %q", fixed.Body, fixed.Header.Get("ETag"))
	}
	// The same again changes nothing; one from the page read before is 412.
	same := h.Must(http.StatusOK, h.Do("PUT", path, ops, details("University of Exampleton", "https://www.exampleton.ac.uk/Technicians")))
	if same.Header.Get("ETag") != fixed.Header.Get("ETag") {
		t.Errorf("the same details again moved the version to %s", same.Header.Get("ETag"))
	}
	stale := h.Do("PUT", path, ops, details("University of Exampleton Typo", "https://www.exampleton.ac.uk"), "If-Match", etag)
	if stale.Status != http.StatusPreconditionFailed || !strings.Contains(string(stale.Body), "precondition_failed") {
		t.Errorf("a correction of a version since changed: %d %s, want 412", stale.Status, stale.Body)
	}

	// The directory finds it by its new name, in its new place, with its new website.
	testenv.Eventually(t, 10*time.Second, func() error {
		page := h.Must(http.StatusOK, h.Do("GET", "/v1/directory", "", nil)).JSON(t)
		items := page["items"].([]any)
		if len(items) != 2 {
			return fmt.Errorf("the directory lists %v", items)
		}
		first, second := items[0].(map[string]any), items[1].(map[string]any)
		if first["name"] != "Othertown Institute" || second["name"] != "University of Exampleton" || second["website"] != "https://www.exampleton.ac.uk/Technicians" {
			return fmt.Errorf("the directory lists %v then %v", first, second)
		}
		return nil
	})
	if items := h.Must(http.StatusOK, h.Do("GET", "/v1/directory?name=exampelton", "", nil)).JSON(t)["items"].([]any); len(items) != 0 {
		t.Errorf("the directory still finds the old name: %v", items)
	}
	page := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations?name=university", ops, nil)).JSON(t)
	if items := page["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "University of Exampleton" {
		t.Errorf("the operations list finds %v", items)
	}
	if org := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, h.Token(auth.RoleLead, id), nil)).JSON(t); org["name"] != "University of Exampleton" {
		t.Errorf("the lead reads the name %v", org["name"])
	}

	// The history says who corrected what; the stream carries it for the others.
	history := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/history", ops, nil)).JSON(t)["items"].([]any)
	last := history[len(history)-1].(map[string]any)
	if last["type"] != (events.OrganisationDetailsCorrectedV1{}).EventType() || last["actor"] != "ops:ops-user" ||
		last["data"].(map[string]any)["name"] != "University of Exampleton" {
		t.Errorf("the history ends %v", last)
	}
	msgs := h.eventsOf(id, 6)
	if m := msgs[len(msgs)-1]; m.Subject() != events.SubjectOrganisationDetailsCorrected {
		t.Errorf("the last event published is on %s", m.Subject())
	}
}
