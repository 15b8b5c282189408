package pages

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/itss/techcommit/libs/telemetry"
)

// A page is part of a trace: the trace it came with (an ingress that traces) is
// continued, the page's handler holds it (its calls to the services carry it on), and
// the access log's line bears its trace_id, as the services' lines do, so that the
// runbook's "follow the trace_id" works from a failing page. The portal traced
// nothing, and its lines had no trace_id.
func TestAPageIsPartOfItsTraceAndItsLogLineSaysWhich(t *testing.T) {
	t.Parallel()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	var held string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /directory", func(w http.ResponseWriter, r *http.Request) {
		held = trace.SpanContextFromContext(r.Context()).TraceID().String()
		w.WriteHeader(http.StatusBadGateway)
	})
	var logs bytes.Buffer
	h := accessLog(telemetry.NewLogger(&logs, "portal", "info"), nil, routed(mux))
	req := httptest.NewRequest("GET", "/directory", nil)
	req.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if held != traceID {
		t.Errorf("the page's handler holds trace %q, want %s", held, traceID)
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("the access log: %v: %s", err, logs.String())
	}
	if line["msg"] != "request" || line["trace_id"] != traceID || line["route"] != "GET /directory" {
		t.Errorf("the access log's line: %v, want the request with trace_id %s", line, traceID)
	}
}
