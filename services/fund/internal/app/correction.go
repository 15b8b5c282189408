package app

import (
	"context"
	"fmt"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/precondition"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/ledger"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

// correctionActor is who a correction's settlement is recorded as when its ledger
// entry names nobody (the service writes none such).
const correctionActor = "system:award-correction"

// CorrectAward corrects the amount of an award typed wrong (ops): £5,000 awarded for
// £500, or £50. As an award, the round's ledger decides first: one entry
// (BudgetAdjustedV1) releases the reservation and draws the new amount together, so
// the correction is decided against the budget as the awards before it left it and
// an award racing it after it; the correction is then settled onto the application
// (AwardCorrectedV1), and the settlement consumer finishes it from the ledger's entry
// should the request fail between the two. match is the application's versions the
// caller read (If-Match), checked before the ledger is drawn on and again as the
// application's correction is appended: a correction refused by the application
// after the ledger took it (it changed since, its report came in spending more) is
// put back on the ledger.
func (a *App) CorrectAward(ctx context.Context, by auth.Principal, id string, amount int64, reason string, match precondition.Versions) (*application.Application, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff correct awards")
	}
	// Queued with the awards of this replica (see Award).
	select {
	case a.awarding <- struct{}{}:
		defer func() { <-a.awarding }()
	case <-ctx.Done():
		return nil, store.Classify(ctx.Err())
	}
	app, err := a.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !app.Exists() {
		return nil, apperr.New(apperr.NotFound, "application %s not found", id)
	}
	if err := fresh(app, match); err != nil {
		return nil, err
	}
	r, err := a.Round(ctx, app.RoundID())
	if err != nil {
		return nil, err
	}
	if err := app.CheckCorrection(r, amount, reason); err != nil {
		return nil, err
	}
	appended, err := a.ledgerAppend(ctx, by.Actor(), r, func(l *ledger.Ledger) ([]events.Payload, error) {
		return l.Adjust(r.ID, id, amount, reason)
	})
	if err != nil {
		return nil, err
	}
	adj := events.BudgetAdjustedV1{RoundID: r.ID, ApplicationID: id, ToPence: amount, Reason: reason}
	cause := ""
	if len(appended) == 1 {
		if adj, err = events.Decode[events.BudgetAdjustedV1](appended[0]); err != nil {
			return nil, err
		}
		cause = appended[0].ID
	}
	// Nothing appended: the ledger holds this amount already, from a correction
	// whose settlement is still to come; it is settled here, once, all the same.
	return a.settleCorrection(ctx, by.Actor(), r, cause, adj, match)
}

// fresh refuses a change to app when it is no longer at a version match names.
func fresh(app *application.Application, match precondition.Versions) error {
	if match.Allows(app.Version()) {
		return nil
	}
	return apperr.New(apperr.PreconditionFailed,
		"the application “%s” %s: read it again and send your correction with its new ETag", app.Content().Title, match.Mismatch(app.Version()))
}

// SettleCorrection records a ledger's adjustment on its application, exactly once,
// as the settlement consumer does for every adjustment: as an award's Settle, it
// finishes a correction whose request failed after the ledger took it. cause is the
// adjustment's event id, adjustedBy its actor.
func (a *App) SettleCorrection(ctx context.Context, adjustedBy, cause string, adj events.BudgetAdjustedV1) error {
	if adj.Reverted {
		return nil // it put back a correction the application refused
	}
	r, err := a.Round(ctx, adj.RoundID)
	if err != nil {
		return err
	}
	if adjustedBy == "" {
		adjustedBy = correctionActor
	}
	_, err = a.settleCorrection(ctx, adjustedBy, r, cause, adj, precondition.Versions{})
	return err
}

// settleCorrection records adj on its application as actor. The application follows
// the ledger: an adjustment the ledger has moved on from since (corrected again) is
// left to the later one's settlement. A definite refusal from the application puts
// the ledger's reservation back to what the application holds, and is returned.
func (a *App) settleCorrection(ctx context.Context, actor string, r round.Round, cause string, adj events.BudgetAdjustedV1, match precondition.Versions) (*application.Application, error) {
	cmd := store.Command{AggregateType: application.AggregateType, AggregateID: adj.ApplicationID, Actor: actor}
	if cause != "" {
		cmd.CausationID = "award-correction|" + cause
	}
	corrected, appended, err := store.Change(ctx, a.events, cmd,
		func(history []events.Envelope) (*application.Application, error) {
			return rebuild(adj.ApplicationID, history)
		},
		func(app *application.Application) ([]events.Payload, error) {
			if app.Status() == application.StatusAwarded && app.AwardPence() == adj.ToPence {
				return nil, nil // settled before
			}
			held, err := a.reservedFor(ctx, r, adj.ApplicationID)
			if err != nil {
				return nil, err
			}
			if held != adj.ToPence {
				return nil, nil // the ledger moved on: its later entry settles
			}
			if err := fresh(app, match); err != nil {
				return nil, err
			}
			return app.CorrectAward(r, adj.ToPence, adj.Reason)
		})
	switch {
	case err == nil && len(appended) > 0:
		return corrected, nil
	case err == nil:
		return a.load(ctx, adj.ApplicationID)
	}
	if !refused(err) && !apperr.Is(err, apperr.PreconditionFailed) {
		return nil, err
	}
	app, lerr := a.load(ctx, adj.ApplicationID)
	if lerr != nil {
		return nil, lerr
	}
	if _, rerr := a.ledgerAppend(ctx, actor, r, func(l *ledger.Ledger) ([]events.Payload, error) {
		held, ok := l.Reserved(adj.ApplicationID)
		if !ok || held != adj.ToPence || !app.Exists() || app.Status() != application.StatusAwarded {
			return nil, nil
		}
		back, err := l.Adjust(r.ID, adj.ApplicationID, app.AwardPence(), fmt.Sprintf("put back: the application refused the correction (%v)", err))
		for i := range back {
			if p, ok := back[i].(events.BudgetAdjustedV1); ok {
				p.Reverted = true
				back[i] = p
			}
		}
		return back, err
	}); rerr != nil {
		return nil, rerr
	}
	return nil, err
}

// reservedFor is what the round's ledger holds for an application now (0 when none).
func (a *App) reservedFor(ctx context.Context, r round.Round, applicationID string) (int64, error) {
	history, err := a.events.Load(ctx, ledger.ID(r.ID))
	if err != nil {
		return 0, err
	}
	l, err := ledger.Rebuild(r.BudgetPence, history)
	if err != nil {
		return 0, err
	}
	held, _ := l.Reserved(applicationID)
	return held, nil
}
