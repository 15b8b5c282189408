package clients

import (
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traced is a transport that makes each call to a service a client span of the page's
// trace and carries the trace to the service (W3C traceparent), so that a page's
// failure is followed into the service that caused it by one trace_id, as the
// runbook's TCHighErrorRate says (the services continue the trace they are given). The
// span is named by the method alone: a path holds ids, and a search a person's name.
type traced struct {
	next   http.RoundTripper
	tracer trace.Tracer
}

func tracedTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return traced{next: next, tracer: otel.GetTracerProvider().Tracer("github.com/itss/techcommit/services/portal/internal/clients")}
}

func (t traced) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, span := t.tracer.Start(req.Context(), req.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("server.address", req.URL.Host)))
	defer span.End()
	out := req.Clone(ctx)
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(out.Header))
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		span.SetStatus(codes.Error, "no answer")
		return resp, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
	}
	return resp, nil
}
