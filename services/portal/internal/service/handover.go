package service

import (
	"context"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// leadsAndTheirTokens keeps each organisation's nominated lead (signin.LeadsConsumer)
// and then revokes the organisation's API tokens made before the change by someone
// who may no longer make them (apitokens.Store.RevokeUnlent): a lead who handed the
// role on, a colleague that lead named, or the lead's address before its correction.
// Each such token carries its maker's name and address, which the fund takes as the
// applicant of what it drafts and writes to; left working, it acted for the
// organisation in the name of someone no longer acting for it, and sent the fund's
// receipts to an address no longer the lead's. Both steps are idempotent, so a
// redelivery does no harm.
func leadsAndTheirTokens(tokens *apitokens.Store) func(*signin.People) (bus.ConsumerSpec, bus.Handler) {
	return func(people *signin.People) (bus.ConsumerSpec, bus.Handler) {
		spec, setLead := signin.LeadsConsumer(people)
		return spec, func(ctx context.Context, e events.Envelope) error {
			// A change recording the lead erased (signatory records it before it
			// announces the erasure) takes the power from the lead held until now:
			// read before the change is taken in, their tokens say so when revoked.
			var erased []string
			if v, _ := events.DecodeAny(e); v != nil {
				if c, ok := v.(events.OrganisationContactsChangedV1); ok && c.NominatedLead.Erased {
					var err error
					if erased, err = people.LeadMakers(ctx, c.OrganisationID); err != nil {
						return err
					}
				}
			}
			if err := setLead(ctx, e); err != nil {
				return err
			}
			var org string
			switch v, _ := events.DecodeAny(e); v := v.(type) {
			case events.OrganisationFormReceivedV1:
				org = v.OrganisationID
			case events.OrganisationAnnouncedV1:
				org = v.OrganisationID
			case events.OrganisationContactsChangedV1:
				org = v.OrganisationID
			default:
				return nil
			}
			makers, lead, err := people.TokenMakers(ctx, org)
			if err != nil {
				return err
			}
			_, err = tokens.RevokeUnlent(ctx, org, makers, lead, erased, e.Time)
			return err
		}
	}
}
