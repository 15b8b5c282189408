package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/itss/techcommit/libs/auth"
)

// Concurrency on one round: reviewers working the same review round at the same time
// must not queue behind one another (issue 22: the p95 of accept and review under 8
// concurrent reviewers within 2x of one reviewer alone). Each trial opens a round of
// 16 submissions with one reviewer each; eight of the reviewers accept and review one
// after another (each alone), the other eight all at once; the trials alternate which
// goes first, so that the host's drift weighs on both alike. As their baseline, eight
// more reviewers work at once, each in a review round of their own: the same load
// with no aggregate shared, so that what the shared round adds is told apart from
// what eight requests at once cost this machine.

// contentionSection starts the report's section; -round-only replaces just it.
const contentionSection = "## Concurrency on one round"

// contentionReviewers is how many reviewers work the round at once.
const contentionReviewers = 8

type contentionFigures struct {
	trials          int
	alone, together []time.Duration // every accept and every review
	// apart is every accept and review of the reviewers working at once, each in a
	// round of their own.
	apart []time.Duration
	// aloneCPU, togetherCPU and apartCPU are each process's CPU from each phase's
	// start until half a second after its end (what its requests caused, the
	// projections' and emails' work included); the walls the phases' own time.
	aloneCPU, togetherCPU, apartCPU    map[string]time.Duration
	aloneWall, togetherWall, apartWall time.Duration
	load                               string
	machine                            string
	perRoundSubmitted                  int
}

