package service

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	fundtest "github.com/itss/techcommit/services/fund/servicetest"
	"github.com/itss/techcommit/services/portal/internal/signin"
	sigtest "github.com/itss/techcommit/services/signatory/servicetest"
)

// fundStack is the portal with the real signatory and fund services trusting it.
type fundStack struct {
	p         *portal
	sig, fund *testenv.Client
	fundOps   string
}

func startFundStack(t *testing.T) *fundStack {
	t.Helper()
	env := testenv.NewEnv(t)
	var portalURL string
	jwks := forwardJWKS(t, &portalURL)
	s := &fundStack{sig: sigtest.Start(t, env, portalIssuer, jwks)}
	s.fund = fundtest.Start(t, env, portalIssuer, jwks)
	s.p = startPortalOn(t, env, services{signatory: s.sig.URL, fund: s.fund.URL, ops: stubFlow{}})
	portalURL = s.p.url
	var err error
	if s.fundOps, err = s.fund.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("fund")); err != nil {
		t.Fatal(err)
	}
	return s
}

// openRound opens a fund round now, for applications to be drafted in.
func (s *fundStack) openRound(t *testing.T) string {
	t.Helper()
	r := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", s.fundOps, map[string]any{
		"name": "TCF 2030", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": "2030-01-31T17:00:00Z",
		"budget_pence": 1000000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": "2030-03-01", "project_end": "2030-12-31", "themes": []string{"visibility"},
	})).JSON(t)
	return r["id"].(string)
}

func fundDraft(round, endorser string) map[string]any {
	return map[string]any{
		"round_id": round, "title": "Shared 3D-printing skills exchange", "summary": "Joint workshops on additive manufacturing.",
		"themes": []string{"visibility"}, "requested_amount_pence": 50000, "partners": []map[string]any{{"name": "Exampleton College"}},
		"endorsement":  map[string]any{"name": "Sam Patel", "email": endorser},
		"budget_lines": []map[string]any{{"description": "Consumables", "amount_pence": 50000}},
		"milestones":   []map[string]any{{"description": "First workshop", "due": "2030-06-15"}},
	}
}

// draftWith drafts an application with tok once the fund knows the organisation
// (and the token), and returns its id.
func (s *fundStack) draftWith(t *testing.T, tok, round, endorser string) string {
	t.Helper()
	var id string
	testenv.Eventually(t, 15*time.Second, func() error {
		r := s.fund.Do("POST", "/v1/applications", tok, fundDraft(round, endorser))
		if r.Status != http.StatusCreated {
			return fmt.Errorf("draft: %d %s", r.Status, r.Body)
		}
		id = r.JSON(t)["id"].(string)
		return nil
	})
	return id
}

