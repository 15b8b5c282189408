package store

// QueuedOn is how many combined commands wait on the aggregate in this process,
// for tests that line commands up behind a running batch.
func QueuedOn(s *EventStore, aggregateID string) int {
	s.combine.mu.Lock()
	defer s.combine.mu.Unlock()
	return len(s.combine.queues[aggregateID])
}
