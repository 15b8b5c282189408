package service

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// A lead who revokes a token a colleague made is named on the token's record as
// who revoked it. That record is theirs too: their subject access lists it, and
// their erasure takes their name off it, as it does off the tokens they made. (The
// record kept their name, and nothing found it, until 90 days after the token's
// expiry.)
func TestWhoRevokedATokenIsInTheirSubjectAccessAndGoesWithTheirErasure(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	ctx := context.Background()
	const org, lead, colleague = "org-rv", "rhea.lead@example.ac.uk", "cam@example.ac.uk"
	p.addLead(org, lead) // named "Lead of org-rv"
	if _, _, err := p.svc.Tokens.Issue(ctx, apitokens.Request{Org: org, Name: "colleague's tool", Lifetime: 24 * time.Hour, By: "Cam Colleague",
		Creator: pseudonymOf(t, colleague), Email: colleague}); err != nil {
		t.Fatal(err)
	}
	cookie := p.signIn(lead)
	id := tokenID(t, p, org)
	if r := p.do("POST", "/organisations/"+org+"/tokens/"+id+"/revoke", cookie, url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("revoking = %d: %s", r.status, r.body)
	}

	records, err := holdings(p.svc.DB, testPseudonyms(t))(ctx, lead, "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rec := range records {
		if b, _ := json.Marshal(rec.Document); rec.Collection == "api_tokens" && strings.Contains(string(b), "Lead of org-rv") {
			found = true
		}
	}
	if !found {
		t.Errorf("the lead's subject access does not list the token they revoked")
	}

	p.publish("/tc/signatory", org, events.OrganisationContactsChangedV1{OrganisationID: org,
		Leader: events.Person{Name: "Head", Email: "head@example.ac.uk"}, NominatedLead: events.Person{Erased: true}})
	p.waitFor(lead, func(person signin.Person) bool { return !person.Known() })
	_, handle := forgetErased(p.svc.DB, p.env.JS, p.svc.Tokens, p.svc.Links)(p.svc.People)
	ev := events.PersonErasedV1{Subject: personal.Subject(lead)}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := handle(ctx, events.Envelope{ID: "erasure-rv", Type: ev.EventType(), Time: time.Now(), Data: data}); err != nil {
		t.Fatal(err)
	}
	all := testenv.Readable(t, p.svc.DB, p.env.JS)
	// (Readable gives everything in lower case.)
	for _, trace := range []string{"Lead of org-rv", lead, pseudonymOf(t, lead)} {
		if strings.Contains(all, strings.ToLower(trace)) {
			t.Errorf("after the lead's erasure the portal still holds %q", trace)
		}
	}
	list, err := p.svc.Tokens.List(ctx, org)
	if err != nil || len(list) != 1 || list[0].Revoked.IsZero() || list[0].RevokedBy == "" {
		t.Errorf("the token after its revoker's erasure: %+v (%v), want it still said revoked, by someone", list, err)
	}
}

// A token's record names two people once a person revokes it: its maker and who
// revoked it. Each one's subject access gets the record, and neither gets the
// other's name or pseudonym from it (UK GDPR Art. 15(4), docs/PRIVACY.md): the lead
// who revoked a colleague's token is not given the colleague's name, nor the
// colleague the lead's.
func TestATokensRecordGivesItsMakerAndItsRevokerNothingOfTheOther(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	ctx := context.Background()
	const org, lead, colleague = "org-rx", "rhea.lead@example.ac.uk", "cam@example.ac.uk"
	p.addLead(org, lead) // named "Lead of org-rx"
	if _, _, err := p.svc.Tokens.Issue(ctx, apitokens.Request{Org: org, Name: "colleague's tool", Lifetime: 24 * time.Hour, By: "Cam Colleague",
		Creator: pseudonymOf(t, colleague), Email: colleague}); err != nil {
		t.Fatal(err)
	}
	cookie := p.signIn(lead)
	id := tokenID(t, p, org)
	if r := p.do("POST", "/organisations/"+org+"/tokens/"+id+"/revoke", cookie, url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("revoking = %d: %s", r.status, r.body)
	}
	for _, c := range []struct{ who, own, other string }{
		{lead, "Lead of org-rx", "Cam Colleague"}, {colleague, "Cam Colleague", "Lead of org-rx"},
	} {
		records, err := holdings(p.svc.DB, testPseudonyms(t))(ctx, c.who, "")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, rec := range records {
			if rec.Collection != "api_tokens" {
				continue
			}
			found = true
			b, _ := json.Marshal(rec.Document)
			if !strings.Contains(string(b), c.own) {
				t.Errorf("%s's record of the token lacks their own name %q: %s", c.who, c.own, b)
			}
			otherEmail := lead
			if c.who == lead {
				otherEmail = colleague
			}
			for _, trace := range []string{c.other, pseudonymOf(t, otherEmail), personal.Subject(otherEmail)} {
				if strings.Contains(string(b), trace) {
					t.Errorf("%s's subject access gives the other person's %q: %s", c.who, trace, b)
				}
			}
		}
		if !found {
			t.Errorf("%s's subject access does not list the token", c.who)
		}
	}
}
