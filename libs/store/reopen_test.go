package store_test

import (
	"context"
	"testing"

	"github.com/itss/techcommit/libs/events"

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

// TestAnEventReadsTheSameFromTheProcessThatAppendedItAndFromAnother: a service's
// answers (created_at, updated_at) come from its events, read from memory by the
// process that appended them and from the log by every other replica and after a
// restart. The log keeps times to the millisecond, so the events must too, or the
// same read answers differently after a restore (the backup drill saw
// "08:09:56.910512267Z" become "08:09:56.91Z").
func TestAnEventReadsTheSameFromTheProcessThatAppendedItAndFromAnother(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	appended, err := count(openLog(t, db), "c-1", "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := openLog(t, db).Load(context.Background(), "c-1")
	if err != nil {
		t.Fatal(err)
	}
	all, err := openLog(t, db).All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range [][]events.Envelope{other, all} {
		if len(got) != 1 || !got[0].Time.Equal(appended[0].Time) || got[0].Time.Location() != appended[0].Time.Location() {
			t.Fatalf("the appending process has the event at %v, another reads %v", appended[0].Time, got)
		}
	}
}
