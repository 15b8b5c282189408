package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ownRegistry is where the suite's own images live; `make release` pins them by digest.
const ownRegistry = "registry.itss.org.uk/technician-commitment/"

var (
	digestRef = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	// versionTag is an exact release tag such as 2.15.3-alpine or v0.17.3: a moving tag
	// (latest, stable, 7.0) could change what runs without a change here.
	versionTag = regexp.MustCompile(`:v?\d+\.\d+\.\d+[-.\w]*$`)
)

// containers lists every container of every workload, by "kind/name container".
func containers(objs []runtime.Object) map[string]corev1.Container {
	out := map[string]corev1.Container{}
	add := func(where string, spec corev1.PodSpec) {
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			out[where+" "+c.Name] = c
		}
	}
	for _, o := range objs {
		switch w := o.(type) {
		case *appsv1.Deployment:
			add("Deployment/"+w.Name, w.Spec.Template.Spec)
		case *appsv1.StatefulSet:
			add("StatefulSet/"+w.Name, w.Spec.Template.Spec)
		case *batchv1.CronJob:
			add("CronJob/"+w.Name, w.Spec.JobTemplate.Spec.Template.Spec)
		case *batchv1.Job:
			add("Job/"+w.Name, w.Spec.Template.Spec)
		}
	}
	return out
}

// TestProdImagesArePinned: production runs exactly the images a release built. The
// suite's own images are pinned by digest (written by `make release`); third-party
// images by an exact version tag.
func TestProdImagesArePinned(t *testing.T) {
	cs := containers(render(t, "prod"))
	own := 0
	for where, c := range cs {
		switch {
		case strings.HasPrefix(c.Image, ownRegistry):
			own++
			if !digestRef.MatchString(c.Image) {
				t.Errorf("prod %s runs %s, not pinned by digest", where, c.Image)
			}
		case digestRef.MatchString(c.Image):
		case strings.HasSuffix(c.Image, ":latest") || !versionTag.MatchString(c.Image):
			t.Errorf("prod %s runs %s, without an exact version tag", where, c.Image)
		}
	}
	if own < len(configKeys) {
		t.Errorf("prod runs %d of the suite's own images, want at least one per service (%d)", own, len(configKeys))
	}
}

// releaseFile is the prod overlay's release component: each service's image by the
// digest `make release` built, the release's tag in each line's comment.
var releaseFile = filepath.Join("k8s", "overlays", "prod", "release", "kustomization.yaml")

// pinnedTag matches a pin of releaseFile, capturing the service and the tag it was built as.
var pinnedTag = regexp.MustCompile(`^\s*- \{name: technician-commitment/([a-z]+),.*\bdigest: sha256:[0-9a-f]{64}\} # (\S+)$`)

// releaseTagProblems lists what is wrong with a release component's pins: a pin built
// as anything but a version (dev names whatever was built last) or no pin at all.
func releaseTagProblems(data string) []string {
	var problems []string
	pins := 0
	for _, line := range strings.Split(data, "\n") {
		m := pinnedTag.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pins++
		if !versionTag.MatchString(":" + m[2]) {
			problems = append(problems, fmt.Sprintf("%s is pinned to a build tagged %q, not a release version", m[1], m[2]))
		}
	}
	if pins == 0 {
		problems = append(problems, "no image is pinned with the tag it was built as")
	}
	return problems
}

