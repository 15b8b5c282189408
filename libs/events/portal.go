package events

import "time"

// Subjects the portal publishes (without version suffix).
const (
	SubjectSigninLinkRequested = "tc.portal.signin.link_requested"
)

// PortalStreamMaxAge is how long the portal's stream keeps a message: as long as a
// sign-in link is good for, since the link's secret travels in the message and must
// not rest anywhere longer than it can be used. The API token events, which must
// outlive every token they speak of, have a stream of their own (StreamPortalTokens).
const PortalStreamMaxAge = 15 * time.Minute

// PortalEndedMaxAge is how long the portal's register of ended sign-ins keeps an
// entry: longer than the longest session (PORTAL_SESSION_MAX_LIFETIME, however a
// session is renewed, is at most 24 hours) and than any sign-in link, so that every session or link it names would still
// be good without it. An entry is a digest: it carries no secret and no personal data.
const PortalEndedMaxAge = 25 * time.Hour

// PortalRemovedMaxAge is how long the portal's register of removed colleagues keeps an
// entry: a day longer than a backup is kept (the bucket's lifecycle rule, 35 days,
// deploy/README.md), so that whatever backup is restored, every colleague a lead
// removed since it was taken is still named. An entry is the digest of the colleague's
// organisation and address, and a time: no address and no name.
const PortalRemovedMaxAge = 36 * 24 * time.Hour

// SigninLinkRequestedV1 asks notify to email a one-time sign-in link. It is the only
// event that carries a secret (inside Link): notify sends it and keeps the email's
// body with the link redacted, and the stream drops it when the link expires. It is
// published only for an address the suite holds (a nominated lead or a reviewer).
type SigninLinkRequestedV1 struct {
	Email string `json:"email"`
	// Name is how the records name the person, for the greeting (may be empty).
	Name string `json:"name,omitempty"`
	// Link is the sign-in address, secret included.
	Link      string    `json:"link"`
	ExpiresAt time.Time `json:"expires_at"`
}

// EventType implements Payload.
func (SigninLinkRequestedV1) EventType() string { return SubjectSigninLinkRequested + ".v1" }

// Subjects of the API tokens the portal issues to applicants' tools.
const (
	SubjectAPITokenIssued  = "tc.portal.apitoken.issued"  // #nosec G101 -- a subject, not a credential
	SubjectAPITokenRevoked = "tc.portal.apitoken.revoked" // #nosec G101 -- a subject, not a credential
	// SubjectsAPIToken is both: the subjects of StreamPortalTokens.
	SubjectsAPIToken = "tc.portal.apitoken.>" // #nosec G101 -- subjects, not a credential
)

// MaxAPITokenLifetime is the longest any API token may last, whatever is configured:
// it bounds both AUTH_MAX_API_TOKEN_LIFETIME and PORTAL_API_TOKEN_MAX_LIFETIME, after
// which an organisation's tools must be given a new token.
const MaxAPITokenLifetime = 366 * 24 * time.Hour

// APITokenStreamMaxAge is how long StreamPortalTokens keeps a message: longer than
// any token lives, with a month to spare, so that every event about a token that
// has not expired is still there for a consumer that was down, however long, or
// that starts over. A service that accepts the tokens therefore cannot miss a
// revocation, and needs nothing repeated. The events carry no secret and no
// personal data, so keeping them this long costs nothing.
const APITokenStreamMaxAge = MaxAPITokenLifetime + 30*24*time.Hour

// APITokenIssuedV1 says that the portal issued an API token (a JWT it signed, whose
// jti is TokenID) for an organisation's tools. A service accepts such a token only
// while its read model, built from these events on TC_PORTAL_TOKENS, holds it
// issued and not revoked (and the token has not expired): a token it has not heard
// of is refused, and a revocation stands whatever arrives after it. It carries no
// secret and no personal data: who made the token stays in the portal's own records.
type APITokenIssuedV1 struct {
	TokenID        string    `json:"token_id"`
	OrganisationID string    `json:"organisation_id"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// EventType implements Payload.
func (APITokenIssuedV1) EventType() string { return SubjectAPITokenIssued + ".v1" }

// APITokenRevokedV1 says that an API token was revoked: no service may accept it
// again, whatever it heard before or hears after.
type APITokenRevokedV1 struct {
	TokenID        string    `json:"token_id"`
	OrganisationID string    `json:"organisation_id"`
	ExpiresAt      time.Time `json:"expires_at"`
	// Reason says why, when the portal revoked it on its own (one of the
	// APITokenRevoked… values: maker_not_lead, maker_address_corrected,
	// maker_erased), so that a service refusing the token can tell the
	// tool's developer what happened and whom to ask; absent when a person revoked
	// it. Optional within v1: a newer reason a reader does not know reads as none.
	Reason string `json:"reason,omitempty"`
	// RevokedBy says who revoked it, by role alone (one of the APITokenRevokedBy…
	// values: organisation, itss, portal), so that the portal's records, restored
	// from a backup older than the revocation, say it again without anyone's name
	// being kept here. Optional within v1: absent from revocations told before it,
	// and a role a reader does not know reads as none.
	RevokedBy string `json:"revoked_by,omitempty"`
}

// Who revoked an API token (APITokenRevokedV1.RevokedBy), by role: never the person.
const (
	// APITokenRevokedByOrganisation: the organisation's nominated lead, or a
	// colleague the lead named.
	APITokenRevokedByOrganisation = "organisation"
	// APITokenRevokedByITSS: ITSS operations staff.
	APITokenRevokedByITSS = "itss"
	// APITokenRevokedByPortal: the portal on its own (Reason says why, when it can).
	APITokenRevokedByPortal = "portal"
)

// Why the portal revoked an API token (APITokenRevokedV1.Reason). They name what
// happened to the token's maker, never who they are.
const (
	// APITokenRevokedMakerNotLead: the person who made it is no longer the
	// organisation's nominated lead, nor a colleague its lead named (the role was
	// handed on, or the colleague removed).
	APITokenRevokedMakerNotLead = "maker_not_lead"
	// APITokenRevokedMakerAddressCorrected: the lead who made it had their address
	// corrected, and the token carries the old one, to which the fund would write.
	APITokenRevokedMakerAddressCorrected = "maker_address_corrected"
	// APITokenRevokedMakerErased: the person who made it was erased at their request.
	APITokenRevokedMakerErased = "maker_erased"
)

// EventType implements Payload.
func (APITokenRevokedV1) EventType() string { return SubjectAPITokenRevoked + ".v1" }
