package http

import (
	"net/http"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/notify/api"
	"github.com/itss/techcommit/services/notify/internal/app"
)

// subjectAccess is the answer to a subject access request (api.SubjectAccess, with
// the log's deliveries as the log lists them).
type subjectAccess struct {
	Email         string           `json:"email"`
	Organisations []heldRole       `json:"organisations"`
	Assignments   []heldAssignment `json:"assignments"`
	Deliveries    []delivery       `json:"deliveries"`
}

type heldRole struct {
	OrganisationID string `json:"organisation_id"`
	Role           string `json:"role"`
	Person         person `json:"person"`
}

type heldAssignment struct {
	RoundID      string `json:"round_id"`
	SubmissionID string `json:"submission_id"`
	ReviewerID   string `json:"reviewer_id"`
	Reviewer     person `json:"reviewer"`
}

// SubjectAccess gathers what notify holds about a person (docs/PRIVACY.md).
func (h *Handlers) SubjectAccess(c httpserver.Context) error {
	var body api.SubjectAccessJSONRequestBody
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	held, err := h.app.SubjectAccess(c.Request().Context(), by, string(body.Email))
	if err != nil {
		return err
	}
	out := subjectAccess{Email: string(body.Email), Organisations: []heldRole{}, Assignments: []heldAssignment{}, Deliveries: []delivery{}}
	for _, r := range held.Roles {
		role := "lead"
		if r.Role == app.RoleHead {
			role = "head"
		}
		out.Organisations = append(out.Organisations, heldRole{OrganisationID: r.OrganisationID, Role: role, Person: person(r.Person)})
	}
	for _, a := range held.Assignments {
		out.Assignments = append(out.Assignments, heldAssignment{RoundID: a.RoundID, SubmissionID: a.SubmissionID, ReviewerID: a.ReviewerID, Reviewer: person(a.Reviewer)})
	}
	for _, d := range held.Deliveries {
		out.Deliveries = append(out.Deliveries, toDelivery(d))
	}
	return c.JSON(http.StatusOK, out)
}
