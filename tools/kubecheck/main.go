// Command kubecheck runs Trivy's Kubernetes misconfiguration checks (its built-in
// library, the checks bundle embedded in Trivy's module: no download) over manifests
// rendered one object to a file, as deploy/cmd/render writes them
// (<target>/<Kind>-<name>.yaml). Every failed check is a finding unless the accepted
// file lists it for that object with a reason; an accepted line that matches nothing
// is a finding too, so that a reason does not outlive what it excused.
//
//	kubecheck -data deploy/kubecheck -accepted deploy/kubecheck-accepted.txt DIR...
//
// It is a module of its own: Trivy v0.74 builds only with Go 1.26 and
// GOEXPERIMENT=jsonv2 (its JSON package calls encoding/json/v2 as Go 1.26 had it), not
// with the suite's Go 1.27.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/aquasecurity/trivy/pkg/iac/rego"
	"github.com/aquasecurity/trivy/pkg/iac/scanners/generic"
	"github.com/aquasecurity/trivy/pkg/iac/scanners/kubernetes"
	"github.com/aquasecurity/trivy/pkg/iac/scanners/kubernetes/parser"
	"github.com/aquasecurity/trivy/pkg/iac/scanners/options"
)

func main() {
	data := flag.String("data", "", "a directory of Trivy check data (trusted registries and the like), optional")
	accepted := flag.String("accepted", "", "a file of accepted findings: <check id> <Kind>/<name>[<keys>] <reason>")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: kubecheck [-data DIR] [-accepted FILE] DIR...")
		os.Exit(2)
	}
	n, err := run(context.Background(), os.Stdout, *data, *accepted, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecheck:", err)
		os.Exit(2)
	}
	if n > 0 {
		fmt.Fprintf(os.Stderr, "kubecheck: %d finding(s): fix each, or accept it in %s with its reason\n", n, *accepted)
		os.Exit(1)
	}
}

// finding is one failed check on one object (Kind/name, and for the ConfigMap checks
// the keys they flagged: Kind/name[key,key]).
type finding struct {
	id, object, target, message string
}

// run scans each directory and prints what is neither passed nor accepted; it returns
// how many such findings (and stale accepted lines) it printed.
func run(ctx context.Context, out io.Writer, dataDir, acceptedFile string, dirs []string) (int, error) {
	acc, err := readAccepted(acceptedFile)
	if err != nil {
		return 0, err
	}
	// One scanner for every directory: making one compiles every check (seconds).
	opts := []options.ScannerOption{rego.WithEmbeddedPolicies(true), rego.WithEmbeddedLibraries(true)}
	if dataDir != "" {
		opts = append(opts, rego.WithDataFilesystem(os.DirFS(dataDir)), rego.WithDataDirs("."))
	}
	scanner := kubernetes.NewScanner(opts...)
	var found []finding
	for _, dir := range dirs {
		f, err := scan(ctx, scanner, dir)
		if err != nil {
			return 0, err
		}
		found = append(found, f...)
	}
	used := map[string]bool{}
	n := 0
	for _, f := range found {
		key := f.id + " " + f.object
		if _, ok := acc[key]; ok {
			used[key] = true
			continue
		}
		fmt.Fprintf(out, "%s %s (%s): %s\n", f.id, f.object, f.target, f.message)
		n++
	}
	for _, key := range slices.Sorted(maps.Keys(acc)) {
		if !used[key] {
			fmt.Fprintf(out, "%s: accepted in %s, but no longer found: remove the line\n", key, acceptedFile)
			n++
		}
	}
	return n, nil
}

// scan runs the checks over one directory of rendered objects.
func scan(ctx context.Context, scanner *generic.GenericScanner[*parser.Manifest], dir string) ([]finding, error) {
	results, err := scanner.ScanFS(ctx, os.DirFS(dir), ".")
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	var out []finding
	for _, r := range results.GetFailed() {
		file := r.Range().GetFilename()
		kind, name, ok := strings.Cut(strings.TrimSuffix(path.Base(file), ".yaml"), "-")
		if !ok {
			return nil, fmt.Errorf("%s: want files named <Kind>-<name>.yaml, as deploy/cmd/render writes them", file)
		}
		object := kind + "/" + name
		if keys := flaggedKeys(r.Description()); keys != "" {
			object += "[" + keys + "]"
		}
		out = append(out, finding{id: r.Rule().ID, object: object, target: filepath.Base(dir), message: r.Description()})
	}
	return out, nil
}

// keysListed is how the ConfigMap checks name what they flagged:
// ... key(s) or value(s) '{"A", "B"}'.
var keysListed = regexp.MustCompile(`key\(s\) or value\(s\) '\{(.*)\}'`)

// flaggedKeys returns the keys a ConfigMap check flagged, sorted and joined with
// commas ("" for other checks), so that an accepted finding names the keys it was
// accepted for: a key flagged later (a secret put into the ConfigMap) is a finding.
func flaggedKeys(message string) string {
	m := keysListed.FindStringSubmatch(message)
	if m == nil {
		return ""
	}
	var keys []string
	for _, k := range strings.Split(m[1], ",") {
		k = strings.Trim(strings.TrimSpace(k), `"`)
		k = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(k), "{"))
		if k != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// readAccepted reads "<check id> <Kind>/<name>[<keys>] <reason>" lines (the keys for
// the ConfigMap checks alone); # starts a comment.
// A line without a reason is refused: the file says why each finding stays.
func readAccepted(file string) (map[string]string, error) {
	acc := map[string]string{}
	if file == "" {
		return acc, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 1; sc.Scan(); i++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 || !strings.Contains(fields[1], "/") {
			return nil, fmt.Errorf("%s:%d: want <check id> <Kind>/<name> <reason>", file, i)
		}
		acc[fields[0]+" "+fields[1]] = strings.Join(fields[2:], " ")
	}
	return acc, sc.Err()
}
