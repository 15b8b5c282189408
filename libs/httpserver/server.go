// Package httpserver is the HTTP platform every service runs on: echo v4 with
// recovery, request ids, tracing, metrics, access logs, a body limit (413), request
// timeouts, validation against the service's OpenAPI document, problem+json errors,
// health, readiness and metrics endpoints on a separate admin handler, and graceful
// shutdown; and the request hygiene of docs/SECURITY.md: 404 for any path the document
// does not name, per-caller rate limits, 415, undeclared query parameters and duplicate
// JSON keys refused, security headers on every response and HEAD for every GET.
//
// It is also the seam between the suite and echo: only this package and the generated
// servers import echo, and everything else names the framework's types through it
// (Context, HandlerFunc, MiddlewareFunc, Router in seam.go). Echo v4's security
// support ends on 2026-12-31; in v5 the context is a struct pointer, so the move is
// this package (the aliases move with it) and a regeneration of the servers.
// TestOnlyTheSeamImportsEcho keeps it so.
package httpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/config"
)

// Check reports whether a dependency is reachable; /readyz runs every check.
type Check func(ctx context.Context) error

// Options configure a Server.
type Options struct {
	Service string
	Config  config.HTTP
	// Spec is the service's OpenAPI document, served at /openapi.yaml and used to
	// validate every request to a path it describes.
	Spec []byte
	// Authenticate decides the document's security requirements (see package auth).
	Authenticate   openapi3filter.AuthenticationFunc
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	Registry       *prometheus.Registry
	Metrics        http.Handler
	Ready          map[string]Check
	// Middleware runs after the platform's middleware and before validation; the
	// auth middleware that identifies the caller goes here.
	Middleware []echo.MiddlewareFunc
	// Contact, when set, is the address callers write to ITSS at: a failure (500)
	// asks them to quote the request id when reporting it to ITSS there. Without
	// it, the failure says only to quote the request id, for callers (the portal,
	// ITSS's own tools) that know where to report it.
	Contact string
}

// Server is a configured echo instance and its http.Server, and the admin handler.
type Server struct {
	echo   *echo.Echo
	admin  *echo.Echo
	opts   Options
	server *http.Server
}

// New builds a Server. Routes are added to Echo() by the service afterwards.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		return nil, errors.New("httpserver: a logger is required")
	}
	if opts.Service == "" {
		return nil, errors.New("httpserver: a service name is required")
	}
	limit, err := opts.Config.BodyLimitBytes()
	if err != nil {
		return nil, fmt.Errorf("httpserver: %w", err)
	}
	if opts.Config.RequestTimeout <= 0 {
		opts.Config.RequestTimeout = 10 * time.Second
	}
	if opts.Config.ShutdownTimeout <= 0 {
		opts.Config.ShutdownTimeout = 20 * time.Second
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(opts.Logger, opts.Contact)

	lim, err := newLimits(opts.Config.Edge)
	if err != nil {
		return nil, fmt.Errorf("httpserver: %w", err)
	}
	// The document is read before the middleware is set up: the body limit asks it
	// whether an operation takes a body at all.
	var doc *openapi3.T
	var takesNoBody func(*http.Request) bool
	if len(opts.Spec) > 0 {
		if doc, err = servedSpec(opts.Spec); err != nil {
			return nil, err
		}
		if takesNoBody, err = bodyless(doc); err != nil {
			return nil, err
		}
	}
	e.Pre(head)
	// An If-Match sent on several lines is one list (RFC 9110 5.3), to the validator
	// and to the generated servers, which take one value.
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			JoinIfMatch(c.Request().Header)
			return next(c)
		}
	})
	e.Use(headers(opts.Config.HSTSMaxAge))
	e.Use(recoverer(opts.Logger))
	e.Use(requestID())
	e.Use(tracing(opts.Service, opts.TracerProvider))
	if opts.Registry != nil {
		e.Use(metricsMiddleware(opts.Registry))
	}
	e.Use(accessLog(opts.Logger))
	e.Use(bodyLimit(limit, takesNoBody))
	e.Use(timeout(opts.Config.RequestTimeout))

	// Health, readiness and metrics are for the orchestrator and Prometheus, on the
	// admin listener: on the API's port they would tell anyone what the service runs
	// on and whether its dependencies are down. There they answer 404.
	admin := echo.New()
	admin.HideBanner = true
	admin.HidePort = true
	admin.HTTPErrorHandler = errorHandler(opts.Logger, "")
	admin.Use(recoverer(opts.Logger))
	admin.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	admin.GET("/readyz", readiness(opts.Ready))
	if opts.Metrics != nil {
		admin.GET("/metrics", echo.WrapHandler(opts.Metrics))
	}

	for _, m := range opts.Middleware {
		e.Use(m)
	}
	if doc != nil {
		v, err := validator(doc, opts.Authenticate, lim)
		if err != nil {
			return nil, err
		}
		e.Use(v)
		e.GET("/openapi.yaml", serveSpec(opts.Spec))
		if err := registerDocs(e, opts.Service); err != nil {
			return nil, err
		}
	}

	s := &Server{echo: e, admin: admin, opts: opts}
	s.server = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       opts.Config.RequestTimeout + 5*time.Second,
		WriteTimeout:      opts.Config.RequestTimeout + 10*time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Echo returns the echo instance for registering routes.
