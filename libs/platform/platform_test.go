package platform_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/platform"
)

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
