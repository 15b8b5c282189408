// Package events holds the contracts between the suite's services: the envelope every
// event travels in, the stream and subject names, and the versioned payload types.
//
// An event's type carries its version ("tc.signatory.organisation.announced.v1").
// Within a version, a payload only gains optional fields; a breaking change is a new
// version, and consumers keep accepting the older ones.
package events

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SpecVersion is the CloudEvents version of the envelope's attributes.
const SpecVersion = "1.0"

// Payload is implemented by every event payload type.
type Payload interface {
	// EventType is the CloudEvents type, with its version suffix.
	EventType() string
}

// Envelope is one event as stored in a service's event log and published on NATS.
// Its attributes follow CloudEvents 1.0; Data is the JSON payload.
type Envelope struct {
	ID            string    // unique; also the Nats-Msg-Id, so JetStream drops republished copies
	Source        string    // the producing service, e.g. "/tc/signatory"
	Type          string    // e.g. "tc.signatory.organisation.announced.v1"
	AggregateType string    // e.g. "organisation"
	AggregateID   string    // the CloudEvents subject: which aggregate this is about
	Version       int       // the aggregate's version after this event
	Time          time.Time // when it happened
	Actor         string    // who caused it ("ops:alice", "system:scheduler", ...)
	TraceParent   string    // W3C trace context of the operation that caused it
	Data          json.RawMessage

	// decoded is the payload Data encodes, when this process made the envelope from
	// it (see Carrying). It is never stored or sent.
	decoded Payload
}

// Carrying returns e holding p, the payload its Data is the encoding of, so that
// Decode in this process returns p instead of parsing Data again: a command's new
// events are rebuilt into its answer and projected at once, and decoding them was a
// tenth of the fund's CPU per draft. p is shared by every copy of e, so neither it
// nor anything it points to may change afterwards.
func (e Envelope) Carrying(p Payload) Envelope {
	e.decoded = p
	return e
}

// Carried returns the payload e carries (see Carrying), or nil.
func (e Envelope) Carried() Payload { return e.decoded }

// Subject is the NATS subject the event is published on: its type without the
// version suffix.
func (e Envelope) Subject() string { return SubjectOf(e.Type) }

// SubjectOf strips the version suffix from an event type.
func SubjectOf(eventType string) string {
	if i := strings.LastIndex(eventType, ".v"); i > 0 {
		return eventType[:i]
	}
	return eventType
}

// Decode unmarshals the payload into v, checking that the envelope carries the type v
// expects; an envelope carrying its payload (see Carrying) gives that instead.
func Decode[T Payload](e Envelope) (T, error) {
	var v T
	if e.Type != v.EventType() {
		return v, fmt.Errorf("decode event %s: type is %s, want %s", e.ID, e.Type, v.EventType())
	}
	if p, ok := e.decoded.(T); ok {
		return p, nil
	}
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return v, fmt.Errorf("decode event %s (%s): %w", e.ID, e.Type, err)
	}
	return v, nil
}

