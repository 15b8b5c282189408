package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/precondition"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/adapters"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
	"github.com/itss/techcommit/services/fund/internal/domain/window"
)

// lateDraft drafts an application of applicant(1) in round roundID with its one
// milestone on 15 March 2028, inside the round's project window (to 31 March 2028)
// and outside it once narrowed to end on 29 February 2028 (narrowed).
func lateDraft(t *testing.T, a *app.App, roundID string) string {
	t.Helper()
	d, _, err := a.CreateApplication(context.Background(), applicant(1), roundID, application.Content{Title: "Late workshop", Summary: "A project.", Themes: []string{"visibility"},
		RequestedAmountPence: 5000, Partners: []application.Partner{{Name: "Partner"}},
		Endorsement: application.Person{Name: "Len Lead", Email: "lead@u1.example.ac.uk"},
		BudgetLines: []application.BudgetLine{{Description: "Travel", AmountPence: 5000}},
		Milestones:  []application.Milestone{{Description: "Workshop", Due: civil.New(2028, 3, 15)}}}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return d.ID()
}

// narrowed corrects round roundID's project window to end on 29 February 2028.
func narrowed(ctx context.Context, a *app.App, roundID string) error {
	cur, err := a.Round(ctx, roundID)
	if err != nil {
		return err
	}
	next := cur
	next.ProjectEnd = civil.New(2028, 2, 29)
	_, err = a.UpdateRound(ctx, ops, roundID, next, precondition.Versions{})
	return err
}

// refusedFor says whether err is a 400 naming the draft's milestone.
func refusedFor(err error) bool {
	var e *apperr.Error
	return errors.As(err, &e) && e.Code == apperr.Invalid && e.Field == "milestones.0.due"
}

// A correction narrowing the project window whose request stopped after it began on
// the round's window records and before the round recorded it (the process killed:
// neither the round's event nor the drop of the correction was written) holds the
// round's submissions to its window only until its request must have stopped (the
// request timeout): the round sweep then restates the round, so that the correction
// can no longer be recorded however late its request, and drops it on every record.
// A submission the correction's window would have refused is then recorded. Within
// the request timeout the sweep leaves it be. Before, nothing dropped it: the
// submission was refused for a minute (window.Grace) after the correction began.
func TestACorrectionWhoseRequestStoppedIsDroppedByTheRoundSweep(t *testing.T) {
	t.Parallel()
	a, es, clk, inA, _, _ := boundRounds(t)
	a.RequestsStopWithin(10 * time.Second)
	ctx := context.Background()
	roundA := roundOf(t, a, inA)
	d := lateDraft(t, a, roundA)
	before, err := a.Round(ctx, roundA)
	if err != nil {
		t.Fatal(err)
	}

	stopped := false
	es.run(func(cmd store.Command) error {
		switch {
		case cmd.AggregateType == round.AggregateType:
			stopped = true
			return errors.New("the process stopped before the round recorded the correction")
		case cmd.AggregateType == window.AggregateType && stopped:
			return errors.New("the process stopped before it dropped the correction")
		}
		return nil
	})
	if err := narrowed(ctx, a, roundA); err == nil {
		t.Fatal("the correction whose request stopped was answered as recorded")
	}
	es.run(nil)

	if _, err := a.Submit(ctx, applicant(1), d); !refusedFor(err) {
		t.Fatalf("a submission while the correction may be under way: %v, want 400 naming milestones.0.due", err)
	}
	clk.Advance(5 * time.Second)
	if _, err := a.SweepRounds(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Submit(ctx, applicant(1), d); !refusedFor(err) {
		t.Fatalf("a submission swept within the request timeout: %v, want 400 naming milestones.0.due", err)
	}
	clk.Advance(6 * time.Second)
	if _, err := a.SweepRounds(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := a.Submit(ctx, applicant(1), d)
	if err != nil || got.Status() != application.StatusSubmitted {
		t.Fatalf("the submission once the sweep dropped the stopped correction: %v, want it submitted", err)
	}
	after, err := a.Round(ctx, roundA)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version+1 || after.ProjectEnd != before.ProjectEnd {
		t.Errorf("the round after the sweep: version %d ending %s, want restated at %d, still ending %s", after.Version, after.ProjectEnd, before.Version+1, before.ProjectEnd)
	}
	histories, err := es.LoadMany(ctx, window.IDs(roundA))
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range window.IDs(roundA) {
		open, err := window.Open(histories[rec], clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 0 {
			t.Errorf("record %s still holds %d correction(s) after the sweep", rec, len(open))
		}
	}
}

// A submission whose check landed on its round's window record and whose own event
// then failed (the database failed the append) says so on the record, so that a
// correction narrowing the window proceeds at once rather than count the draft as
// being submitted; the draft is told on its next submission. Before, the correction
// was refused with 409 for a minute (window.Grace) though no submission could follow.
func TestASubmissionThatFailedAfterItsCheckRefusesNoCorrection(t *testing.T) {
	t.Parallel()
	a, es, _, inA, _, _ := boundRounds(t)
	ctx := context.Background()
	roundA := roundOf(t, a, inA)
	d := lateDraft(t, a, roundA)

	es.run(func(cmd store.Command) error {
		if cmd.AggregateType != application.AggregateType {
			return nil
		}
		// Decided (its check appended on the window record), then not stored.
		history, err := es.EventStore.Load(ctx, cmd.AggregateID)
		if err != nil {
			return err
		}
		if _, err := cmd.Decide(history); err != nil {
			return err
		}
		return errors.New("the database failed the append of " + cmd.AggregateID)
	})
	if _, err := a.Submit(ctx, applicant(1), d); err == nil {
		t.Fatal("the submission whose append failed was answered as recorded")
	}
	es.run(nil)
	history, err := es.Load(ctx, window.Of(roundA, d))
	if err != nil {
		t.Fatal(err)
	}
	checks, err := window.Checks(history)
	if err != nil {
		t.Fatal(err)
	}
	// The record is shared by the applications whose ids hash alike (window.Of): the
	// round's application in assessment is on it one time in window.Records, which
	// counted it here as the draft's.
	var mine []window.Check
	for _, c := range checks {
		if c.ApplicationID == d {
			mine = append(mine, c)
		}
	}
	if len(mine) != 1 || !mine[0].Dropped {
		t.Fatalf("the draft's checks on its window record are %+v, want the failed submission's one, dropped", mine)
	}

	if err := narrowed(ctx, a, roundA); err != nil {
		t.Fatalf("the correction after the submission failed: %v, want it recorded", err)
	}
	if _, err := a.Submit(ctx, applicant(1), d); !refusedFor(err) {
		t.Errorf("the draft's submission after the correction: %v, want 400 naming milestones.0.due", err)
	}
}

// A submission checked and under way still refuses the correction though another
// request's check of the same draft was dropped: a drop names its own check. And a
// check dropped whose submission was recorded after all (its append's answer lost)
// counts as submitted, read as the application stands.
func TestADroppedCheckHidesNoOtherSubmission(t *testing.T) {
	t.Parallel()
	a, es, _, inA, _, _ := boundRounds(t)
	ctx := context.Background()
	roundA := roundOf(t, a, inA)
	cur, err := a.Round(ctx, roundA)
	if err != nil {
		t.Fatal(err)
	}
	due := civil.New(2028, 3, 15)
	check := func(id string) string {
		evs, err := es.Execute(ctx, store.Command{AggregateType: window.AggregateType, AggregateID: window.Of(roundA, id), Actor: "applicant:1",
			Decide: func([]events.Envelope) ([]events.Payload, error) {
				return []events.Payload{window.Checked(roundA, id, 1, cur.Version, due, due)}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		return evs[0].ID
	}
	drop := func(id, checkID string) {
		if _, err := es.Execute(ctx, store.Command{AggregateType: window.AggregateType, AggregateID: window.Of(roundA, id), Actor: "applicant:1",
			Decide: func([]events.Envelope) ([]events.Payload, error) {
				return []events.Payload{window.DropCheck(roundA, id, checkID)}, nil
			}}); err != nil {
			t.Fatal(err)
		}
	}

	underWay := lateDraft(t, a, roundA)
	drop(underWay, check(underWay))
	check(underWay) // another request's, still under way
	var e *apperr.Error
	if err := narrowed(ctx, a, roundA); !errors.As(err, &e) || e.Code != apperr.Conflict {
		t.Errorf("the correction with a submission under way beside a dropped one: %v, want 409", err)
	}

	recorded := lateDraft(t, a, roundA)
	if _, err := a.Withdraw(ctx, applicant(1), underWay, "not this year"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Submit(ctx, applicant(1), recorded); err != nil {
		t.Fatal(err)
	}
	history, err := es.Load(ctx, window.Of(roundA, recorded))
	if err != nil {
		t.Fatal(err)
	}
	checks, err := window.Checks(history)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if c.ApplicationID == recorded {
			drop(recorded, c.ID)
		}
	}
	if err := narrowed(ctx, a, roundA); !errors.As(err, &e) || e.Code != apperr.Conflict {
		t.Errorf("the correction with a submitted application whose check was dropped: %v, want 409", err)
	}
}

// A correction begun on an open round's window records and never recorded nor
// dropped touches its round for a round sweep that follows the fund's stream
// (WindowCorrectionBegunV1 names the round), so the sweep settles that round though
// nothing else changed it, and drops the correction once its request has stopped.
// Before, the stream's correction events touched no round: a sweep that had settled
// every round at its start never read the records again, and the submission stayed
// refused for a minute.
func TestAStoppedCorrectionTouchesItsRoundForTheSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	a, es := replica(t, db, clk)
	a.RequestsStopWithin(10 * time.Second)
	_, js := testenv.JetStream(t, testenv.NATS(t))
	if _, err := bus.EnsureStream(ctx, js, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	a.FollowRoundChanges(adapters.NewRoundChanges(js, nil))
	published := map[string]bool{}
	sweep := func() {
		t.Helper()
		all, err := es.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all {
			if !published[e.ID] {
				published[e.ID] = true
				if _, err := js.PublishMsg(ctx, bus.Message(e)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := a.SweepRounds(ctx); err != nil {
			t.Fatal(err)
		}
	}

	r, err := a.OpenRound(ctx, ops, round.Round{Name: "Round", Opens: clk.Now().Add(-time.Hour), Closes: clk.Now().Add(30 * 24 * time.Hour),
		BudgetPence: 100_000, MinAwardPence: 100, MaxAwardPence: 10_000, ProjectStart: civil.New(2027, 7, 1), ProjectEnd: civil.New(2028, 3, 31),
		Themes: []string{"visibility"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RecordSignatory(ctx, app.Signatory{ID: applicant(1).Org, Name: "University 1", Kind: "signatory", NominatedLeadEmail: "lead@u1.example.ac.uk"}); err != nil {
		t.Fatal(err)
	}
	d := lateDraft(t, a, r.ID)
	sweep() // every round settled, from here on only those touched
	sweep()

	for _, rec := range window.IDs(r.ID) {
		if _, err := es.Execute(ctx, store.Command{AggregateType: window.AggregateType, AggregateID: rec, Actor: "ops:k.okafor",
			Decide: func([]events.Envelope) ([]events.Payload, error) {
				return []events.Payload{window.Begin(r.ID, "stopped", r.Version, r.ProjectStart, civil.New(2028, 2, 29))}, nil
			}}); err != nil {
			t.Fatal(err)
		}
	}
	sweep()
	if _, err := a.Submit(ctx, applicant(1), d); !refusedFor(err) {
		t.Fatalf("a submission while the correction may be under way: %v, want 400 naming milestones.0.due", err)
	}
	clk.Advance(11 * time.Second)
	sweep()
	if _, err := a.Submit(ctx, applicant(1), d); err != nil {
		t.Errorf("the submission once the correction's request stopped and the sweep ran: %v, want it submitted", err)
	}
}

// A correction whose request is only slow, not stopped, and outlasts the request
// timeout is never recorded beside a submission the sweep let through: the sweep
// restates the round before it drops the correction, so the correction's own write,
// when it comes, finds the round moved on, and deciding again it counts the
// submission recorded meanwhile (409). Dropping alone would have recorded both.
func TestASlowCorrectionDroppedByTheSweepIsNotRecordedBesideASubmission(t *testing.T) {
	t.Parallel()
	a, es, clk, inA, _, _ := boundRounds(t)
	a.RequestsStopWithin(10 * time.Second)
	ctx := context.Background()
	roundA := roundOf(t, a, inA)
	d := lateDraft(t, a, roundA)

	var submitted error
	held := false
	es.run(func(cmd store.Command) error {
		if cmd.AggregateType != round.AggregateType || cmd.Actor != ops.Actor() || held {
			return nil
		}
		// The correction has begun on the records and is about to write the round:
		// its request stalls past the request timeout, while the sweep runs and the
		// draft is submitted.
		held = true
		clk.Advance(11 * time.Second)
		if _, err := a.SweepRounds(ctx); err != nil {
			return err
		}
		_, submitted = a.Submit(ctx, applicant(1), d)
		return nil
	})
	err := narrowed(ctx, a, roundA)
	es.run(nil)
	if !held {
		t.Fatal("the correction never wrote the round")
	}
	if submitted != nil {
		t.Fatalf("the submission once the sweep dropped the stalled correction: %v, want it submitted", submitted)
	}
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code != apperr.Conflict || e.Field != "project_end" {
		t.Errorf("the correction after the submission it stalled past: %v, want 409 naming project_end", err)
	}
	r, err := a.Round(ctx, roundA)
	if err != nil {
		t.Fatal(err)
	}
	if r.ProjectEnd != civil.New(2028, 3, 31) {
		t.Errorf("the round ends its window on %s with a milestone submitted for 15 March 2028", r.ProjectEnd)
	}
}
