package pages

import (
	"net/http"
	"strconv"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	reviewapi "github.com/itss/techcommit/services/review/api"
	sigapi "github.com/itss/techcommit/services/signatory/api"
)

type submittedTheme struct {
	Name, Narrative, Rating string
}

type submittedData struct {
	OrgID, OrgName string
	// What and When say which submission, as the editor's list of earlier ones does.
	What, When   string
	Themes       []submittedTheme
	HowConsulted string
	Participants int
	Webpage      string
	Items        []itemRow
	Feedback     bool
	ID           string
	// Withdrawn is the day the organisation withdrew, in words, or "": its
	// submission is then no longer peer-reviewed (noLongerReviewed).
	Withdrawn string
}

// submitted shows a submission the organisation sent, as it was sent: once
// submitted it cannot be changed, and the lead could not read it again until the
// feedback on it was released. The review service decides whether it is the
// organisation's (404 otherwise); a draft is the editor's, not this page's.
func (h *Handler) submitted(w http.ResponseWriter, r *http.Request) {
	org, set, ok := h.leadOf(w, r)
	if !ok {
		return
	}
	resp, err := set.Review.GetSubmissionWithResponse(r.Context(), r.PathValue("submission"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	s := resp.JSON200
	if s.OrganisationId != org || s.Status == reviewapi.SubmissionStatusDraft {
		h.notFound(w, r)
		return
	}
	d := submittedData{OrgID: org, OrgName: h.orgName(r, org), What: submissionKind(s), When: submissionWhen(s.Cycle, s.SubmittedAt),
		Webpage: s.Content.Webpage, Participants: s.Content.TechnicianVoice.Participants, Items: rows(s.Content.ActionPlan),
		Feedback: s.Status == reviewapi.SubmissionStatusFeedbackReleased, ID: s.Id}
	if !d.Feedback {
		// Said when the signatory service answers; the page stands without it.
		if o, err := set.Signatory.GetOrganisationWithResponse(r.Context(), org); err == nil && o.JSON200 != nil {
			if o.JSON200.Status == sigapi.Withdrawn && o.JSON200.WithdrawnOn != nil {
				d.Withdrawn = longDate(o.JSON200.WithdrawnOn.Time)
			}
		} else if err != nil {
			h.logger.WarnContext(r.Context(), "organisation unavailable for the submission as sent", "error", err)
		}
	}
	if hc := s.Content.TechnicianVoice.HowConsulted; hc != nil {
		d.HowConsulted = *hc
	}
	for _, a := range s.Content.SelfAssessment {
		t := submittedTheme{Name: form.ThemeName(string(a.Theme))}
		if a.Narrative != nil {
			t.Narrative = *a.Narrative
		}
		if a.Rating != nil {
			t.Rating = strconv.Itoa(*a.Rating) + " out of 4"
		}
		d.Themes = append(d.Themes, t)
	}
	h.show(w, r, http.StatusOK, "submitted", "Your submission as sent", nil, d)
}
