package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ForgetAggregate deletes from a stream every message about one aggregate (its
// HeaderSubject), overwriting them on disk, and returns how many it deleted. A person
// erased at their request is named in plain text in the events a service published
// (its event store keeps them sealed); the stream is only their transport, so it
// forgets them, and a rebuild publishes them again from the store, as they read now.
// It reads the stream through once, headers only: an erasure is rare and the
// Commitment's streams are small.
func ForgetAggregate(ctx context.Context, js jetstream.JetStream, stream, aggregateID string) (int, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("forget %s in %s: %w", aggregateID, stream, err)
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{HeadersOnly: true})
	if err != nil {
		return 0, fmt.Errorf("forget %s in %s: %w", aggregateID, stream, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("forget %s in %s: %w", aggregateID, stream, err)
	}
	var seqs []uint64
	for range info.NumPending {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return 0, fmt.Errorf("forget %s in %s: read: %w", aggregateID, stream, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return 0, fmt.Errorf("forget %s in %s: %w", aggregateID, stream, err)
		}
		if m.Headers().Get(HeaderSubject) == aggregateID {
			seqs = append(seqs, meta.Sequence.Stream)
		}
	}
	n := 0
	for _, seq := range seqs {
		err := s.SecureDeleteMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // expired or deleted meanwhile
		}
		if err != nil {
			return n, fmt.Errorf("forget %s in %s: delete %d: %w", aggregateID, stream, seq, err)
		}
		n++
	}
	return n, nil
}
