// Package http is the review service's HTTP port: bind the generated API types, call
// the app, map the result. Authentication, role checks and validation are middleware.
package http

import (
	"context"
	"net/http"
	"net/url"
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

// DraftSubmission starts a submission. Its ETag is the draft's version, as
// getSubmission's is.
func (h *Handlers) DraftSubmission(c httpserver.Context) error {
	return httpserver.Create(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.SubmissionRequest) (api.Submission, error) {
		s, err := h.app.DraftSubmission(ctx, by, deref(body.OrganisationId), content(api.SubmissionContent{
			SelfAssessment: body.SelfAssessment, ActionPlan: body.ActionPlan, TechnicianVoice: body.TechnicianVoice, Webpage: body.Webpage,
		}))
		if err == nil { // the version drafted, which the first update's If-Match names
			httpserver.SetETag(c, s.Version())
		}
		return h.submission(ctx, s, err, false)
	}, same, func(s api.Submission) string { return "/v1/submissions/" + s.Id })
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
		items = append(items, toSubmission(l.Submission, l.Status, l.RoundID))
	}
	return c.JSON(http.StatusOK, list(items, next))
}

// GetSubmission reads a submission with the previous cycle alongside.
// Its ETag is the submission's version, which updateSubmission's If-Match names.
func (h *Handlers) GetSubmission(c httpserver.Context, id api.ID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (api.Submission, error) {
		s, err := h.app.Submission(ctx, by, id)
		if err == nil {
			httpserver.SetETag(c, s.Version())
		}
		return h.submission(ctx, s, err, true)
	}, same)
}

// UpdateSubmission revises a draft: with If-Match, only the version it names.
func (h *Handlers) UpdateSubmission(c httpserver.Context, id api.ID, params api.UpdateSubmissionParams) error {
	version, err := httpserver.IfMatch(params.IfMatch)
	if err != nil {
		return err
	}
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.SubmissionContent) (api.Submission, error) {
		s, err := h.app.UpdateSubmission(ctx, by, id, version, content(body))
		if err == nil {
			httpserver.SetETag(c, s.Version())
		}
		return h.submission(ctx, s, err, false)
	}, same)
}

// CreateSubmissionSubmission submits a complete draft.
func (h *Handlers) CreateSubmissionSubmission(c httpserver.Context, id api.ID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (api.Submission, error) {
		s, err := h.app.Submit(ctx, by, id)
		return h.submission(ctx, s, err, false)
	}, same)
}

// GetFeedback reads released feedback, without reviewer identities.
func (h *Handlers) GetFeedback(c httpserver.Context, id api.ID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (round.Feedback, error) {
		return h.app.Feedback(ctx, by, id)
	}, func(f round.Feedback) api.Feedback { return toFeedback(id, f) })
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

// RegisterReviewer adds a volunteer to the pool. Its ETag is the new record's
// version, as getReviewer's is, so that the first update can name it in If-Match.
func (h *Handlers) RegisterReviewer(c httpserver.Context, _ api.RegisterReviewerParams) error {
	return httpserver.Create(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.Reviewer) (round.Reviewer, error) {
		m, err := h.app.RegisterReviewer(ctx, by, reviewerPayload(body))
		if err == nil {
			httpserver.SetETag(c, m.Version)
		}
		return m.Reviewer, err
	}, toReviewer, func(r round.Reviewer) string { return "/v1/reviewers/" + url.PathEscape(r.ID) })
}

// UpdateReviewer replaces a pool member's record.
func (h *Handlers) UpdateReviewer(c httpserver.Context, reviewerID string, params api.UpdateReviewerParams) error {
	version, err := httpserver.IfMatch(params.IfMatch)
	if err != nil {
		return err
	}
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.Reviewer) (round.Reviewer, error) {
		if body.ReviewerId != reviewerID {
			return round.Reviewer{}, apperr.Field("reviewer_id", "must be the reviewer named in the path, %s", reviewerID)
		}
		m, err := h.app.UpdateReviewer(ctx, by, events.ReviewerUpdatedV1(reviewerPayload(body)), version)
		if err == nil {
			httpserver.SetETag(c, m.Version)
		}
		return m.Reviewer, err
	}, toReviewer)
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
func (h *Handlers) OpenRound(c httpserver.Context, _ api.OpenRoundParams) error {
	return httpserver.Create(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.OpenRoundJSONBody) (*round.Round, error) {
		n := 0
		if body.ReviewersPerSubmission != nil {
			n = *body.ReviewersPerSubmission
		}
		return h.app.OpenRound(ctx, by, body.Name, body.ReviewDeadline, n)
	}, h.toRound, func(r *round.Round) string { return "/v1/review-rounds/" + r.ID() })
}

