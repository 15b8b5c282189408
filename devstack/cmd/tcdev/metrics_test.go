package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// metricRow is one of the suite's own metrics as docs/OPERATIONS.md lists it.
type metricRow struct {
	name   string
	labels []string
	from   string // "service" (every one), or the one service that has it
}

// operationsMetrics reads the suite's own metrics (tc_*) from the guide's table.
func operationsMetrics(t *testing.T, root string) []metricRow {
	t.Helper()
	guide, err := os.ReadFile(filepath.Join(root, "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `(tc_[a-z_]+)` \\| [a-z]+ \\| ([^|]*) \\| ([^|]*) \\|")
	var rows []metricRow
	for _, line := range strings.Split(string(guide), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := metricRow{name: m[1], from: strings.TrimSpace(m[3])}
		for _, l := range strings.Split(m[2], ",") {
			if l = strings.TrimSpace(l); l != "" && l != "—" {
				r.labels = append(r.labels, l)
			}
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		t.Fatal("docs/OPERATIONS.md lists no tc_ metric: has its table changed shape?")
	}
	return rows
}

// sources reads the Go files (tests left out) under the given directories of root.
func sources(t *testing.T, root string, dirs ...string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			files[filepath.ToSlash(rel)] = string(data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// TestTheMetricsTheManifestsReadAreTheOnesTheCodeRegisters: the alerts and the
// dashboard read the metrics docs/OPERATIONS.md lists (the deploy module's tests
// check that side); this checks the other. Each tc_ metric of the table is
// registered, under that name and with those label names, by the shared platform
// (libs) when the table says every service has it, or by the service it names; and
// no tc_ metric is registered that the table does not list.
func TestTheMetricsTheManifestsReadAreTheOnesTheCodeRegisters(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	rows := operationsMetrics(t, root)
	code := sources(t, root, "libs", "services")
	listed := map[string]bool{}
	for _, r := range rows {
		listed[r.name] = true
		where := "libs/"
		if r.from != "service" {
			where = "services/" + r.from + "/"
		}
		var defining []string
		for path, src := range code {
			if strings.HasPrefix(path, where) && strings.Contains(src, `"`+r.name+`"`) {
				defining = append(defining, path)
			}
		}
		if len(defining) == 0 {
			t.Errorf("%s (from %s in docs/OPERATIONS.md) is registered nowhere under %s", r.name, r.from, where)
			continue
		}
		for _, l := range r.labels {
			if !slices.ContainsFunc(defining, func(path string) bool { return strings.Contains(code[path], `"`+l+`"`) }) {
				t.Errorf("%s is registered in %v without its label %q", r.name, defining, l)
			}
		}
	}
	// A registration names the metric as Prometheus options' Name, a descriptor's or
	// a gauge function's first argument; other strings that start tc_ (cookie names,
	// form fields) are not metrics.
	name := regexp.MustCompile(`(?:Name:\s*|NewDesc\(|GaugeFunc\()"(tc_[a-z_]+)"`)
	for path, src := range code {
		for _, m := range name.FindAllStringSubmatch(src, -1) {
			if !listed[m[1]] {
				t.Errorf("%s registers %s, which docs/OPERATIONS.md does not list (the alerts and the dashboard cannot know it)", path, m[1])
			}
		}
	}
}
