package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// floatSample is one scraped value.
type floatSample struct {
	t int64
	f float64
}

func (s floatSample) T() int64                    { return s.t }
func (floatSample) ST() int64                     { return 0 }
func (s floatSample) F() float64                  { return s.f }
func (floatSample) H() *histogram.Histogram       { return nil }
func (floatSample) FH() *histogram.FloatHistogram { return nil }
func (floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s floatSample) Copy() chunks.Sample         { return s }

// scraped holds series in memory for the engine, as Prometheus's storage would.
type scraped struct{ series []storage.Series }

func (s *scraped) Querier(int64, int64) (storage.Querier, error) { return s, nil }
func (*scraped) Close() error                                    { return nil }
func (*scraped) LabelValues(context.Context, string, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}
func (*scraped) LabelNames(context.Context, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}
func (s *scraped) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	var out []storage.Series
	for _, series := range s.series {
		if matchAll(series.Labels(), ms) {
			out = append(out, series)
		}
	}
	return &seriesList{list: out, at: -1}
}

func matchAll(l labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

type seriesList struct {
	list []storage.Series
	at   int
}

func (l *seriesList) Next() bool                      { l.at++; return l.at < len(l.list) }
func (l *seriesList) At() storage.Series              { return l.list[l.at] }
func (*seriesList) Err() error                        { return nil }
func (*seriesList) Warnings() annotations.Annotations { return nil }

// loadSeries reads series in promqltest's notation (`name{labels} 0x10 1x240`, `_`
// for a missed scrape), one a line, sampled every minute from time 0.
func loadSeries(t *testing.T, load string) *scraped {
	t.Helper()
	s := &scraped{}
	p := parser.NewParser(parser.Options{})
	for _, line := range strings.Split(strings.TrimSpace(load), "\n") {
		lset, values, err := p.ParseSeriesDesc(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("series %q: %v", line, err)
		}
		var samples []chunks.Sample
		for i, v := range values {
			if !v.Omitted {
				samples = append(samples, floatSample{t: int64(i) * time.Minute.Milliseconds(), f: v.Value})
			}
		}
		s.series = append(s.series, storage.NewListSeries(lset, samples))
	}
	return s
}

// firstFiring is the minute at which prod's alert name first fires over the series
// loaded from load, over the given minutes (firing); -1 when it never does.
func firstFiring(t *testing.T, name, load string, minutes int) int {
	t.Helper()
	for m, on := range firing(t, name, load, minutes) {
		if on {
			return m
		}
	}
	return -1
}

// firing runs prod's alert name every minute for the given minutes over the series
// loaded from load (promqltest's load syntax, at a 1m step from time 0, as Prometheus
// would have scraped them), and says at each minute whether it fires, as
// Prometheus's rule manager decides: an alert of a label set is pending from the
// first evaluation that returns it and fires once it has been returned for `for:`;
// at an evaluation that does not return it, a firing alert keeps firing while it was
// last returned less than `keep_firing_for` ago, and is otherwise forgotten.
func firing(t *testing.T, name, load string, minutes int) []bool {
	t.Helper()
	var rule *alertRule
	for _, r := range alertRules(t, render(t, "prod")) {
		if r.Alert == name {
			rule = &r
			break
		}
	}
	if rule == nil {
		t.Fatalf("prod has no alert %s", name)
	}
	duration := func(field, v string) time.Duration {
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s: %s: %v", name, field, err)
		}
		return d
	}
	hold, keep := duration("for", rule.For), duration("keep_firing_for", rule.KeepFiring)
	series := loadSeries(t, load)
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	type state struct {
		since, last int
		firing      bool
	}
	held := map[string]state{}
	out := make([]bool, minutes+1)
	for m := 0; m <= minutes; m++ {
		q, err := engine.NewInstantQuery(context.Background(), series, nil, rule.Expr, time.Unix(0, 0).Add(time.Duration(m)*time.Minute))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res := q.Exec(context.Background())
		if res.Err != nil {
			t.Fatalf("%s at %dm: %v", name, m, res.Err)
		}
		vec, err := res.Vector()
		if err != nil {
			t.Fatalf("%s at %dm: %v", name, m, err)
		}
		now := map[string]state{}
		for _, s := range vec {
			key := s.Metric.String()
			st, ok := held[key]
			if !ok {
				st = state{since: m}
			}
			st.last = m
			st.firing = st.firing || time.Duration(m-st.since)*time.Minute >= hold
			now[key] = st
		}
		q.Close()
		for key, st := range held {
			if _, returned := now[key]; !returned && st.firing && time.Duration(m-st.last)*time.Minute < keep {
				now[key] = st
			}
		}
		for _, st := range now {
			out[m] = out[m] || st.firing
		}
		held = now
	}
	return out
}

