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

	"github.com/nats-io/nats-server/v2/server"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/itss/techcommit/services/fund"
	"github.com/itss/techcommit/services/notify"
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
}

var overlays = []string{"dev", "prod"}

// render builds an overlay and decodes every object strictly.
func render(t *testing.T, overlay string) []runtime.Object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join("k8s", "overlays", overlay))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", overlay, err)
	}
	return decodeAll(t, overlay, resources.Resources())
}

type yamler interface{ AsYAML() ([]byte, error) }

func decodeAll[R yamler](t *testing.T, where string, resources []R) []runtime.Object {
	t.Helper()
	codec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
	var objs []runtime.Object
	for _, r := range resources {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
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
				if i >= len(spec.InitContainers) && (c.ReadinessProbe == nil || c.LivenessProbe == nil) {
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

// TestEveryConfigKeyIsSet derives the keys from each service's config type, so a new
// key without a manifest entry fails here.
func TestEveryConfigKeyIsSet(t *testing.T) {
	secretKeys := exampleSecretKeys(t)
	for _, o := range overlays {
		objs := render(t, o)
		configMaps := map[string]map[string]string{}
		deployments := map[string]*appsv1.Deployment{}
		for _, obj := range objs {
			switch v := obj.(type) {
			case *corev1.ConfigMap:
				configMaps[v.Name] = v.Data
			case *appsv1.Deployment:
				deployments[v.Name] = v
			}
		}
		for svc, keysOf := range configKeys {
			d, ok := deployments[svc]
			if !ok {
				t.Errorf("%s has no Deployment for %s", o, svc)
				continue
			}
			set := map[string]bool{}
			for _, c := range d.Spec.Template.Spec.Containers {
				for _, from := range c.EnvFrom {
					if from.ConfigMapRef != nil {
						for k := range configMaps[from.ConfigMapRef.Name] {
							set[k] = true
						}
					}
					if from.SecretRef != nil {
						for _, k := range secretKeys[from.SecretRef.Name] {
							set[k] = true
						}
					}
				}
				for _, e := range c.Env {
					set[e.Name] = true
				}
			}
			keys, err := keysOf()
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if !set[k] {
					t.Errorf("%s: %s reads %s, but neither its ConfigMap nor its Secret sets it", o, svc, k)
				}
			}
		}
	}
}

// exampleSecretKeys reads the documented Secrets and the keys each holds.
func exampleSecretKeys(t *testing.T) map[string][]string {
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

// TestNATSConfigurationIsValid loads the rendered NATS configuration with the NATS
// server's own parser, with the passwords set as the StatefulSet sets them.
func TestNATSConfigurationIsValid(t *testing.T) {
	for _, o := range overlays {
		var cm *corev1.ConfigMap
		for _, obj := range render(t, o) {
			if c, ok := obj.(*corev1.ConfigMap); ok && c.Name == "nats-config" {
				cm = c
			}
		}
		if cm == nil {
			t.Fatalf("%s has no nats-config", o)
		}
		dir := t.TempDir()
		for name, content := range cm.Data {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, svc := range []string{"SIGNATORY", "REVIEW", "NOTIFY", "FUND"} {
			t.Setenv(svc+"_NATS_PASSWORD", "test-"+svc)
		}
		t.Setenv("POD_NAME", "nats-0")
		opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats.conf"))
		if err != nil {
			t.Fatalf("%s: nats.conf: %v", o, err)
		}
		if !opts.JetStream {
			t.Errorf("%s: JetStream is not enabled", o)
		}
		if len(opts.Users) != 4 {
			t.Errorf("%s: %d NATS users, want one per service", o, len(opts.Users))
		}
		for _, u := range opts.Users {
			if u.Password != "test-"+strings.ToUpper(u.Username) {
				t.Errorf("%s: user %s's password is not taken from its environment variable", o, u.Username)
			}
			if u.Permissions == nil || u.Permissions.Publish == nil || !slices.Contains(u.Permissions.Publish.Allow, "tc."+u.Username+".>") {
				t.Errorf("%s: user %s may not publish its own subjects", o, u.Username)
			}
			for _, other := range []string{"signatory", "review", "notify", "fund"} {
				if other != u.Username && slices.Contains(u.Permissions.Publish.Allow, "tc."+other+".>") {
					t.Errorf("%s: user %s may publish %s's events", o, u.Username, other)
				}
			}
		}
		if o == "prod" && len(opts.Routes) != 3 {
			t.Errorf("prod: %d cluster routes, want 3", len(opts.Routes))
		}
	}
}
