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

// TestITSSCorrectsAMistypedFormDay: ITSS typed the day the form was signed a year late
// (2026-03-01 for 2025-03-01), and the announcement made on 2025-03-20 was refused as
// before the form, so the first obligation could only count from a day a year late.
// Corrected, the announcement is recorded as it happened, the organisation's read and
// history show the day, and the correction is published. The day keeps to the form's
// rules and does not follow the announcement (400 naming signed_on), If-Match holds
// (412), only ops correct (403), and not before a form is recorded or once the
// organisation withdrew (409); the same day again changes nothing.
func TestITSSCorrectsAMistypedFormDay(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "meeting") // met 2025-02-10
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/form", ops, withDate(form, "signed_on", "2026-03-01")))
	announce := func() testenv.Response {
		return h.Do("POST", "/v1/organisations/"+id+"/announcement", ops, map[string]any{"announced_on": "2025-03-20"})
	}
	if r := announce(); r.Status != http.StatusBadRequest || r.JSON(t)["field"] != "announced_on" {
		t.Fatalf("the announcement before the form's day typed late: %d %s, want 400 naming announced_on", r.Status, r.Body)
	}
	correct := func(id, on, token string, headers ...string) testenv.Response {
		return h.Do("POST", "/v1/organisations/"+id+"/form-corrections", token, map[string]any{"signed_on": on}, headers...)
	}
	for _, tt := range []struct{ name, on, says string }{
		{"no such day", "2025-02-31", ""},
		{"before the meeting", "2025-02-09", "before the meeting"},
		{"ahead", "2099-03-01", "in the future"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := correct(id, tt.on, ops)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			if p := r.JSON(t); p["field"] != "signed_on" || !strings.Contains(fmt.Sprint(p["detail"]), tt.says) {
				t.Errorf("refusal %s, want one naming signed_on saying %q", r.Body, tt.says)
			}
		})
	}
	met := h.onboard(ops, "meeting")
	gone := h.onboard(ops, "announcement")
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+gone+"/withdrawal", ops,
		map[string]any{"withdrawn_on": "2025-06-01", "reason": "merged", "initiated_by": "organisation"}))
	for _, tt := range []struct {
		name, id, token string
		status          int
		says            string
	}{
		{"no form yet", met, ops, http.StatusConflict, "no form is recorded"},
		{"withdrawn", gone, ops, http.StatusConflict, "it has withdrawn"},
		{"its lead", id, h.Token(auth.RoleLead, id), http.StatusForbidden, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := correct(tt.id, "2025-03-01", tt.token)
			if r.Status != tt.status || !strings.Contains(fmt.Sprint(r.JSON(t)["detail"]), tt.says) {
				t.Errorf("%d %s, want %d saying %q", r.Status, r.Body, tt.status, tt.says)
			}
		})
	}
	read := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, ops, nil))
	if r := correct(id, "2025-03-01", ops, "If-Match", `"1"`); r.Status != http.StatusPreconditionFailed {
		t.Errorf("a correction of a version since changed: %d %s, want 412", r.Status, r.Body)
	}
	got := h.Must(http.StatusOK, correct(id, "2025-03-01", ops, "If-Match", read.Header.Get("ETag"))).JSON(t)
	if got["form_signed_on"] != "2025-03-01" {
		t.Errorf("the answer says the form was signed on %v, want 2025-03-01", got["form_signed_on"])
	}
	if again := h.Must(http.StatusOK, correct(id, "2025-03-01", ops)).JSON(t); again["version"] != got["version"] {
		t.Errorf("the same day again moved the organisation from version %v to %v", got["version"], again["version"])
	}
	h.Must(http.StatusOK, announce())
	if r := correct(id, "2025-03-21", ops); r.Status != http.StatusBadRequest || r.JSON(t)["field"] != "signed_on" || !strings.Contains(string(r.Body), "after the announcement") {
		t.Errorf("a form signed after the announcement: %d %s, want 400 naming signed_on", r.Status, r.Body)
	}
	history := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/history", ops, nil)).Body
	if !strings.Contains(string(history), events.OrganisationFormCorrectedV1{}.EventType()) {
		t.Errorf("the history does not hold the correction: %s", history)
	}
	var published int
	for _, m := range h.eventsOf(id, 6) {
		if m.Subject() == events.SubjectFormCorrected {
			published++
		}
	}
	if published != 1 {
		t.Errorf("%d corrections published, want 1", published)
	}
}
