// Package funding is an organisation's record of the grants rounds are making it. It
// exists for one rule that spans rounds: a round that excludes the previous round's
// grantees may not fund an organisation that round funded, and rounds that overlap
// may award in either order. Each award in such a round claims here first; the event
// store's unique index on the record's versions puts concurrent claims in an order,
// so only one of two conflicting awards can pass, as the budget ledger does for a
// round's budget.
package funding

import (
	"fmt"
	"slices"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
)

// AggregateType names funding records in the event store.
const AggregateType = "funding"

// ID is the funding record of an organisation.
func ID(org string) string { return "funding-" + org }

// Claim is a round awarding an application of the organisation.
type Claim struct {
	RoundID       string
	ApplicationID string
}

// Record is an organisation's live claims, in the order they were made.
type Record struct {
	org    string
	claims []Claim
}

// Rebuild replays an organisation's funding record.
func Rebuild(org string, history []events.Envelope) (*Record, error) {
	r := &Record{org: org}
	for _, e := range history {
		switch e.Type {
		case events.FundingClaimedV1{}.EventType():
			p, err := events.Decode[events.FundingClaimedV1](e)
			if err != nil {
				return nil, fmt.Errorf("funding %s: %w", org, err)
			}
			r.claims = append(r.claims, Claim{RoundID: p.RoundID, ApplicationID: p.ApplicationID})
		case events.FundingReleasedV1{}.EventType():
			p, err := events.Decode[events.FundingReleasedV1](e)
			if err != nil {
				return nil, fmt.Errorf("funding %s: %w", org, err)
			}
			r.claims = slices.DeleteFunc(r.claims, func(c Claim) bool { return c.ApplicationID == p.ApplicationID })
		default:
			return nil, fmt.Errorf("funding %s: unknown event type %s", org, e.Type)
		}
	}
	return r, nil
}

// Claims returns the live claims.
func (r *Record) Claims() []Claim { return slices.Clone(r.claims) }

// Claim records that roundID is awarding applicationID, unless the organisation
// holds a claim in one of the conflicting rounds (by id, with their names for the
// refusal). Claiming again for the same application changes nothing.
func (r *Record) Claim(roundID, applicationID string, conflicting map[string]string) ([]events.Payload, error) {
	for _, c := range r.claims {
		if c.ApplicationID == applicationID {
			return nil, nil
		}
	}
	for _, c := range r.claims {
		if name, ok := conflicting[c.RoundID]; ok {
			return nil, apperr.New(apperr.Conflict, "the applicant organisation is funded in round %q, and the rule on the previous round's grantees forbids funding it in both", name)
		}
	}
	return []events.Payload{events.FundingClaimedV1{OrganisationID: r.org, RoundID: roundID, ApplicationID: applicationID}}, nil
}

// Release withdraws the claim of an application whose award was refused after all.
// Releasing what is not claimed changes nothing.
func (r *Record) Release(applicationID string) ([]events.Payload, error) {
	for _, c := range r.claims {
		if c.ApplicationID == applicationID {
			return []events.Payload{events.FundingReleasedV1{OrganisationID: r.org, RoundID: c.RoundID, ApplicationID: applicationID}}, nil
		}
	}
	return nil, nil
}