// TestProdPinsAReleasesImages: the digests prod runs are those of a release, built with
// a version tag; `make images` with the default TAG=dev used to rewrite this file, so a
// developer's build replaced production's pins (each line then ending "# dev").
func TestProdPinsAReleasesImages(t *testing.T) {
	data, err := os.ReadFile(releaseFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range releaseTagProblems(string(data)) {
		t.Errorf("%s: %s", releaseFile, p)
	}
	// The check itself refuses what a dev build wrote.
	dev := "  - {name: technician-commitment/fund, newName: " + ownRegistry + "fund, digest: sha256:" + strings.Repeat("a", 64) + "} # dev\n"
	if len(releaseTagProblems(dev)) == 0 {
		t.Errorf("a pin built as dev passes the check:\n%s", dev)
	}
}

// TestOnlyAReleaseBuildPinsProdsImages: building images (make images, TAG=dev by
// default) leaves the prod overlay's pins alone; make release writes them, and refuses
// a tag that is not a version. Run as make's dry run (-n), which builds nothing.
func TestOnlyAReleaseBuildPinsProdsImages(t *testing.T) {
	makeCmd, err := exec.LookPath("make")
	if err != nil {
		t.Skip("no make on this machine")
	}
	dryRun := func(args ...string) (string, error) {
		cmd := exec.Command(makeCmd, append([]string{"-n", "-C", ".."}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, args := range [][]string{{"images"}, {"images", "TAG=dev"}, {"images", "TAG=1.4.0"}} {
		out, err := dryRun(args...)
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if strings.Contains(out, filepath.ToSlash(releaseFile)) {
			t.Errorf("make %s writes prod's pins (%s):\n%s", strings.Join(args, " "), releaseFile, out)
		}
	}
	for _, tag := range []string{"", "dev", "latest", "1.4"} {
		args := []string{"release"}
		if tag != "" {
			args = append(args, "TAG="+tag)
		}
		if out, err := dryRun(args...); err == nil {
			t.Errorf("make %s is not refused:\n%s", strings.Join(args, " "), out)
		}
	}
	out, err := dryRun("release", "TAG=1.4.0")
	if err != nil {
		t.Fatalf("make -n release TAG=1.4.0: %v\n%s", err, out)
	}
	if !strings.Contains(out, filepath.ToSlash(releaseFile)) {
		t.Errorf("make release TAG=1.4.0 does not write %s:\n%s", releaseFile, out)
	}
}

// TestMutableTagsArePulledEachStart: a container whose image is neither pinned by
// digest nor tagged with an exact version (dev's :dev, rebuilt and pushed again and
// again) is pulled each time it starts. With Kubernetes' default for such a tag
// (IfNotPresent) a node that holds an older :dev runs it, and a rollout looks done.
func TestMutableTagsArePulledEachStart(t *testing.T) {
	for _, o := range overlays {
		for where, c := range containers(render(t, o)) {
			if digestRef.MatchString(c.Image) || (versionTag.MatchString(c.Image) && !strings.HasSuffix(c.Image, ":latest")) {
				continue
			}
			if c.ImagePullPolicy != corev1.PullAlways {
				t.Errorf("%s %s runs %s, a tag that moves, with imagePullPolicy %q: want Always", o, where, c.Image, c.ImagePullPolicy)
			}
		}
	}
}

// TestNATSRunsTheServerItsTestsRun: the NATS tests here (TLS, accounts, the ops
// user's rights for the dead-letter runbook) run the rendered configuration in the
// nats-server this module builds with; the cluster must run that same release, or
// what they prove is about another server. (It ran 2.15.2 while the tests ran 2.15.3.)
func TestNATSRunsTheServerItsTestsRun(t *testing.T) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build information in the test binary")
	}
	var tested string
	for _, m := range info.Deps {
		if m.Path == "github.com/nats-io/nats-server/v2" {
			tested = strings.TrimPrefix(m.Version, "v")
		}
	}
	if tested == "" {
		t.Fatal("the test binary does not link nats-server")
	}
	for _, o := range overlays {
		found := 0
		for where, c := range containers(render(t, o)) {
			image, tag, _ := strings.Cut(c.Image, ":")
			if image != "nats" && !strings.HasSuffix(image, "/nats") {
				continue
			}
			found++
			if version, _, _ := strings.Cut(tag, "-"); version != tested {
				t.Errorf("%s %s runs %s; the tests run nats-server %s", o, where, c.Image, tested)
			}
		}
		if found == 0 {
			t.Errorf("%s runs no nats image", o)
		}
	}
}

// TestAutoscaledDeploymentsLeaveReplicasToTheHPA: a Deployment under an HPA must not
// set replicas, or every `kubectl apply -k` resets what the autoscaler chose. Every
// service has an HPA: each is safe to run as several replicas (deploy/README.md, Scaling).
func TestAutoscaledDeploymentsLeaveReplicasToTheHPA(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		scaled := map[string]*autoscalingv2.HorizontalPodAutoscaler{}
		for _, obj := range objs {
			if h, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler); ok && h.Spec.ScaleTargetRef.Kind == "Deployment" {
				scaled[h.Spec.ScaleTargetRef.Name] = h
			}
		}
		for _, obj := range objs {
			d, ok := obj.(*appsv1.Deployment)
			if !ok {
				continue
			}
			h, underHPA := scaled[d.Name]
			if underHPA && d.Spec.Replicas != nil {
				t.Errorf("%s: Deployment %s sets replicas: %d under HPA %s; apply would undo the autoscaler", o, d.Name, *d.Spec.Replicas, h.Name)
			}
			if _, svc := configKeys[d.Name]; svc && !underHPA {
				t.Errorf("%s: service %s has no HorizontalPodAutoscaler", o, d.Name)
			}
			delete(scaled, d.Name)
		}
		for name := range scaled {
			t.Errorf("%s: an HPA scales Deployment %s, which does not exist", o, name)
		}
	}
}
