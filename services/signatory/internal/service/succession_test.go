package service_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/internal/app"
	"github.com/itss/techcommit/services/signatory/internal/service"
)

// TestAnOrganisationThatSignsAgainSucceedsTheRecordThatWithdrew: signing again after
// a withdrawal is a new record, and its announcement may name the old one as the
// record it succeeds; the announced event carries it, so that the rules that follow
// the organisation (the fund's, the reviewers') follow it, and each record says which
// the other is. Only another record that withdrew, succeeded by no other, is
// succeeded (400 naming succeeds).
func TestAnOrganisationThatSignsAgainSucceedsTheRecordThatWithdrew(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	old := h.onboard(ops, "announcement")
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+old+"/withdrawal", ops,
		map[string]any{"withdrawn_on": "2025-06-01", "reason": "signing again", "initiated_by": "organisation"}))
	active := h.onboard(ops, "announcement")
	again := h.onboard(ops, "form")
	announce := func(id, succeeds string) testenv.Response {
		return h.Do("POST", "/v1/organisations/"+id+"/announcement", ops, map[string]any{"announced_on": "2025-07-01", "succeeds": succeeds})
	}

	for _, tt := range []struct{ name, succeeds, says string }{
		{"itself", again, "itself"},
		{"not withdrawn", active, "has not withdrawn"},
		{"no such organisation", "0190b2d4-6c1e-7a8f-9b2c-3d4e5f607182", "names no organisation"},
		{"not an id", "not an id!", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := announce(again, tt.succeeds)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			if p := r.JSON(t); p["field"] != "succeeds" || !strings.Contains(fmt.Sprint(p["detail"]), tt.says) {
				t.Errorf("refusal %s, want one naming succeeds saying %q", r.Body, tt.says)
			}
		})
	}

	got := h.Must(http.StatusOK, announce(again, old)).JSON(t)
	if got["succeeds"] != old {
		t.Errorf("the new record succeeds %v, want %s", got["succeeds"], old)
	}
	msgs := h.eventsOf(again, 5)
	var announced events.OrganisationAnnouncedV1
	for _, m := range msgs {
		if m.Headers().Get(bus.HeaderType) != (events.OrganisationAnnouncedV1{}).EventType() {
			continue
		}
		env, err := bus.Envelope(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			t.Fatal(err)
		}
		if announced, err = events.Decode[events.OrganisationAnnouncedV1](env); err != nil {
			t.Fatal(err)
		}
	}
	if announced.Succeeds != old {
		t.Errorf("the announced event succeeds %q, want %s", announced.Succeeds, old)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if by := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+old, ops, nil)).JSON(t)["succeeded_by"]; by != again {
			return fmt.Errorf("the withdrawn record is succeeded by %v, want %s", by, again)
		}
		return nil
	})
	if by := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+old, h.Token(auth.RoleLead, old), nil)).JSON(t)["succeeded_by"]; by != nil {
		t.Errorf("the old record's lead is told it is succeeded by %v: another organisation's record is not theirs to see", by)
	}

	third := h.onboard(ops, "form")
	r := announce(third, old)
	if p := r.JSON(t); r.Status != http.StatusBadRequest || p["field"] != "succeeds" || !strings.Contains(fmt.Sprint(p["detail"]), "already succeeded by organisation "+again) {
		t.Errorf("a second successor: %d %s, want 400 naming succeeds and the first", r.Status, r.Body)
	}
}

