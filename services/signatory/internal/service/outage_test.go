package service_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/api"
	"github.com/itss/techcommit/services/signatory/internal/config"
	"github.com/itss/techcommit/services/signatory/internal/service"
)

// notHanging bounds how long a request may take to be refused while a dependency is
// down. It is generous on purpose: the point is that the caller gets an answer rather
// than waiting until it gives up, not how fast the answer is. A request whose database
// stops answering mid-operation is ended by the request timeout (HTTP_REQUEST_TIMEOUT,
// 10s by default); one that finds it gone, by server selection (5s).
const notHanging = 15 * time.Second

// startBehind starts the service with its database, its NATS server or both reached
// through proxies the test can cut.
func startBehind(t *testing.T) (h *harness, db, nc *testenv.Proxy) {
	t.Helper()
	env := testenv.NewEnv(t)
	env.Spec = api.Spec
	cfg := config.Default()
	cfg.Platform = env.Platform(t, cfg.Platform)
	db, cfg.Platform.Mongo.URI = testenv.MongoProxy(t)
	nc = testenv.NewProxy(t, strings.TrimPrefix(env.NATS.URL, "nats://"))
	cfg.Platform.NATS.URL = "nats://" + nc.Addr
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{Client: env.Serve(t, svc.Serve, cleanup), t: t, js: env.JS, svc: svc}, db, nc
}

// timed sends a request and says how long its answer took.
func (h *harness) timed(method, path, token string, body any) (testenv.Response, time.Duration) {
	h.t.Helper()
	start := time.Now()
	r := h.Do(method, path, token, body)
	return r, time.Since(start)
}

// mustBeUnavailable fails the test unless r is a 503 problem telling the caller to
// retry, answered within the not-hanging bound.
func (h *harness) mustBeUnavailable(what string, r testenv.Response, took time.Duration) {
	h.t.Helper()
	h.t.Logf("%s answered %d in %s", what, r.Status, took.Round(time.Millisecond))
	if r.Status != http.StatusServiceUnavailable {
		h.t.Fatalf("%s: status %d, want 503: %s", what, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != httpserver.ProblemContentType {
		h.t.Errorf("%s: content type %q, want %q", what, ct, httpserver.ProblemContentType)
	}
	if r.Header.Get("Retry-After") == "" {
		h.t.Errorf("%s: no Retry-After header", what)
	}
	if took > notHanging {
		h.t.Errorf("%s took %s to be refused, more than %s", what, took, notHanging)
	}
}

// readiness returns the status of /readyz (on the admin listener) and what it says of
// each check.
func (h *harness) readiness() (int, map[string]any, time.Duration) {
	h.t.Helper()
	start := time.Now()
	r := h.Admin().Do("GET", "/readyz", "", nil)
	took := time.Since(start)
	checks, _ := r.JSON(h.t)["checks"].(map[string]any)
	return r.Status, checks, took
}

// TestDatabaseOutageAnswers503AndRecoversByItself takes the database away in the two
// ways it goes: refusing connections (the server stopped) and answering nothing (a
// network partition, where only the client's own time limits end a request).
func TestDatabaseOutageAnswers503AndRecoversByItself(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		down func(*testenv.Proxy)
	}{
		{"refused", (*testenv.Proxy).Cut},
		{"silent", (*testenv.Proxy).Stall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			databaseOutage(t, tc.down)
		})
	}
}

