package service

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// What people really write, which no page may let widen it: an organisation named
// for a Welsh village, a "word" longer than any screen (a pasted identifier), and
// addresses under a long domain.
const (
	reflowOrg    = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch Institute of Advanced Technical Research and Extraordinarily Long Organisation Names"
	reflowLead   = "c.long@llanfairpwllgwyngyllgogerychwyrndrobwll.ac.uk"
	reflowOther  = "Gorsafawddacha'idraigodanheddogleddollônpenrhynareurdraethceredigion College"
	reflowWord   = "Supercalifragilisticexpialidociousantidisestablishmentarianismpneumonoultramicroscopicsilicovolcanoconiosis"
	reflowDomain = "https://www.llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch.ac.uk"
	reflowPlan   = reflowDomain + "/technician-commitment/action-plan-2027/our-technicians-and-their-careers"
	reflowEmail  = "technicians.and.technical.services@llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch.ac.uk"
	// A name as long as many are, of words that each fit any screen: none of them
	// may be drawn broken across two lines.
	reflowPlain = "Engineering and Physical Sciences Research Council"
	reflowRound = "Technician Collaboration Fund 2030: shared equipment and skills exchanges"
	// A fund application's title near the 200 characters the fund takes.
	reflowProject = "Technical skills exchanges in " + reflowWord + " across the region's colleges and institutes"
)

// tooLongForAnyScreen reports whether a word is one of those people wrote that no
// phone's line holds (the Welsh names, the pasted word, an address), which may only
// be broken to fit; every other word moves to the next line whole.
func tooLongForAnyScreen(word string) bool {
	for _, long := range []string{"Llanfairpwll", "llanfairpwll", "Gorsafawddacha", "Supercalifragilistic"} {
		if strings.Contains(word, long) {
			return true
		}
	}
	// An address as long as a phone's line; a short one (technicians@example.ac.uk)
	// fits any screen whole.
	return (strings.Contains(word, "@") || strings.Contains(word, "://")) && len(word) > 32
}

// reflowWidths are a small phone's screen, which is also a 1280 pixel window zoomed
// to 400% (WCAG 1.4.10 Reflow), that window zoomed to 200%, and the window itself.
var reflowWidths = []int64{320, 640, 1280}

// reflowPage is a page to open, with the text it must show for the test to try what
// it means to (a page without the long name would fit the screen for nothing).
type reflowPage struct {
	path  string
	shows []string
}

