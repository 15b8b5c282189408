package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// A round carries its version as an ETag, and a correction sent with an older
// If-Match is 412 and changes nothing: two people correcting one round from forms
// opened together (a rename, then the closing time) put back each other's change.
func TestARoundCorrectedSinceItWasReadIsNotOverwritten(t *testing.T) {
	t.Parallel()
	h := start(t)
	round := h.openRound(100000, 1000, 10000)
	terms := func(name, closes string) map[string]any {
		return map[string]any{
			"name": name, "opens": start0.Add(-time.Hour).Format(time.RFC3339), "closes": closes,
			"budget_pence": 100000, "min_award_pence": 1000, "max_award_pence": 10000,
			"project_start": "2027-05-01", "project_end": "2027-12-31", "themes": []string{"visibility", "career_development"},
		}
	}
	read := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil))
	etag := read.Header.Get("ETag")
	if etag == "" {
		t.Fatal("the round has no ETag")
	}
	renamed := h.Must(http.StatusOK, h.Do("PUT", "/v1/rounds/"+round, h.ops, terms("TCF 2027 (renamed)", "2027-03-31T17:00:00+01:00"), "If-Match", etag))
	if e := renamed.Header.Get("ETag"); e == "" || e == etag {
		t.Errorf("the correction answered ETag %q, want a new one after %q", e, etag)
	}
	stale := h.Must(http.StatusPreconditionFailed, h.Do("PUT", "/v1/rounds/"+round, h.ops, terms("TCF 2027", "2027-04-07T17:00:00+01:00"), "If-Match", etag))
	if !strings.Contains(string(stale.Body), "was changed since it was read") {
		t.Errorf("the refused correction: %s", stale.Body)
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t); got["name"] != "TCF 2027 (renamed)" {
		t.Errorf("after a correction on an old version the round is %v, want the rename kept", got["name"])
	}
}

// The round's create and its closure answer with its ETag too, so that a tool can
// correct a round it just opened without reading it first; a create sent again with
// its Idempotency-Key answers the same ETag.
func TestARoundsCreateAndClosureAnswerItsETag(t *testing.T) {
	t.Parallel()
	h := start(t)
	body := map[string]any{
		"name": "TCF 2027", "opens": start0.Add(time.Hour).Format(time.RFC3339), "closes": "2027-03-31T17:00:00+01:00",
		"budget_pence": 100000, "min_award_pence": 1000, "max_award_pence": 10000,
		"project_start": "2027-05-01", "project_end": "2027-12-31", "themes": []string{"visibility", "career_development"},
	}
	created := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, body, "Idempotency-Key", "round-etag"))
	etag := created.Header.Get("ETag")
	if etag == "" {
		t.Fatal("the round's create answers no ETag")
	}
	if again := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, body, "Idempotency-Key", "round-etag")); again.Header.Get("ETag") != etag {
		t.Errorf("the create sent again answers ETag %q, want %q", again.Header.Get("ETag"), etag)
	}
	id := created.JSON(t)["id"].(string)
	body["name"] = "TCF 2027 (renamed)"
	h.Must(http.StatusOK, h.Do("PUT", "/v1/rounds/"+id, h.ops, body, "If-Match", etag))
	closed := h.Must(http.StatusOK, h.Do("POST", "/v1/rounds/"+id+"/closure", h.ops, map[string]any{"reason": "opened by mistake"}))
	if e := closed.Header.Get("ETag"); e == "" || e == etag {
		t.Errorf("the closure answers ETag %q, want the closed round's version", e)
	}
}

// Each of the fund's conditional writes takes If-Match as RFC 9110 13.1.1 has it: a
// list of ETags (one line or several) or *, compared strongly (a weak tag never
// matches: 412), and a malformed one is 400 naming If-Match. Before, a list was 400
// and a weak tag of the current version 400 too.
func TestTheFundsWritesTakeAnIfMatchList(t *testing.T) {
	t.Parallel()
	h := start(t)
	round := h.openRound(100000, 1000, 10000)
	n := 0
	t.Run("round", func(t *testing.T) {
		testenv.IfMatchCases(t, func() string {
			return h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).Header.Get("ETag")
		}, func(headers ...string) testenv.Response {
			n++
			return h.Do("PUT", "/v1/rounds/"+round, h.ops, map[string]any{
				"name": fmt.Sprintf("TCF 2027 (%d)", n), "opens": start0.Add(-time.Hour).Format(time.RFC3339), "closes": "2027-03-31T17:00:00+01:00",
				"budget_pence": 100000, "min_award_pence": 1000, "max_award_pence": 10000,
				"project_start": "2027-05-01", "project_end": "2027-12-31", "themes": []string{"visibility", "career_development"},
			}, headers...)
		})
	})
	t.Run("application", func(t *testing.T) {
		h.announce("org-il", "signatory")
		applicant := h.Token(auth.RoleApplicant, "org-il")
		h.eligible(applicant, round, 1000)
		id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, draft(round, 5000))).JSON(t)["id"].(string)
		testenv.IfMatchCases(t, func() string {
			return h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).Header.Get("ETag")
		}, func(headers ...string) testenv.Response {
			n++
			d := draft(round, 5000)
			delete(d, "round_id")
			d["title"] = fmt.Sprintf("Skills exchange %d", n)
			return h.Do("PUT", "/v1/applications/"+id, applicant, d, headers...)
		})
	})
}
