package clients

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/trace"

	sigapi "github.com/itss/techcommit/services/signatory/api"
)

// A page's call to a service carries the page's trace (W3C traceparent), so that the
// service's spans and log lines share the page's trace_id: the portal called the
// services with no trace at all, and a page's failure could not be followed into the
// service that caused it.
func TestAServiceCallCarriesThePagesTrace(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = r.Header.Get("Traceparent")
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	svc := Service{URL: srv.URL, Audience: "aud"}
	c, err := New(Config{Signatory: svc, Review: svc, Notify: svc, Fund: svc}, fakeMinter{}, &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	set, err := c.Public("")
	if err != nil {
		t.Fatal(err)
	}
	page := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID: trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: trace.FlagsSampled})
	resp, err := set.Signatory.ListDirectory(trace.ContextWithSpanContext(context.Background(), page), &sigapi.ListDirectoryParams{})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if !strings.HasPrefix(got, "00-"+page.TraceID().String()+"-") {
		t.Errorf("the service was called with traceparent %q, want the page's trace %s", got, page.TraceID())
	}
}
