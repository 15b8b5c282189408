package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/config"
)

type svcConfig struct {
	config.Platform
}

func (c svcConfig) Validate() error { return c.Platform.Validate() }

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	var c svcConfig
	err := config.LoadFrom(&c, map[string]string{
		"HTTP_ADDR": ":8080", "MONGO_DATABASE": "x",
		"NATS_URL": "http://wrong", "LOG_LEVEL": "loud", "HTTP_REQUEST_TIMEOUT": "soon",
	})
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{"NATS_URL", "LOG_LEVEL", "HTTP_REQUEST_TIMEOUT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestDefaultsSuitTheLocalStack(t *testing.T) {
	t.Parallel()
	var c svcConfig
	if err := config.LoadFrom(&c, map[string]string{"HTTP_ADDR": ":8080", "MONGO_DATABASE": "x"}); err != nil {
		t.Fatal(err)
	}
	if c.NATS.URL != "nats://127.0.0.1:4222" || c.Auth.Audience != "technician-commitment" || c.NATS.StreamReplicas != 1 {
		t.Errorf("defaults = %+v", c.Platform)
	}
}

func TestKeysListsEveryVariable(t *testing.T) {
	t.Parallel()
	var c svcConfig
	keys, err := config.Keys(&c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HTTP_ADDR", "MONGO_URI", "NATS_URL", "AUTH_JWKS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if !slices.Contains(keys, want) {
			t.Errorf("Keys() lacks %s: %v", want, keys)
		}
	}
}
