package funding_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/domain/funding"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

func replay(t *testing.T, payloads ...events.Payload) *funding.Record {
	t.Helper()
	var h []events.Envelope
	for i, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		h = append(h, events.Envelope{ID: "e", Type: p.EventType(), AggregateID: funding.RecordID, Version: i + 1, Data: data})
	}
	r, err := funding.Rebuild(h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func at(month time.Month, day int) time.Time {
	return time.Date(2027, month, day, 16, 0, 0, 0, time.UTC)
}

// mk is a round open from 1 January to closes, at version 1.
func mk(id string, closes time.Time, exclude bool) round.Round {
	return round.Round{ID: id, Name: "Round " + id, Opens: at(1, 1), Closes: closes, ExcludePreviouslyFunded: exclude, Version: 1}
}

// closedEarly is r as ops closing it early on day leaves it.
func closedEarly(r round.Round, day time.Time) round.Round {
	return r.After([]events.Payload{events.RoundClosedV1{RoundID: r.ID, ClosedAt: day, Early: true}})
}

func claimed(org, roundID, app string) events.Payload {
	return events.FundingClaimedV1{OrganisationID: org, RoundID: roundID, ApplicationID: app}
}

func TestAClaimInAConflictingRoundRefusesTheNext(t *testing.T) {
	t.Parallel()
	// second excludes the grantees of first, its previous round; third, closing
	// last, excludes no one.
	first, second, third := mk("r1", at(3, 31), false), mk("r2", at(6, 30), true), mk("r3", at(9, 30), false)
	rounds := []round.Round{first, second, third}
	var all []events.Payload
	rec := replay(t)
	out, err := rec.Claim("org1", nil, "r1", "a1", rounds)
	if err != nil || len(out) != 1 {
		t.Fatalf("first claim: %v, %v", out, err)
	}
	all = append(all, out...)
	rec = replay(t, all...)
	if again, err := rec.Claim("org1", nil, "r1", "a1", rounds); err != nil || len(again) != 0 {
		t.Errorf("claiming again for the same application: %v, %v; want nothing recorded", again, err)
	}
	if _, err := rec.Claim("org1", nil, "r2", "a2", rounds); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("a claim in the bound round: %v, want Conflict", err)
	}
	if out, err := rec.Claim("org2", nil, "r2", "a3", rounds); err != nil || len(out) != 1 {
		t.Errorf("another organisation's claim in the bound round: %v, %v", out, err)
	}
	if out, err := rec.Claim("org1", nil, "r3", "a4", rounds); err != nil || len(out) != 1 {
		t.Errorf("a claim in a round bound to none of the organisation's: %v, %v", out, err)
	}
	// The first award is refused after all: its claim goes, and the bound round may fund.
	out, err = rec.Release("a1")
	if err != nil || len(out) != 1 {
		t.Fatalf("release: %v, %v", out, err)
	}
	all = append(all, out...)
	rec = replay(t, all...)
	if out, err := rec.Claim("org1", nil, "r2", "a2", rounds); err != nil || len(out) != 1 {
		t.Errorf("a claim once the conflicting one is released: %v, %v", out, err)
	}
	if out, err := rec.Release("a1"); err != nil || len(out) != 0 {
		t.Errorf("releasing twice: %v, %v; want nothing recorded", out, err)
	}
}

