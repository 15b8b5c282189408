package pages

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	"github.com/itss/techcommit/services/portal/internal/reviewdrafts"
	"github.com/itss/techcommit/services/portal/internal/templates"

	reviewapi "github.com/itss/techcommit/services/review/api"
)

// The review page is where an assignment email links: the submission, and beside
// it what the reviewer does next (answer the assignment, write the review, or read
// the reviews once theirs is in).
const (
	reviewAnswer = "answer" // assigned, not yet accepted
	reviewWrite  = "write"  // accepted, no review in, or one returned for revision
	reviewDone   = "done"   // the review is in
	reviewOver   = "over"   // no answer or review is taken any more (Ended says why)
)

type themeView struct {
	Index        int
	Name         string
	Rating       string
	Narrative    []string
	Actions      []actionView
	Review       form.ThemeReview // the form's values for this theme
	ScoreChoices []int
}

type actionView struct {
	Action, Owner, Measure, Target, Progress string
}

type reviewView struct {
	Author         string
	Themes         []reviewedTheme
	Summary        []string
	WithheldReason string
}

type reviewedTheme struct {
	Name, Score     string
	Strengths       []string
	Recommendations []string
}

type reviewPageData struct {
	RoundID, RoundName, SubmissionID, Deadline string
	Kind                                       string
	Stage                                      string
	// Whose names the submission as the reviewer knows it (see whoseSubmission), in
	// text; Org is its organisation's name, which the page isolates within it.
	Whose, Org string
	// Ended says why nothing more is wanted of the reviewer (stage over).
	Ended          string
	Overdue        bool
	ReturnedReason string
	// Declinable offers the reviewer, who accepted, to give the assignment back
	// while no review of theirs is in and the round is open.
	Declinable bool
	// Withheld is set once ITSS held the reviewer's review back from the feedback:
	// no revision of it is taken.
	Withheld     bool
	Themes       []themeView
	OtherActions []actionView
	HowConsulted []string
	Participants int
	Webpage      string
	Summary      string
	Own          *reviewView
	Others       []reviewView
	// Saveable offers "Save and come back later" (the portal keeps saved reviews).
	Saveable bool
	// Saved is when the form's text was saved part-way, when it was ("" otherwise),
	// and DraftVersion the version of the saved copy the page was opened with
	// (reviewdrafts), which its next save replaces.
	Saved        string
	DraftVersion int
	// Kept is until when the saved copy is kept (reviewdrafts.KeepAfterSave after
	// the last save), "" when nothing is saved; RoundOpen says the round's closure
	// may delete it sooner (a returned review's revision outlives it).
	Kept      string
	RoundOpen bool
	// DeclineReason is the reason typed in the form to decline, shown back with
	// why the decline was refused.
	DeclineReason string
}

// reviewLink is the review page of one assigned submission, where the emails about
// an assignment link.
func (h *Handler) reviewLink(w http.ResponseWriter, r *http.Request) {
	set, ok := h.asReviewer(w, r)
	if !ok {
		return
	}
	data, ok := h.reviewPage(w, r, set)
	if !ok {
		return
	}
	h.showReview(w, r, http.StatusOK, data, nil, nil)
}

// reviewPage is the review page's data as it opens, the form filled from what the
// reviewer saved part-way; when it cannot be had, the page is answered.
func (h *Handler) reviewPage(w http.ResponseWriter, r *http.Request, set *clients.Set) (*reviewPageData, bool) {
	data, ok := h.loadReview(w, r, set, nil)
	if !ok {
		return nil, false
	}
	if h.drafts != nil {
		key, _ := h.draftKey(r)
		switch data.Stage {
		case reviewWrite:
			// What the reviewer saved part-way is newer than anything the page has
			// (a review returned for revision included): the form is filled from it.
			d, found, err := h.drafts.Latest(r.Context(), key)
			if err != nil {
				h.fail(w, r, err)
				return nil, false
			}
			if found {
				fillFromDraft(data, d)
			}
		case reviewDone:
			// In, from another tab or before the copy was deleted: the copy is only
			// a second record of the reviewer's words.
			h.deleteDraft(r, key)
		}
	}
	return data, true
}

