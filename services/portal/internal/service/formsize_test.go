package service

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// A lead's draft is saved whole at the editor's limits: four narratives of 20,000
// characters of plain English, which the portal used to refuse unread and then save
// as an empty draft over the lead's work, saying it was saved. A form over the
// portal's bound is refused saying it is too long, and the draft is left as it was.
func TestADraftAtTheEditorsLimitsIsSavedAndALongerFormChangesNothing(t *testing.T) {
	t.Parallel()
	s, org, cookie := submissionStack(t)
	p := s.p
	editor := "/obligations/" + org + "/submission"
	draft := startDraft(t, s, org, cookie).draft
	full := map[string]string{"draft": draft, "how_consulted": strings.Repeat("Survey, ", 1000)}
	for _, theme := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		full["narrative-"+theme] = strings.Repeat("Technicians' work is seen & valued; ", 555) + strings.Repeat("x", 20000-555*36)
	}
	form := editorForm(t, p, cookie, editor+"?draft="+draft, full)
	if n := len(form.Encode()); n <= 64<<10 {
		t.Fatalf("the form is %d bytes encoded, not over the old bound", n)
	}
	if r := p.do("POST", editor, cookie, form); r.status != http.StatusSeeOther {
		t.Fatalf("saving a draft at the editor's limits = %d: %s", r.status, r.body)
	}
	narratives := func() []int {
		var out []int
		for _, th := range storedSubmission(t, s, org, draft)["content"].(map[string]any)["self_assessment"].([]any) {
			n, _ := th.(map[string]any)["narrative"].(string)
			out = append(out, len([]rune(n)))
		}
		return out
	}
	if got := fmt.Sprint(narratives()); got != "[20000 20000 20000 20000]" {
		t.Fatalf("the service holds narratives of %s characters, want four of 20000", got)
	}

	over := mainForm(map[string]string{"draft": draft, "narrative-visibility": strings.Repeat("ŵ", 300_000)})
	r := p.do("POST", editor, cookie, over)
	if r.status != http.StatusRequestEntityTooLarge || h1(t, r.body) != "What you sent is too long" || !strings.Contains(r.body, "Nothing was saved") {
		t.Errorf("a form over the bound = %d: %s", r.status, r.body)
	}
	if got := fmt.Sprint(narratives()); got != "[20000 20000 20000 20000]" {
		t.Errorf("after a form over the bound the service holds narratives of %s characters, want them as they were", got)
	}
}

// A form sent after the sign-in ended is not lost without a word: the page says
// nothing was saved and how to send it again, rather than going to the sign-in page.
// It holds what was sent, to send again once signed in, as the page of a service that
// was down does: it told the lead to go back a page, where their browser "should still
// hold what you typed"; a lead who had followed the page's own Sign in link, in the
// same tab, met Chromium's "Confirm Form Resubmission" (ERR_CACHE_MISS) going back. A
// lead who signed in at nine on the day the submission is due is signed out at five.
func TestAFormSentAfterTheSignInEndedSaysItWasNotSaved(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-x", "lead-x@example.ac.uk")
	cookie := p.signIn("lead-x@example.ac.uk")
	p.clock.Advance(8*time.Hour + time.Minute) // PORTAL_SESSION_LIFETIME's default, and a minute
	editor := "/obligations/org-x/submission"
	r := p.do("POST", editor, cookie, mainForm(map[string]string{"narrative-visibility": "An afternoon's writing,\non two lines."}))
	if r.status != http.StatusUnauthorized || h1(t, r.body) != "Your sign-in has ended" || !strings.Contains(r.body, "What you sent was not saved") ||
		!strings.Contains(r.body, `href="/signin"`) {
		t.Errorf("a form sent after the sign-in ended = %d: %s", r.status, r.body)
	}
	if shown := shownText(t, r.body); strings.Contains(shown, "go back a page") {
		t.Errorf("the page sends the lead back to a page that no longer holds what they typed: %s", shown)
	}
	var again *html.Node
	for _, f := range find(parse(t, r.body), element("form")) {
		if attr(f, "action") == editor && strings.EqualFold(attr(f, "method"), "post") {
			again = f
		}
	}
	if again == nil {
		t.Fatalf("the page has no form sending what was typed again to %s: %.3000s", editor, r.body)
	}
	var held []string
	for _, c := range find(again, element("textarea")) {
		held = append(held, text(c))
	}
	if !slices.Contains(held, "An afternoon's writing, on two lines.") ||
		len(find(again, func(n *html.Node) bool { return n.Data == "button" && text(n) == "Send it again" })) != 1 {
		t.Errorf("the form holds %q, want the narrative typed, with Send it again", held)
	}
}
