package service

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// notifyApp is the notify service's source of the emails it sends, from this
// package's directory.
const notifyApp = "../../../notify/internal/app"

// notifyLinkPatterns reads the notify service's source and returns the path of every
// portal address its emails (and calendar entries) link to, with "{}" for each part
// filled in from the event: the concatenations that start at the portal's address
// (cfg.PortalURL), and those that start at one of the link builders made of such a
// concatenation. Reading the source, rather than a list kept here, means a link
// added to an email is a link this test checks.
func notifyLinkPatterns(tb testing.TB) []string {
	tb.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	names, err := filepath.Glob(filepath.Join(notifyApp, "*.go"))
	if err != nil || len(names) == 0 {
		tb.Fatalf("notify's source in %s: %v", notifyApp, err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, f)
	}
	// The builders: methods whose one statement returns a portal address.
	builders := map[string]ast.Expr{}
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || len(fn.Body.List) != 1 {
				continue
			}
			if ret, ok := fn.Body.List[0].(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
				builders[fn.Name.Name] = ret.Results[0]
			}
		}
	}
	var pattern func(e ast.Expr, depth int) (string, bool)
	pattern = func(e ast.Expr, depth int) (string, bool) {
		parts := flattenPlus(e)
		var b strings.Builder
		switch first := parts[0].(type) {
		case *ast.SelectorExpr:
			if first.Sel.Name != "PortalURL" {
				return "", false
			}
		case *ast.CallExpr:
			sel, ok := first.Fun.(*ast.SelectorExpr)
			if !ok {
				return "", false
			}
			body, isBuilder := builders[sel.Sel.Name]
			if !isBuilder || depth > 5 {
				return "", false
			}
			p, ok := pattern(body, depth+1)
			if !ok {
				return "", false
			}
			b.WriteString(p)
		default:
			return "", false
		}
		for _, part := range parts[1:] {
			if lit, ok := part.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					tb.Fatal(err)
				}
				b.WriteString(s)
				continue
			}
			b.WriteString("{}") // a value from the event, escaped as a path segment
		}
		return b.String(), true
	}
	seen := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			e, ok := n.(ast.Expr)
			if !ok {
				return true
			}
			switch x := e.(type) {
			case *ast.BinaryExpr:
				switch x.Op {
				case token.ADD:
				case token.EQL, token.NEQ:
					return false // a check of the setting, not a link
				default:
					return true
				}
			case *ast.SelectorExpr, *ast.CallExpr:
			default:
				return true
			}
			if p, ok := pattern(e, 0); ok {
				seen[p] = true
				return false // the inner parts of a link are not links of their own
			}
			return true
		})
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// flattenPlus lists the operands of a chain of string concatenations, left to right.
func flattenPlus(e ast.Expr) []ast.Expr {
	if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.ADD {
		return append(flattenPlus(b.X), flattenPlus(b.Y)...)
	}
	if p, ok := e.(*ast.ParenExpr); ok {
		return flattenPlus(p.X)
	}
	return []ast.Expr{e}
}

// The extraction itself: it finds the links of the emails as they are written today,
// so that the check below cannot pass by finding none.
func TestNotifyLinkPatternsAreFound(t *testing.T) {
	t.Parallel()
	got := notifyLinkPatterns(t)
	for _, want := range []string{"/obligations/{}", "/obligations/{}/feedback/{}", "/reviews/{}/{}", "/reviews"} {
		if !slices.Contains(got, want) {
			t.Errorf("the links found in notify's emails, %v, lack %s", got, want)
		}
	}
	t.Logf("notify's emails link to %v", got)
	if slices.Contains(got, "") || slices.ContainsFunc(got, func(p string) bool { return !strings.HasPrefix(p, "/") }) {
		t.Errorf("a link found is not a path: %v", got)
	}
}

// followLink opens an email's link as its reader would: signed out, the portal
// sends them to sign in and remembers the page; the sign-in link they are mailed
// brings them back to it. It returns the portal's answer there, signed in, and the
// session's cookie. (Sign-in links are rate limited per address: three an hour.)
func followLink(t *testing.T, p *portal, path, email string) (response, string) {
	t.Helper()
	r := p.do("GET", path, "", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Fatalf("%s signed out = %d to %q, want the sign-in page", path, r.status, r.header.Get("Location"))
	}
	var next string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "tc_next" {
			next = c.Name + "=" + c.Value
		}
	}
	if next == "" {
		t.Fatalf("%s signed out: the page to come back to is not remembered", path)
	}
	link := p.requestLink(email)
	r = p.do("POST", link, next, url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path {
		t.Fatalf("signing in from %s = %d to %q, want back to it", path, r.status, r.header.Get("Location"))
	}
	cookie := sessionCookie(t, r)
	return p.do("GET", path, cookie, nil), cookie
}

// landsOn follows an email's link and checks it is the page wanted, not "page not found".
func landsOn(t *testing.T, p *portal, path, email, wantHeading string) {
	t.Helper()
	if r, _ := followLink(t, p, path, email); r.status != http.StatusOK || h1(t, r.body) != wantHeading {
		t.Fatalf("%s signed in as %s = %d, want the page %q: %s", path, email, r.status, wantHeading, r.body)
	}
}

// linkCheck follows the links of one pattern as their readers would.
type linkCheck struct {
	pattern string
	follow  func(t *testing.T)
}

