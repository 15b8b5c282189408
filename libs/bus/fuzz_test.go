package bus_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
)

// FuzzEnvelope feeds arbitrary headers and bodies to the event decoder every consumer
// runs first: it must return an error or an envelope, never panic.
func FuzzEnvelope(f *testing.F) {
	f.Add("e1", "tc.signatory.organisation.announced.v1", "3", "2026-01-02T03:04:05Z", []byte(`{"organisation_id":"o1"}`))
	f.Add("", "", "x", "yesterday", []byte(`{`))
	f.Add("e2", events.SubmissionReceivedV1{}.EventType(), "-1", "", []byte(`{"received_at":"not a time"}`))
	f.Fuzz(func(t *testing.T, id, typ, version, at string, body []byte) {
		h := nats.Header{}
		h.Set(bus.HeaderID, id)
		h.Set(bus.HeaderType, typ)
		h.Set(bus.HeaderVersion, version)
		h.Set(bus.HeaderTime, at)
		e, err := bus.Envelope("tc.x", h, body)
		if err != nil {
			return
		}
		if e.ID != id || e.Type != typ {
			t.Fatalf("envelope %+v does not carry the headers it was given", e)
		}
		_, _ = events.DecodeAny(e) // each type's decoder has its own fuzz target in package events
	})
}
