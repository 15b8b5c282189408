package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/adapters"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/ledger"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

// TestTheRoundSweepReadsOnlyTheRoundsAChangeTouched: once it has settled every round
// at its first sweep, the round sweep of a process following the fund's stream reads
// no closed round a change did not touch: a sweep costs the same finds with 16 closed
// rounds as with 4. A lowering held on a closed round's ledger and never recorded is
// still put back a minute on, and the sweep then costs what it did before. Without
// the stream (every round settled each time, as the sweep did before) the cost grows
// with the rounds, which the test logs beside.
func TestTheRoundSweepReadsOnlyTheRoundsAChangeTouched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "events")
	clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	a, es := replica(t, db, clk)
	_, js := testenv.JetStream(t, testenv.NATS(t))
	if _, err := bus.EnsureStream(ctx, js, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	a.FollowRoundChanges(adapters.NewRoundChanges(js, nil)) // the test publishes (publish)
	everyRound, _ := replica(t, db, clk)                    // settles every round at each sweep

	// publish does what the relay does: every event stored goes on the stream, once.
	publish := func() {
		t.Helper()
		all, err := es.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all {
			if _, err := js.PublishMsg(ctx, bus.Message(e)); err != nil {
				t.Fatal(err)
			}
		}
	}
	sweep := func(x *app.App) int {
		t.Helper()
		publish()
		before := counted.Now()
		if _, err := x.SweepRounds(ctx); err != nil {
			t.Fatal(err)
		}
		return counted.Now().Sub(before).Finds
	}
	// closedRounds opens n rounds that close within the day, and sweeps a day on.
	var rounds []string
	closedRounds := func(n int) {
		t.Helper()
		for range n {
			r, err := a.OpenRound(ctx, ops, round.Round{Name: "Round", Opens: clk.Now().Add(-time.Hour), Closes: clk.Now().Add(time.Hour),
				BudgetPence: 100_000, MinAwardPence: 100, MaxAwardPence: 10_000, ProjectStart: civil.New(2027, 6, 1), ProjectEnd: civil.New(2028, 5, 31),
				Themes: []string{"visibility"}})
			if err != nil {
				t.Fatal(err)
			}
			rounds = append(rounds, r.ID)
		}
		clk.Set(clk.Now().Add(24 * time.Hour))
		sweep(a) // closes them
		sweep(a) // finds them closed
	}

	closedRounds(4)
	few, fewEvery := sweep(a), sweep(everyRound)
	closedRounds(12)
	many, manyEvery := sweep(a), sweep(everyRound)
	t.Logf("finds of a sweep with 4 and 16 closed rounds: %d and %d following the stream; %d and %d settling every round", few, many, fewEvery, manyEvery)
	if many != few {
		t.Errorf("a sweep with 16 closed rounds cost %d finds, with 4 %d: want the same (no untouched round read)", many, few)
	}

	// A lowering of a closed round held on its ledger, its request stopped before the
	// round recorded it.
	held := rounds[5]
	if _, err := es.Execute(ctx, store.Command{AggregateType: ledger.AggregateType, AggregateID: ledger.ID(held), Actor: "ops:k.okafor",
		Decide: func([]events.Envelope) ([]events.Payload, error) {
			return []events.Payload{events.BudgetSetV1{RoundID: held, FromPence: 100_000, ToPence: 60_000, RoundVersion: 2}}, nil
		}}); err != nil {
		t.Fatal(err)
	}
	budget := func() int64 {
		t.Helper()
		r, err := a.Round(ctx, held)
		if err != nil {
			t.Fatal(err)
		}
		return r.BudgetPence
	}
	sweep(a)
	if got := budget(); got != 60_000 {
		t.Errorf("the lowering held, swept within the grace: budget %d, want 60000", got)
	}
	clk.Set(clk.Now().Add(ledger.HoldGrace + time.Minute))
	sweep(a)
	if got := budget(); got != 100_000 {
		t.Errorf("the lowering held, swept after the grace: budget %d, want it put back to 100000", got)
	}
	sweep(a) // the round restated and its ledger followed: touched once more
	if again := sweep(a); again != few {
		t.Errorf("once the lowering was put back a sweep cost %d finds, want %d as before", again, few)
	}
}