// reviewSubmit sends the reviewer's review to the review service. A form with
// gaps, or one the service refuses, is shown again as it was sent, with each problem
// beside its field. A review that can no longer be taken at all (the round closed, or
// the reviewer was taken off the submission, while they wrote it) is shown back to
// them as they wrote it, with why it was not sent: an evening's writing is not lost.
func (h *Handler) reviewSubmit(w http.ResponseWriter, r *http.Request) {
	set, ok := h.asReviewer(w, r)
	if !ok {
		return
	}
	f, errs := form.ParseReview(r.PostForm)
	// The assignment is looked up before anything is sent: a submission the reviewer
	// is not assigned to takes no review, whatever was posted.
	data, ok := h.loadReview(w, r, set, &f)
	if !ok {
		return
	}
	data.DraftVersion = postedDraftVersion(r.PostForm)
	if len(errs) > 0 && data.Stage == reviewWrite {
		h.showReview(w, r, http.StatusBadRequest, data, &f, errs)
		return
	}
	body := reviewapi.SubmitReviewJSONRequestBody{Summary: f.Summary}
	for _, t := range f.Themes {
		body.Themes = append(body.Themes, reviewapi.ThemeReview{Theme: reviewapi.Theme(t.Theme.ID), Score: t.ScoreValue(),
			Strengths: t.Strengths, Recommendations: t.Recommendations})
	}
	resp, err := set.Review.SubmitReviewWithResponse(r.Context(), data.RoundID, data.SubmissionID, body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		switch {
		case (p.Status == http.StatusBadRequest || p.Status == http.StatusConflict) && data.Stage != reviewWrite && (data.Stage != reviewDone || data.Withheld):
			// The page had no form to send: the review is refused as a whole. (One
			// sent again once in, a double click, is answered by the review that is.)
			h.reviewNotSent(w, r, http.StatusConflict, notSentWhy(data, p), &f)
		case p.Status == http.StatusBadRequest || p.Status == http.StatusConflict:
			// The service's words, beside the fields it names; a refusal of the whole
			// review (the round closed meanwhile) at the top. What was typed is kept.
			h.showReview(w, r, p.Status, data, &f, reviewProblems(p))
		default:
			h.serviceProblem(w, r, p)
		}
		return
	}
	// The review is in: the copy saved part-way goes (and, should this fail, when
	// the reviewer next opens the page, or with the sweep).
	if key, ok := h.draftKey(r); ok && h.drafts != nil {
		h.deleteDraft(r, key)
	}
	http.Redirect(w, r, reviewPath(data.RoundID, data.SubmissionID), http.StatusSeeOther)
}

