package httpserver_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/telemetry"
)

// TestHealthReadinessAndMetricsAnswerOnlyOnTheAdminListener: the API's port
// answers 404 for /healthz, /readyz, /metrics and profiles, so that nobody who
// can reach the API learns from them; the admin listener answers them.
func TestHealthReadinessAndMetricsAnswerOnlyOnTheAdminListener(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	srv, err := httpserver.New(httpserver.Options{
		Service: "test", Config: config.HTTP{}, Spec: []byte(spec), Logger: telemetry.Discard(),
		Registry: reg, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Ready: map[string]httpserver.Check{"db": func(context.Context) error { return nil }},
	})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(f func(context.Context, net.Listener) error) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f(ctx, ln) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server stopped with: %v", err)
			}
		})
		return "http://" + ln.Addr().String()
	}
	api, admin := serve(srv.Serve), serve(srv.ServeAdmin)
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/debug/pprof/"} {
		if status, body := get(api + path); status != http.StatusNotFound {
			t.Errorf("API port %s: %d, want 404: %s", path, status, body)
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if status, body := get(admin + path); status != http.StatusOK {
			t.Errorf("admin port %s: %d, want 200: %s", path, status, body)
		}
	}
	if status, _ := get(admin + "/openapi.yaml"); status != http.StatusNotFound {
		t.Errorf("admin port /openapi.yaml: %d, want 404: the admin listener serves nothing of the API", status)
	}
}