// A lead makes an API token in the portal, sees it once, and their tool drafts an
// application with it through the fund's API; the application is on the lead's fund
// pages. Revoked in the portal, the token is refused by the fund within seconds.
// Another organisation's lead reaches none of these pages, and the token is kept
// nowhere in the portal, in clear, nor logged.
func TestLeadMakesUsesAndRevokesAnAPIToken(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	mine := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	theirs := onboard(t, s.p, s.sig, "Othertown College", "lead-b@example.ac.uk")
	round := s.openRound(t)
	cookie := s.p.signIn("lead-a@example.ac.uk")

	list := s.p.do("GET", "/organisations/"+mine+"/tokens", cookie, nil)
	if list.status != http.StatusOK || h1(t, list.body) != "API tokens" {
		t.Fatalf("tokens page = %d: %s", list.status, list.body)
	}
	bad := s.p.do("POST", "/organisations/"+mine+"/tokens", cookie, url.Values{"name": {""}, "days": {"1000"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `id="field-name-error"`) || !strings.Contains(bad.body, `id="field-days-error"`) {
		t.Fatalf("a bad token form = %d, want 400 with both fields' errors: %s", bad.status, bad.body)
	}
	made := s.p.do("POST", "/organisations/"+mine+"/tokens", cookie, url.Values{"name": {"Grants uploader"}, "days": {"30"}})
	if made.status != http.StatusCreated {
		t.Fatalf("making a token = %d: %s", made.status, made.body)
	}
	secret := secretOn(t, made.body)
	if strings.Count(secret, ".") != 2 {
		t.Fatalf("the token shown is not a JWT: %q", secret)
	}
	// Shown once: the list shows its last four characters, never the token.
	again := s.p.do("GET", "/organisations/"+mine+"/tokens", cookie, nil)
	if strings.Contains(again.body, secret) || !strings.Contains(again.body, "…"+secret[len(secret)-4:]) || !strings.Contains(again.body, "Grants uploader") {
		t.Errorf("the list shows the token or not its last four characters: %s", again.body)
	}
	id := s.draftWith(t, secret, round, "lead-a@example.ac.uk")
	s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/applications/"+id, secret, nil))

	// The lead's fund pages show it (the fund's list is its read model, which follows
	// the draft's event a moment later); another organisation's application is not found.
	testenv.Eventually(t, 10*time.Second, func() error {
		if pages := s.p.do("GET", "/organisations/"+mine+"/fund", cookie, nil); pages.status != http.StatusOK || !strings.Contains(pages.body, "/organisations/"+mine+"/fund/"+id) {
			return fmt.Errorf("fund applications page = %d: %s", pages.status, pages.body)
		}
		return nil
	})
	one := s.p.do("GET", "/organisations/"+mine+"/fund/"+id, cookie, nil)
	if one.status != http.StatusOK || h1(t, one.body) != "Shared 3D-printing skills exchange" || !strings.Contains(one.body, "£500") {
		t.Fatalf("application page = %d: %s", one.status, one.body)
	}
	theirToken, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "app-b", Role: auth.RoleApplicant, Org: theirs}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	theirApp := s.draftWith(t, theirToken, round, "lead-b@example.ac.uk")
	if r := s.p.do("GET", "/organisations/"+mine+"/fund/"+theirApp, cookie, nil); r.status != http.StatusNotFound || strings.Contains(r.body, "Othertown") {
		t.Errorf("another organisation's application through one's own page = %d", r.status)
	}
	s.fund.Must(http.StatusNotFound, s.fund.Do("GET", "/v1/applications/"+theirApp, secret, nil))

	other := s.p.signIn("lead-b@example.ac.uk")
	for _, req := range []struct{ method, path string }{
		{"GET", "/organisations/" + mine + "/tokens"}, {"POST", "/organisations/" + mine + "/tokens"},
		{"POST", "/organisations/" + mine + "/tokens/" + tokenID(t, s.p, mine) + "/revoke"},
		{"GET", "/organisations/" + mine + "/tokens/" + tokenID(t, s.p, mine) + "/revoke"},
		{"GET", "/organisations/" + mine + "/fund"}, {"GET", "/organisations/" + mine + "/fund/" + id},
		{"GET", "/ops/api-tokens"}, {"POST", "/ops/api-tokens/" + tokenID(t, s.p, mine) + "/revoke"},
		{"GET", "/ops/api-tokens/" + tokenID(t, s.p, mine) + "/revoke"},
	} {
		r := s.p.do(req.method, req.path, other, url.Values{"name": {"x"}, "days": {"1"}})
		if r.status != http.StatusNotFound || strings.Contains(r.body, "Exampleton") || strings.Contains(r.body, "Grants uploader") {
			t.Errorf("%s %s as another organisation's lead = %d, want 404 naming nothing", req.method, req.path, r.status)
		}
	}
	s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/applications", secret, nil))

	// Kept nowhere in clear, and never logged.
	if strings.Contains(s.p.logs.String(), secret) || strings.Contains(s.p.logs.String(), secret[strings.LastIndex(secret, ".")+1:]) {
		t.Error("the portal logged the token")
	}
	cur, err := s.p.svc.DB.Collection("api_tokens").Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if strings.Contains(fmt.Sprint(d), secret[strings.LastIndex(secret, ".")+1:]) {
			t.Error("the portal's records hold the token's signature")
		}
	}

	// Revoked in the portal, refused by the fund within a bounded time.
	r := s.p.do("POST", "/organisations/"+mine+"/tokens/"+tokenID(t, s.p, mine)+"/revoke", cookie, url.Values{})
	if r.status != http.StatusSeeOther {
		t.Fatalf("revoke = %d: %s", r.status, r.body)
	}
	revoked := time.Now()
	testenv.Eventually(t, 5*time.Second, func() error {
		if got := s.fund.Do("GET", "/v1/applications", secret, nil).Status; got != http.StatusUnauthorized {
			return fmt.Errorf("the fund answers the revoked token %d", got)
		}
		return nil
	})
	t.Logf("the fund refused the revoked token %s after the revocation", time.Since(revoked).Round(time.Millisecond))
	if after := s.p.do("GET", "/organisations/"+mine+"/tokens", cookie, nil); !strings.Contains(after.body, "Revoked") {
		t.Errorf("the list does not say the token is revoked: %s", after.body)
	}
}

