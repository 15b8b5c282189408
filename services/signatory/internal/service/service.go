// Package service wires the signatory service together on the shared platform: its
// event store, views, consumers and HTTP handlers. main and the component tests both
// build the service here.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/deadletter"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/signatory/api"
	"github.com/itss/techcommit/services/signatory/internal/adapters"
	"github.com/itss/techcommit/services/signatory/internal/app"
	"github.com/itss/techcommit/services/signatory/internal/config"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
	eventport "github.com/itss/techcommit/services/signatory/internal/ports/events"
	httpport "github.com/itss/techcommit/services/signatory/internal/ports/http"
)

// Name is the service's name in logs, traces and event sources.
const Name = "signatory"

// Options adjust the service for tests.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	Policy *organisation.Policy
	// SpanExporter receives the service's spans (a test's in-memory exporter).
	SpanExporter sdktrace.SpanExporter
}

// Service is the running signatory service.
type Service struct {
	*platform.Platform
	App *app.App

	sealer *personal.Sealer
}

// New builds the service. cleanup releases what New acquired; call it after Run returns.
func New(ctx context.Context, cfg config.Config, opts Options) (*Service, func(), error) {
	p, cleanup, err := platform.New(ctx, platform.Options{
		Name: Name, Config: cfg.Platform, Spec: api.Spec, Clock: opts.Clock, Logger: opts.Logger, SpanExporter: opts.SpanExporter,
		Stream: bus.StreamSpec{Name: events.StreamSignatory, Subjects: []string{events.SubjectsSignatory}},
	})
	if err != nil {
		return nil, cleanup, err
	}
	policy := organisation.DefaultPolicy
	if opts.Policy != nil {
		policy = *opts.Policy
	}
	views, err := adapters.NewViews(ctx, p.DB)
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	// People named in organisations' events are stored sealed under keys of their
	// own, which erasure destroys (docs/PRIVACY.md); the relay publishes them opened.
	keys, err := personal.NewKeys(ctx, p.DB, personal.KeysCollection, p.Clock)
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	sealer, err := personal.NewSealer(keys, PersonalFields)
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	sealed, err := personal.NewSealedStore(p.Events, sealer)
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	p.PublishAs(sealer.OpenEnvelope)
	application, err := app.New(sealed, views, policy, p.Clock)
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	// Organisations are preloaded before the service says it is ready, so that the
	// first requests after a start read what later ones do.
	if err := application.Warm(ctx); err != nil {
		cleanup()
		return nil, func() {}, err
	}
	records := forgotten{p.DB.Collection(platform.IdempotencyCollection), p.JS}
	erasures, err := p.ErasureRegister(ctx)
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	if err := application.UseErasure(app.Erasure{People: keys, Stored: stored{sealed, p.Events}, Stream: stream{p}, Records: records,
		Register: register{erasures, p.Clock}}); err != nil {
		cleanup()
		return nil, func() {}, err
	}
	// A restore of the database from a backup taken before an erasure brings the
	// person back: the register, outside the database, says so, and they are erased
	// again before the service serves anyone (docs/PRIVACY.md, "After a restore").
	// The register holds the erasures made before it came, or before it was made
	// anew, once they are entered from the log.
	filled, err := application.FillErasureRegister(ctx, registerMark{coll: p.DB.Collection(registerMarkCollection), reg: erasures})
	if err != nil {
		cleanup()
		return nil, func() {}, fmt.Errorf("enter the erasures of the event log in the register of erasures: %w", err)
	}
	if filled > 0 {
		p.Logger.InfoContext(ctx, "erasures of the event log entered in the register of erasures", "people", filled)
	}
	redone, err := application.RedoErasures(ctx)
	if err != nil {
		cleanup()
		return nil, func() {}, fmt.Errorf("erase again the people the register of erasures holds: %w", err)
	}
	if redone > 0 {
		p.Logger.WarnContext(ctx, "people erased since the database's backup were erased again", "people", redone)
	}
	for _, consumer := range []func(*app.App) (bus.ConsumerSpec, bus.Handler){eventport.Projection, eventport.SubmissionReceived} {
		if err := p.Consume(consumer(application)); err != nil {
			cleanup()
			return nil, func() {}, err
		}
	}
	err = p.GaugeFunc("tc_obligations_overdue", "Organisations' obligations past their due date and not yet met.", func(ctx context.Context) (float64, error) {
		n, err := application.OverdueObligations(ctx)
		return float64(n), err
	})
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	// The organisation views and their stamp are built from the service's own events.
	p.Rebuilds(platform.Projection{Durable: eventport.DurableProjection, Collections: []string{"organisation_views", "organisation_views_stamp"}})
	// An enquiry or an onboarding step sent twice (a form pressed twice, a retry after
	// a timeout) with one Idempotency-Key is recorded once.
	if err := p.Idempotent(ctx, cfg.Signatory.IdempotencyTTL); err != nil {
		cleanup()
		return nil, func() {}, err
	}
	httpport.Register(p.HTTP.Echo(), httpport.New(application))
	svc := &Service{Platform: p, App: application, sealer: sealer}
	p.SealOlderEventsAtStart(svc.SealLegacyEvents)
	return svc, cleanup, nil
}

