package store_test

import (
	"testing"

	"github.com/itss/techcommit/libs/testenv"
)

// TestReopeningAnEventStoreKeepsItsIndexes is what every restart of a service does.
func TestReopeningAnEventStoreKeepsItsIndexes(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	for range 2 {
		openLog(t, db)
	}
}
