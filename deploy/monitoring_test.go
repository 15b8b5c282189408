package deploy

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// TestAlertsOnOthersMetricsFireWhenTheMetricIsMissing: an alert on a series that
// something outside the suite exports (Prometheus's own up, kube-state-metrics,
// cert-manager) compares nothing when that exporter is not scraped, and stays silent
// for ever. Each such alert also fires when its series is absent. Without the guard,
// TCCertificateExpiringSoon said nothing while cert-manager's install created no
// ServiceMonitor: no certificate's expiry was ever watched.
func TestAlertsOnOthersMetricsFireWhenTheMetricIsMissing(t *testing.T) {
	guarded := map[string]string{
		"TCServiceDown":             "up",
		"TCBackupMissing":           "kube_cronjob_created",
		"TCCertificateExpiringSoon": "certmanager_certificate_expiration_timestamp_seconds",
	}
	p := parser.NewParser(parser.Options{})
	for _, o := range overlays {
		seen := map[string]bool{}
		for _, r := range alertRules(t, render(t, o)) {
			metric, ok := guarded[r.Alert]
			if !ok {
				continue
			}
			seen[r.Alert] = true
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Fatalf("%s: %s: %v", o, r.Alert, err)
			}
			found := false
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				call, ok := n.(*parser.Call)
				if !ok || call.Func.Name != "absent" || len(call.Args) != 1 {
					return nil
				}
				if vs, ok := call.Args[0].(*parser.VectorSelector); ok && vs.Name == metric {
					found = true
				}
				return nil
			})
			if !found {
				t.Errorf("%s: %s reads %s but does not fire when it is absent (no absent(%s{...}))", o, r.Alert, metric, metric)
			}
		}
		for alert := range guarded {
			if !seen[alert] && !(o == "dev" && alert == "TCBackupMissing") {
				t.Errorf("%s has no alert %s", o, alert)
			}
		}
	}
}

// helmInstall returns the runbook's `helm install` of chart, or fails.
func helmInstall(t *testing.T, chart string) (cmd string, at int) {
	t.Helper()
	for i, c := range runbookCommands(t) {
		if strings.HasPrefix(c, "helm install ") && strings.Contains(" "+c+" ", " "+chart+" ") {
			return c, i
		}
	}
	t.Fatalf("the runbook does not install %s", chart)
	return "", 0
}

// TestRunbookInstallsMonitoringThatSeesTheSuite: kube-prometheus-stack's Prometheus, by
// default, selects only the ServiceMonitors, PodMonitors and PrometheusRules labelled
// with its own Helm release, and its Grafana's sidecar reads dashboards only from its own
// namespace: installed so, it scraped nothing of the suite, loaded none of its alerts
// and showed no dashboard. cert-manager's chart creates no ServiceMonitor unless told,
// and, scraped through one, its certificates' namespace label gives way to the target's
// (cert-manager) unless honorLabels is set: the certificate alert, which selects
// namespace="technician-commitment", would read nothing either way.
func TestRunbookInstallsMonitoringThatSeesTheSuite(t *testing.T) {
	stack, stackAt := helmInstall(t, "prometheus-community/kube-prometheus-stack")
	for _, want := range []string{
		"--namespace monitoring", // the NetworkPolicies admit Prometheus from this namespace
		"--set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false",
		"--set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false",
		"--set prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false",
		"--set grafana.sidecar.dashboards.searchNamespace=ALL",
	} {
		if !strings.Contains(stack, want) {
			t.Errorf("runbook: %q lacks %s", stack, want)
		}
	}
	cm, cmAt := helmInstall(t, "jetstack/cert-manager")
	for _, want := range []string{
		"--set prometheus.servicemonitor.enabled=true",
		"--set prometheus.servicemonitor.honorLabels=true",
	} {
		if !strings.Contains(cm, want) {
			t.Errorf("runbook: %q lacks %s", cm, want)
		}
	}
	// cert-manager's ServiceMonitor is refused by the API server until the stack has
	// installed the Prometheus Operator's CRDs.
	if cmAt < stackAt {
		t.Errorf("runbook: %q comes before %q, which installs the ServiceMonitor CRD it needs", cm, stack)
	}
}

// TestRunbookInstallsAnIngressControllerThatKeepsTheClientAddress: ingress-nginx's
// chart makes its controller a LoadBalancer Service with the default
// externalTrafficPolicy, Cluster, under which the node a request lands on rewrites its
// source address to its own before handing it to the controller. The controller then
// names that node in X-Forwarded-For; the node's address is in the pod network the
// services and the portal trust (HTTP_TRUSTED_PROXIES, 10.0.0.0/8), so they counted
// every request as the controller's: the whole country shared one allowance of the
// sign-in form (PORTAL_SIGNIN_PER_CLIENT, 10 a minute) and of the public endpoints, and
// on a deadline day the eleventh lead in a minute was refused (429). The runbook
// installed no controller at all and said nothing of it.
func TestRunbookInstallsAnIngressControllerThatKeepsTheClientAddress(t *testing.T) {
	nginx, _ := helmInstall(t, "ingress-nginx/ingress-nginx")
	for _, want := range []string{
		"--namespace ingress-nginx", // the NetworkPolicies admit the controller from this namespace
		"--version ",
		"--set controller.service.externalTrafficPolicy=Local",
	} {
		if !strings.Contains(nginx, want) {
			t.Errorf("runbook: %q lacks %s", nginx, want)
		}
	}
	// Believing a client's own X-Forwarded-For would let anyone choose the address
	// they are counted as.
	for _, unwanted := range []string{"use-forwarded-headers=true", "compute-full-forwarded-for=true"} {
		if strings.Contains(nginx, unwanted) {
			t.Errorf("runbook: %q sets %s", nginx, unwanted)
		}
	}
}
