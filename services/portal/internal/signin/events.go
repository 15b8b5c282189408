package signin

import (
	"context"
	"fmt"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
)

// Durable consumer names. They are contracts: renamed, a consumer starts over.
const (
	DurableLeads     = "portal-people-leads"
	DurableReviewers = "portal-people-reviewers"
)

// LeadsConsumer keeps each organisation's nominated lead, and its name as ITSS last
// corrected it, from the signatory service's events. The handler writes the current
// state, so a redelivery changes nothing.
func LeadsConsumer(p *People) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamSignatory, Durable: DurableLeads, Idempotent: true,
		FilterSubjects: []string{events.SubjectOrganisationFormReceived,
			events.SubjectOrganisationAnnounced, events.SubjectOrganisationContactsChanged,
			events.SubjectOrganisationDetailsCorrected}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		payload, err := events.DecodeAny(e)
		if err != nil {
			return bus.Permanent(err)
		}
		switch v := payload.(type) {
		case events.OrganisationFormReceivedV1:
			return p.SetLead(ctx, v.OrganisationID, Lead{Name: v.NominatedLead.Name, Since: e.Time}, v.NominatedLead.Email)
		case events.OrganisationAnnouncedV1:
			return p.SetLead(ctx, v.OrganisationID, Lead{OrgName: v.Name, Name: v.NominatedLead.Name, Since: e.Time}, v.NominatedLead.Email)
		case events.OrganisationContactsChangedV1:
			return p.SetLead(ctx, v.OrganisationID, Lead{Name: v.NominatedLead.Name, Since: e.Time}, v.NominatedLead.Email)
		case events.OrganisationDetailsCorrectedV1:
			if v.Name == "" {
				return bus.Permanent(fmt.Errorf("event %s names the organisation nothing", e.ID))
			}
			return p.RenameOrganisation(ctx, v.OrganisationID, v.Name)
		}
		return nil
	}
}

// ReviewersConsumer keeps the reviewer pool's members from the review service's events.
func ReviewersConsumer(p *People) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamReview, Durable: DurableReviewers, Idempotent: true,
		FilterSubjects: []string{events.SubjectReviewerRegistered, events.SubjectReviewerUpdated}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		payload, err := events.DecodeAny(e)
		if err != nil {
			return bus.Permanent(err)
		}
		switch v := payload.(type) {
		case events.ReviewerRegisteredV1:
			return p.SetReviewer(ctx, Reviewer{ID: v.ReviewerID, OrgID: v.OrganisationID, Name: v.Name}, v.Email)
		case events.ReviewerUpdatedV1:
			return p.SetReviewer(ctx, Reviewer{ID: v.ReviewerID, OrgID: v.OrganisationID, Name: v.Name}, v.Email)
		}
		return nil
	}
}
