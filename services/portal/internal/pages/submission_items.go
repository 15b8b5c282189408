package pages

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	"github.com/itss/techcommit/services/portal/internal/templates"

	reviewapi "github.com/itss/techcommit/services/review/api"
)

// The action plan's items, each added, changed or removed on a page of its own (the
// GOV.UK "add another" pattern), and the previous cycle's items carried into this
// plan with the progress they made.
//
// An item is addressed by its place in the plan, which moves when an item before it
// is removed. So every form that changes or removes an item carries the item as its
// page showed it (seen, a digest: see itemRow.Seen), and nothing is changed when
// the item there is another by now: a second press of a button, or another tab.

// maxActions is the most actions a plan holds: the review service's (its
// SubmissionContent's action_plan maxItems).
const maxActions = 200

// fullPlan is what a lead is told when an action would go over maxActions: in the
// service's words it was "must list at most 200 items", naming nothing they wrote.
var fullPlan = fmt.Sprintf("Your plan has %d actions, the most it can hold: remove one from your plan, then add this one.", maxActions)

type itemData struct {
	OrgID, OrgName string
	// N is the item's place in the plan, -1 for a new one.
	N          int
	Form       form.Item
	Themes     []string
	ThemeNames map[string]string
	Progress   []struct{ Value, Text string }
	DraftID    string
	// Seen is the item as the form was first shown (itemRow.Seen), none for a new one.
	Seen string
}

func newItemData(c current, n int, f form.Item, seen string) itemData {
	d := itemData{OrgID: c.org, OrgName: c.orgName, N: n, Form: f, Themes: form.Themes, ThemeNames: map[string]string{}, Progress: form.Progress,
		Seen: seen}
	if c.sub != nil {
		d.DraftID = c.sub.Id
	}
	for _, t := range form.Themes {
		d.ThemeNames[t] = form.ThemeName(t)
	}
	return d
}

// editable is the draft being written; anything else answers the page itself.
// Actions are added to a saved draft, which the main form starts.
func (h *Handler) editable(w http.ResponseWriter, r *http.Request, c current) bool {
	switch {
	case c.open == nil || (c.sub != nil && c.sub.Status != reviewapi.SubmissionStatusDraft):
		h.say(w, r, http.StatusConflict, "There is nothing to submit now", "Your organisation has no submission open for changes.")
		return false
	case c.sub == nil:
		h.show(w, r, http.StatusConflict, "message", "Save your draft first", nil, message{
			Message: "Save your draft; then add the actions of your plan.",
			Link:    "/obligations/" + c.org + "/submission", LinkText: "Go to your draft"})
		return false
	}
	return true
}

// itemIndex is the item in the path, which must be in the plan.
func (h *Handler) itemIndex(w http.ResponseWriter, r *http.Request, c current) (int, bool) {
	n, ok := h.itemPlace(w, r)
	if ok && n >= len(c.items()) {
		h.notFound(w, r)
		return 0, false
	}
	return n, ok
}

// itemPlace is the place in the plan the path names, whether or not an item is there.
func (h *Handler) itemPlace(w http.ResponseWriter, r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		h.notFound(w, r)
		return 0, false
	}
	return n, true
}

// Seen is a digest of the action as its row shows it, which the forms that change or
// remove it carry (see shownStill).
func (row itemRow) Seen() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%q %q %q %q %q %q", row.Theme, row.Action, row.Owner, row.SuccessMeasure, row.Target, row.Progress))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// seen is the digest of an item as the pages show it (itemRow.Seen).
func seen(it reviewapi.ActionItem) string {
	return rows([]reviewapi.ActionItem{it})[0].Seen()
}

// shownStill says the plan's item n is the one the page that sent the form showed
// (the form's seen). When it is not, or is no more, it answers with the plan as it
// now stands, having changed nothing.
func (h *Handler) shownStill(w http.ResponseWriter, r *http.Request, c current, n int) bool {
	items := c.items()
	if n < len(items) && r.PostFormValue("seen") == seen(items[n]) {
		return true
	}
	h.planNow(w, r, c, "Your plan changed since that page was shown (perhaps in another tab): nothing was changed. Here it is now.")
	return false
}

