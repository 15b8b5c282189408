// Package deploy checks the Kubernetes manifests in k8s/: every overlay builds with
// Kustomize, every object decodes strictly into the Kubernetes API types, and the
// rendered objects keep the rules ITSS operations rely on (probes, resources, the
// restricted security profile, network policies, configuration for every key a
// service reads).
package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/itss/techcommit/services/fund"
	"github.com/itss/techcommit/services/notify"
	"github.com/itss/techcommit/services/portal"
	"github.com/itss/techcommit/services/review"
	"github.com/itss/techcommit/services/signatory"
)

// configKeys is how each service says which environment variables it reads. A new
// service joins this table when it joins the manifests.
var configKeys = map[string]func() ([]string, error){
	"signatory": signatory.ConfigKeys,
	"fund":      fund.ConfigKeys,
	"notify":    notify.ConfigKeys,
	"review":    review.ConfigKeys,
	"portal":    portal.ConfigKeys,
}

var overlays = []string{"dev", "prod"}

// render builds an overlay and decodes every object strictly.
func render(t testing.TB, overlay string) []runtime.Object {
	t.Helper()
	return decodeAll(t, overlay, build(t, filesys.MakeFsOnDisk(), filepath.Join("k8s", "overlays", overlay)).Resources())
}

// build runs Kustomize on a directory of fsys, as `kubectl apply -k` does.
func build(t testing.TB, fsys filesys.FileSystem, dir string) resmap.ResMap {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(fsys, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return resources
}

var monitoringTypes = map[string]func() any{
	"ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"PodMonitor":     func() any { return &monitoringv1.PodMonitor{} },
	"PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
}

// customKinds are the custom resources the manifests use, by API group: the operators
// and controllers that serve them are prerequisites in deploy/README.md. Their objects
// decode into unstructured form; anything else must be a built-in kind.
var customKinds = map[string][]string{
	"cert-manager.io":              {"Certificate", "Issuer", "ClusterIssuer"},
	"monitoring.coreos.com":        {"ServiceMonitor", "PodMonitor", "PrometheusRule"},
	"mongodbcommunity.mongodb.com": {"MongoDBCommunity"},
	"external-secrets.io":          {"ExternalSecret", "SecretStore", "ClusterSecretStore"},
}

type yamler interface{ AsYAML() ([]byte, error) }

func decodeAll[R yamler](t testing.TB, where string, resources []R) []runtime.Object {
	t.Helper()
	codec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
	var objs []runtime.Object
	for _, r := range resources {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var probe metav1.TypeMeta
		if err := yaml.Unmarshal(y, &probe); err != nil {
			t.Fatal(err)
		}
		group, _, _ := strings.Cut(probe.APIVersion, "/")
		if kinds, custom := customKinds[group]; custom {
			if !strings.Contains(probe.APIVersion, "/") || !slices.Contains(kinds, probe.Kind) {
				t.Errorf("%s: unknown custom resource %s %s", where, probe.APIVersion, probe.Kind)
				continue
			}
			// The Prometheus Operator publishes its API types: decode into them strictly,
			// so a misspelt field fails here instead of being pruned by the API server.
			if typed, ok := monitoringTypes[probe.Kind]; ok && group == monitoringv1.SchemeGroupVersion.Group {
				if err := yaml.UnmarshalStrict(y, typed()); err != nil {
					t.Errorf("%s: %s does not decode strictly: %v\n%s", where, probe.Kind, err, firstLines(y, 6))
				}
			}
			j, err := yaml.YAMLToJSON(y)
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(j); err != nil {
				t.Fatalf("%s: %s %s: %v", where, probe.Kind, probe.APIVersion, err)
			}
			objs = append(objs, u)
			continue
		}
		obj, gvk, err := codec.Decode(y, nil, nil)
		if err != nil {
			t.Errorf("%s: object does not decode strictly: %v\n%s", where, err, firstLines(y, 6))
			continue
		}
		if gvk.Kind == "" {
			t.Errorf("%s: object without a kind", where)
		}
		objs = append(objs, obj)
	}
	return objs
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func TestOverlaysBuildAndDecodeStrictly(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		if len(objs) < 20 {
			t.Errorf("%s renders only %d objects", o, len(objs))
		}
	}
}

// podSpecs returns every pod template of the overlay's workloads.
func podSpecs(objs []runtime.Object) map[string]corev1.PodTemplateSpec {
	out := map[string]corev1.PodTemplateSpec{}
	for _, o := range objs {
		switch w := o.(type) {
		case *appsv1.Deployment:
			out["Deployment/"+w.Name] = w.Spec.Template
		case *appsv1.StatefulSet:
			out["StatefulSet/"+w.Name] = w.Spec.Template
		case *batchv1.CronJob:
			out["CronJob/"+w.Name] = w.Spec.JobTemplate.Spec.Template
		}
	}
	return out
}

func TestEveryContainerIsProbedBoundedAndRestricted(t *testing.T) {
	for _, o := range overlays {
		for name, tpl := range podSpecs(render(t, o)) {
			spec := tpl.Spec
			if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
				t.Errorf("%s %s mounts a service account token it does not need", o, name)
			}
			podNonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
			podSeccomp := spec.SecurityContext != nil && spec.SecurityContext.SeccompProfile != nil && spec.SecurityContext.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault
			all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
			for i, c := range all {
				where := fmt.Sprintf("%s %s container %s", o, name, c.Name)
				// A Job's pod runs to completion: it has nothing to probe.
				if i >= len(spec.InitContainers) && !strings.HasPrefix(name, "CronJob/") && (c.ReadinessProbe == nil || c.LivenessProbe == nil) {
					t.Errorf("%s lacks a readiness or liveness probe", where)
				}
				for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					if _, ok := c.Resources.Requests[res]; !ok {
						t.Errorf("%s has no %s request", where, res)
					}
					if _, ok := c.Resources.Limits[res]; !ok {
						t.Errorf("%s has no %s limit", where, res)
					}
				}
				sc := c.SecurityContext
				if sc == nil {
					t.Errorf("%s has no security context", where)
					continue
				}
				if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Errorf("%s allows privilege escalation", where)
				}
				if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Errorf("%s has a writable root filesystem", where)
				}
				if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
					t.Errorf("%s may run as root", where)
				}
				if sc.Privileged != nil && *sc.Privileged {
					t.Errorf("%s is privileged", where)
				}
				if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
					t.Errorf("%s does not drop all capabilities", where)
				}
				if !podSeccomp && (sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
					t.Errorf("%s has no RuntimeDefault seccomp profile", where)
				}
			}
		}
	}
}

