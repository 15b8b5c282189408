package pages

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	"github.com/itss/techcommit/services/portal/internal/templates"

	reviewapi "github.com/itss/techcommit/services/review/api"
)

type assignmentRow struct {
	RoundID, RoundName, SubmissionID, Deadline, StatusText string
	// Whose names the submission as the reviewer knows it (see whoseSubmission), in
	// text; Org is its organisation's name, which the pages isolate within it.
	Whose, Org string
	CanRespond bool
	// CanDecline offers Decline alone: the reviewer accepted, and may still give the
	// assignment back while no review of theirs is in and the round is open.
	CanDecline bool
	Error      string
}

type reviewsData struct {
	Assignments []assignmentRow
	// Declined is set after the reviewer declined one: the page says it was heard.
	Declined bool
}

// asReviewerOnly checks the visitor is a reviewer; anyone else gets "page not found".
func (h *Handler) asReviewerOnly(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	v, _ := visitorFrom(r.Context())
	p, ok := v.person.AsReviewer()
	if !ok {
		h.notFound(w, r)
	}
	return p, ok
}

// asReviewer returns the clients acting as the visitor, a reviewer; anyone else gets
// "page not found".
func (h *Handler) asReviewer(w http.ResponseWriter, r *http.Request) (*clients.Set, bool) {
	p, ok := h.asReviewerOnly(w, r)
	if !ok {
		return nil, false
	}
	set, err := h.clients.For(p)
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return set, true
}

func (h *Handler) reviews(w http.ResponseWriter, r *http.Request) {
	h.showReviews(w, r, http.StatusOK, nil, "", "")
}

// showReviews renders the assignments, with errs against the one being answered.
func (h *Handler) showReviews(w http.ResponseWriter, r *http.Request, status int, errs []templates.FieldError, round, submission string) {
	set, ok := h.asReviewer(w, r)
	if !ok {
		return
	}
	limit := 200
	resp, err := set.Review.MyAssignmentsWithResponse(r.Context(), &reviewapi.MyAssignmentsParams{Limit: &limit})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	// The notice is of this decline: shown only while the assignment it names is no
	// longer the reviewer's, not whenever the address is opened (a bookmark, a
	// link passed on to another reviewer).
	declined := r.URL.Query().Get("declined")
	data := reviewsData{Declined: r.Method == http.MethodGet && strings.Count(declined, "/") == 1}
	for _, a := range resp.JSON200.Items {
		if a.RoundId+"/"+a.SubmissionId == declined && a.State != reviewapi.MyAssignmentStateDeclined {
			data.Declined = false
		}
		row := assignmentRow{RoundID: a.RoundId, RoundName: a.RoundName, SubmissionID: a.SubmissionId, Whose: whoseSubmission(a), Org: orgOf(a),
			Deadline: longTime(a.ReviewDeadline), CanRespond: a.Answerable,
			CanDecline: declinable(a)}
		switch {
		case a.WithheldReason != nil && a.ReturnedReason != nil:
			// Returned and then held back, it needs no revision: the email said so.
			row.StatusText = "Held back from the feedback: no revision needed"
		case a.ReturnedReason != nil:
			row.StatusText = "Returned for revision"
		case a.Reviewed:
			row.StatusText = "Review submitted"
		case !a.RoundOpen:
			row.StatusText = "Round closed: no review needed"
		case a.State == reviewapi.MyAssignmentStateAssigned && !a.Answerable:
			row.StatusText = "Not accepted by the deadline: no review needed"
		case a.Overdue:
			row.StatusText = "Overdue"
		case a.State == reviewapi.MyAssignmentStateAccepted:
			row.StatusText = "Accepted"
		default:
			row.StatusText = "Waiting for your answer"
		}
		if a.RoundId == round && a.SubmissionId == submission && len(errs) > 0 {
			row.Error = errs[0].Message
		}
		data.Assignments = append(data.Assignments, row)
	}
	// The summary links to the reason field of the assignment answered.
	for i := range errs {
		if errs[i].Field == "reason" {
			errs[i].Field = "reason-" + round + "-" + submission
		}
	}
	h.show(w, r, status, "reviews", "Your review assignments", errs, data)
}

