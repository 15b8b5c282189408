package funding_test

import (
	"encoding/json"
	"testing"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/domain/funding"
)

func replay(t *testing.T, payloads ...events.Payload) *funding.Record {
	t.Helper()
	var h []events.Envelope
	for i, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		h = append(h, events.Envelope{ID: "e", Type: p.EventType(), AggregateID: funding.ID("org1"), Version: i + 1, Data: data})
	}
	r, err := funding.Rebuild("org1", h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAClaimInAConflictingRoundRefusesTheNext(t *testing.T) {
	t.Parallel()
	var all []events.Payload
	rec := replay(t)
	out, err := rec.Claim("r1", "a1", map[string]string{"r2": "Second"})
	if err != nil || len(out) != 1 {
		t.Fatalf("first claim: %v, %v", out, err)
	}
	all = append(all, out...)
	rec = replay(t, all...)
	if again, err := rec.Claim("r1", "a1", map[string]string{"r2": "Second"}); err != nil || len(again) != 0 {
		t.Errorf("claiming again for the same application: %v, %v; want nothing recorded", again, err)
	}
	if _, err := rec.Claim("r2", "a2", map[string]string{"r1": "First"}); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("a claim in the conflicting round: %v, want Conflict", err)
	}
	if out, err := rec.Claim("r3", "a3", map[string]string{"r4": "Fourth"}); err != nil || len(out) != 1 {
		t.Errorf("a claim in an unrelated round: %v, %v", out, err)
	}
	// The first award is refused after all: its claim goes, and the other round may fund.
	out, err = rec.Release("a1")
	if err != nil || len(out) != 1 {
		t.Fatalf("release: %v, %v", out, err)
	}
	all = append(all, out...)
	rec = replay(t, all...)
	if out, err := rec.Claim("r2", "a2", map[string]string{"r1": "First"}); err != nil || len(out) != 1 {
		t.Errorf("a claim once the conflicting one is released: %v, %v", out, err)
	}
	if out, err := rec.Release("a1"); err != nil || len(out) != 0 {
		t.Errorf("releasing twice: %v, %v; want nothing recorded", out, err)
	}
}
