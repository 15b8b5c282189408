// Package service wires the notify service together on the shared platform.
package service

import (
	"context"
	"log/slog"
	"net"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/notify/api"
	"github.com/itss/techcommit/services/notify/internal/adapters"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/config"
	eventport "github.com/itss/techcommit/services/notify/internal/ports/events"
	httpport "github.com/itss/techcommit/services/notify/internal/ports/http"
)

// Name is the service's name in logs, traces and event sources.
const Name = "notify"

// Options adjust the service for tests.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// NoSweeper leaves the scheduler off so a test can sweep when it moves the clock.
	NoSweeper bool
}

// Service is the running notify service.
type Service struct {
	*platform.Platform
	App *app.App
}

// New builds the service.
func New(ctx context.Context, cfg config.Config, opts Options) (*Service, func(), error) {
	p, cleanup, err := platform.New(ctx, platform.Options{
		Name: Name, Config: cfg.Platform, Spec: api.Spec, Clock: opts.Clock, Logger: opts.Logger,
		Stream: bus.StreamSpec{Name: events.StreamNotify, Subjects: []string{events.SubjectsNotify}},
	})
	if err != nil {
		return nil, cleanup, err
	}
	fail := func(err error) (*Service, func(), error) {
		cleanup()
		return nil, func() {}, err
	}
	orgs, err := adapters.NewOrganisations(ctx, p.DB)
	if err != nil {
		return fail(err)
	}
	reminders, err := adapters.NewReminders(ctx, p.DB, p.Clock)
	if err != nil {
		return fail(err)
	}
	assignments, err := adapters.NewAssignments(ctx, p.DB)
	if err != nil {
		return fail(err)
	}
	deliveries, err := adapters.NewDeliveries(ctx, p.DB)
	if err != nil {
		return fail(err)
	}
	sender, err := adapters.NewSMTP(adapters.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username, Password: cfg.SMTP.Password,
		TLSPolicy: cfg.SMTP.TLSPolicy, From: cfg.SMTP.From, FromName: cfg.SMTP.FromName, Unsubscribe: cfg.SMTP.Unsubscribe})
	if err != nil {
		return fail(err)
	}
	policy, err := cfg.Notify.Ladder()
	if err != nil {
		return fail(err)
	}
	metrics, err := adapters.NewMetrics(p.Telemetry.Registry)
	if err != nil {
		return fail(err)
	}
	application, err := app.New(app.Deps{Organisations: orgs, Reminders: reminders, Assignments: assignments, Deliveries: deliveries,
		Calendars: adapters.NewCalendarTokens(p.DB), Sender: sender, Clock: p.Clock, Metrics: metrics},
		app.Config{Ladder: policy, ReviewDaysBefore: cfg.Notify.ReviewDaysBefore, MaxAttempts: cfg.Notify.MaxAttempts,
			PublicURL: cfg.Notify.PublicURL, PortalURL: cfg.Notify.PortalURL, BodyRetention: cfg.Notify.BodyRetention, LogRetention: cfg.Notify.LogRetention})
	if err != nil {
		return fail(err)
	}
	if err := application.UsePersonalRecords(adapters.NewPersonalRecords(p.DB)); err != nil {
		return fail(err)
	}
	// An erased person is forgotten in the delivery log and the read models of
	// people, as every service forgets them (docs/PRIVACY.md).
	erasure := adapters.NewErasure(p.DB)
	if err := application.UseErasures(erasure); err != nil {
		return fail(err)
	}
	if err := p.OnPersonErased(erasure.Forget); err != nil {
		return fail(err)
	}
	for _, consumer := range []func(*app.App) (bus.ConsumerSpec, bus.Handler){eventport.Organisations, eventport.Fund, eventport.Review, eventport.Portal} {
		if err := p.Consume(consumer(application)); err != nil {
			return fail(err)
		}
	}
	err = p.GaugeFunc("tc_notify_reminders_due", "Reminders whose day has come and that are not yet sent (counted up to 500).", func(ctx context.Context) (float64, error) {
		n, err := application.RemindersDue(ctx)
		return float64(n), err
	})
	if err != nil {
		return fail(err)
	}
	// A resend sent twice (a form pressed twice, a retry after a timeout) with one
	// Idempotency-Key sends one email.
	if err := p.Idempotent(ctx, cfg.Notify.IdempotencyTTL); err != nil {
		return fail(err)
	}
	httpport.Register(p.HTTP.Echo(), httpport.New(application))
	if !opts.NoSweeper {
		p.Every("reminder-sweep", cfg.Notify.SweepInterval, application.Sweep)
		p.Every("body-retention", cfg.Notify.SweepInterval, application.DropExpiredBodies)
		p.Every("log-retention", cfg.Notify.SweepInterval, application.ForgetOldRecipients)
	}
	// The relay's kept connections are let go once nothing can send any more.
	return &Service{Platform: p, App: application}, func() { cleanup(); sender.Close() }, nil
}

// Serve is Run on listeners the caller opened, the API's and the admin one (tests use port 0).
func (s *Service) Serve(ctx context.Context, ln, admin net.Listener) error {
	return s.Platform.Serve(ctx, ln, admin)
}