// PersonalFields are the people in the signatory service's events: each is sealed
// under the person's own key (libs/personal).
var PersonalFields = personal.Fields{
	events.OrganisationEnquiryReceivedV1{}.EventType(): {"enquiry_contact"},
	events.OrganisationFormReceivedV1{}.EventType():    {"leader", "nominated_lead", "point_of_contact"},
	events.OrganisationAnnouncedV1{}.EventType():       {"leader", "nominated_lead", "point_of_contact"},
	events.OrganisationContactsChangedV1{}.EventType(): {"leader", "nominated_lead", "point_of_contact"},
}

// SealLegacyEvents seals the people of every organisation's events stored before
// they were stored sealed (docs/PRIVACY.md, "Events written before sealing"), and
// returns how many commits it rewrote. It changes no event's meaning, and what is
// sealed already it leaves alone.
func (s *Service) SealLegacyEvents(ctx context.Context) (int, error) {
	return s.sealer.SealOlderEvents(ctx, s.Events, organisation.AggregateType)
}

// forgotten deletes the documents of a collection that hold a person's address, and
// the dead letters that do, whichever service's consumer gave up on them: each is
// an event as published, the person opened.
type forgotten struct {
	coll *mongo.Collection
	js   jetstream.JetStream
}

func (f forgotten) Forget(ctx context.Context, subject string) error {
	if _, err := personal.Forget(ctx, f.coll, subject, true); err != nil {
		return err
	}
	_, err := deadletter.ForgetPerson(ctx, f.js, subject)
	return err
}

// register is the suite's register of erasures, as erasure sees it.
type register struct {
	r     *bus.ErasureRegister
	clock clock.Clock
}

func (r register) Record(ctx context.Context, subject string, version int) error {
	return r.r.Record(ctx, bus.RegisteredErasure{Subject: subject, Version: version, At: r.clock.Now().UTC()})
}

func (r register) Latest(ctx context.Context) (map[string]int, error) {
	entries, err := r.r.Latest(ctx)
	if err != nil {
		return nil, err
	}
	latest := make(map[string]int, len(entries))
	for _, e := range entries {
		latest[e.Subject] = e.Version
	}
	return latest, nil
}

// registerMarkCollection holds the service's mark that the register of erasures
// holds every erasure of its log (app.RegisterMark).
const registerMarkCollection = "erasure_register"

// registerMark is app.RegisterMark: one document naming when the register it was
// made for was made, so that a register made anew is filled again.
type registerMark struct {
	coll *mongo.Collection
	reg  *bus.ErasureRegister
}

const registerMarkID = "filled-v1"

func (m registerMark) Filled(ctx context.Context) (bool, error) {
	made, err := m.reg.Made(ctx)
	if err != nil {
		return false, err
	}
	var doc struct {
		Made string `bson:"register_made"`
	}
	err = m.coll.FindOne(ctx, bson.D{{Key: "_id", Value: registerMarkID}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the register of erasures' mark: %w", store.Classify(err))
	}
	return doc.Made == made.Format(time.RFC3339Nano), nil
}

func (m registerMark) MarkFilled(ctx context.Context) error {
	made, err := m.reg.Made(ctx)
	if err != nil {
		return err
	}
	return store.Replace(ctx, m.coll, registerMarkID, bson.D{{Key: "_id", Value: registerMarkID}, {Key: "register_made", Value: made.Format(time.RFC3339Nano)}})
}

// stored reads events as stored: one organisation's through the sealed store, the
// whole log from the event store.
type stored struct {
	*personal.SealedStore
	log *store.EventStore
}

func (s stored) All(ctx context.Context) ([]events.Envelope, error) { return s.log.All(ctx) }

// stream is the service's own stream, as erasure sees it.
type stream struct{ p *platform.Platform }

func (s stream) Forget(ctx context.Context, aggregateID string) (int, error) {
	return bus.ForgetAggregate(ctx, s.p.JS, events.StreamSignatory, aggregateID)
}

// Serve is Run on listeners the caller opened, the API's and the admin one (tests use port 0).
func (s *Service) Serve(ctx context.Context, ln, admin net.Listener) error {
	return s.Platform.Serve(ctx, ln, admin)
}
