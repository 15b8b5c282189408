package service_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
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
		"project_start": "2027-05-01", "project_end": "2027-12-31", "themes": []string{"visibility"},
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
