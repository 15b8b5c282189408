package pages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	"github.com/itss/techcommit/services/portal/internal/templates"

	reviewapi "github.com/itss/techcommit/services/review/api"
	sigapi "github.com/itss/techcommit/services/signatory/api"
)

// The submission editor: the lead's self-assessment and action plan for their
// organisation's open obligation, kept as a draft in the review service until
// submitted. Every change is a whole draft written back (the service takes the
// content entire), so that a page and the service never disagree on what is saved.

// current is where the organisation's submission stands, as the services say.
type current struct {
	org, orgName string
	// open is the obligation a submission may answer now, if any.
	open *sigapi.Obligation
	// sub is the submission for it, nil until the first save.
	sub *reviewapi.Submission
	// version is sub's ETag as the review service gave it with sub: a save sends it
	// back as If-Match, so that it does not overwrite a change it has not seen.
	version string
	// past are the organisation's earlier submissions, newest first.
	past []reviewapi.Submission
	// today is the London date of the request.
	today time.Time
	// ended says, when nothing is open, that nothing will be: "withdrawn" (an
	// obligation lapsed with a withdrawal) or "done" (a supporter's one action plan
	// is in, and nothing follows it); "" otherwise.
	ended string
}

func (c current) selfAssessment() bool {
	if c.sub != nil {
		return c.sub.Kind == reviewapi.SelfAssessmentAndActionPlan
	}
	return c.open != nil && c.open.Kind == sigapi.SelfAssessmentAndActionPlan
}

// previous is the organisation's last submission before the open one, with its
// action plan: as the review service gives it with the draft, or before the first
// save the latest received submission.
func (c current) previous() *reviewapi.PreviousCycle {
	if c.sub != nil {
		return c.sub.Previous
	}
	if len(c.past) == 0 {
		return nil
	}
	last := c.past[0]
	p := &reviewapi.PreviousCycle{SubmissionId: last.Id, Cycle: last.Cycle, SubmittedAt: last.SubmittedAt, ActionPlan: last.Content.ActionPlan}
	if last.Status == reviewapi.SubmissionStatusFeedbackReleased {
		// Only whether there is feedback to link to matters here.
		p.Feedback = &reviewapi.Feedback{SubmissionId: last.Id}
	}
	return p
}

func (c current) items() []reviewapi.ActionItem {
	if c.sub == nil {
		return nil
	}
	return c.sub.Content.ActionPlan
}

// load reads the open obligation (signatory) and the submissions (review).
//
// The review service lists submissions from a projection that may lag its writes, so
// a draft just started may not be listed yet: the pages then carry its id (draft),
// which is read directly and kept only if it answers the open obligation.
func (h *Handler) load(ctx context.Context, set *clients.Set, org, orgName, draft string) (current, *clients.Problem, error) {
	c := current{org: org, orgName: orgName, today: civilDay(h.clock.Now())}
	limit := 200
	obs, err := set.Signatory.ListObligationsWithResponse(ctx, org, &sigapi.ListObligationsParams{Limit: &limit})
	if err != nil {
		return c, nil, fmt.Errorf("list obligations of %s: %w", org, err)
	}
	if p := clients.Check(obs.HTTPResponse, obs.Body); p != nil {
		return c, p, nil
	}
	for i, ob := range obs.JSON200.Items {
		if ob.Status == sigapi.Open || ob.Status == sigapi.Overdue {
			c.open = &obs.JSON200.Items[i]
		}
	}
	c.ended = ended(obs.JSON200.Items)
	subs, err := set.Review.ListSubmissionsWithResponse(ctx, &reviewapi.ListSubmissionsParams{Limit: &limit})
	if err != nil {
		return c, nil, fmt.Errorf("list submissions of %s: %w", org, err)
	}
	if p := clients.Check(subs.HTTPResponse, subs.Body); p != nil {
		return c, p, nil
	}
	for _, s := range subs.JSON200.Items {
		if s.OrganisationId != org {
			continue
		}
		if c.open != nil && s.ObligationId == c.open.Id {
			// The list leaves out the previous cycle: the submission's own answer has it.
			got, err := set.Review.GetSubmissionWithResponse(ctx, s.Id)
			if err != nil {
				return c, nil, fmt.Errorf("get submission %s: %w", s.Id, err)
			}
			if p := clients.Check(got.HTTPResponse, got.Body); p != nil {
				return c, p, nil
			}
			c.sub, c.version = got.JSON200, got.HTTPResponse.Header.Get("ETag")
			continue
		}
		if s.Status != reviewapi.SubmissionStatusDraft {
			c.past = append(c.past, s)
		}
	}
	if c.sub == nil && c.open != nil && draftID.MatchString(draft) {
		got, err := set.Review.GetSubmissionWithResponse(ctx, draft)
		if err != nil {
			return c, nil, fmt.Errorf("get submission %s: %w", draft, err)
		}
		// Someone else's, or no such submission: as if no id had been given.
		if got.JSON200 != nil && got.JSON200.OrganisationId == org && got.JSON200.ObligationId == c.open.Id {
			c.sub, c.version = got.JSON200, got.HTTPResponse.Header.Get("ETag")
		}
	}
	slices.SortFunc(c.past, func(a, b reviewapi.Submission) int {
		return received(b).Compare(received(a))
	})
	return c, nil, nil
}

