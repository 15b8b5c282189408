// Package ledger is a round's budget: a sequence of reservations and releases whose
// balance can never go below zero. It is an aggregate of its own, so that concurrent
// awards in one round are serialised by the event store's unique index and can never
// together exceed the budget.
package ledger

import (
	"errors"
	"fmt"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
)

// AggregateType names ledgers in the event store.
const AggregateType = "ledger"

// ID is the ledger's aggregate id for a round.
func ID(roundID string) string { return roundID + "-ledger" }

// Ledger is a round's budget and what has been drawn on it.
type Ledger struct {
	budget int64
	// set says the budget is the ledger's own (BudgetSetV1), not the round's.
	set      bool
	reserved map[string]int64 // application id -> amount
	// letGo is, by application id, the latest version of the funding record's claim
	// whose award was let go before it drew anything (see LetGo).
	letGo   map[string]int
	spent   int64
	version int
	// roundVersion is the round's version the last BudgetSetV1 was decided on (0 for
	// entries written before they said), follows whether it followed the round rather
	// than held a lowering, and setAt when it was written.
	roundVersion int
	follows      bool
	setAt        time.Time
}

// HoldGrace is how long after a lowering's hold (Hold) its request may still be
// under way, about to have the round record it. A hold older than that on a round
// still at the version it was decided on is taken to belong to a request that
// stopped; one written before holds named their version is taken so once it is
// older than that, whatever the round's version.
const HoldGrace = time.Minute

// ErrStale says a change was decided on a version of the round older than one the
// ledger has already followed: the round has moved on, and the change is decided
// again on the round as it now stands.
var ErrStale = errors.New("the round's ledger follows a later version of the round than the change was decided on")

// Rebuild replays a ledger's entries over the round's budget: the budget the round
// was opened with (or last corrected to before the ledger took budgets), until the
// ledger's own BudgetSetV1 sets it.
func Rebuild(budget int64, history []events.Envelope) (*Ledger, error) {
	l := &Ledger{budget: budget, reserved: map[string]int64{}, letGo: map[string]int{}}
	for _, e := range history {
		switch e.Type {
		case events.BudgetReservedV1{}.EventType():
			p, err := events.Decode[events.BudgetReservedV1](e)
			if err != nil {
				return nil, fmt.Errorf("ledger: %w", err)
			}
			l.reserved[p.ApplicationID] = p.AmountPence
			l.spent += p.AmountPence
		case events.BudgetReleasedV1{}.EventType():
			p, err := events.Decode[events.BudgetReleasedV1](e)
			if err != nil {
				return nil, fmt.Errorf("ledger: %w", err)
			}
			delete(l.reserved, p.ApplicationID)
			l.spent -= p.AmountPence
			if p.LetGoClaim > l.letGo[p.ApplicationID] {
				l.letGo[p.ApplicationID] = p.LetGoClaim
			}
		case events.BudgetAdjustedV1{}.EventType():
			p, err := events.Decode[events.BudgetAdjustedV1](e)
			if err != nil {
				return nil, fmt.Errorf("ledger: %w", err)
			}
			l.spent += p.ToPence - l.reserved[p.ApplicationID]
			l.reserved[p.ApplicationID] = p.ToPence
		case events.BudgetSetV1{}.EventType():
			p, err := events.Decode[events.BudgetSetV1](e)
			if err != nil {
				return nil, fmt.Errorf("ledger: %w", err)
			}
			l.budget, l.set = p.ToPence, true
			l.roundVersion, l.follows, l.setAt = p.RoundVersion, p.Follows, e.Time
		default:
			return nil, fmt.Errorf("ledger: unknown event type %s", e.Type)
		}
		l.version = e.Version
	}
	return l, nil
}

// Budget is the round's whole budget.
func (l *Ledger) Budget() int64 { return l.budget }

// BudgetSet says the ledger holds a budget of its own (SetBudget), which is then the
// round's budget in force whatever its own events say.
func (l *Ledger) BudgetSet() bool { return l.set }

