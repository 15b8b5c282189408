package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/auth"
)

// figures collects the results for the report.
type figures struct {
	machine            string
	startup            time.Duration
	rss                map[string]int64 // KiB, idle
	rssLoaded          map[string]int64 // KiB, after load
	submitCPU          map[string]time.Duration
	submitAllCPU       map[string]time.Duration // until every consumer caught up
	ackCPU             map[string]time.Duration
	catchUp            time.Duration
	baselineCPU        map[string]time.Duration
	submitElapsed      time.Duration // each of the submit load and its baseline, over all slices
	slices             int
	submitN, baselineN float64 // requests that succeeded
	stackRSS           int64
	submit, baseline   rate
	ack, jetstream     latency
	ackRate            int
	smtp               time.Duration
	sweep1k, sweep100k time.Duration
	plan, greedyPlan   planRun // review assignment: the optimiser and the greedy baseline
}

type rate struct {
	perSecond float64
	p50, p99  time.Duration
	errors    int
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	bin := fs.String("bin", "bin", "where make build put the binaries")
	out := fs.String("out", "docs/BENCHMARKS.md", "the report to write")
	duration := fs.Duration("duration", 10*time.Second, "how long each load runs")
	submitOnly := fs.Bool("submit-only", false, "measure start-up, footprint and submit throughput only, for a quick comparison of two builds")
	slices := fs.Int("slices", 5, "how many turns the submit load and its baseline take, alternating, within -duration each")
	sweep := fs.String("sweep", "", "a file with the notify sweep benchmark's output, to include instead of running it")
	root := fs.String("root", "..", "the repository, whose services/notify holds the sweep benchmark")
	ackRate := fs.Int("ack-rate", 100, "submissions per second while measuring event latency")
	profile := fs.String("profile", "", "a directory to write CPU profiles of NATS + FerretDB (tcdev) to, taken during each load")
	latencyOnly := fs.Bool("latency-only", false, "measure the event latency only (no submit load before it), print it and write nothing: to compare two builds")
	readsOnly := fs.Bool("reads-only", false, "measure read scaling only, and replace only its section of the report")
	readsSmall := fs.Int("reads-small", 20, "organisations (each with an application) in the smaller data set of the read scaling")
	readsLarge := fs.Int("reads-large", 200, "organisations in the larger data set, ten times the smaller")
	readsBurst := fs.Int("reads-burst", 60000, "applications the fund holds when its list is timed at burst scale (0: not timed)")
	readsOffset := fs.Int("reads-port-offset", 300, "the port offset of the read scaling's own stack, so that it runs beside another")
	readsOf := fs.String("reads-of", "", "measure only these services' reads (comma-separated: signatory,review,fund,notify; empty: all)")
	pagesOnly := fs.Bool("pages-only", false, "time the portal's pages only, and replace only their section of the report")
	pagesOrgs := fs.Int("pages-orgs", 150, "organisations announced in the portal pages' data set")
	pagesReviewers := fs.Int("pages-reviewers", 400, "reviewers in the pool of the portal pages' data set")
	pagesRounds := fs.Int("pages-rounds", 3, "review rounds in the portal pages' data set (all but the latest closed, feedback released)")
	pagesSamples := fs.Int("pages-samples", 30, "sequential requests timing each portal page")
	pagesOffset := fs.Int("pages-port-offset", 400, "the port offset of the portal pages' own stack")
	pagesScaling := fs.Bool("pages-scaling", true, "also time the pages on a data set a tenth the size, for the large/small ratio")
	roundOnly := fs.Bool("round-only", false, "measure concurrency on one review round only, and replace only its section of the report")
	roundTrials := fs.Int("round-trials", 4, "review rounds the concurrency on one round is measured on")
	roundOffset := fs.Int("round-port-offset", 500, "the port offset of the concurrency measurement's own stack")
	readsKeep := fs.Bool("reads-keep", false, "keep the read scaling's larger data set (its directory is printed), to start tcdev on it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	measureReads := func() error {
		of := services{}
		for _, name := range strings.Split(*readsOf, ",") {
			if name = strings.TrimSpace(name); name != "" {
				of[name] = true
			}
		}
		rf, err := readScaling(ctx, *bin, *readsOffset, *readsSmall, *readsLarge, *readsBurst, of, *readsKeep)
		if err != nil {
			return fmt.Errorf("read scaling: %w", err)
		}
		old, _ := os.ReadFile(*out)
		return os.WriteFile(*out, []byte(withReadsSection(string(old), readsReport(rf))), 0o600) // #nosec G703 -- the report file the operator names with -out
	}
	measurePages := func() error {
		if *pagesOrgs < 1 || *pagesReviewers < 2 || *pagesRounds < 1 || *pagesSamples < 1 {
			return fmt.Errorf("-pages-orgs, -pages-rounds and -pages-samples must be at least 1, -pages-reviewers at least 2")
		}
		pf, err := pageTimings(ctx, *bin, *pagesOffset, pageScale{orgs: *pagesOrgs, reviewers: *pagesReviewers, rounds: *pagesRounds}, *pagesSamples, *pagesScaling)
		if err != nil {
			return fmt.Errorf("portal pages: %w", err)
		}
		old, _ := os.ReadFile(*out)
		return os.WriteFile(*out, []byte(withSection(string(old), pagesSection, pagesReport(pf))), 0o600) // #nosec G703 -- the report file the operator names with -out
	}
	measureRound := func() error {
		if *roundTrials < 1 {
			return fmt.Errorf("-round-trials must be at least 1")
		}
		cf, err := roundContention(ctx, *bin, *roundOffset, *roundTrials)
		if err != nil {
			return fmt.Errorf("concurrency on one round: %w", err)
		}
		old, _ := os.ReadFile(*out)
		return os.WriteFile(*out, []byte(withSection(string(old), contentionSection, contentionReport(cf))), 0o600) // #nosec G703 -- the report file the operator names with -out
	}
	if *readsOnly {
		return measureReads()
	}
	if *roundOnly {
		return measureRound()
	}
	if *pagesOnly {
		return measurePages()
	}
	var f figures
	f.machine = machine()
	data, err := os.MkdirTemp("", "tc-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)

	// 1. Start-up: from starting the stack to tcdev's word that every process of it
	// is ready (each /readyz green, the portal's too).
	var stackArgs []string
	if *profile != "" {
		stackArgs = []string{"-pprof", pprofAddr}
	}
	began := time.Now()
	st, err := startStack(ctx, *bin, data, 0, stackArgs)
	if err != nil {
		return err
	}
	defer st.stop()
	stack := st.cmd
	f.startup = time.Since(began)
	fmt.Printf("start-up to all ready: %s\n", f.startup.Round(time.Millisecond))

	// 2. Footprint, idle.
	time.Sleep(3 * time.Second)
	f.rss, f.stackRSS = footprint(stack.Process.Pid)
	fmt.Printf("idle RSS (KiB): %v, stack %d\n", f.rss, f.stackRSS)

	// 3. Submit throughput against raw inserts into the same store.
	issuer, err := auth.LoadOrCreateDevIssuer(filepath.Join(data, "dev-signing-key.pem"), "http://127.0.0.1:8079", "tc-fund")
	if err != nil {
		return err
	}
	round, applicant, err := prepareFund(ctx, issuer)
	if err != nil {
		return err
	}
	// The two loads take turns, a slice of each at a time, and each slice of drafts is
	// followed by a wait for every consumer to catch up with it, so the baseline runs on
	// a system at rest as the drafts did: the host's speed drifts from minute to minute
	// (the same code's CPU per draft varied by 2x between runs), and alternating puts
	// the drift on both sides of the ratio alike.
	raw, err := openRawInserts(ctx)
	if err != nil {
		return err
	}
	defer raw.close()
	slice := *duration / time.Duration(*slices)
	var drafts, inserts tally
	f.submitAllCPU = map[string]time.Duration{}
	turns := *slices
	if *latencyOnly {
		turns = 0
	}
	for i := range turns {
		stopProfile := func() {}
		if i == 0 {
			stopProfile = cpuProfile(*profile, "submit", slice)
		}
		cpu0, began := cpuTimes(stack.Process.Pid), time.Now()
		ok, errs, lat := attack(round, applicant, slice)
		drafts.add(ok, errs, lat, time.Since(began), cpuSpent(cpu0, cpuTimes(stack.Process.Pid)))
		stopProfile()
		took, err := caughtUp(ctx, "nats://127.0.0.1:4222", 5*time.Minute)
		if err != nil {
			return err
		}
		// Everything a draft causes, the views and other consumers' work included, is
		// done by now: the CPU from the slice's start to here is what its drafts cost.
		addCPU(f.submitAllCPU, cpuSpent(cpu0, cpuTimes(stack.Process.Pid)))
		f.catchUp = max(f.catchUp, took)

		if i == 0 {
			stopProfile = cpuProfile(*profile, "raw-inserts", slice)
		}
		cpu0, began = cpuTimes(stack.Process.Pid), time.Now()
		ok, errs, lat = raw.run(ctx, slice)
		inserts.add(ok, errs, lat, time.Since(began), cpuSpent(cpu0, cpuTimes(stack.Process.Pid)))
		stopProfile()
		fmt.Printf("slice %d: submissions %.0f/s, raw inserts %.0f/s\n", i+1, drafts.lastRate, inserts.lastRate)
	}
	if inserts.ok == 0 && !*latencyOnly {
		return fmt.Errorf("no raw insert succeeded")
	}
	f.submit, f.submitCPU, f.submitN = drafts.rate(), drafts.cpu, float64(drafts.ok)
	f.baseline, f.baselineCPU, f.baselineN = inserts.rate(), inserts.cpu, float64(inserts.ok)
	f.submitElapsed, f.slices = *duration, *slices
	fmt.Printf("submissions: %.0f/s p50 %s p99 %s errors %d\n", f.submit.perSecond, f.submit.p50, f.submit.p99, f.submit.errors)
	fmt.Printf("CPU during the submissions: %s\n", cpuLine(f.submitCPU, f.submitN))
	fmt.Printf("consumers caught up with each slice of submissions within %s\n", f.catchUp.Round(time.Millisecond))
	fmt.Printf("CPU from each slice's start until caught up: %s\n", cpuLine(f.submitAllCPU, f.submitN))
	fmt.Printf("raw inserts: %.0f/s p50 %s p99 %s\n", f.baseline.perSecond, f.baseline.p50, f.baseline.p99)
	fmt.Printf("CPU during the raw inserts: %s\n", cpuLine(f.baselineCPU, f.baselineN))
	f.rssLoaded, _ = footprint(stack.Process.Pid)
	if *submitOnly {
		return os.WriteFile(*out, []byte(report(f)), 0o600)
	}

	// 4. Event latency: a submission's response to its acknowledgement email, at a
	// steady rate, against raw JetStream publish → consume on the same server.
	f.ackRate = *ackRate
	if f.smtp, err = smtpRoundTrip(); err != nil {
		return err
	}
	cpu0 := cpuTimes(stack.Process.Pid)
	f.ack, err = eventLatency(ctx, round, applicant, *ackRate, *duration, func() func() {
		return cpuProfile(*profile, "event-latency", *duration)
	})
	if err != nil {
		return err
	}
	f.ackCPU = cpuSpent(cpu0, cpuTimes(stack.Process.Pid))
	fmt.Printf("submission → email: p50 %s p90 %s p95 %s p99 %s max %s (%d measured, %d missing); one SMTP round trip %s\n",
		f.ack.p50, f.ack.p90, f.ack.p95, f.ack.p99, f.ack.max, f.ack.n, f.ack.missing, f.smtp)
	fmt.Printf("CPU during the latency load: %s\n", cpuLine(f.ackCPU, float64(f.ack.n)))
	if f.jetstream, err = jetStreamLatency(ctx, "nats://127.0.0.1:4222", *ackRate, *duration); err != nil {
		return err
	}
	fmt.Printf("JetStream publish → consume: p50 %s p90 %s p95 %s p99 %s max %s\n", f.jetstream.p50, f.jetstream.p90, f.jetstream.p95, f.jetstream.p99, f.jetstream.max)
	if *latencyOnly {
		return nil
	}

	// 5. Reminder sweep scaling: notify's BenchmarkSweep, 1,000 against 100,000
	// organisations with the same number due.
	var sweepOut []byte
	if *sweep != "" {
		sweepOut, err = os.ReadFile(*sweep)
	} else {
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "BenchmarkSweep", "-benchtime", "3x", "-timeout", "30m", "./internal/adapters/")
		cmd.Dir = filepath.Join(*root, "services", "notify")
		cmd.Env = append(os.Environ(), "GOWORK=off")
		sweepOut, err = cmd.CombinedOutput()
	}
	if err != nil {
		return fmt.Errorf("sweep benchmark: %w\n%s", err, sweepOut)
	}
	f.sweep1k, f.sweep100k = sweepFigures(string(sweepOut))
	fmt.Printf("reminder sweep: 1,000 organisations %s, 100,000 organisations %s\n", f.sweep1k, f.sweep100k)
	if f.plan, f.greedyPlan, err = measureAssignment(ctx, *root); err != nil {
		return err
	}
	fmt.Print("assignment: " + assignmentRow(f.plan, f.greedyPlan))
	// The hand-written account of earlier runs (from the "## Before and after"
	// heading on) is kept under the new table.
	text := report(f)
	if old, err := os.ReadFile(*out); err == nil {
		if i := strings.Index(string(old), keptHeading); i >= 0 {
			text += "\n" + string(old[i:])
		}
	}
	if err := os.WriteFile(*out, []byte(text), 0o600); err != nil { // #nosec G703 -- the report file the operator names with -out
		return err
	}
	// The measures below start stacks of their own: this one, holding the submit
	// load's applications, is stopped rather than left to run its sweeps, relays and
	// polls beside them.
	st.stop()
	// 6. Read scaling, on a stack of its own.
	if err := measureReads(); err != nil {
		return err
	}
	// 7. Concurrency on one review round, on a stack of its own.
	if err := measureRound(); err != nil {
		return err
	}
	// 8. The portal's pages, on a stack of their own with a realistic history.
	return measurePages()
}

