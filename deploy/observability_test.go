package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	promlabels "github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

func customObjects(objs []runtime.Object, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok && u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

func matchLabels(t testing.TB, u *unstructured.Unstructured, path ...string) labels.Selector {
	t.Helper()
	m, _, err := unstructured.NestedStringMap(u.Object, path...)
	if err != nil || len(m) == 0 {
		t.Fatalf("%s %s: no selector at %v (%v)", u.GetKind(), u.GetName(), path, err)
	}
	return labels.SelectorFromSet(m)
}

func probePort(p *corev1.Probe) intstr.IntOrString {
	if p == nil || p.HTTPGet == nil {
		return intstr.IntOrString{}
	}
	return p.HTTPGet.Port
}

// TestServicesServeMetricsAndProbesOnTheAdminPort: each service listens on ADMIN_ADDR
// 0.0.0.0:9090, names that port admin, is probed there, its Service exposes it and a
// ServiceMonitor scrapes /metrics from it.
func TestServicesServeMetricsAndProbesOnTheAdminPort(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		env := serviceEnv(t, objs, exampleSecretKeys(t))
		services := map[string]*corev1.Service{}
		for _, obj := range objs {
			if s, ok := obj.(*corev1.Service); ok {
				services[s.Name] = s
			}
		}
		monitors := customObjects(objs, "ServiceMonitor")
		for _, obj := range objs {
			d, ok := obj.(*appsv1.Deployment)
			if !ok {
				continue
			}
			if _, svc := configKeys[d.Name]; !svc {
				continue
			}
			if got := env[d.Name]["ADMIN_ADDR"]; got != "0.0.0.0:9090" {
				t.Errorf("%s: %s ADMIN_ADDR = %q, want 0.0.0.0:9090", o, d.Name, got)
			}
			c := d.Spec.Template.Spec.Containers[0]
			if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "admin" && p.ContainerPort == 9090 }) {
				t.Errorf("%s: %s has no container port admin 9090", o, d.Name)
			}
			for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
				if probePort(p) != intstr.FromString("admin") {
					t.Errorf("%s: %s's %s probe is not on the admin port", o, d.Name, name)
				}
			}
			s, ok := services[d.Name]
			if !ok || !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "admin" }) {
				t.Errorf("%s: Service %s does not expose the admin port", o, d.Name)
				continue
			}
			scraped := false
			for _, m := range monitors {
				if !matchLabels(t, m, "spec", "selector", "matchLabels").Matches(labels.Set(s.Labels)) {
					continue
				}
				eps, _, _ := unstructured.NestedSlice(m.Object, "spec", "endpoints")
				for _, ep := range eps {
					e := ep.(map[string]any)
					if e["port"] == "admin" && e["path"] == "/metrics" {
						scraped = true
					}
				}
			}
			if !scraped {
				t.Errorf("%s: no ServiceMonitor scrapes %s's admin port", o, d.Name)
			}
		}
	}
}

// TestPodMonitorsScrapeTheExporters: the NATS exporter sidecar, the MongoDB exporter
// and the collector are scraped on a port their pods name.
func TestPodMonitorsScrapeTheExporters(t *testing.T) {
	objs := render(t, "prod")
	pods := podSpecs(objs)
	want := map[string]bool{"nats": false, "mongodb-exporter": false, "otel-collector": false}
	for _, m := range customObjects(objs, "PodMonitor") {
		sel := matchLabels(t, m, "spec", "selector", "matchLabels")
		eps, _, _ := unstructured.NestedSlice(m.Object, "spec", "podMetricsEndpoints")
		for _, tpl := range pods {
			if !sel.Matches(labels.Set(tpl.Labels)) {
				continue
			}
			for _, ep := range eps {
				port := ep.(map[string]any)["port"]
				for _, c := range tpl.Spec.Containers {
					if slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == port }) {
						want[tpl.Labels["app.kubernetes.io/name"]] = true
					}
				}
			}
		}
	}
	for name, ok := range want {
		if !ok {
			t.Errorf("prod: nothing scrapes %s's metrics port", name)
		}
	}
}

// requiredAlerts are the conditions an on-call must hear about.
var requiredAlerts = []string{
	"TCServiceDown", "TCServiceNotReady", "TCDeadLetters", "TCConsumerLagGrowing",
	"TCOutboxBacklogGrowing", "TCEmailSendsFailing", "TCRemindersNotSent", "TCObligationsOverdue",
	"TCDataStoreMemberDown", "TCBackupMissing",
}

type alertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	KeepFiring  string            `json:"keep_firing_for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func alertRules(t testing.TB, objs []runtime.Object) []alertRule {
	t.Helper()
	var out []alertRule
	for _, u := range customObjects(objs, "PrometheusRule") {
		var spec struct {
			Groups []struct {
				Name  string      `json:"name"`
				Rules []alertRule `json:"rules"`
			} `json:"groups"`
		}
		raw, _ := json.Marshal(u.Object["spec"])
		if err := json.Unmarshal(raw, &spec); err != nil {
			t.Fatalf("PrometheusRule %s: %v", u.GetName(), err)
		}
		for _, g := range spec.Groups {
			out = append(out, g.Rules...)
		}
	}
	return out
}

// readmeAnchors returns the GitHub anchors of deploy/README.md's headings.
func readmeAnchors(t testing.TB) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	strip := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		out[strings.ReplaceAll(strip.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return out
}

// TestEveryAlertLinksToItsRunbookSection: the required alerts exist, each has a
// severity, a summary and a runbook_url to a section of deploy/README.md that exists, and
// every alert section of the runbook belongs to an alert.
func TestEveryAlertLinksToItsRunbookSection(t *testing.T) {
	rules := alertRules(t, render(t, "prod"))
	anchors := readmeAnchors(t)
	names := map[string]bool{}
	for _, r := range rules {
		names[r.Alert] = true
		if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || strings.TrimSpace(r.Expr) == "" {
			t.Errorf("alert %s lacks a severity, a summary or an expression", r.Alert)
		}
		_, anchor, ok := strings.Cut(r.Annotations["runbook_url"], "deploy/README.md#")
		if !ok || !anchors[anchor] {
			t.Errorf("alert %s's runbook_url %q is not a section of deploy/README.md", r.Alert, r.Annotations["runbook_url"])
		}
		if anchor != "alert-"+strings.ToLower(r.Alert) {
			t.Errorf("alert %s links to #%s, not its own section", r.Alert, anchor)
		}
	}
	for _, a := range requiredAlerts {
		if !names[a] {
			t.Errorf("no alert %s", a)
		}
	}
	for a := range anchors {
		if name, ok := strings.CutPrefix(a, "alert-"); ok && !slices.ContainsFunc(rules, func(r alertRule) bool { return strings.ToLower(r.Alert) == name }) {
			t.Errorf("deploy/README.md has a section for alert %s, which does not exist", name)
		}
	}
}

type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t testing.TB) dashboard {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("k8s", "base", "monitoring", "technician-commitment.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	return d
}

var metricRef = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// TestOperationsGuideNamesEveryMetricPanelAndAlert: docs/OPERATIONS.md describes each
// dashboard panel and each alert, and lists every metric the alerts and panels read, so
// the services' authors know the names to expose.
func TestOperationsGuideNamesEveryMetricPanelAndAlert(t *testing.T) {
	guide, err := os.ReadFile(filepath.Join("..", "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(guide)
	d := readDashboard(t)
	if len(d.Panels) < 8 {
		t.Errorf("the dashboard has only %d panels", len(d.Panels))
	}
	var exprs []string
	for _, p := range d.Panels {
		if !strings.Contains(doc, p.Title) {
			t.Errorf("docs/OPERATIONS.md does not describe the panel %q", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, r := range alertRules(t, render(t, "prod")) {
		exprs = append(exprs, r.Expr)
		if !strings.Contains(doc, r.Alert) {
			t.Errorf("docs/OPERATIONS.md does not describe the alert %s", r.Alert)
		}
	}
	for _, e := range exprs {
		for _, m := range metricRef.FindAllStringSubmatch(e, -1) {
			if !strings.Contains(doc, "`"+m[1]+"`") {
				t.Errorf("docs/OPERATIONS.md does not list the metric `%s` (read by %q)", m[1], e)
			}
		}
	}
}

// configMapsByName are the rendered ConfigMaps by their names without the generator's
// hash suffix.
func configMapsByName(objs []runtime.Object) map[string]*corev1.ConfigMap {
	cms := map[string]*corev1.ConfigMap{}
	for _, obj := range objs {
		if c, ok := obj.(*corev1.ConfigMap); ok {
			cms[hashSuffix.ReplaceAllString(c.Name, "")] = c
		}
	}
	return cms
}

// TestCollectorExportsOTLPToTheOverlaysBackend: the collector's pipelines export over
// OTLP to the backend the overlay names, never to its own log.
func TestCollectorExportsOTLPToTheOverlaysBackend(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		cms := configMapsByName(objs)
		var cfg struct {
			Exporters map[string]map[string]any `json:"exporters"`
			Service   struct {
				Pipelines map[string]struct {
					Exporters []string `json:"exporters"`
				} `json:"pipelines"`
			} `json:"service"`
		}
		if err := yaml.Unmarshal([]byte(cms["otel-collector-config"].Data["config.yaml"]), &cfg); err != nil {
			t.Fatalf("%s collector config: %v", o, err)
		}
		for name, p := range cfg.Service.Pipelines {
			for _, e := range p.Exporters {
				if !strings.HasPrefix(e, "otlp") {
					t.Errorf("%s: pipeline %s exports to %s, not OTLP", o, name, e)
				}
				if ep, _ := cfg.Exporters[e]["endpoint"].(string); ep != "${env:OTEL_BACKEND_ENDPOINT}" {
					t.Errorf("%s: exporter %s sends to %q, not the configured backend", o, e, ep)
				}
			}
		}
		envCM, ok := cms["otel-collector-env"]
		if !ok || envCM.Data["OTEL_BACKEND_ENDPOINT"] == "" || envCM.Data["OTEL_BACKEND_INSECURE"] == "" {
			t.Errorf("%s does not name the tracing backend in otel-collector-env", o)
		}
	}
}

// TestAConfigurationChangeRollsThePods changes one value in an env file and one line of
// the NATS configuration (in memory) and checks that the pod templates that read them
// change, which is what makes Kubernetes roll the pods.
func TestAConfigurationChangeRollsThePods(t *testing.T) {
	dir := filepath.Join("k8s", "overlays", "prod")
	before := objectsByID(t, filesys.MakeFsOnDisk(), dir)
	mem := diskToMemory(t)
	for file, change := range map[string][2]string{
		filepath.Join("k8s", "base", "services", "fund.env"): {"LOG_LEVEL=info", "LOG_LEVEL=warn"},
		filepath.Join("k8s", "base", "nats", "nats.conf"):    {"lame_duck_duration: 30s", "lame_duck_duration: 40s"},
		filepath.Join("k8s", "base", "otel", "config.yaml"):  {"batch: {}", "batch: {timeout: 2s}"},
	} {
		data, err := mem.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), change[0]) {
			t.Fatalf("%s has no %q to change", file, change[0])
		}
		if err := mem.WriteFile(file, []byte(strings.Replace(string(data), change[0], change[1], 1))); err != nil {
			t.Fatal(err)
		}
	}
	after := objectsByID(t, mem, dir)
	for _, id := range []string{"Deployment/fund", "StatefulSet/nats", "Deployment/otel-collector"} {
		tplBefore, _, _ := unstructured.NestedFieldNoCopy(before[id], "spec", "template")
		tplAfter, _, _ := unstructured.NestedFieldNoCopy(after[id], "spec", "template")
		if reflect.DeepEqual(tplBefore, tplAfter) {
			t.Errorf("%s's pod template did not change with its configuration: its pods would not roll", id)
		}
	}
	tplBefore, _, _ := unstructured.NestedFieldNoCopy(before["Deployment/signatory"], "spec", "template")
	tplAfter, _, _ := unstructured.NestedFieldNoCopy(after["Deployment/signatory"], "spec", "template")
	if !reflect.DeepEqual(tplBefore, tplAfter) {
		t.Error("Deployment/signatory changed with fund's configuration")
	}
}

// TestPublicHostsAreServedOverTLSByCertManager: every Ingress host of every overlay has
// a TLS entry whose Secret cert-manager issues once (through the Ingress's issuer
// annotation, or a Certificate naming that Secret and host, as for the API host that
// four Ingresses share), the API and portal hosts are there in prod, and every backend
// is a Service the overlay renders.
func TestPublicHostsAreServedOverTLSByCertManager(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		services := map[string]bool{}
		for _, obj := range objs {
			if s, ok := obj.(*corev1.Service); ok {
				services[s.Name] = true
			}
		}
		issued := map[string][]string{} // Secret → the hosts cert-manager issues it for
		issuers := map[string]int{}     // Secret → how many objects ask cert-manager for it
		for _, c := range customObjects(objs, "Certificate") {
			secret, _, _ := unstructured.NestedString(c.Object, "spec", "secretName")
			names, _, _ := unstructured.NestedStringSlice(c.Object, "spec", "dnsNames")
			issued[secret] = append(issued[secret], names...)
			issuers[secret]++
		}
		var ingresses []*networkingv1.Ingress
		for _, obj := range objs {
			ing, ok := obj.(*networkingv1.Ingress)
			if !ok {
				continue
			}
			ingresses = append(ingresses, ing)
			if ing.Annotations["cert-manager.io/cluster-issuer"] != "" || ing.Annotations["cert-manager.io/issuer"] != "" {
				for _, tl := range ing.Spec.TLS {
					issued[tl.SecretName] = append(issued[tl.SecretName], tl.Hosts...)
					issuers[tl.SecretName]++
				}
			}
		}
		for secret, n := range issuers {
			if n > 1 {
				t.Errorf("%s: %d objects ask cert-manager for Secret %s; it is issued (and owned) once", o, n, secret)
			}
		}
		hosts := map[string]bool{}
		for _, ing := range ingresses {
			tlsHosts := map[string]bool{}
			for _, tl := range ing.Spec.TLS {
				if tl.SecretName == "" {
					t.Errorf("%s: Ingress %s: TLS for %v names no Secret", o, ing.Name, tl.Hosts)
				}
				for _, h := range tl.Hosts {
					tlsHosts[h] = true
					if !slices.Contains(issued[tl.SecretName], h) {
						t.Errorf("%s: Ingress %s serves %s with Secret %s, which cert-manager does not issue for it", o, ing.Name, h, tl.SecretName)
					}
				}
			}
			for _, r := range ing.Spec.Rules {
				hosts[r.Host] = true
				if !tlsHosts[r.Host] {
					t.Errorf("%s: Ingress %s serves %s without TLS", o, ing.Name, r.Host)
				}
				for _, p := range r.HTTP.Paths {
					if p.Backend.Service == nil || !services[p.Backend.Service.Name] {
						t.Errorf("%s: Ingress %s: %s%s goes to a Service the overlay does not create", o, ing.Name, r.Host, p.Path)
					}
				}
			}
		}
		if o != "prod" {
			continue
		}
		for _, h := range []string{"api.technician-commitment.itss.org.uk", "technician-commitment.itss.org.uk"} {
			if !hosts[h] {
				t.Errorf("prod has no Ingress for %s", h)
			}
		}
	}
}

// TestExternalSecretsComponentCoversEverySecret adds the optional component to prod (in
// memory) and checks that it creates every Secret of k8s/secrets.example.yaml with every
// key.
func TestExternalSecretsComponentCoversEverySecret(t *testing.T) {
	mem := diskToMemory(t)
	kz := filepath.Join("k8s", "overlays", "prod", "kustomization.yaml")
	data, err := mem.ReadFile(kz)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "components:\n", "components:\n  - ../../components/external-secrets\n", 1))
	if err := mem.WriteFile(kz, data); err != nil {
		t.Fatal(err)
	}
	objs := decodeAll(t, "prod+external-secrets", build(t, mem, filepath.Dir(kz)).Resources())
	got := map[string][]string{}
	for _, es := range customObjects(objs, "ExternalSecret") {
		target, _, _ := unstructured.NestedString(es.Object, "spec", "target", "name")
		items, _, _ := unstructured.NestedSlice(es.Object, "spec", "data")
		for _, it := range items {
			got[target] = append(got[target], it.(map[string]any)["secretKey"].(string))
		}
	}
	for name, keys := range exampleSecretKeys(t) {
		for _, k := range keys {
			if !slices.Contains(got[name], k) {
				t.Errorf("the external-secrets component does not create %s key %s", name, k)
			}
		}
	}
}

// TestAlertAndDashboardQueriesParse parses every alert expression and dashboard query
// with Prometheus's own PromQL parser: a query that does not parse never fires or draws.
func TestAlertAndDashboardQueriesParse(t *testing.T) {
	var exprs []string
	for _, r := range alertRules(t, render(t, "prod")) {
		exprs = append(exprs, r.Expr)
	}
	for _, p := range readDashboard(t).Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	p := parser.NewParser(parser.Options{})
	for _, e := range exprs {
		if _, err := p.ParseExpr(e); err != nil {
			t.Errorf("%q does not parse: %v", e, err)
		}
	}
}

// TestJetStreamQueriesReadTheLeadersCopy: each NATS server that holds a replica of a
// stream (three in prod, NATS_STREAM_REPLICAS=3) exports its own copy of the stream's and
// its consumers' series, labelled is_stream_leader / is_consumer_leader, and a follower's
// num_pending is not the consumer's (prometheus-nats-exporter #218). Summed over the
// copies, one dead letter read 3 and a consumer 34 behind passed TCConsumerLagGrowing's
// 100. Every alert and panel that reads a jetstream_stream_* or jetstream_consumer_*
// series selects the leader's copy, and never adds the copies up. (The expressions are
// checked as parsed text: evaluating them with Prometheus's engine would bring its
// storage and every cloud SDK into this module.)
func TestJetStreamQueriesReadTheLeadersCopy(t *testing.T) {
	leaderLabel := map[string]string{"jetstream_stream_": "is_stream_leader", "jetstream_consumer_": "is_consumer_leader"}
	read := 0
	eachSelector(t, func(where, e string, path []parser.Node, vs *parser.VectorSelector) {
		var label string
		for prefix, l := range leaderLabel {
			if strings.HasPrefix(vs.Name, prefix) {
				label = l
			}
		}
		if label == "" {
			return
		}
		read++
		if !slices.ContainsFunc(vs.LabelMatchers, func(m *promlabels.Matcher) bool {
			return m.Name == label && m.Type == promlabels.MatchEqual && m.Value == "true"
		}) {
			t.Errorf("%s reads every replica's copy of %s: select %s=\"true\" (%s)", where, vs.Name, label, e)
		}
		for _, n := range path {
			if a, ok := n.(*parser.AggregateExpr); ok && (a.Op == parser.SUM || a.Op == parser.COUNT) {
				t.Errorf("%s adds up copies of %s with %s; take the leader's with max (%s)", where, vs.Name, a.Op, e)
			}
		}
	})
	if read < 4 {
		t.Errorf("only %d reads of JetStream series in the alerts and panels: TCDeadLetters, TCConsumerLagGrowing and two panels read them", read)
	}
}

// selectorPaths returns, for each vector selector in an expression, the nodes from the
// root down to it.
func selectorPaths(n parser.Node, above []parser.Node) [][]parser.Node {
	here := append(slices.Clone(above), n)
	if _, ok := n.(*parser.VectorSelector); ok {
		return [][]parser.Node{here}
	}
	var out [][]parser.Node
	for _, c := range parser.Children(n) {
		out = append(out, selectorPaths(c, here)...)
	}
	return out
}

// TestNoAlertWatchesWhatAnOverlaySuspends: an overlay that suspends a CronJob (dev takes
// no backups) keeps no alert on that CronJob's runs. dev kept the critical
// TCBackupMissing, which paged the on-call from the second day of a test cluster.
func TestNoAlertWatchesWhatAnOverlaySuspends(t *testing.T) {
	suspendedSomewhere := false
	for _, o := range overlays {
		objs := render(t, o)
		rules := alertRules(t, objs)
		for _, obj := range objs {
			cj, ok := obj.(*batchv1.CronJob)
			if !ok || cj.Spec.Suspend == nil || !*cj.Spec.Suspend {
				continue
			}
			suspendedSomewhere = true
			watch := regexp.MustCompile(`cronjob\s*=~?\s*"` + regexp.QuoteMeta(cj.Name) + `"`)
			for _, r := range rules {
				if watch.MatchString(r.Expr) {
					t.Errorf("%s suspends CronJob %s but keeps alert %s (%s) on its runs", o, cj.Name, r.Alert, r.Labels["severity"])
				}
			}
		}
	}
	if !suspendedSomewhere {
		t.Skip("no overlay suspends a CronJob")
	}
}

// TestEveryServiceIsInTheQueriesOfWhatEveryServiceHas: an alert or panel that picks the
// suite's workloads by name (job=~, deployment=~) from a series every one of them has
// (up, the Deployment's replicas, HTTP requests) names all five: the "Ready pods"
// panel left out the portal, so a portal with no pod read as nothing to show.
func TestEveryServiceIsInTheQueriesOfWhatEveryServiceHas(t *testing.T) {
	services := []string{"signatory", "review", "notify", "fund", "portal"}
	everyone := regexp.MustCompile(`^(up|kube_deployment_.*|http_request.*)$`)
	checked := 0
	eachSelector(t, func(where, e string, _ []parser.Node, vs *parser.VectorSelector) {
		if !everyone.MatchString(vs.Name) {
			return
		}
		for _, m := range vs.LabelMatchers {
			if (m.Name != "job" && m.Name != "deployment") || m.Type != promlabels.MatchRegexp {
				continue
			}
			checked++
			for _, s := range services {
				if !m.Matches(s) {
					t.Errorf("%s reads %s of the services but not of %s: %s", where, vs.Name, s, e)
				}
			}
		}
	})
	if checked < 5 {
		t.Errorf("only %d queries pick the services by name: the check reads nothing", checked)
	}
}

// eachSelector calls f with every vector selector of prod's alerts and the dashboard's
// panels, the path from its query's root down to it, and where the query is.
func eachSelector(t *testing.T, f func(where, expr string, path []parser.Node, vs *parser.VectorSelector)) {
	t.Helper()
	exprs := map[string]string{}
	for _, r := range alertRules(t, render(t, "prod")) {
		exprs["alert "+r.Alert] = r.Expr
	}
	for _, p := range readDashboard(t).Panels {
		for i, tg := range p.Targets {
			exprs[fmt.Sprintf("panel %s (%d)", p.Title, i)] = tg.Expr
		}
	}
	for where, e := range exprs {
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(e)
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", where, e, err)
			continue
		}
		for _, path := range selectorPaths(expr, nil) {
			f(where, e, path, path[len(path)-1].(*parser.VectorSelector))
		}
	}
}

// TestCollectorVerifiesAnInClusterBackendAgainstItsCA: the collector exports to the
// tracing backend over TLS unless OTEL_BACKEND_INSECURE is true, verifying the backend's
// certificate. An in-cluster backend (prod's tempo-distributor.monitoring) has no
// certificate from a public CA: with only the system's roots, every handshake failed and
// every span was dropped. Such an overlay names a CA file (OTEL_BACKEND_CA_FILE) that
// the collector mounts from a ConfigMap or Secret, and the exporter reads it; a plain
// export names none (the exporter would turn TLS on for a CA file, insecure or not).
func TestCollectorVerifiesAnInClusterBackendAgainstItsCA(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		cms := configMapsByName(objs)
		env := cms["otel-collector-env"].Data
		var cfg struct {
			Exporters map[string]struct {
				TLS map[string]any `json:"tls"`
			} `json:"exporters"`
		}
		if err := yaml.Unmarshal([]byte(cms["otel-collector-config"].Data["config.yaml"]), &cfg); err != nil {
			t.Fatalf("%s collector config: %v", o, err)
		}
		for name, e := range cfg.Exporters {
			if e.TLS["ca_file"] != "${env:OTEL_BACKEND_CA_FILE}" {
				t.Errorf("%s: exporter %s's tls.ca_file is %v, not ${env:OTEL_BACKEND_CA_FILE}", o, name, e.TLS["ca_file"])
			}
		}
		caFile, set := env["OTEL_BACKEND_CA_FILE"]
		if !set {
			t.Errorf("%s: otel-collector-env does not set OTEL_BACKEND_CA_FILE (empty for none)", o)
		}
		host, _, _ := strings.Cut(env["OTEL_BACKEND_ENDPOINT"], ":")
		inCluster := strings.Count(host, ".") <= 1 || strings.HasSuffix(host, ".svc") || strings.HasSuffix(host, ".svc.cluster.local")
		switch {
		case env["OTEL_BACKEND_INSECURE"] == "true":
			if caFile != "" {
				t.Errorf("%s: a plain export names a CA file (%s), which turns TLS on", o, caFile)
			}
			continue
		case !inCluster:
			continue // a public certificate: the system's roots verify it
		case caFile == "":
			t.Errorf("%s: the collector verifies the in-cluster backend %s over TLS against the system's roots only: name its CA in OTEL_BACKEND_CA_FILE", o, host)
			continue
		}
		var collector *appsv1.Deployment
		for _, obj := range objs {
			if d, ok := obj.(*appsv1.Deployment); ok && d.Name == "otel-collector" {
				collector = d
			}
		}
		if collector == nil {
			t.Fatalf("%s has no otel-collector Deployment", o)
		}
		mounted := false
		spec := collector.Spec.Template.Spec
		for _, c := range spec.Containers {
			for _, m := range c.VolumeMounts {
				if !strings.HasPrefix(caFile, strings.TrimSuffix(m.MountPath, "/")+"/") {
					continue
				}
				for _, v := range spec.Volumes {
					if v.Name == m.Name && (v.ConfigMap != nil || v.Secret != nil) {
						mounted = true
					}
				}
			}
		}
		if !mounted {
			t.Errorf("%s: OTEL_BACKEND_CA_FILE=%s lies in no ConfigMap or Secret the collector mounts", o, caFile)
		}
	}
}
