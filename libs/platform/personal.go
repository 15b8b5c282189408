package platform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/deadletter"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
)

// DurablePersonErasures is the suffix of each service's consumer of erasures
// ("<service>-person-erasures"); durable names never change.
const DurablePersonErasures = "-person-erasures"

// SealPeople makes the service store the people named in its events sealed under
// their own keys (libs/personal, docs/PRIVACY.md) and forget them when ops erase
// them: it returns the event store the application must use (it decides on opened
// history and stores sealed events); the relay publishes events opened; events
// stored before are sealed at start; and the service consumes the signatory
// service's events.PersonErasedV1, on which it destroys the person's key, drops its
// stream's copies of their aggregates, forgets them in the collections named by
// forget, and rebuilds its projections of its own events, which then read them as
// erased. Subject access (ServeSubjectAccess) finds and opens their sealed values.
func (p *Platform) SealPeople(ctx context.Context, fields personal.Fields, forget ...personal.ForgetIn) (*personal.SealedStore, error) {
	keys, err := personal.NewKeys(ctx, p.DB, personal.KeysCollection, p.Clock)
	if err != nil {
		return nil, err
	}
	sealer, err := personal.NewSealer(keys, fields)
	if err != nil {
		return nil, err
	}
	sealed, err := personal.NewSealedStore(p.Events, sealer)
	if err != nil {
		return nil, err
	}
	p.PublishAs(sealer.OpenEnvelope)
	p.sealer = sealer
	p.SealOlderEventsAtStart(p.SealLegacyEvents)
	err = p.OnPersonErased(func(ctx context.Context, sub string) error {
		return p.forgetPerson(ctx, keys, sub, forget)
	})
	return sealed, err
}

// ErasureRegister opens the register of erasures with the service's connection (the
// signatory service, which makes every erasure, is its one writer and reader).
func (p *Platform) ErasureRegister(ctx context.Context) (*bus.ErasureRegister, error) {
	if err := p.ensureStream(ctx, bus.ErasureRegisterStream(p.cfg.NATS.StreamReplicas)); err != nil {
		return nil, err
	}
	return bus.NewErasureRegister(p.JS), nil
}

// OnPersonErased consumes the signatory service's erasures with forget, which is
// given the digest of the erased person's address (personal.Subject) and must have
// no second effect when run again.
//
// The dead letters naming the person are forgotten after it (deadletter.ForgetPerson):
// the signatory service forgets them as it erases, and this takes those a consumer
// gave up on since, before the service took in the erasure.
func (p *Platform) OnPersonErased(forget func(ctx context.Context, subject string) error) error {
	return p.Consume(PersonErasures(p.Name, func(ctx context.Context, subject string) error {
		if err := forget(ctx, subject); err != nil {
			return err
		}
		_, err := deadletter.ForgetPerson(ctx, p.JS, subject)
		return err
	}))
}

// OnPersonErasedAt is OnPersonErased for a service that keeps when each erasure was
// made: forget is also given the time of the announcement (the signatory service's
// clock, which orders it with that service's other events).
func (p *Platform) OnPersonErasedAt(forget func(ctx context.Context, subject string, at time.Time) error) error {
	return p.Consume(personErasures(p.Name, func(ctx context.Context, subject string, at time.Time) error {
		if err := forget(ctx, subject, at); err != nil {
			return err
		}
		_, err := deadletter.ForgetPerson(ctx, p.JS, subject)
		return err
	}))
}

// OnForgotten adds f, called with the aggregates whose events named a person just
// erased: a service that keeps aggregates in memory drops them there.
func (p *Platform) OnForgotten(f func(aggregateIDs []string)) { p.forgotten = append(p.forgotten, f) }

// PersonErasures is the consumer of the signatory service's erasures for a service
// (one not built on Platform adds it with bus.NewConsumer): forget is given the
// digest of the erased person's address.
func PersonErasures(service string, forget func(ctx context.Context, subject string) error) (bus.ConsumerSpec, bus.Handler) {
	return personErasures(service, func(ctx context.Context, subject string, _ time.Time) error { return forget(ctx, subject) })
}

func personErasures(service string, forget func(ctx context.Context, subject string, at time.Time) error) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamSignatory, Durable: service + DurablePersonErasures,
		FilterSubjects: []string{events.SubjectPersonErased}, MaxDeliver: 10}
	return spec, func(ctx context.Context, e events.Envelope) error {
		sub, err := ErasedSubject(e)
		if err != nil {
			return err
		}
		return forget(ctx, sub, e.Time)
	}
}

// ErasedSubject is the digest of the erased person's address (personal.Subject) that
// an events.PersonErasedV1 carries; an event that cannot be read, or names no one, is
// a permanent error (bus.Permanent), since no redelivery will read it better.
func ErasedSubject(e events.Envelope) (string, error) {
	ev, err := events.Decode[events.PersonErasedV1](e)
	if err != nil {
		return "", bus.Permanent(err)
	}
	if ev.Subject == "" {
		return "", bus.Permanent(fmt.Errorf("event %s: person erased: no subject", e.ID))
	}
	return ev.Subject, nil
}

