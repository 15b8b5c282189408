package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Republish hands every commit of the given aggregates back to the relay, which
// publishes their events again, and reports how many commits it handed back. Ops use
// it to re-drive consumers after a fix; the reliability harness uses it to recreate a
// relay that crashed between publishing and marking. Consumers must, and do, give a
// republished event no second effect.
func (s *EventStore) Republish(ctx context.Context, aggregateIDs []string) (int, error) {
	var all []commitDoc
	for _, id := range aggregateIDs {
		commits, err := s.loadCommits(ctx, id)
		if err != nil {
			return 0, fmt.Errorf("republish %s: %w", id, err)
		}
		all = append(all, commits...)
	}
	if len(all) == 0 {
		return 0, nil
	}
	// One record; a zero write time says no writer is in flight, so any replica's
	// sweep may take it at once.
	keys := make([]outboxKey, len(all))
	for i, c := range all {
		keys[i] = outboxKey{ID: c.ID, CommitID: c.CommitID}
	}
	box := newOutboxDoc(time.Time{}, keys)
	if _, err := s.outbox.InsertOne(ctx, box); err != nil {
		return 0, fmt.Errorf("republish: %w", Classify(err))
	}
	// Stored for certain, so this process's relay takes them without waiting for
	// its next read of the outbox (those already on their way stay in their record).
	s.mu.Lock()
	fresh := 0
	for _, c := range all {
		if _, ok := s.batchOf[c.ID]; !ok {
			s.stored[c.ID] = c
			s.batchOf[c.ID] = box.ID
			fresh++
		}
	}
	if fresh > 0 {
		s.records[box.ID] = &record{left: fresh}
	}
	s.mu.Unlock()
	if fresh == 0 {
		_, _ = s.outbox.DeleteOne(ctx, bson.D{{Key: "_id", Value: box.ID}})
	}
	select {
	case s.appended <- struct{}{}:
	default:
	}
	return len(all), nil
}
