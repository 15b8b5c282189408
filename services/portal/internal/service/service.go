// Package service wires the portal together: its small database (people, links,
// sessions), NATS for the events it reads and the one it publishes, the services'
// clients, and the pages.
package service

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/deadletter"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/config"
	"github.com/itss/techcommit/services/portal/internal/pages"
	"github.com/itss/techcommit/services/portal/internal/reviewdrafts"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// Name is the service's name in logs, traces and event sources.
const Name = "portal"

// Options adjust the portal for tests and plug in what is built elsewhere.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Ops is the ITSS staff sign-in (OpenID Connect); nil leaves it unavailable.
	Ops signin.OpsFlow
	// HTTPClient calls the services; nil uses one with a 10 s timeout.
	HTTPClient *http.Client
}

// Service is the running portal.
type Service struct {
	Logger   *slog.Logger
	Clock    clock.Clock
	DB       *mongo.Database
	JS       jetstream.JetStream
	People   *signin.People
	Links    *signin.Links
	Sessions *signin.Sessions
	Minter   *signin.Minter
	Tokens   *apitokens.Store
	Drafts   *reviewdrafts.Store

	cfg       config.Config
	handler   http.Handler
	admin     http.Handler
	consumers []*bus.Consumer
	sweep     func(context.Context) (int, error)
	requester *signin.Requester
}

