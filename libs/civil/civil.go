// Package civil is calendar dates without a time of day: announcement dates,
// obligation windows and deadlines. Deadlines are counted in calendar months, and a
// month later than 31 January is the last day of February, never 3 March.
package civil

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a calendar date. The zero value is not a valid date.
type Date struct {
	t time.Time // midnight UTC
}

// Layout is the textual form of a Date.
const Layout = "2006-01-02"

// New returns the date year-month-day; out-of-range values normalise as time.Date does.
func New(year int, month time.Month, day int) Date {
	return Date{time.Date(year, month, day, 0, 0, 0, 0, time.UTC)}
}

// Of returns the date of t in t's location.
func Of(t time.Time) Date {
	y, m, d := t.Date()
	return New(y, m, d)
}

// Parse reads a date in the form 2006-01-02.
func Parse(s string) (Date, error) {
	t, err := time.Parse(Layout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date of the form YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d.t.IsZero() }

// String formats the date as 2006-01-02.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(Layout)
}

// Time returns midnight UTC at the start of the date.
func (d Date) Time() time.Time { return d.t }

// AddMonths adds n calendar months, clamping the day to the end of the target month.
func (d Date) AddMonths(n int) Date {
	y, m, day := d.t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	if day > last {
		day = last
	}
	return New(first.Year(), first.Month(), day)
}

// AddDays adds n days.
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.t.After(e.t) }

// InWords writes the date the one way the suite gives dates to people: "Friday 4
// December 2026", never 2026-12-04.
func (d Date) InWords() string { return d.t.Format("Monday 2 January 2006") }

// FirstYear and LastYear bound every date the suite takes (libs/httpserver checks
// them): before 1900, 0001-01-01 is how Go writes "no date"; after 2999, the dates
// the services work out from one given (a report due a month after a project ends)
// must still be dates an event can hold and a client can read.
const (
	FirstYear = 1900
	LastYear  = 2999
)

// DaysUntil is the number of days from d to e (negative when e is earlier).
func (d Date) DaysUntil(e Date) int { return int(e.t.Sub(d.t).Hours() / 24) }

// MarshalJSON writes the date as a JSON string.
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string date.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date must be a string: %w", err)
	}
	if s == "" {
		*d = Date{}
		return nil
	}
	p, err := Parse(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}
