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

	"github.com/itss/techcommit/libs/testenv"
)

// pressed is what a browser sends when the submit button that sends its form to
// action (formaction) is pressed: the fields of the form the button belongs to (its
// form attribute names it), wherever on the page they stand, and the button's own
// name and value.
func pressed(t *testing.T, body, action string) url.Values {
	t.Helper()
	doc := parse(t, body)
	buttons := find(doc, func(n *html.Node) bool { return n.Data == "button" && attr(n, "formaction") == action })
	if len(buttons) != 1 {
		t.Fatalf("the page has %d buttons that send a form to %s: %s", len(buttons), action, body)
	}
	button := buttons[0]
	id := attr(button, "form")
	forms := find(doc, func(n *html.Node) bool { return n.Data == "form" && attr(n, "id") == id })
	if id == "" || len(forms) != 1 {
		t.Fatalf("the button that sends a form to %s names the form %q, which the page has %d of", action, id, len(forms))
	}
	inForm := map[*html.Node]bool{}
	for _, n := range find(forms[0], func(*html.Node) bool { return true }) {
		inForm[n] = true
	}
	v := url.Values{}
	for _, n := range find(doc, func(n *html.Node) bool { return attr(n, "name") != "" }) {
		if owner, named := attrOK(n, "form"); named && owner != id || !named && !inForm[n] {
			continue
		}
		switch n.Data {
		case "input":
			v.Add(attr(n, "name"), attr(n, "value"))
		case "textarea":
			v.Add(attr(n, "name"), text(n))
		case "select":
			options := find(n, element("option"))
			chosen := slices.IndexFunc(options, func(o *html.Node) bool { _, selected := attrOK(o, "selected"); return selected })
			if chosen < 0 && len(options) > 0 {
				chosen = 0 // a browser sends the first option when none is selected
			}
			if chosen >= 0 {
				v.Add(attr(n, "name"), attr(options[chosen], "value"))
			}
		}
	}
	if name := attr(button, "name"); name != "" {
		v.Add(name, attr(button, "value"))
	}
	return v
}

// storedHowConsulted is how technicians were consulted, as the review service holds
// the draft.
func storedHowConsulted(t *testing.T, e draftEditor) any {
	t.Helper()
	return storedSubmission(t, e.s, e.org, e.draft)["content"].(map[string]any)["technician_voice"].(map[string]any)["how_consulted"]
}

// Remove and Carry into this plan are buttons of the editor's form, as Add an action
// and Change are: pressing one saves what the lead typed in the editor, then
// removes or carries the action. They were forms of their own, which acted on the
// draft as last saved: the lead's typing since was dropped.
func TestRemoveAndCarrySaveWhatWasTypedFirst(t *testing.T) {
	t.Parallel()
	s, org, cookie := submissionStack(t)
	e := startDraft(t, s, org, cookie)
	items := e.items()
	const typed = "Typed in the editor just before pressing the button"

	t.Run("remove", func(t *testing.T) {
		e.setPlan(t, "Carry me", "Remove me")
		remove := pressed(t, e.get(e.editor()).body, items+"/1/remove")
		remove.Set("how_consulted", typed)
		if r := e.post(items+"/1/remove", remove); r.status != http.StatusSeeOther {
			t.Fatalf("remove action 2 = %d: %s", r.status, r.body)
		}
		if got := e.plan(t); !slices.Equal(got, []string{"Carry me"}) {
			t.Errorf("after Remove the plan is %v, want [Carry me]", got)
		}
		if got := storedHowConsulted(t, e); got != typed {
			t.Errorf("after Remove the service holds how technicians were consulted as %q, want what was typed, %q", got, typed)
		}
		// Pressed again (a double click): no second action is removed.
		e.refused(t, e.post(items+"/1/remove", remove), planChanged, "Carry me")

		// A field's error: the editor shows it with what was typed, and nothing is
		// saved or removed.
		remove = pressed(t, e.get(e.editor()).body, items+"/0/remove")
		remove.Set("how_consulted", "Typed with a count that is no number")
		remove.Set("participants", "lots")
		doc := fieldShown(t, e.post(items+"/0/remove", remove), "participants")
		if got := value(doc, "field-how_consulted"); got != "Typed with a count that is no number" {
			t.Errorf("the editor shows back how technicians were consulted as %q", got)
		}
		if got := e.plan(t); !slices.Equal(got, []string{"Carry me"}) {
			t.Errorf("after a Remove with a field's error the plan is %v", got)
		}
		if got := storedHowConsulted(t, e); got != typed {
			t.Errorf("after a Remove with a field's error the service holds %q", got)
		}
	})

	// The previous cycle: the draft, complete, submitted; the next cycle's opens.
	if r := e.post(e.editor()+"/submit", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("submit = %d: %s", r.status, r.body)
	}
	var page string
	testenv.Eventually(t, 15*time.Second, func() error {
		page = s.p.do("GET", e.editor(), cookie, nil).body
		if !strings.Contains(page, "Your previous submission") || !strings.Contains(page, "Save draft") {
			return fmt.Errorf("the next cycle's editor reads: %s", page)
		}
		return nil
	})
	next := startDraft(t, s, org, cookie)
	if next.draft == e.draft {
		t.Fatalf("the next cycle's draft is the first's, %s", e.draft)
	}

	t.Run("carry", func(t *testing.T) {
		carry := next.editor() + "/previous/0/carry"
		// Carry's own form of old, without the editor's fields, leaves the editor's
		// parts of the draft alone.
		if r := next.post(carry, url.Values{"progress": {"dropped"}}); r.status != http.StatusSeeOther {
			t.Fatalf("carry without the editor's form = %d: %s", r.status, r.body)
		}
		if got := storedHowConsulted(t, next); got != "A survey and three focus groups" {
			t.Errorf("a carry without the editor's form left how technicians were consulted as %q", got)
		}
		next.setPlan(t)

		form := pressed(t, next.get(next.editor()).body, carry)
		form.Set("how_consulted", typed)
		form.Set("progress-0", "done")
		if r := next.post(carry, form); r.status != http.StatusSeeOther {
			t.Fatalf("carry = %d: %s", r.status, r.body)
		}
		plan := actionPlan(storedSubmission(t, s, org, next.draft))
		if len(plan) != 1 || plan[0].(map[string]any)["action"] != "Carry me" || plan[0].(map[string]any)["progress"] != "done" {
			t.Errorf("after Carry the plan is %v, want Carry me, done", plan)
		}
		if got := storedHowConsulted(t, next); got != typed {
			t.Errorf("after Carry the service holds how technicians were consulted as %q, want what was typed, %q", got, typed)
		}
		// Pressed again: carried once is enough.
		if r := next.post(carry, form); r.status != http.StatusSeeOther {
			t.Fatalf("carry pressed again = %d: %s", r.status, r.body)
		}
		if got := next.plan(t); len(got) != 1 {
			t.Errorf("after Carry pressed twice the plan is %v", got)
		}
	})
}
