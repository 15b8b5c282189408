// Package events is the review service's JetStream port: its read models, built from
// its own events, and the read model of organisations built from the signatory
// service's events.
package events

import (
	"context"
	"fmt"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/review/internal/app"
)

// Durable consumer names: contracts with the NATS server, never renamed.
const (
	DurableOrganisations   = "review-organisations"
	DurableSubmissionViews = "review-submission-views"
)

// ReadModels keeps the rounds', assignments' and submissions' read models current
// from the service's own stream, many events at a time. Each entry carries the
// version of the aggregate it shows and never goes back, so a batch handled twice
// does no harm. (Its durable name is older than what it keeps, and stays.)
func ReadModels(a *app.App) (bus.ConsumerSpec, bus.BatchHandler) {
	spec := bus.ConsumerSpec{Stream: events.StreamReview, Durable: DurableSubmissionViews, Batch: 200, MaxDeliver: 10,
		FilterSubjects: app.ProjectedSubjects}
	return spec, func(ctx context.Context, batch []events.Envelope) error {
		if err := a.Project(ctx, batch); apperr.Is(err, apperr.Invalid) {
			return bus.Permanent(err)
		} else if err != nil {
			return err
		}
		return nil
	}
}

// Organisations keeps which organisations are announced (and may submit) and from
// which day (corrected by OrganisationAnnouncementCorrectedV1), which withdrew, their
// name (as ITSS last corrected it), their nominated lead, and their open obligation,
// and forgets an erased
// person there (tc.signatory.person.erased). It reads one message at a time, so the
// read model's read-modify-write has a single writer: the erasure is handled here,
// in the stream's order, since the review's consumer of erasures, reading and
// replacing these documents beside this one, lost the change it raced or wrote the
// erased lead back. Taking the erasure's subject widened the durable of the release
// before (deploy/README.md, "Upgrading to the release where the read models of
// signatories forget erased people").
func Organisations(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamSignatory, Durable: DurableOrganisations, MaxAckPending: 1, MaxDeliver: 10,
		FilterSubjects: []string{events.SubjectOrganisationAnnounced, events.SubjectOrganisationWithdrawn,
			events.SubjectOrganisationContactsChanged, events.SubjectObligationScheduled, events.SubjectPersonErased,
			events.SubjectOrganisationSuccession, events.SubjectOrganisationDetailsCorrected, events.SubjectAnnouncementCorrected}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		switch e.Type {
		case events.OrganisationAnnouncedV1{}.EventType():
			p, err := events.Decode[events.OrganisationAnnouncedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			// The record it succeeds is succeeded by it (UpdateOrganisation replaces the
			// field, so a redelivery changes nothing).
			if p.Succeeds != "" {
				if err := a.UpdateOrganisation(ctx, p.Succeeds, func(o *app.Organisation) { o.SucceededBy = p.OrganisationID }); err != nil {
					return err
				}
			}
			return a.UpdateOrganisation(ctx, p.OrganisationID, func(o *app.Organisation) {
				o.Name, o.Kind, o.Announced, o.AnnouncedOn, o.LeadName, o.LeadEmail = p.Name, p.Kind, true, p.AnnouncedOn, p.NominatedLead.Name, p.NominatedLead.Email
				if p.Succeeds != "" {
					o.Succeeds = p.Succeeds
				}
			})
		case events.OrganisationSuccessionRecordedV1{}.EventType():
			// The link recorded after the announcement, held exactly as the
			// announcement's: each record names the other (a redelivery sets the same).
			p, err := events.Decode[events.OrganisationSuccessionRecordedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			if p.Succeeds == "" {
				return bus.Permanent(fmt.Errorf("event %s names no record succeeded", e.ID))
			}
			if err := a.UpdateOrganisation(ctx, p.Succeeds, func(o *app.Organisation) { o.SucceededBy = p.OrganisationID }); err != nil {
				return err
			}
			return a.UpdateOrganisation(ctx, p.OrganisationID, func(o *app.Organisation) { o.Succeeds = p.Succeeds })
		case events.OrganisationDetailsCorrectedV1{}.EventType():
			// ITSS corrected the name: answers, the rounds its submissions are added to
			// from now on, and the feedback's email name it so (a redelivery sets the same).
			p, err := events.Decode[events.OrganisationDetailsCorrectedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			if p.Name == "" {
				return bus.Permanent(fmt.Errorf("event %s names the organisation nothing", e.ID))
			}
			return a.UpdateOrganisation(ctx, p.OrganisationID, func(o *app.Organisation) { o.Name = p.Name })
		case events.OrganisationAnnouncementCorrectedV1{}.EventType():
			// The announcement's day, from which its technicians join the pool; the
			// obligation's window follows from the obligation scheduled again after it.
			p, err := events.Decode[events.OrganisationAnnouncementCorrectedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.UpdateOrganisation(ctx, p.OrganisationID, func(o *app.Organisation) { o.AnnouncedOn = p.AnnouncedOn })
		case events.OrganisationWithdrawnV1{}.EventType():
			p, err := events.Decode[events.OrganisationWithdrawnV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			if err := a.UpdateOrganisation(ctx, p.OrganisationID, func(o *app.Organisation) { o.Withdrawn = true }); err != nil {
				return err
			}
			// Its reviewers come off its submissions in the open rounds (nobody will
			// use their work), and its own technicians off what they have not reviewed
			// (they may no longer review it). A failure is retried with the message
			// (both steps are idempotent).
			_, err = a.OrganisationWithdrawn(ctx, p.OrganisationID)
			return err
		case events.OrganisationContactsChangedV1{}.EventType():
			p, err := events.Decode[events.OrganisationContactsChangedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.UpdateOrganisation(ctx, p.OrganisationID, func(o *app.Organisation) {
				o.LeadName, o.LeadEmail = p.NominatedLead.Name, p.NominatedLead.Email
			})
		case events.ObligationScheduledV1{}.EventType():
			p, err := events.Decode[events.ObligationScheduledV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.UpdateOrganisation(ctx, p.OrganisationID, func(o *app.Organisation) {
				if o.Name == "" {
					o.Name = p.OrganisationName
				}
				// Obligations follow one another; an older one redelivered late does not
				// replace the current one.
				if p.Cycle >= o.ObligationCycle {
					o.ObligationID, o.ObligationKind, o.ObligationCycle, o.WindowOpens = p.ObligationID, p.Kind, p.Cycle, p.WindowOpens
				}
			})
		case events.PersonErasedV1{}.EventType():
			// Handled again (a redelivery, a rebuild's replay), it finds no one: a lead
			// named again after it is named by a later event.
			sub, err := platform.ErasedSubject(e)
			if err != nil {
				return err
			}
			return a.ForgetInOrganisations(ctx, sub)
		default:
			return nil // a newer event this version does not need
		}
	}
}