// Announcements of several new records as successors of one record that withdrew,
// made at once, store one: each reads from the views that no other succeeds it yet,
// so the views alone let them all through. The claim under the old record's id, a
// unique _id, lets one through; the others are refused naming succeeds and the one.
func TestSuccessorsAnnouncedAtOnceAreOne(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	for round := range 3 {
		old := h.onboard(ops, "announcement")
		h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+old+"/withdrawal", ops,
			map[string]any{"withdrawn_on": "2025-06-01", "reason": "signing again", "initiated_by": "organisation"}))
		var again []string
		for range 6 {
			again = append(again, h.onboard(ops, "form"))
		}
		answers := make([]testenv.Response, len(again))
		got := h.Race(len(again), func(i int) testenv.Response {
			answers[i] = h.Do("POST", "/v1/organisations/"+again[i]+"/announcement", ops, map[string]any{"announced_on": "2025-07-01", "succeeds": old})
			return answers[i]
		})
		if got[http.StatusOK] != 1 || got[http.StatusBadRequest] != len(again)-1 {
			t.Fatalf("round %d: %d announcements of successors of one record at once: %v, want one stored and the others refused", round, len(again), got)
		}
		var won string
		for i, r := range answers {
			if r.Status == http.StatusOK {
				won = again[i]
			}
		}
		for _, r := range answers {
			if r.Status == http.StatusBadRequest {
				// Refused naming the one: stored already, or still on its way.
				d := fmt.Sprint(r.JSON(t)["detail"])
				if p := r.JSON(t); p["field"] != "succeeds" || !strings.Contains(d, "already succeeded by organisation "+won) && !strings.Contains(d, "organisation "+won+" is being recorded as the successor") {
					t.Errorf("round %d: a refused successor: %s, want one naming succeeds and %s", round, r.Body, won)
				}
			}
		}
	}
}

// A claim to succeed a record whose announcement was never stored (the process
// stopped between the claim and the announcement; ops then announced that record
// naming no predecessor) does not bar the organisation's real successor for good:
// while the abandoned announcement may still be on its way it is refused, saying when
// to send it again; after that it goes through, and the record is succeeded once. A
// claim of a record whose announcement is stored, naming the predecessor, stands.
func TestAnAbandonedClaimToSucceedDoesNotBarTheRealSuccessor(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2025, 8, 1, 9, 0, 0, 0, time.UTC))
	h := startWith(t, service.Options{Clock: clk})
	ops := h.Token(auth.RoleOps, "")
	old := h.onboard(ops, "announcement")
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+old+"/withdrawal", ops,
		map[string]any{"withdrawn_on": "2025-06-01", "reason": "signing again", "initiated_by": "organisation"}))
	abandoned := h.onboard(ops, "form")
	real := h.onboard(ops, "form")
	announce := func(id, succeeds string) testenv.Response {
		body := map[string]any{"announced_on": "2025-07-01"}
		if succeeds != "" {
			body["succeeds"] = succeeds
		}
		return h.Do("POST", "/v1/organisations/"+id+"/announcement", ops, body)
	}

	// The claim the stopped process left, as it left it: its announcement was never
	// stored. Ops announced that record as it was, naming no predecessor.
	if _, err := h.svc.DB.Collection("successions").InsertOne(context.Background(),
		bson.D{{Key: "_id", Value: old}, {Key: "successor", Value: abandoned}, {Key: "at", Value: clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	h.Must(http.StatusOK, announce(abandoned, ""))

	clk.Advance(app.SuccessionLease / 2)
	r := announce(real, old)
	if p := r.JSON(t); r.Status != http.StatusBadRequest || p["field"] != "succeeds" || !strings.Contains(fmt.Sprint(p["detail"]), "send this one again in a minute") {
		t.Fatalf("within the lease of the abandoned claim: %d %s, want 400 naming succeeds saying when to send it again", r.Status, r.Body)
	}

	// After the lease, records taking the abandoned claim over at once: one does.
	clk.Advance(app.SuccessionLease / 2)
	racing := []string{real, h.onboard(ops, "form"), h.onboard(ops, "form"), h.onboard(ops, "form")}
	answers := make([]testenv.Response, len(racing))
	got := h.Race(len(racing), func(i int) testenv.Response {
		answers[i] = announce(racing[i], old)
		return answers[i]
	})
	if got[http.StatusOK] != 1 || got[http.StatusBadRequest] != len(racing)-1 {
		t.Fatalf("after the lease, %d records taking the abandoned claim over at once: %v, want one stored and the others refused", len(racing), got)
	}
	for i, r := range answers {
		if r.Status == http.StatusOK {
			real = racing[i]
		}
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if by := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+old, ops, nil)).JSON(t)["succeeded_by"]; by != real {
			return fmt.Errorf("the withdrawn record is succeeded by %v, want %s", by, real)
		}
		return nil
	})

	// The real successor's claim stands however long after: a third is refused.
	clk.Advance(24 * time.Hour)
	third := h.onboard(ops, "form")
	r = announce(third, old)
	if p := r.JSON(t); r.Status != http.StatusBadRequest || p["field"] != "succeeds" || !strings.Contains(fmt.Sprint(p["detail"]), "already succeeded by organisation "+real) {
		t.Errorf("a successor after the real one: %d %s, want 400 naming succeeds and %s", r.Status, r.Body, real)
	}
}