// SealLegacyEvents seals the people of every aggregate's events stored before they
// were stored sealed (docs/PRIVACY.md, "Events written before sealing"), and returns
// how many commits it rewrote. It changes no event's meaning, and what is sealed
// already it leaves alone.
func (p *Platform) SealLegacyEvents(ctx context.Context) (int, error) {
	if p.sealer == nil {
		return 0, errors.New("seal older events: the service seals no one")
	}
	return p.sealer.SealOlderEvents(ctx, p.Events)
}

// sealedMarkID is the document of the service's sealing collection that says a
// sealing pass found every event of the log sealed.
const (
	sealingCollection = "sealing"
	sealedMarkID      = "older-events-sealed-v1"
)

// SealOlderEventsAtStart runs pass (SealLegacyEvents, or a service's own) in the
// background at every start until one pass finds nothing left to seal: events stored
// before people were sealed are sealed once, so that erasure reaches them. The pass
// reads the whole log, which on a large log is most of a start's work beside the
// first requests; once it finds nothing, that is recorded (SealOlderEvents), and later
// starts read one document instead. The operations command seal-older-events runs
// the pass whatever the record says.
func (p *Platform) SealOlderEventsAtStart(pass func(context.Context) (int, error)) {
	p.sealPass = pass
	p.Go("seal-legacy-events", func(ctx context.Context) error {
		if n, err := p.SealOlderEventsUnlessDone(ctx); err != nil {
			p.Logger.WarnContext(ctx, "sealing the people of older events failed; it runs again at the next start", "error", err)
		} else if n > 0 {
			p.Logger.InfoContext(ctx, "people of older events sealed", "commits", n)
		}
		return nil
	})
}

// SealOlderEventsUnlessDone runs the start's sealing pass unless one has found
// nothing left to seal before.
func (p *Platform) SealOlderEventsUnlessDone(ctx context.Context) (int, error) {
	err := p.DB.Collection(sealingCollection).FindOne(ctx, bson.D{{Key: "_id", Value: sealedMarkID}}).Err()
	switch {
	case err == nil:
		return 0, nil
	case !errors.Is(err, mongo.ErrNoDocuments):
		return 0, fmt.Errorf("read the sealing record: %w", store.Classify(err))
	}
	return p.SealOlderEvents(ctx)
}

// SealOlderEvents runs the sealing pass and returns the commits it rewrote; when it
// finds nothing left to seal it records so. A pass that rewrote some is not recorded:
// a replica of a release before sealing may still be writing beside it during an
// upgrade, and the next start looks again.
func (p *Platform) SealOlderEvents(ctx context.Context) (int, error) {
	if p.sealPass == nil {
		return 0, errors.New("seal older events: the service seals no one")
	}
	n, err := p.sealPass(ctx)
	if err != nil || n > 0 {
		return n, err
	}
	_, err = p.DB.Collection(sealingCollection).InsertOne(ctx, bson.D{{Key: "_id", Value: sealedMarkID}, {Key: "at", Value: p.Clock.Now().UTC()}})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return 0, fmt.Errorf("record the sealing pass: %w", store.Classify(err))
	}
	return 0, nil
}

// forgetPerson is the service's part of an erasure. Run again after a failure it
// finishes: the aggregates that named the person are found by their person id while
// the key is there, and the later steps do the same the second time.
func (p *Platform) forgetPerson(ctx context.Context, keys *personal.Keys, sub string, forget []personal.ForgetIn) error {
	pid, err := keys.LookupSubject(ctx, sub)
	if err != nil && !errors.Is(err, personal.ErrNoSuchPerson) {
		return err
	}
	var named []string
	if pid != "" {
		all, err := p.Events.All(ctx)
		if err != nil {
			return err
		}
		for _, e := range all {
			if personal.Mentions(e.Data, pid) && !slices.Contains(named, e.AggregateID) {
				named = append(named, e.AggregateID)
			}
		}
		if err := keys.Erase(ctx, pid); err != nil {
			return err
		}
	}
	for _, f := range p.forgotten {
		f(named)
	}
	// The stream carried them opened; the store keeps them sealed, now for no one.
	for _, id := range named {
		if _, err := bus.ForgetAggregate(ctx, p.JS, p.stream, id); err != nil {
			return err
		}
	}
	for _, f := range forget {
		if _, err := personal.Forget(ctx, p.DB.Collection(f.Collection), sub, f.Delete); err != nil {
			return err
		}
	}
	if len(named) == 0 {
		return nil
	}
	if err := p.rebuildOwn(ctx); err != nil {
		return fmt.Errorf("forget a person: %w", err)
	}
	p.Logger.InfoContext(ctx, "person erased", "aggregates", len(named))
	return nil
}

// rebuildOwn rebuilds the projections of the service's own events from its store.
func (p *Platform) rebuildOwn(ctx context.Context) error {
	rep := RebuildReport{Replayed: map[string]int{}, Skipped: map[string]int{}}
	for _, proj := range p.rebuilds {
		if spec, ok := p.specs[proj.Durable]; ok && spec.Stream == p.stream {
			if err := p.rebuild(ctx, proj, &rep); err != nil {
				return err
			}
		}
	}
	return nil
}