// draftID is the form of a submission's id (the review service's ID parameter).
var draftID = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// draftQuery is what the pages add to their addresses and forms to name the draft
// (see load).
func draftQuery(c current) string {
	if c.sub == nil {
		return ""
	}
	return "draft=" + url.QueryEscape(c.sub.Id)
}

func received(s reviewapi.Submission) time.Time {
	if s.SubmittedAt == nil {
		return time.Time{}
	}
	return *s.SubmittedAt
}

// ended says whether an organisation's obligations have come to an end (current.ended):
// one lapsed when it withdrew, or a supporter's only one, an action plan, is met and
// nothing is open (only a signatory's obligations repeat).
func ended(obs []sigapi.Obligation) string {
	for _, ob := range obs {
		if ob.Status == sigapi.Lapsed {
			return "withdrawn"
		}
	}
	if n := len(obs); n > 0 && obs[n-1].Status == sigapi.Met && obs[n-1].Kind == sigapi.ActionPlan {
		return "done"
	}
	return ""
}

// submissionOf is the common start of every editor page: the visitor must lead the
// organisation, and its submission is loaded. It answers the page itself when it
// returns false.
func (h *Handler) submissionOf(w http.ResponseWriter, r *http.Request) (*clients.Set, current, bool) {
	org, set, ok := h.leadOf(w, r)
	if !ok {
		return nil, current{}, false
	}
	v, _ := visitorFrom(r.Context())
	lead, _ := v.person.LeadOf(org)
	c, p, err := h.load(r.Context(), set, org, lead.OrgName, r.FormValue("draft"))
	switch {
	case err != nil:
		h.fail(w, r, err)
		return nil, c, false
	case p != nil:
		h.serviceProblem(w, r, p)
		return nil, c, false
	}
	return set, c, true
}

// itemRow is an action as a row of a table; N is its place in the plan, Num how a
// person counts it.
type itemRow struct {
	N, Num                                       int
	Theme, Action, Owner, SuccessMeasure, Target string
	Progress, ProgressText                       string
	// Carried says a previous plan's action is in this plan already.
	Carried bool
}

// pastRow is one of the organisation's earlier submissions: What it was (its kind
// and cycle) and When (see submissionWhen) say which to its lead; ID is only for the
// link to its feedback.
type pastRow struct {
	ID, What, Received, When, Status string
	Feedback                         bool
}

// previousData is the organisation's last submission before the open one, named by
// When (see submissionWhen); SubmissionID is only for the link to its feedback.
type previousData struct {
	SubmissionID, When string
	Items              []itemRow
	Feedback           bool
}

