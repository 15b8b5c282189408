package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ReadStream reads a stream with an ordered consumer made with cfg (nothing is
// acknowledged, and no durable consumer moves), giving each message to f, up to the
// last message the stream held when the read began (or until the consumer has
// nothing pending, when cfg filters the later ones out). A stream that does not
// exist, or holds nothing, gives none. f's error ends the read and is returned as it
// is.
func ReadStream(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, f func(jetstream.Msg) error) error {
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read stream %s: %w", stream, err)
	}
	return readStream(ctx, s, stream, cfg, f)
}

// readStream is ReadStream of a stream found already.
func readStream(ctx context.Context, s jetstream.Stream, stream string, cfg jetstream.OrderedConsumerConfig, f func(jetstream.Msg) error) error {
	state := s.CachedInfo().State
	if state.Msgs == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read stream %s: %w", stream, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("read stream %s: %w", stream, err)
	}
	left := int(info.NumPending) // #nosec G115 -- a stream's message count fits an int
	for left > 0 {
		msgs, err := c.Fetch(min(left, 256), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return fmt.Errorf("read stream %s: %w", stream, err)
		}
		got := 0
		for m := range msgs.Messages() {
			got++
			if err := f(m); err != nil {
				return err
			}
			meta, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("read stream %s: %w", stream, err)
			}
			if meta.Sequence.Stream >= state.LastSeq {
				return nil
			}
			left = int(meta.NumPending) // #nosec G115 -- a stream's message count fits an int
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("read stream %s: %w", stream, err)
		}
		if got == 0 {
			return fmt.Errorf("read stream %s: it gave nothing within 5s though %d messages wait", stream, left)
		}
	}
	return nil
}
