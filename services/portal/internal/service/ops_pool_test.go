package service

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/oidcdev"
)

// The console's reviewer pool shows 50 reviewers a page, with a link to the next:
// with 60 in the pool the first page lists 50 and the next the other 10. Before, the
// page read the whole pool (hundreds of members, each with its workload) at every
// visit, which made it the slowest page of the console.
func TestOpsReviewerPoolIsPaged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	tok := opsReviewToken(t, s, auth.Principal{Subject: "ops", Role: auth.RoleOps})
	const n = 60
	var members []map[string]any
	for i := range n {
		members = append(members, map[string]any{"reviewer_id": fmt.Sprintf("rv-%03d", i),
			"name": fmt.Sprintf("Reviewer %d", i), "email": fmt.Sprintf("rv%d@other.ac.uk", i), "organisation_id": "org-other",
			"trained": true, "capacity": 2})
	}
	registerReviewers(t, s.p, s.review, tok, members...)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	rows := regexp.MustCompile(`href="/ops/review/reviewers/rv-\d+"`)
	next := regexp.MustCompile(`href="(/ops/review/reviewers\?cursor=[^"]+)"`)

	first := opsMustStatus(t, s.p.do("GET", "/ops/review/reviewers", ops, nil), http.StatusOK, "the pool's first page")
	if got := len(rows.FindAllString(first.body, -1)); got != 50 {
		t.Errorf("the first page lists %d reviewers, want 50", got)
	}
	m := next.FindStringSubmatch(first.body)
	if m == nil {
		t.Fatalf("the first page of %d reviewers has no link to the next: %s", n, first.body)
	}
	second := opsMustStatus(t, s.p.do("GET", html.UnescapeString(m[1]), ops, nil), http.StatusOK, "the pool's second page")
	if got := len(rows.FindAllString(second.body, -1)); got != n-50 {
		t.Errorf("the second page lists %d reviewers, want %d", got, n-50)
	}
	if next.MatchString(second.body) {
		t.Errorf("the last page links to a next one")
	}
	if want := `href="/ops/review/reviewers/rv-059"`; !regexp.MustCompile(want).MatchString(second.body) {
		t.Errorf("the second page does not list the last reviewer, rv-059")
	}
}
