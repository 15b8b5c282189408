package main

import (
	"strings"
	"testing"
	"time"
)

func TestPlanFiguresReadTheBenchmarkOutput(t *testing.T) {
	out := `goos: linux
BenchmarkPlan/optimal-2         	      10	 166400163 ns/op	         1.000 coverage	         5.000 load-spread	      3533 load-squares	         0.5500 match-share
BenchmarkPlan/greedy-2          	      10	 792491439 ns/op	         1.000 coverage	         5.000 load-spread	      3801 load-squares	         0.06667 match-share
PASS`
	runs := planFigures(out)
	want := planRun{perPlan: 166400163 * time.Nanosecond, coverage: 1, matchShare: 0.55, loadSpread: 5, loadSquares: 3533}
	if runs["optimal"] != want {
		t.Errorf("optimal %+v, want %+v", runs["optimal"], want)
	}
	if runs["greedy"].loadSquares != 3801 || runs["greedy"].matchShare != 0.06667 {
		t.Errorf("greedy %+v", runs["greedy"])
	}
	row := assignmentRow(runs["optimal"], runs["greedy"])
	if !strings.Contains(row, "166ms a plan; coverage 100%, expertise match 55% of reviews") || !strings.Contains(row, "greedy: 792ms") {
		t.Errorf("row %q", row)
	}
}