// Stream names, one per producing service, and the dead-letter stream. The portal
// has two: its sign-in links may rest only minutes, its API token events must rest
// for as long as a token can live (see APITokenStreamMaxAge).
const (
	StreamSignatory = "TC_SIGNATORY"
	StreamReview    = "TC_REVIEW"
	StreamNotify    = "TC_NOTIFY"
	StreamFund      = "TC_FUND"
	StreamPortal    = "TC_PORTAL"
	// StreamPortalTokens holds the portal's API token events (SubjectsAPIToken).
	StreamPortalTokens = "TC_PORTAL_TOKENS" // #nosec G101 -- a stream's name, not a credential
	StreamDeadLetter   = "TC_DEADLETTER"
	// StreamErasures is the register of erasures (SubjectsErasures): not events, and
	// kept for good, so that a restore of the databases cannot undo an erasure
	// (docs/PRIVACY.md, "After a restore").
	StreamErasures = "TC_ERASURES"
	// StreamPortalEnded is the portal's register of ended sign-ins (SubjectsPortalEnded):
	// not events, and kept as long as a sign-in can last, so that a restore of the
	// portal's database does not bring back a session signed out or a sign-in link
	// used since the backup (docs/SECURITY.md).
	StreamPortalEnded = "TC_PORTAL_ENDED"
	// StreamPortalRemoved is the portal's register of removed colleagues
	// (SubjectsPortalRemoved): the colleagues a lead removed from making the
	// organisation's API tokens, kept as long as a backup is, so that a restore of the
	// portal's database does not give them that power back (docs/SECURITY.md). Apart
	// from StreamPortalEnded, whose earlier readers take no other kind of entry.
	StreamPortalRemoved = "TC_PORTAL_REMOVED"
	// StreamNotifySent is notify's register of what it sent (SubjectsNotifySent):
	// not events, and kept as long as a backup is, so that a restore of notify's
	// database does not send again a reminder sent since the backup
	// (deploy/README.md, "Backup and restore").
	StreamNotifySent = "TC_NOTIFY_SENT"
)

// Subject wildcards of each stream.
const (
	SubjectsSignatory = "tc.signatory.>"
	SubjectsReview    = "tc.review.>"
	SubjectsNotify    = "tc.notify.>"
	SubjectsFund      = "tc.fund.>"
	// SubjectsPortal is the portal's sign-in events alone: its API token events go
	// to StreamPortalTokens, and two streams may not share a subject.
	SubjectsPortal     = "tc.portal.signin.>"
	SubjectsDeadLetter = "tc.deadletter.>"
	// SubjectsErasures is the register's: tc.erasures.<digest of the address>.
	SubjectsErasures = "tc.erasures.>"
	// SubjectsPortalEnded is the portal's register of ended sign-ins:
	// tc.portal.ended.session.<digest of the cookie's secret> and
	// tc.portal.ended.link.<digest of the link's secret>.
	SubjectsPortalEnded = "tc.portal.ended.>"
	// SubjectsPortalRemoved is the portal's register of removed colleagues:
	// tc.portal.removed.colleague.<digest of the organisation and address>.
	SubjectsPortalRemoved = "tc.portal.removed.>"
	// SubjectsNotifySent is notify's register of what it sent:
	// tc.sent.email.<the email's key> and tc.sent.reminder.<digest of the reminder>.
	// Not under tc.notify.>, which is TC_NOTIFY's.
	SubjectsNotifySent = "tc.sent.>"
)

// NotifySentMaxAge is how long notify's register of what it sent keeps an
// entry: a day longer than a backup is kept (the bucket's lifecycle rule, 35 days,
// deploy/README.md), so that whatever backup is restored, every reminder sent since
// it was taken is still named. An entry names an email by its key (a digest) and a
// reminder by its organisation, obligation and step: no address, no body.
const NotifySentMaxAge = 36 * 24 * time.Hour

// StreamOf names the stream that holds the events of subject (a subject or an event
// type): its producer's, TC_<PRODUCER>, but for the portal's API token events.
func StreamOf(subject string) string {
	if strings.HasPrefix(subject, strings.TrimSuffix(SubjectsAPIToken, ">")) {
		return StreamPortalTokens
	}
	if strings.HasPrefix(subject, strings.TrimSuffix(SubjectsPortalEnded, ">")) {
		return StreamPortalEnded
	}
	if strings.HasPrefix(subject, strings.TrimSuffix(SubjectsPortalRemoved, ">")) {
		return StreamPortalRemoved
	}
	if strings.HasPrefix(subject, strings.TrimSuffix(SubjectsNotifySent, ">")) {
		return StreamNotifySent
	}
	producer, _, _ := strings.Cut(strings.TrimPrefix(subject, "tc."), ".")
	return "TC_" + strings.ToUpper(producer)
}
