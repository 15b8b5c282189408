package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/itss/techcommit/libs/auth"
)

// Read scaling: the same reads timed on two data sets ten times apart, on a stack of
// its own (at a port offset, so that it can run beside another stack), and on the
// larger set again from the first request after a restart. A read whose cost follows
// its page, not the history, has a large/small ratio near 1.

// readsSection starts the report's read scaling section; -reads-only replaces just it.
const readsSection = "## Read scaling"

// readSamples is how many sequential requests time each read.
const readSamples = 30

// unlimited lifts the per-caller and per-address rate limits to their ceiling
// (config.MaxRate), past what one client driving the load sends: this measures the
// services, not the limiters.
var unlimited = []string{"FUND_WRITE_RATE=10000", "FUND_WRITE_BURST=10000",
	"RATE_WRITE_PER_SECOND=10000", "RATE_WRITE_BURST=10000", "RATE_READ_PER_SECOND=10000", "RATE_READ_BURST=10000",
	"RATE_PUBLIC_PER_SECOND=10000", "RATE_PUBLIC_BURST=10000"}

// stack is one tcdev run on a data directory.
type stack struct {
	cmd    *exec.Cmd
	logs   syncBuffer
	offset int
	// exited is closed once tcdev has exited, and err is then what Wait said.
	exited chan struct{}
	err    error
}

func (s *stack) url(port int) string { return fmt.Sprintf("http://127.0.0.1:%d", port+s.offset) }

// upLine is what tcdev prints once every process of its stack is ready.
const upLine = "Technician Commitment suite is up"

