package deploy

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// TestOnlyTheReloaderRunsAsTheNATSServer: the nats pod shares its process namespace so
// that the reloader can signal the server, and a process of the server's user can read
// the server's /proc/<pid>/environ, which holds every NATS user's password (the
// nats-users Secret). So only the reloader, which must signal it, runs as that user;
// any other container of the pod (the metrics exporter, an HTTP server of its own)
// runs as another, and cannot read them. (The exporter ran as the server's user,
// covered by the StatefulSet-wide KSV-0020/KSV-0021 acceptance meant for the two.)
func TestOnlyTheReloaderRunsAsTheNATSServer(t *testing.T) {
	for _, o := range overlays {
		var sts *appsv1.StatefulSet
		for _, obj := range render(t, o) {
			if v, ok := obj.(*appsv1.StatefulSet); ok && v.Name == "nats" {
				sts = v
			}
		}
		if sts == nil {
			t.Fatalf("%s renders no nats StatefulSet", o)
		}
		spec := sts.Spec.Template.Spec
		var server *int64
		for _, c := range spec.Containers {
			if c.Name == "nats" {
				server = runAsUser(spec, c)
			}
		}
		if server == nil {
			t.Fatalf("%s: the nats container sets no user", o)
		}
		for _, c := range spec.Containers {
			if c.Name == "nats" || strings.HasPrefix(c.Image, reloaderImage+":") || strings.HasPrefix(c.Image, reloaderImage+"@") {
				continue
			}
			if u := runAsUser(spec, c); u == nil || *u == *server {
				t.Errorf("%s: container %s of the nats pod runs as the server's user %d: in the shared process namespace it can read the server's environment, with every NATS user's password", o, c.Name, *server)
			}
		}
	}
}