// Awarded is the total currently reserved for awards.
func (l *Ledger) Awarded() int64 { return l.spent }

// Remaining is what can still be awarded.
func (l *Ledger) Remaining() int64 { return l.budget - l.spent }

// Entries is the number of entries on the ledger.
func (l *Ledger) Entries() int { return l.version }

// Reserved reports how much is reserved for an application.
func (l *Ledger) Reserved(applicationID string) (int64, bool) {
	a, ok := l.reserved[applicationID]
	return a, ok
}

// Reserve draws amount for an application, or refuses if the budget cannot cover it.
// Reserving again for the same application and amount changes nothing.
func (l *Ledger) Reserve(roundID, applicationID string, amount int64) ([]events.Payload, error) {
	if prev, ok := l.reserved[applicationID]; ok {
		if prev == amount {
			return nil, nil
		}
		return nil, apperr.New(apperr.Conflict, "application %s already has %d pence reserved", applicationID, prev)
	}
	if amount <= 0 {
		return nil, apperr.Field("amount_pence", "must be positive")
	}
	if amount > l.Remaining() {
		return nil, apperr.New(apperr.Conflict, "the round's budget cannot cover %d pence: %d pence remain", amount, l.Remaining())
	}
	return []events.Payload{events.BudgetReservedV1{RoundID: roundID, ApplicationID: applicationID, AmountPence: amount, RemainingPence: l.Remaining() - amount}}, nil
}

// ErrLetGo says the claim an award was made under was let go before the award drew
// on the budget (see LetGo): its request took too long, and is made again.
var ErrLetGo = apperr.New(apperr.Conflict, "the award took too long and its claim on the organisation's funding was let go: send it again").Passing(time.Second)

// ReserveUnder is Reserve for an award made under the funding record's claim at
// version claim: refused with ErrLetGo once that claim was let go (LetGo), so that
// no award draws on the budget under a claim that no longer stands.
func (l *Ledger) ReserveUnder(roundID, applicationID string, amount int64, claim int) ([]events.Payload, error) {
	if _, ok := l.reserved[applicationID]; !ok && l.letGo[applicationID] > 0 && claim <= l.letGo[applicationID] {
		return nil, ErrLetGo
	}
	return l.Reserve(roundID, applicationID, amount)
}

// LetGo lets go, in the ledger's one order with every reservation, of the award an
// application's claim at version claim of the funding record was made for, when its
// request stopped after the claim and before it reserved the money: from this entry
// on, a reservation under that claim is refused (ReserveUnder), so the claim can be
// released without an award ever drawing under it. An application holding a
// reservation has drawn on the budget, and its award is settled from it: nothing is
// let go, as for a claim let go already.
func (l *Ledger) LetGo(roundID, applicationID string, claim int) ([]events.Payload, error) {
	if _, ok := l.reserved[applicationID]; ok || claim <= l.letGo[applicationID] {
		return nil, nil
	}
	return []events.Payload{events.BudgetReleasedV1{RoundID: roundID, ApplicationID: applicationID, RemainingPence: l.Remaining(), LetGoClaim: claim}}, nil
}

// Release returns an application's reservation.
func (l *Ledger) Release(roundID, applicationID string) ([]events.Payload, error) {
	amount, ok := l.reserved[applicationID]
	if !ok {
		return nil, nil
	}
	return []events.Payload{events.BudgetReleasedV1{RoundID: roundID, ApplicationID: applicationID, AmountPence: amount, RemainingPence: l.Remaining() + amount}}, nil
}