func TestEveryWorkloadIsSelectedByANetworkPolicy(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		var policies []*networkingv1.NetworkPolicy
		defaultDeny := false
		for _, obj := range objs {
			if np, ok := obj.(*networkingv1.NetworkPolicy); ok {
				if len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0 {
					if len(np.Spec.Ingress) == 0 && len(np.Spec.Egress) == 0 && len(np.Spec.PolicyTypes) == 2 {
						defaultDeny = true
					}
					continue
				}
				policies = append(policies, np)
			}
		}
		if !defaultDeny {
			t.Errorf("%s has no default-deny NetworkPolicy", o)
		}
		for name, tpl := range podSpecs(objs) {
			selected := false
			for _, np := range policies {
				sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
				if err != nil {
					t.Fatal(err)
				}
				if sel.Matches(labels.Set(tpl.Labels)) {
					selected = true
				}
			}
			if !selected {
				t.Errorf("%s %s is selected by no NetworkPolicy but the default deny", o, name)
			}
		}
	}
}

// cert-manager's HTTP-01 solver pods (for the Ingress hosts' certificates) are let
// in from the ingress controller on their port: the default deny stopped every
// challenge, so no public certificate would be issued.
func TestTheACMESolverIsReachedThroughTheIngress(t *testing.T) {
	solver := labels.Set{"acme.cert-manager.io/http01-solver": "true"}
	for _, o := range overlays {
		found := false
		for _, obj := range render(t, o) {
			np, ok := obj.(*networkingv1.NetworkPolicy)
			if !ok {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil {
				t.Fatal(err)
			}
			if len(np.Spec.PodSelector.MatchLabels) == 0 || !sel.Matches(solver) {
				continue
			}
			for _, in := range np.Spec.Ingress {
				for _, from := range in.From {
					for _, port := range in.Ports {
						if from.NamespaceSelector != nil && from.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "ingress-nginx" && port.Port != nil && port.Port.IntValue() == 8089 {
							found = true
						}
					}
				}
			}
		}
		if !found {
			t.Errorf("%s: no NetworkPolicy lets ingress-nginx reach cert-manager's HTTP-01 solver on 8089", o)
		}
	}
}

// processKeys are read by the Go runtime or the standard library, not by a Config.
var processKeys = []string{"SSL_CERT_DIR", "GOMEMLIMIT", "GOGC"}

// serviceEnv is every variable a service's container gets, by where it comes from.
func serviceEnv(t testing.TB, objs []runtime.Object, secretKeys map[string][]string) map[string]map[string]string {
	t.Helper()
	configMaps := map[string]map[string]string{}
	for _, obj := range objs {
		if v, ok := obj.(*corev1.ConfigMap); ok {
			configMaps[v.Name] = v.Data
		}
	}
	out := map[string]map[string]string{}
	for _, obj := range objs {
		d, ok := obj.(*appsv1.Deployment)
		if !ok {
			continue
		}
		if _, svc := configKeys[d.Name]; !svc {
			continue
		}
		set := map[string]string{}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, from := range c.EnvFrom {
				if from.ConfigMapRef != nil {
					cm, ok := configMaps[from.ConfigMapRef.Name]
					if !ok {
						t.Errorf("%s reads ConfigMap %s, which is not rendered", d.Name, from.ConfigMapRef.Name)
					}
					for k, v := range cm {
						set[k] = v
					}
				}
				if from.SecretRef != nil {
					keys, ok := secretKeys[from.SecretRef.Name]
					if !ok {
						t.Errorf("%s reads Secret %s, which k8s/secrets.example.yaml does not document", d.Name, from.SecretRef.Name)
					}
					for _, k := range keys {
						set[k] = "(secret)"
					}
				}
			}
			for _, e := range c.Env {
				set[e.Name] = e.Value
				if e.ValueFrom != nil {
					set[e.Name] = "(from " + e.ValueFrom.String() + ")"
				}
			}
		}
		out[d.Name] = set
	}
	return out
}

