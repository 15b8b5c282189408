package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
	"github.com/itss/techcommit/services/fund/internal/domain/window"
)

// A correction of a round's project window and a submission to the round are
// decided on different aggregates (the round, the application), so each meets the
// other on the round's window records (package window), which the event store's
// unique index orders: a submission appends its check to one record before it is
// recorded, a correction appends that it has begun to every record before it reads
// the applications. Whichever comes first on the record the submission checks on is
// known to the other. Only a correction that may leave a milestone outside (one
// narrowing or moving the window) begins on the records; submissions check on one of
// several records, combined within a replica, so that they do not queue for one.

// checkSubmission records on the round's window record that app (a draft), about to
// be submitted at now under el, was checked against round r as read, and checks it
// against the window of every correction begun there and not over (window.Pending):
// one whose window would leave a milestone outside refuses the submission as a
// milestone outside the round's window is (400 naming the milestone), since it may
// be recorded in the instant after. A correction begun after the check reads it, and
// counts the application as submitted until its submission could no longer follow,
// or the submission says it failed (dropChecks). It returns the check's event id.
func (a *App) checkSubmission(ctx context.Context, actor string, r round.Round, app *application.Application, el application.Eligibility, now time.Time) (string, error) {
	first, last := span(app.Content().Milestones)
	evs, err := a.events.Execute(ctx, store.Command{AggregateType: window.AggregateType, AggregateID: window.Of(r.ID, app.ID()), Actor: actor,
		Combine: true, MaxAttempts: ledgerAttempts,
		Decide: func(history []events.Envelope) ([]events.Payload, error) {
			pending, err := window.Pending(history, r.Version, a.clock.Now())
			if err != nil {
				return nil, err
			}
			for _, c := range pending {
				corrected := r
				corrected.ProjectStart, corrected.ProjectEnd = c.Start, c.End
				if _, err := app.Submit(corrected, el, now); err != nil {
					return nil, err // a milestone outside the window it is being corrected to, named
				}
			}
			return []events.Payload{window.Checked(r.ID, app.ID(), app.Version(), r.Version, first, last)}, nil
		}})
	if err != nil || len(evs) == 0 {
		return "", err
	}
	return evs[0].ID, nil
}

// dropChecks records on application applicationID's window record of round roundID
// that the submissions it checked by the events checks were not recorded: the
// request that made them failed after them (its submission's append failed, or was
// refused when decided again). A correction then proceeds at once rather than count
// the draft as being submitted until window.Grace has passed; it still reads the
// application as it stands, so a submission recorded after all (an append whose
// answer was lost) counts as submitted. It is done as well as it can be: a check not
// dropped counts for window.Grace, as before.
func (a *App) dropChecks(ctx context.Context, actor, roundID, applicationID string, checks []string) {
	_, _ = a.events.Execute(context.WithoutCancel(ctx), store.Command{AggregateType: window.AggregateType, AggregateID: window.Of(roundID, applicationID), Actor: actor,
		Combine: true, MaxAttempts: ledgerAttempts,
		Decide: func([]events.Envelope) ([]events.Payload, error) {
			var drops []events.Payload
			for _, id := range checks {
				drops = append(drops, window.DropCheck(roundID, applicationID, id))
			}
			return drops, nil
		}})
}

// span is the days the first and the last of milestones are due.
func span(milestones []application.Milestone) (first, last civil.Date) {
	for i, m := range milestones {
		if i == 0 || m.Due.Before(first) {
			first = m.Due
		}
		if i == 0 || m.Due.After(last) {
			last = m.Due
		}
	}
	return first, last
}

// correctWindow checks a correction of round cur's project window to next's before
// the round records it. A window that can only leave outside it what lay outside
// the old one (wider at both ends) is checked against the applications as they
// stand (checkMilestones); any other first begins on each of the round's window
// records (window.Begin), so that a submission checked after it is held to the new
// window too, then is checked against the applications and every submission checked
// before it. It returns the correction's id, to drop should the round not record it
// (dropCorrection); a correction refused here is dropped already.
func (a *App) correctWindow(ctx context.Context, actor string, cur, next round.Round) (string, error) {
	if !next.ProjectStart.After(cur.ProjectStart) && !next.ProjectEnd.Before(cur.ProjectEnd) {
		return "", a.checkMilestones(ctx, next, nil)
	}
	id := uuid.Must(uuid.NewV7()).String()
	for _, rec := range window.IDs(cur.ID) {
		if _, err := a.events.Execute(ctx, store.Command{AggregateType: window.AggregateType, AggregateID: rec, Actor: actor, Combine: true, MaxAttempts: ledgerAttempts,
			Decide: func([]events.Envelope) ([]events.Payload, error) {
				return []events.Payload{window.Begin(cur.ID, id, cur.Version, next.ProjectStart, next.ProjectEnd)}, nil
			}}); err != nil {
			a.dropCorrection(ctx, actor, cur.ID, id)
			return "", err
		}
	}
	histories, err := a.events.LoadMany(ctx, window.IDs(cur.ID))
	if err == nil {
		var checks []window.Check
		for _, rec := range window.IDs(cur.ID) {
			c, cerr := window.Checks(histories[rec])
			if cerr != nil {
				err = cerr
				break
			}
			checks = append(checks, c...)
		}
		if err == nil {
			err = a.checkMilestones(ctx, next, checks)
		}
	}
	if err != nil {
		a.dropCorrection(ctx, actor, cur.ID, id)
		return "", err
	}
	return id, nil
}

