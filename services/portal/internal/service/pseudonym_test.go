package service

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// A portal upgraded from a release that recorded people by an unkeyed digest of
// their address still holds records made under it: the API tokens a lead made and
// the colleagues they named. Subject access still finds them, beside those made
// under the keyed pseudonym; the lead's announcement, read again, leaves their
// colleague in place; and an erasure leaves neither pseudonym in the database.
func TestRecordsMadeUnderTheUnkeyedPseudonymAreFoundAndErased(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	ctx := context.Background()
	const lead, colleague = "lee.lead@example.ac.uk", "dev@example.ac.uk"
	p.addLead("org-up", lead)
	unkeyed, keyed := signin.UnkeyedPseudonym(lead), pseudonymOf(t, lead)
	for name, creator := range map[string]string{"tool made before the upgrade": unkeyed, "tool made after it": keyed} {
		if _, _, err := p.svc.Tokens.Issue(ctx, apitokens.Request{Org: "org-up", Name: name, Lifetime: 24 * time.Hour, By: "Lee Lead",
			Creator: creator, Email: lead}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.svc.People.AddApplicant(ctx, signin.Applicant{OrgID: "org-up", Name: "Dev", Email: colleague}, unkeyed, time.Now()); err != nil {
		t.Fatal(err)
	}
	p.waitFor(colleague, func(person signin.Person) bool { _, ok := person.ApplicantOf("org-up"); return ok })

	records, err := holdings(p.svc.DB, testPseudonyms(t))(ctx, strings.ToUpper(lead), "")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	for _, rec := range records {
		b, _ := json.Marshal(rec.Document)
		switch {
		case rec.Collection == "api_tokens" && strings.Contains(string(b), "before the upgrade"):
			found["token made before"]++
		case rec.Collection == "api_tokens" && strings.Contains(string(b), "after it"):
			found["token made after"]++
		case rec.Collection == "applicants" && strings.Contains(string(b), unkeyed):
			found["colleague"]++ // another person, whom the answer does not name
		}
	}
	for _, want := range []string{"token made before", "token made after", "colleague"} {
		if found[want] != 1 {
			t.Errorf("the lead's subject access holds the %s %d times, want once (found %v)", want, found[want], found)
		}
	}

	// The signatory service announces the lead again (a rebuild, a redelivery).
	p.publish("/tc/signatory", "org-up", events.OrganisationContactsChangedV1{OrganisationID: "org-up",
		Leader: events.Person{Name: "Head", Email: "head@example.ac.uk"}, NominatedLead: events.Person{Name: "Lee Lead", Email: lead}})
	p.addLead("org-other", "someone@example.ac.uk") // published after, so read after
	if person, err := p.svc.People.Lookup(ctx, colleague); err != nil || len(person.Applicant) != 1 {
		t.Errorf("the colleague the lead named before the upgrade, after the lead's announcement came again: %+v (%v)", person, err)
	}

	// The erasure: the signatory service records the organisation's lead erased,
	// which takes their colleague's power with it, and announces it.
	p.publish("/tc/signatory", "org-up", events.OrganisationContactsChangedV1{OrganisationID: "org-up",
		Leader: events.Person{Name: "Head", Email: "head@example.ac.uk"}, NominatedLead: events.Person{Erased: true}})
	p.waitFor(colleague, func(person signin.Person) bool { return !person.Known() })
	_, handle := forgetErased(p.svc.DB, p.env.JS, p.svc.Tokens, p.svc.Links)(p.svc.People)
	ev := events.PersonErasedV1{Subject: personal.Subject(lead)}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := handle(ctx, events.Envelope{ID: "erasure-up", Type: ev.EventType(), Time: time.Now(), Data: data}); err != nil {
		t.Fatal(err)
	}
	all := testenv.Readable(t, p.svc.DB, p.env.JS)
	for _, trace := range []string{lead, unkeyed, keyed, "Lee Lead"} {
		if strings.Contains(all, strings.ToLower(trace)) {
			t.Errorf("after the erasure the portal still holds %q", trace)
		}
	}
}
