package service

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// A person erased as they use their sign-in link: the erasure deletes their
// sessions and links, and a session started after it read the sessions kept their
// address until it ended, a signed-in visitor the portal no longer held. Raced over
// many rounds, at random offsets: afterwards no session holds the address, and a
// sign-in that lost the race is answered as a link that no longer works.
func TestASignInAsThePersonIsErasedLeavesNoSession(t *testing.T) {
	t.Parallel()
	// One client asks for forty links in a minute.
	p := startPortal(t, services{env: map[string]string{"PORTAL_SIGNIN_PER_CLIENT": "100"}})
	ctx := context.Background()
	_, erase := forgetErased(p.svc.DB, p.env.JS, p.svc.Tokens, p.svc.Links)(p.svc.People)
	const rounds = 40
	failed, signedIn := 0, 0
	for i := range rounds {
		org, lead := fmt.Sprintf("org-se%d", i), fmt.Sprintf("sam.lead%d@example.ac.uk", i)
		p.addLead(org, lead)
		link := p.requestLink(lead)
		status := raceErasure(t, erase, lead, true, 12*time.Millisecond, func() int { return p.do("POST", link, "", url.Values{}).status })
		if status == http.StatusSeeOther {
			signedIn++
		}
		n, err := p.svc.DB.Collection("sessions").CountDocuments(ctx, bson.D{{Key: "email", Value: lead}})
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			failed++
			t.Logf("round %d (answered %d): %d sessions hold the erased address", i, status, n)
		}
	}
	t.Logf("%d of %d rounds signed in before the erasure reached them", signedIn, rounds)
	if failed > 0 {
		t.Errorf("in %d of %d rounds a session of a person erased as they signed in held their address", failed, rounds)
	}
}
