package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/domain/round"
	"github.com/itss/techcommit/services/review/internal/domain/submission"
)

// The deadline watch is woken by a change to a round only when it brings the round's
// next deadline nearer: a first review outstanding, or a review returned. Woken, it
// loads every open round afresh from the log; it was woken by every accept and every
// review, so the busiest commands of a round each paid a read per open round besides
// their own.
func TestOnlyANearerDeadlineWakesTheDeadlineWatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	a, _ := replica(t, db, clk)
	for _, id := range []string{"rv-a", "rv-b"} {
		must[any](t)(a.RegisterReviewer(ctx, ops, events.ReviewerRegisteredV1{ReviewerID: id, Name: "Reviewer", Email: id + "@pool.example",
			OrganisationID: "pool", Trained: true, Capacity: 2}))
	}
	subs := submitted(t, a, db, 2)
	rid := must[*round.Round](t)(a.OpenRound(ctx, ops, "Round", clk.Now().Add(30*24*time.Hour), 1)).ID()
	must[any](t)(a.AddSubmissions(ctx, ops, rid, subs))
	as := func(id string) auth.Principal {
		return auth.Principal{Subject: id, Role: auth.RoleReviewer, Org: "pool"}
	}
	var themes []events.ThemeReview
	for _, th := range submission.Themes {
		themes = append(themes, events.ThemeReview{Theme: th, Score: 3, Strengths: "Clear", Recommendations: "More"})
	}
	a.DeadlineWoken() // opening the round and adding submissions: nothing outstanding, nothing to time
	for _, step := range []struct {
		name string
		do   func() error
		wake bool
	}{
		{"opening a round", func() error { _, err := a.OpenRound(ctx, ops, "Later", clk.Now().Add(40*24*time.Hour), 1); return err }, false},
		{"the first assignment", func() error { _, err := a.Assign(ctx, ops, rid, subs[0], "rv-a", "By hand"); return err }, true},
		{"a second, under the same deadline", func() error { _, err := a.Assign(ctx, ops, rid, subs[1], "rv-b", "By hand"); return err }, false},
		{"an accept", func() error { _, err := a.Respond(ctx, as("rv-a"), rid, subs[0], true, ""); return err }, false},
		{"a review", func() error {
			_, err := a.SubmitReview(ctx, as("rv-a"), rid, subs[0], themes, "A good plan.")
			return err
		}, false},
		{"a removal", func() error { _, err := a.Remove(ctx, ops, rid, subs[1], "rv-b", "Conflict"); return err }, false},
		// Nothing is outstanding now; the returned review is again.
		{"a review returned", func() error { _, err := a.ReturnReview(ctx, ops, rid, subs[0], "rv-a", "Say more"); return err }, true},
		{"a refused command", func() error { _, err := a.Respond(ctx, as("rv-b"), rid, subs[0], true, ""); return refused(err) }, false},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if woken := a.DeadlineWoken(); woken != step.wake {
			t.Errorf("%s: the deadline watch woken %v, want %v", step.name, woken, step.wake)
		}
	}
}

// refused turns a command's answer into a step's: the refusal the step expects is
// success, and no refusal a failure.
func refused(err error) error {
	if err == nil {
		return errors.New("the command was not refused")
	}
	return nil
}