// TestASuccessionIsRecordedAfterTheAnnouncement: an organisation announced without
// naming the record it succeeds (ITSS forgot, or it was announced before a record
// could name one) is given it later by ITSS, by the rules of the announcement (400
// naming succeeds), and the event carrying it lets the rules that follow the
// organisation follow it; each record then names the other. Only an announced record
// that has not withdrawn takes it (409), an unknown record is 404, a lead may not
// (403); the same again changes nothing, another is 409.
func TestASuccessionIsRecordedAfterTheAnnouncement(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	withdraw := func(id string) {
		h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/withdrawal", ops,
			map[string]any{"withdrawn_on": "2025-06-01", "reason": "signing again", "initiated_by": "organisation"}))
	}
	old := h.onboard(ops, "announcement")
	withdraw(old)
	active := h.onboard(ops, "announcement")
	again := h.onboard(ops, "announcement")
	record := func(id, succeeds, token string) testenv.Response {
		return h.Do("POST", "/v1/organisations/"+id+"/succession", token, map[string]any{"succeeds": succeeds})
	}

	for _, tt := range []struct{ name, succeeds, says string }{
		{"itself", again, "itself"},
		{"not withdrawn", active, "has not withdrawn"},
		{"no such organisation", "0190b2d4-6c1e-7a8f-9b2c-3d4e5f607182", "names no organisation"},
		{"not an id", "not an id!", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := record(again, tt.succeeds, ops)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			if p := r.JSON(t); p["field"] != "succeeds" || !strings.Contains(fmt.Sprint(p["detail"]), tt.says) {
				t.Errorf("refusal %s, want one naming succeeds saying %q", r.Body, tt.says)
			}
		})
	}
	notAnnounced := h.onboard(ops, "form")
	gone := h.onboard(ops, "announcement")
	withdraw(gone)
	for _, tt := range []struct {
		name, id, token string
		status          int
		says            string
	}{
		{"not announced", notAnnounced, ops, http.StatusConflict, "name it as succeeds in its announcement"},
		{"withdrawn", gone, ops, http.StatusConflict, "it has withdrawn"},
		{"unknown", "0190b2d4-6c1e-7a8f-9b2c-3d4e5f607183", ops, http.StatusNotFound, "not found"},
		{"a lead", again, h.Token(auth.RoleLead, again), http.StatusForbidden, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := record(tt.id, old, tt.token)
			if r.Status != tt.status || !strings.Contains(fmt.Sprint(r.JSON(t)["detail"]), tt.says) {
				t.Errorf("%d %s, want %d saying %q", r.Status, r.Body, tt.status, tt.says)
			}
		})
	}

	got := h.Must(http.StatusOK, record(again, old, ops)).JSON(t)
	if got["succeeds"] != old {
		t.Errorf("the record succeeds %v, want %s", got["succeeds"], old)
	}
	var recorded events.OrganisationSuccessionRecordedV1
	for _, m := range h.eventsOf(again, 6) {
		if m.Headers().Get(bus.HeaderType) != (events.OrganisationSuccessionRecordedV1{}).EventType() {
			continue
		}
		env, err := bus.Envelope(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			t.Fatal(err)
		}
		if recorded, err = events.Decode[events.OrganisationSuccessionRecordedV1](env); err != nil {
			t.Fatal(err)
		}
	}
	if recorded != (events.OrganisationSuccessionRecordedV1{OrganisationID: again, Succeeds: old}) {
		t.Errorf("the event recorded %+v, want %s succeeding %s", recorded, again, old)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if by := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+old, ops, nil)).JSON(t)["succeeded_by"]; by != again {
			return fmt.Errorf("the withdrawn record is succeeded by %v, want %s", by, again)
		}
		return nil
	})

	// The same again changes nothing; another predecessor is refused.
	if same := h.Must(http.StatusOK, record(again, old, ops)).JSON(t); same["version"] != got["version"] {
		t.Errorf("the same succession again moved the record from version %v to %v", got["version"], same["version"])
	}
	if r := record(again, gone, ops); r.Status != http.StatusConflict || !strings.Contains(fmt.Sprint(r.JSON(t)["detail"]), "already succeeds organisation "+old) {
		t.Errorf("a second predecessor: %d %s, want 409 saying it already succeeds %s", r.Status, r.Body, old)
	}
	// Another record naming the old one, later or at its announcement, is refused.
	if r := record(active, old, ops); r.Status != http.StatusBadRequest || r.JSON(t)["field"] != "succeeds" || !strings.Contains(fmt.Sprint(r.JSON(t)["detail"]), "already succeeded by organisation "+again) {
		t.Errorf("a second successor, later: %d %s, want 400 naming succeeds and %s", r.Status, r.Body, again)
	}
	third := h.onboard(ops, "form")
	if r := h.Do("POST", "/v1/organisations/"+third+"/announcement", ops, map[string]any{"announced_on": "2025-07-01", "succeeds": old}); r.Status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(r.JSON(t)["detail"]), "already succeeded by organisation "+again) {
		t.Errorf("a second successor, announced: %d %s, want 400 naming %s", r.Status, r.Body, again)
	}
}