// stackProcesses returns the stack process and each of its children, by name.
func stackProcesses(root int) map[string]int {
	out := map[string]int{"tcdev (NATS + FerretDB)": root}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fields := procStat(pid)
		if len(fields) > 1 && fields[1] == strconv.Itoa(root) {
			name, _ := procRSS(pid)
			out[name] = pid
		}
	}
	return out
}

// procStat returns the fields of /proc/pid/stat after the command name.
func procStat(pid int) []string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
}

// footprint reads the resident memory of the stack process and each child, by name.
func footprint(root int) (map[string]int64, int64) {
	out := map[string]int64{}
	var total int64
	for name, pid := range stackProcesses(root) {
		_, rss := procRSS(pid)
		out[name] = rss
		total += rss
	}
	return out, total
}

// loadGenerator names this process among the stack's in CPU accounts.
const loadGenerator = "load generator (this process)"

// cpuTimes reads the CPU time (user + system) used so far by the stack's processes
// and by this one, the load generator.
func cpuTimes(root int) map[string]time.Duration {
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	out := map[string]time.Duration{}
	for name, pid := range stackProcesses(root) {
		if fields := procStat(pid); len(fields) > 12 {
			user, _ := strconv.ParseInt(fields[11], 10, 64)
			system, _ := strconv.ParseInt(fields[12], 10, 64)
			out[name] = time.Duration(user+system) * tick
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		out[loadGenerator] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if stat, err := os.ReadFile("/proc/stat"); err == nil {
		// The machine's line: user nice system idle iowait irq softirq steal ...
		fields := strings.Fields(strings.SplitN(string(stat), "\n", 2)[0])
		var total int64
		for i, f := range fields[1:] {
			n, _ := strconv.ParseInt(f, 10, 64)
			if i < 8 {
				total += n
			}
			if i == 7 {
				out[stolen] = time.Duration(n) * tick
			}
		}
		out[machineTime] = time.Duration(total) * tick
	}
	return out
}

// stolen and machineTime are the virtual machine's CPU time taken by its host, and
// all its CPU time, in cpuTimes' readings: a busy host shows as steal.
const (
	stolen      = "stolen by the host"
	machineTime = "machine"
)

// cpuSpent is the CPU time each process used between two readings.
func cpuSpent(before, after map[string]time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, t := range after {
		out[name] = t - before[name]
	}
	return out
}

func procRSS(pid int) (string, int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", 0
	}
	defer f.Close()
	var name string
	var rss int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "Name:"); ok {
			name = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return name, rss
}

// prepareFund makes an announced signatory (through the signatory service, as a user
// would) and opens a round, and returns the round and an applicant token.
func prepareFund(ctx context.Context, issuer *auth.DevIssuer) (string, string, error) {
	// Each service accepts a token only for its own audience: ops works at the
	// signatory and the fund services here, the applicant at the fund service.
	ops, _ := issuer.MintFor(auth.Principal{Subject: "bench-ops", Role: auth.RoleOps}, time.Hour, "tc-signatory", "tc-fund")
	post := func(url string, body any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+ops)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode >= 300 {
			return nil, fmt.Errorf("POST %s: %d %v", url, resp.StatusCode, m)
		}
		return m, nil
	}
	s := "http://127.0.0.1:8081/v1/organisations"
	org, err := post(s, map[string]any{"name": "Bench University", "kind": "signatory", "sector": "higher_education", "country": "GB",
		"website": "https://bench.example.ac.uk", "enquiry_contact": map[string]any{"name": "B", "email": "b@bench.example.ac.uk"}})
	if err != nil {
		return "", "", err
	}
	id := org["id"].(string)
	steps := []struct {
		path string
		body any
	}{
		{"/meeting", map[string]any{"held_on": "2025-01-10"}},
		{"/form", map[string]any{"signed_on": "2025-02-01", "leader": map[string]any{"name": "L", "email": "l@bench.example.ac.uk"},
			"nominated_lead": map[string]any{"name": "N", "email": "n@bench.example.ac.uk"}, "point_of_contact": map[string]any{"name": "P"}}},
		{"/announcement", map[string]any{"announced_on": "2025-03-01"}},
	}
	for _, st := range steps {
		if _, err := post(s+"/"+id+st.path, st.body); err != nil {
			return "", "", err
		}
	}
	round, err := post("http://127.0.0.1:8084/v1/rounds", map[string]any{"name": "Bench", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339),
		"closes": time.Now().Add(240 * time.Hour).Format(time.RFC3339), "budget_pence": 100000000, "min_award_pence": 100, "max_award_pence": 100000,
		"project_start": "2027-01-01", "project_end": "2027-12-31", "themes": []string{"visibility"}})
	if err != nil {
		return "", "", err
	}
	applicant, _ := issuer.MintFor(auth.Principal{Subject: "bench-applicant", Role: auth.RoleApplicant, Org: id}, time.Hour, "tc-fund")
	// Wait until the fund has taken in the announcement.
	for i := 0; i < 200; i++ {
		if code := postStatus(ctx, applicant, draftBody(round["id"].(string))); code == http.StatusCreated {
			return round["id"].(string), applicant, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", "", fmt.Errorf("the fund service never learnt of the announcement")
}

func draftBody(round string) []byte {
	b, _ := json.Marshal(map[string]any{
		"round_id": round, "title": "Bench", "summary": "Load.", "themes": []string{"visibility"}, "requested_amount_pence": 500,
		"partners": []map[string]any{{"name": "P"}}, "endorsement": map[string]any{"name": "N", "email": "n@bench.example.ac.uk"},
		"budget_lines": []map[string]any{{"description": "x", "amount_pence": 500}}, "milestones": []map[string]any{{"description": "m", "due": "2027-06-01"}},
	})
	return b
}

func postStatus(ctx context.Context, token string, body []byte) int {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:8084/v1/applications", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// attack submits applications over HTTP from 32 concurrent clients, as fast as the
// service answers, with vegeta, for d; it returns the submissions accepted, the
// others, and the latency of each accepted one.
func attack(round, token string, d time.Duration) (int, int, []time.Duration) {
	body := draftBody(round)
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: "http://127.0.0.1:8084/v1/applications", Body: body,
		Header: http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}})
	attacker := vegeta.NewAttacker(vegeta.Workers(32), vegeta.MaxWorkers(32), vegeta.KeepAlive(true))
	var lat []time.Duration
	errs := 0
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: 0}, d, "submit") {
		if res.Code == http.StatusCreated {
			lat = append(lat, res.Latency)
		} else {
			errs++
		}
	}
	return len(lat), errs, lat
}

