package service_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// A change of budget the round refuses for another of its terms (a closing time that
// would bind two rounds funding one organisation) is refused before the ledger is
// touched: the ledger holds no entry of it, not even one put back.
func TestABudgetChangeTheRoundRefusesLeavesTheLedgerUntouched(t *testing.T) {
	t.Parallel()
	h := start(t)
	p, q, inP, inQ := h.orderedRounds("org-bref1", "org-bref2")
	h.clock.Set(time.Date(2027, 4, 2, 9, 0, 0, 0, time.UTC)) // P has closed; Q is open
	r3 := h.openR3()
	h.Must(http.StatusOK, h.award(h.Client, inP["org-bref1"]))
	h.Must(http.StatusOK, h.award(h.Client, inQ["org-bref1"]))
	h.awardedIn(p, 1)
	h.awardedIn(q, 1)

	terms := roundTerms("Round R3", "2027-04-02T08:00:00Z", "2027-07-31T17:00:00+01:00", "2027-12-31", true)
	terms["budget_pence"] = 200000
	if pr := h.Must(http.StatusConflict, h.Do("PUT", "/v1/rounds/"+r3, h.ops, terms)).JSON(t); pr["field"] != "closes" {
		t.Errorf("moving R3's close after Q's with a new budget: %v, want 409 naming closes", pr)
	}
	l := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+r3+"/ledger", h.ops, nil)).JSON(t)
	if l["budget_pence"] != float64(100000) || l["entries"] != float64(0) {
		t.Errorf("R3's ledger after the refused change: %v, want its budget of 100000 and no entry", l)
	}
}

// A raise of the budget and another change of the round, sent from one reading at
// once (the raise may lose with 412), race awards that only the raised budget could
// cover, through two replicas: a raise refused leaves the ledger as it was, so those
// awards are refused, and whatever the outcome the ledger's budget is the round's as
// recorded, with the awards within it.
func TestARaiseRefusedAfterARacingChangeLeavesTheLedgerAsItWas(t *testing.T) {
	t.Parallel()
	h := start(t)
	replicas := []*testenv.Client{h.Client, h.replica()}
	outcomes := map[string]int{}
	for i := range 10 {
		org := fmt.Sprintf("org-rrace-%d", i)
		h.announce(org, "signatory")
		applicant := h.Token(auth.RoleApplicant, org)
		round := h.openRound(10000, 1000, 5000)
		h.eligible(applicant, round, 2000)
		drawn := []string{h.submitted(applicant, round, 5000, true), h.submitted(applicant, round, 4000, true)}
		racing := []string{h.submitted(applicant, round, 2000, true), h.submitted(applicant, round, 2000, true)}
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+drawn[0]+"/award", h.ops, map[string]any{"amount_pence": 5000}))
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+drawn[1]+"/award", h.ops, map[string]any{"amount_pence": 4000}))
		etag := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).Header.Get("ETag")
		renamed := budgetTerms(10000, 1000, 5000)
		renamed["name"] = "TCF 2027 (renamed)"

		var raise, rename int
		awards := make([]int, len(racing))
		var wg sync.WaitGroup
		wg.Go(func() {
			raise = replicas[i%2].Do("PUT", "/v1/rounds/"+round, h.ops, budgetTerms(14000, 1000, 5000), "If-Match", etag).Status
		})
		wg.Go(func() {
			time.Sleep(time.Duration(i%3) * 5 * time.Millisecond)
			rename = replicas[(i+1)%2].Do("PUT", "/v1/rounds/"+round, h.ops, renamed, "If-Match", etag).Status
		})
		for j, id := range racing {
			wg.Go(func() {
				time.Sleep(time.Duration(j+i%2) * 10 * time.Millisecond)
				awards[j] = replicas[j%2].Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 2000}).Status
			})
		}
		wg.Wait()
		outcomes[fmt.Sprintf("raise %d, rename %d, awards %v", raise, rename, awards)]++
		recorded := int64(10000)
		if raise == http.StatusOK {
			recorded = 14000
		}
		for j, st := range awards {
			if raise != http.StatusOK && st != http.StatusConflict {
				t.Errorf("race %d: award %d answered %d though the raise was refused (%d), want 409", i, j, st, raise)
			}
		}
		testenv.Eventually(t, 5*time.Second, func() error {
			l := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
			if l["budget_pence"] != float64(recorded) || l["awarded_pence"].(float64) > float64(recorded) {
				return fmt.Errorf("race %d: the raise answered %d, the ledger %v: want the budget recorded, %d, with the awards within it", i, raise, l, recorded)
			}
			return nil
		})
	}
	t.Logf("outcomes: %v", outcomes)
}

