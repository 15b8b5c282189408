package store

import (
	"context"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Rewrite replaces the payloads of an aggregate's stored events with what rewrite
// makes of them, and returns how many commits it changed. It exists for one purpose:
// to seal, once, the personal fields of events written before they were stored sealed
// (libs/personal), so that erasure reaches them. It must not change what an event
// means — ids, versions, times and the unique index are untouched, and an event
// rewrite leaves alone comes back byte for byte — and it may run beside the service:
// a commit is replaced whole by _id, and a load meanwhile reads either form, which
// say the same. The aggregate's cached head is rewritten too, and this process's
// memory of it dropped; another process's memory keeps the old form until it reloads.
func (s *EventStore) Rewrite(ctx context.Context, aggregateID string, rewrite func(eventType string, data []byte) ([]byte, error)) (int, error) {
	commits, err := s.loadCommits(ctx, aggregateID)
	if err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", aggregateID, err)
	}
	// The head first, then the commits: a pass that stops between them finds the
	// commits still to rewrite next time, and rewrites the head again with them. (In
	// the other order, a pass that stopped after the commits would leave the head in
	// the old form, and the next would find nothing to do.)
	var h headDoc
	found, err := FindByID(ctx, s.heads, aggregateID, &h)
	if err != nil {
		return 0, err
	}
	headChanged := false
	if found {
		for i, c := range h.Commits {
			nc, ch, err := rewriteCommit(c, rewrite)
			if err != nil {
				return 0, fmt.Errorf("rewrite head of %s: %w", aggregateID, err)
			}
			h.Commits[i], headChanged = nc, headChanged || ch
		}
		if headChanged {
			if _, err := s.heads.ReplaceOne(ctx, bson.D{{Key: "_id", Value: aggregateID}}, h); err != nil {
				return 0, fmt.Errorf("rewrite head of %s: %w", aggregateID, Classify(err))
			}
		}
	}
	n := 0
	for _, c := range commits {
		nc, changed, err := rewriteCommit(c, rewrite)
		if err != nil {
			return n, fmt.Errorf("rewrite %s: %w", c.ID, err)
		}
		if !changed {
			continue
		}
		if _, err := s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: c.ID}}, nc); err != nil {
			return n, fmt.Errorf("rewrite %s: %w", c.ID, Classify(err))
		}
		n++
	}
	// What this process holds is the stored form only if nothing changed; then it
	// stays, so that a pass over every aggregate at start (which mostly finds nothing
	// to do) does not undo the aggregates preloaded for the first requests.
	if n > 0 || headChanged {
		s.mu.Lock()
		delete(s.known, aggregateID)
		delete(s.checked, aggregateID)
		s.mu.Unlock()
	}
	return n, nil
}

// rewriteCommit is c with each event's data rewritten, as a copy (c may be shared
// with this process's memory of the aggregate).
func rewriteCommit(c commitDoc, rewrite func(string, []byte) ([]byte, error)) (commitDoc, bool, error) {
	evs := slices.Clone(c.Events)
	changed := false
	for i, e := range evs {
		out, err := rewrite(e.Type, []byte(e.Data))
		if err != nil {
			return c, false, err
		}
		if string(out) != e.Data {
			evs[i].Data, changed = string(out), true
		}
	}
	c.Events, c.decoded = evs, nil
	return c, changed, nil
}