// TestEveryConfigKeyIsSet derives the keys from each service's config type, so a new
// key without a manifest entry fails here; and a variable the manifests set that no
// service reads (a typo, a renamed key) fails too.
func TestEveryConfigKeyIsSet(t *testing.T) {
	secretKeys := exampleSecretKeys(t)
	for _, o := range overlays {
		env := serviceEnv(t, render(t, o), secretKeys)
		for svc, keysOf := range configKeys {
			set, ok := env[svc]
			if !ok {
				t.Errorf("%s has no Deployment for %s", o, svc)
				continue
			}
			keys, err := keysOf()
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if _, ok := set[k]; !ok {
					t.Errorf("%s: %s reads %s, but neither its ConfigMap nor its Secret sets it", o, svc, k)
				}
			}
			for k := range set {
				if !slices.Contains(keys, k) && !slices.Contains(processKeys, k) {
					t.Errorf("%s: the manifests set %s for %s, which it does not read", o, k, svc)
				}
			}
		}
	}
}

// checkConfig loads a service's environment as it does at start-up.
var checkConfig = map[string]func(map[string]string) error{
	"signatory": signatory.CheckConfig,
	"fund":      fund.CheckConfig,
	"notify":    notify.CheckConfig,
	"review":    review.CheckConfig,
	"portal":    portal.CheckConfig,
}

// secretStandIns are values of the kinds the Secrets hold, for the variables the
// manifests take from them: a connection string as the MongoDB operator writes it,
// and secrets as long as the services want them.
var secretStandIns = map[string]string{
	"MONGO_URI":            "mongodb+srv://svc:pw@mongodb-svc.technician-commitment.svc.cluster.local/svc?replicaSet=mongodb&ssl=true",
	"PORTAL_PSEUDONYM_KEY": "a stand-in for openssl rand -base64 32's output",
}