// faultCase is a load of series, the fault in it beginning at minute 10, and the
// minutes after that by which the alert must fire (within; -1: never), over minutes.
type faultCase struct {
	name    string
	load    string
	within  int
	minutes int
}

// firesOnItsFault runs alert over each case: it fires by the case's minute on a
// fault, and never on a healthy load (healthy says of such a load what it fired on).
func firesOnItsFault(t *testing.T, alert, healthy string, cases []faultCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := firstFiring(t, alert, c.load, c.minutes)
			switch {
			case c.within < 0 && got >= 0:
				t.Errorf("fired at minute %d %s", got, healthy)
			case c.within >= 0 && (got < 0 || got > 10+c.within):
				t.Errorf("fired at minute %d; want by minute %d (the fault began at minute 10)", got, 10+c.within)
			}
		})
	}
}

// TestOutboxAlertFiresOnABacklogThatNeverDrains: the suite stores a few events an
// hour, and its relay publishes each within moments, so a healthy service's outbox
// reads 0 at nearly every scrape. A relay that NATS refuses (credentials,
// permissions) keeps what it holds, and the backlog stays where it is: it grows only
// when users change something. The alert read "grows for 15 minutes", so one
// organisation's announcement stuck for good (its event never reaching notify or
// fund) kept it silent for ever.
func TestOutboxAlertFiresOnABacklogThatNeverDrains(t *testing.T) {
	const series = `tc_outbox_pending_events{namespace="technician-commitment", job="signatory", instance="10.0.1.7:9090", pod="signatory-7d9f-abcde"} `
	cases := []faultCase{
		{"one event stuck for good (a quiet hour)", series + "0x10 1x240", 40, 250},
		{"a backlog that grows now and then, never drains", series + "0x10 1x30 2x30 3x180", 40, 250},
		{"a busy hour: the relay publishes each event within moments", series + "0 1 0 0 2 0 1 0 0 0 1 0 0 3 0 0 1 0 0 0 1 0 0 0 0 2 0 0 1 0 0 1 0 0 0 0 1 0 2 0 0 0 1 0 0 0 0 1 0 0 0 0 2 0 0 0 0 1 0 0 0", -1, 60},
		{"NATS back after ten minutes: the backlog drains", series + "0x10 1 2 2 3 3 4 4 4 5 5 0x60", -1, 80},
	}
	firesOnItsFault(t, "TCOutboxBacklogGrowing", "on a healthy outbox", cases)
}