// New connects everything the portal needs. cleanup releases it; call it after Serve returns.
func New(ctx context.Context, cfg config.Config, opts Options) (*Service, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	fail := func(err error) (*Service, func(), error) {
		cleanup()
		return nil, func() {}, fmt.Errorf("start %s: %w", Name, err)
	}
	// Load validated already; checked again so that no caller (a test, a tool) can
	// start a portal that signs with no key or links to no address.
	if err := cfg.Validate(); err != nil {
		return nil, func() {}, fmt.Errorf("start %s: configuration: %w", Name, err)
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
	s := &Service{Logger: tel.Logger, Clock: opts.Clock, cfg: cfg}
	if opts.Logger != nil {
		s.Logger = opts.Logger
	}
	if s.Clock == nil {
		s.Clock = clock.System{}
	}
	key, err := auth.LoadKey(cfg.Portal.SigningKeyFile)
	if err != nil {
		return fail(err)
	}
	if s.Minter, err = signin.NewMinter(cfg.Portal.PublicURL, key, s.Clock); err != nil {
		return fail(err)
	}
	// The key that seals actions' outcomes for the pages they redirect to is derived
	// from the signing key, which every replica shares, so that a page shows the
	// outcome whichever replica answers it; it is never the signing key itself.
	outcomeKey, err := hkdf.Key(sha256.New, key.Seed(), nil, "tc-portal action outcome cookie", 32)
	if err != nil {
		return fail(fmt.Errorf("derive the outcome key: %w", err))
	}
	// The log's names of people (signin.LogName) are keyed the same way, for the
	// same reason: one person reads alike in every replica's log.
	logKey, err := hkdf.Key(sha256.New, key.Seed(), nil, "tc-portal names in the log", 32)
	if err != nil {
		return fail(fmt.Errorf("derive the log names' key: %w", err))
	}
	// People are recorded by pseudonyms keyed with a secret of their own, not one
	// derived from the signing key: that key is rotated (deploy/README.md), and a
	// pseudonym must stay the same for as long as the audit trails keep it.
	pseudonyms, err := signin.NewPseudonyms([]byte(cfg.Portal.PseudonymKey))
	if err != nil {
		return fail(fmt.Errorf("PORTAL_PSEUDONYM_KEY: %w", err))
	}
	// ITSS staff sign in through the configured OpenID provider (a test may plug in
	// its own flow instead).
	if opts.Ops == nil && cfg.Ops.Issuer != "" {
		flow, err := newOpsFlow(ctx, cfg.Ops, key, opts.HTTPClient, s.Logger)
		if err != nil {
			return fail(err)
		}
		opts.Ops = flow
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
	s.DB = client.Database(cfg.Mongo.Database)
	nc, js, err := bus.Connect(cfg.NATS, Name)
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, nc.Close)
	s.JS = js
	for _, spec := range []bus.StreamSpec{
		// The sign-in stream first: before the token stream had its own, it held the
		// token subjects too, and two streams may not share one.
		bus.PortalStream(cfg.NATS.StreamReplicas),
		bus.PortalTokenStream(cfg.NATS.StreamReplicas),
		bus.PortalEndedStream(cfg.NATS.StreamReplicas),
		bus.PortalRemovedStream(cfg.NATS.StreamReplicas),
		bus.DeadLetterStream(cfg.NATS.StreamReplicas),
	} {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := bus.EnsureStream(sctx, js, spec)
		cancel()
		if err != nil {
			return fail(err)
		}
	}

	if s.People, err = signin.NewPeople(ctx, s.DB, pseudonyms); err != nil {
		return fail(err)
	}
	ended, err := signin.NewEnded(js, s.Clock)
	if err != nil {
		return fail(err)
	}
	if err := s.People.RecordRemovalsIn(ended); err != nil {
		return fail(err)
	}
	if s.Links, err = signin.NewLinks(s.DB, s.Clock, ended); err != nil {
		return fail(err)
	}
	if s.Sessions, err = signin.NewSessions(s.DB, s.Clock, cfg.Portal.SessionLifetime, cfg.Portal.SessionMaxLifetime, ended); err != nil {
		return fail(err)
	}
	// Before it serves anyone, the portal ends again the sessions signed out, the
	// links used and the colleagues removed that a restore of its database brought
	// back.
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	mended, err := signin.Mend(mctx, ended, s.Sessions, s.Links, s.People)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("end the sign-ins the register says have ended: %w", err))
	}
	if mended != (signin.Mended{}) {
		s.Logger.WarnContext(ctx, "sign-ins ended again after a restore of the portal's database", "sessions", mended.Sessions, "links", mended.Links,
			"colleagues", mended.Colleagues)
	}
	processed, err := store.NewProcessedLog(s.DB, "processed_messages")
	if err != nil {
		return fail(err)
	}
	if s.Tokens, err = apitokens.New(ctx, apitokens.Deps{DB: s.DB, JS: js, Minter: s.Minter, Clock: s.Clock, Logger: s.Logger,
		Audience: cfg.Portal.FundAudience, MaxLifetime: cfg.Portal.APITokenMaxLifetime}); err != nil {
		return fail(err)
	}
	if s.Drafts, err = reviewdrafts.New(ctx, s.DB, s.Clock, pseudonyms); err != nil {
		return fail(err)
	}
	// The consumers count their redeliveries and dead letters as the services' do, on
	// the same series: the dashboard reads them for the portal's job too.
	consumerMetrics, err := bus.NewMetrics(tel.Registry)
	if err != nil {
		return fail(err)
	}
	for _, consumer := range []func(*signin.People) (bus.ConsumerSpec, bus.Handler){leadsAndTheirTokens(s.Tokens), signin.ReviewersConsumer, forgetErased(s.DB, js, s.Tokens, s.Links),
		// A closed round takes no review: the reviewers' saved copies go with it.
		func(*signin.People) (bus.ConsumerSpec, bus.Handler) {
			return reviewdrafts.RoundsClosedConsumer(s.Drafts)
		},
		// A saved copy follows its reviewer's corrected address (it is found by
		// their id): their subject access and erasure are the new address's.
		func(*signin.People) (bus.ConsumerSpec, bus.Handler) {
			return reviewdrafts.ReviewersReaddressedConsumer(s.Drafts)
		}} {
		spec, h := consumer(s.People)
		c, err := bus.NewConsumer(js, spec, h, processed, s.Logger, tel.TracerProvider)
		if err != nil {
			return fail(err)
		}
		c.Observe(consumerMetrics)
		s.consumers = append(s.consumers, c)
	}
	// The console lists and replays the letters its consumers give up on, beside the
	// services'.
	letters, err := deadletter.New(js, s.consumers)
	if err != nil {
		return fail(err)
	}
	s.requester, err = signin.NewRequester(signin.RequesterDeps{People: s.People, Links: s.Links, JS: js, PublicURL: cfg.Portal.PublicURL, LogKey: logKey,
		Clock: s.Clock, Logger: s.Logger, PerAddress: cfg.Portal.SigninPerAddress, PerClient: cfg.Portal.SigninPerClient})
	if err != nil {
		return fail(err)
	}
	p := cfg.Portal
	cl, err := clients.New(clients.Config{
		Signatory: clients.Service{URL: p.SignatoryURL, Audience: p.SignatoryAudience},
		Review:    clients.Service{URL: p.ReviewURL, Audience: p.ReviewAudience},
		Notify:    clients.Service{URL: p.NotifyURL, Audience: p.NotifyAudience},
		Fund:      clients.Service{URL: p.FundURL, Audience: p.FundAudience},
	}, s.Minter, opts.HTTPClient)
	if err != nil {
		return fail(err)
	}
	staff, err := signin.NewStaff(s.DB, s.Clock)
	if err != nil {
		return fail(err)
	}
	proxies, err := cfg.HTTP.Proxies()
	if err != nil {
		return fail(err)
	}
	h, err := pages.New(pages.Deps{People: s.People, Sessions: s.Sessions, Links: s.Links, Requester: s.requester, Minter: s.Minter,
		Clients: cl, Tokens: s.Tokens, Drafts: s.Drafts, Staff: staff, Ops: opts.Ops, Clock: s.Clock, Logger: s.Logger, Proxies: proxies, SecureCookies: !p.InsecureCookies,
		HSTSMaxAge: cfg.HTTP.HSTSMaxAge, RequestTimeout: cfg.HTTP.RequestTimeout, Holdings: holdings(s.DB, pseudonyms), Metrics: tel.Registry,
		OutcomeKey: outcomeKey, Letters: letters, Contact: p.ContactEmail, DPO: p.DPO(), Transfers: p.TransfersPage(), StaffNameRetention: p.StaffNameRetention})
	if err != nil {
		return fail(err)
	}
	s.handler = h.Routes()
	s.admin = admin(tel, map[string]func(context.Context) error{"mongo": store.Ping(client), "nats": bus.Ping(nc)})
	s.sweep = func(ctx context.Context) (int, error) {
		a, err := s.Links.Sweep(ctx)
		if err != nil {
			return a, err
		}
		b, err := s.Sessions.Sweep(ctx)
		if err != nil {
			return a + b, err
		}
		c, err := staff.Sweep(ctx, p.StaffNameRetention)
		if err != nil {
			return a + b + c, err
		}
		d, err := s.Tokens.Sweep(ctx)
		if err != nil {
			return a + b + c + d, err
		}
		e, err := s.Drafts.Sweep(ctx)
		return a + b + c + d + e, err
	}
	return s, cleanup, nil
}

