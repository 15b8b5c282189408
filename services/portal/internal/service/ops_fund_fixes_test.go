package service

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
)

// Close on the fund's page closed a round at once, with a fixed reason and a new
// idempotency key on every press, and nothing reopens a closed round. It now leads
// to a page naming the round, its closing time and what it holds, which asks for a
// reason and carries its own key: the closure records the reason typed, and the
// form pressed twice closes the round once, both answers leading back to the rounds.
func TestOpsFundRoundCloseAsksForConfirmationAndAReason(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Closing", "lead-c@example.ac.uk")
	year := time.Now().Year() + 1
	closes := time.Now().AddDate(0, 1, 0).Truncate(time.Minute).UTC()
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", opsToken(t, s.fund, "fund"), map[string]any{
		"name": "Technician Collaboration Fund Closing", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339),
		"closes": closes.Format(time.RFC3339), "budget_pence": 750000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": fmt.Sprintf("%d-03-01", year), "project_end": fmt.Sprintf("%d-12-31", year), "themes": []string{"career_development"}})).JSON(t)["id"].(string)
	opsSubmitApplication(t, s, round, org, "lead-c@example.ac.uk", year)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	closePage := "/ops/fund/rounds/" + round + "/close"
	stillOpen := func(after string) {
		t.Helper()
		if got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t); got["status"] != "open" {
			t.Fatalf("after %s the round is %v", after, got["status"])
		}
	}

	// The rounds link to the confirmation; no form there closes a round.
	doc := parse(t, opsMustStatus(t, s.p.do("GET", "/ops/fund", ops, nil), http.StatusOK, "the fund's page").body)
	if len(find(doc, tagWith("a", "href", closePage))) != 1 {
		t.Errorf("the fund's page has no link to %s", closePage)
	}
	if len(find(doc, tagWith("form", "action", closePage))) != 0 {
		t.Errorf("the fund's page closes the round with one press")
	}
	// A press of the old button, with no reason, closes nothing.
	opsMustStatus(t, s.p.do("POST", closePage, ops, nil), http.StatusBadRequest, "a close with no reason")
	stillOpen("a close with no reason")

	// The page names the round, when it closes and what it holds (its ledger's
	// counts, which may lag the submission by moments).
	var page response
	testenv.Eventually(t, 15*time.Second, func() error {
		page = opsMustStatus(t, s.p.do("GET", closePage, ops, nil), http.StatusOK, "the confirmation page")
		if !strings.Contains(text(parse(t, page.body)), "1 Submitted") {
			return fmt.Errorf("the page does not count the submission: %q", text(parse(t, page.body)))
		}
		return nil
	})
	body := text(parse(t, page.body))
	if when := closes.In(opsLondon()).Format("Monday 2 January 2006, 15:04 MST"); !strings.Contains(body, "Technician Collaboration Fund Closing") || !strings.Contains(body, when) {
		t.Errorf("the page does not name the round and its closing time %s: %q", when, body)
	}
	// Its title is its heading, naming the round, as every page's is.
	if title := find(parse(t, page.body), element("title")); len(title) != 1 || text(title[0]) != "Close Technician Collaboration Fund Closing early – Technician Commitment" {
		t.Errorf("the page's title does not name the round as its heading does: %s", page.body)
	}
	form := url.Values{}
	for _, in := range find(parse(t, page.body), element("input")) {
		form.Set(attr(in, "name"), attr(in, "value"))
	}
	if len(find(parse(t, page.body), tagWith("textarea", "name", "reason"))) != 1 || form.Get("key") == "" {
		t.Fatalf("the page has no reason to type or no key: %s", page.body)
	}

	// No reason: said beside its field, the form keeping its key.
	form.Set("reason", "  ")
	r := opsMustStatus(t, s.p.do("POST", closePage, ops, form), http.StatusBadRequest, "a close with a blank reason")
	if msg := opsFieldMessage(t, r.body, "reason"); !strings.HasSuffix(msg, "Enter reason for closing") {
		t.Errorf("a blank reason says %q beside the field", msg)
	}
	if !strings.Contains(r.body, `value="`+form.Get("key")+`"`) {
		t.Errorf("the form shown again lost its key")
	}
	stillOpen("a close with a blank reason")

	// Pressed twice at once: closed once, both answers back to the rounds.
	form.Set("reason", "The budget is committed.\r\nAll of it.")
	answers := make([]response, 2)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() { answers[i] = s.p.do("POST", closePage, ops, form) })
	}
	wg.Wait()
	for i, a := range answers {
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ops/fund" {
			t.Errorf("press %d = %d to %q: %s", i+1, a.status, a.header.Get("Location"), a.body)
		}
	}
	if got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t); got["status"] != "closed" || got["closed_early"] != true {
		t.Errorf("after the close the round is %v (closed early %v)", got["status"], got["closed_early"])
	}
	var reasons []string
	testenv.Eventually(t, 10*time.Second, func() error {
		if reasons = opsRoundClosures(t, s, round); len(reasons) == 0 {
			return fmt.Errorf("no closure recorded")
		}
		return nil
	})
	if d := cmp.Diff([]string{"The budget is committed. All of it."}, reasons); d != "" {
		t.Errorf("the closures recorded (-want +got):\n%s", d)
	}
	// A closed round's confirmation says it is closed.
	if r := s.p.do("GET", closePage, ops, nil); r.status != http.StatusConflict || !strings.Contains(r.body, "already closed") {
		t.Errorf("the confirmation page of a closed round = %d: %.300s", r.status, r.body)
	}
}

