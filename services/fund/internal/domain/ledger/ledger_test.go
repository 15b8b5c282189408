package ledger_test

import (
	"encoding/json"
	"testing"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/domain/ledger"
)

func apply(t *testing.T, budget int64, payloads ...events.Payload) *ledger.Ledger {
	t.Helper()
	var h []events.Envelope
	for i, p := range payloads {
		data, _ := json.Marshal(p)
		h = append(h, events.Envelope{Type: p.EventType(), Version: i + 1, Data: data})
	}
	l, err := ledger.Rebuild(budget, h)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestReservationsNeverExceedTheBudget(t *testing.T) {
	t.Parallel()
	l := apply(t, 1000)
	var history []events.Payload
	for i := range 5 {
		ps, err := l.Reserve("r", string(rune('a'+i)), 300)
		if i < 3 {
			if err != nil || len(ps) != 1 {
				t.Fatalf("reservation %d: %v", i, err)
			}
			history = append(history, ps...)
			l = apply(t, 1000, history...)
			continue
		}
		if !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("reservation %d over budget: %v, want Conflict", i, err)
		}
	}
	if l.Remaining() != 100 || l.Awarded() != 900 {
		t.Errorf("remaining %d awarded %d, want 100 and 900", l.Remaining(), l.Awarded())
	}
	if ps, err := l.Reserve("r", "a", 300); err != nil || len(ps) != 0 {
		t.Errorf("repeating a reservation: %v %v, want nothing", ps, err)
	}
	ps, _ := l.Release("r", "b")
	l = apply(t, 1000, append(history, ps...)...)
	if l.Remaining() != 400 {
		t.Errorf("after a release %d remain, want 400", l.Remaining())
	}
}