// WaitSignins returns once every sign-in request answered so far has been dealt with.
func (s *Service) WaitSignins() { s.requester.Wait() }

// Handler is the portal's pages, for tests that call it without a listener.
func (s *Service) Handler() http.Handler { return s.handler }

// Sweep deletes expired links and sessions, the names of ITSS staff not seen for
// PORTAL_STAFF_NAME_RETENTION, the records of API tokens that expired more than
// apitokens.KeepAfterExpiry ago, and reviews saved part-way and not saved again for
// reviewdrafts.KeepAfterSave, now (it also runs every minute).
func (s *Service) Sweep(ctx context.Context) (int, error) { return s.sweep(ctx) }

// admin answers health, readiness and metrics, on the admin listener only.
func admin(tel *telemetry.Telemetry, checks map[string]func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		status, code := map[string]string{}, http.StatusOK
		for name, check := range checks {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			status[name] = "ok"
			if err := check(ctx); err != nil {
				status[name], code = "unavailable", http.StatusServiceUnavailable
			}
			cancel()
		}
		overall := "ok"
		if code != http.StatusOK {
			overall = "unavailable"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		// The services' answer, word for word (deploy/README.md, "Verify").
		_ = json.NewEncoder(w).Encode(map[string]any{"checks": status, "status": overall})
	})
	mux.Handle("GET /metrics", tel.MetricsHandler())
	return mux
}

// Run serves the pages on HTTP_ADDR and health, readiness and metrics on ADMIN_ADDR.
func (s *Service) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.HTTP.Addr, err)
	}
	adm, err := net.Listen("tcp", s.cfg.HTTP.AdminAddr)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listen for admin on %s: %w", s.cfg.HTTP.AdminAddr, err)
	}
	return s.Serve(ctx, ln, adm)
}

// Serve runs the pages on ln, the admin answers on adm, the consumers and the sweep
// until ctx is cancelled, then stops them gracefully.
func (s *Service) Serve(ctx context.Context, ln, adm net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 5+len(s.consumers))
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
	for _, c := range s.consumers {
		run("consumer "+c.Durable(), c.Run)
	}
	// A token's state whose publish failed (or that predates the token stream) is
	// told again until the stream has it: a revocation must reach the fund. First,
	// once a start, the records and the stream are brought into agreement, which
	// mends what a restore of the portal's database from a backup undid.
	run("api token retell", func(ctx context.Context) error {
		t := time.NewTicker(apitokens.RetellInterval)
		defer t.Stop()
		reconciled := false
		for {
			if !reconciled {
				r, err := s.Tokens.Reconcile(ctx)
				switch {
				case err != nil && ctx.Err() == nil:
					s.Logger.WarnContext(ctx, "API tokens not reconciled with their stream; will retry", "error", err)
				case err == nil:
					reconciled = true
					if r.RevokedHere+r.RevokedThere > 0 {
						s.Logger.WarnContext(ctx, "API tokens reconciled with their stream after a restore", "revoked_here", r.RevokedHere, "revoked_on_stream", r.RevokedThere)
					}
				}
			}
			if _, err := s.Tokens.Retell(ctx); err != nil && ctx.Err() == nil {
				s.Logger.WarnContext(ctx, "API token retell failed; will retry", "error", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	run("sweep", func(ctx context.Context) error {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			if _, err := s.sweep(ctx); err != nil && ctx.Err() == nil {
				s.Logger.WarnContext(ctx, "sweep failed; will retry", "error", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	errorLog := slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn)
	run("http", func(ctx context.Context) error {
		srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: s.cfg.HTTP.RequestTimeout + 5*time.Second,
			WriteTimeout: s.cfg.HTTP.RequestTimeout + 10*time.Second, IdleTimeout: 120 * time.Second, ErrorLog: errorLog}
		return serve(ctx, srv, ln, s.cfg.HTTP.ShutdownTimeout)
	})
	run("admin http", func(ctx context.Context) error {
		srv := &http.Server{Handler: s.admin, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, ErrorLog: errorLog}
		return serve(ctx, srv, adm, time.Second)
	})
	s.Logger.Info("portal listening", "addr", ln.Addr().String(), "admin_addr", adm.Addr().String())
	wg.Wait()
	// Links asked for before the pages stopped are still sent.
	s.requester.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

func serve(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// The portal's minter writes an API token's maker into it (apitokens.MakerMinter).
var _ apitokens.MakerMinter = (*signin.Minter)(nil)