// ITSS staff list every organisation's tokens and revoke any; the fund then refuses
// it. A lead of the organisation cannot reach the ops page.
func TestOpsListAndRevokeAnyAPIToken(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	mine := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	lead := s.p.signIn("lead-a@example.ac.uk")
	made := s.p.do("POST", "/organisations/"+mine+"/tokens", lead, url.Values{"name": {"Nightly sync"}, "days": {"7"}})
	if made.status != http.StatusCreated {
		t.Fatalf("making a token = %d: %s", made.status, made.body)
	}
	secret := secretOn(t, made.body)
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := s.fund.Do("GET", "/v1/applications", secret, nil).Status; got != http.StatusOK {
			return fmt.Errorf("the fund answers the new token %d", got)
		}
		return nil
	})
	if r := s.p.do("GET", "/ops/api-tokens", lead, nil); r.status != http.StatusNotFound {
		t.Errorf("a lead on the ops tokens page = %d", r.status)
	}
	cb := s.p.do("GET", "/auth/callback?good=1", "", nil)
	ops := sessionCookie(t, cb)
	page := s.p.do("GET", "/ops/api-tokens", ops, nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Nightly sync") {
		t.Fatalf("ops tokens page = %d: %s", page.status, page.body)
	}
	// The organisation is named, not shown by its identifier.
	if orgs := firstCells(parse(t, page.body)); !slices.Equal(orgs, []string{"University of Exampleton"}) {
		t.Errorf("the tokens' organisations read %q", orgs)
	}
	if r := s.p.do("POST", "/ops/api-tokens/"+tokenID(t, s.p, mine)+"/revoke", ops, url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("ops revoke = %d: %s", r.status, r.body)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if got := s.fund.Do("GET", "/v1/applications", secret, nil).Status; got != http.StatusUnauthorized {
			return fmt.Errorf("the fund answers the token revoked by ops %d", got)
		}
		return nil
	})
	if after := s.p.do("GET", "/organisations/"+mine+"/tokens", lead, nil); !strings.Contains(after.body, "by Olu Ops (ITSS)") {
		t.Errorf("the lead's list does not say ITSS revoked it: %s", after.body)
	}
}

// secretOn reads the token shown once on the page that made it.
func secretOn(t *testing.T, body string) string {
	t.Helper()
	for _, n := range find(parse(t, body), element("textarea")) {
		if attr(n, "id") == "made-token" {
			return strings.TrimSpace(text(n))
		}
	}
	t.Fatalf("no token on the page: %s", body)
	return ""
}

// tokenID is the id of org's newest token, as the portal's records hold it.
func tokenID(t *testing.T, p *portal, org string) string {
	t.Helper()
	list, err := p.svc.Tokens.List(context.Background(), org)
	if err != nil || len(list) == 0 {
		t.Fatalf("tokens of %s: %v, %v", org, list, err)
	}
	return list[0].ID
}

