package service

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// submissionStack is the whole stack with the review service and one organisation
// whose first obligation's window is open (announced 13 months ago), led by
// lead-a@example.ac.uk, signed in.
func submissionStack(t *testing.T) (s *stack, org, cookie string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the review service")
	}
	s = startStack(t, true)
	org = onboardOn(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk", time.Now().AddDate(0, -13, 0))
	return s, org, s.p.signIn("lead-a@example.ac.uk")
}

// storedSubmissions is what the review service holds for org, asked as its lead.
func storedSubmissions(t *testing.T, s *stack, org string) []map[string]any {
	t.Helper()
	tok, err := s.env.Issuer.MintFor(auth.Principal{Subject: "lead-check", Role: auth.RoleLead, Org: org}, time.Hour, config.DevAudience("review"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, it := range s.review.Must(http.StatusOK, s.review.Do("GET", "/v1/submissions", tok, nil)).JSON(t)["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// storedSubmission is submission id as the review service holds it (read from its
// events, not from its list, which may lag), asked as org's lead.
func storedSubmission(t *testing.T, s *stack, org, id string) map[string]any {
	t.Helper()
	tok, err := s.env.Issuer.MintFor(auth.Principal{Subject: "lead-check", Role: auth.RoleLead, Org: org}, time.Hour, config.DevAudience("review"))
	if err != nil {
		t.Fatal(err)
	}
	return s.review.Must(http.StatusOK, s.review.Do("GET", "/v1/submissions/"+id, tok, nil)).JSON(t)
}

func actionPlan(sub map[string]any) []any {
	return sub["content"].(map[string]any)["action_plan"].([]any)
}

// fieldShown checks a refused page: 400, the error summary linking to each field,
// and each message beside its field.
func fieldShown(t *testing.T, r response, fields ...string) *html.Node {
	t.Helper()
	doc := parse(t, r.body)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", r.status, r.body)
	}
	for _, f := range fields {
		id := "field-" + f
		if len(find(doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#"+id })) != 1 {
			t.Errorf("the error summary does not link to %s", id)
		}
		if len(find(doc, func(n *html.Node) bool { return attr(n, "id") == id+"-error" })) != 1 {
			t.Errorf("no message beside %s", id)
		}
	}
	if t.Failed() {
		t.Logf("page: %s", r.body)
	}
	return doc
}

// value is what the page's field with this id holds (a textarea's text, an input's
// value, a select's selected option).
func value(doc *html.Node, id string) string {
	for _, n := range find(doc, func(n *html.Node) bool { return attr(n, "id") == id }) {
		switch n.Data {
		case "textarea":
			return text(n)
		case "input":
			return attr(n, "value")
		case "select":
			for _, o := range find(n, element("option")) {
				for _, a := range o.Attr {
					if a.Key == "selected" {
						return attr(o, "value")
					}
				}
			}
		}
	}
	return ""
}

// mainForm is the editor's main form, complete but for what the test changes.
func mainForm(change map[string]string) url.Values {
	v := url.Values{"how_consulted": {"A survey and three focus groups"}, "participants": {"120"},
		"webpage": {"https://www.example.ac.uk/technician-commitment"}}
	for _, t := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		v.Set("narrative-"+t, "Where we stand on "+t)
		v.Set("rating-"+t, "2")
	}
	for k, x := range change {
		v.Set(k, x)
	}
	return v
}

// editorForm is the editor's main form as its page sends it: mainForm with change,
// carrying the draft and version that the page at page (the editor, naming the
// draft when there is one) holds, unless change gives them.
func editorForm(t *testing.T, p *portal, cookie, page string, change map[string]string) url.Values {
	t.Helper()
	r := p.do("GET", page, cookie, nil)
	if r.status != http.StatusOK {
		t.Fatalf("the editor at %s = %d: %s", page, r.status, r.body)
	}
	doc := parse(t, r.body)
	v := mainForm(change)
	for _, name := range []string{"draft", "version"} {
		if x, ok := hiddenField(doc, name); ok && v.Get(name) == "" {
			v.Set(name, x)
		}
	}
	return v
}

// A lead drafts the submission in the portal: refused input comes back with each
// message beside its field, what they typed kept and nothing stored; what is
// missing is listed; actions are added, changed and removed; once complete it is
// submitted, and the obligation is met.
func TestLeadDraftsAndSubmitsTheSubmission(t *testing.T) {
	t.Parallel()
	s, org, cookie := submissionStack(t)
	p := s.p
	editor := "/obligations/" + org + "/submission"

	r := p.do("GET", editor, cookie, nil)
	if r.status != http.StatusOK || h1(t, r.body) != "Your submission" || !strings.Contains(r.body, "Save your draft to see what is still missing") ||
		strings.Contains(r.body, "Nothing is missing") {
		t.Fatalf("the empty editor = %d: %s", r.status, r.body)
	}

	// The portal's own check: a count that is no number.
	bad := p.do("POST", editor, cookie, editorForm(t, p, cookie, editor, map[string]string{"participants": "lots", "rating-recognition": "",
		"narrative-recognition": "Our annual award"}))
	doc := fieldShown(t, bad, "participants")
	if got := value(doc, "field-participants"); got != "lots" {
		t.Errorf("participants shown back as %q", got)
	}
	if got := value(doc, "field-narrative-recognition"); got != "Our annual award" {
		t.Errorf("the narrative shown back is %q", got)
	}
	// The service's check: a webpage that is no http address, in its words.
	bad = p.do("POST", editor, cookie, editorForm(t, p, cookie, editor, map[string]string{"webpage": "www.example.ac.uk/tc"}))
	doc = fieldShown(t, bad, "webpage")
	if got := value(doc, "field-webpage"); got != "www.example.ac.uk/tc" {
		t.Errorf("webpage shown back as %q", got)
	}
	if got := value(doc, "field-narrative-sustainability"); got != "Where we stand on sustainability" {
		t.Errorf("the narrative shown back after the service's refusal is %q", got)
	}
	if subs := storedSubmissions(t, s, org); len(subs) != 0 {
		t.Fatalf("refused forms stored %v", subs)
	}

	// The first save starts the draft, once the review service knows the
	// organisation's open obligation from the signatory's events. A draft keeps
	// whatever is written so far: here a theme with only its narrative, and nothing
	// yet on how technicians were consulted.
	var draft, savedAt string
	testenv.Eventually(t, 15*time.Second, func() error {
		r := p.do("POST", editor, cookie, editorForm(t, p, cookie, editor, map[string]string{"rating-recognition": "", "how_consulted": ""}))
		saved, ok := savedDraft(editor, r)
		if !ok {
			return fmt.Errorf("save = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
		}
		draft, savedAt = saved, r.header.Get("Location")
		return nil
	})
	// The pages name the draft, as the browser does by following them: the review
	// service's list of submissions may not have it yet.
	ed := func(method, path string, form url.Values) response {
		if form == nil {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			return p.do(method, path+sep+"draft="+draft, cookie, nil)
		}
		form.Set("draft", draft)
		return p.do(method, path, cookie, form)
	}
	page := p.do("GET", savedAt, cookie, nil)
	if !strings.Contains(shownText(t, page.body), "Your draft was saved.") {
		t.Errorf("the editor after the save does not say it was saved")
	}
	// The action plan's buttons save the editor's form first (they belong to it):
	// the page says so.
	if !strings.Contains(shownText(t, page.body), "Add an action, Change, Remove and Carry into this plan save what you typed above first.") {
		t.Errorf("the editor does not say that its action plan's buttons save what was typed first")
	}
	doc = parse(t, page.body)
	if got := value(doc, "field-rating-visibility"); got != "2" {
		t.Errorf("the saved rating reads %q", got)
	}
	if got := value(doc, "field-participants"); got != "120" {
		t.Errorf("the saved count reads %q", got)
	}
	if got := value(doc, "field-narrative-recognition"); got != "Where we stand on recognition" {
		t.Errorf("the narrative saved without a rating reads %q", got)
	}
	sub := storedSubmission(t, s, org, draft)
	sa := sub["content"].(map[string]any)["self_assessment"].([]any)
	if len(sa) != 4 || sa[1].(map[string]any)["narrative"] != "Where we stand on recognition" || sa[1].(map[string]any)["rating"] != nil {
		t.Errorf("the service holds the self-assessment %v", sa)
	}
	// What is missing is the service's word, beside the fields it is about.
	var missing []string
	for _, m := range sub["missing"].([]any) {
		missing = append(missing, m.(map[string]any)["field"].(string))
	}
	if want := []string{"self_assessment.recognition.rating", "action_plan", "technician_voice.how_consulted"}; !slices.Equal(missing, want) {
		t.Errorf("the service says %v are missing, want %v", missing, want)
	}
	for _, m := range []string{"Give a rating from 1 to 4 for Recognition", "Add at least one action to the action plan", "Say how technicians were consulted"} {
		if !strings.Contains(page.body, m) {
			t.Errorf("the editor does not list %q as missing: %s", m, page.body)
		}
	}

	// Submitting now lists what is missing beside its fields and submits nothing.
	r = ed("POST", editor+"/submit", url.Values{})
	fieldShown(t, r, "rating-recognition", "action_plan", "how_consulted")
	if sub := storedSubmission(t, s, org, draft); sub["status"] != "draft" {
		t.Fatalf("after a refused submit the service holds %v", sub)
	}
	if r := ed("POST", editor, editorForm(t, p, cookie, editor+"?draft="+draft, nil)); r.status != http.StatusSeeOther {
		t.Fatalf("complete the main form = %d: %s", r.status, r.body)
	}

	// Actions: every part is needed, and the date must be a real one.
	items := editor + "/items"
	empty := ed("POST", items, url.Values{})
	fieldShown(t, empty, "theme", "action", "owner", "success_measure", "target_date")
	action := url.Values{"theme": {"recognition"}, "action": {"Start an annual technician award"}, "owner": {"Director of HR"},
		"success_measure": {"Awarded each year"}, "target_day": {"31"}, "target_month": {"2"}, "target_year": {"2027"}}
	doc = fieldShown(t, ed("POST", items, action), "target_date")
	if got := value(doc, "field-owner"); got != "Director of HR" {
		t.Errorf("owner shown back as %q", got)
	}
	if got := value(doc, "field-theme"); got != "recognition" {
		t.Errorf("theme shown back as %q", got)
	}
	if plan := actionPlan(storedSubmission(t, s, org, draft)); len(plan) != 0 {
		t.Fatalf("refused actions stored: %v", plan)
	}
	action.Set("target_day", "28")
	if r := ed("POST", items, action); r.status != http.StatusSeeOther {
		t.Fatalf("add an action = %d: %s", r.status, r.body)
	}
	second := url.Values{"theme": {"sustainability"}, "action": {"Succession plans"}, "owner": {"Head of Technical Services"},
		"success_measure": {"Every specialist role covered"}, "target_day": {"1"}, "target_month": {"9"}, "target_year": {"2028"}, "progress": {""}}
	if r := ed("POST", items, second); r.status != http.StatusSeeOther {
		t.Fatalf("add a second action = %d: %s", r.status, r.body)
	}
	// Change the first action's owner; the form shows the action as saved.
	edit := ed("GET", items+"/0", nil)
	doc = parse(t, edit.body)
	if edit.status != http.StatusOK || value(doc, "field-action") != "Start an annual technician award" || value(doc, "target-month") != "2" {
		t.Fatalf("change form = %d: %s", edit.status, edit.body)
	}
	change := formIn(t, edit.body, items+"/0")
	change.Set("owner", "Pro-Vice-Chancellor (People)")
	if r := ed("POST", items+"/0", change); r.status != http.StatusSeeOther {
		t.Fatalf("change an action = %d: %s", r.status, r.body)
	}
	if r := ed("POST", items+"/1/remove", formIn(t, ed("GET", editor, nil).body, items+"/1/remove")); r.status != http.StatusSeeOther {
		t.Fatalf("remove an action = %d: %s", r.status, r.body)
	}
	// The first save's address, opened again now the draft has changed since (the
	// history, a bookmark), does not say the draft was just saved.
	if again := p.do("GET", savedAt, cookie, nil); strings.Contains(shownText(t, again.body), "Your draft was saved.") {
		t.Errorf("the first save's address says the draft was saved, though it has changed since")
	}
	plan := actionPlan(storedSubmission(t, s, org, draft))
	if len(plan) != 1 || plan[0].(map[string]any)["owner"] != "Pro-Vice-Chancellor (People)" || plan[0].(map[string]any)["target_date"] != "2027-02-28" {
		t.Fatalf("the plan the service holds: %v", plan)
	}
	for _, path := range []string{items + "/1", items + "/x"} {
		if r := ed("GET", path, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, r.status)
		}
	}

	// Nothing is missing now: submit.
	if page := ed("GET", editor, nil); !strings.Contains(page.body, "Nothing is missing") {
		t.Fatalf("the complete draft still lists something missing: %s", page.body)
	}
	r = ed("POST", editor+"/submit", url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != editor+"?received="+draft {
		t.Fatalf("submit = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
	}
	if page := ed("GET", r.header.Get("Location"), nil); !strings.Contains(page.body, "Submission received") || strings.Contains(page.body, "Save draft") {
		t.Fatalf("after submitting the editor reads: %s", page.body)
	}
	if sub := storedSubmission(t, s, org, draft); sub["status"] == "draft" {
		t.Fatalf("after submitting the service holds %v", sub)
	}
	// Its receipt closes the obligation (signatory hears of it through the events)
	// and opens the next cycle's.
	testenv.Eventually(t, 15*time.Second, func() error {
		page := p.do("GET", "/obligations/"+org, cookie, nil)
		if !strings.Contains(page.body, `tag-met`) || !strings.Contains(page.body, "cycle 2") {
			return fmt.Errorf("the obligation is not met yet")
		}
		return nil
	})
	// Submit pressed again (a double click, Back and Submit again), now that the next
	// cycle is open: it lands where the first press did, not on "save your draft".
	if again := ed("POST", editor+"/submit", url.Values{}); again.status != http.StatusSeeOther || again.header.Get("Location") != editor+"?received="+draft {
		t.Errorf("submit pressed again = %d to %q: %s", again.status, again.header.Get("Location"), again.body)
	}
	// The next cycle's editor shows the previous plan, whose action is carried into
	// the new plan with the progress it made.
	// (The previous submission comes from the review service's list, in its own time.)
	testenv.Eventually(t, 15*time.Second, func() error {
		page := ed("GET", editor, nil)
		if !strings.Contains(page.body, "cycle 2") || !strings.Contains(page.body, "Your previous submission") || !strings.Contains(page.body, "Start an annual technician award") {
			return fmt.Errorf("the next cycle's editor reads: %s", page.body)
		}
		return nil
	})
	// Actions go into a saved draft.
	if r := ed("POST", "/obligations/"+org+"/submission/previous/0/carry", url.Values{"progress": {"done"}}); r.status != http.StatusConflict || h1(t, r.body) != "Save your draft first" {
		// The draft named is the first cycle's, received: it is not the open
		// obligation's, so it is not taken for the draft.
		t.Errorf("carry before the draft is saved = %d %q, want 409 asking to save the draft", r.status, h1(t, r.body))
	}
	// The review service hears of the next obligation a moment after the portal may:
	// until then it asks for the draft again (503), and the page says to try again.
	var next string
	testenv.Eventually(t, 15*time.Second, func() error {
		r = ed("POST", editor, editorForm(t, p, cookie, editor+"?draft="+draft, nil))
		var ok bool
		if next, ok = savedDraft(editor, r); !ok {
			if r.status != http.StatusServiceUnavailable {
				t.Fatalf("save the next cycle's draft = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
			}
			return fmt.Errorf("save the next cycle's draft = %d: the review service does not know the next obligation yet", r.status)
		}
		return nil
	})
	if next == draft {
		t.Fatalf("the next cycle's draft is the first's, %s", draft)
	} else {
		draft = next
	}
	if r := ed("POST", "/obligations/"+org+"/submission/previous/0/carry", url.Values{"progress": {"finished"}}); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, `href="#field-progress-0"`) {
		t.Errorf("carry with a progress not offered = %d: %s", r.status, r.body)
	}
	if r := ed("POST", "/obligations/"+org+"/submission/previous/1/carry", url.Values{"progress": {"done"}}); r.status != http.StatusNotFound {
		t.Errorf("carry an action the previous plan does not have = %d", r.status)
	}
	if r := ed("POST", "/obligations/"+org+"/submission/previous/0/carry", url.Values{"progress": {"in_progress"}}); r.status != http.StatusSeeOther {
		t.Fatalf("carry = %d: %s", r.status, r.body)
	}
	plan = actionPlan(storedSubmission(t, s, org, draft))
	if len(plan) != 1 || plan[0].(map[string]any)["progress"] != "in_progress" || plan[0].(map[string]any)["action"] != "Start an annual technician award" {
		t.Fatalf("the next cycle's plan: %v", plan)
	}
	if page := ed("GET", editor, nil); !strings.Contains(page.body, "In progress") {
		t.Errorf("the carried action's progress is not shown: %s", page.body)
	}
	// Carried once is enough: the form gives way to "In this plan", and a second
	// press (a double click, the page open twice) adds nothing.
	if page := ed("GET", editor, nil); !strings.Contains(page.body, "In this plan") || strings.Contains(page.body, "/submission/previous/0/carry") {
		t.Errorf("the carried action is still offered for carrying: %s", page.body)
	}
	if r := ed("POST", "/obligations/"+org+"/submission/previous/0/carry", url.Values{"progress": {"done"}}); r.status != http.StatusSeeOther {
		t.Fatalf("carry again = %d: %s", r.status, r.body)
	}
	if plan = actionPlan(storedSubmission(t, s, org, draft)); len(plan) != 1 {
		t.Errorf("after carrying the action twice the plan holds %d actions, want 1: %v", len(plan), plan)
	}
}

// Signed in as one organisation's lead, every editor and contacts page of another
// organisation is "page not found" and names nothing of it, whatever the method.
func TestSubmissionAndContactsOfAnotherOrganisation(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	onboard(t, p, sig, "University of Exampleton", "lead-a@example.ac.uk")
	theirs := onboard(t, p, sig, "Othertown College", "lead-b@example.ac.uk")
	cookie := p.signIn("lead-a@example.ac.uk")
	base := "/obligations/" + theirs
	for _, req := range []struct{ method, path string }{
		{"GET", base + "/submission"}, {"POST", base + "/submission"}, {"POST", base + "/submission/submit"},
		{"GET", base + "/submission/items/new"}, {"POST", base + "/submission/items"},
		{"GET", base + "/submission/items/0"}, {"POST", base + "/submission/items/0"},
		{"POST", base + "/submission/items/0/remove"}, {"POST", base + "/submission/previous/0/carry"},
		{"GET", base + "/contacts"}, {"POST", base + "/contacts"}, {"GET", base + "/submissions/0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2a47"},
	} {
		r := p.do(req.method, req.path, cookie, url.Values{"action": {"submit"}, "leader.name": {"X"}})
		if r.status != http.StatusNotFound || strings.Contains(r.body, "Othertown") || strings.Contains(r.body, "lead-b") {
			t.Errorf("%s %s as another organisation's lead = %d, want 404 naming nothing", req.method, req.path, r.status)
		}
	}
	// The organisation's own lead reaches them.
	own := p.signIn("lead-b@example.ac.uk")
	if r := p.do("GET", base+"/contacts", own, nil); r.status != http.StatusOK || !strings.Contains(r.body, "Othertown College") {
		t.Errorf("own contacts = %d", r.status)
	}
}

// A lead reads and changes their organisation's contacts: refused input (the
// portal's checks and the signatory service's) is shown beside its field, kept, and
// not stored.
func TestLeadChangesContacts(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	org := onboard(t, p, sig, "University of Exampleton", "lead-a@example.ac.uk")
	cookie := p.signIn("lead-a@example.ac.uk")
	path := "/obligations/" + org + "/contacts"

	r := p.do("GET", path, cookie, nil)
	doc := parse(t, r.body)
	if r.status != http.StatusOK || value(doc, "field-leader-name") != "Prof. Jane Smith" || value(doc, "field-nominated_lead-email") != "lead-a@example.ac.uk" ||
		value(doc, "field-point_of_contact-name") != "Technical Services Office" || value(doc, "field-plan_page") != "https://www.example.ac.uk/technician-commitment" {
		t.Fatalf("contacts page = %d: %s", r.status, r.body)
	}
	form := url.Values{"leader.name": {"Prof. Jane Smith"}, "leader.title": {"Vice-Chancellor"}, "leader.email": {"vc@example.ac.uk"},
		"nominated_lead.name": {"Sam Patel"}, "nominated_lead.email": {"lead-a@example.ac.uk"},
		"point_of_contact.name": {"Technician Office"}, "point_of_contact.email": {"tech@example.ac.uk"},
		"plan_page": {"https://www.example.ac.uk/tc"}, "version": {hidden(doc, "version")}}
	changed := func(k, v string) url.Values {
		c := url.Values{}
		for key, x := range form {
			c[key] = x
		}
		c.Set(k, v)
		return c
	}
	doc = fieldShown(t, p.do("POST", path, cookie, changed("leader.email", "vc at example")), "leader-email")
	if got := value(doc, "field-leader-email"); got != "vc at example" {
		t.Errorf("the refused email is shown back as %q", got)
	}
	// The plan page's form is the service's to check.
	doc = fieldShown(t, p.do("POST", path, cookie, changed("plan_page", "ftp://example.ac.uk/tc")), "plan_page")
	if got := value(doc, "field-point_of_contact-name"); got != "Technician Office" {
		t.Errorf("the typed contact is shown back as %q", got)
	}
	if got := value(parse(t, p.do("GET", path, cookie, nil).body), "field-point_of_contact-name"); got != "Technical Services Office" {
		t.Fatalf("a refused form changed the contacts: %q", got)
	}
	r = p.do("POST", path, cookie, form)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), path+"?saved=") {
		t.Fatalf("save = %d: %s", r.status, r.body)
	}
	savedAt := r.header.Get("Location")
	page := p.do("GET", savedAt, cookie, nil)
	if !strings.Contains(shownText(t, page.body), "Your contacts were saved.") {
		t.Errorf("the contacts after the save do not say they were saved")
	}
	// The notice is of that save: an address kept from an earlier one (a bookmark,
	// the history) says nothing was just saved.
	if earlier := p.do("GET", path+"?saved=1", cookie, nil); strings.Contains(shownText(t, earlier.body), "were saved") {
		t.Errorf("an earlier save's address says the contacts were just saved")
	}
	doc = parse(t, page.body)
	if value(doc, "field-point_of_contact-name") != "Technician Office" || value(doc, "field-plan_page") != "https://www.example.ac.uk/tc" {
		t.Fatalf("the saved contacts read %s", text(doc))
	}
	form.Set("version", hidden(doc, "version")) // as the page shown after the save sends it
	// Naming another nominated lead hands them the pages: the page says so, and
	// once the portal hears of it, the old lead's pages are not found.
	// (confirmed: see TestHandingOverTheLeadAsksToConfirmTheAddress)
	r = p.do("POST", path, cookie, changed("nominated_lead.email", "new-lead@example.ac.uk"))
	r = p.do("POST", path, cookie, formIn(t, r.body, path))
	if r.status != http.StatusOK || h1(t, r.body) != "Your contacts were saved" || !strings.Contains(r.body, "you no longer do") {
		t.Fatalf("handing over = %d: %s", r.status, r.body)
	}
	p.waitFor("new-lead@example.ac.uk", func(person signin.Person) bool { _, ok := person.LeadOf(org); return ok })
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := p.do("GET", path, cookie, nil); r.status != http.StatusNotFound {
			return fmt.Errorf("the old lead's contacts page = %d", r.status)
		}
		return nil
	})
}

// A complete draft before the obligation's window opens is not offered for
// submission (the review service would refuse it): the editor says from when.
func TestACompleteDraftBeforeTheWindowSaysWhenItCanBeSubmitted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	// Announced a month ago: the window opens in eleven months.
	org := onboardOn(t, s.p, s.sig, "University of Earlyton", "lead-e@example.ac.uk", time.Now().AddDate(0, -1, 0))
	cookie := s.p.signIn("lead-e@example.ac.uk")
	editor := "/obligations/" + org + "/submission"
	draft := startDraft(t, s, org, cookie).draft
	target := time.Now().AddDate(1, 6, 0)
	action := url.Values{"draft": {draft}, "theme": {"recognition"}, "action": {"Start an annual technician award"}, "owner": {"Director of HR"},
		"success_measure": {"Awarded each year"}, "target_day": {fmt.Sprint(target.Day())}, "target_month": {fmt.Sprint(int(target.Month()))}, "target_year": {fmt.Sprint(target.Year())}}
	if r := s.p.do("POST", editor+"/items", cookie, action); r.status != http.StatusSeeOther {
		t.Fatalf("add an action = %d: %s", r.status, r.body)
	}
	page := s.p.do("GET", editor+"?draft="+draft, cookie, nil)
	if !strings.Contains(page.body, "Nothing is missing: you can submit it from ") || strings.Contains(page.body, "Nothing is missing: you can submit.") ||
		strings.Contains(page.body, `action="/obligations/`+org+`/submission/submit"`) {
		t.Errorf("a complete draft before its window: %s", page.body)
	}
}