// tagWith finds the elements of a tag whose attribute has a value.
func tagWith(tag, name, value string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == tag && attr(n, name) == value }
}

// opsRoundClosures reads the fund's stream for a round's closures and returns the
// reason each recorded.
func opsRoundClosures(t *testing.T, s *stack, round string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.env.JS.Stream(ctx, events.StreamFund)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		e, err := bus.Envelope(m.Subject, m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type != (events.RoundClosedV1{}).EventType() {
			continue
		}
		var c events.RoundClosedV1
		if err := json.Unmarshal(e.Data, &c); err != nil {
			t.Fatal(err)
		}
		if c.RoundID == round {
			out = append(out, c.Reason)
		}
	}
	return out
}

// The round correction form sent twice (a double click) saved the first time and
// answered the second "Someone else corrected this round ...: nothing was saved",
// though the round held what was typed. Both answers now lead back to the rounds,
// and the round changed once.
func TestOpsRoundCorrectionPressedTwiceLeadsOnBothTimes(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	year := time.Now().Year() + 1
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", opsToken(t, s.fund, "fund"), map[string]any{
		"name": "Technician Collaboration Fund Twice", "opens": time.Now().AddDate(0, 0, 7).Truncate(time.Minute).Format(time.RFC3339),
		"closes": time.Now().AddDate(0, 2, 0).Truncate(time.Minute).Format(time.RFC3339), "budget_pence": 750000, "min_award_pence": 10000,
		"max_award_pence": 100000, "project_start": fmt.Sprintf("%d-03-01", year), "project_end": fmt.Sprintf("%d-12-31", year),
		"themes": []string{"visibility", "career_development"}})).JSON(t)["id"].(string)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	edit := opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/"+round+"/edit", ops, nil), http.StatusOK, "the round's correction form")
	filled := url.Values{}
	for _, in := range find(parse(t, edit.body), element("input")) {
		if _, checked := attrOK(in, "checked"); attr(in, "type") != "checkbox" || checked {
			filled.Add(attr(in, "name"), attr(in, "value"))
		}
	}
	filled.Set("name", "Technician Collaboration Fund Twice (renamed)")
	filled.Set("budget", "8,000")

	answers := make([]response, 2)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() { answers[i] = s.p.do("POST", "/ops/fund/rounds/"+round, ops, filled) })
	}
	wg.Wait()
	// And once more, after both: the same form, sent again.
	answers = append(answers, s.p.do("POST", "/ops/fund/rounds/"+round, ops, filled))
	for i, a := range answers {
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ops/fund" {
			t.Errorf("press %d = %d to %q: %s", i+1, a.status, a.header.Get("Location"), text(parse(t, a.body)))
		}
	}
	got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t)
	if got["name"] != "Technician Collaboration Fund Twice (renamed)" || got["budget_pence"] != float64(800000) || got["version"] != float64(2) {
		t.Errorf("after the presses the round is %q with budget %v at version %v, want renamed, 800000 and 2", got["name"], got["budget_pence"], got["version"])
	}
	// A form that differs from the round as it stands is still refused, as typed.
	filled.Set("name", "Twice, from a stale tab")
	if r := s.p.do("POST", "/ops/fund/rounds/"+round, ops, filled); r.status != http.StatusConflict || !strings.Contains(r.body, "Someone else corrected this round") {
		t.Errorf("a stale correction = %d: %s", r.status, text(parse(t, r.body)))
	}
}

