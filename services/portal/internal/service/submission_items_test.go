package service

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/testenv"
)

// formIn is what a browser sends with the form on the page whose action is action:
// its fields as the page fills them.
func formIn(t *testing.T, body, action string) url.Values {
	t.Helper()
	forms := find(parse(t, body), func(n *html.Node) bool { return n.Data == "form" && attr(n, "action") == action })
	if len(forms) == 0 {
		// A button of another form sends that form to action (Remove, Carry).
		return pressed(t, body, action)
	}
	if len(forms) != 1 {
		t.Fatalf("the page has %d forms sent to %s: %s", len(forms), action, body)
	}
	v := url.Values{}
	for _, n := range find(forms[0], func(n *html.Node) bool { return attr(n, "name") != "" }) {
		switch n.Data {
		case "input":
			v.Add(attr(n, "name"), attr(n, "value"))
		case "textarea":
			v.Add(attr(n, "name"), text(n))
		case "select":
			for _, o := range find(n, element("option")) {
				if _, selected := attrOK(o, "selected"); selected {
					v.Add(attr(n, "name"), attr(o, "value"))
				}
			}
		}
	}
	return v
}

// draftEditor is a lead's saved draft, worked on through the editor's pages.
type draftEditor struct {
	s                  *stack
	org, cookie, draft string
}