// roundContention runs the measurement on a stack of its own at offset.
func roundContention(ctx context.Context, bin string, offset, trials int) (contentionFigures, error) {
	f := contentionFigures{trials: trials, machine: machine(), perRoundSubmitted: 2 * contentionReviewers,
		aloneCPU: map[string]time.Duration{}, togetherCPU: map[string]time.Duration{}, apartCPU: map[string]time.Duration{}}
	data, err := os.MkdirTemp("", "tc-bench-round-")
	if err != nil {
		return f, err
	}
	defer os.RemoveAll(data)
	s, err := startStack(ctx, bin, data, offset, nil)
	if err != nil {
		return f, err
	}
	defer s.stop()
	c, err := newClient(data, s)
	if err != nil {
		return f, err
	}
	// Each trial's submissions: 2 × contentionReviewers in the shared round, then
	// contentionReviewers more, each in a round of its own.
	per := 3 * contentionReviewers
	began := time.Now()
	ds, err := seed(ctx, c, per*trials, services{"signatory": true})
	if err != nil {
		return f, fmt.Errorf("seed: %w", err)
	}
	rv := s.url(8082)
	subs := make([]string, len(ds.orgs))
	if err := parallel(ctx, len(ds.orgs), func(i int) error {
		org := ds.orgs[i]
		lead, err := c.issuer.MintFor(auth.Principal{Subject: "round-lead-" + org, Role: auth.RoleLead, Org: org}, time.Hour, "tc-review")
		if err == nil {
			subs[i], err = submit(ctx, c, rv, lead)
		}
		if err != nil {
			return fmt.Errorf("submission of %s: %w", org, err)
		}
		return nil
	}); err != nil {
		return f, err
	}
	fmt.Printf("round: seeded %d organisations' submissions in %s\n", len(subs), time.Since(began).Round(time.Second))

	var themes []map[string]any
	for _, t := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		themes = append(themes, map[string]any{"theme": t, "score": 3, "strengths": "Clear", "recommendations": "More"})
	}
	// work has reviewer i accept and review their submission; it returns the two times.
	type job struct{ base, token string }
	act := func(j job) ([]time.Duration, error) {
		var took []time.Duration
		for _, step := range []struct {
			path string
			body any
		}{{"/response", map[string]any{"accept": true}}, {"/reviews", map[string]any{"themes": themes, "summary": "A credible plan."}}} {
			t0 := time.Now()
			if _, err := c.must(ctx, http.MethodPost, j.base+step.path, j.token, step.body); err != nil {
				return nil, err
			}
			took = append(took, time.Since(t0))
		}
		return took, nil
	}
	deadline := time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)
	pool, err := poolOrganisation(ctx, c)
	if err != nil {
		return f, fmt.Errorf("the reviewers' organisation: %w", err)
	}
	// openRound opens a round of subs (one reviewer each) and returns its path.
	openRound := func(name string, subs []string) (string, error) {
		round, err := c.must(ctx, http.MethodPost, rv+"/v1/review-rounds", c.ops, map[string]any{"name": name,
			"review_deadline": deadline, "reviewers_per_submission": 1})
		if err != nil {
			return "", err
		}
		base := rv + "/v1/review-rounds/" + round["id"].(string)
		_, err = c.must(ctx, http.MethodPost, base+"/submissions", c.ops, map[string]any{"submission_ids": subs})
		return base, err
	}
	for trial := range trials {
		mine := subs[trial*per : (trial+1)*per]
		shared, err := openRound(fmt.Sprintf("Contention %d", trial), mine[:2*contentionReviewers])
		if err != nil {
			return f, err
		}
		jobs := make([]job, per)
		for i, sub := range mine {
			base := shared
			if i >= 2*contentionReviewers {
				if base, err = openRound(fmt.Sprintf("Contention %d, apart %d", trial, i), []string{sub}); err != nil {
					return f, err
				}
			}
			id := fmt.Sprintf("round-rv-%d-%d", trial, i)
			if err := registerReviewer(ctx, c, rv, map[string]any{"reviewer_id": id, "name": "Reviewer",
				"email": fmt.Sprintf("rv%d-%d@pool.example.ac.uk", trial, i), "organisation_id": pool, "trained": true, "capacity": 1}); err != nil {
				return f, err
			}
			if _, err := c.must(ctx, http.MethodPost, base+"/assignments", c.ops, map[string]any{"action": "assign", "submission_id": sub,
				"reviewer_id": id, "reason": "Measured"}); err != nil {
				return f, err
			}
			tok, err := c.issuer.MintFor(auth.Principal{Subject: id, Role: auth.RoleReviewer, Org: pool}, time.Hour, "tc-review")
			if err != nil {
				return f, err
			}
			jobs[i] = job{base: base + "/submissions/" + sub, token: tok}
		}
		alone := func() error {
			for _, j := range jobs[:contentionReviewers] {
				took, err := act(j)
				if err != nil {
					return err
				}
				f.alone = append(f.alone, took...)
			}
			return nil
		}
		// atOnce has the reviewers of js work all at once, their times added to into.
		atOnce := func(js []job, into *[]time.Duration) error {
			var wg sync.WaitGroup
			var mu sync.Mutex
			var firstErr error
			start := make(chan struct{})
			for _, j := range js {
				wg.Go(func() {
					<-start
					took, err := act(j)
					mu.Lock()
					defer mu.Unlock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					*into = append(*into, took...)
				})
			}
			close(start)
			wg.Wait()
			return firstErr
		}
		together := func() error { return atOnce(jobs[contentionReviewers:2*contentionReviewers], &f.together) }
		apart := func() error { return atOnce(jobs[2*contentionReviewers:], &f.apart) }
		type phase struct {
			run  func() error
			cpu  map[string]time.Duration
			wall *time.Duration
		}
		order := []phase{{alone, f.aloneCPU, &f.aloneWall}, {together, f.togetherCPU, &f.togetherWall}, {apart, f.apartCPU, &f.apartWall}}
		// Each phase goes first, second and third in turn.
		for range trial % len(order) {
			order = append(order[1:], order[0])
		}
		for _, p := range order {
			// The trial's set-up (the reviewers' assignment emails) and the phase before
			// it leave work behind them: measured beside it, a phase would measure it too.
			if err := settled(ctx, s.cmd.Process.Pid); err != nil {
				fmt.Printf("round: trial %d: %v\n", trial, err)
			}
			before, began := cpuTimes(s.cmd.Process.Pid), time.Now()
			if err := p.run(); err != nil {
				return f, fmt.Errorf("trial %d: %w", trial, err)
			}
			*p.wall += time.Since(began)
			time.Sleep(500 * time.Millisecond) // the projections and emails the phase caused
			for n, d := range cpuTimes(s.cmd.Process.Pid) {
				p.cpu[n] += d - before[n]
			}
		}
		fmt.Printf("round: trial %d: alone p95 %s, at once p95 %s, at once in rounds apart p95 %s (so far)\n", trial, short(percentile(slices.Clone(f.alone), 95)),
			short(percentile(slices.Clone(f.together), 95)), short(percentile(slices.Clone(f.apart), 95)))
	}
	f.load = loadAverage()
	return f, nil
}

