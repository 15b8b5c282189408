// Package service wires the signatory service together: configuration, telemetry,
// MongoDB, NATS, the event store and its relay, the consumers and the HTTP server.
// main and the component tests both build the service here.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/deadletter"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/relay"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
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
}

// Service is the running signatory service.
type Service struct {
	cfg       config.Config
	logger    *slog.Logger
	tel       *telemetry.Telemetry
	http      *httpserver.Server
	relay     *relay.Relay
	consumers []*bus.Consumer
	js        jetstream.JetStream
	nc        *nats.Conn
	client    *mongo.Client
	Events    *store.EventStore
	App       *app.App
}

// New builds the service. cleanup releases what New acquired; call it after Run returns.
func New(ctx context.Context, cfg config.Config, opts Options) (*Service, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	fail := func(err error) (*Service, func(), error) {
		cleanup()
		return nil, func() {}, err
	}

	tel, shutdown, err := telemetry.Setup(ctx, telemetry.Options{Service: Name, LogLevel: cfg.Telemetry.LogLevel, OTLPEndpoint: cfg.Telemetry.OTLPEndpoint})
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	})
	logger := tel.Logger
	if opts.Logger != nil {
		logger = opts.Logger
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.System{}
	}
	policy := organisation.DefaultPolicy
	if opts.Policy != nil {
		policy = *opts.Policy
	}

	client, err := store.Connect(ctx, cfg.Mongo.URI, tel.TracerProvider)
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(dctx)
	})
	db := client.Database(cfg.Mongo.Database)

	nc, js, err := bus.Connect(cfg.NATS, Name)
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, nc.Close)

	for _, spec := range []bus.StreamSpec{
		{Name: events.StreamSignatory, Subjects: []string{events.SubjectsSignatory}, Replicas: cfg.NATS.StreamReplicas},
		bus.DeadLetterStream(cfg.NATS.StreamReplicas),
	} {
		if _, err := bus.EnsureStream(ctx, js, spec); err != nil {
			return fail(err)
		}
	}

	es, err := store.NewEventStore(ctx, db, "events", "/tc/"+Name, clk)
	if err != nil {
		return fail(err)
	}
	views, err := adapters.NewViews(ctx, db)
	if err != nil {
		return fail(err)
	}
	processed, err := store.NewProcessedLog(db, "processed_messages")
	if err != nil {
		return fail(err)
	}
	application, err := app.New(es, views, policy)
	if err != nil {
		return fail(err)
	}
	rl, err := relay.New(es, js, logger, 0)
	if err != nil {
		return fail(err)
	}

	var consumers []*bus.Consumer
	for _, mk := range []func(*app.App) (bus.ConsumerSpec, bus.Handler){eventport.Projection, eventport.SubmissionReceived} {
		spec, h := mk(application)
		c, err := bus.NewConsumer(js, spec, h, processed, logger, tel.TracerProvider)
		if err != nil {
			return fail(err)
		}
		consumers = append(consumers, c)
	}

	verifier, err := auth.NewVerifier(cfg.Auth, nil)
	if err != nil {
		return fail(err)
	}
	srv, err := httpserver.New(httpserver.Options{
		Service: Name, Config: cfg.HTTP, Spec: api.Spec, Authenticate: auth.Authenticate,
		Logger: logger, TracerProvider: tel.TracerProvider, Registry: tel.Registry, Metrics: tel.MetricsHandler(),
		Ready:      map[string]httpserver.Check{"mongo": store.Ping(client), "nats": bus.Ping(nc)},
		Middleware: []echo.MiddlewareFunc{auth.Middleware(verifier)},
	})
	if err != nil {
		return fail(err)
	}
	httpport.Register(srv.Echo(), httpport.New(application))
	box, err := deadletter.New(js, consumers)
	if err != nil {
		return fail(err)
	}
	deadletter.Register(srv.Echo(), box)

	return &Service{
		cfg: cfg, logger: logger, tel: tel, http: srv, relay: rl, consumers: consumers,
		js: js, nc: nc, client: client, Events: es, App: application,
	}, cleanup, nil
}

// Run serves HTTP on the configured address and runs the relay and consumers until
// ctx is cancelled, then stops them all gracefully.
func (s *Service) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.HTTP.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (tests use port 0).
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2+len(s.consumers))
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	run("relay", s.relay.Run)
	for _, c := range s.consumers {
		run("consumer", c.Run)
	}
	s.logger.Info("signatory service listening", "addr", ln.Addr().String())
	run("http", func(ctx context.Context) error { return s.http.Serve(ctx, ln) })
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}