// TestTheManifestsConfigureEveryServiceAsItLoads loads what each overlay gives each
// service's container (its ConfigMap, and stand-ins for its Secrets) as the service
// reads its environment at start-up: a value out of a setting's bounds, or written
// as the service does not read it, would otherwise be found by a pod that exits at
// start.
func TestTheManifestsConfigureEveryServiceAsItLoads(t *testing.T) {
	secretKeys := exampleSecretKeys(t)
	for _, o := range overlays {
		for svc, set := range serviceEnv(t, render(t, o), secretKeys) {
			environ := map[string]string{}
			for k, v := range set {
				if stand, ok := secretStandIns[k]; ok {
					v = stand
				}
				environ[k] = v
			}
			if err := checkConfig[svc](environ); err != nil {
				t.Errorf("%s: %s refuses its configuration: %v", o, svc, err)
			}
		}
	}
}

// environmentKeys differ between environments: the base must not set them (so a
// production value never reaches dev) and every overlay must.
var environmentKeys = []string{"AUTH_ISSUER", "AUTH_JWKS_URL", "AUTH_AUDIENCE"}

// TestEnvironmentValuesLiveInOverlays: the issuer and audiences come from the overlay;
// JWKS is fetched over HTTPS only; each service has its own audience, so a token for one
// is refused by the others.
func TestEnvironmentValuesLiveInOverlays(t *testing.T) {
	base := objectsByID(t, filesys.MakeFsOnDisk(), filepath.Join("k8s", "base"))
	for id, obj := range base {
		if !strings.HasPrefix(id, "ConfigMap/") {
			continue
		}
		data, _ := obj["data"].(map[string]any)
		for _, k := range append(slices.Clone(environmentKeys), "NOTIFY_PUBLIC_URL", "NOTIFY_PORTAL_URL", "NOTIFY_CONTACT_EMAIL", "FUND_CONTACT_EMAIL", "SMTP_HOST", "SMTP_FROM",
			"PORTAL_PUBLIC_URL", "PORTAL_CONTACT_EMAIL", "PORTAL_DPO_CONTACT", "PORTAL_TRANSFERS_OUTSIDE_UK", "PORTAL_OIDC_ISSUER", "PORTAL_OIDC_REDIRECT_URL", "PORTAL_SIGNATORY_AUDIENCE", "PORTAL_REVIEW_AUDIENCE", "PORTAL_NOTIFY_AUDIENCE", "PORTAL_FUND_AUDIENCE") {
			if _, ok := data[k]; ok {
				t.Errorf("base %s sets %s: that is an environment's value, set it in the overlays", id, k)
			}
		}
	}
	for _, o := range overlays {
		env := serviceEnv(t, render(t, o), exampleSecretKeys(t))
		audiences := map[string]string{}
		for svc, set := range env {
			if svc == "portal" {
				continue // it verifies no bearer tokens; its own values are checked below
			}
			if u := set["AUTH_JWKS_URL"]; !strings.HasPrefix(u, "https://") {
				t.Errorf("%s: %s fetches its JWKS from %q, not over HTTPS", o, svc, u)
			}
			aud := set["AUTH_AUDIENCE"]
			if other, dup := audiences[aud]; dup {
				t.Errorf("%s: %s and %s share the audience %q", o, svc, other, aud)
			}
			audiences[aud] = svc
			if !strings.HasSuffix(aud, "/"+svc) {
				t.Errorf("%s: %s's audience %q does not name it", o, svc, aud)
			}
		}
		if u := env["notify"]["NOTIFY_PORTAL_URL"]; !strings.HasPrefix(u, "https://") {
			t.Errorf("%s: NOTIFY_PORTAL_URL %q is not an https URL", o, u)
		}
		// notify has no default sender or contact address: each environment names its
		// own.
		for _, k := range []string{"SMTP_FROM", "NOTIFY_CONTACT_EMAIL"} {
			if a := env["notify"][k]; !strings.Contains(a, "@") {
				t.Errorf("%s: notify's %s is %q, not an address", o, k, a)
			}
		}
		// No email offers an unsubscribe (docs/PRIVACY.md): an address set for one would
		// be a mailbox nobody acts on.
		if a, ok := env["notify"]["SMTP_UNSUBSCRIBE"]; ok {
			t.Errorf("%s: notify is given SMTP_UNSUBSCRIBE=%q, which it no longer reads", o, a)
		}
		// The portal signs each service's tokens with the audience that service accepts,
		// is reached over https at the address the services trust as an issuer, and
		// signs ops in at the same issuer as the services' tokens come from.
		p := env["portal"]
		for _, svc := range []string{"signatory", "review", "notify", "fund"} {
			if got, want := p["PORTAL_"+strings.ToUpper(svc)+"_AUDIENCE"], env[svc]["AUTH_AUDIENCE"]; got != want {
				t.Errorf("%s: the portal signs %s's tokens for %q, but %s accepts %q", o, svc, got, svc, want)
			}
			if got := env[svc]["AUTH_PORTAL_ISSUER"]; got != p["PORTAL_PUBLIC_URL"] {
				t.Errorf("%s: %s trusts the portal issuer %q, but the portal is at %q", o, svc, got, p["PORTAL_PUBLIC_URL"])
			}
			if got, want := p["PORTAL_"+strings.ToUpper(svc)+"_URL"], "http://"+svc; got != want {
				t.Errorf("%s: the portal calls %s at %q, want its Service %q", o, svc, got, want)
			}
		}
		if u := p["PORTAL_PUBLIC_URL"]; !strings.HasPrefix(u, "https://") || u != env["notify"]["NOTIFY_PORTAL_URL"] {
			t.Errorf("%s: PORTAL_PUBLIC_URL %q is not https or not where notify's emails link (%q)", o, u, env["notify"]["NOTIFY_PORTAL_URL"])
		}
		if p["PORTAL_OIDC_ISSUER"] != env["signatory"]["AUTH_ISSUER"] || !strings.HasPrefix(p["PORTAL_OIDC_REDIRECT_URL"], p["PORTAL_PUBLIC_URL"]+"/") {
			t.Errorf("%s: the portal's ops sign-in (issuer %q, redirect %q) is not the services' issuer and its own address", o, p["PORTAL_OIDC_ISSUER"], p["PORTAL_OIDC_REDIRECT_URL"])
		}
		// People are told one address to write to ITSS at, in the emails, on the pages
		// and in the fund's answers to applicants' tools.
		if a := p["PORTAL_CONTACT_EMAIL"]; !strings.Contains(a, "@") || a != env["notify"]["NOTIFY_CONTACT_EMAIL"] {
			t.Errorf("%s: the portal's PORTAL_CONTACT_EMAIL %q is not an address, or not the one the emails give (%q)", o, a, env["notify"]["NOTIFY_CONTACT_EMAIL"])
		}
		if a := env["fund"]["FUND_CONTACT_EMAIL"]; !strings.Contains(a, "@") || a != env["notify"]["NOTIFY_CONTACT_EMAIL"] {
			t.Errorf("%s: the fund's FUND_CONTACT_EMAIL %q is not an address, or not the one the emails give (%q)", o, a, env["notify"]["NOTIFY_CONTACT_EMAIL"])
		}
		if p["PORTAL_INSECURE_COOKIES"] != "false" {
			t.Errorf("%s: the portal's cookies are not Secure (PORTAL_INSECURE_COOKIES=%q)", o, p["PORTAL_INSECURE_COOKIES"])
		}
	}
}