// changedMeanwhile answers an action's form whose change was computed from the
// draft as read, when another save (another tab, another press) changed the draft
// before it was written: the write is sent with the version read (If-Match), so it
// changes nothing, and the editor shows the plan as it now is. Without the version,
// two adds at once each wrote the plan they had read plus their action, and the
// second lost the first's, both answered "saved".
func (h *Handler) changedMeanwhile(w http.ResponseWriter, r *http.Request) {
	_, c, ok := h.submissionOf(w, r)
	if !ok {
		return
	}
	h.planNow(w, r, c, "Your submission changed while this was being saved (perhaps in another tab): nothing was changed. Here it is now.")
}

// planNow answers a form that would not change the plan as the person meant: the
// editor shows the plan as it now stands, and why nothing was changed.
func (h *Handler) planNow(w http.ResponseWriter, r *http.Request, c current, why string) {
	h.show(w, r, http.StatusConflict, "submission", "Your submission", []templates.FieldError{{Field: "action_plan", Message: why}},
		editorData(c, formOf(c.sub)))
}

func itemTitle(n int) string {
	if n < 0 {
		return "Add an action"
	}
	return "Change action " + strconv.Itoa(n+1)
}

func (h *Handler) itemNew(w http.ResponseWriter, r *http.Request) {
	_, c, ok := h.submissionOf(w, r)
	if !ok || !h.editable(w, r, c) {
		return
	}
	h.show(w, r, http.StatusOK, "submission_item", itemTitle(-1), nil, newItemData(c, -1, form.Item{}, ""))
}

func (h *Handler) itemEdit(w http.ResponseWriter, r *http.Request) {
	_, c, ok := h.submissionOf(w, r)
	if !ok || !h.editable(w, r, c) {
		return
	}
	n, ok := h.itemIndex(w, r, c)
	if !ok {
		return
	}
	it := c.items()[n]
	progress := ""
	if it.Progress != nil {
		progress = string(*it.Progress)
	}
	f := form.ItemOf(string(it.Theme), it.Action, it.Owner, it.SuccessMeasure, progress, it.TargetDate.Time)
	h.show(w, r, http.StatusOK, "submission_item", itemTitle(n), nil, newItemData(c, n, f, seen(it)))
}

// itemSave adds an item (no n in the path) or changes item n, the one its form showed.
func (h *Handler) itemSave(w http.ResponseWriter, r *http.Request) {
	set, c, ok := h.submissionOf(w, r)
	if !ok || !h.editable(w, r, c) {
		return
	}
	n := -1
	if r.PathValue("n") != "" {
		if n, ok = h.itemPlace(w, r); !ok {
			return
		}
	}
	// A form shown again keeps the item it was first shown for.
	shown := r.PostForm.Get("seen")
	f, errs := form.ParseItem(r.PostForm)
	if len(errs) > 0 {
		h.show(w, r, http.StatusBadRequest, "submission_item", itemTitle(n), errs, newItemData(c, n, f, shown))
		return
	}
	target, err := time.Parse(time.DateOnly, f.TargetDate())
	if err != nil {
		h.show(w, r, http.StatusBadRequest, "submission_item", itemTitle(n),
			[]templates.FieldError{{Field: "target_date", Message: "Target date must be a real date, like 31 7 2027"}}, newItemData(c, n, f, shown))
		return
	}
	item := reviewapi.ActionItem{Theme: reviewapi.Theme(f.Theme), Action: f.Action, Owner: f.Owner, SuccessMeasure: f.SuccessMeasure,
		TargetDate: openapi_types.Date{Time: target}}
	if f.Progress != "" {
		p := reviewapi.ActionItemProgress(f.Progress)
		item.Progress = &p
	}
	content := contentOf(c.sub)
	at := n
	switch {
	case n < 0 && carried(content.ActionPlan, item):
		h.planNow(w, r, c, "Your plan has this action already (perhaps Save was pressed twice): it was not added again. Here is your plan.")
		return
	case n < 0 && len(content.ActionPlan) >= maxActions:
		h.show(w, r, http.StatusBadRequest, "submission_item", itemTitle(n), []templates.FieldError{{Field: "action", Message: fullPlan}}, newItemData(c, n, f, shown))
		return
	case n < 0:
		at = len(content.ActionPlan)
		content.ActionPlan = append(content.ActionPlan, item)
	case n < len(content.ActionPlan) && seen(content.ActionPlan[n]) == seen(item):
		// Saved already (a second press of Save): nothing to change.
		http.Redirect(w, r, "/obligations/"+c.org+"/submission?"+draftQuery(c)+"#action-plan", http.StatusSeeOther)
		return
	case !h.shownStill(w, r, c, n):
		return
	default:
		content.ActionPlan[n] = item
	}
	_, p, err := h.writeAt(r.Context(), set, c.sub, c.version, content)
	switch {
	case err != nil:
		h.fail(w, r, err)
	case p != nil && p.Status == http.StatusPreconditionFailed:
		h.changedMeanwhile(w, r)
	case p != nil && p.Status == http.StatusBadRequest:
		h.show(w, r, http.StatusBadRequest, "submission_item", itemTitle(n), itemFieldErrors(p, at), newItemData(c, n, f, shown))
	case p != nil:
		h.serviceProblem(w, r, p)
	default:
		http.Redirect(w, r, "/obligations/"+c.org+"/submission?"+draftQuery(c)+"#action-plan", http.StatusSeeOther)
	}
}

