// Package platform assembles what every service runs on — telemetry, its MongoDB
// database and event store, NATS JetStream with its own stream and the dead-letter
// stream, the relay, durable consumers, background tasks and the HTTP server with
// authentication and the dead-letter API — so that each service's wiring is only
// what is its own.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/mongo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/deadletter"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/relay"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
)

// Options describe one service.
type Options struct {
	// Name is the service's name in logs, traces and event sources ("/tc/<name>").
	Name   string
	Config config.Platform
	// Spec is the service's OpenAPI document.
	Spec []byte
	// Stream is the stream of the events the service produces.
	Stream bus.StreamSpec
	// Clock and Logger replace the real ones in tests, and SpanExporter receives the
	// service's spans (a test's in-memory exporter). Both the logger and the spans
	// are redacted (telemetry.RedactHandler, telemetry.RedactSpans), as in production.
	Clock        clock.Clock
	Logger       *slog.Logger
	SpanExporter sdktrace.SpanExporter
	// Contact, when set, is the address callers write to ITSS at, which the
	// service's failures (500) give with the request id to quote: the fund's, whose
	// callers are applicants' tools that know no one else to report a failure to.
	Contact string
}

// Platform is a service's running infrastructure.
type Platform struct {
	Name      string
	Logger    *slog.Logger
	Telemetry *telemetry.Telemetry
	Clock     clock.Clock
	Client    *mongo.Client
	DB        *mongo.Database
	NC        *nats.Conn
	JS        jetstream.JetStream
	Events    *store.EventStore
	Processed *store.ProcessedLog
	HTTP      *httpserver.Server
	// Verifier checks the bearer tokens of every request; a service that accepts the
	// portal's API tokens tells it where their standing is kept.
	Verifier *auth.Verifier

	cfg       config.Platform
	relay     *relay.Relay
	consumers []*bus.Consumer
	metrics   *bus.Metrics           // the consumers' redeliveries and dead letters
	handlers  map[string]bus.Handler // each consumer's handler, by durable name
	batches   map[string]bus.BatchHandler
	specs     map[string]bus.ConsumerSpec
	stream    string // the stream of the service's own events
	rebuilds  []Projection
	sealer    *personal.Sealer                   // set by SealPeople
	sealPass  func(context.Context) (int, error) // set by SealOlderEventsAtStart
	forgotten []func(aggregateIDs []string)
	tasks     map[string]func(context.Context) error
}