// setOnly appends a budget to a round's ledger as a change's request commits it, the
// request then stopping before the round records it: decided on the round's version
// roundVersion, or, 0, as the release before holds named it did.
func (h *harness) setOnly(round string, from, to int64, roundVersion int) {
	h.t.Helper()
	_, err := h.svc.Events.Execute(context.Background(), store.Command{AggregateType: "ledger", AggregateID: round + "-ledger", Actor: "ops:k.okafor",
		Decide: func(history []events.Envelope) ([]events.Payload, error) {
			return []events.Payload{events.BudgetSetV1{RoundID: round, FromPence: from, ToPence: to, RoundVersion: roundVersion}}, nil
		}})
	if err != nil {
		h.t.Fatal(err)
	}
}

// A change of budget whose request stopped after the ledger took it, before the round
// recorded it, is put back on the ledger by the round sweep once the request can no
// longer be under way (ledger.HoldGrace): a lowering held, or a budget set by the
// release before, raised or lowered. The round is restated at its next version, so
// that the request can no longer have it recorded; the ledger then holds the budget
// the round records, and awards are decided against it. Within the grace nothing is
// put back.
func TestAChangeOfBudgetTheRoundNeverRecordedIsPutBack(t *testing.T) {
	t.Parallel()
	h := start(t)
	// An organisation for each round: the rounds exclude the previous round's grantees.
	var rounds, awarded, refused []string
	for i, change := range []struct {
		to      int64
		version int
	}{{6000, 1}, {6000, 0}, {14000, 0}} {
		org := fmt.Sprintf("org-stopped-%d", i)
		h.announce(org, "signatory")
		applicant := h.Token(auth.RoleApplicant, org)
		round := h.openRound(10000, 1000, 8000)
		h.eligible(applicant, round, 4000)
		rounds = append(rounds, round)
		if change.to > 10000 {
			h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+h.submitted(applicant, round, 8000, true)+"/award", h.ops, map[string]any{"amount_pence": 8000}))
			refused = append(refused, h.submitted(applicant, round, 4000, true))
		} else {
			awarded = append(awarded, h.submitted(applicant, round, 8000, true))
		}
		h.setOnly(round, 10000, change.to, change.version)
	}
	budgets := func(when string, want ...int64) {
		t.Helper()
		for i, round := range rounds {
			l := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
			if l["budget_pence"] != float64(want[i]) {
				t.Errorf("%s: round %d's ledger %v, want budget_pence %d", when, i, l, want[i])
			}
		}
	}
	sweep := func() {
		t.Helper()
		if _, err := h.svc.App.SweepRounds(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	sweep()
	budgets("swept within the grace", 6000, 6000, 14000)

	h.clock.Set(start0.Add(10 * time.Minute))
	sweep()
	budgets("swept after the grace", 10000, 10000, 10000)
	for i, round := range rounds {
		r := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t)
		if r["budget_pence"] != float64(10000) || r["version"] != float64(2) {
			t.Errorf("round %d after the sweep: budget %v at version %v, want 10000 at 2 (restated)", i, r["budget_pence"], r["version"])
		}
	}
	for _, id := range awarded {
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 8000}))
	}
	for _, id := range refused {
		h.Must(http.StatusConflict, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 4000}))
	}
	// Swept again, nothing more is restated or put back.
	sweep()
	for i, round := range rounds {
		if r := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t); r["version"] != float64(2) {
			t.Errorf("round %d swept again: version %v, want 2", i, r["version"])
		}
	}
}

// recordedBudget is the budget round's own events record, whatever its ledger holds.
func (h *harness) recordedBudget(round string) int64 {
	h.t.Helper()
	history, err := h.svc.Events.Load(context.Background(), round)
	if err != nil {
		h.t.Fatal(err)
	}
	budget := int64(0)
	for _, e := range history {
		switch e.Type {
		case events.RoundOpenedV1{}.EventType():
			p, err := events.Decode[events.RoundOpenedV1](e)
			if err != nil {
				h.t.Fatal(err)
			}
			budget = p.BudgetPence
		case events.RoundUpdatedV1{}.EventType():
			p, err := events.Decode[events.RoundUpdatedV1](e)
			if err != nil {
				h.t.Fatal(err)
			}
			budget = p.BudgetPence
		}
	}
	return budget
}

