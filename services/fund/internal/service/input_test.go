package service_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
)

// What people write goes into emails and other people's screens: a title with a line
// break or a direction override is refused at the door, naming the field.
func TestHumanTextWithControlsIsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-t1", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-t1")
	h.eligible(applicant, round, 1000)
	with := func(edit func(map[string]any)) map[string]any {
		d := draft(round, 5000)
		edit(d)
		return d
	}
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"title with CR LF", with(func(d map[string]any) { d["title"] = "Skills\r\nBcc: all@example.ac.uk" }), "title"},
		{"title with a right-to-left override", with(func(d map[string]any) { d["title"] = "Skills \u202eegnahcxe" }), "title"},
		{"title with a zero-width space", with(func(d map[string]any) { d["title"] = "Skills\u200bexchange" }), "title"},
		{"partner name with a line feed", with(func(d map[string]any) { d["partners"] = []map[string]any{{"name": "Exampleton\nCollege"}} }), "partners.0.name"},
		{"endorser's name with a line feed", with(func(d map[string]any) {
			d["endorsement"] = map[string]any{"name": "Sam\nPatel", "email": "s.patel@example.ac.uk"}
		}), "endorsement.name"},
		{"budget line with a bidi isolate", with(func(d map[string]any) {
			d["budget_lines"] = []map[string]any{{"description": "Kit \u2067x\u2069", "amount_pence": 5000}}
		}), "budget_lines.0.description"},
		{"milestone with a NUL", with(func(d map[string]any) {
			d["milestones"] = []map[string]any{{"description": "Work\x00shop", "due": "2027-06-15"}}
		}), "milestones.0.description"},
		{"summary with an override", with(func(d map[string]any) { d["summary"] = "Joint\nworkshops \u202d" }), "summary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.Do("POST", "/v1/applications", applicant, tt.body)
			if r.Status != http.StatusBadRequest || r.JSON(t)["field"] != tt.field {
				t.Errorf("got %d %s, want 400 naming %s", r.Status, r.Body, tt.field)
			}
		})
	}
	// A summary may have paragraphs.
	h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, with(func(d map[string]any) { d["summary"] = "Joint workshops.\r\n\r\nAnd a showcase." })))
	// Ops' words too.
	r := h.Do("POST", "/v1/rounds/"+round+"/closure", h.ops, map[string]any{"reason": "budget\r\ncommitted"})
	if r.Status != http.StatusBadRequest || r.JSON(t)["field"] != "reason" {
		t.Errorf("a close reason with CR LF: %d %s, want 400 naming reason", r.Status, r.Body)
	}
}

// The public list of rounds comes a page at a time, like every list.
func TestRoundsArePaged(t *testing.T) {
	t.Parallel()
	h := start(t)
	var want []string
	for i := range 5 {
		id := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, map[string]any{
			"name": fmt.Sprintf("TCF %d", i), "opens": start0.Add(time.Duration(i) * time.Hour).Format(time.RFC3339), "closes": "2027-06-30T17:00:00+01:00",
			"budget_pence": 100000, "min_award_pence": 1000, "max_award_pence": 10000, "project_start": "2027-07-01", "project_end": "2027-12-31",
			"themes": []string{"recognition"},
		})).JSON(t)["id"].(string)
		want = append([]string{id}, want...) // newest first
	}
	var got []string
	pages := 0
	for cursor := ""; ; pages++ {
		page := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds?limit=2"+cursor, "", nil)).JSON(t)
		for _, r := range page["items"].([]any) {
			got = append(got, r.(map[string]any)["id"].(string))
		}
		next, ok := page["next_cursor"].(string)
		if !ok {
			break
		}
		cursor = "&cursor=" + next
	}
	if !slices.Equal(got, want) || pages != 2 {
		t.Errorf("paged through %v in %d further pages, want %v in 2", got, pages, want)
	}
	if items := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds", "", nil)).JSON(t)["items"].([]any); len(items) != 5 {
		t.Errorf("default page holds %d rounds, want all 5", len(items))
	}
	for _, q := range []string{"limit=201", "limit=0", "cursor=not*a*cursor", "cursor=eyJ4IjoxfQ"} {
		r := h.Do("GET", "/v1/rounds?"+q, "", nil)
		if r.Status != http.StatusBadRequest {
			t.Errorf("GET /v1/rounds?%s: %d %s, want 400", q, r.Status, r.Body)
		}
	}
	h.Must(http.StatusBadRequest, h.Do("GET", "/v1/applications?limit=201", h.ops, nil))
}
