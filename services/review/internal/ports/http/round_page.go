package http

import (
	"context"
	"net/http"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/review/api"
	"github.com/itss/techcommit/services/review/internal/app"
)

// GetReviewer reads one pool member's record. Its ETag is the record's version,
// which updateReviewer's If-Match names.
func (h *Handlers) GetReviewer(c httpserver.Context, reviewerID string) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (app.Member, error) {
		m, err := h.app.Reviewer(ctx, by, reviewerID)
		if err == nil {
			httpserver.SetETag(c, m.Version)
		}
		return m, err
	}, toMember)
}

// GetRoundSummary reads a round without its assignments, with their progress.
func (h *Handlers) GetRoundSummary(c httpserver.Context, roundID api.RoundID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (app.RoundSummary, error) {
		return h.app.RoundSummary(ctx, by, roundID)
	}, func(s app.RoundSummary) api.RoundSummary {
		return api.RoundSummary{Id: s.ID, Name: s.Name, Status: api.RoundStatus(s.Status), ReviewDeadline: s.Deadline,
			ReviewersPerSubmission: s.ReviewersPerSubmission, SubmissionCount: s.Submissions,
			Progress: &api.RoundProgress{Assigned: s.Progress.Assigned, Accepted: s.Progress.Accepted, Reviewed: s.Progress.Reviewed, Overdue: s.Progress.Overdue}}
	})
}

// ListRoundAssignments lists a page of a round's assignments.
func (h *Handlers) ListRoundAssignments(c httpserver.Context, roundID api.RoundID, params api.ListRoundAssignmentsParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	got, next, err := h.app.RoundAssignments(c.Request().Context(), by, roundID, deref(params.SubmissionId), page(params.Limit, params.Cursor))
	if err != nil {
		return err
	}
	items := make([]api.Assignment, 0, len(got))
	for _, a := range got {
		released := a.Released
		items = append(items, api.Assignment{SubmissionId: a.SubmissionID, OrganisationId: a.Org, ReviewerId: a.ReviewerID,
			ReviewerName: named(a.ReviewerName), State: api.AssignmentState(a.State), Overdue: a.Overdue, Reviewed: a.Reviewed(),
			ReturnedReason: optional(a.ReturnedReason), WithheldReason: optional(a.WithheldReason), DeclinedReason: optional(a.DeclinedReason), FeedbackReleased: &released})
	}
	return c.JSON(http.StatusOK, list(items, next))
}