// A raise and a lowering of one round's budget, each without If-Match, race awards
// in it, through two replicas: whichever order they take, the ledger ends at the
// budget the round records, the awards within it, and no award drew on a budget the
// round did not record.
func TestTwoChangesOfBudgetRacingAwardsLeaveTheLedgerAtTheRoundsBudget(t *testing.T) {
	t.Parallel()
	h := start(t)
	replicas := []*testenv.Client{h.Client, h.replica()}
	outcomes := map[string]int{}
	for i := range 10 {
		org := fmt.Sprintf("org-brace-%d", i)
		h.announce(org, "signatory")
		applicant := h.Token(auth.RoleApplicant, org)
		round := h.openRound(10000, 1000, 5000)
		h.eligible(applicant, round, 3000)
		drawn := h.submitted(applicant, round, 5000, true)
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+drawn+"/award", h.ops, map[string]any{"amount_pence": 5000}))
		racing := []string{h.submitted(applicant, round, 3000, true), h.submitted(applicant, round, 3000, true), h.submitted(applicant, round, 3000, true)}

		var raise, lowering int
		awards := make([]int, len(racing))
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(time.Duration(i%3) * 5 * time.Millisecond)
			raise = replicas[i%2].Do("PUT", "/v1/rounds/"+round, h.ops, budgetTerms(14000, 1000, 5000)).Status
		})
		wg.Go(func() {
			time.Sleep(time.Duration((i+1)%3) * 5 * time.Millisecond)
			lowering = replicas[(i+1)%2].Do("PUT", "/v1/rounds/"+round, h.ops, budgetTerms(8000, 1000, 5000)).Status
		})
		for j, id := range racing {
			wg.Go(func() {
				time.Sleep(time.Duration(j) * 8 * time.Millisecond)
				awards[j] = replicas[(i+j)%2].Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 3000}).Status
			})
		}
		wg.Wait()
		made := 0
		for _, st := range append([]int{raise, lowering}, awards...) {
			if st != http.StatusOK && st != http.StatusConflict {
				t.Errorf("race %d: raise %d, lowering %d, awards %v: want each 200 or 409", i, raise, lowering, awards)
				break
			}
		}
		for _, st := range awards {
			if st == http.StatusOK {
				made++
			}
		}
		outcomes[fmt.Sprintf("raise %d, lowering %d, %d awards made", raise, lowering, made)]++
		recorded := h.recordedBudget(round)
		l := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
		if l["budget_pence"] != float64(recorded) || l["awarded_pence"].(float64) > float64(recorded) || l["awarded_pence"] != float64(5000+3000*made) {
			t.Errorf("race %d: raise %d, lowering %d, awards %v; the round records %d, the ledger %v: want the ledger at the round's budget, the awards within it",
				i, raise, lowering, awards, recorded, l)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// A change to the order of rounds whose request stopped after the funding record
// checked it (FundingReorderCheckedV1), before its round recorded it, holds awards
// to the order it would make only until the round sweep, a minute on, restates the
// round so that it can no longer be recorded: then the order as the rounds record it
// rules again, and an award it allows is made.
func TestAReorderTheRoundNeverRecordedIsLetGo(t *testing.T) {
	t.Parallel()
	h := start(t)
	_, _, inP, inQ := h.orderedRounds("org-rstop")
	h.clock.Set(time.Date(2027, 4, 2, 9, 0, 0, 0, time.UTC)) // P has closed; Q is open
	r3 := h.openR3()                                         // R3, not P, is Q's previous round
	h.Must(http.StatusOK, h.award(h.Client, inQ["org-rstop"]))

	// R3's close moved after Q's, checked and never recorded: P would be Q's previous
	// round again, with the organisation funded in Q.
	_, err := h.svc.Events.Execute(context.Background(), store.Command{AggregateType: "funding", AggregateID: "funding", Actor: "ops:k.okafor",
		Decide: func(history []events.Envelope) ([]events.Payload, error) {
			return []events.Payload{events.FundingReorderCheckedV1{RoundID: r3, RoundVersion: 2, Name: "Round R3",
				Opens: time.Date(2027, 4, 2, 8, 0, 0, 0, time.UTC), Closes: time.Date(2027, 7, 31, 16, 0, 0, 0, time.UTC), ExcludePreviouslyFunded: true}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	h.Must(http.StatusConflict, h.award(h.Client, inP["org-rstop"]))
	h.clock.Set(time.Date(2027, 4, 2, 9, 10, 0, 0, time.UTC))
	if _, err := h.svc.App.SweepRounds(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.Must(http.StatusOK, h.award(h.Client, inP["org-rstop"]))
	if r := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+r3, "", nil)).JSON(t); r["version"] != float64(2) || r["closes"] == "2027-07-31T17:00:00+01:00" {
		t.Errorf("R3 after the sweep: %v, want it restated at version 2 with its close as it was", r)
	}
}
