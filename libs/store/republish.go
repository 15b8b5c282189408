package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Republish hands every commit of the given aggregates back to the relay, which
// publishes their events again, and reports how many commits it handed back. Ops use
// it to re-drive consumers after a fix; the reliability harness uses it to recreate a
// relay that crashed between publishing and marking. Consumers must, and do, give a
// republished event no second effect.
func (s *EventStore) Republish(ctx context.Context, aggregateIDs []string) (int, error) {
	n := 0
	for _, id := range aggregateIDs {
		commits, err := s.loadCommits(ctx, id)
		if err != nil {
			return n, fmt.Errorf("republish %s: %w", id, err)
		}
		for _, c := range commits {
			// A zero write time: no writer is in flight, so the relay takes it at once.
			if _, err := s.outbox.InsertOne(ctx, outboxDoc{ID: c.ID, Written: time.Time{}, Commit: c}); err != nil && !mongo.IsDuplicateKeyError(err) {
				return n, fmt.Errorf("republish %s: %w", c.ID, Classify(err))
			}
			// Stored for certain, so this process's relay takes it without waiting
			// for its next read of the outbox.
			s.mu.Lock()
			s.stored[c.ID] = c
			s.mu.Unlock()
			n++
		}
	}
	select {
	case s.appended <- struct{}{}:
	default:
	}
	return n, nil
}
