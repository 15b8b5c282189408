package adapters_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/adapters"
)

// The read model of API tokens only ever narrows what a token reaches: a revocation
// is for good, an expiry never moves later, and a token id said to belong to a second
// organisation is refused for both.
func TestAPITokenReadModelOnlyNarrows(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	now := time.Now()
	tokens, err := adapters.NewAPITokens(db, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	say := func(s adapters.APITokenState) {
		t.Helper()
		if err := tokens.Record(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	inForce := func(id, org string) apperr.Code {
		t.Helper()
		if err := tokens.InForce(ctx, id, org); err != nil {
			return apperr.CodeOf(err)
		}
		return ""
	}
	day := 24 * time.Hour
	say(adapters.APITokenState{ID: "t1", Org: "org-a", ExpiresAt: now.Add(day)})
	if c := inForce("t1", "org-a"); c != "" {
		t.Fatalf("issued token: %s", c)
	}
	if c := inForce("t1", "org-b"); c != apperr.Unauthenticated {
		t.Errorf("for another organisation: %q", c)
	}
	// A later word with a later expiry does not extend it.
	say(adapters.APITokenState{ID: "t1", Org: "org-a", ExpiresAt: now.Add(30 * day)})
	now = now.Add(day + time.Second)
	if c := inForce("t1", "org-a"); c != apperr.Unauthenticated {
		t.Errorf("past its first expiry: %q", c)
	}

	say(adapters.APITokenState{ID: "t2", Org: "org-a", ExpiresAt: now.Add(day)})
	say(adapters.APITokenState{ID: "t2", Org: "org-b", ExpiresAt: now.Add(day)})
	for _, org := range []string{"org-a", "org-b"} {
		if c := inForce("t2", org); c != apperr.Unauthenticated {
			t.Errorf("a token id said for two organisations, as %s: %q", org, c)
		}
	}

	say(adapters.APITokenState{ID: "t3", Org: "org-a", ExpiresAt: now.Add(day), Revoked: true})
	say(adapters.APITokenState{ID: "t3", Org: "org-a", ExpiresAt: now.Add(day)})
	if c := inForce("t3", "org-a"); c != apperr.Unauthenticated {
		t.Errorf("revoked, then said issued: %q", c)
	}
	if err := tokens.Record(ctx, adapters.APITokenState{ID: "", Org: "org-a"}); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("a state naming no token: %v", err)
	}
}

// A revocation the portal made on its own says why, and the refusal says it, so that
// the developer of a tool that stopped knows whom to ask: the first reason stands
// whatever is heard after it (a later "revoked" without one, an "issued").
func TestARefusedTokenSaysWhyThePortalRevokedIt(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	now := time.Now()
	tokens, err := adapters.NewAPITokens(db, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range []adapters.APITokenState{
		{ID: "t1", Org: "org-a", ExpiresAt: now.Add(time.Hour)},
		{ID: "t1", Org: "org-a", ExpiresAt: now.Add(time.Hour), Revoked: true, Why: events.APITokenRevokedMakerNotLead},
		{ID: "t1", Org: "org-a", ExpiresAt: now.Add(time.Hour), Revoked: true},
		{ID: "t1", Org: "org-a", ExpiresAt: now.Add(time.Hour)},
		{ID: "t2", Org: "org-a", ExpiresAt: now.Add(time.Hour), Revoked: true},
		{ID: "t2", Org: "org-a", ExpiresAt: now.Add(time.Hour), Revoked: true, Why: "a reason from a later release"},
	} {
		if err := tokens.Record(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string]string{
		"t1": "the API token has been revoked: the person who made it is no longer the organisation's nominated lead",
		"t2": "the API token has been revoked",
	} {
		err := tokens.InForce(ctx, id, "org-a")
		ae, _ := apperr.As(err)
		if ae == nil || ae.Code != apperr.Unauthenticated || !strings.HasPrefix(ae.Message, want) || (id == "t2" && ae.Message != want) {
			t.Errorf("%s: %v, want 401 saying %q", id, err, want)
		}
	}
}
