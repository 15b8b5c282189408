// Package http is the review service's HTTP port: bind the generated API types, call
// the app, map the result. Authentication, role checks and validation are middleware.
package http

import (
	"net/http"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/review/api"
	"github.com/itss/techcommit/services/review/internal/app"
	"github.com/itss/techcommit/services/review/internal/domain/assign"
	"github.com/itss/techcommit/services/review/internal/domain/round"
	"github.com/itss/techcommit/services/review/internal/domain/submission"
)

// Handlers implements the generated api.ServerInterface.
type Handlers struct {
	app *app.App
}

var _ api.ServerInterface = (*Handlers)(nil)

// New returns the handlers.
func New(a *app.App) *Handlers { return &Handlers{app: a} }

// Register adds the API's routes.
func Register(e httpserver.Router, h *Handlers) { api.RegisterHandlers(e, h) }

// DraftSubmission starts a submission.
func (h *Handlers) DraftSubmission(c httpserver.Context) error {
	var body api.SubmissionRequest
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	org := ""
	if body.OrganisationId != nil {
		org = *body.OrganisationId
	}
	s, err := h.app.DraftSubmission(c.Request().Context(), by, org, content(api.SubmissionContent{
		SelfAssessment: body.SelfAssessment, ActionPlan: body.ActionPlan, TechnicianVoice: body.TechnicianVoice, Webpage: body.Webpage,
	}))
	if err != nil {
		return err
	}
	out, err := h.submission(c, s, false)
	if err != nil {
		return err
	}
	c.Response().Header().Set(httpserver.HeaderLocation, "/v1/submissions/"+s.ID())
	return c.JSON(http.StatusCreated, out)
}

// ListSubmissions pages through submissions.
func (h *Handlers) ListSubmissions(c httpserver.Context, params api.ListSubmissionsParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	q := app.SubmissionQuery{Limit: 50}
	if params.Limit != nil {
		q.Limit = *params.Limit
	}
	if params.Cursor != nil {
		q.Cursor = *params.Cursor
	}
	if params.OrganisationId != nil {
		q.Org = *params.OrganisationId
	}
	if params.Status != nil {
		q.Status = string(*params.Status)
	}
	found, next, err := h.app.ListSubmissions(c.Request().Context(), by, q)
	if err != nil {
		return err
	}
	items := make([]api.Submission, 0, len(found))
	for _, l := range found {
		items = append(items, toSubmission(l.Submission, l.Status))
	}
	return c.JSON(http.StatusOK, list(items, next))
}

// GetSubmission reads a submission with the previous cycle alongside.
func (h *Handlers) GetSubmission(c httpserver.Context, id api.ID) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	s, err := h.app.Submission(c.Request().Context(), by, id)
	if err != nil {
		return err
	}
	out, err := h.submission(c, s, true)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// UpdateSubmission revises a draft.
func (h *Handlers) UpdateSubmission(c httpserver.Context, id api.ID) error {
	var body api.SubmissionContent
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	s, err := h.app.UpdateSubmission(c.Request().Context(), by, id, content(body))
	if err != nil {
		return err
	}
	out, err := h.submission(c, s, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// SubmitSubmission submits a complete draft.
func (h *Handlers) SubmitSubmission(c httpserver.Context, id api.ID) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	s, err := h.app.Submit(c.Request().Context(), by, id)
	if err != nil {
		return err
	}
	out, err := h.submission(c, s, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// GetFeedback reads released feedback, without reviewer identities.
func (h *Handlers) GetFeedback(c httpserver.Context, id api.ID) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	f, err := h.app.Feedback(c.Request().Context(), by, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toFeedback(id, f))
}

// ListReviewers lists a page of the pool.
func (h *Handlers) ListReviewers(c httpserver.Context, params api.ListReviewersParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	pool, next, err := h.app.Reviewers(c.Request().Context(), by, page(params.Limit, params.Cursor))
	if err != nil {
		return err
	}
	items := make([]api.Reviewer, 0, len(pool))
	for _, m := range pool {
		items = append(items, toMember(m))
	}
	return c.JSON(http.StatusOK, list(items, next))
}

// page reads a list's paging parameters.
func page(limit *int, cursor *string) app.Page {
	p := app.Page{Limit: 50}
	if limit != nil {
		p.Limit = *limit
	}
	if cursor != nil {
		p.Cursor = *cursor
	}
	return p
}

// list is a page of a list as every list answers: the items, and the cursor of the
// next page unless this is the last.
func list[T any](items []T, next string) map[string]any {
	out := map[string]any{"items": items}
	if next != "" {
		out["next_cursor"] = next
	}
	return out
}

// RegisterReviewer adds a volunteer to the pool.
func (h *Handlers) RegisterReviewer(c httpserver.Context) error {
	var body api.Reviewer
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	r, err := h.app.RegisterReviewer(c.Request().Context(), by, reviewerPayload(body))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toReviewer(r))
}

// UpdateReviewer replaces a pool member's record.
func (h *Handlers) UpdateReviewer(c httpserver.Context, reviewerID string) error {
	var body api.Reviewer
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	if body.ReviewerId != reviewerID {
		return apperr.Field("reviewer_id", "must be the reviewer named in the path, %s", reviewerID)
	}
	r, err := h.app.UpdateReviewer(c.Request().Context(), by, events.ReviewerUpdatedV1(reviewerPayload(body)))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toReviewer(r))
}