// An announcement naming a record that withdrew and later recordings naming it for
// other records, made at once, store one: each reads from the views that no other
// succeeds it yet, and the claim under the old record's id lets one through.
func TestAnAnnouncementAndLaterRecordingsOfOneSuccessionAtOnceAreOne(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	for round := range 3 {
		old := h.onboard(ops, "announcement")
		h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+old+"/withdrawal", ops,
			map[string]any{"withdrawn_on": "2025-06-01", "reason": "signing again", "initiated_by": "organisation"}))
		announcing := h.onboard(ops, "form")
		var later []string
		for range 4 {
			later = append(later, h.onboard(ops, "announcement"))
		}
		ids := append([]string{announcing}, later...)
		answers := make([]testenv.Response, len(ids))
		got := h.Race(len(ids), func(i int) testenv.Response {
			if i == 0 {
				answers[i] = h.Do("POST", "/v1/organisations/"+announcing+"/announcement", ops, map[string]any{"announced_on": "2025-07-01", "succeeds": old})
			} else {
				answers[i] = h.Do("POST", "/v1/organisations/"+ids[i]+"/succession", ops, map[string]any{"succeeds": old})
			}
			return answers[i]
		})
		if got[http.StatusOK] != 1 || got[http.StatusBadRequest] != len(ids)-1 {
			t.Fatalf("round %d: an announcement and %d later recordings of one succession at once: %v, want one stored and the others refused", round, len(later), got)
		}
		var won string
		for i, r := range answers {
			if r.Status == http.StatusOK {
				won = ids[i]
			}
		}
		for _, r := range answers {
			if r.Status == http.StatusBadRequest {
				d := fmt.Sprint(r.JSON(t)["detail"])
				if p := r.JSON(t); p["field"] != "succeeds" || !strings.Contains(d, "already succeeded by organisation "+won) && !strings.Contains(d, "organisation "+won+" is being recorded as the successor") {
					t.Errorf("round %d: a refused successor: %s, want one naming succeeds and %s", round, r.Body, won)
				}
			}
		}
		testenv.Eventually(t, 10*time.Second, func() error {
			if by := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+old, ops, nil)).JSON(t)["succeeded_by"]; by != won {
				return fmt.Errorf("round %d: the withdrawn record is succeeded by %v, want %s", round, by, won)
			}
			return nil
		})
	}
}