// GetRound reads a round.
func (h *Handlers) GetRound(c httpserver.Context, roundID api.RoundID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (*round.Round, error) {
		return h.app.Round(ctx, by, roundID)
	}, h.toRound)
}

// AddSubmissions puts submissions into a round.
func (h *Handlers) AddSubmissions(c httpserver.Context, roundID api.RoundID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.AddSubmissionsJSONBody) (*round.Round, error) {
		return h.app.AddSubmissions(ctx, by, roundID, body.SubmissionIds)
	}, h.toRound)
}

// AutoAssign fills the round's submissions with reviewers.
func (h *Handlers) CreateAutomaticAssignment(c httpserver.Context, roundID api.RoundID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body httpserver.Optional[api.CreateAutomaticAssignmentJSONBody]) (api.AssignmentReport, error) {
		n := 0
		if body.Value.ReviewersPerSubmission != nil {
			n = *body.Value.ReviewersPerSubmission
		}
		r, report, err := h.app.AutoAssign(ctx, by, roundID, n)
		if err != nil {
			return api.AssignmentReport{}, err
		}
		return toAssignmentReport(toRound(r, h.app.Now()), report), nil
	}, same)
}

// ChangeAssignment assigns or removes a reviewer by hand.
func (h *Handlers) ChangeAssignment(c httpserver.Context, roundID api.RoundID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.ChangeAssignmentJSONBody) (*round.Round, error) {
		if body.Action == "remove" {
			return h.app.Remove(ctx, by, roundID, body.SubmissionId, body.ReviewerId, body.Reason)
		}
		return h.app.Assign(ctx, by, roundID, body.SubmissionId, body.ReviewerId, body.Reason)
	}, h.toRound)
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
	return api.MyAssignment{RoundId: a.RoundID, RoundName: a.RoundName, ReviewDeadline: a.Deadline, SubmissionId: a.SubmissionID, OrganisationName: optional(a.OrganisationName),
		State: api.MyAssignmentState(a.State), Reviewed: a.Reviewed(), Overdue: a.Overdue, Answerable: a.Answerable, RoundOpen: a.RoundOpen,
		ReturnedReason: optional(a.ReturnedReason), WithheldReason: optional(a.WithheldReason)}
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
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (*submission.Submission, error) {
		return h.app.SubmissionToReview(ctx, by, roundID, submissionID)
	}, func(s *submission.Submission) api.Submission { return toSubmission(s, "in_review", roundID) })
}

// Respond accepts or declines an assignment.
func (h *Handlers) Respond(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.RespondJSONBody) (app.Assignment, error) {
		return h.app.Respond(ctx, by, roundID, submissionID, body.Accept, deref(body.Reason))
	}, toMyAssignment)
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
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.ReviewRequest) (app.Assignment, error) {
		themes := make([]events.ThemeReview, 0, len(body.Themes))
		for _, t := range body.Themes {
			themes = append(themes, events.ThemeReview{Theme: string(t.Theme), Score: t.Score, Strengths: t.Strengths, Recommendations: t.Recommendations})
		}
		return h.app.SubmitReview(ctx, by, roundID, submissionID, themes, body.Summary)
	}, toMyAssignment)
}

// CreateReviewRevisionRequest returns a review to its reviewer for revision.
func (h *Handlers) CreateReviewRevisionRequest(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID, reviewerID api.ReviewerID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.ModerationRequest) (app.Review, error) {
		return h.app.ReturnReview(ctx, by, roundID, submissionID, reviewerID, body.Reason)
	}, toReview)
}

// CreateReviewWithholding holds a review back from the feedback.
func (h *Handlers) CreateReviewWithholding(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID, reviewerID api.ReviewerID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.ModerationRequest) (app.Review, error) {
		return h.app.WithholdReview(ctx, by, roundID, submissionID, reviewerID, body.Reason)
	}, toReview)
}

