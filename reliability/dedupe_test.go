package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/testenv"
)

// TestAShrunkDuplicateWindowForgetsTheIDs is what the relay scenario relies on: once
// the window is shrunk and has passed, the same message ids are stored again. Each
// round is a fresh stream, so that each one meets the server's purge timer anew.
func TestAShrunkDuplicateWindowForgetsTheIDs(t *testing.T) {
	_, js := testenv.JetStream(t, testenv.NATS(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const rounds, ids = 40, 20
	const window = 200 * time.Millisecond
	streams := make([]jetstream.Stream, rounds)
	for r := range rounds {
		cfg := jetstream.StreamConfig{Name: fmt.Sprintf("DEDUPE%d", r), Subjects: []string{fmt.Sprintf("dedupe.%d", r)}, Duplicates: 2 * time.Minute, Storage: jetstream.MemoryStorage}
		s, err := js.CreateStream(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		streams[r] = s
		for i := range ids {
			if _, err := js.Publish(ctx, cfg.Subjects[0], nil, jetstream.WithMsgID(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := shrinkDuplicateWindow(ctx, js, cfg, window); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(4 * window)
	forgotten := 0
	for r, s := range streams {
		subject := fmt.Sprintf("dedupe.%d", r)
		for i := range ids {
			if _, err := js.Publish(ctx, subject, nil, jetstream.WithMsgID(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 2*ids {
			forgotten++
		}
	}
	if forgotten != rounds {
		t.Fatalf("the shrunk window forgot the ids of %d streams of %d", forgotten, rounds)
	}
}