// TestConsumerAlertFiresOnAConsumerThatTakesNothing: the suite's streams carry a few
// events an hour, so a consumer whose reader has stopped (its loop ended on an error,
// or NATS refuses its fetches) sits at a handful of pending messages, far below the
// 100 the alert asked for: notify never heard of an announcement, and nobody was told.
// A live consumer takes each message within moments, so pending messages that none is
// taken of for 15 minutes are the fault, whatever their number. The retired durable
// fund-signatories, left on servers that ran an older release, is read by nobody and
// must not page.
func TestConsumerAlertFiresOnAConsumerThatTakesNothing(t *testing.T) {
	exporter := func(metric, consumer, values string) string {
		return metric + `{namespace="technician-commitment", job="nats", pod="nats-1", server_id="NDZ", server_name="nats-1", cluster="tc", account="TC", stream_name="TC_SIGNATORY", stream_leader="nats-1", is_stream_leader="true", consumer_name="` + consumer + `", consumer_leader="nats-1", is_consumer_leader="true"} ` + values + "\n"
	}
	pending := func(consumer, values string) string {
		return exporter("jetstream_consumer_num_pending", consumer, values)
	}
	delivered := func(consumer, values string) string {
		return exporter("jetstream_consumer_delivered_stream_seq", consumer, values)
	}
	cases := []faultCase{
		{"three announcements that notify never takes", pending("notify-organisations", "0x10 1x20 2x30 3x200") + delivered("notify-organisations", "40x260"), 40, 260},
		{"a thousand behind, growing, nothing taken", pending("notify-organisations", "0x10 0+20x240") + delivered("notify-organisations", "40x250"), 40, 250},
		{"a quiet consumer that takes what comes", pending("notify-organisations", "0x10 1 0x30 1 0x30 2 0x60") + delivered("notify-organisations", "40x11 41x31 42x31 44x60"), -1, 130},
		{"a rebuild catching up: pending falls, delivered climbs", pending("fund-signatories-v2", "0x10 3000-50x60 0x30") + delivered("fund-signatories-v2", "0x10 0+50x60 3000x30"), -1, 100},
		{"the retired fund-signatories, read by nobody", pending("fund-signatories", "5+0x10 5+1x240") + delivered("fund-signatories", "200x250"), -1, 250},
	}
	firesOnItsFault(t, "TCConsumerLagGrowing", "on a consumer that needs nobody", cases)
}

// TestRemindersAlertFiresWhenDueRemindersAreNotSent: notify's sweep sends each
// reminder within a minute of its day coming (a send that fails becomes a retry and
// leaves the count), so reminders that stay due say the sweep is failing or stuck
// (a store error, one organisation's reminder failing each pass and holding back
// those after it) and institutions are not told of their deadlines. The dashboard
// showed it; no alert did, and the email alerts see only sends that were tried.
func TestRemindersAlertFiresWhenDueRemindersAreNotSent(t *testing.T) {
	const series = `tc_notify_reminders_due{namespace="technician-commitment", job="notify", instance="10.0.2.4:9090", pod="notify-5c8d-fghij"} `
	cases := []faultCase{
		{"the sweep stopped: reminders stay due", series + "0x10 3x60 5x120", 45, 200},
		{"midnight: the day's reminders, sent within the minute", series + "0x10 12 0x60 4 0x60", -1, 140},
		{"after a long outage: a backlog the sweep works through", series + "0x10 500 500 500 320 80 0x60", -1, 80},
	}
	firesOnItsFault(t, "TCRemindersNotSent", "while the sweep kept up", cases)
}