// startStack starts tcdev on data at offset, with args added to its command line;
// env is added to (and overrides) the services' environment. It returns once this
// tcdev says its stack is up, or its error when tcdev exits first: another stack on
// the same ports (a bench left running) answers /readyz as well, and a bench that
// polled only /readyz went on with the other stack and its signing key (every
// request 401).
func startStack(ctx context.Context, bin, data string, offset int, args []string, env ...string) (*stack, error) {
	s := &stack{offset: offset, exited: make(chan struct{})}
	// #nosec G204 -- the benchmark runs the tcdev its operator built and names with -bin
	s.cmd = exec.CommandContext(ctx, filepath.Join(bin, "tcdev"), append([]string{"run", "-data", data, "-bin", bin, "-port-offset", fmt.Sprint(offset)}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = &s.logs, &s.logs
	s.cmd.Env = append(append(append(os.Environ(), unlimited...), "LOG_LEVEL=warn"), env...)
	stopWithBench(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the stack: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.After(120 * time.Second)
	for !strings.Contains(s.logs.String(), upLine) {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("the stack exited before it was up (%v):\n%s", s.err, s.logs.String())
		case <-deadline:
			s.stop()
			return nil, fmt.Errorf("the stack was not up within 120s:\n%s", s.logs.String())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return s, nil
}

// stop stops the stack and waits for it to exit; once it has, a call does nothing.
func (s *stack) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	<-s.exited
}

// client calls a stack's services with tokens minted by its development issuer.
type client struct {
	s      *stack
	issuer *auth.DevIssuer
	ops    string
}

func (c *client) do(ctx context.Context, method, url, token string, body any) (int, map[string]any, error) {
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	// Read to its end (a calendar feed is not JSON), so that the connection is kept
	// for the next request rather than closed and dialled again.
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, m, nil
}

// must is do, failing unless the status is below 300. A 503 says to retry shortly
// (the embedded store's one writer can hold a write past its timeout while a seed's
// projections catch up), so it is retried for up to a minute.
func (c *client) must(ctx context.Context, method, url, token string, body any) (map[string]any, error) {
	code, m, err := c.do(ctx, method, url, token, body)
	for deadline := time.Now().Add(time.Minute); err == nil && code == http.StatusServiceUnavailable && time.Now().Before(deadline); {
		time.Sleep(time.Second)
		code, m, err = c.do(ctx, method, url, token, body)
	}
	if err == nil && code >= 300 {
		err = fmt.Errorf("%s %s: %d %v", method, url, code, m)
	}
	return m, err
}

// dataSet is what seed made, for the reads to name.
type dataSet struct {
	orgs, applications []string
	round              string
	applicants         map[string]string // organisation → applicant token
	review             *reviewSet        // nil when the review reads are not measured
	// calendar is the path of the middle organisation's calendar feed (public; its
	// token is the secret), read from notify when its reads are measured.
	calendar string
}

// seed onboards n organisations (each announced on a day of its own, so that their
// obligations and reminders spread), opens a fund round, and has each organisation
// draft and submit an application (when the fund's reads are measured) and a
// submission for review (when the review's are); then waits for every consumer to
// catch up.
func seed(ctx context.Context, c *client, n int, of services) (*dataSet, error) {
	ds := &dataSet{applicants: map[string]string{}}
	sig := c.s.url(8081) + "/v1/organisations"
	var mu sync.Mutex
	if err := parallel(ctx, n, func(i int) error {
		id, err := onboard(ctx, c, sig, i)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		ds.orgs = append(ds.orgs, id)
		return nil
	}); err != nil {
		return nil, err
	}
	slices.Sort(ds.orgs)
	if of.has("review") {
		if err := seedReview(ctx, c, ds); err != nil {
			return nil, fmt.Errorf("seed review: %w", err)
		}
	}
	if of.has("notify") {
		if err := seedCalendar(ctx, c, ds); err != nil {
			return nil, err
		}
	}
	if !of.has("fund") {
		if _, err := caughtUp(ctx, fmt.Sprintf("nats://127.0.0.1:%d", 4222+c.s.offset), 10*time.Minute); err != nil {
			return nil, err
		}
		return ds, quiet(ctx, c)
	}
	round, err := c.must(ctx, http.MethodPost, c.s.url(8084)+"/v1/rounds", c.ops, map[string]any{"name": "Reads", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339),
		"closes": time.Now().Add(240 * time.Hour).Format(time.RFC3339), "budget_pence": 100000000, "min_award_pence": 100, "max_award_pence": 100000,
		"project_start": "2027-01-01", "project_end": "2027-12-31", "themes": []string{"visibility"}})
	if err != nil {
		return nil, err
	}
	ds.round = round["id"].(string)
	for _, org := range ds.orgs {
		tok, err := c.issuer.MintFor(auth.Principal{Subject: "reads-" + org, Role: auth.RoleApplicant, Org: org}, time.Hour, "tc-fund")
		if err != nil {
			return nil, err
		}
		ds.applicants[org] = tok
	}
	if err := parallel(ctx, len(ds.orgs), func(i int) error {
		org := ds.orgs[i]
		id, err := apply(ctx, c, ds.round, org, ds.applicants[org])
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		ds.applications = append(ds.applications, id)
		return nil
	}); err != nil {
		return nil, err
	}
	slices.Sort(ds.orgs)
	slices.Sort(ds.applications)
	if _, err = caughtUp(ctx, fmt.Sprintf("nats://127.0.0.1:%d", 4222+c.s.offset), 10*time.Minute); err != nil {
		return nil, err
	}
	return ds, quiet(ctx, c)
}

// seedCalendar reads the address of the middle organisation's calendar feed, as its
// lead or ops does to subscribe, retrying while notify has not yet heard of the
// organisation.
func seedCalendar(ctx context.Context, c *client, ds *dataSet) error {
	org := ds.orgs[len(ds.orgs)/2]
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, m, err := c.do(ctx, http.MethodGet, c.s.url(8083)+"/v1/organisations/"+org+"/calendar", c.ops, nil)
		if err != nil {
			return err
		}
		if code == http.StatusOK {
			u, err := url.Parse(fmt.Sprint(m["url"]))
			if err != nil || u.Path == "" {
				return fmt.Errorf("the calendar feed's address: %v %v", m, err)
			}
			ds.calendar = u.RequestURI()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the calendar feed's address: %d %v", code, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// quiet waits until notify has sent what the seeding caused (acknowledgements, and
// the reminders of obligations already open): until the delivery log's newest entry
// stays the same for two seconds. Reads timed while it sends would measure the
// sending too.
func quiet(ctx context.Context, c *client) error {
	last, since := "", time.Now()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); {
		_, m, err := c.do(ctx, http.MethodGet, c.s.url(8083)+"/v1/deliveries?limit=1", c.ops, nil)
		if err != nil {
			return err
		}
		newest := fmt.Sprint(m["items"])
		if newest != last {
			last, since = newest, time.Now()
		} else if time.Since(since) > 2*time.Second {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("notify was still sending after 5 minutes")
}

func onboard(ctx context.Context, c *client, sig string, i int) (string, error) {
	org, err := c.must(ctx, http.MethodPost, sig, c.ops, map[string]any{"name": orgName(i), "kind": "signatory",
		"sector": "higher_education", "country": "GB", "website": fmt.Sprintf("https://u%d.example.ac.uk", i),
		"enquiry_contact": map[string]any{"name": "E", "email": fmt.Sprintf("e@u%d.example.ac.uk", i)}})
	if err != nil {
		return "", err
	}
	id := org["id"].(string)
	mail := func(who string) string { return fmt.Sprintf("%s@u%d.example.ac.uk", who, i) }
	announced := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%300).Format("2006-01-02")
	for _, st := range []struct {
		path string
		body any
	}{
		{"/meeting", map[string]any{"held_on": "2024-11-10"}},
		{"/form", map[string]any{"signed_on": "2024-12-01", "leader": map[string]any{"name": "L", "email": mail("l")},
			"nominated_lead": map[string]any{"name": "N", "email": mail("n")}, "point_of_contact": map[string]any{"name": "P"}}},
		{"/announcement", map[string]any{"announced_on": announced}},
	} {
		if _, err := c.must(ctx, http.MethodPost, sig+"/"+id+st.path, c.ops, st.body); err != nil {
			return "", err
		}
	}
	leads.Store(id, mail("n"))
	return id, nil
}

// apply drafts and submits an application, retrying the draft until the fund has
// taken in the organisation's announcement.
func apply(ctx context.Context, c *client, round, org, token string) (string, error) {
	body := map[string]any{
		"round_id": round, "title": "Reads " + org, "summary": "Load.", "themes": []string{"visibility"}, "requested_amount_pence": 500,
		"partners": []map[string]any{{"name": "P"}}, "endorsement": map[string]any{"name": "N", "email": "n@x.example.ac.uk"},
		"budget_lines": []map[string]any{{"description": "x", "amount_pence": 500}}, "milestones": []map[string]any{{"description": "m", "due": "2027-06-01"}},
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		// The endorsement must be the nominated lead's address as announced.
		body["endorsement"] = map[string]any{"name": "N", "email": leadOf(org)}
		code, m, err := c.do(ctx, http.MethodPost, c.s.url(8084)+"/v1/applications", token, body)
		if err != nil {
			return "", err
		}
		if code == http.StatusCreated {
			id := m["id"].(string)
			_, err := c.must(ctx, http.MethodPost, c.s.url(8084)+"/v1/applications/"+id+"/submission", token, nil)
			return id, err
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("draft for %s: %d %v", org, code, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leads maps an organisation to its nominated lead's address (see onboard).
var leads sync.Map

func leadOf(org string) string {
	v, _ := leads.Load(org)
	s, _ := v.(string)
	return s
}

// read is one timed request.
type read struct {
	name, url, token string
}

// services names the services whose reads are measured (none named: all).
type services map[string]bool

func (s services) has(name string) bool { return len(s) == 0 || s[name] }

// reads lists every list and detail read of the services of: signatory, review,
// fund and notify. Lists ask for pages of limit, which the smaller set fills too, so
// that both sets answer pages of one size and their ratio is the history's weight
// alone.
func reads(c *client, ds *dataSet, limit int, of services) []read {
	var out []read
	for _, r := range allReads(c, ds, limit) {
		if name, _, _ := strings.Cut(r.name, ":"); of.has(name) {
			out = append(out, r)
		}
	}
	return out
}

func allReads(c *client, ds *dataSet, limit int) []read {
	mid := func(ids []string) string {
		if len(ids) == 0 {
			return "" // not seeded: its reads are not measured
		}
		return ids[len(ids)/2]
	}
	org, application := mid(ds.orgs), mid(ds.applications)
	sig, fund, notify := c.s.url(8081), c.s.url(8084), c.s.url(8083)
	l := fmt.Sprintf("?limit=%d", limit)
	var rv []read
	if ds.review != nil {
		rv = reviewReads(c, ds, limit)
	}
	return append(rv, []read{
		{"signatory: organisations ?limit (ops)", sig + "/v1/organisations" + l, c.ops},
		{"signatory: directory ?limit (public)", sig + "/v1/directory" + l, ""},
		{"signatory: one organisation", sig + "/v1/organisations/" + org, c.ops},
		{"signatory: an organisation's obligations", sig + "/v1/organisations/" + org + "/obligations", c.ops},
		{"signatory: an organisation's history", sig + "/v1/organisations/" + org + "/history", c.ops},
		{"fund: rounds", fund + "/v1/rounds", c.ops},
		{"fund: one round", fund + "/v1/rounds/" + ds.round, c.ops},
		{"fund: applications ?limit (ops)", fund + "/v1/applications" + l, c.ops},
		{"fund: an applicant's applications", fund + "/v1/applications" + l, ds.applicants[org]},
		{"fund: one application", fund + "/v1/applications/" + application, c.ops},
		{"fund: a round's ledger", fund + "/v1/rounds/" + ds.round + "/ledger", c.ops},
		{"notify: delivery log ?limit", notify + "/v1/deliveries" + l, c.ops},
		{"notify: one organisation's deliveries", notify + "/v1/deliveries" + l + "&organisation_id=" + org, c.ops},
		{"notify: reminder preview ?limit", notify + "/v1/reminders/preview" + l, c.ops},
		{"notify: an organisation's calendar address", notify + "/v1/organisations/" + org + "/calendar", c.ops},
		{"notify: an organisation's calendar feed (public)", notify + ds.calendar, ""},
		// Each service's dead letters: none here, so what a read of them costs
		// with history around it.
		{"signatory: dead letters", sig + "/v1/ops/dead-letters", c.ops},
		{"review: dead letters", c.s.url(8082) + "/v1/ops/dead-letters", c.ops},
		{"fund: dead letters", fund + "/v1/ops/dead-letters", c.ops},
		{"notify: dead letters", notify + "/v1/ops/dead-letters", c.ops},
	}...)
}

// readRestarts is how many times the stack is restarted on the larger set to time
// the first request of each read, and how many times the reads are timed again after
// a pause (readPause) without a restart, as their baseline.
const readRestarts = 3

// readPause is how long the stack is left idle before the reads are timed again
// without a restart.
const readPause = 2 * time.Second

// adminPorts are the services' admin listeners (their API port + 1000), whose /healthz
// answers without reading anything.
var adminPorts = map[string]int{"signatory": 9081, "review": 9082, "notify": 9083, "fund": 9084}

// timeWakeUps times each service's /healthz as the reads' first requests are timed:
// after the stack was left idle for readPause and on a new connection (the median of
// readRestarts), and then warm (p50 of readSamples). The difference is what waking an
// idle process and opening a connection cost on this machine, whatever the request:
// the baseline of the reads' first requests, measured in the same run. One pause
// serves every service, as it does the reads: each stays idle until its own turn,
// and each admin listener's connection is new.
func timeWakeUps(ctx context.Context, c *client, of services) (first, warm map[string]time.Duration, err error) {
	firsts := map[string][]time.Duration{}
	warm = map[string]time.Duration{}
	for range readRestarts {
		http.DefaultClient.CloseIdleConnections()
		time.Sleep(readPause)
		for _, name := range slices.Sorted(maps.Keys(adminPorts)) {
			if !of.has(name) {
				continue
			}
			p50, f, err := timeRead(ctx, c, read{name: name + ": /healthz", url: c.s.url(adminPorts[name]) + "/healthz"})
			if err != nil {
				return nil, nil, err
			}
			firsts[name] = append(firsts[name], f)
			warm[name] = p50
		}
	}
	return medians(firsts), warm, nil
}

// netOfWakeUp is a read's first request less what waking its idle service and
// opening a connection cost a request that does nothing (timeWakeUps), over its warm
// p50: the part of the first request's cost that is the read's own.
func netOfWakeUp(first, warm, wakeFirst, wakeWarm time.Duration) float64 {
	wake := max(wakeFirst-wakeWarm, 0)
	return float64(max(first-wake, 0)) / float64(max(warm, 1))
}

// medians is the median of each read's times.
func medians(times map[string][]time.Duration) map[string]time.Duration {
	out := make(map[string]time.Duration, len(times))
	for n, ds := range times {
		out[n] = percentile(ds, 50)
	}
	return out
}

// timeRead returns the p50 of readSamples sequential requests, and the first one's time.
func timeRead(ctx context.Context, c *client, r read) (p50, first time.Duration, err error) {
	var ds []time.Duration
	for range readSamples {
		began := time.Now()
		code, m, err := c.do(ctx, http.MethodGet, r.url, r.token, nil)
		if err != nil {
			return 0, 0, err
		}
		if code != http.StatusOK {
			return 0, 0, fmt.Errorf("%s: %d %v", r.name, code, m)
		}
		ds = append(ds, time.Since(began))
	}
	first = ds[0]
	slices.Sort(ds)
	return ds[len(ds)/2], first, nil
}

// readsEnv configures the read scaling's stacks. The reminder sweep runs every two
// seconds instead of every minute, so that the reminders the seeding makes due today
// are sent while it seeds, as on a stack that has run a while: otherwise the restart
// would measure the first requests beside the sweep catching up with them.
var readsEnv = []string{"NOTIFY_SWEEP_INTERVAL=2s"}

// readFigures are the read scaling results.
type readFigures struct {
	small, large, limit int
	names               []string
	smallP50, largeP50  map[string]time.Duration
	restartFirst        map[string]time.Duration
	restartP50          map[string]time.Duration
	pauseFirst          map[string]time.Duration // without a restart, after readPause
	// wakeFirst and wakeWarm are each service's /healthz (on its admin listener: no
	// read, no database) first after readPause on a new connection, and warm: what an
	// idle process and a new connection cost a request that does nothing.
	wakeFirst, wakeWarm map[string]time.Duration
	burst               int
	burstP50            map[string]time.Duration
	restartRSS          map[string]int64 // KiB, each process just after the restart
}

// readScaling runs the read scaling measurement.
//
// With keep, the larger data set is left in place (its directory printed), to start
// tcdev on it.
func readScaling(ctx context.Context, bin string, offset, small, large, burst int, of services, keep bool) (readFigures, error) {
	f := readFigures{small: small, large: large, limit: min(50, small), burst: burst, smallP50: map[string]time.Duration{}, largeP50: map[string]time.Duration{},
		restartFirst: map[string]time.Duration{}, restartP50: map[string]time.Duration{}, burstP50: map[string]time.Duration{}}
	for _, n := range []int{small, large} {
		data, err := os.MkdirTemp("", "tc-bench-reads-")
		if err != nil {
			return f, err
		}
		if n == large && keep {
			// The larger set stays for a later look (tcdev run -data on it).
			defer fmt.Printf("reads: the larger data set is kept in %s\n", data)
		} else {
			defer os.RemoveAll(data)
		}
		s, err := startStack(ctx, bin, data, offset, nil, readsEnv...)
		if err != nil {
			return f, err
		}
		c, err := newClient(data, s)
		if err != nil {
			s.stop()
			return f, err
		}
		began := time.Now()
		ds, err := seed(ctx, c, n, of)
		if err != nil {
			s.stop()
			return f, fmt.Errorf("seed %d: %w", n, err)
		}
		fmt.Printf("reads: seeded %d organisations and applications in %s\n", n, time.Since(began).Round(time.Second))
		into := f.smallP50
		if n == large {
			into = f.largeP50
		}
		for _, r := range reads(c, ds, f.limit, of) {
			p50, _, err := timeRead(ctx, c, r)
			if err != nil {
				s.stop()
				return f, err
			}
			into[r.name] = p50
			if n == small {
				f.names = append(f.names, r.name)
			}
			fmt.Printf("reads: %d: %s p50 %s\n", n, r.name, p50)
		}
		if n == small {
			s.stop()
			continue
		}
		// Restarts of the stack on the large set: the first request of each read after
		// each, and the median of those (one request of a millisecond or two is at the
		// mercy of the machine's scheduling; a median of a few is not).
		firsts := map[string][]time.Duration{}
		for restart := range readRestarts {
			s.stop()
			if s, err = startStack(ctx, bin, data, offset, nil, readsEnv...); err != nil {
				return f, err
			}
			c.s = s
			if restart == 0 {
				f.restartRSS, _ = footprint(s.cmd.Process.Pid)
				fmt.Printf("reads: after a restart on the large set: idle RSS (KiB) %v\n", f.restartRSS)
			}
			cpuBefore, readsBegan := cpuTimes(s.cmd.Process.Pid), time.Now()
			for _, r := range reads(c, ds, f.limit, of) {
				p50, first, err := timeRead(ctx, c, r)
				if err != nil {
					s.stop()
					// What the stack logged (warnings and errors) says why a read failed.
					return f, fmt.Errorf("after restart %d: %w\n%s", restart+1, err, s.logs.String())
				}
				firsts[r.name] = append(firsts[r.name], first)
				f.restartP50[r.name] = p50
				fmt.Printf("reads: after restart %d: %s first %s, p50 %s\n", restart+1, r.name, first, p50)
			}
			after := cpuTimes(s.cmd.Process.Pid)
			for _, n := range slices.Sorted(maps.Keys(after)) {
				fmt.Printf("reads: CPU during restart %d's reads (%s): %s %s\n", restart+1, time.Since(readsBegan).Round(time.Millisecond), n, after[n]-cpuBefore[n])
			}
		}
		f.restartFirst = medians(firsts)
		// The same reads in the same order without a restart, after a pause and on new
		// connections: the baseline of the first requests. A process idle a while, and
		// a client opening a connection, pay on the first request whether or not the
		// process has just started; what the restart adds is the difference.
		paused := map[string][]time.Duration{}
		for range readRestarts {
			http.DefaultClient.CloseIdleConnections()
			time.Sleep(readPause)
			for _, r := range reads(c, ds, f.limit, of) {
				_, first, err := timeRead(ctx, c, r)
				if err != nil {
					s.stop()
					return f, fmt.Errorf("after a pause: %w", err)
				}
				paused[r.name] = append(paused[r.name], first)
			}
		}
		f.pauseFirst = medians(paused)
		if f.wakeFirst, f.wakeWarm, err = timeWakeUps(ctx, c, of); err != nil {
			s.stop()
			return f, err
		}
		if burst > 0 && of.has("fund") {
			if err := draftBurst(ctx, c, ds, burst); err != nil {
				s.stop()
				return f, err
			}
			for _, r := range reads(c, ds, 50, of) { // the burst's target is for pages of 50
				if !strings.HasPrefix(r.name, "fund: applications") && !strings.HasPrefix(r.name, "fund: an applicant's") {
					continue
				}
				p50, _, err := timeRead(ctx, c, r)
				if err != nil {
					s.stop()
					return f, err
				}
				f.burstP50[r.name] = p50
				fmt.Printf("reads: with %d applications: %s p50 %s\n", burst, r.name, p50)
			}
		}
		s.stop()
	}
	return f, nil
}

func newClient(data string, s *stack) (*client, error) {
	issuer, err := auth.LoadOrCreateDevIssuer(filepath.Join(data, "dev-signing-key.pem"), "http://127.0.0.1:8079", "tc-fund")
	if err != nil {
		return nil, err
	}
	ops, err := issuer.MintFor(auth.Principal{Subject: "reads-ops", Role: auth.RoleOps}, time.Hour, "tc-signatory", "tc-review", "tc-fund", "tc-notify")
	if err != nil {
		return nil, err
	}
	return &client{s: s, issuer: issuer, ops: ops}, nil
}

// draftBurst drafts applications from the organisations until the fund holds n.
func draftBurst(ctx context.Context, c *client, ds *dataSet, n int) error {
	began := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Go(func() {
			for i := range work {
				org := ds.orgs[i%len(ds.orgs)]
				body := map[string]any{
					"round_id": ds.round, "title": fmt.Sprintf("Burst %d", i), "summary": "Load.", "themes": []string{"visibility"}, "requested_amount_pence": 500,
					"partners": []map[string]any{{"name": "P"}}, "endorsement": map[string]any{"name": "N", "email": leadOf(org)},
					"budget_lines": []map[string]any{{"description": "x", "amount_pence": 500}}, "milestones": []map[string]any{{"description": "m", "due": "2027-06-01"}},
				}
				if _, err := c.must(ctx, http.MethodPost, c.s.url(8084)+"/v1/applications", ds.applicants[org], body); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := len(ds.applications); i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	_, err := caughtUp(ctx, fmt.Sprintf("nats://127.0.0.1:%d", 4222+c.s.offset), 10*time.Minute)
	fmt.Printf("reads: drafted up to %d applications in %s\n", n, time.Since(began).Round(time.Second))
	return err
}

// readsReport is the report's read scaling section.
func readsReport(f readFigures) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nMeasured by `make bench` (or `bench -reads-only`) on %s, %s: %d and %d organisations, each with an application "+
		"(and the reminders, obligations and emails that follow), p50 of %d sequential requests each; then the stack restarted on the larger set "+
		"(its reminder sweep every 2 s, so that it has settled), and the first request of each read (the median over %d restarts; p50 of the last). Lists ask for pages of %d (?limit), which both sets fill.\n\n", readsSection, machine(), time.Now().UTC().Format("2006-01-02 15:04 MST"), f.small, f.large, readSamples, readRestarts, f.limit)
	b.WriteString("| read | small | large | large/small (target ≤ 1.5) | after a restart: first request, p50 | first/warm (target ≤ 1.5) | first request after a pause, no restart | restart's first/pause's first | first less the service's wake-up, over warm |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, n := range f.names {
		s, l, first, p50, paused := f.smallP50[n], f.largeP50[n], f.restartFirst[n], f.restartP50[n], f.pauseFirst[n]
		svc, _, _ := strings.Cut(n, ":")
		net := "–"
		if wf, ok := f.wakeFirst[svc]; ok {
			net = fmt.Sprintf("%.2f", netOfWakeUp(first, l, wf, f.wakeWarm[svc]))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %s, %s | %.2f | %s | %.2f | %s |\n", n, short(s), short(l), float64(l)/float64(max(s, 1)), short(first), short(p50),
			float64(first)/float64(max(l, 1)), short(paused), float64(first)/float64(max(paused, 1)), net)
	}
	fmt.Fprintf(&b, "\nThe first request after a pause is the same reads in the same order, %d times, each time after the stack was left idle for %s and the "+
		"client's connections were closed, without a restart (the median): what a first request costs a process that did not just start. "+
		"A read's first request after a restart comes on a new connection, and the first of each service's reads after the service has been idle.\n", readRestarts, readPause)
	if len(f.wakeFirst) > 0 {
		b.WriteString("\nWhat waking an idle service costs a request that reads nothing, the baseline of the last column: each service's `/healthz` (on its admin listener) " +
			"timed as the reads' first requests are, after the stack was left idle and on a new connection (the median of " + fmt.Sprint(readRestarts) + "), against its warm p50:")
		names := slices.Sorted(maps.Keys(f.wakeFirst))
		for i, n := range names {
			sep := ","
			if i == len(names)-1 {
				sep = "."
			}
			fmt.Fprintf(&b, " %s %s against %s%s", n, short(f.wakeFirst[n]), short(f.wakeWarm[n]), sep)
		}
		b.WriteString(" The last column takes that difference from the read's first request after a restart and divides what is left by the read's warm p50: " +
			"the part of a first request's cost that is the read's own. A read of the database also wakes the store's process, which `/healthz` does not.\n")
	}
	if len(f.restartRSS) > 0 {
		names := slices.Sorted(maps.Keys(f.restartRSS))
		b.WriteString("\nResident memory just after the restart on the larger set:")
		for i, n := range names {
			sep := ","
			if i == len(names)-1 {
				sep = " (target: every service < 40 MiB).\n"
			}
			fmt.Fprintf(&b, " %s %.1f MiB%s", n, float64(f.restartRSS[n])/1024, sep)
		}
	}
	if f.burst > 0 {
		for _, n := range f.names {
			if p, ok := f.burstP50[n]; ok {
				fmt.Fprintf(&b, "\nWith %d applications in the fund: %s, pages of 50: p50 %s (target < 50 ms).\n", f.burst, n, short(p))
			}
		}
	}
	return b.String()
}

// withReadsSection puts section in place of the report's read scaling section, or
// before the kept part when it has none.
func withReadsSection(doc, section string) string { return withSection(doc, readsSection, section) }
