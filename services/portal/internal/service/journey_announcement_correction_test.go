package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// An ops person, by keyboard alone, corrects an announcement recorded with the wrong
// date (20 March typed for 2 March): the organisation's page offers it while nothing
// has been received against the first obligation, the form is filled with the date
// recorded, a date the signatory service refuses is refused beside the field as it
// says why, and then the page shows the corrected announcement and the first
// obligation's window and due date moved with it. axe-core checks every page on the
// way.
func TestJourneyOpsCorrectsTheAnnouncementDate(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	id := onboard(t, s.p, s.sig, "Alpha University", "lead-alpha@example.ac.uk") // announced 2025-03-20, the form signed 2025-02-28
	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)

	const link = "Correct the announcement date"
	b.Open(s.p.url + "/ops/organisations/" + id)
	heading(t, b, "Alpha University")
	tabTo(t, b, "link", link)
	b.Enter()
	heading(t, b, link)
	if got := b.Value(browsertest.CSS("#field-announced_on")); got != "2025-03-20" {
		t.Errorf("the form is filled with %q, want the date recorded, 2025-03-20", got)
	}
	// Before the form was signed: the service's rule, beside the field.
	opsTypeInto(t, b, "textbox", "Announced on", "2025-02-27")
	tabTo(t, b, "button", "Correct the date")
	b.Enter()
	heading(t, b, link)
	errorSummaryHasFocus(t, b, "field-announced_on", "Announced on")
	if got := b.Text(browsertest.CSS("#field-announced_on-error")); !strings.HasPrefix(got, "Error:") || !strings.Contains(got, "before the form was signed") {
		t.Errorf("the message beside the field reads %q, want the service's reason", got)
	}
	b.WaitFor(browsertest.CSS(`#field-announced_on[aria-describedby~="field-announced_on-error"][aria-invalid="true"]`))
	screenshot(b, "ops-announcement-correction-refused")
	b.ShiftTab()
	opsTypeInto(t, b, "textbox", "Announced on", "2025-03-02")
	tabTo(t, b, "button", "Correct the date")
	b.Enter()
	heading(t, b, "Alpha University")
	// The page says the correction was saved: it came back as it was, saying nothing.
	if got := b.Text(browsertest.CSS("#done[role=status]")); got != "The announcement date is corrected." {
		t.Errorf("the organisation's page after the correction says %q", got)
	}
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "2 March 2025") || strings.Contains(got, "20 March 2025") {
		t.Errorf("the summary reads %q, want the announcement on 2 March 2025", got)
	}
	if got := b.Text(browsertest.CSS(`[aria-labelledby="obligations-caption"]`)); !strings.Contains(got, "2 March 2026") || !strings.Contains(got, "2 September 2026") || strings.Contains(got, "20 September 2026") {
		t.Errorf("the obligations read %q, want the first obligation opening 2 March 2026 and due 2 September 2026", got)
	}
	// The history says what the correction changed, from what to what.
	if got := b.Text(browsertest.CSS(".history")); !strings.Contains(got, "announced on Sunday 2 March 2025, not Thursday 20 March 2025; due on Wednesday 2 September 2026, not Sunday 20 September 2026") {
		t.Errorf("the history reads %q, want the correction from what to what", got)
	}
	screenshot(b, "ops-announcement-corrected")

	// Once the first submission is in, the deadlines count from it: the page offers
	// the correction no more.
	data, err := json.Marshal(events.SubmissionReceivedV1{SubmissionID: "sub-alpha", OrganisationID: id, ObligationID: id + "-c1",
		Kind: events.ObligationSelfAssessmentAndActionPlan, ReceivedAt: time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.env.JS.PublishMsg(context.Background(), bus.Message(events.Envelope{ID: "evt-sub-alpha", Source: "/tc/review",
		Type: events.SubmissionReceivedV1{}.EventType(), AggregateType: "submission", AggregateID: "sub-alpha", Version: 1, Time: time.Now(), Data: data})); err != nil {
		t.Fatal(err)
	}
	ops := opsToken(t, s.sig, "signatory")
	testenv.Eventually(t, 10*time.Second, func() error {
		items := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+id+"/obligations", ops, nil)).JSON(t)["items"].([]any)
		if st := items[0].(map[string]any)["status"]; st != "met" {
			return fmt.Errorf("the first obligation is %v, not yet met", st)
		}
		return nil
	})
	b.Open(s.p.url + "/ops/organisations/" + id)
	heading(t, b, "Alpha University")
	if got := b.Text(browsertest.CSS("main")); strings.Contains(got, link) {
		t.Errorf("the page of an organisation whose first submission is in offers to correct its announcement: %q", got)
	}
}

// Two staff correcting one announcement's date at once, from forms opened before
// either saved: the first is applied (sent twice, as a double click, it leads on as
// it did), the second is refused as changed since it was opened, nothing saved and
// the field saying what is saved now. Before, both were applied, the later date won
// and the lead and head were emailed twice.
func TestTwoTabsCorrectingTheAnnouncementDateDoNotBothApply(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	id := onboard(t, s.p, s.sig, "Beta University", "lead-beta@example.ac.uk") // announced 2025-03-20
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	path := "/ops/organisations/" + id + "/announcement-correction"
	form := func() url.Values {
		page := opsMustStatus(t, s.p.do("GET", path, ops, nil), http.StatusOK, "the correction's form")
		filled := url.Values{}
		for _, in := range find(parse(t, page.body), element("input")) {
			filled.Set(attr(in, "name"), attr(in, "value"))
		}
		return filled
	}
	first, second := form(), form()
	if first.Get("version") == "" {
		t.Fatal("the correction's form carries no version to be applied at")
	}
	first.Set("announced_on", "2025-03-02")
	opsMustStatus(t, s.p.do("POST", path, ops, first), http.StatusSeeOther, "the first tab's correction")
	opsMustStatus(t, s.p.do("POST", path, ops, first), http.StatusSeeOther, "the first tab's correction sent again")
	second.Set("announced_on", "2025-03-10")
	r := opsMustStatus(t, s.p.do("POST", path, ops, second), http.StatusConflict, "the second tab's correction")
	if !strings.Contains(string(r.body), "nothing was saved") {
		t.Errorf("the second tab's refusal does not say nothing was saved: %s", r.body)
	}
	if got := opsFieldMessage(t, r.body, "announced_on"); !strings.Contains(got, "2025-03-02") && !strings.Contains(got, "2 March 2025") {
		t.Errorf("beside the date: %q, want what is saved now, 2 March 2025", got)
	}
	sigOps := opsToken(t, s.sig, "signatory")
	if got := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+id, sigOps, nil)).JSON(t)["announced_on"]; got != "2025-03-02" {
		t.Errorf("announced on %v after the two tabs, want the first tab's 2025-03-02 alone", got)
	}
	corrections := 0
	for _, e := range s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+id+"/history?limit=100", sigOps, nil)).JSON(t)["items"].([]any) {
		if e.(map[string]any)["type"] == (events.OrganisationAnnouncementCorrectedV1{}).EventType() {
			corrections++
		}
	}
	if corrections != 1 {
		t.Errorf("%d corrections recorded, want the first tab's alone", corrections)
	}
}
