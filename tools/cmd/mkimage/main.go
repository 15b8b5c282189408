// Command mkimage builds a minimal container image around one static binary without a
// Docker daemon or a registry: a single layer holding the binary, the CA certificates
// of the build machine and a non-root user, written as a tarball that `docker load`,
// `crane push` or `skopeo copy` accept. It is what `make images` (and `make release`) uses.
//
//	mkimage -binary bin/linux/signatory -name registry.example/tc/signatory:1.0.0 -out dist/images/signatory.tar
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// nonRoot is the user the image runs as, matching the manifests' runAsUser.
const nonRoot = 65532

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run() error {
	binary := flag.String("binary", "", "the static linux binary to package")
	ref := flag.String("name", "", "the image reference, e.g. registry.example/tc/signatory:1.0.0")
	out := flag.String("out", "", "the tarball to write")
	certs := flag.String("certs", "/etc/ssl/certs/ca-certificates.crt", "CA certificate bundle to include")
	flag.Parse()
	if *binary == "" || *ref == "" || *out == "" {
		return errors.New("-binary, -name and -out are required")
	}
	tag, err := name.NewTag(*ref)
	if err != nil {
		return fmt.Errorf("image name: %w", err)
	}
	bin, err := os.ReadFile(*binary)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(*certs)
	if err != nil {
		return fmt.Errorf("CA certificates: %w", err)
	}
	exe := "/usr/local/bin/" + filepath.Base(*binary)
	layerTar, err := buildLayer(map[string]file{
		"etc/passwd":                        {mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonRoot, nonRoot))},
		"etc/group":                         {mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonRoot))},
		"etc/ssl/certs/ca-certificates.crt": {mode: 0o644, data: ca},
		exe[1:]:                             {mode: 0o755, data: bin},
		"tmp/":                              {mode: 0o1777, dir: true},
		"home/nonroot/":                     {mode: 0o755, dir: true, uid: nonRoot},
	})
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil })
	if err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "amd64", "linux"
	cfg.Config.User = fmt.Sprintf("%d:%d", nonRoot, nonRoot)
	cfg.Config.Entrypoint = []string{exe}
	cfg.Config.Env = []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "HOME=/home/nonroot"}
	cfg.Config.WorkingDir = "/home/nonroot"
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := tarball.WriteToFile(*out, tag, img); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	digest, _ := img.Digest()
	fmt.Printf("%s %s %s\n", *out, tag, digest)
	return nil
}

type file struct {
	mode int64
	data []byte
	dir  bool
	uid  int
}

// buildLayer writes files into a tar with fixed times, so the same inputs give the
// same image digest.
func buildLayer(files map[string]file) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dirs := map[string]bool{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for d := filepath.Dir(filepath.Clean(n)); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	var dirNames []string
	for d := range dirs {
		dirNames = append(dirNames, d)
	}
	sort.Strings(dirNames)
	for _, d := range dirNames {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		f := files[n]
		h := &tar.Header{Name: n, Mode: f.mode, ModTime: epoch, Uid: f.uid, Gid: f.uid}
		if f.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if !f.dir {
			if _, err := tw.Write(f.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