// exampleSecretKeys reads the documented Secrets and the keys each holds.
func exampleSecretKeys(t testing.TB) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("k8s", "secrets.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	codec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
	out := map[string][]string{}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		obj, _, err := codec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("secrets.example.yaml: %v", err)
		}
		s, ok := obj.(*corev1.Secret)
		if !ok {
			t.Fatalf("secrets.example.yaml holds a %T", obj)
		}
		for k := range s.StringData {
			out[s.Name] = append(out[s.Name], k)
		}
	}
	return out
}

// allowed reports whether the overlay's NetworkPolicies let a pod labelled from (in this
// namespace, or in namespace fromNS when it is set) reach a pod labelled to on TCP port:
// an egress rule of a policy selecting from and an ingress rule of one selecting to.
func allowed(t testing.TB, policies []*networkingv1.NetworkPolicy, from map[string]string, fromNS string, to map[string]string, port int32) (egress, ingress bool) {
	t.Helper()
	matches := func(sel *metav1.LabelSelector, l map[string]string) bool {
		if sel == nil {
			return true
		}
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		return s.Matches(labels.Set(l))
	}
	portOK := func(ports []networkingv1.NetworkPolicyPort) bool {
		return len(ports) == 0 || slices.ContainsFunc(ports, func(p networkingv1.NetworkPolicyPort) bool {
			return p.Port == nil || p.Port.IntVal == port
		})
	}
	peerOK := func(peers []networkingv1.NetworkPolicyPeer, l map[string]string, ns string) bool {
		return len(peers) == 0 || slices.ContainsFunc(peers, func(p networkingv1.NetworkPolicyPeer) bool {
			if p.IPBlock != nil {
				return false
			}
			if p.NamespaceSelector == nil {
				return ns == "" && matches(p.PodSelector, l)
			}
			return matches(p.NamespaceSelector, map[string]string{"kubernetes.io/metadata.name": ns}) && matches(p.PodSelector, l)
		})
	}
	for _, np := range policies {
		if fromNS == "" && matches(&np.Spec.PodSelector, from) {
			for _, r := range np.Spec.Egress {
				if portOK(r.Ports) && peerOK(r.To, to, "") {
					egress = true
				}
			}
		}
		if matches(&np.Spec.PodSelector, to) {
			for _, r := range np.Spec.Ingress {
				if portOK(r.Ports) && peerOK(r.From, from, fromNS) {
					ingress = true
				}
			}
		}
	}
	if fromNS != "" {
		egress = true // the other namespace's own policies decide its egress
	}
	return egress, ingress
}

