package service

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// An erasure removes the person from the people read model: the lead, reviewer and
// applicant records that hold the address, and the addresses that find them by the
// address's digest, so that the person can no longer sign in and the database holds
// neither the address nor its digest. Another person's records stay.
func TestAnErasureForgetsThePersonAndTheirAddresses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	env := testenv.NewEnv(t)
	people, err := signin.NewPeople(ctx, db, testPseudonyms(t))
	if err != nil {
		t.Fatal(err)
	}
	const erased, kept = "Erin.Lead@example.ac.uk", "kit@example.ac.uk"
	for _, email := range []string{erased, kept} {
		org := "org-" + strings.ToLower(email[:3])
		if err := people.SetLead(ctx, org, signin.Lead{Name: "Someone"}, email); err != nil {
			t.Fatal(err)
		}
		if err := people.SetReviewer(ctx, signin.Reviewer{ID: "rev-" + org, OrgID: org, Name: "Someone"}, email); err != nil {
			t.Fatal(err)
		}
		if err := people.AddApplicant(ctx, signin.Applicant{OrgID: "org-other", Name: "Someone", Email: email}, "p-x", time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	// Each made an API token, which names its maker: the erased person's is revoked.
	if _, err := bus.EnsureStream(ctx, env.JS, bus.PortalTokenStream(1)); err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	minter, err := signin.NewMinter("https://portal.example.org", key, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := apitokens.New(ctx, apitokens.Deps{DB: db, JS: env.JS, Minter: minter, Clock: clock.System{}, Logger: telemetry.Discard(),
		Audience: "tc-fund", MaxLifetime: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for name, email := range map[string]string{"erased's tool": erased, "kept's tool": kept} {
		if _, _, err := tokens.Issue(ctx, apitokens.Request{Org: "org-other", Name: name, Lifetime: 24 * time.Hour, By: "Someone", Creator: pseudonymOf(t, email), Email: email}); err != nil {
			t.Fatal(err)
		}
	}

	ended, err := signin.NewEnded(env.JS, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	links, err := signin.NewLinks(db, clock.System{}, ended)
	if err != nil {
		t.Fatal(err)
	}
	_, handle := forgetErased(db, env.JS, tokens, links)(people)
	ev := events.PersonErasedV1{Subject: personal.Subject(strings.ToUpper(erased))}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := handle(ctx, events.Envelope{ID: "erasure-1", Type: ev.EventType(), Time: time.Now(), Data: data}); err != nil {
		t.Fatal(err)
	}

	list, err := tokens.List(ctx, "org-other")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if revoked := !tok.Revoked.IsZero(); revoked != (tok.Name == "erased's tool") {
			t.Errorf("API token %q revoked %v after the erasure: want the erased person's alone revoked", tok.Name, revoked)
		}
	}
	if p, err := people.Lookup(ctx, erased); err != nil || p.Known() {
		t.Errorf("the erased person is still known: %+v (%v)", p, err)
	}
	if p, err := people.Lookup(ctx, kept); err != nil || len(p.Leads) != 1 || p.Reviewer == nil || len(p.Applicant) != 1 {
		t.Errorf("another person lost records: %+v (%v)", p, err)
	}
	all := testenv.Readable(t, db, env.JS)
	// Nor the pseudonym the token's record kept its maker by, by which the
	// console's subject access still found the erased person's token.
	for _, trace := range []string{strings.ToLower(erased), ev.Subject, pseudonymOf(t, erased)} {
		if strings.Contains(all, trace) {
			t.Errorf("after the erasure the database still holds %q:\n%s", trace, all)
		}
	}
	// Named again later, the address is found again.
	if err := people.SetLead(ctx, "org-eri", signin.Lead{Name: "Erin"}, erased); err != nil {
		t.Fatal(err)
	}
	if p, err := people.Lookup(ctx, erased); err != nil || len(p.Leads) != 1 {
		t.Errorf("the address named again is not found: %+v (%v)", p, err)
	}
}
