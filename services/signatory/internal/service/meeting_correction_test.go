package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// TestITSSCorrectsAMistypedMeetingDay: ITSS typed the meeting's day a year late
// (2026-02-10 for 2025-02-10), and the form signed on 2025-02-28, recorded as it
// happened, was refused as before the meeting, and with it the announcement and every
// deadline counted from it. Corrected, the form and the announcement are recorded as
// they happened, the organisation's read and history show the day, and the correction
// is published. The day keeps to the meeting's rules and does not follow the form's
// signing (400 naming held_on), If-Match holds (412), only ops correct (403), and not
// before a meeting is recorded or once the organisation withdrew (409); the same day
// again changes nothing.
func TestITSSCorrectsAMistypedMeetingDay(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, enquiry)).JSON(t)["id"].(string)
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/meeting", ops, map[string]any{"held_on": "2026-02-10"}))
	if r := h.Do("POST", "/v1/organisations/"+id+"/form", ops, form); r.Status != http.StatusBadRequest || r.JSON(t)["field"] != "signed_on" {
		t.Fatalf("the form signed before the meeting typed late: %d %s, want 400 naming signed_on", r.Status, r.Body)
	}
	correct := func(id, on, token string, headers ...string) testenv.Response {
		return h.Do("POST", "/v1/organisations/"+id+"/meeting-corrections", token, map[string]any{"held_on": on}, headers...)
	}
	for _, tt := range []struct{ name, on, says string }{
		{"no such day", "2025-02-31", ""},
		{"ahead", "2099-02-10", "in the future"},
		{"a slip of the year", "2015-02-10", "before the Technician Commitment began"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := correct(id, tt.on, ops)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			if p := r.JSON(t); p["field"] != "held_on" || !strings.Contains(fmt.Sprint(p["detail"]), tt.says) {
				t.Errorf("refusal %s, want one naming held_on saying %q", r.Body, tt.says)
			}
		})
	}
	enquired := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, enquiry)).JSON(t)["id"].(string)
	gone := h.onboard(ops, "announcement")
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+gone+"/withdrawal", ops,
		map[string]any{"withdrawn_on": "2025-06-01", "reason": "merged", "initiated_by": "organisation"}))
	for _, tt := range []struct {
		name, id, token string
		status          int
		says            string
	}{
		{"no meeting yet", enquired, ops, http.StatusConflict, "no meeting is recorded"},
		{"withdrawn", gone, ops, http.StatusConflict, "it has withdrawn"},
		{"unknown", "0190b2d4-6c1e-7a8f-9b2c-3d4e5f607183", ops, http.StatusNotFound, "not found"},
		{"its lead", id, h.Token(auth.RoleLead, id), http.StatusForbidden, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := correct(tt.id, "2025-02-10", tt.token)
			if r.Status != tt.status || !strings.Contains(fmt.Sprint(r.JSON(t)["detail"]), tt.says) {
				t.Errorf("%d %s, want %d saying %q", r.Status, r.Body, tt.status, tt.says)
			}
		})
	}
	read := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, ops, nil))
	if r := correct(id, "2025-02-10", ops, "If-Match", `"1"`); r.Status != http.StatusPreconditionFailed {
		t.Errorf("a correction of a version since changed: %d %s, want 412", r.Status, r.Body)
	}
	got := h.Must(http.StatusOK, correct(id, "2025-02-10", ops, "If-Match", read.Header.Get("ETag"))).JSON(t)
	if got["meeting_held_on"] != "2025-02-10" {
		t.Errorf("the answer says the meeting was held on %v, want 2025-02-10", got["meeting_held_on"])
	}
	again := h.Must(http.StatusOK, correct(id, "2025-02-10", ops)).JSON(t)
	if again["version"] != got["version"] {
		t.Errorf("the same day again moved the organisation from version %v to %v", got["version"], again["version"])
	}
	// The form and the announcement are recorded as they happened.
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/form", ops, form))
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/announcement", ops, map[string]any{"announced_on": "2025-03-20"}))
	// Not after the form was signed.
	if r := correct(id, "2025-03-02", ops); r.Status != http.StatusBadRequest || r.JSON(t)["field"] != "held_on" || !strings.Contains(string(r.Body), "after the form was signed") {
		t.Errorf("a meeting after the form was signed: %d %s, want 400 naming held_on", r.Status, r.Body)
	}
	history := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/history", ops, nil)).Body
	if !strings.Contains(string(history), events.OrganisationMeetingCorrectedV1{}.EventType()) {
		t.Errorf("the history does not hold the correction: %s", history)
	}
	var published int
	for _, m := range h.eventsOf(id, 6) {
		if m.Subject() == events.SubjectMeetingCorrected {
			published++
		}
	}
	if published != 1 {
		t.Errorf("%d corrections published, want 1", published)
	}
}
