package service

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/reviewdrafts"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// A reviewer erased as they save a review part-way: the erasure deletes the
// person's records, then the copies they saved. A copy saved after it read them kept
// their words (under their pseudonym and digest) until the sweep, weeks later. Raced
// over many rounds, at random offsets (the portal given Rita's record again before
// each, as a reviewer named anew): afterwards no copy of hers remains.
func TestAReviewSavedAsTheReviewerIsErasedIsNotKept(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	ctx := context.Background()
	// withReview, with one address signed in thirty times in a minute.
	env := testenv.NewEnv(t)
	var portalURL string
	jwks := forwardJWKS(t, &portalURL)
	review := startReview(t, env, jwks)
	p := startPortalOn(t, env, services{review: review.URL, env: map[string]string{"PORTAL_SIGNIN_PER_ADDRESS": "50", "PORTAL_SIGNIN_PER_CLIENT": "100"}})
	portalURL = p.url
	rr := startReviewRound(t, env, review, p)
	page := "/reviews/" + rr.round + "/" + rr.mine
	c := p.signIn(ritaEmail)
	p.do("POST", page+"/respond", c, url.Values{"accept": {"true"}})
	_, erase := forgetErased(p.svc.DB, env.JS, p.svc.Tokens, p.svc.Links)(p.svc.People)
	sub := personal.Subject(ritaEmail)
	const rounds = 30
	failed, saved := 0, 0
	for i := range rounds {
		if i > 0 { // named anew: her record, and a session, again
			if err := p.svc.People.SetReviewer(ctx, signin.Reviewer{ID: "rev-rita", OrgID: "org-other", Name: "Rita Reviewer"}, ritaEmail); err != nil {
				t.Fatal(err)
			}
			c = p.signIn(ritaEmail)
		}
		status := raceErasure(t, erase, ritaEmail, false, 15*time.Millisecond, func() int {
			return p.do("POST", page+"/draft", c, partWay("Words of round", "0")).status
		})
		if status == http.StatusSeeOther {
			saved++
		}
		n, err := p.svc.DB.Collection(reviewdrafts.Collection).CountDocuments(ctx, bson.D{{Key: "subject", Value: sub}})
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			failed++
			t.Logf("round %d (answered %d): %d copies of the erased reviewer's review kept", i, status, n)
			if _, err := reviewdrafts.Forget(ctx, p.svc.DB, sub); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d of %d rounds saved before the erasure reached them", saved, rounds)
	if failed > 0 {
		t.Errorf("in %d of %d rounds a review saved as its reviewer was erased was kept", failed, rounds)
	}
}
