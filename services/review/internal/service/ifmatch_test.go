package service_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// actionOf is the first action of a submission's plan, as an answer gives it.
func actionOf(t testing.TB, sub map[string]any) string {
	t.Helper()
	plan, _ := sub["content"].(map[string]any)["action_plan"].([]any)
	if len(plan) == 0 {
		return ""
	}
	return plan[0].(map[string]any)["action"].(string)
}

// TestADraftChangedSinceItWasReadIsNotOverwritten: a draft's read and its update
// answer with its version as the ETag; an update whose If-Match names an older
// version is refused with 412 and changes nothing (the lost update two tabs made);
// one naming the current version is applied and answers the new ETag; one without
// If-Match is applied as it always was.
func TestADraftChangedSinceItWasReadIsNotOverwritten(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	lead := h.Token(auth.RoleLead, "a")
	id := h.drafted("a", complete("Start an award"))

	read := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+id, lead, nil))
	if got := read.Header.Get("ETag"); got != `"1"` {
		t.Fatalf("a new draft's ETag is %q, want \"1\"", got)
	}

	// Session B saves first, with the ETag it read.
	b := h.Must(http.StatusOK, h.Do("PUT", "/v1/submissions/"+id, lead, complete("Session B's action"), "If-Match", `"1"`))
	if got := b.Header.Get("ETag"); got != `"2"` {
		t.Errorf("the update answers ETag %q, want \"2\"", got)
	}
	if got := b.JSON(t)["version"]; got != float64(2) {
		t.Errorf("the update answers version %v, want 2", got)
	}

	// Session A saves what it read before B's change: refused, and B's change stays.
	a := h.Do("PUT", "/v1/submissions/"+id, lead, complete("Session A's action"), "If-Match", `"1"`)
	if a.Status != http.StatusPreconditionFailed {
		t.Fatalf("an update of a version since changed: %d, want 412: %s", a.Status, a.Body)
	}
	p := a.JSON(t)
	if a.Header.Get("Content-Type") != "application/problem+json" || p["type"] != "https://technician-commitment.itss.org.uk/problems/precondition_failed" || p["status"] != float64(412) {
		t.Errorf("the refusal is %q %s", a.Header.Get("Content-Type"), a.Body)
	}
	now := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+id, lead, nil))
	if got, etag := actionOf(t, now.JSON(t)), now.Header.Get("ETag"); got != "Session B's action" || etag != `"2"` {
		t.Errorf("after the refused update the draft holds %q at %s, want Session B's action at \"2\"", got, etag)
	}

	// A's second try, with the ETag it read again, is applied.
	again := h.Must(http.StatusOK, h.Do("PUT", "/v1/submissions/"+id, lead, complete("Session A's action"), "If-Match", now.Header.Get("ETag")))
	if got, etag := actionOf(t, again.JSON(t)), again.Header.Get("ETag"); got != "Session A's action" || etag != `"3"` {
		t.Errorf("the update with the current ETag answers %q at %s, want Session A's action at \"3\"", got, etag)
	}

	// Without If-Match (a client written before it existed), or with *, the draft is
	// replaced whatever its version, as before.
	plain := h.Must(http.StatusOK, h.Do("PUT", "/v1/submissions/"+id, lead, complete("An older client's action")))
	if got, etag := actionOf(t, plain.JSON(t)), plain.Header.Get("ETag"); got != "An older client's action" || etag != `"4"` {
		t.Errorf("the update without If-Match answers %q at %s, want An older client's action at \"4\"", got, etag)
	}
	h.Must(http.StatusOK, h.Do("PUT", "/v1/submissions/"+id, lead, complete("Any version's action"), "If-Match", "*"))

	// An If-Match that is not * or a list of entity tags is refused naming it.
	for _, bad := range []string{`5`, `"5`, `"5" "6"`} {
		r := h.Must(http.StatusBadRequest, h.Do("PUT", "/v1/submissions/"+id, lead, complete("Malformed"), "If-Match", bad))
		if f := r.JSON(t)["field"]; f != "If-Match" {
			t.Errorf("If-Match %s is refused naming %v", bad, f)
		}
	}
	if got := actionOf(t, h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+id, lead, nil)).JSON(t)); got != "Any version's action" {
		t.Errorf("after the refusals the draft holds %q", got)
	}
}

// TestRacingUpdatesWithOneETagHaveOneWinner: updates sent at once, all with the ETag
// of one version, are checked where they append, so exactly one is applied and every
// other is 412; none is lost silently under another.
func TestRacingUpdatesWithOneETagHaveOneWinner(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	lead := h.Token(auth.RoleLead, "a")
	id := h.drafted("a", complete("Start an award"))
	etag := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+id, lead, nil)).Header.Get("ETag")

	const writers = 8
	statuses := make([]int, writers)
	actions := make([]string, writers)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			actions[i] = fmt.Sprintf("Writer %d's action", i)
			statuses[i] = h.Do("PUT", "/v1/submissions/"+id, lead, complete(actions[i]), "If-Match", etag).Status
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
	now := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+id, lead, nil))
	if got, e := actionOf(t, now.JSON(t)), now.Header.Get("ETag"); got != actions[winner] || e != `"2"` {
		t.Errorf("the draft holds %q at %s, want the winner's %q at \"2\"", got, e, actions[winner])
	}
}

// Each of the review service's conditional writes takes If-Match as RFC 9110 13.1.1
// has it: a list of ETags (one line or several) or *, compared strongly (a weak tag
// never matches: 412), and a malformed one is 400 naming If-Match. Before, a list
// was 400, and so was a weak tag of the current version.
func TestTheReviewServicesWritesTakeAnIfMatchList(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	lead := h.Token(auth.RoleLead, "a")
	id := h.drafted("a", complete("Start an award"))
	n := 0
	t.Run("submission", func(t *testing.T) {
		testenv.IfMatchCases(t, func() string {
			return h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+id, lead, nil)).Header.Get("ETag")
		}, func(headers ...string) testenv.Response {
			n++
			return h.Do("PUT", "/v1/submissions/"+id, lead, complete(fmt.Sprintf("Action %d", n)), headers...)
		})
	})
	t.Run("reviewer", func(t *testing.T) {
		h.reviewer("rev-l", "org-l", true, 2)
		testenv.IfMatchCases(t, func() string {
			return h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers/rev-l", h.ops, nil)).Header.Get("ETag")
		}, func(headers ...string) testenv.Response {
			n++
			return h.Do("PUT", "/v1/reviewers/rev-l", h.ops, map[string]any{"reviewer_id": "rev-l", "name": fmt.Sprintf("Reviewer %d", n),
				"email": "rev-l@reviewers.example", "organisation_id": "org-l", "trained": true, "capacity": 2, "conflicts": []string{}}, headers...)
		})
	})
}