// tally adds up one load over its slices.
type tally struct {
	ok, errors int
	elapsed    time.Duration
	lat        []time.Duration
	cpu        map[string]time.Duration
	lastRate   float64 // of the latest slice
}

func (t *tally) add(ok, errs int, lat []time.Duration, elapsed time.Duration, cpu map[string]time.Duration) {
	t.ok, t.errors, t.elapsed = t.ok+ok, t.errors+errs, t.elapsed+elapsed
	t.lat = append(t.lat, lat...)
	if t.cpu == nil {
		t.cpu = map[string]time.Duration{}
	}
	addCPU(t.cpu, cpu)
	t.lastRate = float64(ok) / elapsed.Seconds()
}

// rate is the load's throughput over the time its slices took, and its latencies.
func (t *tally) rate() rate {
	r := rate{errors: t.errors}
	if len(t.lat) == 0 || t.elapsed <= 0 {
		return r
	}
	sort.Slice(t.lat, func(i, j int) bool { return t.lat[i] < t.lat[j] })
	r.perSecond = float64(t.ok) / t.elapsed.Seconds()
	r.p50, r.p99 = t.lat[len(t.lat)/2], t.lat[len(t.lat)*99/100]
	return r
}

// addCPU adds one reading of cpuSpent to a running total.
func addCPU(total, spent map[string]time.Duration) {
	for name, t := range spent {
		total[name] += t
	}
}

