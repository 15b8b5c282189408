// Package relay publishes a service's stored events to JetStream: the outbox half of
// DESIGN.md's event store. It takes the commits not yet published from the store
// (those this process stored, from memory, and now and then those an outbox record of
// a dead writer names), publishes each event with Nats-Msg-Id set to the event id,
// waits for JetStream's acknowledgements, then marks the commits published (their
// outbox records go, in the background). A crash between publishing and marking
// publishes the same events again on restart; JetStream drops them within its
// duplicate window and idempotent consumers ignore them after it. So the stored state
// and the published events can never disagree for long, and never for good.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
)

// Relay moves events from one event store to JetStream.
type Relay struct {
	store    *store.EventStore
	js       jetstream.JetStream
	logger   *slog.Logger
	batch    int
	interval time.Duration
	// AfterPublish, when set, runs after a batch is published and before it is marked;
	// returning an error aborts the batch unmarked. Tests use it to simulate a crash.
	AfterPublish func(published []string) error
	// Outgoing, when set, turns each stored event into the one published: a service
	// that stores personal fields sealed publishes them opened (libs/personal), so
	// that other services read plain events and an erased person reads as erased.
	Outgoing func(ctx context.Context, e events.Envelope) (events.Envelope, error)
}

// New returns a relay for es. interval is how often it looks for unpublished events
// when no append has woken it.
func New(es *store.EventStore, js jetstream.JetStream, logger *slog.Logger, interval time.Duration) (*Relay, error) {
	if es == nil || js == nil || logger == nil {
		return nil, errors.New("relay: event store, jetstream and logger are required")
	}
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	return &Relay{store: es, js: js, logger: logger.With("component", "relay"), batch: 256, interval: interval}, nil
}

// Run publishes until ctx is cancelled.
func (r *Relay) Run(ctx context.Context) error {
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	for {
		for {
			n, err := r.Once(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				r.logger.WarnContext(ctx, "relay pass failed; will retry", "error", err)
				break
			}
			if n < r.batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-r.store.Appended():
		}
	}
}

// Once publishes one batch and returns how many commits it published.
func (r *Relay) Once(ctx context.Context) (int, error) {
	commits, err := r.store.Unpublished(ctx, r.batch)
	if err != nil {
		return 0, err
	}
	if len(commits) == 0 {
		return 0, nil
	}
	var futures []jetstream.PubAckFuture
	ids := make([]string, 0, len(commits))
	for _, c := range commits {
		for _, e := range c.Events {
			if r.Outgoing != nil {
				if e, err = r.Outgoing(ctx, e); err != nil {
					return 0, fmt.Errorf("publish %s: %w", e.ID, err)
				}
			}
			f, err := r.js.PublishMsgAsync(bus.Message(e))
			if err != nil {
				return 0, fmt.Errorf("publish %s: %w", e.ID, err)
			}
			futures = append(futures, f)
		}
		ids = append(ids, c.ID)
	}
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return 0, fmt.Errorf("publish %s: %w", f.Msg().Header.Get(jetstream.MsgIDHeader), err)
		case <-timeout.C:
			return 0, errors.New("publish: no acknowledgement within 10s")
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if r.AfterPublish != nil {
		if err := r.AfterPublish(ids); err != nil {
			return 0, err
		}
	}
	r.store.MarkPublished(ids)
	return len(commits), nil
}
