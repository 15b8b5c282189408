package main

import (
	"strings"
	"testing"
	"time"
)

func TestTheRoundReportSetsTheSharedRoundAgainstRoundsApart(t *testing.T) {
	ms := time.Millisecond
	f := contentionFigures{trials: 1, perRoundSubmitted: 16, machine: "2 cores", load: "1, 1, 1",
		alone:    []time.Duration{5 * ms, 5 * ms, 10 * ms},
		together: []time.Duration{10 * ms, 20 * ms, 30 * ms},
		apart:    []time.Duration{10 * ms, 15 * ms, 20 * ms},
	}
	report := contentionReport(f)
	for _, want := range []string{
		"| one alone | 3 | 5ms | 10ms |",
		"| 8 at once | 3 | 20ms | 30ms |",
		"| 8 at once, each in a round of their own (baseline) | 3 | 15ms | 20ms |",
		"p95 of 8 at once against one alone: **3.00** (target ≤ 2).",
		"With no round shared, 8 at once against one alone: 2.00; so one round shared against none: **1.50**",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	f.apart = nil
	if report := contentionReport(f); strings.Contains(report, "(baseline) |") || strings.Contains(report, "With no round shared") {
		t.Errorf("a report without the baseline names it:\n%s", report)
	}
}