// itemFieldErrors puts the service's errors about item at on the item form's fields.
func itemFieldErrors(p *clients.Problem, at int) []templates.FieldError {
	labels := map[string]string{"theme": "Theme", "action": "Action", "owner": "Owner", "success_measure": "Success measure", "target_date": "Target date", "progress": "Progress"}
	prefix := "action_plan." + strconv.Itoa(at) + "."
	var out []templates.FieldError
	for _, fe := range p.Fields() {
		name, ok := strings.CutPrefix(fe.Field, prefix)
		if label, known := labels[name]; ok && known {
			out = append(out, templates.FieldError{Field: name, Message: label + ": " + fe.Message})
			continue
		}
		out = append(out, templates.FieldError{Message: fe.Message})
	}
	if len(out) == 0 {
		out = append(out, templates.FieldError{Message: p.Detail})
	}
	return out
}

// itemRemove takes item n, the one its form showed, out of the plan, once the
// editor's form it comes with is saved (see editorFirst).
func (h *Handler) itemRemove(w http.ResponseWriter, r *http.Request) {
	set, c, ok := h.submissionOf(w, r)
	if !ok || !h.editable(w, r, c) {
		return
	}
	n, ok := h.itemPlace(w, r)
	if !ok {
		return
	}
	if c, ok = h.editorFirst(w, r, set, c); !ok || !h.shownStill(w, r, c, n) {
		return
	}
	content := contentOf(c.sub)
	content.ActionPlan = append(content.ActionPlan[:n], content.ActionPlan[n+1:]...)
	h.saveAndReturn(w, r, set, c, content)
}