type submissionData struct {
	OrgID, OrgName string
	// State is "none" (nothing to submit now), "draft" (being written, perhaps not
	// yet saved) or "received".
	State string
	// Ended is current.ended: with State "none", why nothing will be open again.
	Ended          string
	SelfAssessment bool
	What, Due      string
	// Opens is the day the window opens, when that is still to come.
	Opens    string
	Received string
	Saved    bool
	// Started says a draft is saved, to which actions can be added.
	Started bool
	// MaxActions is the most actions a plan holds; Full says this one holds them.
	MaxActions int
	Full       bool
	// DraftID names the draft in the pages' addresses and forms (see load).
	DraftID string
	// Version is the version of the draft the main form was filled from, which its
	// save sends back (see seenVersion).
	Version string
	// Stale, when set, says the save was refused because the draft was saved by
	// someone else since the page was opened, and is the address of the saved draft.
	Stale    string
	Form     form.Submission
	Items    []itemRow
	Missing  []templates.FieldError
	Previous *previousData
	Past     []pastRow
	// ReceivedID is the submission received, whose page shows it as sent.
	ReceivedID string
	Progress   []struct{ Value, Text string }
	ThemeNames map[string]string
}

func rows(items []reviewapi.ActionItem) []itemRow {
	out := make([]itemRow, 0, len(items))
	for i, it := range items {
		row := itemRow{N: i, Num: i + 1, Theme: form.ThemeName(string(it.Theme)), Action: it.Action, Owner: it.Owner, SuccessMeasure: it.SuccessMeasure,
			Target: longDate(it.TargetDate.Time)}
		if it.Progress != nil {
			row.Progress = string(*it.Progress)
			row.ProgressText = progressText(row.Progress)
		}
		out = append(out, row)
	}
	return out
}

func progressText(p string) string {
	for _, o := range form.Progress {
		if o.Value == p {
			return o.Text
		}
	}
	return p
}

// formOf is the main form as the service holds the draft.
func formOf(s *reviewapi.Submission) form.Submission {
	var f form.Submission
	var c reviewapi.SubmissionContent
	if s != nil {
		c = s.Content
	}
	for _, t := range form.Themes {
		a := form.ThemeAnswer{Theme: t}
		for _, sa := range c.SelfAssessment {
			if string(sa.Theme) == t {
				a.Narrative, a.Rating = deref(sa.Narrative), deref(sa.Rating)
			}
		}
		f.Themes = append(f.Themes, a)
	}
	f.HowConsulted = deref(c.TechnicianVoice.HowConsulted)
	if c.TechnicianVoice.Participants > 0 {
		f.Participants = strconv.Itoa(c.TechnicianVoice.Participants)
	}
	f.Webpage = c.Webpage
	return f
}

// editorData is the page's data for c, with f as the form shows it.
func editorData(c current, f form.Submission) submissionData {
	d := submissionData{OrgID: c.org, OrgName: c.orgName, State: "none", Ended: c.ended, SelfAssessment: c.selfAssessment(), Form: f,
		Items: rows(c.items()), Progress: form.Progress, ThemeNames: map[string]string{}, Started: c.sub != nil,
		MaxActions: maxActions, Full: len(c.items()) >= maxActions}
	d.Version = unsaved
	if c.sub != nil {
		d.DraftID, d.Version = c.sub.Id, c.version
	}
	for _, t := range form.Themes {
		d.ThemeNames[t] = form.ThemeName(t)
	}
	if c.open != nil {
		d.State = "draft"
		d.What = obligationKind(string(c.open.Kind), c.open.Cycle)
		d.Due = longDate(c.open.Due.Time)
		if c.open.WindowOpens.Time.After(c.today) {
			d.Opens = longDate(c.open.WindowOpens.Time)
		}
	}
	if c.sub != nil && c.sub.Status != reviewapi.SubmissionStatusDraft {
		d.State, d.ReceivedID = "received", c.sub.Id
		d.What = submissionKind(c.sub)
		if c.sub.SubmittedAt != nil {
			d.Received = longDate(c.sub.SubmittedAt.In(london))
		}
	}
	if d.State == "draft" && c.sub != nil {
		d.Missing = missingOf(c.sub)
	}
	if p := c.previous(); p != nil {
		d.Previous = &previousData{SubmissionID: p.SubmissionId, Items: rows(p.ActionPlan), Feedback: p.Feedback != nil}
		if c.sub != nil {
			for i, it := range p.ActionPlan {
				d.Previous.Items[i].Carried = carried(contentOf(c.sub).ActionPlan, it)
			}
		}
		d.Previous.When = submissionWhen(p.Cycle, p.SubmittedAt)
	}
	for _, s := range c.past {
		row := pastRow{ID: s.Id, What: submissionKind(&s), When: submissionWhen(s.Cycle, s.SubmittedAt), Status: pastStatus(s.Status),
			Feedback: s.Status == reviewapi.SubmissionStatusFeedbackReleased}
		if c.ended == "withdrawn" && !row.Feedback {
			// The review service took its reviewers off it at the withdrawal.
			row.Status = noLongerReviewed
		}
		if s.SubmittedAt != nil {
			row.Received = longDate(s.SubmittedAt.In(london))
		}
		d.Past = append(d.Past, row)
	}
	return d
}