// TestEmailAlertsFireWhenTheRelayIsDown: with the relay down, one email (a sign-in
// link, in a quiet hour) fails at its first attempt and at notify's retries 2, 4, 8
// and 16 minutes apart, as seen on the local stack with Mailpit stopped
// (tc_notify_emails_failed_total 1, then 2 ...), and is given up at the sixth, 32
// minutes after the fifth. TCEmailSendsFailing must say so while it is retried, and
// TCEmailsGivenUp once it is given up; neither when emails go.
func TestEmailAlertsFireWhenTheRelayIsDown(t *testing.T) {
	counter := func(name, kind, values string) string {
		return name + `{namespace="technician-commitment", job="notify", instance="10.0.2.4:9090", pod="notify-5c8d-fghij", kind="` + kind + `"} ` + values + "\n"
	}
	// Every kind's series is there from the start at 0 (notify's NewMetrics).
	quiet := counter("tc_notify_emails_sent_total", "reminder", "0x120") + counter("tc_notify_emails_failed_total", "reminder", "0x120") +
		counter("tc_notify_emails_given_up_total", "reminder", "0x120") + counter("tc_notify_emails_sent_total", "signin-link", "0x120")
	down := quiet + counter("tc_notify_emails_failed_total", "signin-link", "0x10 1x2 2x4 3x8 4x16 5x32 5x48") +
		counter("tc_notify_emails_given_up_total", "signin-link", "0x72 1x48")
	healthy := counter("tc_notify_emails_sent_total", "signin-link", "0x10 0+1x110") + counter("tc_notify_emails_failed_total", "signin-link", "0x40 1x80") +
		counter("tc_notify_emails_given_up_total", "signin-link", "0x120") + counter("tc_notify_emails_sent_total", "reminder", "0x120") +
		counter("tc_notify_emails_failed_total", "reminder", "0x120") + counter("tc_notify_emails_given_up_total", "reminder", "0x120")
	for _, c := range []struct {
		alert, name, load string
		from, by          int // the minutes between which it must first fire; by -1: never
	}{
		{"TCEmailSendsFailing", "relay down", down, 10, 35},
		{"TCEmailsGivenUp", "relay down", down, 72, 75},
		{"TCEmailSendsFailing", "emails go (one failure, then sent on retry)", healthy, -1, -1},
		{"TCEmailsGivenUp", "emails go (one failure, then sent on retry)", healthy, -1, -1},
	} {
		t.Run(c.alert+"/"+c.name, func(t *testing.T) {
			got := firstFiring(t, c.alert, c.load, 119)
			switch {
			case c.by < 0 && got >= 0:
				t.Errorf("fired at minute %d while emails went", got)
			case c.by >= 0 && (got < c.from || got > c.by):
				t.Errorf("fired at minute %d; want between minutes %d and %d", got, c.from, c.by)
			}
		})
	}
	// Once it fires, TCEmailSendsFailing says so until the email is given up: between
	// retries 16 and 32 minutes apart its 15-minute window holds no send at all, and
	// the alert resolved at minute 39 and fired again at 55, telling the on-call the
	// relay was back while it was still down.
	sending := firing(t, "TCEmailSendsFailing", down, 119)
	if first := slices.Index(sending, true); first >= 0 {
		if gap := slices.Index(sending[first:72], false); gap >= 0 {
			t.Errorf("TCEmailSendsFailing fired at minute %d and resolved at minute %d, with the relay still down", first, first+gap)
		}
	}
}

