package opsform

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/itss/techcommit/libs/inwords"
)

// momentLayout is how a console form shows and reads a time on the London clock.
const momentLayout = "2006-01-02 15:04"

// errNotAMoment stands for "not a date and time at all", which the caller says
// with the field's label.
const errNotAMoment = "not a moment"

// moment reads a time typed on the clock of loc: "2027-03-01 09:00" (or with a T
// between day and time, as a browser's own control sends it), perhaps followed by
// the zone, "BST" or "GMT". A clock time that the clocks going forward skip is
// refused, as is one they show twice going back unless its zone says which: read
// as either, it would silently move an hour. The problem is "" when t is the time.
func moment(val string, loc *time.Location) (t time.Time, problem string) {
	clock, zone := val, ""
	if f := strings.Fields(val); len(f) > 1 && isLetters(f[len(f)-1]) {
		clock, zone = strings.Join(f[:len(f)-1], " "), strings.ToUpper(f[len(f)-1])
	}
	if len(clock) > 10 && clock[10] == 'T' {
		clock = clock[:10] + " " + clock[11:]
	}
	wall, err := time.Parse(momentLayout, clock)
	if err != nil {
		return time.Time{}, errNotAMoment
	}
	at := instants(wall, loc)
	if zone != "" {
		named := slices.DeleteFunc(slices.Clone(at), func(t time.Time) bool { return zoneOf(t, loc) != zone })
		if len(named) == 1 {
			return named[0], ""
		}
	}
	switch {
	case len(at) == 0:
		return time.Time{}, skipped(wall, loc)
	case len(at) > 1:
		return time.Time{}, twice(wall, at, loc)
	case zone != "":
		return time.Time{}, fmt.Sprintf("London is on %s at %s on %s, not %s: enter the time without a zone, or with %s.",
			zoneOf(at[0], loc), wall.Format("15:04"), wall.Format("2 January 2006"), zone, zoneOf(at[0], loc))
	}
	return at[0], ""
}

// MomentText is how a console form shows t for a Moment field to be read back as
// t: on the clock of loc, with the zone when that clock shows the time twice.
func MomentText(t time.Time, loc *time.Location) string {
	local := t.In(loc)
	text := local.Format(momentLayout)
	wall, _ := time.Parse(momentLayout, text)
	if len(instants(wall, loc)) > 1 {
		text += " " + zoneOf(local, loc)
	}
	return text
}

// instants are the moments, earliest first, at which the clock of loc shows wall
// (a clock reading, held as UTC): none in the hour the clocks go forward, two in
// the hour they go back, one otherwise. A clock change is tried with the offsets in
// force two days either side, for no zone changes its clock twice in four days.
func instants(wall time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	for _, probe := range []time.Time{wall.Add(-48 * time.Hour), wall.Add(48 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		t := wall.Add(-time.Duration(off) * time.Second)
		if _, o := t.In(loc).Zone(); o == off && !slices.ContainsFunc(out, t.Equal) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// skipped says that wall never shows on the clock of loc, because the clocks go
// forward over it, and which times around it do.
func skipped(wall time.Time, loc *time.Location) string {
	_, before := wall.Add(-48 * time.Hour).In(loc).Zone()
	change, _ := wall.Add(-time.Duration(before) * time.Second).In(loc).ZoneBounds()
	_, after := change.In(loc).Zone()
	return fmt.Sprintf("%s on %s does not exist in London: the clocks go forward %s at %s that day. Enter a time before %s or from %s.",
		wall.Format("15:04"), wall.Format("2 January 2006"), inwords.Duration(time.Duration(after-before)*time.Second),
		change.In(time.FixedZone("", before)).Format("15:04"), change.In(time.FixedZone("", before)).Format("15:04"), change.In(loc).Format("15:04"))
}

// twice says that wall shows twice on the clock of loc, at (earliest first),
// because the clocks go back over it, and how to say which.
func twice(wall time.Time, at []time.Time, loc *time.Location) string {
	change, _ := at[len(at)-1].In(loc).ZoneBounds()
	_, before := at[0].In(loc).Zone()
	_, after := change.In(loc).Zone()
	first, second := zoneOf(at[0], loc), zoneOf(at[len(at)-1], loc)
	return fmt.Sprintf("%s on %s happens twice in London: the clocks go back %s at %s %s that day. Add %s for the first or %s for the second, like %s %s.",
		wall.Format("15:04"), wall.Format("2 January 2006"), inwords.Duration(time.Duration(before-after)*time.Second),
		change.In(time.FixedZone(first, before)).Format("15:04"), first, first, second, wall.Format(momentLayout), first)
}

func zoneOf(t time.Time, loc *time.Location) string {
	name, _ := t.In(loc).Zone()
	return name
}

func isLetters(s string) bool {
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return s != ""
}