// submissionWhen names one of the organisation's submissions as its lead knows it:
// by its cycle and the day it was received ("Cycle 1, received Friday 4 December
// 2026"), or as much of that as the service says; never by the service's id for it,
// which says nothing to a person. It is "" when neither is known.
func submissionWhen(cycle *int, submittedAt *time.Time) string {
	var parts []string
	if cycle != nil && *cycle > 0 {
		parts = append(parts, "cycle "+strconv.Itoa(*cycle))
	}
	if submittedAt != nil {
		parts = append(parts, "received "+longDate(submittedAt.In(london)))
	}
	return opsSentence(strings.Join(parts, ", "))
}

// civilDay is the London date of t as the services give dates (midnight UTC).
func civilDay(t time.Time) time.Time {
	y, m, d := t.In(london).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// noLongerReviewed is the status of a submission without feedback from an
// organisation that withdrew: the review service takes its reviewers off it, and
// releases feedback on it only from reviews returned before then.
const noLongerReviewed = "No longer peer-reviewed: the organisation withdrew"

func pastStatus(s reviewapi.SubmissionStatus) string {
	switch s {
	case reviewapi.SubmissionStatusSubmitted:
		return "Received"
	case reviewapi.SubmissionStatusInReview:
		return "In review"
	case reviewapi.SubmissionStatusFeedbackReleased:
		return "Feedback released"
	}
	return string(s)
}

// submissionShow is the editor.
func (h *Handler) submissionShow(w http.ResponseWriter, r *http.Request) {
	set, c, ok := h.submissionOf(w, r)
	if !ok {
		return
	}
	d := editorData(c, formOf(c.sub))
	d.Saved = c.sub != nil && r.URL.Query().Get("saved") == strconv.Itoa(c.sub.Version)
	// Just submitted: say so, even when the organisation's next obligation is
	// already open for its own draft. The submission is read by its id, since the
	// service's list may not show it received yet.
	if id := r.URL.Query().Get("received"); draftID.MatchString(id) {
		resp, err := set.Review.GetSubmissionWithResponse(r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if s := resp.JSON200; s != nil && s.OrganisationId == c.org && s.Status != reviewapi.SubmissionStatusDraft {
			d.State, d.What, d.Received, d.ReceivedID = "received", submissionKind(s), "", s.Id
			if s.SubmittedAt != nil {
				d.Received = longDate(s.SubmittedAt.In(london))
			}
		}
	}
	h.show(w, r, http.StatusOK, "submission", "Your submission", nil, d)
}

// submissionSave saves the main form as the draft (the first save starts it).
func (h *Handler) submissionSave(w http.ResponseWriter, r *http.Request) {
	set, c, ok := h.submissionOf(w, r)
	if !ok {
		return
	}
	saved, ok := h.saveEditor(w, r, set, c)
	if !ok {
		return
	}
	if saved.Status != reviewapi.SubmissionStatusDraft {
		// Submit, pressed with this same form, saved and submitted it meanwhile.
		http.Redirect(w, r, "/obligations/"+c.org+"/submission?received="+url.QueryEscape(saved.Id), http.StatusSeeOther)
		return
	}
	c.sub = saved
	// The editor's buttons that leave it for an action's page (Add an action, Change)
	// send the editor's form first, so that what was typed is saved, not lost.
	items := "/obligations/" + c.org + "/submission/items/"
	switch then := r.PostForm.Get("then"); {
	case then == "add-action":
		http.Redirect(w, r, items+"new?"+draftQuery(c), http.StatusSeeOther)
		return
	case strings.HasPrefix(then, "change-"):
		if n, err := strconv.Atoi(strings.TrimPrefix(then, "change-")); err == nil && n >= 0 {
			http.Redirect(w, r, items+strconv.Itoa(n)+"?"+draftQuery(c), http.StatusSeeOther)
			return
		}
	}
	// The notice is of this save (its version): shown while the draft is as it left
	// it, not whenever the address is opened again (a bookmark, the history).
	http.Redirect(w, r, "/obligations/"+c.org+"/submission?saved="+strconv.Itoa(saved.Version)+"&"+draftQuery(c), http.StatusSeeOther)
}

// saveEditor saves the editor's form as the draft, at the version the form was
// filled from, and returns the draft as saved; when it cannot (a field's error, a
// change made meanwhile, nothing open) it has answered with the editor saying why,
// and the form as typed. A change made meanwhile that saved just what this form holds
// (the same form sent twice) is no reason: the draft is returned as that left it,
// which may be submitted by now.
func (h *Handler) saveEditor(w http.ResponseWriter, r *http.Request, set *clients.Set, c current) (*reviewapi.Submission, bool) {
	if c.open == nil || (c.sub != nil && c.sub.Status != reviewapi.SubmissionStatusDraft) {
		h.say(w, r, http.StatusConflict, "There is nothing to submit now", "Your organisation has no submission open for changes.")
		return nil, false
	}
	seen := r.PostForm.Get("version")
	version, versioned := seenVersion(seen)
	if seen != unsaved && !versioned {
		h.versionMissing(w, r, "/obligations/"+c.org+"/submission?"+draftQuery(c))
		return nil, false
	}
	f, errs := form.ParseSubmission(r.PostForm)
	// A page shown again keeps the version its form was filled from, so that its
	// next save is still checked against that.
	again := func(c current, f form.Submission) submissionData {
		d := editorData(c, f)
		if seen != "" {
			d.Version = seen
		}
		return d
	}
	if len(errs) > 0 {
		h.show(w, r, http.StatusBadRequest, "submission", "Your submission", errs, again(c, f))
		return nil, false
	}
	if seen == unsaved && c.sub != nil {
		// Opened before any draft was saved, and someone has saved one since.
		h.staleDraft(w, r, c, f)
		return nil, false
	}
	content := contentOf(c.sub)
	content.SelfAssessment = content.SelfAssessment[:0]
	// Whatever the lead has written so far is saved: the service keeps an incomplete
	// draft and says what is still missing.
	for _, a := range f.Themes {
		if a.Narrative != "" || a.Rating > 0 {
			content.SelfAssessment = append(content.SelfAssessment, reviewapi.ThemeAssessment{Theme: reviewapi.Theme(a.Theme),
				Narrative: given(a.Narrative), Rating: given(a.Rating)})
		}
	}
	content.TechnicianVoice = reviewapi.TechnicianVoice{HowConsulted: given(f.HowConsulted), Participants: f.ParticipantCount()}
	content.Webpage = f.Webpage
	saved, p, err := h.writeAt(r.Context(), set, c.sub, version, content)
	switch {
	case err != nil:
		h.fail(w, r, err)
		return nil, false
	case p != nil && p.Status == http.StatusBadRequest:
		h.show(w, r, http.StatusBadRequest, "submission", "Your submission", mainFieldErrors(p, content), again(c, f))
		return nil, false
	case p != nil && p.Status == http.StatusPreconditionFailed:
		// Changed since the form was filled: by someone else, or by this same form
		// sent twice (Submit double-clicked), whose other press saved just this.
		now, same, err := h.holdsAlready(r.Context(), set, c.sub.Id, content)
		switch {
		case err != nil:
			h.fail(w, r, err)
			return nil, false
		case same:
			return now, true
		}
		h.staleDraft(w, r, c, f)
		return nil, false
	case p != nil:
		h.serviceProblem(w, r, p)
		return nil, false
	}
	return saved, true
}

// holdsAlready reads the draft afresh and says whether it holds content already,
// the whole of it, as a save of content made now would leave it: then a save that
// lost to a change made meanwhile loses nothing by not being made, since that change
// was this one (the same form sent twice). The draft is returned as it stands, which
// may be submitted by now.
func (h *Handler) holdsAlready(ctx context.Context, set *clients.Set, id string, content reviewapi.SubmissionContent) (*reviewapi.Submission, bool, error) {
	got, err := set.Review.GetSubmissionWithResponse(ctx, id)
	if err != nil {
		return nil, false, fmt.Errorf("get submission %s: %w", id, err)
	}
	if got.JSON200 == nil {
		return nil, false, nil
	}
	want, err := json.Marshal(contentOf(&reviewapi.Submission{Content: content}))
	if err != nil {
		return nil, false, fmt.Errorf("encode content: %w", err)
	}
	held, err := json.Marshal(contentOf(got.JSON200))
	if err != nil {
		return nil, false, fmt.Errorf("encode submission %s: %w", id, err)
	}
	return got.JSON200, bytes.Equal(want, held), nil
}

// submissionSubmit submits the draft once nothing is missing: as the editor's form
// has it, saved first, when the form comes with the request (the editor's button). What is missing,
// as the review service says with the draft, is shown all at once beside the fields
// it is about, and nothing is sent until it is there.
func (h *Handler) submissionSubmit(w http.ResponseWriter, r *http.Request) {
	set, c, ok := h.submissionOf(w, r)
	if !ok {
		return
	}
	if received, err := h.receivedAlready(r, set, c); err != nil {
		h.fail(w, r, err)
		return
	} else if received {
		// A second press of Submit (a double click, Back and Submit again): the
		// draft it names was received, and the page said "save your draft first"
		// of the next cycle's. It lands where the first press did.
		http.Redirect(w, r, "/obligations/"+c.org+"/submission?received="+url.QueryEscape(r.PostFormValue("draft")), http.StatusSeeOther)
		return
	}
	if !h.editable(w, r, c) {
		return
	}
	if r.PostForm.Has("version") {
		// The editor's Submit button sends the editor's form: what is on the screen
		// is saved first, then submitted. (Submit once sent the draft id alone, and
		// submitted the draft as last saved, dropping what had been typed since.)
		saved, ok := h.saveEditor(w, r, set, c)
		if !ok {
			return
		}
		c.sub = saved
		if saved.Status != reviewapi.SubmissionStatusDraft {
			// The other press of a double click saved this form and submitted it
			// while this one was saving: it lands where that one did.
			http.Redirect(w, r, "/obligations/"+c.org+"/submission?received="+url.QueryEscape(saved.Id), http.StatusSeeOther)
			return
		}
	}
	d := editorData(c, formOf(c.sub))
	if len(d.Missing) > 0 {
		h.show(w, r, http.StatusBadRequest, "submission", "Your submission", d.Missing, d)
		return
	}
	resp, err := set.Review.CreateSubmissionSubmissionWithResponse(r.Context(), c.sub.Id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		switch {
		case p.Status == http.StatusBadRequest:
			h.show(w, r, http.StatusBadRequest, "submission", "Your submission", mainFieldErrors(p, c.sub.Content), d)
		case p.Status == http.StatusConflict && len(p.Fields()) > 0:
			// Something is missing after all (the draft changed since it was read).
			h.show(w, r, http.StatusConflict, "submission", "Your submission", mainFieldErrors(p, c.sub.Content), d)
		case p.Status == http.StatusConflict:
			// Not yet (the window has not opened): the service says when, above the
			// draft, which is kept.
			h.show(w, r, http.StatusConflict, "submission", "Your submission", []templates.FieldError{{Message: p.Detail}}, d)
		default:
			h.serviceProblem(w, r, p)
		}
		return
	}
	http.Redirect(w, r, "/obligations/"+c.org+"/submission?received="+c.sub.Id, http.StatusSeeOther)
}

// receivedAlready says whether the draft a Submit form names is the organisation's
// and submitted already.
func (h *Handler) receivedAlready(r *http.Request, set *clients.Set, c current) (bool, error) {
	posted := r.PostFormValue("draft")
	if !draftID.MatchString(posted) {
		return false, nil
	}
	if c.sub != nil && c.sub.Id == posted {
		return c.sub.Status != reviewapi.SubmissionStatusDraft, nil
	}
	got, err := set.Review.GetSubmissionWithResponse(r.Context(), posted)
	if err != nil {
		return false, fmt.Errorf("get submission %s: %w", posted, err)
	}
	return got.JSON200 != nil && got.JSON200.OrganisationId == c.org && got.JSON200.Status != reviewapi.SubmissionStatusDraft, nil
}

// contentOf is a copy of the draft's content to change, empty before the first save.
func contentOf(s *reviewapi.Submission) reviewapi.SubmissionContent {
	out := reviewapi.SubmissionContent{SelfAssessment: []reviewapi.ThemeAssessment{}, ActionPlan: []reviewapi.ActionItem{}}
	if s == nil {
		return out
	}
	out.SelfAssessment = append(out.SelfAssessment, s.Content.SelfAssessment...)
	out.ActionPlan = append(out.ActionPlan, s.Content.ActionPlan...)
	out.TechnicianVoice, out.Webpage = s.Content.TechnicianVoice, s.Content.Webpage
	return out
}

// staleDraft shows the editor again when the draft was saved by someone else since
// the page was opened: what the person typed, not saved, under a message that says
// so and links to the draft as saved. The form now carries the saved draft's
// version, so that saving it again, once checked, replaces that.
func (h *Handler) staleDraft(w http.ResponseWriter, r *http.Request, c current, f form.Submission) {
	d := editorData(c, f)
	d.Stale = "/obligations/" + c.org + "/submission?" + draftQuery(c)
	h.show(w, r, http.StatusConflict, "submission", "Your submission", nil, d)
}

// unsaved is the version a page's form carries when no draft was saved when it was
// shown: its save must not replace one saved since.
const unsaved = "none"

// etag is the form of the ETags the services give (a version, quoted).
var etag = regexp.MustCompile(`^"[1-9][0-9]{0,9}"$`)

// seenVersion is the ETag a form carried back, to send as If-Match, and whether it
// carried one. Every form that changes something versioned is shown with the
// version it was filled from, so one that comes back without it was not sent by its
// page (or not read as its page sent it), and is refused (see versionMissing): read
// as "no precondition", it replaced whatever was saved, with whatever it held.
func seenVersion(posted string) (string, bool) {
	if etag.MatchString(posted) {
		return posted, true
	}
	return "", false
}

// versionMissing answers a form that changes something versioned but does not say
// which version it was filled from (see seenVersion): nothing is changed, and the
// page to make the change from is linked.
func (h *Handler) versionMissing(w http.ResponseWriter, r *http.Request, page string) {
	h.show(w, r, http.StatusConflict, "message", "Nothing was saved", nil, message{
		Message: "The form did not say which version it was filled from, so saving it could have replaced changes made since. Nothing was saved or changed: open the page again and make your changes there.",
		Link:    page, LinkText: "Open the page again"})
}

// ifMatch makes a request carry If-Match: version, when a version is given. The
// services' generated clients take If-Match this way (see their client-overlay.yaml).
func ifMatch(version string) func(context.Context, *http.Request) error {
	return func(_ context.Context, r *http.Request) error {
		if version != "" {
			r.Header.Set("If-Match", version)
		}
		return nil
	}
}

// writeAt saves content as the draft (the first save starts it); an existing draft
// is replaced only if it is still at version (an ETag; "" for whatever version):
// otherwise the review service answers 412 and nothing changes.
func (h *Handler) writeAt(ctx context.Context, set *clients.Set, sub *reviewapi.Submission, version string, content reviewapi.SubmissionContent) (*reviewapi.Submission, *clients.Problem, error) {
	if sub == nil {
		resp, err := set.Review.DraftSubmissionWithResponse(ctx, reviewapi.DraftSubmissionJSONRequestBody{SelfAssessment: content.SelfAssessment,
			ActionPlan: content.ActionPlan, TechnicianVoice: content.TechnicianVoice, Webpage: content.Webpage})
		if err != nil {
			return nil, nil, fmt.Errorf("draft submission: %w", err)
		}
		if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
			return nil, p, nil
		}
		return resp.JSON201, nil, nil
	}
	resp, err := set.Review.UpdateSubmissionWithResponse(ctx, sub.Id, content, ifMatch(version))
	if err != nil {
		return nil, nil, fmt.Errorf("update submission %s: %w", sub.Id, err)
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		return nil, p, nil
	}
	return resp.JSON200, nil, nil
}

// mainFieldErrors puts the service's field errors on the main form's fields. The
// service names a theme by its place in what was sent, which content says.
func mainFieldErrors(p *clients.Problem, content reviewapi.SubmissionContent) []templates.FieldError {
	var out []templates.FieldError
	for _, fe := range p.Fields() {
		field, label := editorField(fe.Field, content)
		if label == "" {
			out = append(out, templates.FieldError{Message: fe.Message})
			continue
		}
		out = append(out, templates.FieldError{Field: field, Message: label + ": " + fe.Message})
	}
	if len(out) == 0 {
		out = append(out, templates.FieldError{Message: p.Detail})
	}
	return out
}

// editorField is the editor's field a service's field (a dotted path into the
// content) is about, and how it is labelled; none when the editor has no such field.
// A theme is named by its place in what was sent, which content says, or by its name
// (as in what a draft is missing).
func editorField(path string, content reviewapi.SubmissionContent) (field, label string) {
	labels := map[string]string{"how_consulted": "How technicians were consulted", "participants": "Number of technicians who took part",
		"webpage": "Webpage", "action_plan": "Action plan", "self_assessment": "Self-assessment"}
	parts := strings.Split(path, ".")
	switch {
	case len(parts) == 3 && parts[0] == "self_assessment":
		t := parts[1]
		if i, err := strconv.Atoi(parts[1]); err == nil && i >= 0 && i < len(content.SelfAssessment) {
			t = string(content.SelfAssessment[i].Theme)
		}
		if !slices.Contains(form.Themes, t) {
			return "", ""
		}
		if parts[2] == "narrative" {
			return "narrative-" + t, form.ThemeName(t) + " narrative"
		}
		return "rating-" + t, form.ThemeName(t) + " rating"
	case len(parts) >= 2 && parts[0] == "action_plan":
		if i, err := strconv.Atoi(parts[1]); err == nil {
			return "action_plan", fmt.Sprintf("Action %d", i+1)
		}
	case len(parts) == 2 && parts[0] == "technician_voice":
		return parts[1], labels[parts[1]]
	case len(parts) == 1:
		return parts[0], labels[parts[0]]
	}
	return "", ""
}

// missingOf is what the review service says the draft still needs before it can be
// submitted, each beside the editor's field it is about, in the service's words.
func missingOf(s *reviewapi.Submission) []templates.FieldError {
	var out []templates.FieldError
	for _, m := range s.Missing {
		field, _ := editorField(m.Field, s.Content)
		msg := m.Message
		if r, n := utf8.DecodeRuneInString(msg); n > 0 {
			msg = string(unicode.ToUpper(r)) + msg[n:]
		}
		out = append(out, templates.FieldError{Field: field, Message: msg})
	}
	return out
}

// given is v as a draft sends it: left out when not given yet.
func given[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// deref is what a draft holds for a part not given yet: nothing.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// submissionKind is what a submission answers, as the obligations page names it.
func submissionKind(s *reviewapi.Submission) string {
	cycle := 0
	if s.Cycle != nil {
		cycle = *s.Cycle
	}
	return obligationKind(string(s.Kind), cycle)
}
