package events

import (
	"context"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/adapters"
)

// DurableAPITokens reads the portal's API token events into the fund's read model
// of them. A contract with the NATS server: never renamed.
const DurableAPITokens = "fund-api-tokens" // #nosec G101 -- a consumer's name, not a credential

// APITokens keeps the read model of the portal's API tokens from their own stream,
// which holds nothing else (the portal's sign-in links are on another the fund may
// not read) and keeps every event as long as its token can live. Each event carries
// the token's whole state and the read model merges what it hears (revocation for
// good), so a redelivery does no harm and no record of processed messages is kept.
func APITokens(t *adapters.APITokens) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamPortalTokens, Durable: DurableAPITokens, MaxAckPending: 1, Idempotent: true}
	return spec, func(ctx context.Context, e events.Envelope) error {
		switch e.Type {
		case events.APITokenIssuedV1{}.EventType():
			p, err := events.Decode[events.APITokenIssuedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return permanentIfInvalid(t.Record(ctx, adapters.APITokenState{ID: p.TokenID, Org: p.OrganisationID, ExpiresAt: p.ExpiresAt}))
		case events.APITokenRevokedV1{}.EventType():
			p, err := events.Decode[events.APITokenRevokedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return permanentIfInvalid(t.Record(ctx, adapters.APITokenState{ID: p.TokenID, Org: p.OrganisationID, ExpiresAt: p.ExpiresAt, Revoked: true, Why: p.Reason}))
		default:
			return nil // a newer event this version does not need
		}
	}
}

// permanentIfInvalid dead-letters a message that can never be recorded, rather than
// retrying it.
func permanentIfInvalid(err error) error {
	if apperr.Is(err, apperr.Invalid) {
		return bus.Permanent(err)
	}
	return err
}