// settled waits until the stack's processes together use less than a tenth of a core
// over a quarter of a second, for up to 30 seconds.
func settled(ctx context.Context, pid int) error {
	busy := func(a, b map[string]time.Duration) time.Duration {
		var d time.Duration
		for n, t := range b {
			if n != machineTime && n != stolen {
				d += t - a[n]
			}
		}
		return d
	}
	var last time.Duration
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		before := cpuTimes(pid)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if last = busy(before, cpuTimes(pid)); last < 25*time.Millisecond {
			return nil
		}
	}
	return fmt.Errorf("the stack still used %s of CPU a quarter of a second after 30 s", last)
}

// percentile is the p-th percentile (0-100) of ds, which it sorts.
func percentile(ds []time.Duration, p int) time.Duration {
	slices.Sort(ds)
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, len(ds)*p/100)]
}

func contentionReport(f contentionFigures) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", contentionSection)
	fmt.Fprintf(&b, "Measured by `make bench` (or `bench -round-only`) on %s, %s: %d trials, each a review round of %d submissions with one reviewer each; "+
		"%d reviewers accept and then review one after another (each alone), the other %d all at once; as the baseline, %d more reviewers at once, "+
		"each in a round of their own (the same load with no round shared). The trials take the three in turn. "+
		"Every accept and every review is one timed request over loopback. Load average (1, 5, 15 minutes) at the end: %s.\n\n",
		f.machine, time.Now().UTC().Format("2006-01-02 15:04 UTC"), f.trials, f.perRoundSubmitted, contentionReviewers, contentionReviewers, contentionReviewers, f.load)
	a50, a95 := percentile(f.alone, 50), percentile(f.alone, 95)
	t50, t95 := percentile(f.together, 50), percentile(f.together, 95)
	fmt.Fprintf(&b, "| reviewers | requests | p50 | p95 |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| one alone | %d | %s | %s |\n", len(f.alone), short(a50), short(a95))
	fmt.Fprintf(&b, "| %d at once | %d | %s | %s |\n", contentionReviewers, len(f.together), short(t50), short(t95))
	p50, p95 := percentile(f.apart, 50), percentile(f.apart, 95)
	if len(f.apart) > 0 {
		fmt.Fprintf(&b, "| %d at once, each in a round of their own (baseline) | %d | %s | %s |\n", contentionReviewers, len(f.apart), short(p50), short(p95))
	}
	b.WriteString("\n")
	ratio := 0.0
	if a95 > 0 {
		ratio = float64(t95) / float64(a95)
	}
	fmt.Fprintf(&b, "p95 of %d at once against one alone: **%.2f** (target ≤ 2).", contentionReviewers, ratio)
	if len(f.apart) > 0 && p95 > 0 && a95 > 0 {
		fmt.Fprintf(&b, " With no round shared, %d at once against one alone: %.2f; so one round shared against none: **%.2f** (1: the shared round adds no wait).",
			contentionReviewers, float64(p95)/float64(a95), float64(t95)/float64(p95))
	}
	b.WriteString("\n")
	for _, ph := range []struct {
		name string
		cpu  map[string]time.Duration
		wall time.Duration
		n    int
	}{{"one alone", f.aloneCPU, f.aloneWall, len(f.alone)}, {fmt.Sprintf("%d at once", contentionReviewers), f.togetherCPU, f.togetherWall, len(f.together)},
		{fmt.Sprintf("%d at once in rounds of their own", contentionReviewers), f.apartCPU, f.apartWall, len(f.apart)}} {
		if ph.n == 0 || len(ph.cpu) == 0 {
			continue
		}
		var all time.Duration
		var parts []string
		for _, n := range slices.Sorted(maps.Keys(ph.cpu)) {
			if n == machineTime || n == stolen {
				continue
			}
			all += ph.cpu[n]
			parts = append(parts, fmt.Sprintf("%s %.2f ms", n, float64(ph.cpu[n].Microseconds())/1000/float64(ph.n)))
		}
		fmt.Fprintf(&b, "\nCPU per request, %s (from each phase's start until half a second after it, so the projections' and emails' work is in): %s; "+
			"together %.2f ms, over %s of the phases' own time.", ph.name, strings.Join(parts, ", "), float64(all.Microseconds())/1000/float64(ph.n), ph.wall.Round(time.Millisecond))
	}
	b.WriteString("\n")
	return b.String()
}