// The applications export held only ids: it now names each application's round and
// organisation (as the console's pages do), says whether its report is received,
// due, overdue or not yet due and what was spent, and a round's export is named
// after the round. Its cells stay safe for a spreadsheet.
func TestOpsApplicationsCSVNamesOrganisationAndRound(t *testing.T) {
	t.Parallel()
	var today time.Time // the portal's, on its clock, which stands still
	day := func(days int) string { return today.AddDate(0, 0, days).Format(time.DateOnly) }
	fund := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/rounds":
			_ = json.NewEncoder(w).Encode(map[string]any{"items": []any{map[string]any{"id": "round-1", "name": "Technician Collaboration Fund 2027"},
				map[string]any{"id": "round-2", "name": "Spring round"}}})
		case "/v1/applications":
			awarded := func(id, org, title string) map[string]any {
				return map[string]any{"id": id, "round_id": "round-1", "organisation_id": org, "title": title, "status": "awarded",
					"requested_amount_pence": 100000, "award_pence": 100000}
			}
			received := awarded("app-1", "org-1", "@SUM(1)")
			received["report_due"], received["report"] = day(-10), map[string]any{"summary": "Done", "spent_pence": 99500}
			due := awarded("app-2", "org-2", "Workshops")
			due["report_due"], due["report_is_due"] = day(20), true
			overdue := awarded("app-3", "org-2", "Exchanges")
			overdue["report_due"], overdue["report_is_due"] = day(-1), true
			running := awarded("app-4", "org-1", "Still running")
			running["report_due"], running["report_is_due"] = day(90), false
			submitted := map[string]any{"id": "app-5", "round_id": "round-2", "organisation_id": "org-3", "title": "New", "status": "submitted",
				"requested_amount_pence": 50000}
			items := []any{received, due, overdue, running, submitted}
			_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "total": len(items)})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fund.Close)
	sig := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		names := map[string]string{"/v1/organisations/org-1": "=Exampleton University", "/v1/organisations/org-2": "University of Pages"}
		name, ok := names[r.URL.Path]
		if !ok {
			http.NotFound(w, r) // org-3: a name not known is left empty, its id beside it
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": strings.TrimPrefix(r.URL.Path, "/v1/organisations/"), "name": name})
	}))
	t.Cleanup(sig.Close)
	p := startPortal(t, services{fund: fund.URL, signatory: sig.URL})
	today = p.clock.Now().In(opsLondon())
	ops := opsSignIn(t, p, oidcdev.LocalOpsEmail)

	exp := opsMustStatus(t, p.do("GET", "/ops/fund/applications.csv?round=round-1", ops, nil), http.StatusOK, "a round's export")
	if want := `attachment; filename="applications-technician-collaboration-fund-2027-` + today.Format(time.DateOnly) + `.csv"`; exp.header.Get("Content-Disposition") != want {
		t.Errorf("the round's export is called %q, want %q", exp.header.Get("Content-Disposition"), want)
	}
	recs, err := csv.NewReader(strings.NewReader(exp.body)).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v\n%s", err, exp.body)
	}
	want := [][]string{
		{"id", "round_id", "organisation_id", "title", "status", "requested_gbp", "awarded_gbp", "submitted_at", "report_due", "round", "organisation", "report", "spent_gbp"},
		{"app-1", "round-1", "org-1", "'@SUM(1)", "awarded", "1000.00", "1000.00", "", day(-10), "Technician Collaboration Fund 2027", "'=Exampleton University", "received", "995.00"},
		{"app-2", "round-1", "org-2", "Workshops", "awarded", "1000.00", "1000.00", "", day(20), "Technician Collaboration Fund 2027", "University of Pages", "due", ""},
		{"app-3", "round-1", "org-2", "Exchanges", "awarded", "1000.00", "1000.00", "", day(-1), "Technician Collaboration Fund 2027", "University of Pages", "overdue", ""},
		{"app-4", "round-1", "org-1", "Still running", "awarded", "1000.00", "1000.00", "", day(90), "Technician Collaboration Fund 2027", "'=Exampleton University", "not_due", ""},
		{"app-5", "round-2", "org-3", "New", "submitted", "500.00", "", "", "", "Spring round", "", "", ""},
	}
	if d := cmp.Diff(want, recs); d != "" {
		t.Errorf("the export (-want +got):\n%s", d)
	}
	// Every round's export, or one of a round nobody knows, is the applications'.
	for _, q := range []string{"", "?round=no-such-round", "?round=%22%0D%0Ax"} {
		exp := opsMustStatus(t, p.do("GET", "/ops/fund/applications.csv"+q, ops, nil), http.StatusOK, "the export "+q)
		if want := `attachment; filename="applications-` + today.Format(time.DateOnly) + `.csv"`; exp.header.Get("Content-Disposition") != want {
			t.Errorf("the export %q is called %q, want %q", q, exp.header.Get("Content-Disposition"), want)
		}
	}
}
