package bus

import (
	"context"
	"errors"
	"fmt"

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
	var seqs []uint64
	err = readStream(ctx, s, stream, jetstream.OrderedConsumerConfig{HeadersOnly: true}, func(m jetstream.Msg) error {
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		if m.Headers().Get(HeaderSubject) == aggregateID {
			seqs = append(seqs, meta.Sequence.Stream)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("forget %s in %s: %w", aggregateID, stream, err)
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
