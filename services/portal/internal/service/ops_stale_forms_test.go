package service

import (
	"fmt"
	stdhtml "html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
	"golang.org/x/net/html"
)

var opsVersionRe = regexp.MustCompile(`name="version" value="([^"]+)"`)

// opsVersionOn is the version a console form page carries.
func opsVersionOn(t *testing.T, p *portal, ops, page string) string {
	t.Helper()
	v := opsVersionRe.FindStringSubmatch(opsMustStatus(t, p.do("GET", page, ops, nil), http.StatusOK, page).body)
	if v == nil {
		t.Fatalf("%s: the form carries no version", page)
	}
	return stdhtml.UnescapeString(v[1])
}

// A console form that changes a record at the version it was filled from, sent twice
// (a double click, or the back button and send again), was refused the second time
// as "Someone else changed ... nothing was saved" although the first had saved it:
// when the record now reads as the form typed it, the form leads on as the first did.
// The organisation's contacts and a reviewer's record, as the fund round's correction
// already did.
func TestOpsVersionedFormsSentTwiceLeadOnBothTimes(t *testing.T) {
	t.Parallel()
	s := startStack(t, true)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	twice := func(what, page, action string, sent url.Values) {
		t.Helper()
		sent.Set("version", opsVersionOn(t, s.p, ops, page))
		first := opsMustStatus(t, s.p.do("POST", action, ops, sent), http.StatusSeeOther, what)
		second := s.p.do("POST", action, ops, sent)
		if second.status != http.StatusSeeOther || second.header.Get("Location") != first.header.Get("Location") {
			t.Errorf("%s sent again = %d to %q, want %d to %q: %s", what, second.status, second.header.Get("Location"),
				http.StatusSeeOther, first.header.Get("Location"), text(parse(t, second.body)))
		}
	}

	contacts := "/ops/organisations/" + org + "/contacts"
	twice("the contacts", contacts, contacts, url.Values{"leader.name": {"Prof. Jane Smith"}, "leader.title": {"Vice-Chancellor"},
		"leader.email": {"vc@exampleton.ac.uk"}, "nominated_lead.name": {"Lead"}, "nominated_lead.email": {"lead-a@example.ac.uk"},
		"point_of_contact.name": {"Technical Services Office "}, "plan_page": {"https://www.exampleton.ac.uk/tc"}})

	testenv.Eventually(t, 10*time.Second, func() error { // the review service knows the signatory
		if r := s.p.do("POST", "/ops/review/reviewers", ops, url.Values{"reviewer_id": {"rev.twice"}, "name": {"Rita Twice"},
			"email": {"rita.twice@example.ac.uk"}, "organisation_id": {org}, "trained": {"on"}, "capacity": {"2"}}); r.status != http.StatusSeeOther {
			return fmt.Errorf("registering = %d", r.status)
		}
		return nil
	})
	reviewer := "/ops/review/reviewers/rev.twice"
	twice("the reviewer", reviewer, reviewer, url.Values{"name": {"Rita Twice-Jones"}, "email": {"rita.twice@example.ac.uk"},
		"organisation_id": {org}, "trained": {"true"}, "capacity": {"3"}, "themes": {"recognition", "visibility"}})

	// A form that differs from the record as it stands is still refused, as typed.
	stale := url.Values{"leader.name": {"Prof. Jane Smith"}, "leader.title": {"Acting Vice-Chancellor"},
		"leader.email": {"vc@exampleton.ac.uk"}, "nominated_lead.name": {"Lead"}, "nominated_lead.email": {"lead-a@example.ac.uk"},
		"point_of_contact.name": {"Technical Services Office"}, "plan_page": {"https://www.exampleton.ac.uk/tc"}, "version": {`"1"`}}
	if r := s.p.do("POST", contacts, ops, stale); r.status != http.StatusConflict || !strings.Contains(r.body, "Someone else changed this organisation") {
		t.Errorf("a stale change of contacts = %d: %s", r.status, text(parse(t, r.body)))
	}
}

// The lead's contacts form sent twice (a double click) said the second time that
// someone else had changed the contacts and nothing was saved, though the first had
// saved them: it now leads on to the saved contacts both times.
func TestALeadsContactsSentTwiceLeadOnBothTimes(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	org := onboard(t, p, sig, "University of Exampleton", "lead-a@example.ac.uk")
	cookie := p.signIn("lead-a@example.ac.uk")
	path := "/obligations/" + org + "/contacts"
	page := parse(t, opsMustStatus(t, p.do("GET", path, cookie, nil), http.StatusOK, "the contacts page").body)
	v := url.Values{}
	for _, role := range []string{"leader", "nominated_lead", "point_of_contact"} {
		for _, part := range []string{"name", "title", "email"} {
			v.Set(role+"."+part, value(page, "field-"+role+"-"+part))
		}
	}
	version, _ := hiddenField(page, "version")
	v.Set("version", version)
	v.Set("plan_page", "https://www.example.ac.uk/tc-plan-2027")
	first := opsMustStatus(t, p.do("POST", path, cookie, v), http.StatusSeeOther, "the contacts saved")
	second := p.do("POST", path, cookie, v)
	if second.status != http.StatusSeeOther || second.header.Get("Location") != first.header.Get("Location") {
		t.Errorf("the contacts sent again = %d to %q, want %d to %q: %s", second.status, second.header.Get("Location"),
			http.StatusSeeOther, first.header.Get("Location"), text(parse(t, second.body)))
	}
}

