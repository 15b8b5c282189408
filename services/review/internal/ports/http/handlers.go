// Package http is the review service's HTTP port.
package http

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/review/api"
	"github.com/itss/techcommit/services/review/internal/app"
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
func Register(e *echo.Echo, h *Handlers) { api.RegisterHandlers(e, h) }

func principal(c echo.Context) (auth.Principal, context.Context, error) {
	p, err := auth.MustFromContext(c.Request().Context())
	return p, c.Request().Context(), err
}

// DraftSubmission starts a submission.
func (h *Handlers) DraftSubmission(c echo.Context) error {
	var body api.SubmissionRequest
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	org := ""
	if body.OrganisationId != nil {
		org = *body.OrganisationId
	}
	s, err := h.app.DraftSubmission(ctx, by, org, content(body.SelfAssessment, body.ActionPlan, body.TechnicianVoice, body.Webpage))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/submissions/"+s.ID())
	return h.writeSubmission(c, http.StatusCreated, s, false)
}

// GetSubmission reads a submission with its previous cycle.
func (h *Handlers) GetSubmission(c echo.Context, id api.ID) error {
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	s, err := h.app.Submission(ctx, by, id)
	if err != nil {
		return err
	}
	return h.writeSubmission(c, http.StatusOK, s, true)
}

// UpdateSubmission revises a draft.
func (h *Handlers) UpdateSubmission(c echo.Context, id api.ID) error {
	var body api.SubmissionContent
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	s, err := h.app.UpdateSubmission(ctx, by, id, content(body.SelfAssessment, body.ActionPlan, body.TechnicianVoice, body.Webpage))
	if err != nil {
		return err
	}
	return h.writeSubmission(c, http.StatusOK, s, false)
}

// SubmitSubmission submits a complete draft.
func (h *Handlers) SubmitSubmission(c echo.Context, id api.ID) error {
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	s, err := h.app.Submit(ctx, by, id)
	if err != nil {
		return err
	}
	return h.writeSubmission(c, http.StatusOK, s, false)
}

// GetFeedback reads released feedback.
func (h *Handlers) GetFeedback(c echo.Context, id api.ID) error {
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	f, err := h.app.Feedback(ctx, by, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, feedback(id, f))
}

// ListReviewers lists the pool.
func (h *Handlers) ListReviewers(c echo.Context) error {
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	pool, err := h.app.Reviewers(ctx, by)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(pool))
	for i, r := range pool {
		items[i] = map[string]any{"reviewer_id": r.ID, "name": r.Name, "email": r.Email, "organisation_id": r.Org, "trained": r.Trained, "capacity": r.Capacity, "conflicts": r.Conflicts}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// RegisterReviewer adds to the pool.
func (h *Handlers) RegisterReviewer(c echo.Context) error {
	var body api.Reviewer
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	p := events.ReviewerRegisteredV1{ReviewerID: body.ReviewerId, Name: body.Name, Email: string(body.Email), OrganisationID: body.OrganisationId, Trained: body.Trained, Capacity: body.Capacity}
	if body.Themes != nil {
		for _, t := range *body.Themes {
			p.Themes = append(p.Themes, string(t))
		}
	}
	if body.Conflicts != nil {
		p.Conflicts = *body.Conflicts
	}
	if _, err := h.app.RegisterReviewer(ctx, by, p); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, body)
}

// OpenRound opens a round.
func (h *Handlers) OpenRound(c echo.Context) error {
	var body struct {
		Name           string    `json:"name"`
		ReviewDeadline time.Time `json:"review_deadline"`
	}
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	r, err := h.app.OpenRound(ctx, by, body.Name, body.ReviewDeadline)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/review-rounds/"+r.ID())
	return c.JSON(http.StatusCreated, toRound(r))
}

// GetRound reads a round.
func (h *Handlers) GetRound(c echo.Context, id api.ID) error {
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	r, err := h.app.Round(ctx, by, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toRound(r))
}

// AddSubmissions puts submissions into a round.
func (h *Handlers) AddSubmissions(c echo.Context, id api.ID) error {
	var body struct {
		SubmissionIDs []string `json:"submission_ids"`
	}
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	r, err := h.app.AddSubmissions(ctx, by, id, body.SubmissionIDs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toRound(r))
}

// AutoAssign assigns reviewers across the round.
func (h *Handlers) AutoAssign(c echo.Context, id api.ID) error {
	body := struct {
		N int `json:"reviewers_per_submission"`
	}{N: 2}
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	r, short, err := h.app.AutoAssign(ctx, by, id, body.N)
	if err != nil {
		return err
	}
	uncovered := make([]map[string]any, len(short))
	for i, u := range short {
		uncovered[i] = map[string]any{"submission_id": u.SubmissionID, "missing": u.Missing, "reason": u.Reason}
	}
	return c.JSON(http.StatusOK, map[string]any{"round": toRound(r), "uncovered": uncovered})
}

// ChangeAssignment assigns or removes by hand.
func (h *Handlers) ChangeAssignment(c echo.Context, id api.ID) error {
	var body struct {
		Action       string `json:"action"`
		SubmissionID string `json:"submission_id"`
		ReviewerID   string `json:"reviewer_id"`
		Reason       string `json:"reason"`
	}
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	var r *round.Round
	if body.Action == "remove" {
		r, err = h.app.Remove(ctx, by, id, body.SubmissionID, body.ReviewerID, body.Reason)
	} else {
		r, err = h.app.Assign(ctx, by, id, body.SubmissionID, body.ReviewerID, body.Reason)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toRound(r))
}