// rawInserts is the baseline: the same kind of commit document inserted through the
// same driver into the same store at the same concurrency, with nothing in between.
type rawInserts struct {
	client *mongo.Client
	coll   *mongo.Collection
	n      atomic.Int64
}

// openRawInserts connects and inserts one document, so that the first slice does not
// pay for the connection or for creating the collection.
func openRawInserts(ctx context.Context) (*rawInserts, error) {
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://127.0.0.1:27017/"))
	if err != nil {
		return nil, err
	}
	r := &rawInserts{client: client, coll: client.Database("bench_baseline").Collection("events")}
	if _, err := r.coll.InsertOne(ctx, r.doc(-1)); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return r, nil
}

func (r *rawInserts) close() { _ = r.client.Disconnect(context.Background()) }

func (r *rawInserts) doc(i int64) bson.D {
	return bson.D{{Key: "_id", Value: fmt.Sprintf("b-%d-%d", time.Now().UnixNano(), i)}, {Key: "aggregate_type", Value: "application"},
		{Key: "aggregate_id", Value: fmt.Sprintf("a-%d", i)}, {Key: "version", Value: 1}, {Key: "published", Value: false},
		{Key: "time", Value: time.Now()}, {Key: "events", Value: bson.A{bson.D{{Key: "type", Value: "tc.fund.application.drafted.v1"}, {Key: "data", Value: string(draftBody("r"))}}}}}
}

