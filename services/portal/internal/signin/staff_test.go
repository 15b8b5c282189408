package signin_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// The staff record keeps the name of each ITSS person's latest sign-in, answers
// for the subjects it knows, and leaves out those it does not.
func TestStaffKeepsTheLatestNameOfEachSubject(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	staff, err := signin.NewStaff(db, clock.NewFake(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range []struct{ subject, name string }{
		{"k.okafor", "Kim Okafor"}, {"a.reid", "Ann Reid"}, {"k.okafor", "Kim Okafor-Lane"}, {"nameless", ""},
	} {
		if err := staff.Seen(ctx, s.subject, s.name); err != nil {
			t.Fatal(err)
		}
	}
	got, err := staff.Names(ctx, []string{"k.okafor", "a.reid", "never-seen", "nameless"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"k.okafor": "Kim Okafor-Lane", "a.reid": "Ann Reid"}, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}
