package platform_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/testenv"
)

// testConfig is the platform's default configuration on env's NATS, a database of its
// own (the service named by database gives the token audience) and env's issuer, with
// listen addresses New requires but Serve, handed listeners, does not use.
func testConfig(t *testing.T, env *testenv.Env, database string) config.Platform {
	t.Helper()
	var cfg config.Platform
	if err := config.Defaults(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Addr, cfg.HTTP.AdminAddr, cfg.Mongo.Database = "127.0.0.1:0", "127.0.0.1:1", database
	return env.Platform(t, cfg)
}

// TestNewRefusesWhatItWasNotToldToTrust: a caller that builds the configuration
// itself, skipping config.Load, still cannot start a service without its issuer,
// audience and keys: New refuses before connecting to anything.
func TestNewRefusesWhatItWasNotToldToTrust(t *testing.T) {
	t.Parallel()
	cfg := config.Platform{
		HTTP:      config.HTTP{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:1"},
		Mongo:     config.Mongo{URI: "mongodb://127.0.0.1:1/", Database: "test"},
		NATS:      config.NATS{URL: "nats://127.0.0.1:1", StreamReplicas: 1, StreamMaxAge: 720 * time.Hour},
		Auth:      config.Auth{JWKSURL: "http://127.0.0.1:1/jwks.json", MaxTokenLifetime: 1},
		Telemetry: config.Telemetry{LogLevel: "error"},
	}
	_, cleanup, err := platform.New(context.Background(), platform.Options{Name: "test", Config: cfg})
	defer cleanup()
	if err == nil {
		t.Fatal("started without an issuer or an audience, and with keys over plain http://")
	}
	for _, key := range []string{"AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_JWKS_URL"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("the error does not name %s: %v", key, err)
		}
	}
}