// Every link in every email lands on its page: each address notify's emails link
// to is followed by the person the email goes to, signed out as they would be, with
// the real services behind the portal, and is the page they act on. (The sign-in
// link itself is the portal's own, followed by every journey.)
func TestEveryEmailLinkLandsOnItsPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	const lead = "lead@linkton.ac.uk"
	org := onboardOn(t, s.p, s.sig, "University of Linkton", lead, time.Now().AddDate(0, -13, 0))
	mint := func(pr auth.Principal) string {
		tok, err := s.env.Issuer.MintFor(pr, time.Hour, config.DevAudience("review"))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rr := &reviewRound{review: s.review, mint: mint, ops: mint(auth.Principal{Subject: "ops-1", Role: auth.RoleOps})}
	rr.mine = draftAndSubmit(t, s.review, mint, org, "Linkton's")
	for _, r := range []struct{ id, email string }{{"rev-rita", ritaEmail}, {"rev-bob", bobEmail}} {
		registerReviewers(t, s.p, s.review, rr.ops, map[string]any{
			"reviewer_id": r.id, "name": "Reviewer " + r.id, "email": r.email, "organisation_id": "org-other", "trained": true, "capacity": 2, "conflicts": []string{}})
	}
	rr.round = s.review.Must(http.StatusCreated, s.review.Do("POST", "/v1/review-rounds", rr.ops, map[string]any{"name": "Round 2027",
		"review_deadline": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339), "reviewers_per_submission": 1})).JSON(t)["id"].(string)
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+rr.round+"/submissions", rr.ops, map[string]any{"submission_ids": []string{rr.mine}}))
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+rr.round+"/assignments", rr.ops, map[string]any{
		"action": "assign", "submission_id": rr.mine, "reviewer_id": "rev-rita", "reason": "Knows the sector"}))
	for _, email := range []string{ritaEmail, bobEmail} {
		s.p.waitFor(email, func(person signin.Person) bool { return person.Reviewer != nil })
	}

	// In the order the emails come: an assignment, the list of a reviewer's
	// assignments, the organisation's deadlines, and the feedback once released.
	checks := []linkCheck{
		{"/reviews/{}/{}", func(t *testing.T) {
			landsOn(t, s.p, "/reviews/"+rr.round+"/"+rr.mine, ritaEmail, "Review a submission")
		}},
		{"/reviews", func(t *testing.T) { landsOn(t, s.p, "/reviews", ritaEmail, "Your review assignments") }},
		{"/obligations/{}", func(t *testing.T) { landsOn(t, s.p, "/obligations/"+org, lead, "Your organisation") }},
		{"/obligations/{}/feedback/{}", func(t *testing.T) {
			rr.reviewBy(t, auth.Principal{Subject: "rev-rita", Role: auth.RoleReviewer, Org: "org-other"}, rr.mine, "A credible plan.")
			base := "/v1/review-rounds/" + rr.round
			s.review.Must(http.StatusOK, s.review.Do("POST", base+"/closure", rr.ops, map[string]any{}))
			s.review.Must(http.StatusOK, s.review.Do("POST", base+"/submissions/"+rr.mine+"/feedback", rr.ops, map[string]any{"feedback": "The reviewers commend the plan."}))
			landsOn(t, s.p, "/obligations/"+org+"/feedback/"+rr.mine, lead, "Feedback on your submission")
		}},
		// Every email's foot links to the privacy notice, which anyone reads without
		// signing in (a head of institution never signs in).
		{"/privacy", func(t *testing.T) {
			r := s.p.do("GET", "/privacy", "", nil)
			if r.status != http.StatusOK || h1(t, r.body) != "Privacy notice" {
				t.Fatalf("/privacy without signing in = %d: %s", r.status, r.body)
			}
		}},
		// The fund's emails about an application go to the lead (and the applicant,
		// whose tools use the API): the link goes on to the lead's page of the
		// application under their organisation, where the fund service decides what
		// the lead may see. A lead of two organisations chooses; a reviewer finds nothing.
		{"/fund/applications/{}", func(t *testing.T) {
			path := "/fund/applications/app-1"
			r, cookie := followLink(t, s.p, path, lead)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/organisations/"+org+"/fund/app-1" {
				t.Fatalf("%s for the lead = %d to %q, want their organisation's page of the application", path, r.status, r.header.Get("Location"))
			}
			if r := s.p.do("GET", path, s.p.signIn(bobEmail), nil); r.status != http.StatusNotFound {
				t.Errorf("%s for a reviewer = %d, want not found", path, r.status)
			}
			s.p.publish("/tc/signatory", "org-second", events.OrganisationAnnouncedV1{OrganisationID: "org-second", Name: "Second College", Kind: "signatory",
				NominatedLead: events.Person{Name: "Sam Patel", Email: lead}})
			s.p.waitFor(lead, func(person signin.Person) bool { return len(person.Leads) == 2 })
			r = s.p.do("GET", path, cookie, nil)
			doc := parse(t, r.body)
			links := find(doc, func(n *html.Node) bool { return n.Data == "a" && strings.HasSuffix(attr(n, "href"), "/fund/app-1") })
			if r.status != http.StatusOK || len(links) != 2 || attr(links[0], "href") == attr(links[1], "href") {
				t.Fatalf("%s for a lead of two organisations = %d: %s", path, r.status, r.body)
			}
		}},
	}
	found := notifyLinkPatterns(t)
	for _, pattern := range found {
		if !slices.ContainsFunc(checks, func(c linkCheck) bool { return c.pattern == pattern }) {
			t.Errorf("notify's emails link to %s, which no check here follows: add one that reaches its page", pattern)
		}
	}
	for _, c := range checks {
		if !slices.Contains(found, c.pattern) {
			t.Errorf("no email links to %s any more: drop its check", c.pattern)
			continue
		}
		t.Run(strings.ReplaceAll(c.pattern, "/", "_"), c.follow)
	}
}
