package service

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/oidcdev"
)

// Every paged list answers an address whose page the service does not know (a
// stale bookmark, a link cut short, "cursor=garbage") by saying that page of the
// list does not exist, with a link to the list's first page, its filters kept:
// the public directory and every list of the console. Several showed the service's
// own words ("Is not a cursor this service issued") and no way back.
func TestEveryPagedListAnswersAPageItDoesNotKnowWithItsFirstPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	tok := opsReviewToken(t, s, auth.Principal{Subject: "ops-setup", Role: auth.RoleOps})
	round := s.review.Must(http.StatusCreated, s.review.Do("POST", "/v1/review-rounds", tok, map[string]any{"name": "Review round 2027",
		"review_deadline": time.Now().AddDate(0, 1, 0).Format(time.RFC3339)})).JSON(t)["id"].(string)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	for _, c := range []struct{ cookie, page, first string }{
		{"", "/directory?cursor=garbage", "/directory"},
		{"", "/directory?kind=signatory&cursor=garbage", "/directory?kind=signatory"},
		{ops, "/ops/organisations?status=announced&cursor=garbage", "/ops/organisations?status=announced"},
		{ops, "/ops/organisations?status=announced&cursor=not%20a%20page", "/ops/organisations?status=announced"}, // refused by the portal's own check
		{ops, "/ops/organisations/" + org + "?history=garbage", "/ops/organisations/" + org},
		{ops, "/ops/review/reviewers?cursor=garbage", "/ops/review/reviewers"},
		{ops, "/ops/review/rounds/" + round + "?cursor=garbage", "/ops/review/rounds/" + round},
		{ops, "/ops/email?status=sent&cursor=garbage", "/ops/email?status=sent"},
		{ops, "/ops/email/reminders?cursor=garbage", "/ops/email/reminders"},
		{ops, "/ops/fund/applications?cursor=garbage", "/ops/fund/applications"},
	} {
		r := s.p.do("GET", c.page, c.cookie, nil)
		shown := shownText(t, r.body)
		if r.status != http.StatusBadRequest || h1(t, r.body) != "Page not found" || !strings.Contains(shown, "That page of the list does not exist") {
			t.Errorf("%s = %d, headed %q: %.400s", c.page, r.status, h1(t, r.body), shown)
		}
		if strings.Contains(strings.ToLower(shown), "cursor") {
			t.Errorf("%s speaks of a cursor: %.400s", c.page, shown)
		}
		links := find(parse(t, r.body), func(n *html.Node) bool { return n.Data == "a" && text(n) == "Go to the first page" })
		if len(links) != 1 || attr(links[0], "href") != c.first {
			t.Errorf("%s does not link to the first page, %s", c.page, c.first)
		}
	}
}
