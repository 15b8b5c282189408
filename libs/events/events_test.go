package events_test

import (
	"testing"

	"github.com/itss/techcommit/libs/events"
)

// TestDecodeReturnsTheCarriedPayload: an envelope that carries its payload is not
// parsed again (its Data here would not parse), but its type is still checked; one
// carrying a payload of another type is parsed as any other.
func TestDecodeReturnsTheCarriedPayload(t *testing.T) {
	t.Parallel()
	p := events.ApplicationWithdrawnV1{ApplicationID: "a1", OrganisationID: "org-a", Reason: "duplicate"}
	e := events.Envelope{ID: "e1", Type: p.EventType(), Data: []byte(`not json`)}.Carrying(p)

	got, err := events.Decode[events.ApplicationWithdrawnV1](e)
	if err != nil || got != p {
		t.Errorf("Decode = %+v, %v; want the carried %+v", got, err, p)
	}
	if _, err := events.Decode[events.ApplicationSubmittedV1](e); err == nil {
		t.Error("Decode accepted an envelope of another type because it carries a payload")
	}
	if e.Carried() != p {
		t.Errorf("Carried = %+v, want %+v", e.Carried(), p)
	}

	other := events.Envelope{ID: "e2", Type: p.EventType(), Data: []byte(`{"application_id":"a2","organisation_id":"org-b"}`)}.
		Carrying(events.ApplicationSubmittedV1{ApplicationID: "a9"})
	got, err = events.Decode[events.ApplicationWithdrawnV1](other)
	if want := (events.ApplicationWithdrawnV1{ApplicationID: "a2", OrganisationID: "org-b"}); err != nil || got != want {
		t.Errorf("Decode of a mismatched carried payload = %+v, %v; want %+v parsed from Data", got, err, want)
	}
	if plain := (events.Envelope{ID: "e3", Type: p.EventType(), Data: []byte(`{}`)}); plain.Carried() != nil {
		t.Errorf("an envelope made without a payload carries %+v", plain.Carried())
	}
}

// Each event is on its producer's stream, but the portal's API token events, which
// have one of their own that keeps them as long as a token lives.
func TestStreamOf(t *testing.T) {
	t.Parallel()
	for subject, want := range map[string]string{
		events.OrganisationAnnouncedV1{}.EventType(): events.StreamSignatory,
		events.SigninLinkRequestedV1{}.EventType():   events.StreamPortal,
		events.APITokenIssuedV1{}.EventType():        events.StreamPortalTokens,
		events.SubjectAPITokenRevoked:                events.StreamPortalTokens,
		"tc.portal.ended.session.ab12":               events.StreamPortalEnded,
		"tc.sent.email.ab12":                         events.StreamNotifySent,
		"tc.portal.removed.colleague.ab12":           events.StreamPortalRemoved,
	} {
		if got := events.StreamOf(subject); got != want {
			t.Errorf("StreamOf(%s) = %s, want %s", subject, got, want)
		}
	}
	if events.APITokenStreamMaxAge <= events.MaxAPITokenLifetime {
		t.Errorf("the token stream keeps a message %s, no longer than a token may live (%s)", events.APITokenStreamMaxAge, events.MaxAPITokenLifetime)
	}
}