func (h *Handler) reviewRespond(w http.ResponseWriter, r *http.Request) {
	set, ok := h.asReviewer(w, r)
	if !ok {
		return
	}
	round, submission := r.PathValue("round"), r.PathValue("submission")
	f, errs := form.ParseRespond(r.PostForm)
	// A refusal is shown on the page the form was on: the review page's (next=review),
	// or the assignments list's.
	refused := func(errs []templates.FieldError) {
		if r.PostForm.Get("next") != "review" {
			h.showReviews(w, r, http.StatusBadRequest, errs, round, submission)
			return
		}
		data, ok := h.reviewPage(w, r, set)
		if !ok {
			return
		}
		data.DeclineReason = f.Reason
		h.showReview(w, r, http.StatusBadRequest, data, nil, errs)
	}
	if len(errs) > 0 {
		refused(errs)
		return
	}
	body := reviewapi.RespondJSONRequestBody{Accept: f.Accept}
	if !f.Accept {
		body.Reason = &f.Reason
	}
	resp, err := set.Review.RespondWithResponse(r.Context(), round, submission, body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		// The service's field errors go beside the field they name; other refusals
		// (not assigned, already answered) are shown as a page.
		if fields := p.Fields(); len(fields) > 0 && p.Status == http.StatusBadRequest {
			var errs []templates.FieldError
			for _, fe := range fields {
				errs = append(errs, templates.FieldError{Field: fe.Field, Message: fe.Message})
			}
			refused(errs)
			return
		}
		if p.Status == http.StatusNotFound {
			h.noAssignment(w, r) // declined already (a second press), or moved on
			return
		}
		h.serviceProblem(w, r, p)
		return
	}
	// Accepted from the review page, the reviewer goes back to it to write the review.
	if f.Accept && r.PostForm.Get("next") == "review" {
		http.Redirect(w, r, reviewPath(round, submission), http.StatusSeeOther)
		return
	}
	if !f.Accept {
		// Given back, the review is no longer theirs to write: what they saved of
		// it part-way is their words kept for nothing (the page said it goes).
		if key, ok := h.draftKey(r); ok && h.drafts != nil {
			h.deleteDraft(r, key)
		}
		http.Redirect(w, r, "/reviews?declined="+url.QueryEscape(round+"/"+submission), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/reviews", http.StatusSeeOther)
}

// whoseSubmission names an assigned submission as the reviewer knows it, by the
// organisation that made it ("Prifysgol Aberwen's submission", as the assignment
// email does), not by its id, which told a reviewer's assignments apart from each
// other only to a machine. An assignment the service holds no name for (one last
// changed before it kept them) is "a submission".
func whoseSubmission(a reviewapi.MyAssignment) string {
	if org := orgOf(a); org != "" {
		return org + "'s submission"
	}
	return "a submission"
}

// orgOf is the name of the organisation whose submission a is, or "".
func orgOf(a reviewapi.MyAssignment) string {
	if a.OrganisationName == nil {
		return ""
	}
	return *a.OrganisationName
}

// noAssignment answers a reviewer for a submission they hold no assignment to any
// more, or never did: the page says what may have happened rather than "page not
// found", which sent a reviewer who had just declined to check whom they signed in as.
func (h *Handler) noAssignment(w http.ResponseWriter, r *http.Request) {
	h.show(w, r, http.StatusNotFound, "message", "No assignment of yours for this submission", nil, message{
		Message: "You may have declined it, or ITSS may have asked another reviewer. The assignments you hold are listed on your review assignments page.",
		Link:    "/reviews", LinkText: "Your review assignments"})
}

// declinable says the reviewer, who accepted, may still give the assignment back:
// the round is open and no review of theirs is in (submitted, or returned to them).
func declinable(a reviewapi.MyAssignment) bool {
	return a.State == reviewapi.MyAssignmentStateAccepted && a.RoundOpen && !a.Reviewed && a.ReturnedReason == nil
}
