package bus_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// records is a slog.Handler that keeps each record's level, message and attributes.
type records struct {
	mu   sync.Mutex
	recs []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }

func (r *records) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		line += " " + a.Key + "=" + a.Value.String()
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, line)
	return nil
}

func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// atLeast returns the records at level or above.
func (r *records) atLeast(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.recs {
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(strings.Fields(l)[0])); err == nil && lv >= level {
			out = append(out, l)
		}
	}
	return out
}

// TestARefusedFetchIsLoggedAtWarnAndAnIdleConsumerIsNot: a consumer whose fetches
// NATS refuses (its user may not ask for the consumer's next messages) reads
// nothing, and said so only at debug level, so an operator reading the log at its
// default level saw a service that was ready and heard of nothing. It is now a
// warning that names NATS's answer, while a consumer with nothing to read, on the
// same server, logs nothing.
func TestARefusedFetchIsLoggedAtWarnAndAnIdleConsumerIsNot(t *testing.T) {
	t.Parallel()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		Users: []*server.User{{Username: "service", Password: "service"}, {Username: "refused", Password: "refused", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{">"}, Deny: []string{"$JS.API.CONSUMER.MSG.NEXT.>"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	connect := func(user string) jetstream.JetStream {
		// The async error handler keeps nats.go's own report of the refusal off stderr:
		// what the test reads is the consumer's log.
		nc, err := nats.Connect(s.ClientURL(), nats.UserInfo(user, user), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	js := connect("service")
	for _, spec := range []bus.StreamSpec{{Name: testStream, Subjects: []string{"tc.test.>"}}, bus.DeadLetterStream(1)} {
		if _, err := bus.EnsureStream(context.Background(), js, spec); err != nil {
			t.Fatal(err)
		}
	}
	start := func(js jetstream.JetStream, durable string) *records {
		logs := &records{}
		c, err := bus.NewConsumer(js, bus.ConsumerSpec{Stream: testStream, Durable: durable}, func(context.Context, events.Envelope) error { return nil },
			nil, slog.New(logs), sdktrace.NewTracerProvider())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("consumer %s stopped with: %v", durable, err)
			}
		})
		return logs
	}
	idle, refused := start(js, "idle"), start(connect("refused"), "refused")
	// The client hears nothing for two heartbeats (30 s by default) before it says so.
	testenv.Eventually(t, 90*time.Second, func() error {
		for _, l := range refused.atLeast(slog.LevelWarn) {
			if strings.Contains(l, "Permissions Violation") {
				return nil
			}
		}
		return fmt.Errorf("the refused consumer logged no warning naming NATS's answer; at warn: %q", refused.atLeast(slog.LevelWarn))
	})
	if got := idle.atLeast(slog.LevelInfo); len(got) > 0 {
		t.Errorf("the idle consumer logged %q, want nothing at the default level", got)
	}
}
