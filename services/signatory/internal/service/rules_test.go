package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/internal/service"
)

// all follows a list's next_cursor to its end and returns every item.
func (h *harness) all(path, token string) []any {
	h.t.Helper()
	var items []any
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			h.t.Fatalf("%s: more than 1000 pages", path)
		}
		p := path
		if cursor != "" {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			p += sep + "cursor=" + url.QueryEscape(cursor)
		}
		page := h.Must(http.StatusOK, h.Do("GET", p, token, nil)).JSON(h.t)
		items = append(items, page["items"].([]any)...)
		next, _ := page["next_cursor"].(string)
		if next == "" {
			return items
		}
		cursor = next
	}
}

// london is a wall-clock time in Europe/London.
func london(tb testing.TB, s string) time.Time {
	tb.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		tb.Fatal(err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// publishSubmission puts a review service "submission received" event on the review stream.
func (h *harness) publishSubmission(s events.SubmissionReceivedV1) {
	h.t.Helper()
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.js, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		h.t.Fatal(err)
	}
	payload, err := json.Marshal(s)
	if err != nil {
		h.t.Fatal(err)
	}
	env := events.Envelope{ID: "evt-" + s.SubmissionID, Source: "/tc/review", Type: events.SubmissionReceivedV1{}.EventType(), AggregateType: "submission", AggregateID: s.SubmissionID, Version: 1, Time: time.Now(), Data: payload}
	if _, err := h.js.PublishMsg(ctx, bus.Message(env)); err != nil {
		h.t.Fatal(err)
	}
}

func TestWithdrawalDatedBeforeTheAnnouncementIsRefused(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "announcement") // announced 2025-03-20

	r := h.Do("POST", "/v1/organisations/"+id+"/withdrawal", ops, map[string]any{"withdrawn_on": "2025-03-01", "reason": "merged", "initiated_by": "organisation"})
	if r.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
	}
	p := r.JSON(t)
	if p["field"] != "withdrawn_on" || !strings.Contains(p["detail"].(string), "announce") {
		t.Errorf("problem %s: want the field withdrawn_on and a reason naming the announcement", r.Body)
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, ops, nil)).JSON(t)["status"]; got != "announced" {
		t.Errorf("status %v after a refused withdrawal, want announced", got)
	}
	// On or after the announcement it is recorded.
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/withdrawal", ops, map[string]any{"withdrawn_on": "2025-03-20", "reason": "merged", "initiated_by": "organisation"}))
}

func TestAnnouncementDatedAheadJoinsTheDirectoryOnItsDay(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(london(t, "2026-12-03 12:00"))
	h := startWith(t, service.Options{Clock: clk})
	ops := h.Token(auth.RoleOps, "")
	now := h.onboard(ops, "announcement") // announced 2025-03-20: listed at once
	ahead := h.onboard(ops, "form")
	org := h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+ahead+"/announcement", ops, map[string]any{"announced_on": "2026-12-10"})).JSON(t)
	if org["status"] != "announced" || org["listed"] != false {
		t.Errorf("an announcement dated 2026-12-10, recorded on 2026-12-03: status %v listed %v, want announced and not listed", org["status"], org["listed"])
	}

	// Wait until both views are projected (the ops list shows both as announced), so
	// that the directory's answer is not merely lag.
	testenv.Eventually(t, 10*time.Second, func() error {
		items := h.all("/v1/organisations?status=announced", ops)
		if len(items) != 2 {
			return fmt.Errorf("%d announced organisations projected, want 2", len(items))
		}
		return nil
	})
	listed := func() map[string]bool {
		out := map[string]bool{}
		for _, e := range h.all("/v1/directory", "") {
			out[e.(map[string]any)["id"].(string)] = true
		}
		return out
	}
	if got := listed(); !got[now] || got[ahead] {
		t.Fatalf("directory on 2026-12-03 lists %v: want %s (announced 2025) and not %s (announced for 2026-12-10)", got, now, ahead)
	}
	clk.Set(london(t, "2026-12-09 23:59"))
	if got := listed(); got[ahead] {
		t.Errorf("directory lists %s a minute before its announcement day", ahead)
	}
	// The day comes: no new event, it is simply listed.
	clk.Set(london(t, "2026-12-10 00:01"))
	if got := listed(); !got[ahead] {
		t.Errorf("directory on 2026-12-10 does not list %s announced that day", ahead)
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+ahead, ops, nil)).JSON(t)["listed"]; got != true {
		t.Errorf("listed %v on the announcement day, want true", got)
	}
}

func TestObligationsSayWhenOverdueAndHowLongIsLeft(t *testing.T) {
	t.Parallel()
	// Announced 2025-03-20, the first obligation is due 2026-09-20. On 23 September
	// 2026 (just after midnight in London, still the 22nd in UTC) it is 3 days overdue.
	clk := clock.NewFake(london(t, "2026-09-23 00:30"))
	h := startWith(t, service.Options{Clock: clk})
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "form")
	org := h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/announcement", ops, map[string]any{"announced_on": "2025-03-20"})).JSON(t)
	next := org["next_obligation"].(map[string]any)
	if next["status"] != "overdue" || next["days_overdue"] != 3.0 || next["days_left"] != nil {
		t.Errorf("announcement's next_obligation = %v, want overdue by 3 days", next)
	}
	obs := h.all("/v1/organisations/"+id+"/obligations", h.Token(auth.RoleLead, id))
	if first := obs[0].(map[string]any); first["status"] != "overdue" || first["days_overdue"] != 3.0 {
		t.Errorf("obligation = %v, want overdue by 3 days", first)
	}

	clk.Set(london(t, "2026-09-10 09:00"))
	got := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, ops, nil)).JSON(t)["next_obligation"].(map[string]any)
	if got["status"] != "open" || got["days_left"] != 10.0 || got["days_overdue"] != nil {
		t.Errorf("on 2026-09-10 next_obligation = %v, want open with 10 days left", got)
	}
	clk.Set(london(t, "2026-09-20 23:59"))
	got = h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, ops, nil)).JSON(t)["next_obligation"].(map[string]any)
	if got["status"] != "open" || got["days_left"] != 0.0 {
		t.Errorf("on the due date next_obligation = %v, want open with 0 days left", got)
	}
}

