package http

import (
	"context"
	"time"

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
	MentionedIn   []mentionedIn    `json:"mentioned_in"`
}

// mentionedIn is an email to someone else that names the person.
type mentionedIn struct {
	ID             string    `json:"id"`
	OrganisationID string    `json:"organisation_id"`
	Kind           string    `json:"kind"`
	Subject        string    `json:"subject"`
	CreatedAt      time.Time `json:"created_at"`
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
	var asked api.SubjectAccessJSONRequestBody
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.SubjectAccessJSONRequestBody) (app.Held, error) {
		asked = body
		return h.app.SubjectAccess(ctx, by, string(body.Email))
	}, func(held app.Held) subjectAccess {
		out := subjectAccess{Email: string(asked.Email), Organisations: []heldRole{}, Assignments: []heldAssignment{}, Deliveries: []delivery{}, MentionedIn: []mentionedIn{}}
		for _, r := range held.Roles {
			role := "lead"
			if r.Role == app.RoleHead {
				role = "head"
			}
			out.Organisations = append(out.Organisations, heldRole{OrganisationID: r.OrganisationID, Role: role, Person: personOf(r.Person)})
		}
		for _, a := range held.Assignments {
			out.Assignments = append(out.Assignments, heldAssignment{RoundID: a.RoundID, SubmissionID: a.SubmissionID, ReviewerID: a.ReviewerID, Reviewer: personOf(a.Reviewer)})
		}
		for _, d := range held.Deliveries {
			del := toDelivery(d)
			del.Text = d.Message.Text
			out.Deliveries = append(out.Deliveries, del)
		}
		for _, d := range held.Mentioned {
			out.MentionedIn = append(out.MentionedIn, mentionedIn{ID: d.Key, OrganisationID: d.OrganisationID, Kind: d.Kind, Subject: d.Message.Subject, CreatedAt: d.CreatedAt})
		}
		return out
	})
}
