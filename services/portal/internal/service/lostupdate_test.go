package service

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// hidden is the value of the page's hidden field with this name ("" when it has none).
func hidden(doc *html.Node, name string) string {
	v, _ := hiddenField(doc, name)
	return v
}

// staleShown checks a save refused because someone else saved first: the page says
// so at the top and links to what is saved.
func staleShown(t *testing.T, r response, what, link string) *html.Node {
	t.Helper()
	if r.status != http.StatusConflict {
		t.Fatalf("a save over a change made since the page was opened = %d, want 409: %s", r.status, r.body)
	}
	doc := parse(t, r.body)
	alert := find(doc, func(n *html.Node) bool { return attr(n, "role") == "alert" })
	if len(alert) != 1 || !strings.Contains(text(alert[0]), "Someone else saved "+what+" since you opened") ||
		!strings.Contains(text(alert[0]), "Your changes are below, not saved") {
		t.Errorf("the page does not say at the top that the changes were not saved: %s", r.body)
	}
	// The refusal is an error like a field's: the title says so, and the page opens
	// with the focus on it, so a screen reader reads it first.
	if title := find(doc, func(n *html.Node) bool { return n.Data == "title" }); len(title) != 1 || !strings.HasPrefix(text(title[0]), "Error: ") {
		t.Errorf("the refused page's title does not start with \"Error: \": %s", r.body)
	}
	if len(alert) == 1 {
		if _, ok := attrOK(alert[0], "autofocus"); !ok {
			t.Errorf("the page does not open with the focus on the message: %s", r.body)
		}
	}
	if len(find(doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == link })) != 1 {
		t.Errorf("the page does not link to the saved version at %s: %s", link, r.body)
	}
	return doc
}

// Two tabs open the lead's draft; B saves how technicians were consulted, then A
// saves a changed narrative from the page it opened before. A's save must not put
// the old consultation text back over B's: it is refused, A's typing is shown back
// with a message and a link to the saved draft, and A's next save (from that page,
// which now carries the saved version) is applied and the page carries the new one.
func TestTwoTabsSavingOneDraftDoNotOverwriteEachOther(t *testing.T) {
	t.Parallel()
	s, org, cookie := submissionStack(t)
	p := s.p
	editor := "/obligations/" + org + "/submission"

	draft := startDraft(t, s, org, cookie).draft
	open := func() *html.Node {
		t.Helper()
		r := p.do("GET", editor+"?draft="+draft, cookie, nil)
		if r.status != http.StatusOK {
			t.Fatalf("editor = %d: %s", r.status, r.body)
		}
		return parse(t, r.body)
	}
	pageA, pageB := open(), open()
	// saveFrom posts the main form as a page shows it, with changes typed in.
	saveFrom := func(page *html.Node, change map[string]string) response {
		v := mainForm(nil)
		for _, f := range []string{"how_consulted", "participants", "webpage"} {
			v.Set(f, value(page, "field-"+f))
		}
		v.Set("narrative-visibility", value(page, "field-narrative-visibility"))
		v.Set("draft", hidden(page, "draft"))
		if version, ok := hiddenField(page, "version"); ok {
			v.Set("version", version)
		}
		for k, x := range change {
			v.Set(k, x)
		}
		return p.do("POST", editor, cookie, v)
	}

	if r := saveFrom(pageB, map[string]string{"how_consulted": "B's survey of all 140 technicians"}); r.status != http.StatusSeeOther {
		t.Fatalf("B's save = %d: %s", r.status, r.body)
	}
	r := saveFrom(pageA, map[string]string{"narrative-visibility": "A's new narrative on visibility"})
	doc := staleShown(t, r, "this draft", editor+"?draft="+draft)
	if got := value(doc, "field-narrative-visibility"); got != "A's new narrative on visibility" {
		t.Errorf("A's typed narrative is shown back as %q", got)
	}
	stored := storedSubmission(t, s, org, draft)
	if got := stored["content"].(map[string]any)["technician_voice"].(map[string]any)["how_consulted"]; got != "B's survey of all 140 technicians" {
		t.Fatalf("A's refused save changed B's consultation text to %v", got)
	}

	// Checked, A saves again from the page it was shown: that is applied.
	r = saveFrom(doc, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("A's second save = %d: %s", r.status, r.body)
	}
	stored = storedSubmission(t, s, org, draft)
	sa := stored["content"].(map[string]any)["self_assessment"].([]any)
	if got := sa[0].(map[string]any)["narrative"]; got != "A's new narrative on visibility" {
		t.Errorf("A's second save stored the visibility narrative %v", got)
	}
	after := parse(t, p.do("GET", r.header.Get("Location"), cookie, nil).body)
	if got, want := hidden(after, "version"), fmt.Sprintf(`"%v"`, stored["version"]); got != want {
		t.Errorf("after the save the page carries version %s, want %s", got, want)
	}
}

