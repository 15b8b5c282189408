package placement_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/review/internal/domain/placement"
)

func replay(t *testing.T, payloads ...events.Payload) *placement.Placement {
	t.Helper()
	var h []events.Envelope
	for i, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		h = append(h, events.Envelope{ID: "e", Type: p.EventType(), AggregateID: placement.ID("s1"), Version: i + 1, Data: data})
	}
	p, err := placement.Rebuild("s1", h)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A placement is claimed from the one read: again where it is changes nothing, and
// from one read before another claim is refused naming the round it is in now.
func TestAPlacementIsClaimedFromTheOneRead(t *testing.T) {
	t.Parallel()
	placed := events.SubmissionPlacedV1{SubmissionID: "s1", RoundID: "r1"}
	tests := []struct {
		name    string
		history []events.Payload
		to      string
		seen    placement.Seen
		want    []events.Payload
		refused string
	}{
		{"first placement", nil, "r1", placement.Seen{}, []events.Payload{placed}, ""},
		{"from a round before placements were recorded", nil, "r2", placement.Seen{Round: "r0"},
			[]events.Payload{events.SubmissionPlacedV1{SubmissionID: "s1", RoundID: "r2", FromRoundID: "r0"}}, ""},
		{"where it was before placements were recorded", nil, "r0", placement.Seen{Round: "r0"},
			[]events.Payload{events.SubmissionPlacedV1{SubmissionID: "s1", RoundID: "r0"}}, ""},
		{"again where it is", []events.Payload{placed}, "r1", placement.Seen{}, nil, ""},
		{"from the placement read", []events.Payload{placed}, "r2", placement.Seen{Version: 1, Round: "r1"},
			[]events.Payload{events.SubmissionPlacedV1{SubmissionID: "s1", RoundID: "r2", FromRoundID: "r1"}}, ""},
		{"from a placement since changed", []events.Payload{placed}, "r2", placement.Seen{}, nil, "just put in review round r1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := replay(t, tt.history...).Place(tt.to, tt.seen)
			if tt.refused != "" {
				if !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), tt.refused) {
					t.Errorf("Place: %v, want Conflict saying %q", err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Place (-want +got):\n%s", diff)
			}
		})
	}
}
