package service

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// An ops person, by keyboard alone, records the announcement of an organisation that
// withdrew and signed again as a new record, naming the record it succeeds: an
// identifier that is not a withdrawn record is refused beside the field, as the
// signatory service says it; then each record's page names the other, the new one
// "Succeeds" the old with the day it withdrew, the old one "Succeeded by" the new.
// axe-core checks every page on the way.
func TestJourneyOpsRecordsTheRecordAnOrganisationSucceeds(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	old := onboard(t, s.p, s.sig, "Alpha University", "lead-alpha@example.ac.uk")
	ops := opsToken(t, s.sig, "signatory")
	s.sig.Must(http.StatusOK, s.sig.Do("POST", "/v1/organisations/"+old+"/withdrawal", ops,
		map[string]any{"withdrawn_on": "2026-06-01", "reason": "Signing again", "initiated_by": "organisation"}))
	other := onboard(t, s.p, s.sig, "Othertown College", "lead-b@example.ac.uk")
	again := s.sig.Must(http.StatusCreated, s.sig.Do("POST", "/v1/organisations", ops, map[string]any{
		"name": "Alpha University", "kind": "signatory", "sector": "higher_education", "country": "GB", "website": "https://www.alpha.ac.uk",
		"enquiry_contact": map[string]any{"name": "Sam Patel", "email": "lead-alpha@example.ac.uk"},
	})).JSON(t)["id"].(string)
	s.sig.Must(http.StatusOK, s.sig.Do("POST", "/v1/organisations/"+again+"/meeting", ops, map[string]any{"held_on": "2026-06-01"}))
	s.sig.Must(http.StatusOK, s.sig.Do("POST", "/v1/organisations/"+again+"/form", ops, map[string]any{"signed_on": "2026-06-01",
		"leader":           map[string]any{"name": "Prof. Jane Smith", "email": "vc@alpha.ac.uk"},
		"nominated_lead":   map[string]any{"name": "Sam Patel", "email": "lead-alpha@example.ac.uk"},
		"point_of_contact": map[string]any{"name": "Technical Services Office"}}))
	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)

	b.Open(s.p.url + "/ops/organisations/" + again)
	heading(t, b, "Alpha University")
	tabTo(t, b, "link", "Record the announcement")
	b.Enter()
	heading(t, b, "Record the announcement")
	// An organisation still in the Commitment is not one that withdrew.
	opsTypeInto(t, b, "textbox", "Succeeds the record that withdrew", other)
	tabTo(t, b, "button", "Record the announcement")
	b.Enter()
	heading(t, b, "Record the announcement")
	errorSummaryHasFocus(t, b, "field-succeeds", "Succeeds the record that withdrew")
	// The field is described by its hint and its message.
	if got := b.Text(browsertest.CSS("#field-succeeds-error")); !strings.HasPrefix(got, "Error:") || !strings.Contains(got, "has not withdrawn") {
		t.Errorf("the message beside the field reads %q, want the service's reason", got)
	}
	b.WaitFor(browsertest.CSS(`#field-succeeds[aria-describedby~="field-succeeds-error"][aria-invalid="true"]`))
	screenshot(b, "ops-succeeds-refused")
	b.ShiftTab()
	tabTo(t, b, "textbox", "Succeeds the record that withdrew")
	b.Type(old)
	tabTo(t, b, "button", "Record the announcement")
	b.Enter()
	heading(t, b, "Alpha University")
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Succeeds") || !strings.Contains(got, "withdrew on") || !strings.Contains(got, "1 June 2026") {
		t.Errorf("the new record's summary reads %q, want it to succeed the old, withdrawn on 1 June 2026", got)
	}
	screenshot(b, "ops-succeeds")

	tabTo(t, b, "link", "Alpha University")
	b.Enter()
	heading(t, b, "Alpha University")
	if got := pagePath(t, b); got != "/ops/organisations/"+old {
		t.Fatalf("the link to the record it succeeds leads to %s, want the old record's page", got)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Succeeded by") {
			b.Open(b.CurrentURL())
			return fmt.Errorf("the old record's summary reads %q, not naming its successor", got)
		}
		return nil
	})
	tabTo(t, b, "link", "Alpha University")
	b.Enter()
	if got := pagePath(t, b); got != "/ops/organisations/"+again {
		t.Errorf("the link to the successor leads to %s, want the new record's page", got)
	}
}

