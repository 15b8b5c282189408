package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/testenv"
)

// Behind waits for the durable consumers alone. An ordered consumer a process left
// when it was killed while reading a register at start (it lingers, its messages
// pending, until the server drops it) kept the fault-injection runs waiting for a
// consumer that has nothing to do, and failing: it is not behind. A durable consumer
// with messages pending is.
func TestBehindWaitsForDurableConsumersAlone(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := testenv.NewEnv(t)
	if _, err := bus.EnsureStream(ctx, env.JS, bus.StreamSpec{Name: "TC_BEHIND", Subjects: []string{"tc.behind.>"}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := env.JS.Publish(ctx, "tc.behind.entry", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	// Left unread, as by a process killed before it fetched.
	if _, err := env.JS.OrderedConsumer(ctx, "TC_BEHIND", jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}); err != nil {
		t.Fatal(err)
	}
	if err := bus.Behind(ctx, env.JS); err != nil {
		t.Errorf("an ordered consumer left unread counts as behind: %v", err)
	}
	if _, err := env.JS.CreateOrUpdateConsumer(ctx, "TC_BEHIND", jetstream.ConsumerConfig{Durable: "behind-projection", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	if err := bus.Behind(ctx, env.JS); err == nil {
		t.Error("a durable consumer with three messages pending does not count as behind")
	}
}
