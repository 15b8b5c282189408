package config_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/config"
)

// svcConfig is shaped like a service's Config: the platform plus settings of its own.
type svcConfig struct {
	config.Platform
	Own struct {
		Interval time.Duration `env:"OWN_INTERVAL" envDefault:"1m"`
		Name     string        `env:"OWN_NAME"`
	}
}

func (c svcConfig) Validate() error { return c.Platform.Validate() }

// minimal is the least a service must be told.
func minimal() map[string]string {
	return map[string]string{"HTTP_ADDR": ":8080", "MONGO_DATABASE": "signatory"}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	environ := minimal()
	for k, v := range map[string]string{
		// two values that cannot be parsed...
		"HTTP_REQUEST_TIMEOUT": "soon",
		"OWN_INTERVAL":         "weekly",
		// ...and two that parse but are wrong
		"NATS_URL":  "http://nats:4222",
		"LOG_LEVEL": "loud",
	} {
		environ[k] = v
	}
	var c svcConfig
	err := config.LoadFrom(&c, environ)
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimPrefix(err.Error(), "configuration: "), "\n") {
		key, _, _ := strings.Cut(l, " ")
		lines = append(lines, strings.TrimSuffix(key, ":"))
	}
	slices.Sort(lines)
	if diff := cmp.Diff([]string{"HTTP_REQUEST_TIMEOUT", "LOG_LEVEL", "NATS_URL", "OWN_INTERVAL"}, lines); diff != "" {
		t.Errorf("problems named (-want +got):\n%s\nerror: %v", diff, err)
	}
}

func TestLoadAppliesDefaults(t *testing.T) {
	t.Parallel()
	var c svcConfig
	if err := config.LoadFrom(&c, minimal()); err != nil {
		t.Fatal(err)
	}
	want := svcConfig{Platform: config.Platform{
		HTTP:      config.HTTP{Addr: ":8080", BodyLimit: "256K", RequestTimeout: 10 * time.Second, ShutdownTimeout: 20 * time.Second},
		Mongo:     config.Mongo{URI: "mongodb://127.0.0.1:27017/", Database: "signatory"},
		NATS:      config.NATS{URL: "nats://127.0.0.1:4222", StreamReplicas: 1},
		Auth:      config.Auth{JWKSURL: "http://127.0.0.1:8079/.well-known/jwks.json", Issuer: "http://127.0.0.1:8079", Audience: "technician-commitment"},
		Telemetry: config.Telemetry{LogLevel: "info"},
	}}
	want.Own.Interval = time.Minute
	want.HTTP.Edge = config.Edge{WritePerSecond: 50, WriteBurst: 200, ReadPerSecond: 200, ReadBurst: 400, PublicPerSecond: 20, PublicBurst: 100}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestLoadLayersEnvironmentOverPresetOverTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		preset    string
		environ   string
		wantLimit string
	}{
		{"tag default", "", "", "256K"},
		{"preset beats tag default", "1M", "", "1M"},
		{"environment beats preset", "1M", "64K", "64K"},
		{"environment beats tag default", "", "64K", "64K"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c svcConfig
			c.HTTP.BodyLimit = tt.preset
			c.Own.Name = "preset"
			environ := minimal()
			if tt.environ != "" {
				environ["HTTP_BODY_LIMIT"] = tt.environ
			}
			if err := config.LoadFrom(&c, environ); err != nil {
				t.Fatal(err)
			}
			got := []string{c.HTTP.BodyLimit, c.Own.Name}
			if diff := cmp.Diff([]string{tt.wantLimit, "preset"}, got); diff != "" {
				t.Errorf("HTTP_BODY_LIMIT, OWN_NAME (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefaultsIgnoreTheEnvironment sets a process variable, so it cannot run in parallel.
func TestDefaultsIgnoreTheEnvironment(t *testing.T) {
	t.Setenv("NATS_URL", "nats://elsewhere:4222")
	var c svcConfig
	if err := config.Defaults(&c); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("nats://127.0.0.1:4222", c.NATS.URL); diff != "" {
		t.Errorf("NATS_URL (-want +got):\n%s", diff)
	}
}

func TestKeysListsEveryVariable(t *testing.T) {
	t.Parallel()
	keys, err := config.Keys(&svcConfig{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{
		"AUTH_AUDIENCE", "AUTH_ISSUER", "AUTH_JWKS_URL",
		"HTTP_ADDR", "HTTP_BODY_LIMIT", "HTTP_REQUEST_TIMEOUT", "HTTP_SHUTDOWN_TIMEOUT",
		"HTTP_HSTS_MAX_AGE", "HTTP_TRUSTED_PROXIES",
		"LOG_LEVEL",
		"MONGO_DATABASE", "MONGO_URI",
		"NATS_PASSWORD", "NATS_STREAM_REPLICAS", "NATS_URL", "NATS_USER",
		"OTEL_EXPORTER_OTLP_ENDPOINT",
		"OWN_INTERVAL", "OWN_NAME",
		"RATE_PUBLIC_BURST", "RATE_PUBLIC_PER_SECOND", "RATE_READ_BURST", "RATE_READ_PER_SECOND",
		"RATE_WRITE_BURST", "RATE_WRITE_PER_SECOND",
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}
