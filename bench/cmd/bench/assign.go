package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// planRun is one line of the review service's BenchmarkPlan: the time to plan a round
// of 150 submissions and 400 reviewers, and the plan's quality.
type planRun struct {
	perPlan     time.Duration
	coverage    float64 // reviews made of those required
	matchShare  float64 // of the reviews made, those with an expertise match
	loadSpread  float64 // most less least load over this round and the previous ones
	loadSquares float64 // sum of squares of those loads: the fairness the plan minimises
}

// measureAssignment runs the review service's assignment benchmark, the optimiser
// beside the greedy assignment it replaced.
func measureAssignment(ctx context.Context, root string) (optimal, greedy planRun, err error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "BenchmarkPlan", "-benchtime", "5x", "./internal/domain/assign/")
	cmd.Dir = filepath.Join(root, "services", "review")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return planRun{}, planRun{}, fmt.Errorf("assignment benchmark: %w\n%s", err, out)
	}
	runs := planFigures(string(out))
	return runs["optimal"], runs["greedy"], nil
}

// planFigures reads BenchmarkPlan's sub-benchmarks from go test's output: the name,
// the iterations, then value-unit pairs.
func planFigures(out string) map[string]planRun {
	runs := map[string]planRun{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "BenchmarkPlan/") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(f[0], "BenchmarkPlan/"), "-")
		var r planRun
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.perPlan = time.Duration(v)
			case "coverage":
				r.coverage = v
			case "match-share":
				r.matchShare = v
			case "load-spread":
				r.loadSpread = v
			case "load-squares":
				r.loadSquares = v
			}
		}
		runs[name] = r
	}
	return runs
}

// assignmentRow is the report's line for assignment: the optimiser's time and quality
// beside the greedy assignment's.
func assignmentRow(optimal, greedy planRun) string {
	quality := func(r planRun) string {
		return fmt.Sprintf("%s a plan; coverage %.0f%%, expertise match %.0f%% of reviews, load over the rounds %.0f apart (sum of squares %.0f)",
			r.perPlan.Round(time.Millisecond), 100*r.coverage, 100*r.matchShare, r.loadSpread, r.loadSquares)
	}
	return fmt.Sprintf("| review assignment, 150 submissions and 400 reviewers, exact (min-cost flow) | %s | greedy: %s | %.2f | < 1 s a plan; coverage, then matches, then evenness at least the greedy's |\n",
		quality(optimal), quality(greedy), float64(optimal.perPlan)/float64(greedy.perPlan))
}