// The auditor's order: P (excluding no one) closes, then R3, then Q, which excludes
// its previous round's grantees. With R3 between them, P and Q are not bound, and an
// organisation may be funded in both; a change that would make P Q's previous round
// again is refused, however it comes about.
func TestAChangeThatWouldBindTwoRoundsFundingOneOrganisationIsRefused(t *testing.T) {
	t.Parallel()
	p, r3, q := mk("p", at(3, 31), false), mk("r3", at(5, 31), true), mk("q", at(6, 30), true)
	bothFunded := replay(t, claimed("org1", "q", "a1"), claimed("org1", "p", "a2"))
	moved := r3.After([]events.Payload{events.RoundUpdatedV1{RoundID: "r3", Name: r3.Name, Opens: r3.Opens, Closes: at(7, 31), ExcludePreviouslyFunded: true}})
	for _, tt := range []struct {
		name string
		next round.Round
	}{
		{"Q closed early, before R3 closes", closedEarly(q, at(4, 10))},
		{"R3's closing time moved after Q's", moved},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := bothFunded.Reorder([]round.Round{p, r3, q}, tt.next, nil, nil)
			var double *funding.DoubleFunding
			if !errors.As(err, &double) || double.OrganisationID != "org1" || double.Next.ID != "q" || double.Previous.ID != "p" {
				t.Fatalf("Reorder = %v, want the double funding of org1 in q and p", err)
			}
		})
	}
	// R3, still upcoming, is cancelled (closed before it opens): it leaves the order.
	upcoming := r3
	upcoming.Opens = at(4, 15)
	if _, err := bothFunded.Reorder([]round.Round{p, upcoming, q}, closedEarly(upcoming, at(4, 1)), nil, nil); !errors.As(err, new(*funding.DoubleFunding)) {
		t.Errorf("cancelling R3: %v, want the double funding refused", err)
	}
	// Awards made before the record took every claim are known from the views.
	if _, err := replay(t).Reorder([]round.Round{p, r3, q}, closedEarly(q, at(4, 10)), map[string][]string{"p": {"org9"}, "q": {"org9"}}, nil); !errors.As(err, new(*funding.DoubleFunding)) {
		t.Errorf("closing Q early with org9 funded in both by the views: %v, want it refused", err)
	}

	// Funded in one of them only: the close binds P and Q and is recorded, so that
	// awards decided before Q records it keep to it.
	oneFunded := replay(t, claimed("org1", "q", "a1"))
	out, err := oneFunded.Reorder([]round.Round{p, r3, q}, closedEarly(q, at(4, 10)), map[string][]string{"p": {"org2"}}, nil)
	if err != nil || len(out) != 1 {
		t.Fatalf("closing Q early with no organisation funded in both: %v, %v; want the check recorded", out, err)
	}
	// A change that leaves the order as it was records nothing.
	renamed := q.After([]events.Payload{events.RoundUpdatedV1{RoundID: "q", Name: "Renamed", Opens: q.Opens, Closes: q.Closes, ExcludePreviouslyFunded: true}})
	if out, err := bothFunded.Reorder([]round.Round{p, r3, q}, renamed, nil, nil); err != nil || len(out) != 0 {
		t.Errorf("renaming Q: %v, %v; want nothing recorded", out, err)
	}
}

// A change to the order checked on the record binds awards at once, before its round
// records it, and until the round has moved on without it.
func TestAnAwardKeepsToAChangeOfOrderCheckedButNotYetRecorded(t *testing.T) {
	t.Parallel()
	p, r3, q := mk("p", at(3, 31), false), mk("r3", at(5, 31), true), mk("q", at(6, 30), true)
	early := closedEarly(q, at(4, 10))
	rec := replay(t, claimed("org1", "q", "a1"))
	out, err := rec.Reorder([]round.Round{p, r3, q}, early, nil, nil)
	if err != nil || len(out) != 1 {
		t.Fatalf("closing Q early: %v, %v", out, err)
	}
	rec = replay(t, append([]events.Payload{claimed("org1", "q", "a1")}, out...)...)

	if _, err := rec.Claim("org1", nil, "p", "a2", []round.Round{p, r3, q}); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("an award in P while Q's early close is checked but not recorded: %v, want Conflict", err)
	}
	if _, err := rec.Claim("org1", nil, "p", "a2", []round.Round{p, r3, early}); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("an award in P once Q recorded its early close: %v, want Conflict", err)
	}
	// Q changed in another way (a new name) at the version the close was to take: the
	// close will never be recorded, and P and Q are not bound.
	renamed := q.After([]events.Payload{events.RoundUpdatedV1{RoundID: "q", Name: "Renamed", Opens: q.Opens, Closes: q.Closes, ExcludePreviouslyFunded: true}})
	if out, err := rec.Claim("org1", nil, "p", "a2", []round.Round{p, r3, renamed}); err != nil || len(out) != 1 {
		t.Errorf("an award in P once Q moved on without the close: %v, %v", out, err)
	}
	// The round sweep reads which round still may record a change checked here.
	if _, ok := rec.CheckedSince(q); !ok {
		t.Errorf("Q, at the version before its close: no change checked that it may still record, want its close")
	}
	if _, ok := rec.CheckedSince(renamed); ok {
		t.Errorf("Q moved on without the close: a change checked that it may still record, want none")
	}
}

