package service

import (
	"net/http"
	"strings"
	"testing"
)

// A name the signatory service would refuse (a direction control pasted with it,
// which drew the confirmation backwards) is refused on the first save, beside its
// field and in the service's words, not only after the lead has confirmed the
// hand-over. A plan page that is not a web address is told with the other
// problems of the same save, not once they are put right.
func TestContactsAreCheckedAsTheServiceChecksThemBeforeAnyConfirmation(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	org := onboard(t, p, sig, "University of Mirrors", "lead-m@example.ac.uk")
	cookie := p.signIn("lead-m@example.ac.uk")
	path := "/obligations/" + org + "/contacts"

	form := formIn(t, p.do("GET", path, cookie, nil).body, path)
	form.Set("nominated_lead.name", "\u202eReversed Name")
	form.Set("nominated_lead.email", "new.lead@example.ac.uk")
	r := p.do("POST", path, cookie, form)
	if r.status != http.StatusBadRequest || h1(t, r.body) != "Your contacts" {
		t.Fatalf("a name with a direction control = %d %q, want the form again refusing it: %s", r.status, h1(t, r.body), r.body)
	}
	if got := opsFieldMessage(t, r.body, "nominated_lead.name"); !strings.Contains(got, "Nominated lead: name must not contain invisible or direction-changing characters") {
		t.Errorf("the name's field says %q", got)
	}

	form = formIn(t, p.do("GET", path, cookie, nil).body, path)
	form.Set("leader.name", "")
	form.Set("leader.title", "Vice\u200bChancellor")
	form.Set("plan_page", "javascript:alert(1)")
	r = p.do("POST", path, cookie, form)
	if r.status != http.StatusBadRequest {
		t.Fatalf("a save with three problems = %d: %s", r.status, r.body)
	}
	for field, says := range map[string]string{"leader.name": "Enter the name of the head of the organisation",
		"leader.title": "Head of the organisation: job title must not contain invisible",
		"plan_page":    "Plan page must be a web address starting https:// or http://"} {
		if got := opsFieldMessage(t, r.body, field); !strings.Contains(got, says) {
			t.Errorf("%s says %q, want %q", field, got, says)
		}
	}
}