// itemCarry copies the previous cycle's item n into this plan with the progress it
// made, once the editor's form it comes with is saved (see editorFirst).
func (h *Handler) itemCarry(w http.ResponseWriter, r *http.Request) {
	set, c, ok := h.submissionOf(w, r)
	if !ok || !h.editable(w, r, c) {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	prev := c.previous()
	if err != nil || prev == nil || n < 0 || n >= len(prev.ActionPlan) {
		h.notFound(w, r)
		return
	}
	if c, ok = h.editorFirst(w, r, set, c); !ok {
		return
	}
	// The editor's form holds a progress for each of the previous plan's items
	// (progress-n); a form of the item's own, its progress alone.
	fields := r.PostForm
	if p := "progress-" + strconv.Itoa(n); fields.Has(p) {
		fields = url.Values{"progress": {fields.Get(p)}}
	}
	progress, errs := form.ParseProgress(fields)
	if len(errs) > 0 {
		errs[0].Field = "progress-" + strconv.Itoa(n)
		h.show(w, r, http.StatusBadRequest, "submission", "Your submission", errs, editorData(c, formOf(c.sub)))
		return
	}
	item := prev.ActionPlan[n]
	content := contentOf(c.sub)
	if carried(content.ActionPlan, item) {
		// Carried already (a second press, or the page open twice): once is enough.
		http.Redirect(w, r, "/obligations/"+c.org+"/submission?"+draftQuery(c)+"#action-plan", http.StatusSeeOther)
		return
	}
	if len(content.ActionPlan) >= maxActions {
		h.planNow(w, r, c, fmt.Sprintf("Your plan has %d actions, the most it can hold: remove one from your plan, then carry this one into it.", maxActions))
		return
	}
	p := reviewapi.ActionItemProgress(progress)
	item.Progress = &p
	content.ActionPlan = append(content.ActionPlan, item)
	h.saveAndReturn(w, r, set, c, content)
}

// editorFirst saves the editor's form, when the request comes with it, before an
// action is removed or carried: their buttons belong to that form, as Add an action's
// and Change's do, so that what was typed since the last save is kept, not dropped.
// (Remove and Carry once had forms of their own, which acted on the draft as last
// saved, and the editor as typed was lost.) A form that holds what the draft holds
// already is not saved again: a second press of Remove (its first saved the form)
// is then answered as the plan now stands, and other tabs' pages are not made stale
// for nothing. It returns c with the draft as saved; when the save is refused (a
// field's error, a change made meanwhile) it has answered with the editor, as typed,
// saying why, and nothing else is changed.
func (h *Handler) editorFirst(w http.ResponseWriter, r *http.Request, set *clients.Set, c current) (current, bool) {
	if !r.PostForm.Has("version") {
		return c, true
	}
	if typed, errs := form.ParseSubmission(r.PostForm); len(errs) == 0 && sameEditor(typed, formOf(c.sub)) {
		return c, true
	}
	saved, ok := h.saveEditor(w, r, set, c)
	if !ok {
		return c, false
	}
	// The service answers a write without the previous cycle, which the editor shows
	// and Carry takes its item from.
	saved.Previous = c.sub.Previous
	c.sub, c.version = saved, httpserver.ETag(saved.Version)
	return c, true
}

// sameEditor says two fillings of the editor's form hold the same.
func sameEditor(a, b form.Submission) bool {
	return slices.Equal(a.Themes, b.Themes) && a.HowConsulted == b.HowConsulted && a.Participants == b.Participants && a.Webpage == b.Webpage
}

// carried says plan already holds item, its progress aside: a previous plan's item
// carried, or an action added already.
func carried(plan []reviewapi.ActionItem, item reviewapi.ActionItem) bool {
	for _, it := range plan {
		if it.Theme == item.Theme && it.Action == item.Action && it.Owner == item.Owner && it.SuccessMeasure == item.SuccessMeasure &&
			it.TargetDate.Time.Equal(item.TargetDate.Time) {
			return true
		}
	}
	return false
}

// saveAndReturn writes content and goes back to the action plan, or shows the
// service's refusal on the editor.
func (h *Handler) saveAndReturn(w http.ResponseWriter, r *http.Request, set *clients.Set, c current, content reviewapi.SubmissionContent) {
	_, p, err := h.writeAt(r.Context(), set, c.sub, c.version, content)
	switch {
	case err != nil:
		h.fail(w, r, err)
	case p != nil && p.Status == http.StatusPreconditionFailed:
		h.changedMeanwhile(w, r)
	case p != nil && p.Status == http.StatusBadRequest:
		h.show(w, r, http.StatusBadRequest, "submission", "Your submission", mainFieldErrors(p, content), editorData(c, formOf(c.sub)))
	case p != nil:
		h.serviceProblem(w, r, p)
	default:
		http.Redirect(w, r, "/obligations/"+c.org+"/submission?"+draftQuery(c)+"#action-plan", http.StatusSeeOther)
	}
}
