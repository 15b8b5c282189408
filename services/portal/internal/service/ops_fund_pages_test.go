package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
)

// The console's applications page read every application of its filter (up to a
// thousand) and showed 50 of them, and its fund page read every application of
// every round to count them by status: both grew with the applications. The page
// now asks the fund for its 50 and the total, with a link to the next page that
// keeps the filters and to the first from the pages after; the fund page takes each
// round's counts from its ledger.
func TestOpsApplicationsAreShownAPageAtATime(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Pages", "lead-p@example.ac.uk")
	year := time.Now().Year() + 1
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", opsToken(t, s.fund, "fund"), map[string]any{
		"name": "Technician Collaboration Fund Pages", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339),
		"closes": time.Now().AddDate(0, 1, 0).Format(time.RFC3339), "budget_pence": 750000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": fmt.Sprintf("%d-03-01", year), "project_end": fmt.Sprintf("%d-12-31", year), "themes": []string{"visibility", "career_development"}})).JSON(t)["id"].(string)
	const n = 52
	opsSubmitApplication(t, s, round, org, "lead-p@example.ac.uk", year) // the first waits for the fund to know the organisation
	for i := 1; i < n; i++ {
		// Each as another of the organisation's tools: the fund limits each caller's writes.
		tok, err := s.fund.Issuer.MintFor(auth.Principal{Subject: fmt.Sprintf("tool-%d-%s", i, org), Role: auth.RoleApplicant, Org: org}, time.Hour, config.DevAudience("fund"))
		if err != nil {
			t.Fatal(err)
		}
		s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/applications", tok, map[string]any{
			"round_id": round, "title": fmt.Sprintf("Project %02d", i), "summary": "Joint workshops.", "themes": []string{"career_development"},
			"requested_amount_pence": 70000, "partners": []map[string]any{{"name": "Partner College"}},
			"endorsement":  map[string]any{"name": "Sam Patel", "email": "lead-p@example.ac.uk"},
			"budget_lines": []map[string]any{{"description": "Consumables", "amount_pence": 70000}},
			"milestones":   []map[string]any{{"description": "Workshop", "due": fmt.Sprintf("%d-06-15", year)}}}))
	}
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	rows := func(doc *html.Node) int { return len(find(doc, element("td"))) / 6 }
	var first *html.Node
	// The fund's list is its view of the applications, which may lag their events.
	testenv.Eventually(t, 15*time.Second, func() error {
		r := s.p.do("GET", "/ops/fund/applications?round="+round, ops, nil)
		first = parse(t, r.body)
		if r.status != http.StatusOK || rows(first) != 50 || !strings.Contains(r.body, fmt.Sprintf("%d applications", n)) {
			return fmt.Errorf("the first page = %d with %d applications", r.status, rows(first))
		}
		return nil
	})
	if !strings.Contains(text(first), fmt.Sprintf("Showing 1 to 50 of %d.", n)) || linkLabelled(first, "First page") != "" {
		t.Errorf("the first page says %q", text(find(first, element("nav"))[len(find(first, element("nav")))-1]))
	}
	// Each row names its organisation (the fund's record holds only its id) and links to it.
	if named := len(find(first, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "a" && attr(n, "href") == "/ops/organisations/"+org && text(n) == "University of Pages"
	})); named != 50 {
		t.Errorf("%d of the 50 rows name the organisation University of Pages with a link to it", named)
	}
	next := linkLabelled(first, "Next page")
	if !strings.HasPrefix(next, "/ops/fund/applications?") || !strings.Contains(next, "round="+round) || !strings.Contains(next, "cursor=") {
		t.Fatalf("the next page's link is %q", next)
	}
	r := opsMustStatus(t, s.p.do("GET", next, ops, nil), http.StatusOK, "the second page")
	second := parse(t, r.body)
	if rows(second) != n-50 || !strings.Contains(text(second), fmt.Sprintf("Showing 51 to %d of %d.", n, n)) || linkLabelled(second, "Next page") != "" {
		t.Errorf("the second page shows %d applications and says %q", rows(second), text(second))
	}
	if l := linkLabelled(second, "First page"); l != "/ops/fund/applications?round="+round+"&status=" {
		t.Errorf("the second page's link to the first is %q", l)
	}
	// A page's place in the list is only ever what its link says, within the total.
	if r := opsMustStatus(t, s.p.do("GET", strings.Replace(next, "from=51", "from=5000", 1), ops, nil), http.StatusOK, "a page claiming to start far off"); !strings.Contains(r.body, fmt.Sprintf("Showing 1 to %d of %d.", n-50, n)) {
		t.Errorf("a made-up start is shown: %q", text(parse(t, r.body)))
	}
	opsMustStatus(t, s.p.do("GET", "/ops/fund/applications?cursor=not-a-cursor", ops, nil), http.StatusBadRequest, "a cursor nobody was given")
	// The fund page and Today count the round's applications by status from its ledger.
	for _, page := range []string{"/ops/fund", "/ops"} {
		body := opsMustStatus(t, s.p.do("GET", page, ops, nil), http.StatusOK, page).body
		if !strings.Contains(body, fmt.Sprintf("%d Draft, 1 Submitted", n-1)) {
			t.Errorf("%s does not count the round's applications by status: %q", page, text(parse(t, body)))
		}
	}
}