// dropCorrection records on each of round roundID's window records that the
// correction id will not be recorded, so that submissions are held to the round's
// window alone again. It is done as well as it can be: a record it misses holds
// submissions to the correction's window until window.Grace has passed.
func (a *App) dropCorrection(ctx context.Context, actor, roundID, id string) {
	for _, rec := range window.IDs(roundID) {
		_, _ = a.events.Execute(context.WithoutCancel(ctx), store.Command{AggregateType: window.AggregateType, AggregateID: rec, Actor: actor, Combine: true, MaxAttempts: ledgerAttempts,
			Decide: func([]events.Envelope) ([]events.Payload, error) {
				return []events.Payload{window.Drop(roundID, id)}, nil
			}})
	}
}

// checkMilestones refuses a project window that would leave outside it a milestone
// of an application the round holds to its terms: submitted, in assessment or
// awarded, or being submitted (409 naming how many and the first). A draft is told
// on its next change or submission, as for any draft whose milestones fall outside
// the window. The round's applications are listed from the views and from checks,
// the submissions checked on the round's window records (which the views may not
// list yet), and each read as it stands; a draft still at the version a check
// names, checked less than window.Grace ago, is being submitted: its submission may
// be recorded after this read, with the milestones the check gives.
func (a *App) checkMilestones(ctx context.Context, r round.Round, checks []window.Check) error {
	ids, err := a.views.InRound(ctx, r.ID)
	if err != nil {
		return err
	}
	checked := map[string][]window.Check{}
	for _, c := range checks {
		if _, ok := checked[c.ApplicationID]; !ok && !slices.Contains(ids, c.ApplicationID) {
			ids = append(ids, c.ApplicationID)
		}
		checked[c.ApplicationID] = append(checked[c.ApplicationID], c)
	}
	histories, err := a.events.LoadMany(ctx, ids)
	if err != nil {
		return err
	}
	now := a.clock.Now()
	type held struct {
		app         *application.Application
		first, last civil.Date
		status      string
	}
	var outside []held
	field := ""
	for _, id := range ids {
		app, err := rebuild(id, histories[id])
		if err != nil {
			return err
		}
		var spans [][2]civil.Date
		status := string(app.Status())
		switch app.Status() {
		case application.StatusSubmitted, application.StatusInAssessment, application.StatusAwarded:
			for _, m := range app.Content().Milestones {
				spans = append(spans, [2]civil.Date{m.Due, m.Due})
			}
		case application.StatusDraft:
			for _, c := range checked[id] {
				if c.UnderWay(app.Version(), now) {
					spans = append(spans, [2]civil.Date{c.First, c.Last})
					status = "being submitted"
				}
			}
		}
		for _, s := range spans {
			if s[0].Before(r.ProjectStart) || s[1].After(r.ProjectEnd) {
				outside = append(outside, held{app: app, first: s[0], last: s[1], status: status})
				if field == "" || !s[0].Before(r.ProjectStart) {
					field = "project_start"
					if s[1].After(r.ProjectEnd) {
						field = "project_end"
					}
				}
				break
			}
		}
	}
	if len(outside) == 0 {
		return nil
	}
	slices.SortFunc(outside, func(x, y held) int { return strings.Compare(x.app.ID(), y.app.ID()) })
	first := outside[0]
	return &apperr.Error{Code: apperr.Conflict, Field: field, Message: fmt.Sprintf(
		"the project window %s to %s would leave outside it the milestones of %d application(s) submitted, in assessment or awarded, the first %s (“%s”, status %s); their milestones were checked against the window as it stood",
		r.ProjectStart.InWords(), r.ProjectEnd.InWords(), len(outside), first.app.ID(), first.app.Content().Title, first.status)}
}