// CreateRoundClosure closes a round to reviewing.
func (h *Handlers) CreateRoundClosure(c httpserver.Context, roundID api.RoundID, _ api.CreateRoundClosureParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body httpserver.Optional[api.CreateRoundClosureJSONBody]) (*round.Round, error) {
		return h.app.CloseRound(ctx, by, roundID, deref(body.Value.Reason))
	}, h.toRound)
}

func toReview(r app.Review) api.Review {
	return api.Review{Author: named(r.Author), Summary: r.Summary, Themes: toThemeReviews(r.Themes), ReviewerId: optional(r.ReviewerID),
		ReturnedReason: optional(r.ReturnedReason), WithheldReason: optional(r.WithheldReason)}
}

// ReleaseFeedback releases consolidated feedback.
func (h *Handlers) ReleaseFeedback(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.ReleaseFeedbackJSONBody) (round.Feedback, error) {
		return h.app.ReleaseFeedback(ctx, by, roundID, submissionID, body.Feedback)
	}, func(f round.Feedback) api.Feedback { return toFeedback(submissionID, f) })
}

// submission renders a submission the app answered with (unless it answered err)
// with its status and, when asked, the previous cycle.
func (h *Handlers) submission(ctx context.Context, s *submission.Submission, err error, withPrevious bool) (api.Submission, error) {
	if err != nil {
		return api.Submission{}, err
	}
	st, roundID, err := h.app.Standing(ctx, s)
	if err != nil {
		return api.Submission{}, err
	}
	out := toSubmission(s, st, roundID)
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
		Webpage:         httpserver.NormaliseWebAddress(b.Webpage),
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

func toSubmission(s *submission.Submission, status, roundID string) api.Submission {
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
	out.RoundId = optional(roundID)
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
		org, in := r.Organisation(a.SubmissionID)
		if !in { // moved to a later round: its reviewers here are off it
			_, org, _ = r.Moved(a.SubmissionID)
		}
		out.Assignments = append(out.Assignments, api.Assignment{SubmissionId: a.SubmissionID, OrganisationId: org, ReviewerId: a.ReviewerID,
			ReviewerName: named(a.Name), State: api.AssignmentState(a.State), Overdue: r.Overdue(a, now), Reviewed: a.Reviewed(),
			ReturnedReason: optional(a.ReturnedReason), WithheldReason: optional(a.WithheldReason), DeclinedReason: optional(a.DeclinedReason)})
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

// The actions' deprecated paths, named by verbs, answer as their nouns do until their
// sunset; httpserver adds the deprecation headers the document gives them.

// SubmitSubmission is CreateSubmissionSubmission at its deprecated path.
func (h *Handlers) SubmitSubmission(c httpserver.Context, id api.ID) error {
	return h.CreateSubmissionSubmission(c, id)
}

// CloseRound is CreateRoundClosure at its deprecated path.
func (h *Handlers) CloseRound(c httpserver.Context, roundID api.RoundID, p api.CloseRoundParams) error {
	return h.CreateRoundClosure(c, roundID, api.CreateRoundClosureParams(p))
}

// AutoAssign is CreateAutomaticAssignment at its deprecated path.
func (h *Handlers) AutoAssign(c httpserver.Context, roundID api.RoundID) error {
	return h.CreateAutomaticAssignment(c, roundID)
}

// ReturnReview is CreateReviewRevisionRequest at its deprecated path.
func (h *Handlers) ReturnReview(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID, reviewerID api.ReviewerID) error {
	return h.CreateReviewRevisionRequest(c, roundID, submissionID, reviewerID)
}

// WithholdReview is CreateReviewWithholding at its deprecated path.
func (h *Handlers) WithholdReview(c httpserver.Context, roundID api.RoundID, submissionID api.SubmissionID, reviewerID api.ReviewerID) error {
	return h.CreateReviewWithholding(c, roundID, submissionID, reviewerID)
}

// toRound renders a round as it stands now.
func (h *Handlers) toRound(r *round.Round) api.Round { return toRound(r, h.app.Now()) }

// same presents what is already the answer.
func same[T any](v T) T { return v }
