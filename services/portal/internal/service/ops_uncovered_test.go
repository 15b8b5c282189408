package service

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
)

// An automatic assignment that leaves a submission short of reviewers (here the pool
// is empty) names it in its report by what it answers, with a link to it, as the
// round's table does: the report listed the bare identifier.
func TestTheAssignmentReportNamesTheSubmissionsItLeftShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	sub := opsSubmitted(t, s, "org-short")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	sent := url.Values{"name": {"Review round short"}, "review_deadline": {time.Now().AddDate(0, 1, 0).Format("2006-01-02 15:04")}, "reviewers_per_submission": {"2"}}
	roundPath := opsMustStatus(t, s.p.do("POST", "/ops/review/rounds", ops, sent), http.StatusSeeOther, "the round").header.Get("Location")
	testenv.Eventually(t, 10*time.Second, func() error {
		if page := s.p.do("GET", roundPath, ops, nil); !strings.Contains(page.body, `value="`+sub+`"`) {
			return fmt.Errorf("the submission is not offered yet")
		}
		return nil
	})
	opsMustStatus(t, s.p.do("POST", roundPath+"/submissions", ops, url.Values{"submission_ids": {sub}}), http.StatusSeeOther, "adding the submission")

	r := opsMustStatus(t, s.p.do("POST", roundPath+"/auto-assign", ops, nil), http.StatusSeeOther, "automatic assignment")
	page := opsMustStatus(t, s.p.do("GET", r.header.Get("Location"), withOutcome(t, ops, r), nil), http.StatusOK, "the round after the assignment")
	var short []*html.Node
	for _, tb := range find(parse(t, page.body), element("table")) {
		if caps := find(tb, element("caption")); len(caps) == 1 && text(caps[0]) == "Submissions not fully covered" {
			short = find(tb, element("tr"))
		}
	}
	if len(short) != 2 { // the head and the one submission
		t.Fatalf("the report lists %d rows, want the submission left short: %s", len(short)-1, page.body)
	}
	cells := find(short[1], element("td"))
	links := find(cells[0], element("a"))
	if len(links) != 1 || text(links[0]) != "Self-assessment and action plan (cycle 1)" || attr(links[0], "href") != roundPath+"/submissions/"+sub {
		t.Errorf("the submission left short reads %q", text(cells[0]))
	}
	if text(cells[1]) != "2" {
		t.Errorf("reviewers missing: %q, want 2", text(cells[1]))
	}
}
