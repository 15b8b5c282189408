package service_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// windowTerms are the terms of the round windowRound opens, with its project window.
func windowTerms(start, end string) map[string]any {
	return map[string]any{
		"name": "TCF 2027", "opens": start0.Add(-time.Hour).Format(time.RFC3339), "closes": "2027-03-31T17:00:00+01:00",
		"budget_pence": 750000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": start, "project_end": end, "themes": []string{"visibility", "career_development"},
	}
}

// correctWindow sends the round's terms with another project window, If-Match its
// version as read now.
func (h *harness) correctWindow(round, start, end string) testenv.Response {
	h.t.Helper()
	etag := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).Header.Get("ETag")
	return h.Do("PUT", "/v1/rounds/"+round, h.ops, windowTerms(start, end), "If-Match", etag)
}

// A round's project window typed a year short (ending 30 June 2027 for 2028) is
// corrected after the round closed and its awards were made: the funded project's
// report is due a month after the new end, a report chased as overdue by the short
// day is no longer overdue (nor chased again until the new day has passed), the
// move is published once with the days and windows before and after, and the sweep
// asks for and chases the report by the new day. A window that would leave a
// submitted or awarded application's milestones outside it is refused with 409 naming
// how many and the first, and a draft's are refused when it is next changed, as ever.
func TestAProjectWindowCorrectedMovesTheFundedReportsDueDay(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-a", "signatory")
	h.announce("org-b", "signatory")
	round := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, windowTerms("2027-05-01", "2027-06-30"))).JSON(t)["id"].(string)
	funded, other := h.Token(auth.RoleApplicant, "org-a"), h.Token(auth.RoleApplicant, "org-b")
	h.eligible(funded, round, 10000)
	h.eligible(other, round, 10000)
	id := h.submitted(funded, round, 85000, true)
	submitted := h.submitted(other, round, 85000, false)
	h.clock.Set(time.Date(2027, 4, 2, 9, 0, 0, 0, time.UTC)) // the round has closed
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 80000}))
	read := func() map[string]any {
		return h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, funded, nil)).JSON(t)
	}
	if got := read()["report_due"]; got != "2027-07-30" {
		t.Fatalf("report due %v, want 2027-07-30 under the window typed short", got)
	}
	sweep := func(want int) {
		t.Helper()
		marked := 0
		testenv.Eventually(t, 10*time.Second, func() error {
			n, err := h.svc.App.SweepReports(context.Background())
			if err != nil {
				return err
			}
			if marked += n; marked != want {
				return fmt.Errorf("%d reports marked (the view may lag), want %d", marked, want)
			}
			return nil
		})
	}
	h.clock.Set(time.Date(2027, 7, 1, 9, 0, 0, 0, time.UTC))
	sweep(1) // asked for
	h.clock.Set(time.Date(2027, 7, 31, 9, 0, 0, 0, time.UTC))
	sweep(1) // chased

	// A window shrunk so that the submitted application's milestone (15 June) falls
	// outside it is refused, naming it, and nothing changes.
	shrunk := h.Must(http.StatusConflict, h.correctWindow(round, "2027-06-16", "2028-06-30"))
	first := min(id, submitted)
	if body := string(shrunk.Body); !strings.Contains(body, "2 application(s)") || !strings.Contains(body, first) || !strings.Contains(body, "project_start") {
		t.Errorf("the shrinking correction's refusal %s does not name the application, how many, and project_start", body)
	}
	// A window that does not fit the round is 400 naming the field, open or closed.
	if r := h.correctWindow(round, "2027-05-01", "2027-03-31"); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "project_end") {
		t.Errorf("a window ending by the close: %d %s, want 400 naming project_end", r.Status, r.Body)
	}

	corrected := h.Must(http.StatusOK, h.correctWindow(round, "2027-05-01", "2028-06-30")).JSON(t)
	if corrected["project_end"] != "2028-06-30" {
		t.Errorf("the round after the correction: %v", corrected)
	}
	if got := read(); got["report_due"] != "2028-07-30" || got["report_is_due"] != false {
		t.Errorf("after the correction the application reads report_due %v, report_is_due %v; want 2028-07-30, false", got["report_due"], got["report_is_due"])
	}
	// Not overdue under the new day, and not asked for before the project ends.
	h.clock.Set(time.Date(2027, 8, 1, 9, 0, 0, 0, time.UTC))
	if n, err := h.svc.App.SweepReports(context.Background()); err != nil || n != 0 {
		t.Errorf("a sweep after the correction marked %d (%v), want 0", n, err)
	}
	var moved []events.ReportDueMovedV1
	testenv.Eventually(t, 10*time.Second, func() error {
		moved = nil
		for _, e := range h.fundStream() {
			if e.AggregateID == id && e.Subject() == events.SubjectReportDueMoved {
				p, err := events.Decode[events.ReportDueMovedV1](e)
				if err != nil {
					return err
				}
				moved = append(moved, p)
			}
		}
		if len(moved) != 1 {
			return fmt.Errorf("%d moves published, want 1", len(moved))
		}
		return nil
	})
	if m := moved[0]; m.DueBefore.String() != "2027-07-30" || m.Due.String() != "2028-07-30" || m.ProjectEndBefore.String() != "2027-06-30" || m.ProjectEnd.String() != "2028-06-30" || m.Asked || m.Chased || m.Move != 1 {
		t.Errorf("the move %+v, want from 2027-07-30 to 2028-07-30, the window's end before and after, neither asked nor chased", m)
	}
	// The same correction again is refused as changing nothing (a closed round takes
	// a change only), and moves nothing more.
	h.Must(http.StatusConflict, h.correctWindow(round, "2027-05-01", "2028-06-30"))

	// By the new days: asked for after the new end, chased after the new due day.
	h.clock.Set(time.Date(2028, 7, 1, 9, 0, 0, 0, time.UTC))
	sweep(1)
	h.clock.Set(time.Date(2028, 7, 31, 9, 0, 0, 0, time.UTC))
	sweep(1)
	testenv.Eventually(t, 10*time.Second, func() error {
		var overdue []events.ReportOverdueV1
		for _, e := range h.fundStream() {
			if e.AggregateID == id && e.Subject() == events.SubjectReportOverdue {
				p, err := events.Decode[events.ReportOverdueV1](e)
				if err != nil {
					return err
				}
				overdue = append(overdue, p)
			}
		}
		if len(overdue) != 2 || overdue[1].Due.String() != "2028-07-30" || overdue[1].DueMoves != 1 || overdue[0].DueMoves != 0 {
			return fmt.Errorf("chases %+v, want one by the short day and one by the new day counting the move", overdue)
		}
		return nil
	})
	if got := h.fundEvents(submitted); slices.Contains(got, events.SubjectReportDueMoved) {
		t.Errorf("an application not funded had its report moved: %v", got)
	}
}

