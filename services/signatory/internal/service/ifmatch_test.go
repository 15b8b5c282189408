package service_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// contactsWith is the contacts of the signed form, with the head of institution and
// the plan page given.
func contactsWith(leader, planPage string) map[string]any {
	return map[string]any{
		"leader":           map[string]any{"name": leader, "title": "Vice-Chancellor", "email": "vc@exampleton.ac.uk"},
		"nominated_lead":   form["nominated_lead"],
		"point_of_contact": form["point_of_contact"],
		"plan_page":        planPage,
	}
}

// leaderOf is the name of an organisation's head of institution, as an answer gives it.
func leaderOf(org map[string]any) string {
	l, _ := org["leader"].(map[string]any)
	name, _ := l["name"].(string)
	return name
}

// TestContactsChangedSinceTheyWereReadAreNotOverwritten: the organisation's read and
// a contacts update answer with its version as the ETag; an update whose If-Match
// names an older version is refused with 412 and changes nothing (a new plan page
// saved from a page read before the head of institution changed put the old head
// back, and overdue emails went to them); one naming the current version is applied
// and answers the new ETag; one without If-Match is applied as it always was.
func TestContactsChangedSinceTheyWereReadAreNotOverwritten(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "announcement")
	lead := h.Token(auth.RoleLead, id)
	path := "/v1/organisations/" + id + "/contacts"

	read := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, lead, nil))
	etag := read.Header.Get("ETag")
	if want := fmt.Sprintf(`"%v"`, read.JSON(t)["version"]); etag != want {
		t.Fatalf("the organisation's ETag is %q, want its version %s", etag, want)
	}

	// B names a new head of institution, with the ETag it read.
	b := h.Must(http.StatusOK, h.Do("PUT", path, lead, contactsWith("Prof. New Head", "https://www.exampleton.ac.uk/technician-commitment"), "If-Match", etag))
	bETag := b.Header.Get("ETag")
	if want := fmt.Sprintf(`"%v"`, b.JSON(t)["version"]); bETag != want || bETag == etag {
		t.Errorf("the update answers ETag %q, want its new version %s", bETag, want)
	}

	// A saves a new plan page from the page it read before: refused, the head stays.
	a := h.Do("PUT", path, lead, contactsWith("Prof. Jane Smith", "https://www.exampleton.ac.uk/tc-plan"), "If-Match", etag)
	if a.Status != http.StatusPreconditionFailed {
		t.Fatalf("an update of a version since changed: %d, want 412: %s", a.Status, a.Body)
	}
	if p := a.JSON(t); a.Header.Get("Content-Type") != "application/problem+json" || p["type"] != "https://technician-commitment.itss.org.uk/problems/precondition_failed" {
		t.Errorf("the refusal is %q %s", a.Header.Get("Content-Type"), a.Body)
	}
	now := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, lead, nil))
	org := now.JSON(t)
	if leaderOf(org) != "Prof. New Head" || org["plan_page"] != "https://www.exampleton.ac.uk/technician-commitment" || now.Header.Get("ETag") != bETag {
		t.Errorf("after the refused update: head %q, plan page %v, ETag %s; want B's head, the old page, %s", leaderOf(org), org["plan_page"], now.Header.Get("ETag"), bETag)
	}

	// A's second try, with the ETag it read again, is applied.
	again := h.Must(http.StatusOK, h.Do("PUT", path, lead, contactsWith("Prof. New Head", "https://www.exampleton.ac.uk/tc-plan"), "If-Match", bETag))
	if got := again.JSON(t); got["plan_page"] != "https://www.exampleton.ac.uk/tc-plan" || again.Header.Get("ETag") != fmt.Sprintf(`"%v"`, got["version"]) {
		t.Errorf("the update with the current ETag answers %s with ETag %q", again.Body, again.Header.Get("ETag"))
	}

	// Without If-Match (an older client, the ops pages), as before.
	plain := h.Must(http.StatusOK, h.Do("PUT", path, ops, contactsWith("Prof. Third Head", "https://www.exampleton.ac.uk/tc-plan")))
	if got := plain.JSON(t); leaderOf(got) != "Prof. Third Head" || plain.Header.Get("ETag") != fmt.Sprintf(`"%v"`, got["version"]) {
		t.Errorf("the update without If-Match answers %s with ETag %q", plain.Body, plain.Header.Get("ETag"))
	}

	// An If-Match that is not * or a list of entity tags is refused naming it.
	r := h.Must(http.StatusBadRequest, h.Do("PUT", path, lead, contactsWith("Malformed", "https://www.exampleton.ac.uk/technician-commitment"), "If-Match", `3`))
	if f := r.JSON(t)["field"]; f != "If-Match" {
		t.Errorf("an unquoted If-Match is refused naming %v", f)
	}
}