// reviewSave keeps the review form as typed, to come back to ("Save and come back
// later"): in the portal's own database, not sent to the review service. Only the
// assigned reviewer may save, while the review is theirs to write. A part-way
// review is the point, so nothing is required; but what the submit would refuse
// for its size or range (a text too long, a score the form does not offer) is
// refused here too, the whole form kept on the page and nothing saved.
func (h *Handler) reviewSave(w http.ResponseWriter, r *http.Request) {
	set, ok := h.asReviewer(w, r)
	if !ok {
		return
	}
	key, ok := h.draftKey(r)
	if !ok || h.drafts == nil {
		h.notFound(w, r)
		return
	}
	f, errs := form.ParseReviewDraft(r.PostForm)
	data, ok := h.loadReview(w, r, set, &f)
	if !ok {
		return
	}
	if data.Stage != reviewWrite {
		h.reviewNotSent(w, r, http.StatusConflict, notSavedWhy(data), &f)
		return
	}
	data.DraftVersion = postedDraftVersion(r.PostForm)
	if len(errs) > 0 {
		h.showReview(w, r, http.StatusBadRequest, data, &f, errs)
		return
	}
	saved, err := h.drafts.Save(r.Context(), key, draftOf(f, data.DraftVersion, data.ReturnedReason != ""))
	switch ae, invalid := apperr.As(err); {
	case errors.Is(err, reviewdrafts.ErrSavedElsewhere):
		// Another tab saved since this page opened: what was typed here is shown,
		// not saved, and saving it again (the page now carries the latest version)
		// replaces that copy, which the reviewer chooses knowingly.
		data.DraftVersion = saved.Version
		h.showReview(w, r, http.StatusConflict, data, &f, []templates.FieldError{{Message: "You saved this review in another tab or window at " +
			longTime(saved.Saved) + ", since you opened this page. What you typed here is below, not saved: save it again to keep it instead, or open the review page again to see that copy."}})
		return
	case invalid && ae.Code == apperr.Invalid:
		h.showReview(w, r, http.StatusBadRequest, data, &f, []templates.FieldError{{Message: opsSentence(ae.Message)}})
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	// An erasure landing as the copy was saved deletes the person's records, then
	// their saved copies: a copy saved after it read them would keep their words
	// until the sweep. Only an erasure takes an address's records away, so they are
	// read again now that the copy is written: not held, their copies go, and the
	// visitor is answered as their next request would be.
	held, err := h.people.Held(r.Context(), key.Email)
	if err != nil || !held {
		if _, ferr := h.drafts.ForgetPerson(r.Context(), key.Email); ferr != nil || err != nil {
			h.fail(w, r, errors.Join(err, ferr))
			return
		}
		h.notFound(w, r)
		return
	}
	http.Redirect(w, r, reviewPath(data.RoundID, data.SubmissionID), http.StatusSeeOther)
}

// draftKey names the signed-in reviewer's saved copy of the review the request is
// about, by their id in the pool (so that it follows an address ITSS correct); ok
// is false for a visitor the portal knows no address or reviewer record of.
func (h *Handler) draftKey(r *http.Request) (reviewdrafts.Key, bool) {
	v, ok := visitorFrom(r.Context())
	if !ok || v.person.Email == "" || v.person.Reviewer == nil {
		return reviewdrafts.Key{}, false
	}
	return reviewdrafts.Key{Reviewer: v.person.Reviewer.ID, Email: v.person.Email, Round: r.PathValue("round"), Submission: r.PathValue("submission")}, true
}

// deleteDraft deletes the reviewer's saved copy; a failure is logged, not shown:
// the review is in, and the sweep deletes the copy later.
func (h *Handler) deleteDraft(r *http.Request, key reviewdrafts.Key) {
	if err := h.drafts.Delete(r.Context(), key); err != nil {
		h.logger.WarnContext(r.Context(), "saved review not deleted; the sweep will", "route", r.Pattern, "error", err)
	}
}

// postedDraftVersion is the version of the saved copy the page posting the form
// was opened with (0: none).
func postedDraftVersion(v url.Values) int {
	n, err := strconv.Atoi(v.Get("draft_version"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// draftOf is the form as a saved copy, replacing the copy of version; revision says
// it revises a review ITSS returned.
func draftOf(f form.Review, version int, revision bool) reviewdrafts.Draft {
	d := reviewdrafts.Draft{Summary: f.Summary, Version: version, Revision: revision}
	for _, t := range f.Themes {
		d.Themes = append(d.Themes, reviewdrafts.Theme{ID: t.Theme.ID, Score: t.Score, Strengths: t.Strengths, Recommendations: t.Recommendations})
	}
	return d
}

// fillFromDraft puts the saved copy in the form, and says when it was saved.
func fillFromDraft(data *reviewPageData, d reviewdrafts.Draft) {
	data.Summary = d.Summary
	for i := range data.Themes {
		for _, t := range d.Themes {
			if t.ID == form.ReviewThemes[i].ID {
				data.Themes[i].Review.Score, data.Themes[i].Review.Strengths, data.Themes[i].Review.Recommendations = t.Score, t.Strengths, t.Recommendations
			}
		}
	}
	data.Saved, data.DraftVersion = longTime(d.Saved), d.Version
	data.Kept = longTime(d.Saved.Add(reviewdrafts.KeepAfterSave))
}

// notSavedWhy says why a review could not be saved part-way: it is no longer the
// reviewer's to write.
func notSavedWhy(data *reviewPageData) string {
	switch data.Stage {
	case reviewOver:
		return "Your review was not saved. " + data.Ended
	case reviewDone:
		return "Your review was not saved: it is in with ITSS already."
	default:
		return "Your review was not saved: accept the assignment first."
	}
}

func reviewPath(round, submission string) string { return "/reviews/" + round + "/" + submission }

// reviewProblems turns the service's refusal into the page's errors: a field the
// form has is named in a sentence of its own; anything else is said at the top.
func reviewProblems(p *clients.Problem) []templates.FieldError {
	var errs []templates.FieldError
	for _, fe := range p.Fields() {
		if name, ok := form.ReviewFieldName(fe.Field); ok {
			errs = append(errs, templates.FieldError{Field: fe.Field, Message: name + " " + fe.Message})
		} else {
			errs = append(errs, templates.FieldError{Message: opsSentence(fe.Message)})
		}
	}
	if len(errs) == 0 {
		// The service's detail starts as a clause ("you have already submitted ..."):
		// the page shows it as a sentence of its own.
		errs = append(errs, templates.FieldError{Message: opsSentence(p.Detail)})
	}
	return errs
}

// loadReview gathers the page: the reviewer's assignment (none is "no assignment of
// yours"), the submission, and the reviews the service lets the reviewer see. sent,
// when given, is the review the reviewer sent: should the assignment be gone or
// refused them, it is shown back to them rather than lost.
func (h *Handler) loadReview(w http.ResponseWriter, r *http.Request, set *clients.Set, sent *form.Review) (*reviewPageData, bool) {
	round, submission := r.PathValue("round"), r.PathValue("submission")
	a, found, ok := h.findAssignment(w, r, set, round, submission)
	switch {
	case !ok:
		return nil, false
	case !found && sent != nil:
		h.reviewNotSent(w, r, http.StatusNotFound, "This submission is no longer assigned to you (ITSS may have taken you off it), so your review was not "+notSentVerb(r)+".", sent)
		return nil, false
	case !found:
		if !h.savedNotSent(w, r, "This submission is no longer assigned to you (ITSS may have taken you off it), so the review you saved cannot be sent.") {
			h.noAssignment(w, r)
		}
		return nil, false
	}
	subResp, err := set.Review.SubmissionToReviewWithResponse(r.Context(), round, submission)
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	if p := clients.Check(subResp.HTTPResponse, subResp.Body); p != nil {
		if p.Status == http.StatusForbidden && sent != nil {
			h.reviewNotSent(w, r, p.Status, "You may no longer review this submission, so your review was not "+notSentVerb(r)+": "+opsSentence(p.Detail), sent)
			return nil, false
		}
		if p.Status == http.StatusForbidden {
			// Assigned, and refused: the conflict rules no longer let them review it
			// (their organisation withdrew, say), which the service says in words.
			if h.savedNotSent(w, r, "You may no longer review this submission, so the review you saved cannot be sent: "+opsSentence(p.Detail)) {
				return nil, false
			}
			h.say(w, r, p.Status, "You may no longer review this submission", opsSentence(p.Detail))
			return nil, false
		}
		h.serviceProblem(w, r, p)
		return nil, false
	}
	data := submissionView(subResp.JSON200)
	data.RoundID, data.RoundName, data.SubmissionID, data.Whose, data.Org = a.RoundId, a.RoundName, a.SubmissionId, whoseSubmission(a), orgOf(a)
	data.Deadline, data.RoundOpen = longTime(a.ReviewDeadline), a.RoundOpen
	// A review ITSS returned and then held back needs no revision: the reviewer was
	// told so, and the service takes none.
	withheld := a.WithheldReason != nil
	data.Withheld = withheld
	returned := a.ReturnedReason != nil && !withheld
	if returned {
		data.ReturnedReason = *a.ReturnedReason
	}
	reviewIn := a.Reviewed || a.ReturnedReason != nil
	switch {
	case a.State != reviewapi.MyAssignmentStateAccepted && !a.Answerable:
		// Not "overdue": nothing is wanted of the reviewer any more.
		data.Stage, data.Ended = reviewOver, assignmentEnded(a)
		return data, true
	case a.State != reviewapi.MyAssignmentStateAccepted:
		data.Stage, data.Overdue = reviewAnswer, a.Overdue
		return data, true
	case !reviewIn && !a.RoundOpen:
		data.Stage, data.Ended = reviewOver, assignmentEnded(a)
		return data, true
	case a.Reviewed || withheld:
		data.Stage = reviewDone
	default:
		data.Stage, data.Overdue = reviewWrite, a.Overdue
		data.Declinable = declinable(a)
	}
	if !reviewIn {
		// No review of the reviewer's own to show or revise, and the service shows the
		// others' only once theirs is in: the list would be empty. Each list loads
		// the whole round in the service, so it is not asked for.
		return data, true
	}
	revResp, err := set.Review.ListReviewsWithResponse(r.Context(), round, submission)
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	if p := clients.Check(revResp.HTTPResponse, revResp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return nil, false
	}
	for _, rv := range revResp.JSON200.Items {
		v := toReviewView(rv)
		// The service calls the caller's own review "You" and the others "Reviewer N".
		if rv.Author == "You" {
			data.Own = &v
			prefill(data, rv)
			continue
		}
		data.Others = append(data.Others, v)
	}
	return data, true
}

// prefill puts a returned review's text in the form, to be revised rather than
// written again.
func prefill(data *reviewPageData, rv reviewapi.Review) {
	data.Summary = rv.Summary
	for i := range data.Themes {
		for _, t := range rv.Themes {
			if string(t.Theme) == form.ReviewThemes[i].ID {
				data.Themes[i].Review.Score = strconv.Itoa(t.Score)
				data.Themes[i].Review.Strengths, data.Themes[i].Review.Recommendations = t.Strengths, t.Recommendations
			}
		}
	}
}

// findAssignment finds the visitor's assignment in force for the submission in the
// round, reading every page of their list; found is false when they hold none, and
// ok false when the page already says what went wrong.
func (h *Handler) findAssignment(w http.ResponseWriter, r *http.Request, set *clients.Set, round, submission string) (a reviewapi.MyAssignment, found, ok bool) {
	limit := 200
	params := &reviewapi.MyAssignmentsParams{Limit: &limit}
	for {
		resp, err := set.Review.MyAssignmentsWithResponse(r.Context(), params)
		if err != nil {
			h.fail(w, r, err)
			return reviewapi.MyAssignment{}, false, false
		}
		if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
			h.serviceProblem(w, r, p)
			return reviewapi.MyAssignment{}, false, false
		}
		for _, a := range resp.JSON200.Items {
			if a.RoundId == round && a.SubmissionId == submission {
				return a, true, true
			}
		}
		if resp.JSON200.NextCursor == nil || *resp.JSON200.NextCursor == "" {
			return reviewapi.MyAssignment{}, false, true
		}
		params.Cursor = resp.JSON200.NextCursor
	}
}

// submissionView lays the submission out theme by theme, each theme's action plan
// items with its narrative, so that the review of a theme sits beside what it is about.
func submissionView(s *reviewapi.Submission) *reviewPageData {
	data := &reviewPageData{Kind: obligationKind(string(s.Kind), 0), Webpage: s.Content.Webpage,
		HowConsulted: paragraphs(deref(s.Content.TechnicianVoice.HowConsulted)), Participants: s.Content.TechnicianVoice.Participants}
	if s.Kind == "self_assessment_and_action_plan" {
		data.Kind = "Self-assessment and action plan"
		if s.Cycle != nil && *s.Cycle > 0 {
			data.Kind = obligationKind(string(s.Kind), *s.Cycle)
		}
	}
	empty := form.EmptyReview()
	placed := make([]bool, len(s.Content.ActionPlan))
	for i, t := range form.ReviewThemes {
		tv := themeView{Index: i, Name: t.Name, Review: empty.Themes[i], ScoreChoices: []int{1, 2, 3, 4}}
		for _, sa := range s.Content.SelfAssessment {
			if string(sa.Theme) == t.ID {
				if sa.Rating != nil {
					tv.Rating = fmt.Sprintf("%d out of 4", *sa.Rating)
				}
				tv.Narrative = paragraphs(deref(sa.Narrative))
			}
		}
		for j, item := range s.Content.ActionPlan {
			if string(item.Theme) == t.ID {
				tv.Actions = append(tv.Actions, toActionView(item))
				placed[j] = true
			}
		}
		data.Themes = append(data.Themes, tv)
	}
	for j, item := range s.Content.ActionPlan {
		if !placed[j] {
			data.OtherActions = append(data.OtherActions, toActionView(item))
		}
	}
	return data
}

func toActionView(item reviewapi.ActionItem) actionView {
	v := actionView{Action: item.Action, Owner: item.Owner, Measure: item.SuccessMeasure, Target: longDate(item.TargetDate.Time)}
	if item.Progress != nil {
		v.Progress = themeName(string(*item.Progress))
	}
	return v
}

func toReviewView(rv reviewapi.Review) reviewView {
	v := reviewView{Author: rv.Author, Summary: paragraphs(rv.Summary)}
	if rv.WithheldReason != nil {
		v.WithheldReason = *rv.WithheldReason
	}
	for _, t := range form.ReviewThemes {
		for _, tr := range rv.Themes {
			if string(tr.Theme) == t.ID {
				v.Themes = append(v.Themes, reviewedTheme{Name: t.Name, Score: fmt.Sprintf("%d out of 4", tr.Score),
					Strengths: paragraphs(tr.Strengths), Recommendations: paragraphs(tr.Recommendations)})
			}
		}
	}
	return v
}

// showReview renders the review page; f, when given, is the form as it was sent.
func (h *Handler) showReview(w http.ResponseWriter, r *http.Request, status int, data *reviewPageData, f *form.Review, errs []templates.FieldError) {
	if f != nil {
		data.Summary = f.Summary
		for i := range data.Themes {
			data.Themes[i].Review = f.Themes[i]
		}
	}
	data.Saveable = h.drafts != nil
	title := "Review a submission"
	if data.Stage == reviewDone {
		title = "Your review"
	}
	h.show(w, r, status, "review_form", title, errs, data)
}

// paragraphs splits text at its blank lines, so that a page shows it as it was written.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// assignmentEnded says why an assignment takes no answer or review any more: the
// round is closed, or the deadline passed before the reviewer accepted.
func assignmentEnded(a reviewapi.MyAssignment) string {
	if !a.RoundOpen {
		return "ITSS have closed this review round, so no review of this submission is needed from you. Thank you for being ready to help."
	}
	return "The review deadline passed before you accepted this assignment, so it can no longer be taken on and no review of it is needed from you."
}

// notSentPage is a review the reviewer sent that could not be taken, shown back to
// them read-only, to copy.
type notSentPage struct {
	RoundID, SubmissionID string
	// Why says, as a sentence, why the review was not sent.
	Why     string
	Themes  []form.ThemeReview
	Summary string
	// Kept, for a review saved part-way, is until when the portal keeps it ("": the
	// review was sent, and is kept nowhere).
	Kept string
}

// reviewNotSent shows a review that was refused as a whole, as it was typed, with
// why: the round closed or the reviewer was taken off the submission while they
// wrote it. The text is in no form, so that nothing invites sending it again.
func (h *Handler) reviewNotSent(w http.ResponseWriter, r *http.Request, status int, why string, sent *form.Review) {
	h.show(w, r, status, "review_not_sent", "Your review was not "+notSentVerb(r), nil, notSentPage{
		RoundID: r.PathValue("round"), SubmissionID: r.PathValue("submission"), Why: why, Themes: sent.Themes, Summary: sent.Summary})
}

// savedNotSent shows the reviewer, opening the page of a review no longer theirs to
// write (ITSS took them off the submission, or the service no longer lets them
// review it), what they saved of it part-way, read-only, with why: otherwise the
// words were out of their reach, kept unseen until the sweep deleted them. It
// reports false, having answered nothing, when they saved none.
func (h *Handler) savedNotSent(w http.ResponseWriter, r *http.Request, why string) bool {
	key, ok := h.draftKey(r)
	if !ok || h.drafts == nil {
		return false
	}
	d, found, err := h.drafts.Latest(r.Context(), key)
	if err != nil {
		h.logger.WarnContext(r.Context(), "saved review not read", "route", r.Pattern, "error", err)
		return false
	}
	if !found {
		return false
	}
	f := form.EmptyReview()
	f.Summary = d.Summary
	for i := range f.Themes {
		for _, t := range d.Themes {
			if t.ID == f.Themes[i].Theme.ID {
				f.Themes[i].Score, f.Themes[i].Strengths, f.Themes[i].Recommendations = t.Score, t.Strengths, t.Recommendations
			}
		}
	}
	h.show(w, r, http.StatusNotFound, "review_not_sent", "Your saved review was not sent", nil, notSentPage{
		RoundID: r.PathValue("round"), SubmissionID: r.PathValue("submission"), Why: why + " You saved it on " + longTime(d.Saved) + ".",
		Themes: f.Themes, Summary: f.Summary, Kept: longTime(d.Saved.Add(reviewdrafts.KeepAfterSave))})
	return true
}

// notSentVerb is what the reviewer asked of a review that was refused: to save it
// part-way ("Save and come back later") or to send it.
func notSentVerb(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, "/draft") {
		return "saved"
	}
	return "sent"
}

// notSentWhy says why the service refused a whole review, in the reviewer's terms
// where the page knows them, in the service's words otherwise.
func notSentWhy(data *reviewPageData, p *clients.Problem) string {
	if data.Stage == reviewOver {
		return "Your review was not sent. " + data.Ended
	}
	return "Your review was not sent: " + strings.TrimSuffix(p.Detail, ".") + "."
}
