package service

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
)

// A lead erased while they make a token: the erasure forgets the person's records
// first (signin.People.Forget), then revokes their tokens and forgets their makers
// (apitokens.Store.Forget). A request that found the person before the first and
// recorded the token's maker after the second left the token in force, its maker
// naming the erased person, and the fund took it as theirs. Raced over many rounds,
// at random offsets: afterwards no token of theirs is in force and no maker names
// them.
func TestATokenMadeAsItsMakerIsErasedIsRevokedAndNamesNobody(t *testing.T) {
	t.Parallel()
	// One client signs forty leads in a minute.
	p := startPortal(t, services{env: map[string]string{"PORTAL_SIGNIN_PER_CLIENT": "100"}})
	ctx := context.Background()
	_, erase := forgetErased(p.svc.DB, p.env.JS, p.svc.Tokens, p.svc.Links)(p.svc.People)
	const rounds = 40
	failed, made := 0, 0
	for i := range rounds {
		org, lead := fmt.Sprintf("org-te%d", i), fmt.Sprintf("tess.lead%d@example.ac.uk", i)
		p.addLead(org, lead)
		cookie := p.signIn(lead)
		sub := personal.Subject(lead)
		status := raceErasure(t, erase, lead, false, 6*time.Millisecond, func() int {
			return p.do("POST", "/organisations/"+org+"/tokens", cookie, url.Values{"name": {"Grants uploader"}, "days": {"30"}}).status
		})
		if status == http.StatusCreated {
			made++
		}
		list, err := p.svc.Tokens.List(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		inForce := 0
		for _, tok := range list {
			if tok.Revoked.IsZero() {
				inForce++
			}
		}
		makers, err := p.svc.DB.Collection(apitokens.MakersCollection).CountDocuments(ctx, bson.D{{Key: "subject", Value: sub}})
		if err != nil {
			t.Fatal(err)
		}
		if inForce > 0 || makers > 0 {
			failed++
			t.Logf("round %d (answered %d): %d tokens in force, %d makers naming the erased lead", i, status, inForce, makers)
		}
	}
	t.Logf("%d of %d rounds made the token before the erasure reached it", made, rounds)
	if failed > 0 {
		t.Errorf("in %d of %d rounds a token made as its maker was erased stayed in force or named them", failed, rounds)
	}
}