// ListRounds lists a page of review rounds, without their assignments.
func (h *Handlers) ListRounds(c httpserver.Context, params api.ListRoundsParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	rounds, next, err := h.app.Rounds(c.Request().Context(), by, page(params.Limit, params.Cursor))
	if err != nil {
		return err
	}
	items := make([]api.RoundSummary, 0, len(rounds))
	for _, r := range rounds {
		items = append(items, api.RoundSummary{Id: r.ID, Name: r.Name, Status: api.RoundStatus(r.Status), ReviewDeadline: r.Deadline,
			ReviewersPerSubmission: r.ReviewersPerSubmission, SubmissionCount: r.Submissions})
	}
	return c.JSON(http.StatusOK, list(items, next))
}

// OpenRound opens a review round.
func (h *Handlers) OpenRound(c httpserver.Context) error {
	var body api.OpenRoundJSONBody
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	n := 0
	if body.ReviewersPerSubmission != nil {
		n = *body.ReviewersPerSubmission
	}
	r, err := h.app.OpenRound(c.Request().Context(), by, body.Name, body.ReviewDeadline, n)
	if err != nil {
		return err
	}
	c.Response().Header().Set(httpserver.HeaderLocation, "/v1/review-rounds/"+r.ID())
	return c.JSON(http.StatusCreated, toRound(r, h.app.Now()))
}

// GetRound reads a round.
func (h *Handlers) GetRound(c httpserver.Context, roundID api.RoundID) error {
	return h.round(c, func(by auth.Principal) (*round.Round, error) {
		return h.app.Round(c.Request().Context(), by, roundID)
	})
}

// AddSubmissions puts submissions into a round.
func (h *Handlers) AddSubmissions(c httpserver.Context, roundID api.RoundID) error {
	var body api.AddSubmissionsJSONBody
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	return h.round(c, func(by auth.Principal) (*round.Round, error) {
		return h.app.AddSubmissions(c.Request().Context(), by, roundID, body.SubmissionIds)
	})
}

// AutoAssign fills the round's submissions with reviewers.
func (h *Handlers) AutoAssign(c httpserver.Context, roundID api.RoundID) error {
	var body api.AutoAssignJSONBody
	if c.Request().ContentLength != 0 {
		if err := httpserver.Decode(c, &body); err != nil {
			return err
		}
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	n := 0
	if body.ReviewersPerSubmission != nil {
		n = *body.ReviewersPerSubmission
	}
	r, report, err := h.app.AutoAssign(c.Request().Context(), by, roundID, n)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAssignmentReport(toRound(r, h.app.Now()), report))
}

// ChangeAssignment assigns or removes a reviewer by hand.
func (h *Handlers) ChangeAssignment(c httpserver.Context, roundID api.RoundID) error {
	var body api.ChangeAssignmentJSONBody
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	return h.round(c, func(by auth.Principal) (*round.Round, error) {
		if body.Action == "remove" {
			return h.app.Remove(c.Request().Context(), by, roundID, body.SubmissionId, body.ReviewerId, body.Reason)
		}
		return h.app.Assign(c.Request().Context(), by, roundID, body.SubmissionId, body.ReviewerId, body.Reason)
	})
}

// MyAssignments lists a page of the caller's assignments.
func (h *Handlers) MyAssignments(c httpserver.Context, params api.MyAssignmentsParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	mine, next, err := h.app.MyAssignments(c.Request().Context(), by, page(params.Limit, params.Cursor))
	if err != nil {
		return err
	}
	items := make([]api.MyAssignment, 0, len(mine))
	for _, a := range mine {
		items = append(items, toMyAssignment(a))
	}
	return c.JSON(http.StatusOK, list(items, next))
}

