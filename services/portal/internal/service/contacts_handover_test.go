package service

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/itss/techcommit/services/portal/internal/signin"
)

// A lead who gives the nominated lead's field another address is asked to confirm
// it before anything is saved: the page shows the name and address as typed and says
// what follows (they lose access at once; the new lead is emailed). Confirming saves,
// and the message shows the address. A changed name alone is saved in one step.
func TestHandingOverTheLeadAsksToConfirmTheAddress(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	org := onboard(t, p, sig, "University of Handover", "lead-h@example.ac.uk")
	cookie := p.signIn("lead-h@example.ac.uk")
	path := "/obligations/" + org + "/contacts"

	form := formIn(t, p.do("GET", path, cookie, nil).body, path)
	form.Set("nominated_lead.name", "Sam Patel-Jones")
	if r := p.do("POST", path, cookie, form); r.status != http.StatusSeeOther {
		t.Fatalf("a changed name of the same lead = %d, want saved at once: %s", r.status, r.body)
	}

	form = formIn(t, p.do("GET", path, cookie, nil).body, path)
	version := form.Get("version")
	form.Set("nominated_lead.name", "Chris Lee")
	form.Set("nominated_lead.email", "c.lee@exampletn.ac.uk")
	r := p.do("POST", path, cookie, form)
	if r.status != http.StatusOK || h1(t, r.body) != "Hand over the nominated lead" {
		t.Fatalf("handing over = %d, want the confirmation: %s", r.status, r.body)
	}
	shown := shownText(t, r.body)
	for _, says := range []string{"Chris Lee", "c.lee@exampletn.ac.uk", "You lose access to the portal for University of Handover at once",
		"Chris Lee will be emailed at that address", "The API tokens you made for University of Handover's tools, and those the colleagues you named made, stop working"} {
		if !strings.Contains(shown, says) {
			t.Errorf("the confirmation does not say %q: %s", says, shown)
		}
	}
	if got := value(parse(t, p.do("GET", path, cookie, nil).body), "field-nominated_lead-email"); got != "lead-h@example.ac.uk" {
		t.Fatalf("asking to confirm saved the new lead: %q", got)
	}
	confirm := formIn(t, r.body, path)
	if confirm.Get("version") != version || confirm.Get("leader.name") != form.Get("leader.name") || confirm.Get("plan_page") != form.Get("plan_page") {
		t.Errorf("the confirmation carries %v, want the form as typed, at its version %s", confirm, version)
	}

	// "Change the contacts" shows the form as typed, and saves nothing.
	back := p.do("POST", path, cookie, withField(confirm, "change", "1"))
	if back.status != http.StatusOK || value(parse(t, back.body), "field-nominated_lead-email") != "c.lee@exampletn.ac.uk" {
		t.Fatalf("changing the contacts from the confirmation = %d: %s", back.status, back.body)
	}

	r = p.do("POST", path, cookie, confirm)
	if r.status != http.StatusOK || h1(t, r.body) != "Your contacts were saved" || !strings.Contains(shownText(t, r.body), "\u2068Chris Lee\u2069 (c.lee@exampletn.ac.uk)") {
		t.Fatalf("confirming = %d: %s", r.status, r.body)
	}
	p.waitFor("c.lee@exampletn.ac.uk", func(person signin.Person) bool { _, ok := person.LeadOf(org); return ok })
}

// withField is v with one field more.
func withField(v url.Values, name, value string) url.Values {
	out := url.Values{name: {value}}
	for k, x := range v {
		out[k] = x
	}
	return out
}

// A lead who corrects their own address (their name, another address) is asked to
// confirm that, not a hand-over: the page does not say they are naming a new lead
// nor that "the new lead" makes the tokens, but what the change does to them (they
// sign in with the new address, their colleagues and tokens stop, and they make and
// name them again). Before, it read "Hand over the nominated lead ... to Sam Patel".
func TestCorrectingTheLeadsOwnAddressIsConfirmedAsThat(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	org := onboard(t, p, sig, "University of Addresses", "lead-a@example.ac.uk")
	cookie := p.signIn("lead-a@example.ac.uk")
	path := "/obligations/" + org + "/contacts"
	form := formIn(t, p.do("GET", path, cookie, nil).body, path)
	form.Set("nominated_lead.name", " sam  PATEL ")
	form.Set("nominated_lead.email", "s.patel@example.ac.uk")
	r := p.do("POST", path, cookie, form)
	if r.status != http.StatusOK || h1(t, r.body) != "Change your address as the nominated lead" {
		t.Fatalf("correcting the lead's own address = %d, want its confirmation: %s", r.status, r.body)
	}
	shown := shownText(t, r.body)
	for _, says := range []string{"s.patel@example.ac.uk", "in place of lead-a@example.ac.uk",
		"You sign in for University of Addresses with the new address from then on",
		"make new tokens and name your colleagues again"} {
		if !strings.Contains(shown, says) {
			t.Errorf("the confirmation does not say %q: %s", says, shown)
		}
	}
	for _, not := range []string{"Hand over", "new nominated lead", "The new lead"} {
		if strings.Contains(shown, not) {
			t.Errorf("the confirmation of a corrected address says %q: %s", not, shown)
		}
	}
	confirm := formIn(t, r.body, path)
	if r := p.do("POST", path, cookie, confirm); r.status != http.StatusOK || h1(t, r.body) != "Your contacts were saved" {
		t.Fatalf("confirming = %d: %s", r.status, r.body)
	}
}