// TestRacingContactUpdatesWithOneETagHaveOneWinner: contact updates sent at once, all
// with the ETag of one version, are checked where they append: exactly one is applied
// and every other is 412.
func TestRacingContactUpdatesWithOneETagHaveOneWinner(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "announcement")
	lead := h.Token(auth.RoleLead, id)
	etag := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, lead, nil)).Header.Get("ETag")

	const writers = 8
	statuses := make([]int, writers)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			statuses[i] = h.Do("PUT", "/v1/organisations/"+id+"/contacts", lead, contactsWith(fmt.Sprintf("Head %d", i), "https://www.exampleton.ac.uk/technician-commitment"), "If-Match", etag).Status
		}()
	}
	close(ready)
	wg.Wait()

	winner, refused := -1, 0
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			if winner >= 0 {
				t.Errorf("writers %d and %d were both applied on ETag %s", winner, i, etag)
			}
			winner = i
		case http.StatusPreconditionFailed:
			refused++
		default:
			t.Errorf("writer %d: status %d, want 200 or 412", i, s)
		}
	}
	if winner < 0 || refused != writers-1 {
		t.Fatalf("statuses %v: want exactly one 200 and %d 412", statuses, writers-1)
	}
	if got := leaderOf(h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, lead, nil)).JSON(t)); got != fmt.Sprintf("Head %d", winner) {
		t.Errorf("the head is %q, want the winner's, Head %d", got, winner)
	}
}

// TestEveryAnswerWithTheOrganisationCarriesItsETag: the create and each onboarding
// step answer with the organisation's version as the ETag, as its read and a
// contacts update do, so that a tool that has just recorded the announcement can
// send If-Match with the contacts it corrects next without reading them again. A
// step's ETag is the one a read after it gives, and it is accepted as If-Match; a
// create replayed with its Idempotency-Key answers the same ETag.
func TestEveryAnswerWithTheOrganisationCarriesItsETag(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	created := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, enquiry, "Idempotency-Key", "etag-create"))
	id, _ := created.JSON(t)["id"].(string)
	// The create sent again with its key answers as the first did, ETag and all.
	replay := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, enquiry, "Idempotency-Key", "etag-create"))
	if replay.Header.Get("Idempotent-Replayed") != "true" || replay.Header.Get("ETag") != created.Header.Get("ETag") {
		t.Errorf("the create replayed answers ETag %q (replayed: %q), the first %q", replay.Header.Get("ETag"), replay.Header.Get("Idempotent-Replayed"), created.Header.Get("ETag"))
	}
	answers := map[string]testenv.Response{"the create": created}
	for _, s := range []struct {
		name, path string
		body       any
	}{
		{"the meeting", "/meeting", map[string]any{"held_on": "2025-02-10"}},
		{"the form", "/form", form},
		{"the announcement", "/announcement", map[string]any{"announced_on": "2025-03-20"}},
	} {
		r := h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+s.path, ops, s.body))
		answers[s.name] = r
		read := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, ops, nil))
		if got, want := r.Header.Get("ETag"), read.Header.Get("ETag"); got != want {
			t.Errorf("%s answers ETag %q; a read after it gives %q", s.name, got, want)
		}
	}
	for name, r := range answers {
		if want := fmt.Sprintf(`"%v"`, r.JSON(t)["version"]); r.Header.Get("ETag") != want {
			t.Errorf("%s answers ETag %q, want its version %s", name, r.Header.Get("ETag"), want)
		}
	}
	etag := answers["the announcement"].Header.Get("ETag")
	h.Must(http.StatusOK, h.Do("PUT", "/v1/organisations/"+id+"/contacts", ops, contactsWith("Prof. New Head", "https://www.exampleton.ac.uk/technician-commitment"), "If-Match", etag))

	withdrawn := h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/withdrawal", ops, map[string]any{
		"withdrawn_on": "2025-06-01", "reason": "Left", "initiated_by": "organisation"}))
	if want := fmt.Sprintf(`"%v"`, withdrawn.JSON(t)["version"]); withdrawn.Header.Get("ETag") != want {
		t.Errorf("the withdrawal answers ETag %q, want its version %s", withdrawn.Header.Get("ETag"), want)
	}
}

// The contacts' update takes If-Match as RFC 9110 13.1.1 has it: a list of ETags (one
// line or several) or *, compared strongly (a weak tag never matches: 412), and a
// malformed one is 400 naming If-Match. Before, a list was 400, and so was a weak
// tag of the current version.
func TestTheContactsUpdateTakesAnIfMatchList(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "announcement")
	lead := h.Token(auth.RoleLead, id)
	n := 0
	testenv.IfMatchCases(t, func() string {
		return h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, lead, nil)).Header.Get("ETag")
	}, func(headers ...string) testenv.Response {
		n++
		return h.Do("PUT", "/v1/organisations/"+id+"/contacts", lead, contactsWith(fmt.Sprintf("Prof. Head %d", n), "https://www.exampleton.ac.uk/technician-commitment"), headers...)
	})
}
