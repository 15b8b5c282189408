// Package service wires the notify service together on the shared platform.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/notify/api"
	"github.com/itss/techcommit/services/notify/internal/adapters"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/config"
	"github.com/itss/techcommit/services/notify/internal/ical"
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
	// Sent is the register of what was sent (tests flush it).
	Sent *adapters.Sent
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
		TLSPolicy: cfg.SMTP.TLSPolicy, From: cfg.SMTP.From, FromName: cfg.SMTP.FromName,
		ReplyTo: cfg.Notify.ContactEmail})
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
	calendars := adapters.NewCalendarTokens(p.DB)
	application, err := app.New(app.Deps{Organisations: orgs, Reminders: reminders, Assignments: assignments, Deliveries: deliveries,
		Calendars: calendars, Sender: sender, Clock: p.Clock, Metrics: metrics},
		app.Config{Ladder: policy, ReviewDaysBefore: cfg.Notify.ReviewDaysBefore, MaxAttempts: cfg.Notify.MaxAttempts,
			PublicURL: cfg.Notify.PublicURL, Organizer: ical.Organizer{Name: cfg.SMTP.FromName, Email: cfg.SMTP.From}, PortalURL: cfg.Notify.PortalURL, Contact: cfg.Notify.ContactEmail, BodyRetention: cfg.Notify.BodyRetention, LogRetention: cfg.Notify.LogRetention})
	if err != nil {
		return fail(err)
	}
	if err := application.UsePersonalRecords(adapters.NewPersonalRecords(p.DB)); err != nil {
		return fail(err)
	}
	if err := application.UseFundProgress(adapters.NewFundProgress(p.DB)); err != nil {
		return fail(err)
	}
	// An erased person is forgotten in the delivery log and the read models of
	// people, as every service forgets them (docs/PRIVACY.md); the entries the log's
	// retention may be passing are blanked as it blanks them.
	erasure := adapters.NewErasure(p.DB).WithLogRetention(p.Clock, cfg.Notify.LogRetention)
	if err := application.UseErasures(erasure); err != nil {
		return fail(err)
	}
	if err := p.OnPersonErasedAt(erasure.ForgetAt); err != nil {
		return fail(err)
	}
	// Records of erasures from before their time was kept are dated now, so that only
	// a later event naming the person lifts them (Erasure.NamedAgain).
	if _, err := erasure.DateUndated(ctx, p.Clock.Now()); err != nil {
		return fail(err)
	}
	// Restored from a backup, notify's database holds again the people erased since it
	// was taken, and would write to them should a reminder fall due before the
	// signatory service's new announcement of their erasure reaches it: before its
	// first sweep, it forgets everyone the register of erasures names and its own
	// record of erasures lacks (docs/PRIVACY.md, "After a restore").
	forgotten, err := forgetRegistered(ctx, p, erasure)
	if err != nil {
		return fail(err)
	}
	if forgotten > 0 {
		p.Logger.WarnContext(ctx, "people erased since the backup forgotten again from the register of erasures", "people", forgotten)
	}
	// Restored from a backup, notify's database says due again the reminders sent
	// since it was taken, lacks every email sent since, and holds good again a feed
	// address replaced since: before its first sweep, it enters again what its
	// register of what was sent names (deploy/README.md, "Backup and restore").
	if err := p.EnsureStream(ctx, bus.NotifySentStream); err != nil {
		return fail(fmt.Errorf("the register of what was sent: %w", err))
	}
	sent, err := adapters.NewSent(p.JS, p.Clock, p.Logger)
	if err != nil {
		return fail(err)
	}
	// What NATS had not taken when a notify before this one stopped is entered now.
	if n, err := sent.KeepHeldIn(ctx, p.DB.Collection("sent_held")); err != nil {
		return fail(err)
	} else if n > 0 {
		p.Logger.InfoContext(ctx, "entries of the register of what was sent that NATS had not taken before the last stop are entered again", "entries", n)
	}
	if err := application.UseSentRegister(sent); err != nil {
		return fail(err)
	}
	calendars.RecordRotationsIn(sent)
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	mended, err := adapters.MendSent(mctx, sent, deliveries, reminders, calendars)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("enter again what the register of what was sent names: %w", err))
	}
	if mended != (adapters.MendedSent{}) {
		p.Logger.WarnContext(ctx, "emails and reminders sent since the backup entered again from the register of what was sent",
			"emails", mended.Emails, "reminders", mended.Reminders, "feed_addresses_replaced", mended.Feeds)
	}
	for _, consumer := range []func(*app.App) (bus.ConsumerSpec, bus.Handler){eventport.Organisations, eventport.Fund, eventport.FundCorrections, eventport.Review, eventport.Portal} {
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
	// Idempotency-Key sends one email. Its stored answer names whom the email went to:
	// one stored as they are erased is forgotten at once (NamesErased).
	if err := p.Idempotent(ctx, cfg.Notify.IdempotencyTTL, erasure.NamesErased); err != nil {
		return fail(err)
	}
	httpport.Register(p.HTTP.Echo(), httpport.New(application))
	if !opts.NoSweeper {
		p.Every("reminder-sweep", cfg.Notify.SweepInterval, application.Sweep)
		p.Every("body-retention", cfg.Notify.SweepInterval, application.DropExpiredBodies)
		p.Every("log-retention", cfg.Notify.SweepInterval, application.ForgetOldRecipients)
	}
	// The marks a notify before this one keeps apart during a rolling upgrade are moved
	// where this one reads them.
	p.Every("old-marks", cfg.Notify.SweepInterval, assignments.MoveOldMarks)
	// Entries held while NATS was away are entered when it is back.
	p.Every("sent-register", cfg.Notify.SweepInterval, sent.Flush)
	// The relay's kept connections are let go once nothing can send any more.
	// What the register of what was sent has been handed is waited for (a few seconds
	// at most) before the connection to NATS goes.
	return &Service{Platform: p, App: application, Sent: sent}, func() {
		_, _ = sent.Flush(context.Background())
		cleanup()
		sender.Close()
	}, nil
}

// forgetRegistered forgets again, in notify's database, the people the register of
// erasures names and notify's record of erasures does not.
func forgetRegistered(ctx context.Context, p *platform.Platform, erasure *adapters.Erasure) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	latest, err := bus.NewErasureRegister(p.JS).Latest(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the register of erasures: %w", err)
	}
	at := make(map[string]time.Time, len(latest))
	for _, e := range latest {
		at[e.Subject] = e.At
	}
	return erasure.ForgetAgain(ctx, at)
}

// Serve is Run on listeners the caller opened, the API's and the admin one (tests use port 0).
func (s *Service) Serve(ctx context.Context, ln, admin net.Listener) error {
	return s.Platform.Serve(ctx, ln, admin)
}