func toMyAssignment(a app.Assignment) api.MyAssignment {
	return api.MyAssignment{RoundId: a.RoundID, RoundName: a.RoundName, ReviewDeadline: a.Deadline, SubmissionId: a.SubmissionID,
		State: api.MyAssignmentState(a.State), Reviewed: a.Reviewed(), Overdue: a.Overdue, ReturnedReason: optional(a.ReturnedReason)}
}

// optional is s, or absent when empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// SubmissionToReview reads an assigned submission.
func (h *Handlers) SubmissionToReview(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	s, err := h.app.SubmissionToReview(c.Request().Context(), by, roundID, submissionID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSubmission(s, "in_review"))
}

// Respond accepts or declines an assignment.
func (h *Handlers) Respond(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID) error {
	var body api.RespondJSONBody
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	reason := ""
	if body.Reason != nil {
		reason = *body.Reason
	}
	a, err := h.app.Respond(c.Request().Context(), by, roundID, submissionID, body.Accept, reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toMyAssignment(a))
}

// ListReviews lists a submission's reviews as the caller may see them.
func (h *Handlers) ListReviews(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	reviews, hidden, err := h.app.Reviews(c.Request().Context(), by, roundID, submissionID)
	if err != nil {
		return err
	}
	items := make([]api.Review, 0, len(reviews))
	for _, r := range reviews {
		items = append(items, toReview(r))
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "others_hidden": hidden})
}

// SubmitReview records the caller's review.
func (h *Handlers) SubmitReview(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID) error {
	var body api.ReviewRequest
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	themes := make([]events.ThemeReview, 0, len(body.Themes))
	for _, t := range body.Themes {
		themes = append(themes, events.ThemeReview{Theme: string(t.Theme), Score: t.Score, Strengths: t.Strengths, Recommendations: t.Recommendations})
	}
	a, err := h.app.SubmitReview(c.Request().Context(), by, roundID, submissionID, themes, body.Summary)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toMyAssignment(a))
}

// ReturnReview returns a review to its reviewer for revision.
func (h *Handlers) ReturnReview(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID, reviewerID api.ReviewerID) error {
	return h.moderate(c, func(by auth.Principal, reason string) (app.Review, error) {
		return h.app.ReturnReview(c.Request().Context(), by, roundID, submissionID, reviewerID, reason)
	})
}

// WithholdReview holds a review back from the feedback.
func (h *Handlers) WithholdReview(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID, reviewerID api.ReviewerID) error {
	return h.moderate(c, func(by auth.Principal, reason string) (app.Review, error) {
		return h.app.WithholdReview(c.Request().Context(), by, roundID, submissionID, reviewerID, reason)
	})
}

func (h *Handlers) moderate(c httpserver.Context, do func(auth.Principal, string) (app.Review, error)) error {
	var body api.ModerationRequest
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	r, err := do(by, body.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toReview(r))
}

// CloseRound closes a round to reviewing.
func (h *Handlers) CloseRound(c httpserver.Context, roundID api.RoundID) error {
	var body api.CloseRoundJSONBody
	if c.Request().ContentLength != 0 {
		if err := httpserver.Decode(c, &body); err != nil {
			return err
		}
	}
	reason := ""
	if body.Reason != nil {
		reason = *body.Reason
	}
	return h.round(c, func(by auth.Principal) (*round.Round, error) {
		return h.app.CloseRound(c.Request().Context(), by, roundID, reason)
	})
}

func toReview(r app.Review) api.Review {
	return api.Review{Author: named(r.Author), Summary: r.Summary, Themes: toThemeReviews(r.Themes), ReviewerId: optional(r.ReviewerID),
		ReturnedReason: optional(r.ReturnedReason), WithheldReason: optional(r.WithheldReason)}
}

// ReleaseFeedback releases consolidated feedback.
func (h *Handlers) ReleaseFeedback(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID) error {
	var body api.ReleaseFeedbackJSONBody
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	f, err := h.app.ReleaseFeedback(c.Request().Context(), by, roundID, submissionID, body.Feedback)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toFeedback(submissionID, f))
}

func (h *Handlers) round(c httpserver.Context, do func(auth.Principal) (*round.Round, error)) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	r, err := do(by)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toRound(r, h.app.Now()))
}