// TestEachAlertFiresOnItsFaultAndOnlyThen runs the other alerts over series with the
// names and labels their exporters give them (Prometheus's up, the NATS exporter,
// kube-state-metrics, cert-manager, the services' /metrics), once with the fault and
// once without: an alert whose metric or label is misspelt, or whose threshold or
// `for:` cannot be met, never fires.
func TestEachAlertFiresOnItsFaultAndOnlyThen(t *testing.T) {
	const ns = `namespace="technician-commitment"`
	up := func(job, values string) string {
		return `up{` + ns + `, job="` + job + `", instance="10.0.3.1:9090", pod="` + job + `-1"} ` + values + "\n"
	}
	allUp := up("signatory", "1x60") + up("review", "1x60") + up("notify", "1x60") + up("fund", "1x60") + up("portal", "1x60")
	dead := func(values string) string {
		return `jetstream_stream_total_messages{job="nats", pod="nats-0", server_id="NDZ", server_name="nats-0", cluster="tc", account="TC", stream_name="TC_DEADLETTER", stream_leader="nats-0", is_stream_leader="true"} ` + values + "\n" +
			`jetstream_stream_total_messages{job="nats", pod="nats-1", server_id="NAB", server_name="nats-1", cluster="tc", account="TC", stream_name="TC_DEADLETTER", stream_leader="nats-0", is_stream_leader="false"} ` + values + "\n"
	}
	requests := func(status, values string) string {
		return `http_requests_total{` + ns + `, job="fund", instance="10.0.3.1:9090", pod="fund-1", method="POST", route="POST /v1/rounds/:id/applications", status="` + status + `"} ` + values + "\n"
	}
	deployment := func(unavailable string) string {
		return `kube_deployment_status_replicas_unavailable{` + ns + `, job="kube-state-metrics", deployment="review"} ` + unavailable + "\n"
	}
	members := func(ready string) string {
		return `kube_statefulset_status_replicas_ready{` + ns + `, job="kube-state-metrics", statefulset="mongodb"} ` + ready + "\n" +
			`kube_statefulset_replicas{` + ns + `, job="kube-state-metrics", statefulset="mongodb"} 3x90` + "\n"
	}
	expiry := func(at string) string {
		return `certmanager_certificate_expiration_timestamp_seconds{` + ns + `, job="cert-manager", name="nats-tls", issuer_name="tc-ca", issuer_kind="Issuer", issuer_group="cert-manager.io"} ` + at + "x90\n"
	}
	overdue := func(values string) string {
		return `tc_obligations_overdue{` + ns + `, job="signatory", instance="10.0.3.2:9090", pod="signatory-1"} ` + values + "\n"
	}
	const day = 24 * 3600
	cases := []struct {
		alert, name, load string
		minutes, by       int // it must fire by minute `by`; -1: never
	}{
		{"TCServiceDown", "notify's only pod stops answering at minute 10", up("signatory", "1x60") + up("review", "1x60") + up("notify", "1x10 0x50") + up("fund", "1x60") + up("portal", "1x60"), 60, 20},
		{"TCServiceDown", "notify's pods are gone at minute 10", up("signatory", "1x60") + up("review", "1x60") + up("notify", "1x10") + up("fund", "1x60") + up("portal", "1x60"), 60, 25},
		{"TCServiceDown", "every service answers", allUp, 60, -1},
		{"TCDeadLetters", "a consumer gives up on a message at minute 10", dead("0x10 1x30"), 40, 13},
		{"TCDeadLetters", "no dead letter", dead("0x40"), 40, -1},
		{"TCHighErrorRate", "fund answers half its requests with 500 from minute 10", requests("201", "0+10x60") + requests("500", "0x10 0+10x50"), 60, 30},
		{"TCHighErrorRate", "fund answers", requests("201", "0+10x60") + requests("500", "0x60"), 60, -1},
		// A campus behind one address, or everyone counted as the ingress's node: half the
		// answers are 429 from minute 10.
		{"TCManyRequestsRefused", "fund refuses half its requests as too many from minute 10", requests("201", "0+10x60") + requests("429", "0x10 0+10x50"), 60, 35},
		// A tool that honours Retry-After meets a 429 now and then.
		{"TCManyRequestsRefused", "fund refuses one request in fifty", requests("201", "0+49x60") + requests("429", "0+1x60"), 60, -1},
		// One refusal in two of a handful of requests is no crowd.
		{"TCManyRequestsRefused", "fund refuses one of two requests a minute", requests("201", "0+1x60") + requests("429", "0x10 0+1x50"), 60, -1},
		{"TCServiceNotReady", "a review pod fails /readyz from minute 10", deployment("0x10 1x50"), 60, 25},
		{"TCServiceNotReady", "every pod ready", deployment("0x60"), 60, -1},
		{"TCDataStoreMemberDown", "a MongoDB member is lost at minute 10", members("3x10 2x80"), 90, 25},
		{"TCDataStoreMemberDown", "every member ready", members("3x90"), 90, -1},
		{"TCCertificateExpiringSoon", "nats-tls expires in 6 days", expiry(fmt.Sprint(6 * day)), 90, 65},
		{"TCCertificateExpiringSoon", "cert-manager is not scraped", up("notify", "1x90"), 90, 65},
		{"TCCertificateExpiringSoon", "nats-tls renewed, 60 days left", expiry(fmt.Sprint(60 * day)), 90, -1},
		{"TCObligationsOverdue", "an obligation passes its due date at minute 10", overdue("0x10 1x80"), 90, 75},
		{"TCObligationsOverdue", "none overdue", overdue("0x90"), 90, -1},
	}
	for _, c := range cases {
		t.Run(c.alert+"/"+c.name, func(t *testing.T) {
			got := firstFiring(t, c.alert, c.load, c.minutes)
			switch {
			case c.by < 0 && got >= 0:
				t.Errorf("fired at minute %d with nothing wrong", got)
			case c.by >= 0 && (got < 0 || got > c.by):
				t.Errorf("fired at minute %d; want by minute %d", got, c.by)
			}
		})
	}
}

// targetLabels are the labels Prometheus adds to every series of a target scraped
// through a ServiceMonitor: they are on no service's /metrics page.
var targetLabels = []string{"job", "namespace", "instance", "pod", "service", "endpoint", "container"}

