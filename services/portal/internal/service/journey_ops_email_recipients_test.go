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

// The delivery log is kept to show that and when the suite told someone
// (docs/PRIVACY.md), and notify's log names each email's recipients and when it was
// sent, but the console's Email page gave neither: asked whether the new lead was
// written to, and when,, ITSS could answer only with curl. The page now gives whom
// each email went to and when it was sent, as notify holds them, after a reload too.
func TestJourneyOpsEmailLogNamesRecipientsAndWhenSent(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	// A new nominated lead is named, whom notify writes to (lead-named).
	s.sig.Must(http.StatusOK, s.sig.Do("PUT", "/v1/organisations/"+org+"/contacts", opsToken(t, s.sig, "signatory"), map[string]any{
		"leader":           map[string]any{"name": "Prof. Jane Smith", "email": "vc@example.ac.uk"},
		"nominated_lead":   map[string]any{"name": "Dana Okafor", "email": "dana.okafor@example.ac.uk"},
		"point_of_contact": map[string]any{"name": "Technical Services Office"},
	}))
	notifyOps := opsToken(t, s.notify, "notify")
	var to string
	testenv.Eventually(t, 20*time.Second, func() error {
		r := s.notify.Do("GET", "/v1/deliveries?organisation_id="+org+"", notifyOps, nil)
		if r.Status != http.StatusOK {
			return fmt.Errorf("deliveries = %d: %s", r.Status, r.Body)
		}
		for _, d := range r.JSON(t)["items"].([]any) {
			for _, p := range d.(map[string]any)["to"].([]any) {
				if p.(map[string]any)["email"] == "dana.okafor@example.ac.uk" && d.(map[string]any)["status"] == "sent" {
					to = p.(map[string]any)["name"].(string)
					return nil
				}
			}
		}
		return fmt.Errorf("no email to the new lead sent yet: %s", r.Body)
	})

	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)
	b.Open(s.p.url + "/ops/organisations/" + org)
	tabTo(t, b, "link", "Emails sent to this organisation")
	b.Enter()
	heading(t, b, "Email deliveries")
	for range 2 { // as opened, and reloaded
		head := b.Text(browsertest.CSS("#deliveries-caption + thead"))
		for _, col := range []string{"To", "Sent"} {
			if !strings.Contains(head, col) {
				t.Errorf("the delivery log has no %s column: %q", col, head)
			}
		}
		if got := b.Text(browsertest.CSS("#deliveries-caption + thead + tbody")); !strings.Contains(got, to) || !strings.Contains(got, "dana.okafor@example.ac.uk") || !strings.Contains(got, time.Now().In(opsLondon()).Format("Monday 2 January 2006")) {
			t.Errorf("the delivery log does not say the email went to %s (dana.okafor@example.ac.uk), and when: %q", to, got)
		}
		b.Open(b.CurrentURL())
	}
}
