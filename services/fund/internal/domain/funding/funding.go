// Package funding is the fund's record of the grants its rounds are making. It exists
// for one rule that spans rounds: a round that excludes the previous round's grantees
// may not fund an organisation that round funded, whichever round awards first.
//
// Which round is a round's previous one follows the rounds' actual closes (see
// round.Previous), and ops change those: a corrected closing time, an early close, a
// cancellation. So the rule binds the rounds as they are ordered now, every award is
// checked against that order, and a change to the order is refused when it would
// bind two rounds that have both funded one organisation (opening a new round cannot:
// see round.Pairs). Both kinds of decision are made here, on one record for the whole
// fund: every award claims on it first, and every change to the order is checked on
// it before the round records it. The event store's unique index on the record's
// versions puts them all in one order, so an award and a change to the order that
// would together fund an organisation twice in bound rounds cannot both pass, as the
// budget ledger does for a round's budget. A fund makes a handful of awards a round,
// so one record for all of them is no bottleneck.
package funding

import (
	"fmt"
	"slices"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

// AggregateType names the funding record in the event store.
const AggregateType = "funding"

// RecordID is the fund's funding record. Claims made before it existed sit on one
// record per organisation (funding-<organisation>), made only by awards in rounds
// bound by the rule; their awards are long since in the applications' views, which a
// change to the order reads as well (see Reorder).
const RecordID = "funding"

// Claim is a round awarding an application of an organisation.
type Claim struct {
	OrganisationID string
	RoundID        string
	ApplicationID  string
	// Version is the record's version the claim was made at, and At when: an award
	// whose request stopped after its claim is let go by it (see ledger.LetGo).
	Version int
	At      time.Time
}

// Record is the live claims and the changes to the order of rounds checked here,
// in the order they were made.
type Record struct {
	claims []Claim
	// reorders are rounds as changes checked here will make them, each with the
	// version the round's change takes (see Orders).
	reorders []round.Round
	// checked is when each of reorders was checked.
	checked []time.Time
}

// Rebuild replays the funding record.
func Rebuild(history []events.Envelope) (*Record, error) {
	r := &Record{}
	for _, e := range history {
		switch e.Type {
		case events.FundingClaimedV1{}.EventType():
			p, err := events.Decode[events.FundingClaimedV1](e)
			if err != nil {
				return nil, fmt.Errorf("funding: %w", err)
			}
			r.claims = append(r.claims, Claim{OrganisationID: p.OrganisationID, RoundID: p.RoundID, ApplicationID: p.ApplicationID,
				Version: e.Version, At: e.Time})
		case events.FundingReleasedV1{}.EventType():
			p, err := events.Decode[events.FundingReleasedV1](e)
			if err != nil {
				return nil, fmt.Errorf("funding: %w", err)
			}
			r.claims = slices.DeleteFunc(r.claims, func(c Claim) bool { return c.ApplicationID == p.ApplicationID })
		case events.FundingReorderCheckedV1{}.EventType():
			p, err := events.Decode[events.FundingReorderCheckedV1](e)
			if err != nil {
				return nil, fmt.Errorf("funding: %w", err)
			}
			r.reorders = append(r.reorders, round.Round{ID: p.RoundID, Version: p.RoundVersion, Name: p.Name, Opens: p.Opens,
				Closes: p.Closes, ClosedAt: p.ClosedAt, ExcludePreviouslyFunded: p.ExcludePreviouslyFunded})
			r.checked = append(r.checked, e.Time)
		default:
			return nil, fmt.Errorf("funding: unknown event type %s", e.Type)
		}
	}
	return r, nil
}

// CheckedSince is when the earliest change to cur's place in the order that was
// checked here and that cur may still record (at its next version, see Orders) was
// checked; ok is false when there is none.
func (r *Record) CheckedSince(cur round.Round) (since time.Time, ok bool) {
	for i, next := range r.reorders {
		if next.ID == cur.ID && next.Version > cur.Version && (!ok || r.checked[i].Before(since)) {
			since, ok = r.checked[i], true
		}
	}
	return since, ok
}

// Claims returns the live claims.
func (r *Record) Claims() []Claim { return slices.Clone(r.claims) }

// Orders are the orders of rounds an award must keep to: the rounds as they stand,
// and as each change to the order checked here but not yet recorded by its round
// (the round's version is still below the change's) would leave them, alone or
// together. A change whose round has reached its version either is recorded there or
// never will be (its round moved on without it), so it is the rounds' to say.
func (r *Record) Orders(rounds []round.Round) [][]round.Round {
	orders := [][]round.Round{slices.Clone(rounds)}
	for i, cur := range rounds {
		var pending []round.Round
		for _, next := range r.reorders {
			if next.ID == cur.ID && next.Version > cur.Version {
				pending = append(pending, next)
			}
		}
		if len(pending) == 0 {
			continue
		}
		var more [][]round.Round
		for _, o := range orders {
			for _, next := range pending {
				changed := slices.Clone(o)
				changed[i] = withDates(changed[i], next)
				more = append(more, changed)
			}
		}
		orders = append(orders, more...)
	}
	return orders
}

// withDates is r with the terms that place it in the order taken from next.
func withDates(r, next round.Round) round.Round {
	r.Opens, r.Closes, r.ClosedAt, r.ExcludePreviouslyFunded, r.Version = next.Opens, next.Closes, next.ClosedAt, next.ExcludePreviouslyFunded, next.Version
	r.ClosedEarly = !next.ClosedAt.IsZero() && next.ClosedAt.Before(next.Closes)
	return r
}

// Claim records that roundID is awarding the organisation's application, unless the
// organisation, or a record it succeeds (succeeds: the same organisation, which
// withdrew and signed again as org), holds a claim in a round that roundID is bound
// to by the rule on the previous round's grantees in any of the Orders of rounds.
// rounds must include roundID's. Claiming again for the same application changes
// nothing.
func (r *Record) Claim(org string, succeeds []string, roundID, applicationID string, rounds []round.Round) ([]events.Payload, error) {
	same := append([]string{org}, succeeds...)
	for _, c := range r.claims {
		if c.ApplicationID == applicationID {
			return nil, nil
		}
	}
	for _, o := range r.Orders(rounds) {
		i := slices.IndexFunc(o, func(x round.Round) bool { return x.ID == roundID })
		if i < 0 {
			return nil, fmt.Errorf("funding: round %s is not among the rounds", roundID)
		}
		for _, x := range round.Excluding(o, o[i]) {
			if slices.ContainsFunc(r.claims, func(c Claim) bool { return slices.Contains(same, c.OrganisationID) && c.RoundID == x.ID }) {
				return nil, apperr.New(apperr.Conflict, "the applicant organisation is funded in %s, and the rule on the previous round's grantees forbids funding it in both", round.InWords(x))
			}
		}
	}
	return []events.Payload{events.FundingClaimedV1{OrganisationID: org, RoundID: roundID, ApplicationID: applicationID}}, nil
}

// ClaimOf is the live claim of an application, if it has one.
func (r *Record) ClaimOf(applicationID string) (Claim, bool) {
	i := slices.IndexFunc(r.claims, func(c Claim) bool { return c.ApplicationID == applicationID })
	if i < 0 {
		return Claim{}, false
	}
	return r.claims[i], true
}

// Release withdraws the claim of an application whose award was refused after all.
// Releasing what is not claimed changes nothing.
func (r *Record) Release(applicationID string) ([]events.Payload, error) {
	return r.ReleaseAt(applicationID, 0)
}

// ReleaseAt is Release of the claim made at version (0: whichever the application
// has): a request releasing the claim it made releases no claim made since by
// another (the one it made having been let go, see ledger.LetGo).
func (r *Record) ReleaseAt(applicationID string, version int) ([]events.Payload, error) {
	c, ok := r.ClaimOf(applicationID)
	if !ok || version != 0 && c.Version != version {
		return nil, nil
	}
	return []events.Payload{events.FundingReleasedV1{OrganisationID: c.OrganisationID, RoundID: c.RoundID, ApplicationID: applicationID}}, nil
}

// DoubleFunding is the refusal of a change to the order of rounds that would make
// Previous the previous round of Next, which excludes the previous round's grantees,
// when both have funded the organisation.
type DoubleFunding struct {
	OrganisationID string
	Next, Previous round.Round
}

func (e *DoubleFunding) Error() string {
	return fmt.Sprintf("the change would make %s the previous round of %s, which excludes the previous round's grantees, and both fund organisation %s",
		round.InWords(e.Previous), round.InWords(e.Next), e.OrganisationID)
}

// Reorder checks next, a round as a change will leave it (its version the one the
// change takes), against the organisations funded: those claimed here and, for awards
// made before this record, funded (round id to the organisations its awards went to,
// as the applications' views list them). In every one of the Orders of rounds, a pair
// of rounds bound by the rule that the change would make (see round.Pairs) must not
// have funded one organisation in both; a *DoubleFunding says which did. A change that
// binds no new pair, and unbinds none, in any of them records nothing; otherwise the
// check is recorded, so that awards decided before the round records the change keep
// to the order with it as well as without.
//
// records gives, for an organisation that withdrew and signed again as a new record,
// the records it succeeds: the same organisation, funded in one round under one
// record and in the other under another.
func (r *Record) Reorder(rounds []round.Round, next round.Round, funded map[string][]string, records map[string][]string) ([]events.Payload, error) {
	changes := false
	for _, o := range r.Orders(rounds) {
		i := slices.IndexFunc(o, func(x round.Round) bool { return x.ID == next.ID })
		if i < 0 {
			return nil, fmt.Errorf("funding: round %s is not among the rounds", next.ID)
		}
		after := slices.Clone(o)
		after[i] = withDates(after[i], next)
		before, now := round.Pairs(o), round.Pairs(after)
		if !slices.Equal(before, now) {
			changes = true
		}
		for _, p := range now {
			if slices.Contains(before, p) {
				continue
			}
			if org, ok := r.fundedInBoth(p, funded, records); ok {
				return nil, &DoubleFunding{OrganisationID: org, Next: named(after, p.Next), Previous: named(after, p.Previous)}
			}
		}
	}
	if !changes {
		return nil, nil
	}
	return []events.Payload{events.FundingReorderCheckedV1{RoundID: next.ID, RoundVersion: next.Version, Name: next.Name,
		Opens: next.Opens.UTC(), Closes: next.Closes.UTC(), ClosedAt: utc(next.ClosedAt), ExcludePreviouslyFunded: next.ExcludePreviouslyFunded}}, nil
}

// fundedInBoth names an organisation funded in both rounds of p, the first in order
// of the claims, then of the views.
func (r *Record) fundedInBoth(p round.Pair, funded map[string][]string, records map[string][]string) (string, bool) {
	in := func(org, roundID string) bool {
		return slices.ContainsFunc(append([]string{org}, records[org]...), func(org string) bool {
			return slices.Contains(funded[roundID], org) ||
				slices.ContainsFunc(r.claims, func(c Claim) bool { return c.OrganisationID == org && c.RoundID == roundID })
		})
	}
	var orgs []string
	for _, c := range r.claims {
		orgs = append(orgs, c.OrganisationID)
	}
	orgs = append(orgs, funded[p.Next]...)
	for _, org := range orgs {
		if in(org, p.Next) && in(org, p.Previous) {
			return org, true
		}
	}
	return "", false
}

func named(rounds []round.Round, id string) round.Round {
	i := slices.IndexFunc(rounds, func(x round.Round) bool { return x.ID == id })
	return rounds[i]
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