// hiddenField is hidden, and whether the page has the field at all.
func hiddenField(doc *html.Node, name string) (string, bool) {
	for _, n := range find(doc, element("input")) {
		if attr(n, "type") == "hidden" && attr(n, "name") == name {
			return attr(n, "value"), true
		}
	}
	return "", false
}

// Two tabs open the lead's contacts; B names a new head of institution, then A
// saves a new plan page from the page it opened before. A's save must not put the
// old head back (overdue emails go to the head): it is refused, A's typing is shown
// back with a message and a link to the saved contacts, and A's next save from that
// page is applied, keeping B's head.
func TestTwoTabsSavingContactsDoNotOverwriteEachOther(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	org := onboard(t, p, sig, "University of Exampleton", "lead-a@example.ac.uk")
	cookie := p.signIn("lead-a@example.ac.uk")
	path := "/obligations/" + org + "/contacts"

	open := func() *html.Node {
		t.Helper()
		r := p.do("GET", path, cookie, nil)
		if r.status != http.StatusOK {
			t.Fatalf("contacts page = %d: %s", r.status, r.body)
		}
		return parse(t, r.body)
	}
	pageA, pageB := open(), open()
	saveFrom := func(page *html.Node, change map[string]string) response {
		v := url.Values{}
		for _, role := range []string{"leader", "nominated_lead", "point_of_contact"} {
			for _, part := range []string{"name", "title", "email"} {
				v.Set(role+"."+part, value(page, "field-"+role+"-"+part))
			}
		}
		v.Set("plan_page", value(page, "field-plan_page"))
		if version, ok := hiddenField(page, "version"); ok {
			v.Set("version", version)
		}
		for k, x := range change {
			v.Set(k, x)
		}
		return p.do("POST", path, cookie, v)
	}

	if r := saveFrom(pageB, map[string]string{"leader.name": "Prof. Alex Newhead", "leader.email": "head@example.ac.uk"}); r.status != http.StatusSeeOther {
		t.Fatalf("B's save = %d: %s", r.status, r.body)
	}
	r := saveFrom(pageA, map[string]string{"plan_page": "https://www.example.ac.uk/tc-plan-2026"})
	doc := staleShown(t, r, "your contacts", path)
	if got := value(doc, "field-plan_page"); got != "https://www.example.ac.uk/tc-plan-2026" {
		t.Errorf("A's typed plan page is shown back as %q", got)
	}
	saved := open()
	if got := value(saved, "field-leader-email"); got != "head@example.ac.uk" {
		t.Fatalf("A's refused save put the head of institution back: %q", got)
	}
	if got := value(saved, "field-plan_page"); got != "https://www.example.ac.uk/technician-commitment" {
		t.Errorf("A's refused save changed the plan page to %q", got)
	}

	// A, having checked, keeps B's head and saves the plan page again: applied.
	r = saveFrom(doc, map[string]string{"leader.name": "Prof. Alex Newhead", "leader.email": "head@example.ac.uk"})
	if r.status != http.StatusSeeOther {
		t.Fatalf("A's second save = %d: %s", r.status, r.body)
	}
	after := open()
	if value(after, "field-leader-email") != "head@example.ac.uk" || value(after, "field-plan_page") != "https://www.example.ac.uk/tc-plan-2026" {
		t.Errorf("after A's second save: head %q, plan page %q", value(after, "field-leader-email"), value(after, "field-plan_page"))
	}
	if hidden(after, "version") == hidden(doc, "version") || hidden(after, "version") == "" {
		t.Errorf("after the save the page carries version %q, the one it was saved from", hidden(after, "version"))
	}
}
