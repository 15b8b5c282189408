package mail

import (
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the London calendar must not depend on the host's zone files

	"github.com/itss/techcommit/libs/civil"
)

// London is the calendar every email speaks in.
var London = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err) // embedded by time/tzdata: cannot fail
	}
	return loc
}()

// Day says a date the one way emails say dates: "Friday 4 December 2026".
func Day(d civil.Date) string { return d.InWords() }

// Time says an instant the one way emails say times, in London with its zone:
// "Friday 4 December 2026, 17:00 GMT".
func Time(t time.Time) string { return t.In(London).Format("Monday 2 January 2006, 15:04 MST") }

// Days says a number of days: "1 day", "3 days".
func Days(n int) string {
	if n == 1 || n == -1 {
		return "1 day"
	}
	return strconv.Itoa(max(n, -n)) + " days"
}

// List joins items as a sentence does: "a", "a and b", "a, b and c".
func List(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
