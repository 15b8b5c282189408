package store

import "time"

// QueuedOn is how many combined commands wait on the aggregate in this process,
// for tests that line commands up behind a running batch.
func QueuedOn(s *EventStore, aggregateID string) int {
	s.combine.mu.Lock()
	defer s.combine.mu.Unlock()
	return len(s.combine.queues[aggregateID])
}

// SetCatalogueReread sets how often catalogues are read whole, and returns what puts
// it back. For tests that do not run in parallel.
func SetCatalogueReread(d time.Duration) (restore func()) {
	was := catalogueReread
	catalogueReread = d
	return func() { catalogueReread = was }
}