// opsFormFilled is what a console form page would send as it stands: its inputs'
// values (ticked boxes only) and its text areas'.
func opsFormFilled(t *testing.T, body string) url.Values {
	t.Helper()
	doc := parse(t, body)
	filled := url.Values{}
	for _, in := range find(doc, element("input")) {
		if _, checked := attrOK(in, "checked"); attr(in, "name") != "" && (attr(in, "type") != "checkbox" || checked) {
			filled.Add(attr(in, "name"), attr(in, "value"))
		}
	}
	for _, ta := range find(doc, element("textarea")) {
		filled.Set(attr(ta, "name"), text(ta))
	}
	return filled
}

// Two ops people open one record's form; A saves a change, then B saves another from
// the form opened before. B's save was refused with "check what you typed against
// the organisation's page", the form showing only B's typing: pressing save again, as
// the message invited, put A's change back without a word. The refused form now says,
// beside each field the saved record holds otherwise, what it holds now.
func TestOpsStaleFormsShowWhatIsSavedNow(t *testing.T) {
	t.Parallel()
	s := startStack(t, true)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	race := func(what, page, action, field, aTyped, bField, bTyped, want string) {
		t.Helper()
		a := opsFormFilled(t, opsMustStatus(t, s.p.do("GET", page, ops, nil), http.StatusOK, page).body)
		b := opsFormFilled(t, opsMustStatus(t, s.p.do("GET", page, ops, nil), http.StatusOK, page).body)
		a.Set(field, aTyped)
		opsMustStatus(t, s.p.do("POST", action, ops, a), http.StatusSeeOther, what+": A's save")
		b.Set(bField, bTyped)
		r := opsMustStatus(t, s.p.do("POST", action, ops, b), http.StatusConflict, what+": B's save from the stale form")
		doc := parse(t, r.body)
		errorOf := func(field string) []*html.Node {
			return find(doc, func(n *html.Node) bool { return attr(n, "id") == "field-"+strings.ReplaceAll(field, ".", "-")+"-error" })
		}
		shown := errorOf(field)
		if len(shown) == 0 || !strings.Contains(text(shown[0]), want) {
			t.Errorf("%s: B's refused form says nothing of A's %s beside it (want %q): %s", what, field, want, text(doc))
		}
		for _, untouched := range []string{"leader.email", "email", "max_award"} {
			if flagged := errorOf(untouched); len(flagged) > 0 {
				t.Errorf("%s: a field nobody changed is flagged: %s", what, text(flagged[0]))
			}
		}
	}
	race("the contacts", "/ops/organisations/"+org+"/contacts", "/ops/organisations/"+org+"/contacts",
		"point_of_contact.name", "Technicians' Office", "leader.title", "Vice-Chancellor and President", "Technicians' Office")

	testenv.Eventually(t, 10*time.Second, func() error { // the review service knows the signatory
		if r := s.p.do("POST", "/ops/review/reviewers", ops, url.Values{"reviewer_id": {"rev.stale"}, "name": {"Rita Stale"},
			"email": {"rita.stale@example.ac.uk"}, "organisation_id": {org}, "trained": {"on"}, "capacity": {"2"}}); r.status != http.StatusSeeOther {
			return fmt.Errorf("registering = %d", r.status)
		}
		return nil
	})
	race("the reviewer", "/ops/review/reviewers/rev.stale", "/ops/review/reviewers/rev.stale", "capacity", "5", "name", "Rita Stale-Jones", "5")

	year := time.Now().Year() + 1
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", opsToken(t, s.fund, "fund"), map[string]any{
		"name": "Technician Collaboration Fund Stale", "opens": time.Now().AddDate(0, 0, 7).Truncate(time.Minute).Format(time.RFC3339),
		"closes": time.Now().AddDate(0, 2, 0).Truncate(time.Minute).Format(time.RFC3339), "budget_pence": 750000, "min_award_pence": 10000,
		"max_award_pence": 100000, "project_start": fmt.Sprintf("%d-03-01", year), "project_end": fmt.Sprintf("%d-12-31", year),
		"themes": []string{"visibility"}})).JSON(t)["id"].(string)
	race("the round", "/ops/fund/rounds/"+round+"/edit", "/ops/fund/rounds/"+round, "budget", "8,000", "name", "Technician Collaboration Fund (B)", "8,000")
}
