// Package service wires the review service together on the shared platform.
package service

import (
	"context"
	"log/slog"
	"net"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/review/api"
	"github.com/itss/techcommit/services/review/internal/adapters"
	"github.com/itss/techcommit/services/review/internal/app"
	"github.com/itss/techcommit/services/review/internal/config"
	eventport "github.com/itss/techcommit/services/review/internal/ports/events"
	httpport "github.com/itss/techcommit/services/review/internal/ports/http"
)

// Name is the service's name in logs, traces and event sources.
const Name = "review"

// Options adjust the service for tests.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
}

// Service is the running review service.
type Service struct {
	*platform.Platform
	App *app.App
}

// New builds the service.
func New(ctx context.Context, cfg config.Config, opts Options) (*Service, func(), error) {
	p, cleanup, err := platform.New(ctx, platform.Options{
		Name: Name, Config: cfg.Platform, Spec: api.Spec, Clock: opts.Clock, Logger: opts.Logger,
		Stream: bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}},
	})
	if err != nil {
		return nil, cleanup, err
	}
	fail := func(err error) (*Service, func(), error) {
		cleanup()
		return nil, func() {}, err
	}
	p.Events.Catalogue(app.ListedTypes...)
	read, err := adapters.NewReadModels(ctx, p.DB)
	if err != nil {
		return fail(err)
	}
	// Reviewers, and the leads feedback goes to, are stored sealed under keys of
	// their own, which an erasure destroys (docs/PRIVACY.md); the relay publishes
	// them opened. A stored answer to an idempotent request may name a person (a
	// reviewer registered with a key).
	// The read model of organisations names their leads as the signatory service
	// last said: a lead erased from an organisation that no longer changes (one
	// withdrawn) is blanked there too, by the read model's own consumer
	// (eventport.Organisations), in order with the changes it writes.
	sealed, err := p.SealPeople(ctx, PersonalFields, personal.ForgetIn{Collection: platform.IdempotencyCollection, Delete: true})
	if err != nil {
		return fail(err)
	}
	application, err := app.New(sealed, adapters.NewOrganisations(p.DB), read, p.Clock)
	if err != nil {
		return fail(err)
	}
	p.OnForgotten(application.Forget)
	if err := application.SeedViews(ctx); err != nil {
		return fail(err)
	}
	if err := application.Warm(ctx); err != nil {
		return fail(err)
	}
	if err := p.ConsumeBatches(eventport.ReadModels(application)); err != nil {
		return fail(err)
	}
	if err := p.Consume(eventport.Organisations(application)); err != nil {
		return fail(err)
	}
	// The rounds', assignments' and submissions' read models come from the review
	// service's own events; the organisations it accepts submissions from, from the
	// signatory service's stream.
	p.Rebuilds(platform.Projection{Durable: eventport.DurableSubmissionViews,
		Collections: []string{adapters.RoundsCollection, adapters.AssignmentsCollection, adapters.SubmissionsCollection}},
		platform.Projection{Durable: eventport.DurableOrganisations, Collections: []string{"organisations"}})
	// A round opened or closed, or a reviewer registered, twice (a form pressed twice,
	// a retry after a timeout) with one Idempotency-Key is done once.
	if err := p.Idempotent(ctx, cfg.Review.IdempotencyTTL); err != nil {
		return fail(err)
	}
	httpport.Register(p.HTTP.Echo(), httpport.New(application))
	// Subject access: every document that holds an address (docs/PRIVACY.md).
	p.ServeSubjectAccess()
	p.Go("review-deadlines", func(ctx context.Context) error {
		return application.WatchDeadlines(ctx, cfg.Review.DeadlineRecheck, func(err error) {
			p.Logger.WarnContext(ctx, "review deadline check failed; will retry", "error", err)
		})
	})
	return &Service{Platform: p, App: application}, cleanup, nil
}

// reviewer is a reviewer named in flat fields of an assignment's events.
const reviewer = "reviewer_name|reviewer_email"

// PersonalFields are the people in the review service's events: each is sealed under
// the person's own key (libs/personal). What reviewers wrote is kept in the clear:
// it is about a submission, and its author is sealed beside it.
var PersonalFields = personal.Fields{
	events.ReviewerRegisteredV1{}.EventType(): {"name|email"},
	events.ReviewerUpdatedV1{}.EventType():    {"name|email"},
	events.ReviewerAssignedV1{}.EventType():   {reviewer},
	events.AssignmentRemovedV1{}.EventType():  {reviewer},
	events.AssignmentAcceptedV1{}.EventType(): {reviewer},
	events.AssignmentDeclinedV1{}.EventType(): {reviewer},
	events.ReviewSubmittedV1{}.EventType():    {reviewer},
	events.ReviewOverdueV1{}.EventType():      {reviewer},
	events.ReviewReturnedV1{}.EventType():     {reviewer},
	events.ReviewWithheldV1{}.EventType():     {reviewer},
	events.FeedbackReleasedV1{}.EventType():   {"lead_name|lead_email"},
}

// Serve is Run on listeners the caller opened, the API's and the admin one (tests use port 0).
func (s *Service) Serve(ctx context.Context, ln, admin net.Listener) error {
	return s.Platform.Serve(ctx, ln, admin)
}