// submission renders a submission with its status and, when asked, the previous cycle.
func (h *Handlers) submission(c httpserver.Context, s *submission.Submission, withPrevious bool) (api.Submission, error) {
	ctx := c.Request().Context()
	st, err := h.app.Status(ctx, s)
	if err != nil {
		return api.Submission{}, err
	}
	out := toSubmission(s, st)
	if !withPrevious {
		return out, nil
	}
	prev, err := h.app.PreviousCycle(ctx, s)
	if err != nil || prev == nil {
		return out, err
	}
	p := api.PreviousCycle{SubmissionId: prev.Submission.ID(), ActionPlan: toActionPlan(prev.Submission.Content().ActionPlan)}
	if cycle := prev.Submission.Cycle(); cycle > 0 {
		p.Cycle = &cycle
	}
	if t := prev.Submission.SubmittedAt(); !t.IsZero() {
		p.SubmittedAt = &t
	}
	if prev.Feedback != nil {
		f := toFeedback(prev.Submission.ID(), *prev.Feedback)
		p.Feedback = &f
	}
	out.Previous = &p
	return out, nil
}

func content(b api.SubmissionContent) events.SubmissionContent {
	c := events.SubmissionContent{
		SelfAssessment:  make([]events.ThemeAssessment, 0, len(b.SelfAssessment)),
		ActionPlan:      make([]events.ActionItem, 0, len(b.ActionPlan)),
		TechnicianVoice: events.TechnicianVoice{HowConsulted: deref(b.TechnicianVoice.HowConsulted), Participants: b.TechnicianVoice.Participants},
		Webpage:         b.Webpage,
	}
	for _, a := range b.SelfAssessment {
		c.SelfAssessment = append(c.SelfAssessment, events.ThemeAssessment{Theme: string(a.Theme), Narrative: deref(a.Narrative), Rating: deref(a.Rating)})
	}
	for _, it := range b.ActionPlan {
		item := events.ActionItem{Theme: string(it.Theme), Action: it.Action, Owner: it.Owner, SuccessMeasure: it.SuccessMeasure,
			TargetDate: civil.Of(it.TargetDate.Time).String()}
		if it.Progress != nil {
			item.Progress = string(*it.Progress)
		}
		c.ActionPlan = append(c.ActionPlan, item)
	}
	return c
}

func toSubmission(s *submission.Submission, status string) api.Submission {
	c := s.Content()
	out := api.Submission{
		Id: s.ID(), OrganisationId: s.OrganisationID(), ObligationId: s.ObligationID(), Kind: api.SubmissionKind(s.Kind()),
		Status: api.SubmissionStatus(status), Version: s.Version(), CreatedAt: s.CreatedAt(),
		Content: api.SubmissionContent{
			SelfAssessment:  make([]api.ThemeAssessment, 0, len(c.SelfAssessment)),
			ActionPlan:      toActionPlan(c.ActionPlan),
			TechnicianVoice: api.TechnicianVoice{HowConsulted: optional(c.TechnicianVoice.HowConsulted), Participants: c.TechnicianVoice.Participants},
			Webpage:         c.Webpage,
		},
		Missing: []api.MissingField{},
	}
	for _, a := range c.SelfAssessment {
		out.Content.SelfAssessment = append(out.Content.SelfAssessment, api.ThemeAssessment{Theme: api.Theme(a.Theme), Narrative: optional(a.Narrative), Rating: optionalRating(a.Rating)})
	}
	for _, g := range s.Missing() {
		out.Missing = append(out.Missing, api.MissingField{Field: g.Field, Message: g.Message})
	}
	if cycle := s.Cycle(); cycle > 0 {
		out.Cycle = &cycle
	}
	if t := s.SubmittedAt(); !t.IsZero() {
		out.SubmittedAt = &t
	}
	return out
}

// deref is what a draft holds for a part it was sent without: nothing yet.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// optionalRating leaves out a rating not chosen yet (0), which the contract's 1 to 4
// cannot show.
func optionalRating(n int) *int {
	if n < 1 {
		return nil
	}
	return &n
}

func toActionPlan(items []events.ActionItem) []api.ActionItem {
	out := make([]api.ActionItem, 0, len(items))
	for _, it := range items {
		item := api.ActionItem{Theme: api.Theme(it.Theme), Action: it.Action, Owner: it.Owner, SuccessMeasure: it.SuccessMeasure}
		if d, err := civil.Parse(it.TargetDate); err == nil {
			item.TargetDate = openapi_types.Date{Time: d.Time()}
		}
		if it.Progress != "" {
			p := api.ActionItemProgress(it.Progress)
			item.Progress = &p
		}
		out = append(out, item)
	}
	return out
}