// Adjust moves an application's reservation to amount, in one entry (ITSS corrected
// the award): the reservation before is released and the new one drawn at once, so
// the entry is decided on the budget as every award before it left it, and an award
// racing it is decided after it. Adjusting to the amount reserved changes nothing;
// an application holding no reservation is refused (it was never awarded, or its
// award was released), as is a rise the budget cannot cover (409 saying what
// remains).
func (l *Ledger) Adjust(roundID, applicationID string, amount int64, reason string) ([]events.Payload, error) {
	prev, ok := l.reserved[applicationID]
	if !ok {
		return nil, apperr.New(apperr.Conflict, "application %s holds no award on the round's budget to correct", applicationID)
	}
	if amount <= 0 {
		return nil, apperr.Field("amount_pence", "must be positive")
	}
	if amount == prev {
		return nil, nil
	}
	if amount-prev > l.Remaining() {
		return nil, apperr.New(apperr.Conflict, "the round's budget cannot cover raising the award from %d to %d pence: %d pence remain unawarded",
			prev, amount, l.Remaining())
	}
	return []events.Payload{events.BudgetAdjustedV1{RoundID: roundID, ApplicationID: applicationID, FromPence: prev, ToPence: amount,
		RemainingPence: l.Remaining() - (amount - prev), Reason: reason}}, nil
}

// Hold lowers the budget to amount for a change of the round decided on its version
// roundVersion, before the round records it, in one entry decided in one order with
// every award: never below what is awarded (409 naming budget_pence, saying how
// much), so that no award, however it races the change, is left over the budget the
// round is about to record. The round records the change at the next version or
// never, and Follow then sets the budget the round records. Two changes decided on
// one version may both hold: the ledger keeps the lower, whichever the round then
// records. A change decided on a version older than one the ledger has followed is
// refused with ErrStale.
func (l *Ledger) Hold(roundID string, amount int64, roundVersion int) ([]events.Payload, error) {
	if amount <= 0 {
		return nil, apperr.Field("budget_pence", "must be positive")
	}
	if roundVersion < l.roundVersion {
		return nil, ErrStale
	}
	to := amount
	if (roundVersion == l.roundVersion || l.roundVersion == 0 && l.set && !l.follows) && l.budget < to {
		// Another change decided on this version holds less, or one of the release
		// before, which named no version, may: the ledger keeps the lower.
		to = l.budget
	}
	if to == l.budget && roundVersion == l.roundVersion && !l.follows {
		return nil, nil
	}
	if to < l.spent {
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "budget_pence",
			Message: fmt.Sprintf("the round's awards hold %d pence of its budget: it may be lowered to no less than that", l.spent)}
	}
	return []events.Payload{events.BudgetSetV1{RoundID: roundID, FromPence: l.budget, ToPence: to, AwardedPence: l.spent, RoundVersion: roundVersion}}, nil
}

// Held says the ledger's last budget entry holds a lowering the round has not
// recorded and may still: one decided on roundVersion, the round's version now, or
// one that did not name its version and differs from recorded, the round's budget.
func (l *Ledger) Held(recorded int64, roundVersion int) bool {
	switch {
	case !l.set || l.follows:
		return false
	case l.roundVersion == 0:
		return l.budget != recorded
	default:
		return l.roundVersion >= roundVersion
	}
}

// Pending says a lowering held (Held) may still be recorded by the round, as seen
// at now: one that named the round's version until the round has moved on, one that
// did not for HoldGrace.
func (l *Ledger) Pending(recorded int64, roundVersion int, now time.Time) bool {
	return l.Held(recorded, roundVersion) && (l.roundVersion != 0 || now.Sub(l.setAt) < HoldGrace)
}

// HeldSince is when the ledger's last budget entry was written.
func (l *Ledger) HeldSince() time.Time { return l.setAt }

// Follow sets the budget to recorded, the budget the round records at its version
// roundVersion: a raise the round recorded, or a lowering it never recorded put
// back. It changes nothing while a lowering the round may still record holds the
// budget (Pending at now), nor when the ledger holds the round's budget already.
func (l *Ledger) Follow(roundID string, recorded int64, roundVersion int, now time.Time) ([]events.Payload, error) {
	if l.Pending(recorded, roundVersion, now) || roundVersion < l.roundVersion || recorded == l.budget {
		return nil, nil
	}
	return []events.Payload{events.BudgetSetV1{RoundID: roundID, FromPence: l.budget, ToPence: recorded, AwardedPence: l.spent,
		RoundVersion: roundVersion, Follows: true}}, nil
}