// The console's organisations page read every organisation of its status and kind
// (and no more than a thousand) and searched their names itself, to show 50. It now
// asks the signatory service for a page of those whose name holds the search, with
// how many there are, and links to the next page (keeping the filters) and the first.
func TestOpsOrganisationsAreFoundAPageAtATime(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	tok := opsToken(t, s.sig, "signatory")
	const n = 52
	for i := range n {
		s.sig.Must(http.StatusCreated, s.sig.Do("POST", "/v1/organisations", tok, map[string]any{
			"name": fmt.Sprintf("Pager College %02d", i), "kind": "signatory", "sector": "higher_education", "country": "GB", "website": "https://www.example.ac.uk",
			"enquiry_contact": map[string]any{"name": "Sam Patel", "email": fmt.Sprintf("lead%02d@example.ac.uk", i)}}))
	}
	s.sig.Must(http.StatusCreated, s.sig.Do("POST", "/v1/organisations", tok, map[string]any{
		"name": "Other Institute", "kind": "supporter", "sector": "network", "country": "GB", "website": "https://www.example.org",
		"enquiry_contact": map[string]any{"name": "Ann Other", "email": "ann@example.org"}}))
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	rows := func(doc *html.Node) int { return len(find(doc, element("td"))) / 4 }
	var first *html.Node
	testenv.Eventually(t, 15*time.Second, func() error { // the list is the service's view, which may lag
		r := s.p.do("GET", "/ops/organisations?q=PAGER&status=enquiry", ops, nil)
		first = parse(t, r.body)
		if r.status != http.StatusOK || rows(first) != 50 || !strings.Contains(r.body, fmt.Sprintf("%d organisations", n)) {
			return fmt.Errorf("the first page = %d with %d organisations", r.status, rows(first))
		}
		return nil
	})
	next := linkLabelled(first, "Next page")
	if !strings.Contains(text(first), fmt.Sprintf("Showing 1 to 50 of %d.", n)) || !strings.Contains(next, "q=PAGER") || !strings.Contains(next, "status=enquiry") {
		t.Fatalf("the first page's next link is %q", next)
	}
	second := parse(t, opsMustStatus(t, s.p.do("GET", next, ops, nil), http.StatusOK, "the second page").body)
	if rows(second) != n-50 || !strings.Contains(text(second), fmt.Sprintf("Showing 51 to %d of %d.", n, n)) || linkLabelled(second, "First page") != "/ops/organisations?kind=&q=PAGER&status=enquiry" {
		t.Errorf("the second page shows %d organisations: %q", rows(second), text(second))
	}
	// Other Institute, made last, may reach the service's view after the colleges.
	testenv.Eventually(t, 15*time.Second, func() error {
		if r := opsMustStatus(t, s.p.do("GET", "/ops/organisations?q=other", ops, nil), http.StatusOK, "a search"); !strings.Contains(r.body, "Other Institute") || strings.Contains(r.body, "Pager College") {
			return fmt.Errorf("the search for other: %q", text(parse(t, r.body)))
		}
		return nil
	})
	opsMustStatus(t, s.p.do("GET", "/ops/organisations?cursor=not+a+cursor!", ops, nil), http.StatusBadRequest, "a cursor nobody was given")
	if r := s.p.do("GET", "/ops/organisations?q=pager%0Acollege", ops, nil); r.status != http.StatusBadRequest || opsFieldMessage(t, r.body, "q") == "" {
		t.Errorf("a search with a line break = %d", r.status)
	}
}