// noSeriesUntilFirst are the suite's metrics with no series until their first event
// (a reminder sent at a ladder step), so that the scrape of a fresh stack lacks them;
// their labels are checked against the code by devstack's metrics test.
var noSeriesUntilFirst = map[string][]string{"tc_notify_reminders_sent_total": {"step"}}

// TestAlertsAndPanelsReadTheNamesAndLabelsTheServicesExpose: an alert or panel that
// reads one of the suite's own metrics (tc_*, http_request*) under a misspelt name or
// label, or from a service that has no such series, matches nothing and stays silent
// for ever. Every one is checked against testdata/scraped-metrics.txt, which devstack's
// TestTheScrapedMetricsFixtureIsWhatTheServicesExpose holds equal to what the running
// services' /metrics expose: the metric must be there for the job its job matcher
// names (for one of those a regex names), and each label it matches on or groups by must be on the metric (or be one
// Prometheus adds to the target).
func TestAlertsAndPanelsReadTheNamesAndLabelsTheServicesExpose(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "scraped-metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ job, metric string }
	scraped := map[key][]string{}
	jobs := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(line, "#") {
			continue
		}
		jobs[f[0]] = true
		if len(f) > 2 {
			scraped[key{f[0], f[1]}] = strings.Split(f[2], ",")
		} else {
			scraped[key{f[0], f[1]}] = []string{}
		}
	}
	if len(jobs) != 5 {
		t.Fatalf("testdata/scraped-metrics.txt has jobs %v, want the five services'", jobs)
	}
	ours := regexp.MustCompile(`^(tc_|http_request)`)
	checked := 0
	eachSelector(t, func(where, e string, path []parser.Node, vs *parser.VectorSelector) {
		if !ours.MatchString(vs.Name) {
			return
		}
		checked++
		var jobMatcher *labels.Matcher
		for _, m := range vs.LabelMatchers {
			if m.Name == "job" {
				jobMatcher = m
			}
		}
		// What the metric carries, in each job that exposes it and the selector reads.
		carried := map[string]bool{}
		for _, l := range targetLabels {
			carried[l] = true
		}
		found := false
		for job := range jobs {
			if jobMatcher != nil && !jobMatcher.Matches(job) {
				continue
			}
			names, ok := scraped[key{job, vs.Name}]
			if !ok {
				names, ok = noSeriesUntilFirst[vs.Name]
			}
			if !ok {
				// A panel may read all five services by one regex and show what each
				// has; a selector that names its service names one that has it.
				if jobMatcher != nil && jobMatcher.Type == labels.MatchEqual {
					t.Errorf("%s reads %s from %s, whose /metrics has no such series: %s", where, vs.Name, job, e)
				}
				continue
			}
			found = true
			for _, l := range names {
				carried[l] = true
			}
		}
		if !found {
			t.Errorf("%s reads %s, which no service's /metrics has: %s", where, vs.Name, e)
			return
		}
		for _, m := range vs.LabelMatchers {
			if m.Name != "__name__" && !carried[m.Name] {
				t.Errorf("%s matches %s on label %q, which it does not carry: %s", where, vs.Name, m.Name, e)
			}
		}
		// An aggregation directly over this metric groups by labels it must carry.
		for i := len(path) - 2; i >= 0; i-- {
			agg, ok := path[i].(*parser.AggregateExpr)
			if !ok {
				if _, fn := path[i].(*parser.Call); fn {
					continue
				}
				if _, sub := path[i].(*parser.MatrixSelector); sub {
					continue
				}
				if _, par := path[i].(*parser.ParenExpr); par {
					continue
				}
				break
			}
			if !agg.Without {
				for _, l := range agg.Grouping {
					if !carried[l] {
						t.Errorf("%s groups %s by %q, which it does not carry: %s", where, vs.Name, l, e)
					}
				}
			}
			break
		}
	})
	if checked < 10 {
		t.Errorf("only %d selectors of the suite's own metrics: the check reads nothing", checked)
	}
}
