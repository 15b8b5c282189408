package platform_test

import (
	"context"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

// TestStreamsExpireTheirMessages: a service's own stream keeps events for
// NATS_STREAM_MAX_AGE and the dead letters for bus.DeadLetterMaxAge, so that no
// stream keeps the names and addresses it carries for ever; a stream that asks for
// less (the portal's, carrying secrets) keeps its own.
func TestStreamsExpireTheirMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.NewEnv(t)
	cfg := testConfig(t, env, "streams")
	cfg.NATS.StreamMaxAge = 48 * time.Hour
	for name, spec := range map[string]bus.StreamSpec{
		"AGED":  {Name: "AGED", Subjects: []string{"tc.aged.>"}},
		"SHORT": {Name: "SHORT", Subjects: []string{"tc.short.>"}, MaxAge: 10 * time.Minute},
	} {
		_, cleanup, err := platform.New(ctx, platform.Options{Name: name, Config: cfg, Logger: telemetry.Discard(), Stream: spec})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cleanup)
	}
	for stream, want := range map[string]time.Duration{"AGED": 48 * time.Hour, "SHORT": 10 * time.Minute, events.StreamDeadLetter: bus.DeadLetterMaxAge} {
		s, err := env.JS.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.MaxAge != want {
			t.Errorf("stream %s keeps messages for %s, want %s", stream, info.Config.MaxAge, want)
		}
	}
}