// Awards racing a correction of the window each read the round as it was, before or
// after: whichever, every award ends with its report due a month after the window's
// new end, moved once at most (by the correction, or by the report sweep, which moves
// a report the correction missed before it asks for or chases any). And a draft
// whose milestone the corrected window leaves outside is not blocking the correction,
// and is told on its submission, naming the milestone.
func TestAwardsRacingACorrectedWindowEndWithTheNewReportDay(t *testing.T) {
	t.Parallel()
	h := start(t)
	round := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, windowTerms("2027-05-01", "2027-12-31"))).JSON(t)["id"].(string)
	var ids []string
	for i := range 4 {
		org := fmt.Sprintf("org-race-%d", i)
		h.announce(org, "signatory")
		tok := h.Token(auth.RoleApplicant, org)
		h.eligible(tok, round, 10000)
		ids = append(ids, h.submitted(tok, round, 85000, true))
	}
	h.announce("org-draft", "signatory")
	drafter := h.Token(auth.RoleApplicant, "org-draft")
	h.eligible(drafter, round, 10000)
	d := draft(round, 85000)
	d["milestones"] = []map[string]any{{"description": "Workshop", "due": "2027-12-15"}}
	drafted := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", drafter, d)).JSON(t)["id"].(string)

	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 80000}))
		})
	}
	wg.Go(func() {
		testenv.Eventually(t, 10*time.Second, func() error { // If-Match as read: an award never moves the round, so one read serves
			if r := h.correctWindow(round, "2027-05-01", "2027-11-30"); r.Status != http.StatusOK {
				return fmt.Errorf("correction = %d: %s", r.Status, r.Body)
			}
			return nil
		})
	})
	wg.Wait()
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, err := h.svc.App.SweepReports(context.Background()); err != nil {
			return err
		}
		for _, id := range ids {
			got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, h.ops, nil)).JSON(t)
			if got["report_due"] != "2027-12-30" {
				return fmt.Errorf("application %s: report due %v, want 2027-12-30", id, got["report_due"])
			}
		}
		return nil
	})
	for _, id := range ids {
		if n := countOf(h.fundEvents(id), events.SubjectReportDueMoved); n > 1 {
			t.Errorf("application %s's report moved %d times, want at most once", id, n)
		}
	}
	r := h.Do("POST", "/v1/applications/"+drafted+"/submission", drafter, nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "milestones.0.due") {
		t.Errorf("the draft's submission after its milestone fell outside the window: %d %s, want 400 naming milestones.0.due", r.Status, r.Body)
	}
}

func countOf(subjects []string, subject string) int {
	n := 0
	for _, s := range subjects {
		if s == subject {
			n++
		}
	}
	return n
}
