// Command render builds the overlays as `kubectl apply -k` would and writes each object
// to a file of its own, <out>/<target>/<Kind>-<name>.yaml (a generated name without its
// hash, so that the file keeps its name when the content changes): the layout
// tools/kubecheck reads, to name the object of each finding.
//
//	cd deploy && go run ./cmd/render -out DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// targets are what an operator applies: the two overlays and the one-off restore Job.
var targets = map[string]string{
	"dev":     filepath.Join("k8s", "overlays", "dev"),
	"prod":    filepath.Join("k8s", "overlays", "prod"),
	"restore": filepath.Join("k8s", "restore"),
}

// hashSuffix is the content hash Kustomize appends to a generated ConfigMap's or
// Secret's name (the deploy tests strip it alike).
var hashSuffix = regexp.MustCompile(`-[24-9bcdfghkmt]{10}$`)

func main() {
	out := flag.String("out", "", "the directory to write into (its target directories are replaced)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: render -out DIR (run in deploy/)")
		os.Exit(2)
	}
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	for target, dir := range targets {
		resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
		if err != nil {
			return fmt.Errorf("kustomize build %s: %w", dir, err)
		}
		into := filepath.Join(out, target)
		if err := os.RemoveAll(into); err != nil {
			return err
		}
		if err := os.MkdirAll(into, 0o750); err != nil {
			return err
		}
		for _, r := range resources.Resources() {
			y, err := r.AsYAML()
			if err != nil {
				return err
			}
			name := hashSuffix.ReplaceAllString(r.GetName(), "")
			file := filepath.Join(into, r.GetKind()+"-"+name+".yaml")
			if _, err := os.Stat(file); err == nil {
				return fmt.Errorf("%s: two objects of kind %s named %s", target, r.GetKind(), name)
			}
			if err := os.WriteFile(file, y, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}
