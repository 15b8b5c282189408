package service

import (
	"strings"
	"testing"

	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// An ops person, by keyboard alone, corrects the day of a meeting recorded wrong: the
// organisation's page offers it, the form is filled with the day recorded, a day the
// signatory service refuses (after the form was signed) is refused beside the field
// as it says why, and the page then shows the day corrected, and its history what the
// correction changed. axe-core checks every page on the way.
func TestJourneyOpsCorrectsTheMeetingDay(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	id := onboard(t, s.p, s.sig, "Alpha University", "lead-alpha@example.ac.uk") // met 2025-02-08, the form signed 2025-02-28
	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)

	const link = "Correct the meeting day"
	b.Open(s.p.url + "/ops/organisations/" + id)
	heading(t, b, "Alpha University")
	tabTo(t, b, "link", link)
	b.Enter()
	heading(t, b, link)
	if got := b.Value(browsertest.CSS("#field-held_on")); got != "2025-02-08" {
		t.Errorf("the form is filled with %q, want the day recorded, 2025-02-08", got)
	}
	opsTypeInto(t, b, "textbox", "Meeting held on", "2025-03-01")
	tabTo(t, b, "button", "Correct the day")
	b.Enter()
	heading(t, b, link)
	errorSummaryHasFocus(t, b, "field-held_on", "Meeting held on")
	if got := b.Text(browsertest.CSS("#field-held_on-error")); !strings.HasPrefix(got, "Error:") || !strings.Contains(got, "after the form was signed") {
		t.Errorf("the message beside the field reads %q, want the service's reason", got)
	}
	b.WaitFor(browsertest.CSS(`#field-held_on[aria-describedby~="field-held_on-error"][aria-invalid="true"]`))
	screenshot(b, "ops-meeting-correction-refused")
	b.ShiftTab()
	opsTypeInto(t, b, "textbox", "Meeting held on", "2025-02-03")
	tabTo(t, b, "button", "Correct the day")
	b.Enter()
	heading(t, b, "Alpha University")
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Monday 3 February 2025") || strings.Contains(got, "Saturday 8 February 2025") {
		t.Errorf("the summary reads %q, want the meeting on Monday 3 February 2025", got)
	}
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "met on Monday 3 February 2025, not Saturday 8 February 2025") {
		t.Errorf("the page reads %q, want its history saying what the correction changed", got)
	}
	screenshot(b, "ops-meeting-corrected")
}

// An ops person, by keyboard alone, corrects the day a form was signed, recorded
// wrong: the organisation's page offers it, the form is filled with the day recorded,
// a day the signatory service refuses (after the announcement) is refused beside the
// field as it says why, and the page then shows the day corrected, and its history
// what the correction changed. axe-core checks every page on the way.
func TestJourneyOpsCorrectsTheFormsDay(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	id := onboard(t, s.p, s.sig, "Beta University", "lead-beta@example.ac.uk") // the form signed 2025-02-28, announced 2025-03-20
	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)

	const link = "Correct the form's day"
	b.Open(s.p.url + "/ops/organisations/" + id)
	heading(t, b, "Beta University")
	tabTo(t, b, "link", link)
	b.Enter()
	heading(t, b, link)
	if got := b.Value(browsertest.CSS("#field-signed_on")); got != "2025-02-28" {
		t.Errorf("the form is filled with %q, want the day recorded, 2025-02-28", got)
	}
	opsTypeInto(t, b, "textbox", "Form signed on", "2025-03-21")
	tabTo(t, b, "button", "Correct the day")
	b.Enter()
	heading(t, b, link)
	errorSummaryHasFocus(t, b, "field-signed_on", "Form signed on")
	if got := b.Text(browsertest.CSS("#field-signed_on-error")); !strings.HasPrefix(got, "Error:") || !strings.Contains(got, "after the announcement") {
		t.Errorf("the message beside the field reads %q, want the service's reason", got)
	}
	b.WaitFor(browsertest.CSS(`#field-signed_on[aria-describedby~="field-signed_on-error"][aria-invalid="true"]`))
	screenshot(b, "ops-form-correction-refused")
	b.ShiftTab()
	opsTypeInto(t, b, "textbox", "Form signed on", "2025-02-25")
	tabTo(t, b, "button", "Correct the day")
	b.Enter()
	heading(t, b, "Beta University")
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Tuesday 25 February 2025") || strings.Contains(got, "Friday 28 February 2025") {
		t.Errorf("the summary reads %q, want the form signed on Tuesday 25 February 2025", got)
	}
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "form signed on Tuesday 25 February 2025, not Friday 28 February 2025") {
		t.Errorf("the page reads %q, want its history saying what the correction changed", got)
	}
	screenshot(b, "ops-form-corrected")
}