// An organisation that withdrew and signed again is a new record that succeeds the
// old one: a claim of the old record's binds the new one, as it would the old.
func TestAClaimOfARecordTheOrganisationSucceedsRefusesTheNext(t *testing.T) {
	t.Parallel()
	first, second := mk("r1", at(3, 31), false), mk("r2", at(6, 30), true)
	rounds := []round.Round{first, second}
	rec := replay(t, claimed("org-old", "r1", "a1"))
	if _, err := rec.Claim("org-new", []string{"org-old"}, "r2", "a2", rounds); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("a claim of the successor in the bound round: %v, want Conflict", err)
	}
	if out, err := rec.Claim("org-new", nil, "r2", "a2", rounds); err != nil || len(out) != 1 {
		t.Errorf("a claim of a record that succeeds none: %v, %v", out, err)
	}
}

// An organisation that withdrew and signed again as a new record is one organisation
// to a change of the order of rounds too: the old record funded in P and the new one
// in Q, a change that would make P Q's previous round is refused, naming the record
// funded in the excluding round.
func TestAChangeThatWouldBindTwoRoundsFundingTwoRecordsOfOneOrganisationIsRefused(t *testing.T) {
	t.Parallel()
	p, r3, q := mk("p", at(3, 31), false), mk("r3", at(5, 31), true), mk("q", at(6, 30), true)
	rec := replay(t, claimed("org-old", "p", "a1"), claimed("org-new", "q", "a2"))
	records := map[string][]string{"org-new": {"org-old"}}
	_, err := rec.Reorder([]round.Round{p, r3, q}, closedEarly(q, at(4, 10)), nil, records)
	var double *funding.DoubleFunding
	if !errors.As(err, &double) || double.OrganisationID != "org-new" {
		t.Fatalf("Reorder = %v, want the double funding of org-new (succeeding org-old) refused", err)
	}
	if out, err := rec.Reorder([]round.Round{p, r3, q}, closedEarly(q, at(4, 10)), nil, nil); err != nil || len(out) != 1 {
		t.Errorf("the same change with two organisations funded: %v, %v; want it recorded", out, err)
	}
}

// A claim is released by the version it was made at, so that a request releasing
// the claim it made, after it was let go and the award claimed again, releases
// nothing of the claim made since.
func TestAClaimIsReleasedByItsVersion(t *testing.T) {
	t.Parallel()
	rec := replay(t, claimed("org1", "r1", "a1"))
	if c, ok := rec.ClaimOf("a1"); !ok || c.Version != 1 {
		t.Fatalf("the claim of a1: %+v, %v; want it at version 1", c, ok)
	}
	if out, err := rec.ReleaseAt("a1", 2); err != nil || len(out) != 0 {
		t.Errorf("releasing a1's claim at another version: %v, %v; want nothing", out, err)
	}
	if out, err := rec.ReleaseAt("a1", 1); err != nil || len(out) != 1 {
		t.Errorf("releasing a1's claim at its version: %v, %v; want it released", out, err)
	}
}
