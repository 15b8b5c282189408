package platform_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/testenv"
)

// TestAServiceStartedBeforeThePortalFetchesItsKeysWithoutWarning: the portal, which
// signs the tokens people's requests carry, starts after the services in the local
// stack (`make run` printed a warning from each of them at every start) and often in
// a cluster. A service that could not fetch its keys at start fetches them once the
// portal answers, warning of nothing, and then takes a portal token.
func TestAServiceStartedBeforeThePortalFetchesItsKeysWithoutWarning(t *testing.T) {
	t.Parallel()
	env := testenv.NewEnv(t)
	cfg := testConfig(t, env, "signatory")

	var up atomic.Bool
	var served atomic.Int32
	srv := httptest.NewUnstartedServer(nil)
	portal, err := auth.NewDevIssuer("http://"+srv.Listener.Addr().String(), cfg.Auth.Audience)
	if err != nil {
		t.Fatal(err)
	}
	keys := portal.JWKSHandler()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		served.Add(1)
		keys.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	cfg.Auth.PortalIssuer, cfg.Auth.PortalJWKSURL = portal.Issuer, srv.URL+"/.well-known/jwks.json"

	log := &testenv.Log{}
	p, cleanup, err := platform.New(context.Background(), platform.Options{Name: "signatory", Config: cfg,
		Logger: slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Stream: bus.StreamSpec{Name: "KEYS", Subjects: []string{"tc.keys.>"}}})
	if err != nil {
		t.Fatal(err)
	}
	env.Serve(t, p.Serve, cleanup)
	time.Sleep(600 * time.Millisecond) // a try or two while the portal is still starting
	up.Store(true)

	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "the token issuers' keys were fetched") {
		if time.Now().After(deadline) {
			t.Fatalf("the portal's keys were not fetched within 10 s of it answering; log:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(log.String(), "keys still cannot be fetched") {
		t.Errorf("a start before the portal's warned:\n%s", log)
	}
	tok, err := portal.MintFor(auth.Principal{Subject: "p-1", Role: auth.RoleOps}, 5*time.Minute, cfg.Auth.Audience)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := p.Verifier.Verify(context.Background(), tok); err != nil || p.Subject != "p-1" {
		t.Fatalf("a portal token once its keys were fetched: %+v, %v", p, err)
	}
	if n := served.Load(); n != 1 {
		t.Errorf("the portal's keys were served %d times, want once: in the background, none for the first token", n)
	}
}