// A lead names a colleague, who signs in with a link like the lead's and makes and
// revokes the organisation's tokens, and nothing else: not its fund pages, not
// naming colleagues of their own. Removed by the lead, the colleague loses access
// at once. Another organisation's lead cannot name anyone for it.
func TestLeadNamesAColleagueWhoMakesTokens(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	mine := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	theirs := onboard(t, s.p, s.sig, "Othertown College", "lead-b@example.ac.uk")
	lead := s.p.signIn("lead-a@example.ac.uk")

	bad := s.p.do("POST", "/organisations/"+mine+"/applicants", lead, url.Values{"applicant_name": {""}, "applicant_email": {"dev at example"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `id="field-applicant_name-error"`) || !strings.Contains(bad.body, `id="field-applicant_email-error"`) {
		t.Fatalf("a bad colleague form = %d, want 400 naming both fields: %s", bad.status, bad.body)
	}
	// The lead's own address is not a colleague's: named so, they would keep making
	// tokens after handing the role on.
	self := s.p.do("POST", "/organisations/"+mine+"/applicants", lead, url.Values{"applicant_name": {"Me Again"}, "applicant_email": {"Lead-A@Example.ac.uk"}})
	if self.status != http.StatusBadRequest || !strings.Contains(self.body, `id="field-applicant_email-error"`) || !strings.Contains(self.body, "This is your own address") {
		t.Fatalf("the lead naming themselves = %d, want 400 beside the address: %s", self.status, self.body)
	}
	colleague := url.Values{"applicant_name": {"Dev Eloper"}, "applicant_email": {"Dev@Example.ac.uk"}}
	if r := s.p.do("POST", "/organisations/"+mine+"/applicants", lead, colleague); r.status != http.StatusSeeOther {
		t.Fatalf("naming a colleague = %d: %s", r.status, r.body)
	}
	other := s.p.signIn("lead-b@example.ac.uk")
	if r := s.p.do("POST", "/organisations/"+mine+"/applicants", other, url.Values{"applicant_name": {"Mallory"}, "applicant_email": {"m@example.org"}}); r.status != http.StatusNotFound {
		t.Errorf("another organisation's lead naming a colleague = %d", r.status)
	}

	dev := s.p.signIn("dev@example.ac.uk")
	account := s.p.do("GET", "/account", dev, nil)
	if !strings.Contains(account.body, "/organisations/"+mine+"/tokens") {
		t.Fatalf("the colleague's pages do not lead to the tokens: %s", account.body)
	}
	made := s.p.do("POST", "/organisations/"+mine+"/tokens", dev, url.Values{"name": {"CI"}, "days": {"7"}})
	if made.status != http.StatusCreated {
		t.Fatalf("the colleague making a token = %d: %s", made.status, made.body)
	}
	secret := secretOn(t, made.body)
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := s.fund.Do("GET", "/v1/applications", secret, nil).Status; got != http.StatusOK {
			return fmt.Errorf("the fund answers the colleague's token %d", got)
		}
		return nil
	})
	if list := s.p.do("GET", "/organisations/"+mine+"/tokens", lead, nil); !strings.Contains(list.body, "Dev Eloper") {
		t.Errorf("the lead's list does not say who made the token: %s", list.body)
	}
	for _, req := range []struct{ method, path string }{
		{"GET", "/organisations/" + mine + "/fund"}, {"POST", "/organisations/" + mine + "/applicants"},
		{"POST", "/organisations/" + mine + "/applicants/remove"}, {"GET", "/organisations/" + theirs + "/tokens"},
		{"GET", "/obligations/" + mine},
	} {
		if r := s.p.do(req.method, req.path, dev, url.Values{"applicant_name": {"X"}, "applicant_email": {"x@example.org"}, "email": {"dev@example.ac.uk"}}); r.status != http.StatusNotFound {
			t.Errorf("%s %s as the colleague = %d, want 404", req.method, req.path, r.status)
		}
	}

	if r := s.p.do("POST", "/organisations/"+mine+"/applicants/remove", lead, url.Values{"email": {"dev@example.ac.uk"}}); r.status != http.StatusSeeOther {
		t.Fatalf("removing the colleague = %d", r.status)
	}
	if r := s.p.do("GET", "/organisations/"+mine+"/tokens", dev, nil); r.status != http.StatusNotFound {
		t.Errorf("the removed colleague's tokens page = %d, want 404", r.status)
	}
}

