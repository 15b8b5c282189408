package deploy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// reloaderImage is the NATS project's config reloader, as its Helm chart runs it.
const reloaderImage = "docker.io/natsio/nats-server-config-reloader"

var (
	natsFileOption = regexp.MustCompile(`(?m)^\s*(cert_file|key_file|ca_file|pid_file)\s*:\s*"?([^"\s]+)"?`)
	natsInclude    = regexp.MustCompile(`(?m)^\s*include\s+"?([^"\s;]+)"?`)
)

// TestNATSReloadsItsRenewedCertificate: nats-server reads its TLS files once, at start,
// and again on SIGHUP. cert-manager renews nats-tls every 75 days, so each server pod
// must run a reloader that watches every certificate, key and CA file its configuration
// names (clients' TLS and the routes') and signals the server named by its pid file. It
// can signal it only in a shared process namespace, as the same user. (Without one a
// server served the old certificate until it expired, 90 days after its start.)
func TestNATSReloadsItsRenewedCertificate(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		var sts *appsv1.StatefulSet
		var conf *corev1.ConfigMap
		for _, obj := range objs {
			switch v := obj.(type) {
			case *appsv1.StatefulSet:
				if v.Name == "nats" {
					sts = v
				}
			case *corev1.ConfigMap:
				if hashSuffix.ReplaceAllString(v.Name, "") == "nats-config" {
					conf = v
				}
			}
		}
		if sts == nil || conf == nil {
			t.Fatalf("%s renders no nats StatefulSet or nats-config", o)
		}
		spec := sts.Spec.Template.Spec
		var natsC, reloader *corev1.Container
		for i, c := range spec.Containers {
			switch {
			case c.Name == "nats":
				natsC = &spec.Containers[i]
			case strings.HasPrefix(c.Image, reloaderImage+":") || strings.HasPrefix(c.Image, reloaderImage+"@"):
				reloader = &spec.Containers[i]
			}
		}
		if natsC == nil {
			t.Fatalf("%s: the nats StatefulSet has no container nats", o)
		}
		if reloader == nil {
			t.Errorf("%s: no %s container beside nats: a renewed nats-tls is never loaded", o, reloaderImage)
			continue
		}
		if spec.ShareProcessNamespace == nil || !*spec.ShareProcessNamespace {
			t.Errorf("%s: the nats pod does not share its process namespace: %s cannot signal the server", o, reloader.Name)
		}
		if runAsUser(spec, *reloader) == nil || runAsUser(spec, *natsC) == nil || *runAsUser(spec, *reloader) != *runAsUser(spec, *natsC) {
			t.Errorf("%s: %s and nats do not run as one user: without CAP_KILL it cannot signal the server", o, reloader.Name)
		}

		// What the server reads: its configuration file, those it includes, and the
		// files they name.
		mainConf, ok := flagValue(natsC.Args, "--config", "-c", "-config")
		if !ok {
			t.Fatalf("%s: the nats container names no --config", o)
		}
		files := map[string]string{} // path -> what it is
		var pidFile string
		seen := map[string]bool{}
		var walk func(name string)
		walk = func(name string) {
			if seen[name] {
				return
			}
			seen[name] = true
			text, ok := conf.Data[name]
			if !ok {
				t.Errorf("%s: nats-config has no %s", o, name)
				return
			}
			for _, m := range natsFileOption.FindAllStringSubmatch(text, -1) {
				if m[1] == "pid_file" {
					pidFile = m[2]
				} else if _, named := files[m[2]]; !named {
					files[m[2]] = m[1] + " in " + name
				}
			}
			for _, m := range natsInclude.FindAllStringSubmatch(text, -1) {
				walk(path.Clean(m[1]))
			}
		}
		walk(path.Base(mainConf))
		if len(files) == 0 || pidFile == "" {
			t.Fatalf("%s: nats-config names no TLS files or no pid_file", o)
		}

		if got, _ := flagValue(reloader.Args, "-pid", "-P", "--pid"); got != pidFile {
			t.Errorf("%s: %s signals the process in %q; the server writes its pid to %q", o, reloader.Name, got, pidFile)
		}
		watched := flagValues(reloader.Args, "-config", "-c", "--config")
		if !slices.Contains(watched, mainConf) {
			t.Errorf("%s: %s does not watch %s", o, reloader.Name, mainConf)
		}
		for f, what := range files {
			if !slices.Contains(watched, f) {
				t.Errorf("%s: %s does not watch %s (%s): its renewal is never loaded", o, reloader.Name, f, what)
			}
		}
		// The reloader must see the files the server reads, and its pid file: the same
		// volumes at the same paths.
		for _, f := range append(append(slices.Collect(maps.Keys(files)), mainConf), pidFile) {
			want, ok := volumeAt(*natsC, f)
			if !ok {
				t.Errorf("%s: nats mounts nothing at %s", o, f)
				continue
			}
			if got, ok := volumeAt(*reloader, f); !ok || got != want {
				t.Errorf("%s: %s sees %s in volume %q, nats in %q", o, reloader.Name, f, got, want)
			}
		}
	}
}