func databaseOutage(t *testing.T, down func(*testenv.Proxy)) {
	h, db, _ := startBehind(t)
	ops := h.Token(auth.RoleOps, "")
	before := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, enquiry)).JSON(t)["id"].(string)
	h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+before, ops, nil))

	down(db)
	cutAt := time.Now()
	r, took := h.timed("GET", "/v1/organisations/"+before, ops, nil)
	h.mustBeUnavailable("a read", r, took)
	r, took = h.timed("POST", "/v1/organisations", ops, enquiry)
	h.mustBeUnavailable("a write", r, took)
	r, took = h.timed("POST", "/v1/organisations/"+before+"/meeting", ops, map[string]any{"held_on": "2025-02-10"})
	h.mustBeUnavailable("a command on an existing organisation", r, took)
	status, checks, took := h.readiness()
	t.Logf("/readyz answered %d in %s: %v", status, took.Round(time.Millisecond), checks)
	if status != http.StatusServiceUnavailable || checks["mongo"] != "unavailable" || checks["nats"] != "ok" {
		t.Fatalf("/readyz with the database down: %d %v, want 503 naming mongo alone", status, checks)
	}
	if took > notHanging {
		t.Errorf("/readyz took %s", took)
	}

	db.Restore()
	restoredAt := time.Now()
	testenv.Eventually(t, 30*time.Second, func() error {
		if status, checks, _ := h.readiness(); status != http.StatusOK {
			return fmt.Errorf("/readyz %d: %v", status, checks)
		}
		return nil
	})
	t.Logf("ready again %s after the database returned (down for %s)", time.Since(restoredAt).Round(time.Millisecond), restoredAt.Sub(cutAt).Round(time.Millisecond))
	after := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, enquiry)).JSON(t)["id"].(string)
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+before+"/meeting", ops, map[string]any{"held_on": "2025-02-10"}))
	h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+after, ops, nil))

	// Nothing the refused requests tried is stored: the list ends with the two
	// organisations created while the database was up, and the first has exactly the
	// meeting recorded after the outage. The list is a projection, whose consumer may
	// have been projecting the first organisation when the database went: it retries
	// with a backoff of up to 30s, so the list may lag that long.
	testenv.Eventually(t, time.Minute, func() error {
		page := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations?limit=100", ops, nil)).JSON(t)
		items, _ := page["items"].([]any)
		if len(items) != 2 {
			return fmt.Errorf("%d organisations listed, want 2: %v", len(items), items)
		}
		return nil
	})
	if got := len(h.eventsOf(before, 2)); got != 2 {
		t.Errorf("%d events about the first organisation, want its enquiry and one meeting", got)
	}
}

// TestNATSOutageKeepsTakingWrites cuts the service off from NATS: it is not ready,
// but its commands still succeed, since they only append to the event store, and
// their events are published when NATS returns.
func TestNATSOutageKeepsTakingWrites(t *testing.T) {
	t.Parallel()
	h, _, nc := startBehind(t)
	ops := h.Token(auth.RoleOps, "")
	before := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, enquiry)).JSON(t)["id"].(string)
	h.eventsOf(before, 1)

	nc.Cut()
	testenv.Eventually(t, notHanging, func() error {
		if status, checks, _ := h.readiness(); status != http.StatusServiceUnavailable || checks["nats"] != "unavailable" || checks["mongo"] != "ok" {
			return fmt.Errorf("/readyz %d %v, want 503 naming nats alone", status, checks)
		}
		return nil
	})
	r, took := h.timed("POST", "/v1/organisations", ops, enquiry)
	t.Logf("a write with NATS down answered %d in %s", r.Status, took.Round(time.Millisecond))
	during := h.Must(http.StatusCreated, r).JSON(t)["id"].(string)
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+before+"/meeting", ops, map[string]any{"held_on": "2025-02-10"}))
	h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+during, ops, nil))

	nc.Restore()
	restoredAt := time.Now()
	testenv.Eventually(t, 30*time.Second, func() error {
		if status, checks, _ := h.readiness(); status != http.StatusOK {
			return fmt.Errorf("/readyz %d: %v", status, checks)
		}
		return nil
	})
	t.Logf("ready again %s after NATS returned", time.Since(restoredAt).Round(time.Millisecond))
	h.eventsOf(during, 1)
	h.eventsOf(before, 2)
	t.Logf("the events written while NATS was down were published %s after it returned", time.Since(restoredAt).Round(time.Millisecond))
}
