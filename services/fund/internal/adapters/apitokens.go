package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
)

// APITokens is the fund's read model of the API tokens the portal issued to
// organisations' tools, one document per token by its id (the JWT's jti), built from
// the portal's events. The fund accepts such a token only while this model holds it
// issued for the organisation it names, not revoked and not expired. The portal's
// stream of these events keeps each longer than any token lives
// (events.APITokenStreamMaxAge) and the consumer is durable, so the model misses no
// revocation however long this service or the portal was down: it needs no word
// from the portal to keep accepting a token, only none against it.
type APITokens struct {
	coll *mongo.Collection
	now  func() time.Time
}

var _ auth.APITokens = (*APITokens)(nil)

type apiTokenDoc struct {
	ID        string    `bson:"_id"`
	Org       string    `bson:"org"`
	ExpiresAt time.Time `bson:"expires_at"`
	Revoked   bool      `bson:"revoked"`
	// Why is the revocation's reason (events.APITokenRevoked…), when the portal
	// gave one: the refusal says it.
	Why string `bson:"why,omitempty"`
}

// NewAPITokens opens the read model. now is the clock expiry is read by: the wall
// clock, the one the token verifier checks exp by.
func NewAPITokens(db *mongo.Database, now func() time.Time) (*APITokens, error) {
	if db == nil || now == nil {
		return nil, errors.New("api tokens: a database and a clock are required")
	}
	return &APITokens{coll: db.Collection("api_tokens"), now: now}, nil
}

// APITokenState is one event's word on a token.
type APITokenState struct {
	ID, Org   string
	ExpiresAt time.Time
	Revoked   bool
	// Why is the reason a revocation gives, if any (events.APITokenRevokedV1.Reason).
	Why string
}

// Record merges s into the token's document. Revocation is for good and the expiry
// only comes nearer, so an issue delivered after the revocation, or any message
// delivered again, changes nothing. The consumer handles one message at a time,
// which is what makes the read-then-replace safe.
func (t *APITokens) Record(ctx context.Context, s APITokenState) error {
	if s.ID == "" || s.Org == "" {
		return apperr.New(apperr.Invalid, "an API token event names its token and organisation")
	}
	doc := apiTokenDoc{ID: s.ID, Org: s.Org, ExpiresAt: s.ExpiresAt.UTC(), Revoked: s.Revoked}
	if s.Revoked {
		doc.Why = s.Why
	}
	var old apiTokenDoc
	switch err := t.coll.FindOne(ctx, bson.D{{Key: "_id", Value: s.ID}}).Decode(&old); {
	case errors.Is(err, mongo.ErrNoDocuments):
	case err != nil:
		return fmt.Errorf("read API token %s: %w", s.ID, store.Classify(err))
	default:
		if old.Org != s.Org {
			// A token id is the portal's random jti: one naming two organisations is
			// a forgery or a bug, and neither may widen what the token reaches.
			doc.Revoked = true
		}
		doc.Org = old.Org
		doc.Revoked = doc.Revoked || old.Revoked
		if old.Revoked {
			doc.Why = old.Why // the first revocation's reason is the one that counted
		}
		if old.ExpiresAt.Before(doc.ExpiresAt) {
			doc.ExpiresAt = old.ExpiresAt
		}
	}
	if err := store.Replace(ctx, t.coll, s.ID, doc); err != nil {
		return fmt.Errorf("record API token %s: %w", s.ID, store.Classify(err))
	}
	return nil
}

// InForce implements auth.APITokens.
func (t *APITokens) InForce(ctx context.Context, id, org string) error {
	var d apiTokenDoc
	switch err := t.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); {
	case errors.Is(err, mongo.ErrNoDocuments):
		return apperr.New(apperr.Unauthenticated, "the API token is not known to this service (a new token is known within seconds)")
	case err != nil:
		return apperr.Wrap(apperr.Unavailable, store.Classify(err), "the API token's standing could not be read")
	}
	now := t.now()
	switch {
	case d.Org != org:
		return apperr.New(apperr.Unauthenticated, "the API token was not issued for this organisation")
	case d.Revoked:
		return apperr.New(apperr.Unauthenticated, "the API token has been revoked%s", revokedBecause(d.Why))
	case !now.Before(d.ExpiresAt):
		return apperr.New(apperr.Unauthenticated, "the API token has expired")
	}
	return nil
}

// revokedBecause is what a refusal of a revoked token adds for the reason the portal
// gave (events.APITokenRevokedV1.Reason): what happened, and what to do, for the
// developer whose tool stopped. A reason this version does not know adds nothing.
func revokedBecause(why string) string {
	switch why {
	case events.APITokenRevokedMakerNotLead:
		return ": the person who made it is no longer the organisation's nominated lead, nor a colleague the lead named, so it " +
			"no longer acts for the organisation. Ask the organisation's lead for a new token (the portal's API tokens page)"
	case events.APITokenRevokedMakerAddressCorrected:
		return ": the address of the lead who made it was corrected, and the token carried the earlier one. " +
			"The lead can make a new token, which carries the corrected address, on the portal's API tokens page"
	case events.APITokenRevokedMakerErased:
		return ": the details of the person who made it were erased at their request. Ask the organisation's lead for a new token " +
			"(when it was the lead who was erased, the organisation has none until ITSS records a new one)"
	}
	return ""
}
