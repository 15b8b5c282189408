package platform

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
)

// Projection is a read model a service keeps from events, as the rebuild sees it:
// the consumer whose handler keeps it and the collections that hold it. A projection
// of the service's own events is rebuilt from its event store, the source of truth; a
// projection of another service's events, by replaying that service's stream from
// its start through the same handler.
type Projection struct {
	// Durable names a consumer added with Consume or ConsumeBatches.
	Durable string
	// Collections are emptied before the replay (their indexes stay).
	Collections []string
}

// Rebuilds registers the service's projections for RebuildProjections. Only
// projections belong here: a consumer whose handler has effects beyond its own
// collections (an email, a command on an aggregate) must never be replayed.
func (p *Platform) Rebuilds(ps ...Projection) { p.rebuilds = append(p.rebuilds, ps...) }

// RebuildReport says what a rebuild did, for the operator.
type RebuildReport struct {
	// Republished is how many of the service's own events were published again
	// because its stream held fewer than its event store (a lost or restored NATS store).
	Republished int
	// Replayed is how many events each projection's handler was given, by durable.
	Replayed map[string]int
	// Skipped is how many events each handler refused for good (they would have gone
	// to the dead letters), by durable.
	Skipped map[string]int
}

// RebuildProjections empties every registered projection and builds it again from
// the event log. It first publishes the service's own events again when its stream
// holds fewer than its event store, so that other services' rebuilds, run after this
// one, find them (JetStream drops the copies it still holds within its duplicate
// window; consumers give any other copy no second effect).
//
// It may run beside the service's replicas: each projection is emptied before its
// events are read, so what a running consumer writes meanwhile is either replayed too
// or written after the emptying. A read model of another service's events written
// without versions (the last event handled wins) can, for an aggregate that changes
// during the rebuild, keep the older value until its next change; with the service
// scaled to zero it cannot. Run the producers' rebuilds before their consumers':
// signatory, review, then fund and notify.
func (p *Platform) RebuildProjections(ctx context.Context) (RebuildReport, error) {
	rep := RebuildReport{Replayed: map[string]int{}, Skipped: map[string]int{}}
	own, err := p.ownEvents(ctx)
	if err != nil {
		return rep, err
	}
	if rep.Republished, err = p.republishIfShort(ctx, own); err != nil {
		return rep, err
	}
	for _, proj := range p.rebuilds {
		if err := p.rebuild(ctx, proj, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// rebuild empties one projection and builds it again from the event log.
func (p *Platform) rebuild(ctx context.Context, proj Projection, rep *RebuildReport) error {
	spec, ok := p.specs[proj.Durable]
	if !ok {
		return fmt.Errorf("rebuild %s: no consumer by that name", proj.Durable)
	}
	for _, name := range proj.Collections {
		if _, err := p.DB.Collection(name).DeleteMany(ctx, bson.D{}); err != nil {
			return fmt.Errorf("rebuild %s: empty %s: %w", proj.Durable, name, err)
		}
	}
	// The log is read after the views are emptied: an event stored meanwhile is
	// then either in what is read here or handled by a running replica's consumer
	// after the emptying, never lost between the two.
	var replay func(func([]events.Envelope) error) error
	if spec.Stream == p.stream {
		replay = func(f func([]events.Envelope) error) error {
			own, err := p.ownEvents(ctx)
			if err != nil {
				return err
			}
			return replayStored(own, spec, f)
		}
	} else {
		replay = func(f func([]events.Envelope) error) error { return p.replayStream(ctx, spec, f) }
	}
	err := replay(func(batch []events.Envelope) error {
		rep.Replayed[proj.Durable] += len(batch)
		return p.deliver(ctx, proj.Durable, batch, rep)
	})
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", proj.Durable, err)
	}
	p.Logger.InfoContext(ctx, "projection rebuilt", "durable", proj.Durable, "events", rep.Replayed[proj.Durable], "skipped", rep.Skipped[proj.Durable])
	return nil
}

// deliver hands a batch to the consumer's handler: a batch handler all at once, and,
// when that fails for good, one event at a time as the consumer itself does, so only
// the event at fault is skipped.
func (p *Platform) deliver(ctx context.Context, durable string, batch []events.Envelope, rep *RebuildReport) error {
	if h, ok := p.batches[durable]; ok {
		err := h(ctx, batch)
		if err == nil || !bus.IsPermanent(err) || len(batch) == 1 {
			return skipPermanent(durable, err, rep)
		}
		for _, e := range batch {
			if err := skipPermanent(durable, h(ctx, []events.Envelope{e}), rep); err != nil {
				return err
			}
		}
		return nil
	}
	h := p.handlers[durable]
	for _, e := range batch {
		if err := skipPermanent(durable, h(ctx, e), rep); err != nil {
			return err
		}
	}
	return nil
}

func skipPermanent(durable string, err error, rep *RebuildReport) error {
	if err != nil && bus.IsPermanent(err) {
		rep.Skipped[durable]++
		return nil
	}
	return err
}

// replayBatch is how many events a replay hands over at once: the consumer's own
// batch size, or one at a time.
func replayBatch(spec bus.ConsumerSpec) int { return max(spec.Batch, 1) }

// replayStored hands the consumer the stored events its subjects filter selects.
func replayStored(all []events.Envelope, spec bus.ConsumerSpec, f func([]events.Envelope) error) error {
	var batch []events.Envelope
	for _, e := range all {
		if !bus.Takes(spec.FilterSubjects, e.Subject()) {
			continue
		}
		batch = append(batch, e)
		if len(batch) == replayBatch(spec) {
			if err := f(batch); err != nil {
				return err
			}
			batch = nil
		}
	}
	if len(batch) > 0 {
		return f(batch)
	}
	return nil
}

// replayStream reads the consumer's stream from its start, through its subject
// filter, up to the last message there when the replay began. An ordered consumer
// reads it, so the durable consumer keeps its place and nothing is acknowledged.
func (p *Platform) replayStream(ctx context.Context, spec bus.ConsumerSpec, f func([]events.Envelope) error) error {
	size := min(replayBatch(spec), 256)
	var batch []events.Envelope
	err := bus.ReadStream(ctx, p.JS, spec.Stream, jetstream.OrderedConsumerConfig{FilterSubjects: spec.FilterSubjects, DeliverPolicy: jetstream.DeliverAllPolicy},
		func(m jetstream.Msg) error {
			env, err := bus.Envelope(m.Subject(), m.Headers(), m.Data())
			if err != nil {
				return nil // not an event; its consumer dead-letters it
			}
			if batch = append(batch, env); len(batch) < size {
				return nil
			}
			full := batch
			batch = nil
			return f(full)
		})
	if err == nil && len(batch) > 0 {
		err = f(batch)
	}
	return err
}

// ownEvents reads every event of the service's event store as the relay publishes
// them (opened, for a service that seals personal fields).
func (p *Platform) ownEvents(ctx context.Context) ([]events.Envelope, error) {
	all, err := p.Events.All(ctx)
	if err != nil || p.relay.Outgoing == nil {
		return all, err
	}
	for i := range all {
		if all[i], err = p.relay.Outgoing(ctx, all[i]); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// republishIfShort publishes every stored event again when the service's stream holds
// fewer messages than its event store: after a NATS store was lost or restored from
// an older copy, other services' consumers and rebuilds find the events again.
//
// When the stream holds events the store does not (the database was restored from a
// backup and NATS kept what came after it), it is purged first and then filled from
// the store: otherwise the other services' rebuilds, which replay it from its start,
// would bring back what the restore took away. The copies go out under message ids
// of their own, so that JetStream's duplicate window (the originals may be minutes
// old) does not drop them; every consumer gives a second copy of an event no effect.
func (p *Platform) republishIfShort(ctx context.Context, all []events.Envelope) (int, error) {
	s, err := p.JS.Stream(ctx, p.stream)
	if err != nil {
		return 0, fmt.Errorf("read stream %s: %w", p.stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("read stream %s: %w", p.stream, err)
	}
	ahead, err := streamAhead(ctx, s, info, all)
	if err != nil {
		return 0, err
	}
	if !ahead && info.State.Msgs >= uint64(len(all)) {
		return 0, nil
	}
	republish := bus.Message
	if ahead {
		if err := s.Purge(ctx); err != nil {
			return 0, fmt.Errorf("purge stream %s: %w", p.stream, err)
		}
		p.Logger.WarnContext(ctx, "the stream held events the event store does not (a restored database): purged, to be filled from the store",
			"stream", p.stream, "stream_had", info.State.Msgs, "store_has", len(all))
		stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
		republish = func(e events.Envelope) *nats.Msg {
			m := bus.Message(e)
			m.Header.Set(jetstream.MsgIDHeader, e.ID+"/"+stamp)
			return m
		}
	}
	for _, e := range all {
		if _, err := p.JS.PublishMsgAsync(republish(e)); err != nil {
			return 0, fmt.Errorf("republish %s: %w", e.ID, err)
		}
	}
	select {
	case <-p.JS.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	p.Logger.InfoContext(ctx, "events published again", "stream", p.stream, "events", len(all), "stream_had", info.State.Msgs)
	return len(all), nil
}

// streamAhead says the stream holds an event the store does not: more messages than
// the store has events, or a last message that names an event the store lacks.
func streamAhead(ctx context.Context, s jetstream.Stream, info *jetstream.StreamInfo, all []events.Envelope) (bool, error) {
	if info.State.Msgs > uint64(len(all)) {
		return true, nil
	}
	if info.State.Msgs == 0 {
		return false, nil
	}
	last, err := s.GetMsg(ctx, info.State.LastSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read stream: %w", err)
	}
	e, err := bus.Envelope(last.Subject, last.Header, last.Data)
	if err != nil {
		return false, nil // not an event: nothing to compare
	}
	for _, have := range all {
		if have.ID == e.ID {
			return false, nil
		}
	}
	return true, nil
}

// Dispatch runs the service when args is empty, or the operations command args name:
//
//	rebuild-projections   empty the service's projections and rebuild them from the event log
//	seal-older-events     seal the people of events stored before sealing, even when a
//	                      start's pass has recorded that nothing was left (see SealOlderEvents)
//
// Each service's main hands it os.Args[1:], so the commands read the same
// configuration from the environment as the service.
func Dispatch(ctx context.Context, p *Platform, args []string) error {
	if len(args) == 0 {
		return p.Run(ctx)
	}
	switch args[0] {
	case "rebuild-projections":
		began := time.Now()
		rep, err := p.RebuildProjections(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("%s: projections rebuilt in %s (republished %d own events; replayed %v; skipped %v)\n",
			p.Name, time.Since(began).Round(time.Millisecond), rep.Republished, rep.Replayed, rep.Skipped)
		return nil
	case "seal-older-events":
		began := time.Now()
		n, err := p.SealOlderEvents(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d commits sealed in %s\n", p.Name, n, time.Since(began).Round(time.Millisecond))
		return nil
	default:
		return fmt.Errorf("unknown command %q: run with no arguments to serve, or rebuild-projections or seal-older-events", args[0])
	}
}
