package bus

import (
	"testing"
	"time"
)

// A lasting fault reports itself at each fetch: each distinct error is a warning
// once a minute, not once a fetch.
func TestEachDistinctErrorIsAWarningOnceAMinute(t *testing.T) {
	t.Parallel()
	w := &warnings{every: time.Minute}
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		key  string
		at   time.Duration
		want bool
	}{
		{"no heartbeat", 0, true},
		{"no heartbeat", 30 * time.Second, false},
		{"leadership changed", 40 * time.Second, true},
		{"no heartbeat", 59 * time.Second, false},
		{"no heartbeat", time.Minute, true},
		{"leadership changed", 90 * time.Second, false},
		{"no heartbeat", 90 * time.Second, false},
	} {
		if got := w.due(c.key, t0.Add(c.at)); got != c.want {
			t.Errorf("%q at +%v: due = %v, want %v", c.key, c.at, got, c.want)
		}
	}
}
