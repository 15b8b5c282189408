package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/embedded"
)

// TestAShrunkDuplicateWindowForgetsTheIDs is what the relay scenario relies on: once
// the window is shrunk and has passed, the same message ids are stored again. Each
// round is a fresh stream, so that each one meets the server's purge timer anew.
func TestAShrunkDuplicateWindowForgetsTheIDs(t *testing.T) {
	srv, err := embedded.StartNATS(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	nc, err := nats.Connect(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
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
