// Package service wires the fund service together on the shared platform.
package service

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/fund/api"
	"github.com/itss/techcommit/services/fund/internal/adapters"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/config"
	eventport "github.com/itss/techcommit/services/fund/internal/ports/events"
	httpport "github.com/itss/techcommit/services/fund/internal/ports/http"
)

// Name is the service's name in logs, traces and event sources.
const Name = "fund"

// Options adjust the service for tests.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// TokenClock is the clock the read model of the portal's API tokens reads their
	// expiry by: the wall clock, which the token verifier checks exp by, unless a
	// test moves it to show what time does (and does not do) to a token.
	TokenClock clock.Clock
}

// Service is the running fund service.
type Service struct {
	*platform.Platform
	App *app.App
}

// New builds the service.
func New(ctx context.Context, cfg config.Config, opts Options) (*Service, func(), error) {
	// The fund bounds each caller's writes by its own settings (FUND_WRITE_RATE,
	// FUND_WRITE_BURST), which the platform applies in place of RATE_WRITE_*.
	cfg.HTTP.WritePerSecond, cfg.HTTP.WriteBurst = cfg.Fund.WriteRate, cfg.Fund.WriteBurst
	p, cleanup, err := platform.New(ctx, platform.Options{
		Name: Name, Config: cfg.Platform, Spec: api.Spec, Clock: opts.Clock, Logger: opts.Logger,
		Stream: bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}},
		// Applicants' tools know nobody but ITSS to report a failure to: it says where.
		Contact: cfg.Fund.ContactEmail,
	})
	if err != nil {
		return nil, cleanup, err
	}
	fail := func(err error) (*Service, func(), error) {
		cleanup()
		return nil, func() {}, err
	}
	p.Events.Catalogue(app.ListedTypes...)
	views, err := adapters.NewViews(ctx, p.DB)
	if err != nil {
		return fail(err)
	}
	// Applicants and endorsing leads are stored sealed under keys of their own, which
	// an erasure destroys (docs/PRIVACY.md); the relay publishes them opened. An
	// idempotency record's stored answer names them too: erasure drops it. The read
	// model of signatories keeps the organisation with its lead blanked, which its own
	// consumer does (eventport.Signatories), in order with the withdrawals it writes.
	sealed, err := p.SealPeople(ctx, PersonalFields, personal.ForgetIn{Collection: platform.IdempotencyCollection, Delete: true})
	if err != nil {
		return fail(err)
	}
	application, err := app.New(sealed, adapters.NewSignatories(p.DB), views, p.Clock, cfg.Fund.ContactEmail)
	if err != nil {
		return fail(err)
	}
	// Rounds and the newest applications are preloaded before the service says it is
	// ready, so that the first requests after a start read what later ones do.
	if err := application.Warm(ctx); err != nil {
		return fail(err)
	}
	if err := p.ConsumeBatches(eventport.Projection(application)); err != nil {
		return fail(err)
	}
	for _, consumer := range []func(*app.App) (bus.ConsumerSpec, bus.Handler){eventport.Signatories, eventport.Settlement, eventport.Corrections} {
		if err := p.Consume(consumer(application)); err != nil {
			return fail(err)
		}
	}
	// The portal's API tokens for applicants' tools are accepted only where the
	// portal is trusted, and then only while their read model holds them in force.
	if cfg.Auth.PortalIssuer != "" {
		now := time.Now
		if opts.TokenClock != nil {
			now = opts.TokenClock.Now
		}
		tokens, err := adapters.NewAPITokens(p.DB, now)
		if err != nil {
			return fail(err)
		}
		if err := p.Verifier.AcceptAPITokens(tokens); err != nil {
			return fail(err)
		}
		if err := p.Consume(eventport.APITokens(tokens)); err != nil {
			return fail(err)
		}
		// After a restore the read model is as old as the backup, and the consumer's
		// place (kept by NATS) is past what came since: a revocation among it would be
		// lost, and the token in force again. The rebuild replays the token stream,
		// which holds every event as long as its token lives. The read model is not
		// emptied first: it only narrows (a revocation stands), so replaying over it
		// loses nothing, and no token in force is refused meanwhile.
		p.Rebuilds(platform.Projection{Durable: eventport.DurableAPITokens})
	}
	// The applications view comes from the fund's own events; the signatory read
	// model, from the signatory service's stream.
	p.Rebuilds(platform.Projection{Durable: eventport.DurableProjection, Collections: []string{"application_views"}},
		platform.Projection{Durable: eventport.DurableSignatoriesV2, Collections: []string{"signatories"}})
	if err := p.Idempotent(ctx, cfg.Fund.IdempotencyTTL); err != nil {
		return fail(err)
	}
	httpport.Register(p.HTTP.Echo(), httpport.New(application))
	// Subject access: every document that holds an address (docs/PRIVACY.md).
	p.ServeSubjectAccess()
	p.Every("report-sweep", cfg.Fund.ReportSweepInterval, application.SweepReports)
	// The round sweep settles the rounds its own stream says were touched since it
	// last looked, not every round the fund has had.
	application.FollowRoundChanges(adapters.NewRoundChanges(p.JS, p.Events.Pending))
	// A correction of a project window begun longer ago than a request may run, and
	// not recorded, has stopped: the sweep drops it.
	application.RequestsStopWithin(cfg.HTTP.RequestTimeout)
	p.Every("round-sweep", cfg.Fund.RoundSweepInterval, application.SweepRounds)
	return &Service{Platform: p, App: application}, cleanup, nil
}

// applicantAndEndorser are the people of an application's decisions.
var applicantAndEndorser = []string{"applicant", "endorsement"}

// PersonalFields are the people in the fund's events: each is sealed under the
// person's own key (libs/personal).
var PersonalFields = personal.Fields{
	events.ApplicationDraftedV1{}.EventType():   {"applicant", "content.endorsement"},
	events.ApplicationUpdatedV1{}.EventType():   {"content.endorsement"},
	events.ApplicationSubmittedV1{}.EventType(): applicantAndEndorser,
	events.ApplicationAwardedV1{}.EventType():   applicantAndEndorser,
	events.ApplicationDeclinedV1{}.EventType():  applicantAndEndorser,
	events.AwardCorrectedV1{}.EventType():       applicantAndEndorser,
	events.ReportDueV1{}.EventType():            applicantAndEndorser,
	events.ReportOverdueV1{}.EventType():        applicantAndEndorser,
	events.ReportDueMovedV1{}.EventType():       applicantAndEndorser,
	events.ApplicationWithdrawnV1{}.EventType(): {"applicant"},
	events.ReportSubmittedV1{}.EventType():      {"applicant"},
}

// Serve is Run on listeners the caller opened, the API's and the admin one (tests use port 0).
func (s *Service) Serve(ctx context.Context, ln, admin net.Listener) error {
	return s.Platform.Serve(ctx, ln, admin)
}