// TestPortalReachesTheServicesAndIsReachedByTheIngressController: the portal's calls to
// the four services' APIs pass both its egress and their ingress, the ingress controller
// reaches the portal's HTTP port, and the portal reaches NATS and MongoDB; another
// workload (nats-box) may not call the services' APIs.
func TestPortalReachesTheServicesAndIsReachedByTheIngressController(t *testing.T) {
	for _, o := range overlays {
		var policies []*networkingv1.NetworkPolicy
		tpls := map[string]map[string]string{}
		for _, obj := range render(t, o) {
			switch v := obj.(type) {
			case *networkingv1.NetworkPolicy:
				policies = append(policies, v)
			case *appsv1.Deployment:
				tpls[v.Name] = v.Spec.Template.Labels
			}
		}
		portal := tpls["portal"]
		if portal == nil {
			t.Fatalf("%s has no portal Deployment", o)
		}
		for _, svc := range []string{"signatory", "review", "notify", "fund"} {
			if e, i := allowed(t, policies, portal, "", tpls[svc], 8080); !e || !i {
				t.Errorf("%s: portal → %s:8080 refused (portal egress %v, %s ingress %v)", o, svc, e, svc, i)
			}
			if e, i := allowed(t, policies, tpls["nats-box"], "", tpls[svc], 8080); e && i {
				t.Errorf("%s: nats-box may call %s's API", o, svc)
			}
		}
		if _, i := allowed(t, policies, map[string]string{"app.kubernetes.io/name": "ingress-nginx"}, "ingress-nginx", portal, 8080); !i {
			t.Errorf("%s: the ingress controller cannot reach the portal on 8080", o)
		}
		for what, to := range map[string]struct {
			labels map[string]string
			port   int32
		}{"NATS": {map[string]string{"app.kubernetes.io/name": "nats"}, 4222}, "MongoDB": {map[string]string{"app": "mongodb-svc"}, 27017}} {
			if e, i := allowed(t, policies, portal, "", to.labels, to.port); !e || !i {
				t.Errorf("%s: portal → %s refused (egress %v, ingress %v)", o, what, e, i)
			}
		}
	}
}

// TestMongoDBMembersReachTheAPIServer: the MongoDB operator's readiness probe, in each
// member, patches its pod through the Kubernetes API server (mongodb-kubernetes-
// operator's pkg/readiness/headless); a member whose policies refuse that egress is
// never Ready. The API server is outside the pod network, so a rule of ports alone.
func TestMongoDBMembersReachTheAPIServer(t *testing.T) {
	member := map[string]string{"app": "mongodb-svc"}
	for _, o := range overlays {
		var policies []*networkingv1.NetworkPolicy
		for _, obj := range render(t, o) {
			if v, ok := obj.(*networkingv1.NetworkPolicy); ok {
				policies = append(policies, v)
			}
		}
		for _, port := range []int32{443, 6443} {
			if e, _ := allowed(t, policies, member, "", map[string]string{}, port); !e {
				t.Errorf("%s: a MongoDB member may not reach the API server on %d", o, port)
			}
		}
	}
}