// run inserts from 32 goroutines for d; it returns the inserts that succeeded, the
// others, and the latency of each that succeeded.
func (r *rawInserts) run(ctx context.Context, d time.Duration) (int, int, []time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			var mine []time.Duration
			failed := 0
			for time.Now().Before(stop) {
				t := time.Now()
				if _, err := r.coll.InsertOne(ctx, r.doc(r.n.Add(1))); err == nil {
					mine = append(mine, time.Since(t))
				} else {
					failed++
				}
			}
			mu.Lock()
			lat, errs = append(lat, mine...), errs+failed
			mu.Unlock()
		})
	}
	wg.Wait()
	return len(lat), errs, lat
}

// sweepFigures reads the time per sweep of each population from the benchmark's output.
func sweepFigures(out string) (time.Duration, time.Duration) {
	var k1, k100 time.Duration
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "ns/op" {
			continue
		}
		ns, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(f[0], "BenchmarkSweep/orgs=1000-"):
			k1 = time.Duration(ns)
		case strings.HasPrefix(f[0], "BenchmarkSweep/orgs=100000-"):
			k100 = time.Duration(ns)
		}
	}
	return k1, k100
}

func machine() string {
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if line := strings.SplitN(string(b), "\n", 2)[0]; line != "" {
			mem = strings.Join(strings.Fields(line)[1:], " ")
		}
	}
	return fmt.Sprintf("%d cores, %s memory, %s/%s, %s", runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// keptHeading starts the part of the report that a run keeps as it was.
const keptHeading = "## Before and after"

// short rounds a duration for the report.
func short(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }

func report(f figures) string {
	var b strings.Builder
	ratio := f.submit.perSecond / f.baseline.perSecond
	fmt.Fprintf(&b, "# Benchmarks\n\nMeasured by `make bench` on %s, %s. Reproduce with `make bench`.\n", f.machine, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	b.WriteString("Every figure stands beside a baseline from the same run: the machines are shared and noisy, so absolute numbers matter less than the ratios.\n\n")
	b.WriteString("| measure | suite | baseline (same run) | ratio | target |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| submit throughput, 32 clients over HTTP | %.0f/s (p50 %s, p99 %s, %d errors) | raw inserts: %.0f/s (p50 %s, p99 %s) | %.2f | ≥ 1.0 (issue 22; issue 8 asked 0.7) |\n",
		f.submit.perSecond, f.submit.p50.Round(time.Microsecond*100), f.submit.p99.Round(time.Microsecond*100), f.submit.errors,
		f.baseline.perSecond, f.baseline.p50.Round(time.Microsecond*100), f.baseline.p99.Round(time.Microsecond*100), ratio)
	if f.ack.n > 0 {
		limit := f.jetstream.p99 + f.smtp + 20*time.Millisecond
		fmt.Fprintf(&b, "| event latency at %d submissions/s: submission's response → acknowledgement email accepted by SMTP | p50 %s, p90 %s, p99 %s, max %s (%d emails, %d missing) | JetStream publish → consume: p50 %s, p99 %s; one SMTP round trip %s | p99 %s vs limit %s | p99 ≤ baseline p99 + SMTP round trip + 20 ms |\n",
			f.ackRate, short(f.ack.p50), short(f.ack.p90), short(f.ack.p99), short(f.ack.max), f.ack.n, f.ack.missing, short(f.jetstream.p50), short(f.jetstream.p99), short(f.smtp), short(f.ack.p99), short(limit))
	}
	if f.sweep1k > 0 && f.sweep100k > 0 {
		fmt.Fprintf(&b, "| reminder sweep: find and settle one day's 100 due reminders | 100,000 organisations: %s | 1,000 organisations: %s | %.2f | < 2 |\n",
			f.sweep100k.Round(time.Millisecond), f.sweep1k.Round(time.Millisecond), float64(f.sweep100k)/float64(f.sweep1k))
	}
	if f.plan.perPlan > 0 {
		b.WriteString(assignmentRow(f.plan, f.greedyPlan))
	}
	fmt.Fprintf(&b, "| start-up to every /readyz green, the portal's too | %s | | | < 3 s |\n", f.startup.Round(time.Millisecond))
	names := make([]string, 0, len(f.rss))
	for n := range f.rss {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "| resident memory, %s | idle %.1f MiB, after load %.1f MiB | | | services < 40 MiB idle |\n", n, float64(f.rss[n])/1024, float64(f.rssLoaded[n])/1024)
	}
	fmt.Fprintf(&b, "| resident memory, whole local stack idle | %.1f MiB | | | < 200 MiB |\n", float64(f.stackRSS)/1024)
	if len(f.submitCPU) > 0 {
		fmt.Fprintf(&b, "\nThe submit load and its baseline ran %s each, in %d alternating slices (each slice of drafts followed by a wait for every consumer to catch up), "+
			"so that the host's drift in speed weighs on both alike.\n", f.submitElapsed, f.slices)
		fmt.Fprintf(&b, "\nCPU used during the submit load, per process (ms per request): %s. During the raw inserts: %s. The machine has %d cores: "+
			"what the processes use together is what it can give.\n",
			cpuLine(f.submitCPU, f.submitN), cpuLine(f.baselineCPU, f.baselineN), runtime.NumCPU())
		fmt.Fprintf(&b, "\nEverything the drafts caused, from each slice's start until every consumer had caught up (within %s after it): %s.\n",
			f.catchUp.Round(time.Millisecond), cpuLine(f.submitAllCPU, f.submitN))
	}
	if len(f.ackCPU) > 0 {
		fmt.Fprintf(&b, "\nCPU during the event latency load (ms per submission, its draft and its email): %s.\n", cpuLine(f.ackCPU, float64(f.ack.n)))
	}

	return b.String()
}

// cpuLine lists the CPU time of the processes that used any, busiest first, with
// the time per request for n requests.
func cpuLine(spent map[string]time.Duration, n float64) string {
	names := make([]string, 0, len(spent))
	var total time.Duration
	for name, t := range spent {
		if t > 0 && name != stolen && name != machineTime {
			names = append(names, name)
			total += t
		}
	}
	sort.Slice(names, func(i, j int) bool { return spent[names[i]] > spent[names[j]] })
	parts := make([]string, 0, len(names)+1)
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f s (%.2f ms)", name, spent[name].Seconds(), spent[name].Seconds()*1000/max(n, 1)))
	}
	parts = append(parts, fmt.Sprintf("together %.1f s (%.2f ms)", total.Seconds(), total.Seconds()*1000/max(n, 1)))
	if spent[machineTime] > 0 {
		parts = append(parts, fmt.Sprintf("%.0f%% of the machine's time stolen by its host", 100*spent[stolen].Seconds()/spent[machineTime].Seconds()))
	}
	return strings.Join(parts, ", ")
}

// pprofAddr is where tcdev serves its profiles when asked to (-profile).
const pprofAddr = "127.0.0.1:6060"

// cpuProfile starts taking a CPU profile of tcdev for d into dir/name.pprof; the
// returned function waits for it. Without a dir it does nothing.
func cpuProfile(dir, name string, d time.Duration) func() {
	if dir == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, int(d.Seconds())))
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer resp.Body.Close()
		_ = os.MkdirAll(dir, 0o750)
		f, err := os.Create(filepath.Join(dir, name+".pprof")) // #nosec G304 -- the profile folder the operator names
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}()
	return func() { <-done }
}
