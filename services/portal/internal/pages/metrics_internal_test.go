package pages

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The portal counts its requests as the services do, by route pattern (never the
// path: a sign-in link's secret is in it) and status, so that the error-rate alert
// and the dashboard see the portal's failures too.
func TestPagesAreCountedByRouteAndStatus(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := newHTTPMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /signin/{secret}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	mux.HandleFunc("GET /", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "home") })
	h := accessLog(slog.New(slog.DiscardHandler), m, routed(mux))
	for _, path := range []string{"/signin/s3cret", "/signin/0ther", "/"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	if n := testutil.ToFloat64(m.requests.WithLabelValues("GET", "GET /signin/{secret}", "500")); n != 2 {
		t.Errorf("sign-in pages failing: %v counted, want 2", n)
	}
	if n := testutil.ToFloat64(m.requests.WithLabelValues("GET", "GET /", "200")); n != 1 {
		t.Errorf("home: %v counted, want 1", n)
	}
	if n := testutil.CollectAndCount(m.requests); n != 2 {
		t.Errorf("%d series, want 2 (by pattern, never by path)", n)
	}
}
