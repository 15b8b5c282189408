package store_test

import (
	"context"
	"testing"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// TestReopeningAnEventStoreKeepsItsIndexes is what every restart of a service does.
func TestReopeningAnEventStoreKeepsItsIndexes(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	for range 2 {
		if _, err := store.NewEventStore(context.Background(), db, "events", "/tc/test", clock.System{}); err != nil {
			t.Fatal(err)
		}
	}
}
