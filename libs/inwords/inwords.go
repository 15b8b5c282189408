// Package inwords says quantities as the suite's pages and problem details say
// them to people, so that one length of time reads alike wherever it is shown.
package inwords

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration says d in hours, minutes and seconds, each given only when it is not
// zero: "1 second", "20 seconds", "a minute", "45 minutes", "an hour", "24 hours",
// "1 hour 30 minutes", "2 minutes 5 seconds". d is first rounded up to whole
// seconds, at least one, which is what a Retry-After header sends for it: a wait
// said shorter would have the person try again too soon, and one said longer
// would keep them waiting for nothing.
func Duration(d time.Duration) string {
	secs := max(int64(math.Ceil(d.Seconds())), 1)
	units := []struct {
		n         int64
		one, lone string // one of it beside another unit, and one of it alone
	}{{secs / 3600, "1 hour", "an hour"}, {secs % 3600 / 60, "1 minute", "a minute"}, {secs % 60, "1 second", "1 second"}}
	if days := secs / 86400; days >= 2 {
		// Two days and longer are counted in days: "87600 hours" says ten years to nobody.
		units[0].n = secs % 86400 / 3600
		units = append([]struct {
			n         int64
			one, lone string
		}{{days, "1 day", "a day"}}, units...)
	}
	var parts []string
	for _, u := range units {
		switch u.n {
		case 0:
		case 1:
			parts = append(parts, u.one)
		default:
			parts = append(parts, strconv.FormatInt(u.n, 10)+strings.TrimPrefix(u.one, "1")+"s")
		}
	}
	if len(parts) == 1 {
		for _, u := range units {
			if u.n == 1 {
				return u.lone
			}
		}
	}
	return strings.Join(parts, " ")
}