// A round opened through the fund's API, with seconds in its times, its themes in an
// order of its own and previous grantees let in, is corrected from the console while
// open: the form shows its times to the minute and its themes in the form's order,
// and has no field for the exclusion, yet a correction of its name alone changes its
// name alone. The times left as shown were sent back cut to
// the minute and the themes in the form's order, and the fund refused the correction
// as a change of `opens` (or `themes`).
func TestOpsCorrectAnOpenRoundOpenedThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	year := time.Now().Year() + 1
	opens := time.Now().Add(-time.Hour).Truncate(time.Minute).Add(17 * time.Second).UTC()
	closes := time.Now().AddDate(0, 1, 0).Truncate(time.Minute).Add(42 * time.Second).UTC()
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", opsToken(t, s.fund, "fund"), map[string]any{
		"name": "Technician Collaboration Fund API", "opens": opens.Format(time.RFC3339), "closes": closes.Format(time.RFC3339),
		"budget_pence": 750000, "min_award_pence": 10000, "max_award_pence": 100000, "project_start": fmt.Sprintf("%d-03-01", year),
		"project_end": fmt.Sprintf("%d-12-31", year), "themes": []string{"career_development", "visibility"},
		"exclude_previously_funded": false})).JSON(t)["id"].(string)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	edit := opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/"+round+"/edit", ops, nil), http.StatusOK, "the round's correction form")
	filled := url.Values{}
	for _, in := range find(parse(t, edit.body), element("input")) {
		if _, checked := attrOK(in, "checked"); attr(in, "type") != "checkbox" || checked {
			filled.Add(attr(in, "name"), attr(in, "value"))
		}
	}
	filled.Set("name", "Technician Collaboration Fund API (renamed)")
	r := s.p.do("POST", "/ops/fund/rounds/"+round, ops, filled)
	if r.status != http.StatusSeeOther {
		t.Fatalf("correcting the open round's name: %d %s", r.status, r.body)
	}
	got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t)
	if got["name"] != "Technician Collaboration Fund API (renamed)" || got["opens"] != opens.Format(time.RFC3339) ||
		got["closes"] != closes.Format(time.RFC3339) || got["exclude_previously_funded"] != false || got["version"] != float64(2) {
		t.Errorf("after renaming it the round reads %v, want its times as they were (opens %s, closes %s)", got, opens.Format(time.RFC3339), closes.Format(time.RFC3339))
	}
}

