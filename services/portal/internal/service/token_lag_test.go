package service

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/itss/techcommit/libs/events"
)

// A lead who makes a token after handing the role on, while the portal has not yet
// taken the hand-over in (its consumer behind: a restart, a backlog), made it as
// someone no longer the lead: the hand-over, once taken in, revokes it too, though it
// was made after the change. A token the new lead makes stays, however often the
// hand-over, or the announcement before it, is read again (a redelivery, a rebuild).
func TestATokenMadeBeforeThePortalTookTheHandOverInIsRevokedByIt(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	ctx := context.Background()
	const org, lead, next = "org-lag", "lee.lead@example.ac.uk", "nia.new@example.ac.uk"
	announced := time.Now()
	p.addLead(org, lead)
	_, handle := leadsAndTheirTokens(p.svc.Tokens)(p.svc.People)
	deliver := func(at time.Time, payload events.Payload) {
		t.Helper()
		data, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := handle(ctx, events.Envelope{ID: uuid.NewString(), Source: "/tc/signatory", Type: payload.EventType(), AggregateType: "organisation",
			AggregateID: org, Version: 1, Time: at, Actor: "ops:test", Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	announce := events.OrganisationAnnouncedV1{OrganisationID: org, Name: "University of " + org, Kind: "signatory",
		NominatedLead: events.Person{Name: "Lead of " + org, Email: lead}}
	handOver := events.OrganisationContactsChangedV1{OrganisationID: org, Leader: events.Person{Name: "Head", Email: "head@example.ac.uk"},
		NominatedLead: events.Person{Name: "Nia New", Email: next}}

	// The hand-over is made an hour on; a minute later, before the portal hears of
	// it, the outgoing lead makes a token.
	p.clock.Advance(time.Hour)
	handedOver := p.clock.Now().Add(-time.Minute)
	if r := p.do("POST", "/organisations/"+org+"/tokens", p.signIn(lead), url.Values{"name": {"Made in the gap"}, "days": {"30"}}); r.status != http.StatusCreated {
		t.Fatalf("making a token = %d: %s", r.status, r.body)
	}
	deliver(handedOver, handOver)
	list, err := p.svc.Tokens.List(ctx, org)
	if err != nil || len(list) != 1 {
		t.Fatalf("the tokens: %+v (%v)", list, err)
	}
	if list[0].Revoked.IsZero() {
		t.Errorf("the token the outgoing lead made before the portal took the hand-over in is in force: %+v", list[0])
	}

	if r := p.do("POST", "/organisations/"+org+"/tokens", p.signIn(next), url.Values{"name": {"New lead's tool"}, "days": {"30"}}); r.status != http.StatusCreated {
		t.Fatalf("the new lead making a token = %d: %s", r.status, r.body)
	}
	deliver(announced, announce)
	deliver(handedOver, handOver)
	list, err = p.svc.Tokens.List(ctx, org)
	if err != nil || len(list) != 2 {
		t.Fatalf("the tokens: %+v (%v)", list, err)
	}
	for _, tok := range list {
		if tok.Name == "New lead's tool" && !tok.Revoked.IsZero() {
			t.Errorf("the new lead's token was revoked when the events were read again: %+v", tok)
		}
	}
}
