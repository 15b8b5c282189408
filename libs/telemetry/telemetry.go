// Package telemetry sets up what every service reports about itself: JSON logs that
// carry the current trace and span ids, OpenTelemetry traces exported over OTLP when
// an endpoint is configured (and silent otherwise), and Prometheus metrics.
package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Telemetry holds a service's logger, tracer provider and metrics registry.
type Telemetry struct {
	Logger         *slog.Logger
	TracerProvider *sdktrace.TracerProvider
	Registry       *prometheus.Registry
}

// Options configure Setup.
type Options struct {
	Service      string
	LogLevel     string    // debug, info, warn or error
	OTLPEndpoint string    // e.g. http://otel-collector:4318; empty disables export
	LogOutput    io.Writer // defaults to os.Stderr
	// SpanExporter receives every span as it ends, redacted (tests read them at once);
	// with it, OTLPEndpoint is not used.
	SpanExporter sdktrace.SpanExporter
}

// Setup builds the telemetry of one service and installs the tracer provider and the
// W3C trace-context propagator globally, so that instrumentation libraries find them.
// The returned shutdown flushes pending spans.
func Setup(ctx context.Context, opts Options) (*Telemetry, func(context.Context) error, error) {
	out := opts.LogOutput
	if out == nil {
		out = os.Stderr
	}
	logger := NewLogger(out, opts.Service, opts.LogLevel)

	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(opts.Service))
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	switch {
	case opts.SpanExporter != nil:
		tpOpts = append(tpOpts, sdktrace.WithSyncer(RedactSpans(opts.SpanExporter)))
	case opts.OTLPEndpoint != "":
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(opts.OTLPEndpoint+"/v1/traces"))
		if err != nil {
			return nil, nil, fmt.Errorf("create OTLP exporter: %w", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(RedactSpans(exp)))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	t := &Telemetry{Logger: logger, TracerProvider: tp, Registry: reg}
	shutdown := func(ctx context.Context) error {
		if err := tp.Shutdown(ctx); err != nil {
			return fmt.Errorf("shut down tracer provider: %w", err)
		}
		return nil
	}
	return t, shutdown, nil
}

// MetricsHandler serves the registry in the Prometheus text format.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.Registry, promhttp.HandlerOpts{Registry: t.Registry})
}

// Tracer returns a named tracer from the service's provider.
func (t *Telemetry) Tracer(name string) trace.Tracer { return t.TracerProvider.Tracer(name) }

// NewLogger returns a JSON logger at the given level whose records carry the trace and
// span ids of the context they are logged with, and no names or emails (RedactHandler).
func NewLogger(w io.Writer, service, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})
	return slog.New(RedactHandler(traceHandler{h})).With("service", service)
}

// Discard returns a logger that drops everything; tests and noisy embedded servers use it.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// traceHandler adds trace_id and span_id to records logged with a traced context.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