// A round closing at 01:30 BST on the day the clocks go back (01:30 happens twice on
// the London clock) keeps its closing time when the console renames it: the form
// shows the time with its zone, and a time left as shown is sent as the round has it.
func TestOpsRenameKeepsAClosingTimeInTheHourTheClocksGoBack(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	// 00:30 UTC on the last Sunday of October, a day ahead at least.
	var closes time.Time
	for y := time.Now().Year(); closes.IsZero() || !closes.After(time.Now().Add(24*time.Hour)); y++ {
		closes = time.Date(y, 10, 31, 0, 30, 0, 0, time.UTC)
		closes = closes.AddDate(0, 0, -int(closes.Weekday()))
	}
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", opsToken(t, s.fund, "fund"), map[string]any{
		"name": "Technician Collaboration Fund Autumn", "opens": time.Now().Add(-time.Hour).Truncate(time.Minute).Format(time.RFC3339),
		"closes": closes.Format(time.RFC3339), "budget_pence": 750000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": fmt.Sprintf("%d-11-01", closes.Year()), "project_end": fmt.Sprintf("%d-06-30", closes.Year()+1),
		"themes": []string{"visibility"}})).JSON(t)["id"].(string)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	edit := opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/"+round+"/edit", ops, nil), http.StatusOK, "the round's correction form")
	filled := url.Values{}
	for _, in := range find(parse(t, edit.body), element("input")) {
		if _, checked := attrOK(in, "checked"); attr(in, "type") != "checkbox" || checked {
			filled.Add(attr(in, "name"), attr(in, "value"))
		}
	}
	if want := closes.Format("2006-01-02") + " 01:30 BST"; filled.Get("closes") != want {
		t.Errorf("the form shows the closing time as %q, want %q", filled.Get("closes"), want)
	}
	filled.Set("name", "Technician Collaboration Fund Autumn (renamed)")
	r := s.p.do("POST", "/ops/fund/rounds/"+round, ops, filled)
	if r.status != http.StatusSeeOther {
		t.Fatalf("renaming the round: %d %s", r.status, r.body)
	}
	got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t)
	if got["name"] != "Technician Collaboration Fund Autumn (renamed)" || got["closes"] != closes.Format(time.RFC3339) {
		t.Errorf("after renaming it the round is %q closing %v, want it closing as it did, %s", got["name"], got["closes"], closes.Format(time.RFC3339))
	}
	// Another tab, opened before the rename and saved after it, is refused rather
	// than put back the old name without a word; its form comes back as typed.
	if filled.Get("version") == "" {
		t.Fatal("the correction form carries no version")
	}
	filled.Set("name", "Autumn, from a stale tab")
	r = s.p.do("POST", "/ops/fund/rounds/"+round, ops, filled)
	if r.status != http.StatusConflict || !strings.Contains(r.body, "Someone else corrected this round") || !strings.Contains(r.body, "Autumn, from a stale tab") {
		t.Errorf("a correction from a stale tab = %d: %s", r.status, r.body)
	}
	if got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t); got["name"] != "Technician Collaboration Fund Autumn (renamed)" {
		t.Errorf("a correction from a stale tab was applied: the round is %q", got["name"])
	}
}

// The fund marks a project's report due the day after the project ends, a month
// before the report is due by: the console says it is due, and by when, and calls
// it overdue only once its due day has passed on the London clock.
func TestOpsFundPageSaysAReportIsOverdueOnlyAfterItsDueDay(t *testing.T) {
	t.Parallel()
	var today time.Time // the portal's, on its clock, which stands still
	day := func(days int) string { return today.AddDate(0, 0, days).Format(time.DateOnly) }
	app := func(id, title, due string, isDue bool) map[string]any {
		return map[string]any{"id": id, "round_id": "round-1", "organisation_id": "org-" + id, "title": title, "status": "awarded",
			"requested_amount_pence": 70000, "award_pence": 70000, "report_due": due, "report_is_due": isDue}
	}
	fund := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/rounds":
			_ = json.NewEncoder(w).Encode(map[string]any{"items": []any{}, "total": 0})
		case "/v1/applications":
			items := []any{app("a", "Ended last week", day(23), true), app("b", "Due yesterday", day(-1), true),
				app("c", "Still running", day(40), false), app("d", "Due today", day(0), true)}
			_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "total": len(items)})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fund.Close)
	p := startPortal(t, services{fund: fund.URL})
	today = p.clock.Now().In(opsLondon())
	ops := opsSignIn(t, p, oidcdev.LocalOpsEmail)

	page := opsMustStatus(t, p.do("GET", "/ops/fund", ops, nil), http.StatusOK, "the fund's page")
	got := map[string]string{}
	for _, tr := range find(parse(t, page.body), element("tr")) {
		if cells := find(tr, element("td")); len(cells) == 5 {
			got[text(cells[0])] = text(cells[4])
		}
	}
	longDate := func(days int) string { return today.AddDate(0, 0, days).Format("Monday 2 January 2006") }
	want := map[string]string{"Ended last week": "Due " + longDate(23), "Due yesterday": "Overdue", "Still running": "Not yet due",
		"Due today": "Due " + longDate(0)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the reports (-want +got):\n%s", d)
	}
}
