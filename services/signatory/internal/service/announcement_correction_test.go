package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// TestITSSCorrectsAMistypedAnnouncementDate: ITSS typed the announcement's date wrong
// (2025-03-20 for 2025-03-02), which set every deadline of the first obligation wrong
// for good. Corrected, the organisation's read, its obligations and its history show
// the new date and deadlines, and the correction is published with the obligation
// scheduled again under its id. The date keeps to the announcement's rules (400
// naming announced_on), If-Match holds as for the contacts (412), only ops correct
// (403), and not once the first submission is in (409 naming the day it was
// received); the same date again changes nothing.
func TestITSSCorrectsAMistypedAnnouncementDate(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "announcement")
	correct := func(id, on, token string, headers ...string) testenv.Response {
		return h.Do("POST", "/v1/organisations/"+id+"/announcement-corrections", token, map[string]any{"announced_on": on}, headers...)
	}

	for _, tt := range []struct{ name, on, says string }{
		{"no such day", "2025-02-31", ""},
		{"before the form was signed", "2025-02-28", "before the form was signed"},
		{"a slip of the year", "2015-03-02", "before the Technician Commitment began"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := correct(id, tt.on, ops)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			if p := r.JSON(t); p["field"] != "announced_on" || !strings.Contains(fmt.Sprint(p["detail"]), tt.says) {
				t.Errorf("refusal %s, want one naming announced_on saying %q", r.Body, tt.says)
			}
		})
	}
	notAnnounced := h.onboard(ops, "form")
	gone := h.onboard(ops, "announcement")
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+gone+"/withdrawal", ops,
		map[string]any{"withdrawn_on": "2025-06-01", "reason": "merged", "initiated_by": "organisation"}))
	for _, tt := range []struct {
		name, id, token string
		status          int
		says            string
	}{
		{"not announced", notAnnounced, ops, http.StatusConflict, "it has not been announced"},
		{"withdrawn", gone, ops, http.StatusConflict, "it has withdrawn"},
		{"unknown", "0190b2d4-6c1e-7a8f-9b2c-3d4e5f607183", ops, http.StatusNotFound, "not found"},
		{"its lead", id, h.Token(auth.RoleLead, id), http.StatusForbidden, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := correct(tt.id, "2025-03-02", tt.token)
			if r.Status != tt.status || !strings.Contains(fmt.Sprint(r.JSON(t)["detail"]), tt.says) {
				t.Errorf("%d %s, want %d saying %q", r.Status, r.Body, tt.status, tt.says)
			}
		})
	}
	read := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, ops, nil))
	if r := correct(id, "2025-03-02", ops, "If-Match", `"1"`); r.Status != http.StatusPreconditionFailed {
		t.Errorf("a correction of a version since changed: %d %s, want 412", r.Status, r.Body)
	}

	got := h.Must(http.StatusOK, correct(id, "2025-03-02", ops, "If-Match", read.Header.Get("ETag"))).JSON(t)
	if got["announced_on"] != "2025-03-02" {
		t.Errorf("the answer says announced on %v, want 2025-03-02", got["announced_on"])
	}
	if org := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, ops, nil)).JSON(t); org["announced_on"] != "2025-03-02" || org["next_due"] != nil && org["next_due"] != "2026-09-02" {
		t.Errorf("the organisation reads announced on %v, next due %v; want 2025-03-02, 2026-09-02", org["announced_on"], org["next_due"])
	}
	items := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/obligations", ops, nil)).JSON(t)["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("%d obligations after the correction, want the first alone: %v", len(items), items)
	}
	if ob := items[0].(map[string]any); ob["id"] != id+"-c1" || ob["window_opens"] != "2026-03-02" || ob["due"] != "2026-09-02" {
		t.Errorf("the first obligation %v, want %s-c1 opening 2026-03-02, due 2026-09-02", ob, id)
	}
	var types []string
	for _, e := range h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/history", ops, nil)).JSON(t)["items"].([]any) {
		types = append(types, fmt.Sprint(e.(map[string]any)["type"]))
	}
	if !strings.Contains(strings.Join(types, " "), (events.OrganisationAnnouncementCorrectedV1{}).EventType()) {
		t.Errorf("the history %v does not hold the correction", types)
	}

	msgs := h.eventsOf(id, 7)
	if len(msgs) != 7 {
		t.Fatalf("%d events, want 7 (4 onboarding, the first obligation, the correction and the obligation again)", len(msgs))
	}
	env, err := bus.Envelope(msgs[5].Subject(), msgs[5].Headers(), msgs[5].Data())
	if err != nil {
		t.Fatal(err)
	}
	corrected, err := events.Decode[events.OrganisationAnnouncementCorrectedV1](env)
	if err != nil || corrected.PreviousAnnouncedOn.String() != "2025-03-20" || corrected.AnnouncedOn.String() != "2025-03-02" ||
		corrected.PreviousDue.String() != "2026-09-20" || corrected.Due.String() != "2026-09-02" {
		t.Errorf("the correction published %+v (%v), want from 2025-03-20 (due 2026-09-20) to 2025-03-02 (due 2026-09-02)", corrected, err)
	}
	if env, err = bus.Envelope(msgs[6].Subject(), msgs[6].Headers(), msgs[6].Data()); err != nil {
		t.Fatal(err)
	}
	scheduled, err := events.Decode[events.ObligationScheduledV1](env)
	if err != nil || scheduled.ObligationID != id+"-c1" || scheduled.Due.String() != "2026-09-02" || scheduled.WindowOpens.String() != "2026-03-02" {
		t.Errorf("the obligation scheduled again %+v (%v), want %s-c1 opening 2026-03-02, due 2026-09-02", scheduled, err, id)
	}

	// The same date again changes nothing.
	if same := h.Must(http.StatusOK, correct(id, "2025-03-02", ops)).JSON(t); same["version"] != got["version"] {
		t.Errorf("the same correction again moved the record from version %v to %v", got["version"], same["version"])
	}

	// Once the first submission is in, the deadlines count from its receipt.
	h.publishSubmission(events.SubmissionReceivedV1{SubmissionID: "sub-" + id, OrganisationID: id, ObligationID: id + "-c1", Kind: events.ObligationSelfAssessmentAndActionPlan,
		ReceivedAt: time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)})
	testenv.Eventually(t, 10*time.Second, func() error {
		r := correct(id, "2025-03-03", ops)
		if r.Status != http.StatusConflict || !strings.Contains(fmt.Sprint(r.JSON(t)["detail"]), "received on Monday 15 June 2026") {
			return fmt.Errorf("a correction after the submission: %d %s, want 409 naming the day it was received", r.Status, r.Body)
		}
		return nil
	})
}