// startDraft saves the main form, which starts the draft once the review service
// knows the organisation's open obligation.
func startDraft(t *testing.T, s *stack, org, cookie string) draftEditor {
	t.Helper()
	e := draftEditor{s: s, org: org, cookie: cookie}
	editor := e.editor()
	testenv.Eventually(t, 15*time.Second, func() error {
		r := s.p.do("POST", editor, cookie, editorForm(t, s.p, cookie, editor, nil))
		draft, ok := savedDraft(editor, r)
		if !ok {
			return fmt.Errorf("save = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
		}
		e.draft = draft
		return nil
	})
	return e
}

func (e draftEditor) editor() string { return "/obligations/" + e.org + "/submission" }

func (e draftEditor) items() string { return e.editor() + "/items" }

// get and post name the draft, as the pages do: the review service's list may not
// have it yet.
func (e draftEditor) get(path string) response {
	return e.s.p.do("GET", path+"?draft="+e.draft, e.cookie, nil)
}

func (e draftEditor) post(path string, form url.Values) response {
	form.Set("draft", e.draft)
	return e.s.p.do("POST", path, e.cookie, form)
}

// plan is the actions of the plan the review service holds.
func (e draftEditor) plan(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, it := range actionPlan(storedSubmission(t, e.s, e.org, e.draft)) {
		out = append(out, it.(map[string]any)["action"].(string))
	}
	return out
}

// removeFirst removes action 1 with the form the editor shows for it.
func (e draftEditor) removeFirst(t *testing.T) {
	t.Helper()
	if r := e.post(e.items()+"/0/remove", formIn(t, e.get(e.editor()).body, e.items()+"/0/remove")); r.status != http.StatusSeeOther {
		t.Fatalf("remove action 1 = %d: %s", r.status, r.body)
	}
}

// setPlan makes the plan these actions, through the editor's forms.
func (e draftEditor) setPlan(t *testing.T, actions ...string) {
	t.Helper()
	for range e.plan(t) {
		e.removeFirst(t)
	}
	for _, a := range actions {
		f := formIn(t, e.get(e.items()+"/new").body, e.items())
		for k, v := range map[string]string{"theme": "recognition", "action": a, "owner": "Head of Technical Services", "success_measure": "Done",
			"target_day": "31", "target_month": "7", "target_year": "2027"} {
			f.Set(k, v)
		}
		if r := e.post(e.items(), f); r.status != http.StatusSeeOther {
			t.Fatalf("add %q = %d: %s", a, r.status, r.body)
		}
	}
	if got := e.plan(t); !slices.Equal(got, actions) {
		t.Fatalf("the plan is %v, want %v", got, actions)
	}
}

// refused checks a form answered with the editor: 409, saying why, and showing the
// plan as it now stands, which is the plan the service holds.
func (e draftEditor) refused(t *testing.T, r response, why string, want ...string) {
	t.Helper()
	doc := parse(t, r.body)
	if r.status != http.StatusConflict || h1(t, r.body) != "Your submission" || !strings.Contains(text(doc), why) {
		t.Errorf("answer = %d, want 409 with the editor saying %q: %s", r.status, why, r.body)
	}
	var shown []string
	for _, table := range find(doc, element("table")) {
		if strings.Contains(text(table), "Actions in your plan") {
			shown = firstCells(table)
		}
	}
	if !slices.Equal(shown, want) {
		t.Errorf("the editor shows the plan %v, want %v", shown, want)
	}
	if got := e.plan(t); !slices.Equal(got, want) {
		t.Errorf("the service holds the plan %v, want %v", got, want)
	}
}

const planChanged = "Your plan changed since that page was shown (perhaps in another tab): nothing was changed. Here it is now."

// An action is named in the editor's addresses by its place in the plan, which
// moves when an action before it is removed. A form changes or removes only the
// action its page showed, and a new action saved twice is added once; otherwise
// nothing is changed, and the editor shows the plan as it now stands and says why.
func TestActionFormsChangeOnlyTheActionTheyShowed(t *testing.T) {
	t.Parallel()
	s, org, cookie := submissionStack(t)
	e := startDraft(t, s, org, cookie)
	items := e.items()

	t.Run("remove pressed twice removes one action", func(t *testing.T) {
		e.setPlan(t, "One", "Two", "Three")
		remove := formIn(t, e.get(e.editor()).body, items+"/0/remove")
		if r := e.post(items+"/0/remove", remove); r.status != http.StatusSeeOther {
			t.Fatalf("remove action 1 = %d: %s", r.status, r.body)
		}
		e.refused(t, e.post(items+"/0/remove", remove), planChanged, "Two", "Three")
	})

	t.Run("a change in a stale tab changes nothing", func(t *testing.T) {
		e.setPlan(t, "Three", "Four", "Five")
		// Tab 1 opens "Change action 2" (Four); tab 2 then removes action 1.
		change := formIn(t, e.get(items+"/1").body, items+"/1")
		if change.Get("action") != "Four" {
			t.Fatalf("the change form for action 2 shows %v", change)
		}
		e.removeFirst(t)
		change.Set("action", "Four edited")
		e.refused(t, e.post(items+"/1", change), planChanged, "Four", "Five")
		// Removing action 3 from a stale editor, when there is no action 3 now, is
		// refused alike.
		e.refused(t, e.post(items+"/2/remove", url.Values{"seen": {"an action no more"}}), planChanged, "Four", "Five")
		// From the page as it now stands the change is made, pressed twice or not.
		change = formIn(t, e.get(items+"/0").body, items+"/0")
		change.Set("action", "Four edited")
		for range 2 {
			if r := e.post(items+"/0", change); r.status != http.StatusSeeOther {
				t.Fatalf("change action 1 = %d: %s", r.status, r.body)
			}
		}
		if got, want := e.plan(t), []string{"Four edited", "Five"}; !slices.Equal(got, want) {
			t.Errorf("after the change the plan is %v, want %v", got, want)
		}
	})

	t.Run("save pressed twice adds the action once", func(t *testing.T) {
		e.setPlan(t, "Five")
		add := formIn(t, e.get(items+"/new").body, items)
		for k, v := range map[string]string{"theme": "sustainability", "action": "Six", "owner": "Director of HR", "success_measure": "Every role covered",
			"target_day": "1", "target_month": "9", "target_year": "2028"} {
			add.Set(k, v)
		}
		if r := e.post(items, add); r.status != http.StatusSeeOther {
			t.Fatalf("add an action = %d: %s", r.status, r.body)
		}
		e.refused(t, e.post(items, add), "Your plan has this action already (perhaps Save was pressed twice): it was not added again.", "Five", "Six")
	})
}

// savedDraft is the draft a save of the editor led to, when it led back to the
// editor saying that save was made ("?saved=<its version>&draft=<id>").
func savedDraft(editor string, r response) (string, bool) {
	if r.status != http.StatusSeeOther {
		return "", false
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil || u.Path != editor {
		return "", false
	}
	q := u.Query()
	if v, err := strconv.Atoi(q.Get("saved")); err != nil || v < 1 || q.Get("draft") == "" {
		return "", false
	}
	return q.Get("draft"), true
}

// Actions added at once (two tabs, a double press with different words) each land or
// are refused saying the submission changed; none is answered "saved" and then lost.
// Each add reads the draft, appends its action and writes the plan back: written
// without the version read, the later write dropped the earlier's action.
func TestActionsAddedAtOnceAreNeverSavedAndLost(t *testing.T) {
	t.Parallel()
	s, org, cookie := submissionStack(t)
	e := startDraft(t, s, org, cookie)
	form := formIn(t, e.get(e.items()+"/new").body, e.items())
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		f := url.Values{}
		for k, v := range form {
			f[k] = slices.Clone(v)
		}
		for k, v := range map[string]string{"theme": "recognition", "action": fmt.Sprintf("Action %d", i), "owner": "Head of Technical Services",
			"success_measure": "Done", "target_day": "31", "target_month": "7", "target_year": "2027"} {
			f.Set(k, v)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.post(e.items(), f)
			statuses[i] = r.status
			if r.status == http.StatusConflict && !strings.Contains(r.body, "changed while this was being saved") {
				t.Errorf("add %d refused without saying why: %s", i, r.body)
			}
		}()
	}
	wg.Wait()
	var saved []string
	for i, st := range statuses {
		switch st {
		case http.StatusSeeOther:
			saved = append(saved, fmt.Sprintf("Action %d", i))
		case http.StatusConflict:
		default:
			t.Errorf("add %d answered %d", i, st)
		}
	}
	got := e.plan(t)
	slices.Sort(got)
	if !slices.Equal(got, saved) {
		t.Errorf("the plan holds %v, but the adds answered saved for %v", got, saved)
	}
	if len(saved) == 0 {
		t.Error("no add was saved")
	}
}
