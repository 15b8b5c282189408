package deploy

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	hostKey = "kubernetes.io/hostname"
	zoneKey = "topology.kubernetes.io/zone"
)

// replicated is a workload that must survive the loss of a node: its pod template, the
// labels its pods carry, and how many it runs.
type replicated struct {
	tpl      corev1.PodTemplateSpec
	podLabel labels.Set
	replicas int32
}

// dataPlane finds the NATS StatefulSet, the MongoDB replica set (through its operator
// resource, whose pods the operator labels app: <name>-svc) and the OTel collector.
func dataPlane(t testing.TB, objs []runtime.Object) map[string]replicated {
	t.Helper()
	out := map[string]replicated{}
	for _, o := range objs {
		switch w := o.(type) {
		case *appsv1.StatefulSet:
			if w.Name == "nats" && w.Spec.Replicas != nil {
				out["nats"] = replicated{w.Spec.Template, w.Spec.Template.Labels, *w.Spec.Replicas}
			}
		case *appsv1.Deployment:
			if w.Name == "otel-collector" {
				r := int32(1)
				if w.Spec.Replicas != nil {
					r = *w.Spec.Replicas
				}
				out["otel-collector"] = replicated{w.Spec.Template, w.Spec.Template.Labels, r}
			}
		case *unstructured.Unstructured:
			if w.GetKind() != "MongoDBCommunity" {
				continue
			}
			members, _, _ := unstructured.NestedInt64(w.Object, "spec", "members")
			raw, _, _ := unstructured.NestedMap(w.Object, "spec", "statefulSet", "spec", "template")
			var tpl corev1.PodTemplateSpec
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &tpl); err != nil {
				t.Fatalf("MongoDBCommunity %s pod template: %v", w.GetName(), err)
			}
			out["mongodb"] = replicated{tpl, labels.Set{"app": w.GetName() + "-svc"}, int32(members)}
		}
	}
	return out
}

// TestDataStoresSurviveANodeOrAZone: in prod, NATS and MongoDB run three members that no
// two share a node (required anti-affinity or a hard spread) and that spread over
// zones, with a PodDisruptionBudget that lets a drain take one at a time; the collector
// runs two, spread the same way, with a budget.
func TestDataStoresSurviveANodeOrAZone(t *testing.T) {
	objs := render(t, "prod")
	plane := dataPlane(t, objs)
	var pdbs []*policyv1.PodDisruptionBudget
	for _, o := range objs {
		if p, ok := o.(*policyv1.PodDisruptionBudget); ok {
			pdbs = append(pdbs, p)
		}
	}
	want := map[string]int32{"nats": 3, "mongodb": 3, "otel-collector": 2}
	for name, min := range want {
		w, ok := plane[name]
		if !ok {
			t.Errorf("prod has no %s", name)
			continue
		}
		if w.replicas < min {
			t.Errorf("prod %s runs %d, want at least %d", name, w.replicas, min)
		}
		if !oneperNode(w) {
			t.Errorf("prod %s: nothing keeps two of its pods off one node (required pod anti-affinity or a DoNotSchedule spread on %s)", name, hostKey)
		}
		if !spreadOver(w, zoneKey, false) {
			t.Errorf("prod %s: pods are not spread over zones (%s)", name, zoneKey)
		}
		covered := false
		for _, p := range pdbs {
			sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			if err != nil {
				t.Fatal(err)
			}
			if !sel.Matches(w.podLabel) {
				continue
			}
			covered = true
			switch {
			case p.Spec.MaxUnavailable != nil:
				if v := intstr.ValueOrDefault(p.Spec.MaxUnavailable, intstr.FromInt32(0)).IntValue(); v != 1 {
					t.Errorf("prod PDB %s lets %d of %s go at once; a quorum of %d survives one", p.Name, v, name, w.replicas)
				}
			case p.Spec.MinAvailable != nil:
				if v := int32(p.Spec.MinAvailable.IntValue()); v < w.replicas-1 || v >= w.replicas {
					t.Errorf("prod PDB %s keeps %d of %d %s available", p.Name, v, w.replicas, name)
				}
			}
		}
		if !covered {
			t.Errorf("prod %s: no PodDisruptionBudget selects its pods %v", name, w.podLabel)
		}
	}
}

func oneperNode(w replicated) bool {
	if a := w.tpl.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
			if err == nil && term.TopologyKey == hostKey && sel.Matches(w.podLabel) {
				return true
			}
		}
	}
	return spreadOver(w, hostKey, true)
}

func spreadOver(w replicated, key string, hard bool) bool {
	for _, c := range w.tpl.Spec.TopologySpreadConstraints {
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil || c.TopologyKey != key || !sel.Matches(w.podLabel) || c.MaxSkew != 1 {
			continue
		}
		if !hard || c.WhenUnsatisfiable == corev1.DoNotSchedule {
			return true
		}
	}
	return false
}

// TestRunbookClaimsOnlyTheSpreadTheServicesHave: the runbook's Node loss section said
// each service "runs at least two spread over nodes", while the services' spread over
// nodes is ScheduleAnyway: the scheduler may put two on one node, and that node's loss
// then takes the service down. Where a service's spread is not enforced, the section
// says it is best-effort.
func TestRunbookClaimsOnlyTheSpreadTheServicesHave(t *testing.T) {
	section := runbookSection(t, "## Node loss")
	for _, o := range render(t, "prod") {
		d, ok := o.(*appsv1.Deployment)
		if !ok {
			continue
		}
		if _, svc := configKeys[d.Name]; !svc {
			continue
		}
		w := replicated{tpl: d.Spec.Template, podLabel: labels.Set(d.Spec.Template.Labels)}
		if !oneperNode(w) && !strings.Contains(section, "best-effort") {
			t.Errorf("prod: service %s is spread over nodes only where the scheduler can (ScheduleAnyway), and the runbook's Node loss section does not say it is best-effort", d.Name)
		}
	}
}
