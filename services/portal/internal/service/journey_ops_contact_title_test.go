package service

import (
	"net/http"
	"strings"
	"testing"

	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// The public point of contact's job title, which the directory shows and the lead's
// own contacts form sets, had no field in the console: ITSS could record it from the
// signed form only with curl, and changing the organisation's contacts in the console
// erased the title the lead had given, since the service replaces every contact with
// what the form sends. An ops person, by keyboard, now finds the title on the
// contacts form as the lead left it, keeps it while changing another contact, and
// changes it; the organisation's page, reloaded, and the service say the same.
func TestJourneyOpsPointOfContactTitle(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	sigOps := opsToken(t, s.sig, "signatory")
	// The lead names the point of contact's role (as their contacts form does).
	s.sig.Must(http.StatusOK, s.sig.Do("PUT", "/v1/organisations/"+org+"/contacts", sigOps, map[string]any{
		"leader":           map[string]any{"name": "Prof. Jane Smith", "title": "Vice-Chancellor", "email": "vc@example.ac.uk"},
		"nominated_lead":   map[string]any{"name": "Sam Patel", "email": "lead-a@example.ac.uk"},
		"point_of_contact": map[string]any{"name": "Technical Services Office", "title": "Technician Commitment office", "email": "technicians@example.ac.uk"},
		"plan_page":        "https://www.example.ac.uk/technician-commitment",
	}))
	held := func() map[string]any {
		t.Helper()
		o := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+org, sigOps, nil)).JSON(t)
		return o["point_of_contact"].(map[string]any)
	}

	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)
	change := func() {
		t.Helper()
		b.Open(s.p.url + "/ops/organisations/" + org)
		heading(t, b, "University of Exampleton")
		tabTo(t, b, "link", "Change the contacts")
		b.Enter()
		heading(t, b, "Change the contacts")
	}

	// Another contact changed: the point of contact's title stays as the lead left it.
	change()
	if got := b.Value(browsertest.CSS("#field-point_of_contact-title")); got != "Technician Commitment office" {
		t.Errorf("the contacts form holds the point of contact's title %q, want the lead's", got)
	}
	tabTo(t, b, "textbox", "Leader's job title")
	b.Fill("Leader's job title", "Vice-Chancellor and President")
	tabTo(t, b, "button", "Save the contacts")
	b.Enter()
	heading(t, b, "University of Exampleton")
	if got := held()["title"]; got != "Technician Commitment office" {
		t.Errorf("after ops changed the leader, the service holds the point of contact's title %v", got)
	}

	// The title itself changed, and seen again after a reload.
	change()
	tabTo(t, b, "textbox", "Point of contact's job title")
	b.Fill("Point of contact's job title", "Technical Services Manager")
	tabTo(t, b, "button", "Save the contacts")
	b.Enter()
	heading(t, b, "University of Exampleton")
	b.Open(b.CurrentURL())
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "Technical Services Manager") {
		t.Errorf("the organisation's page, reloaded, shows the contacts %q", got)
	}
	if got := held()["title"]; got != "Technical Services Manager" {
		t.Errorf("the service holds the point of contact's title %v, want the one typed", got)
	}
}