// The power to make an organisation's API tokens is the lead's to lend and ends with
// the lead who lent it: when the role passes on, the colleagues the previous lead
// named (their own second address, say) no longer sign in for the tokens; those the
// new lead names stay through later changes of the contacts.
func TestColleaguesNamedByALeadLoseTheirPowerWhenTheRoleIsHandedOn(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	ctx := context.Background()
	p.addLead("org-h", "old-lead@example.ac.uk")
	if err := p.svc.People.AddApplicant(ctx, signin.Applicant{OrgID: "org-h", Name: "Old Lead (home)", Email: "old.lead@home.example"},
		pseudonymOf(t, "old-lead@example.ac.uk"), time.Now()); err != nil {
		t.Fatal(err)
	}
	p.waitFor("old.lead@home.example", func(person signin.Person) bool { _, ok := person.ApplicantOf("org-h"); return ok })

	contacts := func(lead string) events.OrganisationContactsChangedV1 {
		return events.OrganisationContactsChangedV1{OrganisationID: "org-h", Leader: events.Person{Name: "Head", Email: "head@example.ac.uk"},
			NominatedLead: events.Person{Name: "Lead", Email: lead}}
	}
	p.publish("/tc/signatory", "org-h", contacts("new-lead@example.ac.uk"))
	p.waitFor("new-lead@example.ac.uk", func(person signin.Person) bool { _, ok := person.LeadOf("org-h"); return ok })
	p.waitFor("old.lead@home.example", func(person signin.Person) bool { _, ok := person.ApplicantOf("org-h"); return !ok })

	if err := p.svc.People.AddApplicant(ctx, signin.Applicant{OrgID: "org-h", Name: "Dev Eloper", Email: "dev@example.ac.uk"},
		pseudonymOf(t, "new-lead@example.ac.uk"), time.Now()); err != nil {
		t.Fatal(err)
	}
	c := contacts("new-lead@example.ac.uk")
	c.Leader.Name = "New Head"
	p.publish("/tc/signatory", "org-h", c)
	p.publish("/tc/signatory", "org-h", events.OrganisationAnnouncedV1{OrganisationID: "org-marker", Name: "Marker", Kind: "signatory",
		NominatedLead: events.Person{Name: "Marker", Email: "marker@example.ac.uk"}})
	p.waitFor("marker@example.ac.uk", func(person signin.Person) bool { _, ok := person.LeadOf("org-marker"); return ok })
	if person, err := p.svc.People.Lookup(ctx, "dev@example.ac.uk"); err != nil {
		t.Fatal(err)
	} else if _, ok := person.ApplicantOf("org-h"); !ok {
		t.Error("the new lead's colleague lost their power when only the head changed")
	}
}

// The new-token form sent twice (a double click; the browser shows the second
// answer) makes one token, and the second answer says so: two tokens were made, one
// of them a working credential whose secret nobody had seen. Sent twice at once, it
// makes one too; a fresh form makes another.
func TestANewTokenFormSentTwiceMakesOneToken(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	mine := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	cookie := s.p.signIn("lead-a@example.ac.uk")
	page := "/organisations/" + mine + "/tokens"
	keyRe := regexp.MustCompile(`name="key" value="([^"]+)"`)
	formOf := func(name string) url.Values {
		t.Helper()
		k := keyRe.FindStringSubmatch(s.p.do("GET", page, cookie, nil).body)
		if k == nil {
			t.Fatal("the new-token form carries no key")
		}
		return url.Values{"name": {name}, "days": {"30"}, "key": {k[1]}}
	}
	count := func(name string) int {
		t.Helper()
		return strings.Count(s.p.do("GET", page, cookie, nil).body, `stack-first">`+name+"<")
	}
	f := formOf("CI tool")
	if r := s.p.do("POST", page, cookie, f); r.status != http.StatusCreated {
		t.Fatalf("making the token = %d: %s", r.status, r.body)
	}
	again := s.p.do("POST", page, cookie, f)
	if again.status != http.StatusConflict || !strings.Contains(again.body, "This form was sent twice") {
		t.Errorf("the form sent again = %d: %s", again.status, again.body)
	}
	if n := count("CI tool"); n != 1 {
		t.Errorf("%d tokens named CI tool, want 1", n)
	}

	f = formOf("Uploader")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { s.p.do("POST", page, cookie, f) })
	}
	wg.Wait()
	if n := count("Uploader"); n != 1 {
		t.Errorf("four sends at once: %d tokens named Uploader, want 1", n)
	}
	if r := s.p.do("POST", page, cookie, formOf("Uploader")); r.status != http.StatusCreated {
		t.Errorf("a fresh form = %d, want another token", r.status)
	}
}
