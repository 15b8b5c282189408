package deploy

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// suiteNamespace is where `kubectl apply -k` of an overlay puts the suite, whatever the
// context's namespace: every command of the runbook says `-n technician-commitment`.
const suiteNamespace = "technician-commitment"

// clusterScoped are the kinds the manifests use, or may come to use, that have no
// namespace. Any other kind is taken as namespaced.
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"ClusterIssuer": true, "ClusterSecretStore": true, "CustomResourceDefinition": true,
}

// renderWithComponents renders an overlay with the optional components added to its
// kustomization (in memory), as an operator following deploy/README.md would.
func renderWithComponents(t testing.TB, overlay string, components ...string) []runtime.Object {
	t.Helper()
	if len(components) == 0 {
		return render(t, overlay)
	}
	mem := diskToMemory(t)
	kz := filepath.Join("k8s", "overlays", overlay, "kustomization.yaml")
	data, err := mem.ReadFile(kz)
	if err != nil {
		t.Fatal(err)
	}
	var add strings.Builder
	for _, c := range components {
		add.WriteString("  - ../../components/" + c + "\n")
	}
	s := string(data)
	if strings.Contains(s, "\ncomponents:\n") {
		s = strings.Replace(s, "\ncomponents:\n", "\ncomponents:\n"+add.String(), 1)
	} else {
		s += "components:\n" + add.String()
	}
	if err := mem.WriteFile(kz, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return decodeAll(t, overlay+"+"+strings.Join(components, "+"), build(t, mem, filepath.Dir(kz)).Resources())
}

// overlayVariants are the ways an overlay is applied: as it is, and with the optional
// secret-store component.
var overlayVariants = [][]string{nil, {"external-secrets"}}

func kindAndMeta(t testing.TB, o runtime.Object) (string, metav1.Object) {
	t.Helper()
	acc, err := apimeta.Accessor(o)
	if err != nil {
		t.Fatal(err)
	}
	kind := o.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		for k := range objectNames(t, []runtime.Object{o}) {
			kind, _, _ = strings.Cut(k, "/")
		}
	}
	return kind, acc
}

// TestEveryObjectIsInTheSuitesNamespace: a namespace set in the base reaches only the
// base's objects. The Ingresses, the collector's env ConfigMap and the ExternalSecrets an
// overlay or component added had none, so `kubectl apply -k` put them in the context's
// namespace (normally default): the public hosts answered 503, the collector never
// started and, with the secret store, no service did.
func TestEveryObjectIsInTheSuitesNamespace(t *testing.T) {
	for _, o := range overlays {
		for _, comps := range overlayVariants {
			where := strings.Join(append([]string{o}, comps...), "+")
			for _, obj := range renderWithComponents(t, o, comps...) {
				kind, m := kindAndMeta(t, obj)
				if clusterScoped[kind] {
					continue
				}
				if m.GetNamespace() != suiteNamespace {
					t.Errorf("%s: %s %s is in namespace %q, not %s", where, kind, m.GetName(), m.GetNamespace(), suiteNamespace)
				}
			}
		}
	}
}

// TestEveryConfigReferenceFollowsItsObject: every ConfigMap a pod reads is one the
// overlay renders, in the pod's namespace, under the name the generator gave it (with
// its hash); and no pod reads a generated Secret by its name without the hash. A
// reference Kustomize did not rewrite names nothing: the collector's envFrom named
// otel-collector-env while the object was otel-collector-env-<hash>, in another
// namespace, and its pods stayed in CreateContainerConfigError.
func TestEveryConfigReferenceFollowsItsObject(t *testing.T) {
	// The ConfigMaps the runbook has the operator create (the tracing backend's CA),
	// in the suite's namespace.
	created := map[string]bool{}
	for _, c := range runbookCommands(t) {
		m, ns := createConfigMap.FindStringSubmatch(c), nsFlag.FindStringSubmatch(c)
		if m != nil && ns != nil && ns[1] == suiteNamespace {
			created["ConfigMap "+suiteNamespace+"/"+m[1]] = true
		}
	}
	for _, o := range overlays {
		for _, comps := range overlayVariants {
			where := strings.Join(append([]string{o}, comps...), "+")
			objs := renderWithComponents(t, o, comps...)
			rendered := map[string]bool{}  // "Kind namespace/name"
			generated := map[string]bool{} // "Kind name" without the hash, of generated objects
			for _, obj := range objs {
				kind, m := kindAndMeta(t, obj)
				rendered[kind+" "+m.GetNamespace()+"/"+m.GetName()] = true
				if base := hashSuffix.ReplaceAllString(m.GetName(), ""); base != m.GetName() {
					generated[kind+" "+base] = true
				}
			}
			for _, obj := range objs {
				_, m := kindAndMeta(t, obj)
				for name, tpl := range podSpecs([]runtime.Object{obj}) {
					for _, ref := range configReferences(tpl.Spec) {
						if generated[ref.kind+" "+ref.name] {
							t.Errorf("%s: %s reads %s %s by its name without the generator's hash: no such object", where, name, ref.kind, ref.name)
							continue
						}
						if key := "ConfigMap " + m.GetNamespace() + "/" + ref.name; ref.kind == "ConfigMap" && !rendered[key] && !created[key] {
							t.Errorf("%s: %s (namespace %s) reads ConfigMap %s, which the overlay does not render there", where, name, m.GetNamespace(), ref.name)
						}
					}
				}
			}
		}
	}
}

type configRef struct{ kind, name string }

// createConfigMap matches a runbook command that creates a ConfigMap, capturing its name.
var createConfigMap = regexp.MustCompile(`kubectl .*\bcreate (?:configmap|cm) ([a-z0-9-]+)`)

// configReferences lists the ConfigMaps and Secrets a pod reads, through its
// containers' environment and its volumes.
func configReferences(spec corev1.PodSpec) []configRef {
	var out []configRef
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		for _, from := range c.EnvFrom {
			if from.ConfigMapRef != nil {
				out = append(out, configRef{"ConfigMap", from.ConfigMapRef.Name})
			}
			if from.SecretRef != nil {
				out = append(out, configRef{"Secret", from.SecretRef.Name})
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				out = append(out, configRef{"ConfigMap", r.Name})
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				out = append(out, configRef{"Secret", r.Name})
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil {
			out = append(out, configRef{"ConfigMap", v.ConfigMap.Name})
		}
		if v.Secret != nil {
			out = append(out, configRef{"Secret", v.Secret.SecretName})
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					out = append(out, configRef{"ConfigMap", s.ConfigMap.Name})
				}
				if s.Secret != nil {
					out = append(out, configRef{"Secret", s.Secret.Name})
				}
			}
		}
	}
	return out
}
