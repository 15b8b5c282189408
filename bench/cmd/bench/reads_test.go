package main

import (
	"strings"
	"testing"
	"time"
)

func TestAFirstRequestLessItsServicesWakeUpIsSetAgainstTheWarmRead(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		first, warm, wakeFirst, wakeWarm time.Duration
		want                             float64
	}{
		{first: 3 * ms, warm: ms, wakeFirst: 1100 * time.Microsecond, wakeWarm: 100 * time.Microsecond, want: 2},
		// A wake-up dearer than the first request leaves nothing of the read's own.
		{first: ms, warm: ms, wakeFirst: 5 * ms, wakeWarm: 0, want: 0},
		// A /healthz warm slower than first (noise) takes nothing away.
		{first: 2 * ms, warm: ms, wakeFirst: ms, wakeWarm: 2 * ms, want: 2},
	} {
		if got := netOfWakeUp(c.first, c.warm, c.wakeFirst, c.wakeWarm); got != c.want {
			t.Errorf("netOfWakeUp(%v, %v, %v, %v) = %v, want %v", c.first, c.warm, c.wakeFirst, c.wakeWarm, got, c.want)
		}
	}
}

func TestTheReadsReportSetsEachFirstRequestAgainstItsOwnServicesWakeUp(t *testing.T) {
	ms := time.Millisecond
	f := readFigures{small: 20, large: 200, limit: 20,
		names:        []string{"signatory: one organisation", "fund: rounds"},
		smallP50:     map[string]time.Duration{"signatory: one organisation": ms, "fund: rounds": ms},
		largeP50:     map[string]time.Duration{"signatory: one organisation": ms, "fund: rounds": ms},
		restartFirst: map[string]time.Duration{"signatory: one organisation": 3 * ms, "fund: rounds": 3 * ms},
		restartP50:   map[string]time.Duration{"signatory: one organisation": ms, "fund: rounds": ms},
		pauseFirst:   map[string]time.Duration{"signatory: one organisation": 2 * ms, "fund: rounds": 2 * ms},
		wakeFirst:    map[string]time.Duration{"signatory": 2 * ms, "fund": ms},
		wakeWarm:     map[string]time.Duration{"signatory": 0, "fund": 0},
	}
	report := readsReport(f)
	for _, want := range []string{
		"| signatory: one organisation | 1ms | 1ms | 1.00 | 3ms, 1ms | 3.00 | 2ms | 1.50 | 1.00 |",
		"| fund: rounds | 1ms | 1ms | 1.00 | 3ms, 1ms | 3.00 | 2ms | 1.50 | 2.00 |",
		"fund 1ms against 0s, signatory 2ms against 0s.",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	// Without the baseline (an older run's figures), the column says so rather than
	// dividing by nothing.
	f.wakeFirst, f.wakeWarm = nil, nil
	if report := readsReport(f); !strings.Contains(report, "| 1.50 | – |") || strings.Contains(report, "What waking an idle service") {
		t.Errorf("a report without the baseline:\n%s", report)
	}
}
