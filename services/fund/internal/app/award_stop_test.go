package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/adapters"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/ledger"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
	"github.com/itss/techcommit/services/fund/internal/service"
)

// stopping is the fund's event store with a request's appends stopped where a test
// says: before is called ahead of every append, and an error it returns is the
// append's (the database failed it, or the process stopped there).
type stopping struct {
	app.EventStore
	mu     sync.Mutex
	before func(cmd store.Command) error
}

func (s *stopping) Execute(ctx context.Context, cmd store.Command) ([]events.Envelope, error) {
	s.mu.Lock()
	before := s.before
	s.mu.Unlock()
	if before != nil {
		if err := before(cmd); err != nil {
			return nil, err
		}
	}
	return s.EventStore.Execute(ctx, cmd)
}

// stopAt makes before stop the n-th append from now on (1 the next), once.
func (s *stopping) stopAt(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = func(cmd store.Command) error {
		if n--; n == 0 {
			return errors.New("the database failed the append of " + cmd.AggregateID)
		}
		return nil
	}
}

func (s *stopping) run(before func(cmd store.Command) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = before
}

// boundRounds opens round A, closing on 31 March and excluding no one, and round B,
// closing on 30 June and excluding its previous round's grantees, so that A is B's
// previous round, both open now; and gives one organisation an application in
// assessment in each. It returns the fund as a replica of it runs, its store with
// appends that can be stopped, and the two applications.
func boundRounds(t *testing.T) (a *app.App, es *stopping, clk *clock.Fake, inA, inB string, project func()) {
	t.Helper()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	clk = clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	raw, err := store.NewEventStore(ctx, db, "events", "/tc/fund", clk)
	if err != nil {
		t.Fatal(err)
	}
	raw.Catalogue(app.ListedTypes...)
	_, sealed := testenv.SealedStore(t, db, raw, service.PersonalFields, clk)
	es = &stopping{EventStore: sealed}
	views, err := adapters.NewViews(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = app.New(es, adapters.NewSignatories(db), views, clk, "itss@example.org"); err != nil {
		t.Fatal(err)
	}
	project = func() { projectAll(t, a, raw) }
	var ids []string
	for _, r := range []round.Round{
		{Name: "Round A", Closes: time.Date(2027, 3, 31, 16, 0, 0, 0, time.UTC)},
		{Name: "Round B", Closes: time.Date(2027, 6, 30, 16, 0, 0, 0, time.UTC), ExcludePreviouslyFunded: true},
	} {
		r.Opens, r.BudgetPence, r.MinAwardPence, r.MaxAwardPence = clk.Now().Add(-time.Hour), 100_000, 100, 10_000
		r.ProjectStart, r.ProjectEnd, r.Themes = civil.New(2027, 7, 1), civil.New(2028, 3, 31), []string{"visibility"}
		opened, err := a.OpenRound(ctx, ops, r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, opened.ID)
	}
	by := applicant(1)
	if err := a.RecordSignatory(ctx, app.Signatory{ID: by.Org, Name: "University 1", Kind: "signatory", NominatedLeadEmail: "lead@u1.example.ac.uk"}); err != nil {
		t.Fatal(err)
	}
	var apps []string
	for _, r := range ids {
		d, _, err := a.CreateApplication(ctx, by, r, application.Content{Title: "Skills", Summary: "A project.", Themes: []string{"visibility"},
			RequestedAmountPence: 5000, Partners: []application.Partner{{Name: "Partner"}},
			Endorsement: application.Person{Name: "Len Lead", Email: "lead@u1.example.ac.uk"},
			BudgetLines: []application.BudgetLine{{Description: "Travel", AmountPence: 5000}},
			Milestones:  []application.Milestone{{Description: "Start", Due: civil.New(2027, 8, 1)}}}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Submit(ctx, by, d.ID()); err != nil {
			t.Fatal(err)
		}
		if _, err := a.StartAssessment(ctx, ops, d.ID()); err != nil {
			t.Fatal(err)
		}
		apps = append(apps, d.ID())
	}
	return a, es, clk, apps[0], apps[1], project
}

// awarded says whether application id is awarded.
func awarded(t *testing.T, a *app.App, id string) bool {
	t.Helper()
	got, err := a.Application(context.Background(), ops, id)
	if err != nil {
		t.Fatal(err)
	}
	return got.Status() == application.StatusAwarded
}

// An award whose request stopped after its claim on the funding record and before
// the round's ledger reserved the money (the database failed the second append, or
// the process stopped there) funded nothing: once the claim is older than a request
// can still be under way (ledger.HoldGrace), the round sweep lets it go, and an award
// to the organisation in the round bound to it is made. Within the grace it still
// refuses that award, as the request may yet reserve. Before, the claim refused it
// for good.
func TestAnAwardStoppedAfterItsClaimRefusesNothingOnceItIsLetGo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, es, clk, inA, inB, project := boundRounds(t)
	es.stopAt(2) // the claim is appended; the reservation is not
	if _, err := a.Award(ctx, ops, inA, 5000); err == nil || apperr.Is(err, apperr.Conflict) {
		t.Fatalf("the award stopped after its claim: %v, want the append's failure", err)
	}
	es.run(nil)
	project()
	if awarded(t, a, inA) {
		t.Fatal("the stopped award was made")
	}
	if _, err := a.SweepRounds(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Award(ctx, ops, inB, 5000); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("an award in the bound round while the stopped request may still reserve: %v, want 409", err)
	}

	clk.Set(clk.Now().Add(ledger.HoldGrace + time.Minute))
	if _, err := a.SweepRounds(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Award(ctx, ops, inB, 5000); err != nil {
		t.Fatalf("the award in the bound round after the stopped one was let go: %v, want it made (the organisation is funded nowhere)", err)
	}
	project()
	if _, err := a.Award(ctx, ops, inA, 5000); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("the stopped award sent again once the bound round funded the organisation: %v, want 409", err)
	}
	if awarded(t, a, inA) || !awarded(t, a, inB) {
		t.Errorf("awarded in A %v, in B %v: want B alone", awarded(t, a, inA), awarded(t, a, inB))
	}
}

// An award whose request is held up between its claim and its reservation for longer
// than the grace is let go by the round sweep meanwhile: when the request goes on,
// the ledger refuses its reservation (409, to send it again), so nothing is awarded
// under a claim released, and the organisation is funded once, in the bound round.
// A claim whose award drew on the budget is never let go.
func TestAnAwardHeldUpPastItsClaimsLetGoDrawsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, es, clk, inA, inB, project := boundRounds(t)
	claimed, goOn := make(chan struct{}), make(chan struct{})
	es.run(func(cmd store.Command) error {
		if cmd.AggregateType == ledger.AggregateType && cmd.Actor == ops.Actor() {
			close(claimed)
			<-goOn
		}
		return nil
	})
	late := make(chan error, 1)
	go func() {
		_, err := a.Award(ctx, ops, inA, 5000)
		late <- err
	}()
	<-claimed
	es.run(nil)
	clk.Set(clk.Now().Add(ledger.HoldGrace + time.Minute))
	if _, err := a.SweepRounds(ctx); err != nil {
		t.Fatal(err)
	}
	close(goOn)
	if err := <-late; !errors.Is(err, ledger.ErrLetGo) {
		t.Fatalf("the award held up past its claim's let-go: %v, want refused to send again", err)
	}
	if _, err := a.Award(ctx, ops, inB, 5000); err != nil {
		t.Fatalf("the award in the bound round: %v, want it made", err)
	}
	project()
	if _, err := a.Award(ctx, ops, inA, 5000); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("the held-up award sent again: %v, want 409 (funded in the bound round)", err)
	}
	clk.Set(clk.Now().Add(ledger.HoldGrace + time.Minute))
	if _, err := a.SweepRounds(ctx); err != nil {
		t.Fatal(err)
	}
	if awarded(t, a, inA) || !awarded(t, a, inB) {
		t.Errorf("awarded in A %v, in B %v: want B alone", awarded(t, a, inA), awarded(t, a, inB))
	}
	for _, round := range []string{roundOf(t, a, inA), roundOf(t, a, inB)} {
		l, err := a.Ledger(ctx, ops, round)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int64{true: 0, false: 5000}[round == roundOf(t, a, inA)]; l.Awarded() != want {
			t.Errorf("round %s's ledger holds %d awarded, want %d", round, l.Awarded(), want)
		}
	}
	// The award made in B, its claim older than the grace, still refuses A's.
	if _, err := a.Award(ctx, ops, inA, 5000); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("the award in A after the sweep: %v, want 409", err)
	}
}

func roundOf(t *testing.T, a *app.App, id string) string {
	t.Helper()
	got, err := a.Application(context.Background(), ops, id)
	if err != nil {
		t.Fatal(err)
	}
	return got.RoundID()
}
