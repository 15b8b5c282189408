package events

import "time"

// Subjects the portal publishes (without version suffix).
const (
	SubjectSigninLinkRequested = "tc.portal.signin.link_requested"
)

// PortalStreamMaxAge is how long the portal's stream keeps a message: as long as a
// sign-in link is good for, since the link's secret travels in the message and must
// not rest anywhere longer than it can be used.
const PortalStreamMaxAge = 15 * time.Minute

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