// toFeedback renders feedback as the institution sees it: text and scores, no names.
func toFeedback(sub string, f round.Feedback) api.Feedback {
	out := api.Feedback{SubmissionId: sub, Feedback: f.Text}
	for _, s := range f.Scores {
		out.Scores = append(out.Scores, struct {
			Score float32   `json:"score"`
			Theme api.Theme `json:"theme"`
		}{Score: float32(s.Score), Theme: api.Theme(s.Theme)})
	}
	return out
}

func reviewerPayload(body api.Reviewer) events.ReviewerRegisteredV1 {
	p := events.ReviewerRegisteredV1{ReviewerID: body.ReviewerId, Name: body.Name, Email: string(body.Email), OrganisationID: body.OrganisationId,
		Trained: body.Trained, Capacity: body.Capacity, Themes: []string{}, Conflicts: []string{}}
	if body.Themes != nil {
		for _, t := range *body.Themes {
			p.Themes = append(p.Themes, string(t))
		}
	}
	if body.Conflicts != nil {
		p.Conflicts = append(p.Conflicts, *body.Conflicts...)
	}
	return p
}

// named is a person's name as served: a reviewer's is empty only once they are
// erased at their request (docs/PRIVACY.md), and the contract requires one.
func named(name string) string {
	if name == "" {
		return personal.ErasedName
	}
	return name
}

func toReviewer(r round.Reviewer) api.Reviewer {
	themes := make([]api.Theme, 0, len(r.Themes))
	for _, t := range r.Themes {
		themes = append(themes, api.Theme(t))
	}
	conflicts := append([]string{}, r.Conflicts...)
	name, email := r.Name, openapi_types.Email(r.Email)
	if r.Email == "" { // registered with an address, so erased since at their request
		name, email = personal.ErasedName, personal.ErasedEmail
	}
	return api.Reviewer{ReviewerId: r.ID, Name: name, Email: email, OrganisationId: r.Org,
		Trained: r.Trained, Capacity: r.Capacity, Themes: &themes, Conflicts: &conflicts}
}

// toRound renders a round as ops see it, with whether each review is overdue at now.
func toRound(r *round.Round, now time.Time) api.Round {
	out := api.Round{Id: r.ID(), Name: r.Name(), Status: api.RoundStatus(r.Status()), ReviewDeadline: r.Deadline(), ReviewersPerSubmission: r.ReviewersPerSubmission(),
		Assignments: []api.Assignment{}}
	out.Submissions = make([]struct {
		FeedbackReleased bool   `json:"feedback_released"`
		OrganisationId   string `json:"organisation_id"`
		SubmissionId     string `json:"submission_id"`
	}, 0, len(r.Submissions()))
	for _, id := range r.Submissions() {
		org, _ := r.Organisation(id)
		_, released := r.Feedback(id)
		out.Submissions = append(out.Submissions, struct {
			FeedbackReleased bool   `json:"feedback_released"`
			OrganisationId   string `json:"organisation_id"`
			SubmissionId     string `json:"submission_id"`
		}{FeedbackReleased: released, OrganisationId: org, SubmissionId: id})
	}
	for _, a := range r.Assignments() {
		org, _ := r.Organisation(a.SubmissionID)
		out.Assignments = append(out.Assignments, api.Assignment{SubmissionId: a.SubmissionID, OrganisationId: org, ReviewerId: a.ReviewerID,
			ReviewerName: named(a.Name), State: api.AssignmentState(a.State), Overdue: r.Overdue(a, now), Reviewed: a.Reviewed(),
			ReturnedReason: optional(a.ReturnedReason), WithheldReason: optional(a.WithheldReason)})
	}
	return out
}

func toUncovered(u assign.Uncovered) api.Uncovered {
	return api.Uncovered{SubmissionId: u.SubmissionID, Missing: u.Missing, Reason: u.Reason}
}

func toThemeReviews(ts []events.ThemeReview) []api.ThemeReview {
	out := make([]api.ThemeReview, 0, len(ts))
	for _, t := range ts {
		out = append(out, api.ThemeReview{Theme: api.Theme(t.Theme), Score: t.Score, Strengths: t.Strengths, Recommendations: t.Recommendations})
	}
	return out
}
