// Package events is the review service's JetStream port: the read model of which
// organisations may submit, and for which obligation.
package events

import (
	"context"
	"fmt"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/review/internal/app"
)

// DurableOrganisations is the consumer's durable name: a contract, never renamed.
const DurableOrganisations = "review-organisations"

// Organisations follows announcements, withdrawals and obligations.
func Organisations(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamSignatory, Durable: DurableOrganisations, MaxAckPending: 1,
		FilterSubjects: []string{events.SubjectOrganisationAnnounced, events.SubjectOrganisationWithdrawn, events.SubjectObligationScheduled, events.SubjectObligationMet}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		if e.AggregateID == "" {
			return bus.Permanent(fmt.Errorf("event %s names no organisation", e.ID))
		}
		var apply func(*app.Organisation)
		switch e.Type {
		case events.OrganisationAnnouncedV1{}.EventType():
			apply = func(o *app.Organisation) { o.Announced = true }
		case events.OrganisationWithdrawnV1{}.EventType():
			apply = func(o *app.Organisation) { o.Withdrawn = true }
		case events.ObligationScheduledV1{}.EventType():
			p, err := events.Decode[events.ObligationScheduledV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			apply = func(o *app.Organisation) { o.ObligationID, o.ObligationKind = p.ObligationID, p.Kind }
		case events.ObligationMetV1{}.EventType():
			p, err := events.Decode[events.ObligationMetV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			apply = func(o *app.Organisation) {
				if o.ObligationID == p.ObligationID {
					o.ObligationID = ""
				}
			}
		default:
			return nil
		}
		return a.UpdateOrganisation(ctx, e.AggregateID, apply)
	}
}