// Every page fits the screen: at 320, 640 and 1280 pixels wide none scrolls
// sideways, even with a long organisation name, a long unbroken word in a narrative
// and long addresses. A table too wide for the screen scrolls inside its own region,
// text wraps, and the reviewer's score and comment fields stay on the screen, beside
// the narrative on a desktop. A directory search that finds nothing shows no empty
// table but says what to try. No word that fits the screen is drawn broken across
// two lines (a squeezed column broke "Engineering" in the directory at 375 pixels). axe-core checks every page, the tables' scrolling
// regions with them.
func TestPagesFitTheScreenWhateverPeopleWrote(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)

	// The long organisation, with long addresses for its contacts and a draft whose
	// narrative and action plan hold the long word and address.
	org := onboardOn(t, s.p, s.sig, reflowOrg, reflowLead, time.Now().AddDate(0, -13, 0))
	onboardOn(t, s.p, s.sig, reflowPlain, "lead@epsrc.example.ac.uk", time.Now().AddDate(0, -13, 0))
	fundOps, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	fundRound := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", fundOps, map[string]any{
		"name": reflowRound, "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": "2030-01-31T17:00:00Z",
		"budget_pence": 1000000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": "2030-03-01", "project_end": "2030-12-31", "themes": []string{"visibility"},
	})).JSON(t)["id"].(string)
	// The organisation's tool drafts an application with a long title in that round,
	// once the fund knows the organisation.
	tool, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "grants-tool", Role: auth.RoleApplicant, Org: org}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	application := fundDraft(fundRound, reflowLead)
	application["title"] = reflowProject
	testenv.Eventually(t, 15*time.Second, func() error {
		if r := s.fund.Do("POST", "/v1/applications", tool, application); r.Status != http.StatusCreated {
			return fmt.Errorf("drafting the application = %d: %s", r.Status, r.Body)
		}
		return nil
	})
	lead := s.p.signIn(reflowLead)
	contacts := "/obligations/" + org + "/contacts"
	form := formIn(t, s.p.do("GET", contacts, lead, nil).body, contacts)
	form.Set("plan_page", reflowPlan)
	form.Set("point_of_contact.email", reflowEmail)
	if r := s.p.do("POST", contacts, lead, form); r.status != http.StatusSeeOther {
		t.Fatalf("the lead's save of the contacts = %d: %s", r.status, r.body)
	}
	e := startDraft(t, s, org, lead)
	if r := e.post(e.editor(), editorForm(t, s.p, lead, e.editor()+"?draft="+e.draft, map[string]string{"narrative-visibility": "Our " + reflowWord + " at " + reflowPlan, "webpage": reflowPlan})); r.status != http.StatusSeeOther {
		t.Fatalf("saving the draft = %d: %s", r.status, r.body)
	}
	e.setPlan(t, "Fund "+reflowWord+" at "+reflowPlan)

	// Another organisation's submission with the long word and address in every
	// narrative, in a round, assigned to Rita.
	mint := func(pr auth.Principal) string {
		tok, err := s.env.Issuer.MintFor(pr, time.Hour, config.DevAudience("review"))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ops := mint(auth.Principal{Subject: "ops-1", Role: auth.RoleOps})
	sub := submitted(t, s.p, s.review, mint, "org-w", reflowOther, reflowWord+" at "+reflowPlan+"'s")
	registerReviewers(t, s.p, s.review, ops, map[string]any{
		"reviewer_id": "rev-rita", "name": "Rita Reviewer", "email": ritaEmail, "organisation_id": "org-other", "trained": true, "capacity": 2, "conflicts": []string{}})
	round := s.review.Must(http.StatusCreated, s.review.Do("POST", "/v1/review-rounds", ops, map[string]any{"name": "Round 2027",
		"review_deadline": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339), "reviewers_per_submission": 1})).JSON(t)["id"].(string)
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/submissions", ops, map[string]any{"submission_ids": []string{sub}}))
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/assignments", ops, map[string]any{
		"action": "assign", "submission_id": sub, "reviewer_id": "rev-rita", "reason": "Knows the sector"}))
	s.p.waitFor(ritaEmail, func(person signin.Person) bool { return person.Reviewer != nil })
	rita := s.p.signIn(ritaEmail)
	staff := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	// The directory is the signatory service's projection, which may lag its events;
	// so is the fund's list of applications.
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := s.p.do("GET", "/directory", "", nil); !strings.Contains(r.body, reflowEmail) {
			return fmt.Errorf("the directory = %d without the organisation's new point of contact", r.status)
		}
		return nil
	})
	testenv.Eventually(t, 15*time.Second, func() error {
		if r := s.p.do("GET", "/organisations/"+org+"/fund", lead, nil); !strings.Contains(r.body, reflowWord) {
			return fmt.Errorf("the lead's fund applications = %d without the application", r.status)
		}
		return nil
	})

	b := newBrowser(t)
	// Addresses of a hundred letters are kept whole (they are copied), so a table
	// holding one is wider than the page even on a desktop and scrolls in its
	// region; what matters here is that the page itself never does.
	b.AllowWideTables("addresses of a hundred letters, kept whole")
	fits := func(width int64, path string, shows ...string) {
		t.Helper()
		b.Open(s.p.url + path)
		if w := b.PageWidth(); w.ScrollsSideways() {
			t.Errorf("at %dpx %s is %dpx wide: the page scrolls sideways", width, path, w.Scroll)
		}
		for _, word := range b.BrokenWords("main") {
			if !tooLongForAnyScreen(word) {
				t.Errorf("at %dpx %s draws %q broken across two lines", width, path, word)
			}
		}
		if width >= 1280 {
			// A summary's values stand in one column whatever the length of their
			// labels: a long one pushed its value right of the others' (the
			// submission's summary for its reviewer, a review round's).
			values := b.Boxes("main .summary dd")
			for _, v := range values {
				if v.Left != values[0].Left {
					t.Errorf("at %dpx %s has a summary value starting at %.0fpx, where the first starts at %.0fpx: %s", width, path, v.Left, values[0].Left, v.Element)
				}
			}
		}
		main := b.Text(browsertest.CSS("main"))
		for _, want := range shows {
			if !strings.Contains(main, want) {
				t.Errorf("at %dpx %s does not show %q, so the test does not try it: %.300s", width, path, want, main)
			}
		}
	}
	// everyWidth opens the pages at every width as the person signed in with the
	// session cookie ("" for anyone).
	everyWidth := func(session string, pages []reflowPage) {
		t.Helper()
		if session != "" {
			b.SetCookie(s.p.url, session)
		}
		for _, width := range reflowWidths {
			b.SetViewport(width, 900)
			for _, p := range pages {
				fits(width, p.path, p.shows...)
			}
		}
	}

	// Anyone.
	everyWidth("", []reflowPage{
		{"/directory", []string{reflowEmail, reflowPlain}},
		{"/directory?name=zzzz", []string{"Check the spelling"}},
		{"/", nil},
		{"/fund/rounds", []string{reflowRound, "£100 to £1,000"}},
		{"/signin", nil},
		{"/privacy", []string{testContact}},
	})
	// On a phone the public lists are lists, read down the screen: no column is off
	// it, to be scrolled to (the rounds' awards were cut off at the right edge).
	for _, width := range []int64{320, 375, 640} {
		b.SetViewport(width, 900)
		for _, path := range []string{"/directory", "/fund/rounds"} {
			b.Open(s.p.url + path)
			if got := b.ScrollingSideways("main .table-wrap"); len(got) != 0 {
				t.Errorf("at %dpx %s has a table to scroll sideways: %q", width, path, got)
			}
		}
	}
	b.Open(s.p.url + "/directory?name=zzzz")
	if got := b.Boxes("main table"); len(got) != 0 {
		t.Errorf("a search that finds nothing shows %d tables", len(got))
	}
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "No organisation in the directory has a name containing “zzzz”.") ||
		!strings.Contains(got, "search for part of the name") {
		t.Errorf("a search that finds nothing reads %q", got)
	}

	// The lead.
	everyWidth(lead, []reflowPage{
		{"/account", []string{reflowOrg}},
		{"/obligations/" + org, []string{reflowOrg, reflowPlan}},
		{e.editor() + "?draft=" + e.draft, []string{reflowOrg, reflowWord}},
		{"/obligations/" + org + "/contacts", []string{reflowOrg}},
		{"/organisations/" + org + "/tokens", []string{reflowOrg}},
		{"/organisations/" + org + "/fund", []string{reflowOrg, reflowProject, reflowRound}},
	})
	// The lead's tables are lists on a phone too: the obligations' Status, the plan's
	// Change and Remove, a token's Revoke, a fund application's Status were off the
	// right edge at 375 px, to be found by scrolling a table sideways.
	for _, width := range []int64{320, 375, 640} {
		b.SetViewport(width, 900)
		for _, path := range []string{"/obligations/" + org, e.editor() + "?draft=" + e.draft, "/organisations/" + org + "/tokens", "/organisations/" + org + "/fund"} {
			b.Open(s.p.url + path)
			if got := b.ScrollingSideways("main .table-wrap"); len(got) != 0 {
				t.Errorf("at %dpx %s has a table to scroll sideways: %q", width, path, got)
			}
		}
	}

	// The reviewer: the assignments with their Accept and Decline, then the review
	// page, its fields on the screen beside the narrative.
	everyWidth(rita, []reflowPage{{"/reviews", []string{reflowOther}}})
	review := "/reviews/" + round + "/" + sub
	if r := s.p.do("POST", review+"/respond", rita, url.Values{"accept": {"true"}, "next": {"review"}}); r.status != http.StatusSeeOther {
		t.Fatalf("accepting = %d: %s", r.status, r.body)
	}
	for _, width := range reflowWidths {
		b.SetViewport(width, 900)
		fits(width, review, reflowWord)
		client := float64(b.PageWidth().Client)
		fields := b.Boxes(".review-fields")
		if len(fields) != 4 {
			t.Fatalf("at %dpx the review page has %d themes' fields, want 4", width, len(fields))
		}
		for _, f := range fields {
			if f.Left < 0 || f.Right > client {
				t.Errorf("at %dpx a theme's fields are drawn from %.0f to %.0f, off the %.0fpx screen: %s", width, f.Left, f.Right, client, f.Element)
			}
		}
		if width == 1280 {
			for i, text := range b.Boxes(".review-submission") {
				if f := fields[i]; text.Right > f.Left || f.Top != text.Top {
					t.Errorf("at %dpx theme %d's fields (%.0f to %.0f) are not beside its narrative (%.0f to %.0f)", width, i+1, f.Left, f.Right, text.Left, text.Right)
				}
			}
		}
	}

	// ITSS staff.
	everyWidth(staff, []reflowPage{
		{"/ops", nil},
		{"/ops/organisations", []string{reflowOrg}},
		{"/ops/organisations/" + org, []string{reflowOrg, reflowPlan}},
		{"/ops/email", []string{"Your sign-in link"}},
		{"/ops/email/reminders", nil},
		{"/ops/review/reviewers", []string{"Rita Reviewer"}},
		{"/ops/review/rounds/" + round, []string{"Rita Reviewer"}},
		{"/ops/review/rounds/" + round + "/submissions/" + sub, []string{"Reviews of"}},
		{"/ops/review", nil},
		{"/ops/review/reviewers/rev-rita", nil},
		{"/ops/review/reviewers/new", nil},
		{"/ops/review/rounds/new", nil},
		{"/ops/organisations/new", nil},
		{"/ops/fund", nil},
		{"/ops/fund/rounds/new", nil},
		{"/ops/fund/applications", nil},
		{"/ops/dead-letters", nil},
		{"/ops/api-tokens", nil},
		{"/ops/people", nil},
	})
}