func TestSubmissionBeforeTheWindowDoesNotMeetTheObligation(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "announcement") // first window 2026-03-20, due 2026-09-20

	// Received at 00:30 on 15 June 2026 in London (23:30 on the 14th in UTC): the
	// London date is the date of receipt, and the next cycle is due 36 months later.
	h.publishSubmission(events.SubmissionReceivedV1{SubmissionID: "sub-1", OrganisationID: id, ObligationID: id + "-c1", Kind: "self_assessment_and_action_plan", ReceivedAt: london(t, "2026-06-15 00:30")})
	testenv.Eventually(t, 10*time.Second, func() error {
		items := h.all("/v1/organisations/"+id+"/obligations", ops)
		if len(items) != 2 {
			return fmt.Errorf("%d obligations, want 2", len(items))
		}
		first, next := items[0].(map[string]any), items[1].(map[string]any)
		if first["status"] != "met" || first["met_on"] != "2026-06-15" || next["due"] != "2029-06-15" || next["window_opens"] != "2028-12-15" {
			return fmt.Errorf("obligations %v: want the first met on 2026-06-15 and the next due 2029-06-15", items)
		}
		return nil
	})

	// A next-cycle submission two and a half years before its window opens.
	h.publishSubmission(events.SubmissionReceivedV1{SubmissionID: "sub-2", OrganisationID: id, ObligationID: id + "-c2", Kind: "self_assessment_and_action_plan", ReceivedAt: time.Date(2026, 6, 20, 10, 0, 0, 0, time.UTC)})
	var letter map[string]any
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, l := range h.all("/v1/ops/dead-letters", ops) {
			if m := l.(map[string]any); m["event_id"] == "evt-sub-2" {
				letter = m
				return nil
			}
		}
		return fmt.Errorf("the early submission is not set aside for ops yet")
	})
	if reason := letter["reason"].(string); !strings.Contains(reason, "window") || !strings.Contains(reason, "Friday 15 December 2028") {
		t.Errorf("dead letter reason %q: want it to say the window opens on Friday 15 December 2028", reason)
	}
	items := h.all("/v1/organisations/"+id+"/obligations", ops)
	if len(items) != 2 || items[1].(map[string]any)["status"] != "open" || items[1].(map[string]any)["due"] != "2029-06-15" {
		t.Errorf("obligations after an early submission: %v, want the second still open and due 2029-06-15", items)
	}
}

func TestListsArePagedAndHonourTheLimit(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "announcement") // 5 events
	for range 2 {
		h.onboard(ops, "announcement")
	}

	page := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/history?limit=2", ops, nil)).JSON(t)
	if n := len(page["items"].([]any)); n != 2 || page["next_cursor"] == nil {
		t.Errorf("history?limit=2 gave %d items and next_cursor %v, want 2 and a cursor", n, page["next_cursor"])
	}
	history := h.all("/v1/organisations/"+id+"/history?limit=2", ops)
	if len(history) != 5 {
		t.Fatalf("history in pages of 2 has %d events, want 5", len(history))
	}
	for i, e := range history {
		if v := e.(map[string]any)["version"]; v != float64(i+1) {
			t.Errorf("history entry %d has version %v", i, v)
		}
	}
	page = h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/obligations?limit=1", ops, nil)).JSON(t)
	if n := len(page["items"].([]any)); n != 1 || page["next_cursor"] != nil {
		t.Errorf("obligations?limit=1 gave %d items, next_cursor %v; want 1 and none", n, page["next_cursor"])
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		page := h.Must(http.StatusOK, h.Do("GET", "/v1/directory?limit=2", "", nil)).JSON(t)
		if n := len(page["items"].([]any)); n != 2 || page["next_cursor"] == nil {
			return fmt.Errorf("directory?limit=2 gave %d items, next_cursor %v", n, page["next_cursor"])
		}
		if n := len(h.all("/v1/directory?limit=1", "")); n != 3 {
			return fmt.Errorf("directory in pages of 1 has %d entries, want 3", n)
		}
		return nil
	})
}

func TestMeetingCannotPrecedeTheEnquiryOrLieAhead(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	ahead := withDate(enquiry, "enquired_on", "2099-01-01")
	if p := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/organisations", ops, ahead)).JSON(t); p["field"] != "enquired_on" {
		t.Errorf("an enquiry dated 2099: problem %v, want the field enquired_on", p)
	}
	org := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, withDate(enquiry, "enquired_on", "2025-02-15"))).JSON(t)
	id := org["id"].(string)
	if org["enquired_on"] != "2025-02-15" {
		t.Errorf("enquired_on = %v, want 2025-02-15", org["enquired_on"])
	}
	for _, tt := range []struct{ on, says string }{{"2025-02-10", "before the enquiry"}, {"2099-02-10", "future"}} {
		r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/organisations/"+id+"/meeting", ops, map[string]any{"held_on": tt.on}))
		if p := r.JSON(t); p["field"] != "held_on" || !strings.Contains(p["detail"].(string), tt.says) {
			t.Errorf("meeting on %s: problem %s, want held_on and %q", tt.on, r.Body, tt.says)
		}
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/meeting", ops, map[string]any{"held_on": "2025-02-15"}))
}
