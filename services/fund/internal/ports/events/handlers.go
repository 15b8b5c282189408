// Package events is the fund service's JetStream port: the projection of its own
// applications and the read model of signatories built from the signatory service's
// events.
package events

import (
	"context"
	"fmt"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
)

// Durable consumer names: contracts with the NATS server, never renamed.
const (
	DurableProjection = "fund-projection"
	// DurableSignatories is retired: it read announcements and withdrawals only, and
	// recorded no nominated lead. DurableSignatoriesV2 replaced it so that the read
	// model is rebuilt from the start of the signatory stream, leads included; a server
	// that still has the old durable may have it deleted.
	DurableSignatories   = "fund-signatories"
	DurableSignatoriesV2 = "fund-signatories-v2"
	DurableSettlement    = "fund-award-settlement"
	// DurableCorrections settles corrected awards: a durable of its own, so that a
	// pod of the release before, sharing fund-award-settlement during a rolling
	// update, is never handed an adjustment it would acknowledge unhandled.
	DurableCorrections = "fund-award-corrections"
)

// Settlement finishes every award from its budget reservation, so that an award whose
// request failed half way is completed (or its money released) all the same.
func Settlement(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamFund, Durable: DurableSettlement, MaxAckPending: 16,
		FilterSubjects: []string{events.SubjectBudgetReserved}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		p, err := events.Decode[events.BudgetReservedV1](e)
		if err != nil {
			return bus.Permanent(err)
		}
		if err := a.Settle(ctx, e.Actor, p); err != nil && !apperr.Is(err, apperr.Conflict) && !apperr.Is(err, apperr.Invalid) && !apperr.Is(err, apperr.NotFound) {
			return err
		}
		return nil
	}
}

// Corrections finishes every correction of an award from its ledger entry
// (BudgetAdjustedV1), as Settlement does awards: a correction whose request failed
// after the ledger took it is recorded on its application all the same, or put back
// on the ledger if the application refuses it.
func Corrections(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamFund, Durable: DurableCorrections, MaxAckPending: 16,
		FilterSubjects: []string{events.SubjectBudgetAdjusted}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		p, err := events.Decode[events.BudgetAdjustedV1](e)
		if err != nil {
			return bus.Permanent(err)
		}
		if err := a.SettleCorrection(ctx, e.Actor, e.ID, p); err != nil && !apperr.Is(err, apperr.Conflict) && !apperr.Is(err, apperr.Invalid) &&
			!apperr.Is(err, apperr.NotFound) && !apperr.Is(err, apperr.PreconditionFailed) {
			return err
		}
		return nil
	}
}

// Projection keeps the applications view current from the service's own stream, many
// events at a time. It writes applications' state as it is at their events, never
// putting back an older one, so running it twice does no harm.
func Projection(a *app.App) (bus.ConsumerSpec, bus.BatchHandler) {
	spec := bus.ConsumerSpec{Stream: events.StreamFund, Durable: DurableProjection, Batch: 200, MaxDeliver: 10,
		FilterSubjects: []string{"tc.fund.application.>"}}
	return spec, func(ctx context.Context, batch []events.Envelope) error {
		for _, e := range batch {
			if e.AggregateType != application.AggregateType || e.AggregateID == "" {
				// The consumer takes a failed batch one message at a time, so only
				// this one is dead-lettered.
				return bus.Permanent(fmt.Errorf("event %s is not about an application", e.ID))
			}
		}
		return a.Project(ctx, batch)
	}
}

// Signatories records which organisations are announced signatories and from which
// day (corrected by OrganisationAnnouncementCorrectedV1), which withdrew
// (withdrawing their open applications), who each one's nominated lead is
// (announced, then changed with its contacts), the record each succeeds (named by
// its announcement or recorded later), and its name as ITSS last corrected it, and
// forgets an erased person there
// (tc.signatory.person.erased). The erasure is handled here, in the stream's order
// with the rest, and by no other consumer: the fund's consumer of erasures, reading
// and replacing these documents beside this one, lost a withdrawal it raced or wrote
// the erased lead back. Taking the erasure's subject widened the durable of the
// release before (deploy/README.md, "Upgrading to the release where the read models
// of signatories forget erased people").
func Signatories(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamSignatory, Durable: DurableSignatoriesV2, MaxAckPending: 1,
		FilterSubjects: []string{events.SubjectOrganisationAnnounced, events.SubjectOrganisationContactsChanged, events.SubjectOrganisationWithdrawn,
			events.SubjectPersonErased, events.SubjectOrganisationSuccession, events.SubjectOrganisationDetailsCorrected,
			events.SubjectAnnouncementCorrected}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		switch e.Type {
		case events.OrganisationAnnouncedV1{}.EventType():
			p, err := events.Decode[events.OrganisationAnnouncedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.RecordSignatory(ctx, app.Signatory{ID: p.OrganisationID, Name: p.Name, Kind: p.Kind,
				NominatedLeadEmail: p.NominatedLead.Email, AnnouncedOn: p.AnnouncedOn, Succeeds: p.Succeeds})
		case events.OrganisationSuccessionRecordedV1{}.EventType():
			// The link recorded after the announcement, held exactly as the
			// announcement's (a redelivery sets the same).
			p, err := events.Decode[events.OrganisationSuccessionRecordedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			if p.Succeeds == "" {
				return bus.Permanent(fmt.Errorf("event %s names no record succeeded", e.ID))
			}
			return a.RecordSuccession(ctx, p.OrganisationID, p.Succeeds)
		case events.OrganisationDetailsCorrectedV1{}.EventType():
			p, err := events.Decode[events.OrganisationDetailsCorrectedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			if p.Name == "" {
				return bus.Permanent(fmt.Errorf("event %s names the organisation nothing", e.ID))
			}
			return a.RecordName(ctx, p.OrganisationID, p.Name)
		case events.OrganisationAnnouncementCorrectedV1{}.EventType():
			// The announcement's day, from which the organisation applies.
			p, err := events.Decode[events.OrganisationAnnouncementCorrectedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.CorrectAnnouncement(ctx, p.OrganisationID, p.AnnouncedOn)
		case events.OrganisationContactsChangedV1{}.EventType():
			p, err := events.Decode[events.OrganisationContactsChangedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.RecordContacts(ctx, p.OrganisationID, p.NominatedLead.Email)
		case events.OrganisationWithdrawnV1{}.EventType():
			p, err := events.Decode[events.OrganisationWithdrawnV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.WithdrawOrganisation(ctx, p.OrganisationID, p.WithdrawnOn)
		case events.PersonErasedV1{}.EventType():
			// Handled again (a redelivery, a rebuild's replay), it finds no one: a lead
			// named again after it is named by a later event.
			sub, err := platform.ErasedSubject(e)
			if err != nil {
				return err
			}
			return a.ForgetInSignatories(ctx, sub)
		default:
			return nil // a newer event this version does not need
		}
	}
}