// MyAssignments lists the caller's assignments.
func (h *Handlers) MyAssignments(c echo.Context) error {
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	as, err := h.app.MyAssignments(ctx, by)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(as))
	for i, a := range as {
		items[i] = map[string]any{"round_id": a.RoundID, "round_name": a.RoundName, "review_deadline": a.Deadline, "submission_id": a.SubmissionID,
			"state": a.State, "reviewed": a.Review != nil}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// SubmissionToReview shows the submission to its reviewer.
func (h *Handlers) SubmissionToReview(c echo.Context, id api.ID, sub api.SubmissionID) error {
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	s, err := h.app.SubmissionToReview(ctx, by, id, sub)
	if err != nil {
		return err
	}
	return h.writeSubmission(c, http.StatusOK, s, false)
}

// Respond accepts or declines.
func (h *Handlers) Respond(c echo.Context, id api.ID, sub api.SubmissionID) error {
	var body struct {
		Accept bool   `json:"accept"`
		Reason string `json:"reason"`
	}
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	if err := h.app.Respond(ctx, by, id, sub, body.Accept, body.Reason); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ListReviews lists reviews as the caller may see them.
func (h *Handlers) ListReviews(c echo.Context, id api.ID, sub api.SubmissionID) error {
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	rs, err := h.app.Reviews(ctx, by, id, sub)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(rs))
	for i, r := range rs {
		items[i] = map[string]any{"author": r.Author, "themes": r.Themes, "summary": r.Summary}
		if r.ReviewerID != "" {
			items[i]["reviewer_id"] = r.ReviewerID
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// SubmitReview records a review.
func (h *Handlers) SubmitReview(c echo.Context, id api.ID, sub api.SubmissionID) error {
	var body api.ReviewRequest
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	themes := make([]events.ThemeReview, len(body.Themes))
	for i, t := range body.Themes {
		themes[i] = events.ThemeReview{Theme: string(t.Theme), Score: t.Score, Strengths: t.Strengths, Recommendations: t.Recommendations}
	}
	if err := h.app.SubmitReview(ctx, by, id, sub, themes, body.Summary); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ReleaseFeedback releases feedback.
func (h *Handlers) ReleaseFeedback(c echo.Context, id api.ID, sub api.SubmissionID) error {
	var body struct {
		Feedback string `json:"feedback"`
	}
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, ctx, err := principal(c)
	if err != nil {
		return err
	}
	f, err := h.app.ReleaseFeedback(ctx, by, id, sub, body.Feedback)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, feedback(sub, f))
}

func (h *Handlers) writeSubmission(c echo.Context, status int, s *submission.Submission, withPrevious bool) error {
	ctx := c.Request().Context()
	st, err := h.app.Status(ctx, s)
	if err != nil {
		return err
	}
	out := map[string]any{"id": s.ID(), "organisation_id": s.OrganisationID(), "obligation_id": s.ObligationID(), "kind": s.Kind(),
		"status": st, "content": s.Content(), "version": s.Version(), "created_at": s.CreatedAt()}
	if !s.SubmittedAt().IsZero() {
		out["submitted_at"] = s.SubmittedAt()
	}
	if withPrevious {
		prev, err := h.app.PreviousCycle(ctx, s)
		if err != nil {
			return err
		}
		if prev != nil {
			p := map[string]any{"id": prev.Submission.ID(), "action_plan": prev.Submission.Content().ActionPlan, "submitted_at": prev.Submission.SubmittedAt()}
			if prev.Feedback != nil {
				p["feedback"] = feedback(prev.Submission.ID(), *prev.Feedback)
			}
			out["previous"] = p
		}
	}
	return c.JSON(status, out)
}

func feedback(sub string, f round.Feedback) map[string]any {
	return map[string]any{"submission_id": sub, "feedback": f.Text, "scores": f.Scores}
}

func toRound(r *round.Round) map[string]any {
	as := []map[string]any{}
	for _, a := range r.Assignments() {
		as = append(as, map[string]any{"submission_id": a.SubmissionID, "reviewer_id": a.ReviewerID, "reviewer_name": a.Name,
			"state": a.State, "overdue": a.Overdue, "reviewed": a.Review != nil})
	}
	subs := r.Submissions()
	if subs == nil {
		subs = []string{}
	}
	return map[string]any{"id": r.ID(), "name": r.Name(), "review_deadline": r.Deadline(), "submissions": subs, "assignments": as}
}

func content(sa api.SelfAssessment, ap api.ActionPlan, tv api.TechnicianVoice, webpage string) events.SubmissionContent {
	c := events.SubmissionContent{TechnicianVoice: events.TechnicianVoice{HowConsulted: tv.HowConsulted, Participants: tv.Participants}, Webpage: webpage,
		SelfAssessment: []events.ThemeAssessment{}, ActionPlan: []events.ActionItem{}}
	for _, a := range sa {
		c.SelfAssessment = append(c.SelfAssessment, events.ThemeAssessment{Theme: string(a.Theme), Narrative: a.Narrative, Rating: a.Rating})
	}
	for _, it := range ap {
		item := events.ActionItem{Theme: string(it.Theme), Action: it.Action, Owner: it.Owner, SuccessMeasure: it.SuccessMeasure, TargetDate: it.TargetDate.Format("2006-01-02")}
		if it.Progress != nil {
			item.Progress = string(*it.Progress)
		}
		c.ActionPlan = append(c.ActionPlan, item)
	}
	return c
}
