package mail

import (
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
)

// Emails say dates one way: the London calendar, with the weekday, and times with
// London's zone as it is on that day (GMT in winter, BST in summer).
func TestDatesAndTimesAreSaidOneWayInLondon(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ got, want string }{
		{Day(civil.New(2026, 12, 4)), "Friday 4 December 2026"},
		{Time(time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)), "Friday 4 December 2026, 17:00 GMT"},
		{Time(time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)), "Monday 31 May 2027, 17:00 BST"},
		{Time(time.Date(2027, 3, 27, 23, 30, 0, 0, time.UTC)), "Saturday 27 March 2027, 23:30 GMT"},
		{Days(1), "1 day"}, {Days(-74), "74 days"},
		{List([]string{"a", "b", "c"}), "a, b and c"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