// New connects everything a service needs. cleanup releases it; call it after Serve returns.
func New(ctx context.Context, opts Options) (*Platform, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	fail := func(err error) (*Platform, func(), error) {
		cleanup()
		return nil, func() {}, fmt.Errorf("start %s: %w", opts.Name, err)
	}
	if opts.Name == "" {
		return nil, func() {}, errors.New("platform: a service name is required")
	}
	cfg := opts.Config
	// Config loading validates this already; checked again here so that no caller
	// (a test, a tool) can start a service that trusts what it was never told to.
	if err := cfg.Validate(); err != nil {
		return nil, func() {}, fmt.Errorf("start %s: configuration: %w", opts.Name, err)
	}

	tel, shutdown, err := telemetry.Setup(ctx, telemetry.Options{Service: opts.Name, LogLevel: cfg.Telemetry.LogLevel, OTLPEndpoint: cfg.Telemetry.OTLPEndpoint,
		SpanExporter: opts.SpanExporter})
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	})
	p := &Platform{Name: opts.Name, Telemetry: tel, Logger: tel.Logger, Clock: opts.Clock, cfg: cfg, tasks: map[string]func(context.Context) error{},
		handlers: map[string]bus.Handler{}, batches: map[string]bus.BatchHandler{}, specs: map[string]bus.ConsumerSpec{}, stream: opts.Stream.Name}
	if opts.Logger != nil {
		p.Logger = slog.New(telemetry.RedactHandler(opts.Logger.Handler()))
	}
	if p.Clock == nil {
		p.Clock = clock.System{}
	}

	p.Client, err = store.Connect(ctx, cfg.Mongo.URI, tel.TracerProvider)
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Client.Disconnect(dctx)
	})
	p.DB = p.Client.Database(cfg.Mongo.Database)

	p.NC, p.JS, err = bus.Connect(cfg.NATS, opts.Name)
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, p.NC.Close)
	own := opts.Stream
	own.Replicas = cfg.NATS.StreamReplicas
	if own.MaxAge == 0 {
		// See docs/PRIVACY.md: the event store keeps the record, the stream only
		// carries it, and for no longer than it must.
		own.MaxAge = cfg.NATS.StreamMaxAge
	}
	for _, spec := range []bus.StreamSpec{own, bus.DeadLetterStream(cfg.NATS.StreamReplicas)} {
		if err := p.ensureStream(ctx, spec); err != nil {
			return fail(err)
		}
	}

	if p.Events, err = store.NewEventStore(ctx, p.DB, "events", "/tc/"+opts.Name, p.Clock); err != nil {
		return fail(err)
	}
	if p.Processed, err = store.NewProcessedLog(p.DB, "processed_messages"); err != nil {
		return fail(err)
	}
	if p.relay, err = relay.New(p.Events, p.JS, p.Logger, 0); err != nil {
		return fail(err)
	}
	if p.metrics, err = bus.NewMetrics(tel.Registry); err != nil {
		return fail(err)
	}
	if err := p.registerMetrics(own.Name); err != nil {
		return fail(fmt.Errorf("register metrics: %w", err))
	}

	verifier, err := auth.NewVerifier(cfg.Auth, nil)
	if err != nil {
		return fail(err)
	}
	p.Verifier = verifier
	// The first request after a start would otherwise wait for the keys. The portal,
	// one of the issuers, usually starts after the services (it is their client), so a
	// failure here is ordinary: the keys are fetched in the background once it answers,
	// and only an issuer still unreachable after keysPatience is a warning.
	if err := verifier.Prefetch(ctx); err != nil {
		p.Logger.Info("the token issuers' keys could not all be fetched at start; fetching them once the issuer answers", "error", err)
		p.Go("token keys", func(ctx context.Context) error {
			err := verifier.AwaitKeys(ctx, keysPatience, func(err error) {
				p.Logger.Warn("a token issuer's keys still cannot be fetched; requests bearing its tokens are answered 503 until they can be",
					"waited", keysPatience.String(), "error", err)
			})
			if err == nil {
				p.Logger.Info("the token issuers' keys were fetched")
			}
			return nil // a service stopping; a request still fetches the keys it lacks
		})
	}
	if cfg.Auth.AllowInsecureJWKS {
		p.Logger.Warn("AUTH_ALLOW_INSECURE_JWKS is set: token keys may come over plain http://; never set it outside a local stack",
			"jwks_url", cfg.Auth.JWKSURL)
	}
	p.HTTP, err = httpserver.New(httpserver.Options{
		Service: opts.Name, Config: cfg.HTTP, Spec: opts.Spec, Authenticate: auth.Authenticate,
		Logger: p.Logger, TracerProvider: tel.TracerProvider, Registry: tel.Registry, Metrics: tel.MetricsHandler(),
		Ready:      map[string]httpserver.Check{"mongo": store.Ping(p.Client), "nats": bus.Ping(p.NC)},
		Middleware: []httpserver.MiddlewareFunc{httpserver.Before(verifier.Identify)},
		Contact:    opts.Contact,
	})
	if err != nil {
		return fail(err)
	}
	return p, cleanup, nil
}

// PublishAs sets how the relay turns each stored event into the one it publishes
// (see relay.Relay.Outgoing): a service that seals personal fields opens them here.
func (p *Platform) PublishAs(outgoing func(context.Context, events.Envelope) (events.Envelope, error)) {
	p.relay.Outgoing = outgoing
}

// Consume adds a durable consumer that runs while the service serves.
func (p *Platform) Consume(spec bus.ConsumerSpec, h bus.Handler) error {
	c, err := bus.NewConsumer(p.JS, spec, h, p.Processed, p.Logger, p.Telemetry.TracerProvider)
	if err != nil {
		return err
	}
	c.Observe(p.metrics)
	p.consumers = append(p.consumers, c)
	p.handlers[spec.Durable] = h
	p.specs[spec.Durable] = spec
	return nil
}

