package adapters_test

import (
	"context"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
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