func (s *Server) Echo() Router { return s.echo }

// ServeHTTP lets the server be used as an http.Handler (in tests, for example).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Admin answers /healthz, /readyz and /metrics, for the admin listener (ADMIN_ADDR)
// that probes and scrapes reach; see ServeAdmin.
func (s *Server) Admin() http.Handler { return s.admin }

// ServeAdmin serves Admin on ln until ctx is cancelled. It stops at once: probes and
// scrapes are retried, and the API's graceful shutdown is what callers wait for.
func (s *Server) ServeAdmin(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.admin,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve admin: %w", err)
	case <-ctx.Done():
	}
	_ = srv.Close()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve admin: %w", err)
	}
	return nil
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully: it stops
// accepting, lets requests in flight finish within the shutdown timeout, and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.server.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Config.ShutdownTimeout)
	defer cancel()
	if err := s.server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

func recoverer(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					logger.ErrorContext(c.Request().Context(), "panic in handler", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = apperr.New(apperr.Internal, "internal error")
				}
			}()
			return next(c)
		}
	}
}

func accessLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			req := c.Request()
			if req.URL.Path == "/healthz" || req.URL.Path == "/readyz" || req.URL.Path == "/metrics" {
				return nil
			}
			logger.LogAttrs(req.Context(), slog.LevelInfo, "http request",
				slog.String("method", req.Method),
				slog.String("route", c.Path()),
				slog.Int("status", c.Response().Status),
				slog.Duration("duration", time.Since(start)),
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			)
			return nil
		}
	}
}

func metricsMiddleware(reg *prometheus.Registry) echo.MiddlewareFunc {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "HTTP requests by method, route and status.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "HTTP request latency by method and route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	reg.MustRegister(requests, duration)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(c.Response().Status)).Inc()
			duration.WithLabelValues(c.Request().Method, route).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// bodyLimit reads the whole body up front, refusing one over the limit with 413, so
// that validation and handlers can read it freely and never see a truncated body.
// A body over the limit sent to an operation that takes none (takesNoBody, from the
// service's document; nil without one) is refused as any body sent there is, with
// 400 naming body: such an operation declares no 413, and the caller is to send no
// body, not a smaller one.
func bodyLimit(limit int64, takesNoBody func(*http.Request) bool) echo.MiddlewareFunc {
	tooLarge := func(req *http.Request) error {
		if takesNoBody != nil && takesNoBody(req) {
			return apperr.Field("body", noBodyMessage)
		}
		return apperr.New(apperr.TooLarge, "the request body is over the limit of %d bytes", limit)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Body == nil || req.Body == http.NoBody {
				return next(c)
			}
			if req.ContentLength > limit {
				return tooLarge(req)
			}
			data, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
			if err != nil {
				return apperr.Wrap(apperr.Invalid, err, "the request body could not be read")
			}
			if int64(len(data)) > limit {
				return tooLarge(req)
			}
			req.Body = io.NopCloser(bytes.NewReader(data))
			req.ContentLength = int64(len(data))
			return next(c)
		}
	}
}

func timeout(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// readinessTimeout bounds each readiness check, so that /readyz answers promptly
// when a dependency hangs rather than refuses.
const readinessTimeout = 2 * time.Second

// readiness runs every check at once, each within its own time limit: run one after
// another under one limit, a dependency that hangs would use up the time of the rest
// and they would be reported down with it.
func readiness(checks map[string]Check) echo.HandlerFunc {
	return func(c echo.Context) error {
		type result struct {
			name string
			err  error
		}
		results := make(chan result, len(checks))
		for name, check := range checks {
			go func() {
				ctx, cancel := context.WithTimeout(c.Request().Context(), readinessTimeout)
				defer cancel()
				results <- result{name, check(ctx)}
			}()
		}
		status := map[string]string{}
		ok := true
		for range checks {
			r := <-results
			status[r.name] = "ok"
			if r.err != nil {
				status[r.name] = "unavailable"
				ok = false
			}
		}
		if !ok {
			c.Response().Header().Set("Retry-After", retryAfter)
			return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": status})
		}
		return c.JSON(http.StatusOK, map[string]any{"status": "ok", "checks": status})
	}
}