// ConsumeBatches adds a durable consumer whose handler takes a batch of events at
// once (see bus.NewBatchConsumer).
func (p *Platform) ConsumeBatches(spec bus.ConsumerSpec, h bus.BatchHandler) error {
	c, err := bus.NewBatchConsumer(p.JS, spec, h, p.Logger, p.Telemetry.TracerProvider)
	if err != nil {
		return err
	}
	c.Observe(p.metrics)
	p.consumers = append(p.consumers, c)
	p.handlers[spec.Durable] = c.Process // the handler with a batch of one
	p.batches[spec.Durable] = h
	p.specs[spec.Durable] = spec
	return nil
}

// Handlers returns the handler of each consumer added with Consume, by durable name,
// so that tests (the fuzzers) reach every consumer the service runs.
func (p *Platform) Handlers() map[string]bus.Handler { return maps.Clone(p.handlers) }

// Go adds a background task (a scheduler, a sweep) that runs while the service serves.
func (p *Platform) Go(name string, task func(context.Context) error) { p.tasks[name] = task }

// Every adds a background task that runs sweep at start and then every interval,
// logging what it did and retrying at the next tick when it fails.
func (p *Platform) Every(name string, interval time.Duration, sweep func(context.Context) (int, error)) {
	p.Go(name, func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if n, err := sweep(ctx); err != nil {
				p.Logger.WarnContext(ctx, name+" failed; will retry", "error", err)
			} else if n > 0 {
				p.Logger.InfoContext(ctx, name+" done", "count", n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
}

// Run serves the API on HTTP_ADDR and health, readiness and metrics on ADMIN_ADDR.
func (p *Platform) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", p.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", p.cfg.HTTP.Addr, err)
	}
	admin, err := net.Listen("tcp", p.cfg.HTTP.AdminAddr)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listen for admin on %s: %w", p.cfg.HTTP.AdminAddr, err)
	}
	return p.Serve(ctx, ln, admin)
}

// Serve runs the API on ln, health, readiness and metrics on admin, the relay, the
// consumers and the tasks until ctx is cancelled, then stops them all gracefully.
func (p *Platform) Serve(ctx context.Context, ln, admin net.Listener) error {
	box, err := deadletter.New(p.JS, p.consumers)
	if err != nil {
		return err
	}
	deadletter.Register(p.HTTP.Echo(), box)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3+len(p.consumers)+len(p.tasks))
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	run("relay", p.relay.Run)
	for _, c := range p.consumers {
		run("consumer "+c.Durable(), c.Run)
	}
	for name, task := range p.tasks {
		run(name, task)
	}
	p.Logger.Info(p.Name+" service listening", "addr", ln.Addr().String(), "admin_addr", admin.Addr().String())
	// Starting (read models and mirrors read whole, aggregates preloaded) leaves many
	// MiB of garbage that the collector, at GOGC 200, would keep resident until the heap
	// next grows to three times what is live: collect it and hand it back to the
	// system before the service says it is ready, so that an idle service holds what
	// it uses.
	debug.FreeOSMemory()
	run("admin http", func(ctx context.Context) error { return p.HTTP.ServeAdmin(ctx, admin) })
	run("http", func(ctx context.Context) error { return p.HTTP.Serve(ctx, ln) })
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// keysPatience is how long a service waits for a token issuer's keys it could not
// fetch at start before it warns: the portal's pods start within seconds of the
// services' in the local stack and in a cluster's roll.
const keysPatience = 30 * time.Second

// streamPatience is how long a starting service waits for NATS to take its streams.
// A NATS restart or a leader election takes seconds; exiting at once would turn each
// into a crash loop of every service that happened to start meanwhile (the fault
// harness saw one). Longer than this, the orchestrator's restart is the better tool.
const streamPatience = time.Minute

// EnsureStream creates or updates another stream the service keeps (a register, such
// as notify's of what its sweep sent), with the configured number of replicas, and
// retries while NATS is unreachable, as for the service's own stream.
func (p *Platform) EnsureStream(ctx context.Context, spec func(replicas int) bus.StreamSpec) error {
	return p.ensureStream(ctx, spec(p.cfg.NATS.StreamReplicas))
}

// ensureStream creates or updates a stream, retrying while NATS is unreachable.
func (p *Platform) ensureStream(ctx context.Context, spec bus.StreamSpec) error {
	deadline := time.Now().Add(streamPatience)
	wait := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := bus.EnsureStream(actx, p.JS, spec)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		p.Logger.WarnContext(ctx, "cannot set up a stream yet; retrying", "stream", spec.Name, "error", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}
