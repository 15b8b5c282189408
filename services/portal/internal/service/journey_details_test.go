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

// An ops person, by keyboard alone, corrects a slip in an organisation's name and
// its moved website from the organisation's page: the form opens filled with the
// details as they stand; a country the signatory service refuses is refused beside
// the field, in the service's words; a save after someone else changed the
// organisation since the form was opened is refused as that, keeping what was typed;
// saved again, the organisation's page and the public directory name it so. axe-core
// checks every page on the way.
func TestJourneyOpsCorrectsAnOrganisationsDetails(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	org := onboard(t, s.p, s.sig, "Univeristy of Exampleton", "lead-a@example.ac.uk")
	ops := opsToken(t, s.sig, "signatory")
	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)

	const link = "Correct the details"
	b.Open(s.p.url + "/ops/organisations/" + org)
	heading(t, b, "Univeristy of Exampleton")
	tabTo(t, b, "link", link)
	b.Enter()
	heading(t, b, link)
	for field, want := range map[string]string{"name": "Univeristy of Exampleton", "country": "GB", "website": "https://www.example.ac.uk", "sector": "higher_education"} {
		if got := b.Value(browsertest.CSS("#field-" + field)); got != want {
			t.Errorf("the form opens with %s %q, want %q as it stands", field, got, want)
		}
	}
	opsTypeInto(t, b, "textbox", "Organisation name", "University of Exampleton")
	opsTypeInto(t, b, "textbox", "Country", "UK")
	opsTypeInto(t, b, "textbox", "Website", "https://www.exampleton.ac.uk/technicians")
	tabTo(t, b, "button", "Save the details")
	b.Enter()
	heading(t, b, link)
	errorSummaryHasFocus(t, b, "field-country", "Country")
	if got := b.Text(browsertest.CSS("#field-country-error")); !strings.HasPrefix(got, "Error:") || !strings.Contains(got, "GB, not UK") {
		t.Errorf("the message beside the field reads %q, want the service's reason", got)
	}
	b.WaitFor(browsertest.CSS(`#field-country[aria-describedby~="field-country-error"][aria-invalid="true"]`))
	screenshot(b, "ops-details-refused")

	// Meanwhile another ITSS person changes the organisation's contacts.
	s.sig.Must(http.StatusOK, s.sig.Do("PUT", "/v1/organisations/"+org+"/contacts", ops, map[string]any{
		"leader":           map[string]any{"name": "Prof. New Head", "email": "vc@example.ac.uk"},
		"nominated_lead":   map[string]any{"name": "Sam Patel", "email": "lead-a@example.ac.uk"},
		"point_of_contact": map[string]any{"name": "Technical Services Office"},
	}))
	b.ShiftTab()
	tabTo(t, b, "textbox", "Country")
	b.Type("GB")
	tabTo(t, b, "button", "Save the details")
	b.Enter()
	heading(t, b, link)
	if got := b.Text(browsertest.CSS(".error-summary")); !strings.Contains(got, "changed this organisation since you opened the form") {
		t.Errorf("the save after another change reads %q, want it refused as changed since the form was opened", got)
	}
	if got := b.Value(browsertest.CSS("#field-name")); got != "University of Exampleton" {
		t.Errorf("the refused form keeps the name %q, not what was typed", got)
	}
	screenshot(b, "ops-details-stale")
	tabTo(t, b, "button", "Save the details")
	b.Enter()
	heading(t, b, "University of Exampleton")
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "https://www.exampleton.ac.uk/technicians") {
		t.Errorf("the organisation's summary reads %q, want the corrected website", got)
	}
	screenshot(b, "ops-details-corrected")

	b.Open(s.p.url + "/directory")
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "University of Exampleton") || strings.Contains(got, "Univeristy") {
			b.Open(s.p.url + "/directory")
			return fmt.Errorf("the directory reads %q", got)
		}
		return nil
	})
}