// TestNATSServesARenewedCertificateAfterAReload: what the reloader relies on. A server
// running the rendered configuration keeps serving the certificate it started with when
// the files are replaced, and serves the new one to the next client after a reload (what
// SIGHUP does: parse the configuration again and apply it).
func TestNATSServesARenewedCertificateAfterAReload(t *testing.T) {
	conf, caFile := natsConfig(t, "dev")
	tlsDir := filepath.Dir(caFile)
	port := freePort(t)
	options := func() *server.Options {
		opts, err := server.ProcessConfigFile(conf)
		if err != nil {
			t.Fatalf("dev nats.conf: %v", err)
		}
		opts.Port, opts.HTTPPort, opts.Host = port, 0, "127.0.0.1"
		opts.NoSigs = true
		return opts
	}
	opts := options()
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}

	// A client that trusts the first CA and the one that replaces it.
	roots := x509.NewCertPool()
	addCA := func() {
		b, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		if !roots.AppendCertsFromPEM(b) {
			t.Fatal("no CA certificate in ca.crt")
		}
	}
	served := func() []byte {
		t.Helper()
		nc, err := nats.Connect(s.ClientURL(), nats.UserInfo("fund", "test-fund"), nats.Secure(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer nc.Close()
		state, err := nc.TLSConnectionState()
		if err != nil || len(state.PeerCertificates) == 0 {
			t.Fatalf("no server certificate: %v", err)
		}
		return state.PeerCertificates[0].Raw
	}
	onDisk := func() []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(tlsDir, "tls.crt"))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			t.Fatal("no certificate in tls.crt")
		}
		return block.Bytes
	}

	addCA()
	first := onDisk()
	if !bytes.Equal(served(), first) {
		t.Fatal("the server does not serve the certificate in tls.crt")
	}
	writeTestPKI(t, tlsDir) // the renewal: new key, new certificate
	addCA()
	renewed := onDisk()
	if !bytes.Equal(served(), first) {
		t.Fatal("the server served the renewed certificate without a reload; the reloader would be unnecessary")
	}
	if err := s.ReloadOptions(options()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !bytes.Equal(served(), renewed) {
		t.Error("after a reload the server still serves the certificate it started with")
	}
}

// runAsUser is the user a container runs as: its own setting, else the pod's.
func runAsUser(pod corev1.PodSpec, c corev1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return c.SecurityContext.RunAsUser
	}
	if pod.SecurityContext != nil {
		return pod.SecurityContext.RunAsUser
	}
	return nil
}

// flagValue is the value of the first of names in args ("-f value" or "-f=value").
func flagValue(args []string, names ...string) (string, bool) {
	vs := flagValues(args, names...)
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// flagValues is every value given for any of names in args.
func flagValues(args []string, names ...string) []string {
	var out []string
	for i, a := range args {
		for _, n := range names {
			switch {
			case a == n && i+1 < len(args):
				out = append(out, args[i+1])
			case strings.HasPrefix(a, n+"="):
				out = append(out, strings.TrimPrefix(a, n+"="))
			}
		}
	}
	return out
}

// volumeAt is the volume a container sees file in: that of its longest mount path
// holding the file.
func volumeAt(c corev1.Container, file string) (string, bool) {
	best, name := "", ""
	for _, m := range c.VolumeMounts {
		dir := strings.TrimSuffix(m.MountPath, "/")
		if strings.HasPrefix(file, dir+"/") && len(dir) > len(best) && m.SubPath == "" {
			best, name = dir, m.Name
		}
	}
	return name, name != ""
}