// An ops person, by keyboard alone, records the record an organisation succeeds
// after its announcement, which did not name it (ITSS forgot, or it was announced
// before a record could name one): the organisation's page offers it while the record
// is announced and succeeds none; an identifier that is not a withdrawn record is
// refused beside the field, as the signatory service says it; then each record's page
// names the other, and the page offers it no more. axe-core checks every page on the
// way.
func TestJourneyOpsRecordsLaterTheRecordAnOrganisationSucceeds(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	old := onboard(t, s.p, s.sig, "Alpha University", "lead-alpha@example.ac.uk")
	ops := opsToken(t, s.sig, "signatory")
	s.sig.Must(http.StatusOK, s.sig.Do("POST", "/v1/organisations/"+old+"/withdrawal", ops,
		map[string]any{"withdrawn_on": "2026-06-01", "reason": "Signing again", "initiated_by": "organisation"}))
	other := onboard(t, s.p, s.sig, "Othertown College", "lead-b@example.ac.uk")
	again := onboard(t, s.p, s.sig, "Alpha University", "lead-alpha2@example.ac.uk")
	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)

	// The step says what it does in ITSS's words ("Record the record it succeeds" it
	// read).
	const link, button = "Link its record from before it withdrew", "Link the two records"
	b.Open(s.p.url + "/ops/organisations/" + again)
	heading(t, b, "Alpha University")
	tabTo(t, b, "link", link)
	b.Enter()
	heading(t, b, link)
	// An organisation still in the Commitment is not one that withdrew.
	opsTypeInto(t, b, "textbox", "Succeeds the record that withdrew", other)
	tabTo(t, b, "button", button)
	b.Enter()
	heading(t, b, link)
	errorSummaryHasFocus(t, b, "field-succeeds", "Succeeds the record that withdrew")
	if got := b.Text(browsertest.CSS("#field-succeeds-error")); !strings.HasPrefix(got, "Error:") || !strings.Contains(got, "has not withdrawn") {
		t.Errorf("the message beside the field reads %q, want the service's reason", got)
	}
	b.WaitFor(browsertest.CSS(`#field-succeeds[aria-describedby~="field-succeeds-error"][aria-invalid="true"]`))
	screenshot(b, "ops-succession-refused")
	b.ShiftTab()
	tabTo(t, b, "textbox", "Succeeds the record that withdrew")
	b.Type(old)
	tabTo(t, b, "button", button)
	b.Enter()
	heading(t, b, "Alpha University")
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Succeeds") || !strings.Contains(got, "withdrew on") || !strings.Contains(got, "1 June 2026") {
		t.Errorf("the new record's summary reads %q, want it to succeed the old, withdrawn on 1 June 2026", got)
	}
	if got := b.Text(browsertest.CSS("main")); strings.Contains(got, link) {
		t.Errorf("the page of a record that succeeds one still offers to record another: %q", got)
	}
	if got := b.Text(browsertest.CSS("#done[role=status]")); got != "The two records are linked." {
		t.Errorf("the new record's page after the link says %q", got)
	}
	// The history names the record it now succeeds, as the summary does, not by
	// its identifier alone.
	if got, want := b.Text(browsertest.CSS("main")), "Organisation succession recorded: succeeds the record of Alpha University (withdrew on Monday 1 June 2026)"; !strings.Contains(got, want) || strings.Contains(got, "succeeds organisation "+old) {
		t.Errorf("the new record's page reads %q, want its history to say %q", got, want)
	}
	screenshot(b, "ops-succession-recorded")

	tabTo(t, b, "link", "Alpha University")
	b.Enter()
	heading(t, b, "Alpha University")
	if got := pagePath(t, b); got != "/ops/organisations/"+old {
		t.Fatalf("the link to the record it succeeds leads to %s, want the old record's page", got)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Succeeded by") {
			b.Open(b.CurrentURL())
			return fmt.Errorf("the old record's summary reads %q, not naming its successor", got)
		}
		return nil
	})
}
