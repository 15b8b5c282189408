package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/api"
	"github.com/itss/techcommit/services/signatory/internal/config"
	"github.com/itss/techcommit/services/signatory/internal/service"
)

// observed is a signatory service whose logs (at debug, through a plain JSON handler,
// as a test or an operator might attach one) and spans are kept for reading.
type observed struct {
	*harness
	logs  *testenv.Log
	spans *tracetest.InMemoryExporter
}

func startObserved(t *testing.T) *observed {
	t.Helper()
	env := testenv.NewEnv(t)
	env.Spec = api.Spec
	cfg := config.Default()
	cfg.Platform = env.Platform(t, cfg.Platform)
	logs, spans := &testenv.Log{}, tracetest.NewInMemoryExporter()
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SpanExporter: spans,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{Client: env.Serve(t, svc.Serve, cleanup), t: t, js: env.JS, svc: svc}
	return &observed{harness: h, logs: logs, spans: spans}
}

// spanText is everything the exported spans say, as text.
func (o *observed) spanText() string {
	var b strings.Builder
	for _, s := range o.spans.GetSpans() {
		fmt.Fprintln(&b, s.Name, s.Status.Description)
		for _, kv := range s.Attributes {
			fmt.Fprintln(&b, kv.Key, kv.Value.String())
		}
		for _, e := range s.Events {
			fmt.Fprintln(&b, e.Name)
			for _, kv := range e.Attributes {
				fmt.Fprintln(&b, kv.Key, kv.Value.String())
			}
		}
	}
	return b.String()
}

// TestLogsAndTracesCarryNoPersonalData runs an organisation's onboarding, a contact
// change by its lead, refused and failing requests through the service, then scans
// everything it logged and traced for the names and addresses it was given: none
// may appear, in any case.
func TestLogsAndTracesCarryNoPersonalData(t *testing.T) {
	t.Parallel()
	o := startObserved(t)
	ops := o.Token(auth.RoleOps, "")
	id := o.onboard(ops, "announcement")
	lead := o.Token(auth.RoleLead, id)
	changed := map[string]any{
		"leader":           map[string]any{"name": "Prof. Grace Hopper", "title": "Vice-Chancellor", "email": "g.hopper@exampleton.ac.uk"},
		"nominated_lead":   map[string]any{"name": "Katherine Johnson", "email": "k.johnson@exampleton.ac.uk"},
		"point_of_contact": map[string]any{"name": "Dorothy Vaughan", "email": "d.vaughan@exampleton.ac.uk"},
	}
	o.Must(http.StatusOK, o.Do("PUT", "/v1/organisations/"+id+"/contacts", lead, changed))
	// Refused: another organisation's lead; a form sent twice; a body that is not valid.
	o.Must(http.StatusNotFound, o.Do("PUT", "/v1/organisations/"+id+"/contacts", o.Token(auth.RoleLead, "someone-else"), changed))
	o.Must(http.StatusConflict, o.Do("POST", "/v1/organisations/"+id+"/form", ops, form))
	bad := map[string]any{"leader": map[string]any{"name": "Prof. Grace Hopper", "email": "g.hopper@exampleton.ac.uk", "phone": "g.hopper@exampleton.ac.uk"}}
	if r := o.Do("PUT", "/v1/organisations/"+id+"/contacts", ops, bad); r.Status != http.StatusBadRequest {
		t.Fatalf("an unknown field: %d, want 400", r.Status)
	}
	for _, b := range []map[string]any{
		{"leader": map[string]any{"name": "Prof. Grace Hopper", "email": "Grace Hopper <g.hopper@exampleton.ac.uk>"}},
		{"leader": map[string]any{"name": "Prof. Grace\nHopper g.hopper@exampleton.ac.uk", "email": "g.hopper@exampleton.ac.uk"}},
	} {
		if r := o.Do("PUT", "/v1/organisations/"+id+"/contacts", ops, b); r.Status != http.StatusBadRequest {
			t.Fatalf("a malformed contact: %d, want 400", r.Status)
		}
	}
	o.Must(http.StatusOK, o.Do("GET", "/v1/organisations/"+id+"/history", ops, nil))
	testenv.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(string(o.Do("GET", "/v1/directory", "", nil).Body), "Dorothy Vaughan") {
			return fmt.Errorf("the directory does not show the new point of contact yet")
		}
		return nil
	})

	logs, spans := o.logs.String(), o.spanText()
	if !strings.Contains(logs, "http request") || !strings.Contains(spans, "PUT /v1/organisations/:id/contacts") {
		t.Fatalf("the run logged or traced nothing to scan:\n%s\n%s", logs, spans)
	}
	seeded := []string{
		"Sam Patel", "s.patel@exampleton.ac.uk", "Jane Smith", "vc@exampleton.ac.uk", "technicians@exampleton.ac.uk",
		"Grace Hopper", "g.hopper@exampleton.ac.uk", "Katherine Johnson", "k.johnson@exampleton.ac.uk",
		"Dorothy Vaughan", "d.vaughan@exampleton.ac.uk",
	}
	for what, text := range map[string]string{"logs": strings.ToLower(logs), "spans": strings.ToLower(spans)} {
		for _, s := range seeded {
			if strings.Contains(text, strings.ToLower(s)) {
				t.Errorf("the %s carry %q", what, s)
			}
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s\nspans:\n%s", logs, spans)
	}
}
