package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scrapedMetrics is where the deploy module's tests read the metrics the services
// really expose: their alerts and panels must read those names and labels.
const scrapedMetrics = "deploy/testdata/scraped-metrics.txt"

// exposed lists, one line each and sorted, every series name a job's /metrics
// exposes with the label names it carries ("notify tc_notify_emails_sent_total
// kind"), from Prometheus text exposition. Go's and the process's own series
// (go_*, process_*, promhttp_*) are left out: no alert or panel reads them.
func exposed(job, text string) []string {
	sample := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? `)
	label := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"`)
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		m := sample.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(m[1], "go_") || strings.HasPrefix(m[1], "process_") || strings.HasPrefix(m[1], "promhttp_") {
			continue
		}
		var names []string
		for _, l := range label.FindAllStringSubmatch(m[2], -1) {
			names = append(names, l[1])
		}
		slices.Sort(names)
		seen[strings.TrimSpace(job+" "+m[1]+" "+strings.Join(names, ","))] = true
	}
	var out []string
	for l := range seen {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// TestTheScrapedMetricsFixtureIsWhatTheServicesExpose starts the stack, has each
// service answer one request (a service's request counter has no series before its
// first), scrapes every admin listener's /metrics, and compares the names and labels
// with the fixture the deploy module's alert tests read, so that the fixture cannot
// drift from the code. TC_UPDATE_SCRAPED_METRICS=1 rewrites it.
func TestTheScrapedMetricsFixtureIsWhatTheServicesExpose(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := buildSuite(t, root)
	st := startStack(t, bin, t.TempDir())
	jobs := []struct {
		name string
		port int
	}{{"portal", 8080}, {"signatory", 8081}, {"review", 8082}, {"notify", 8083}, {"fund", 8084}}
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(url string) string {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", url, resp.Status)
		}
		return string(body)
	}
	var got []string
	for _, j := range jobs {
		// A page or document every service serves to anyone.
		path := "/openapi.yaml"
		if j.name == "portal" {
			path = "/"
		}
		get(fmt.Sprintf("http://127.0.0.1:%d%s", j.port+st.offset, path))
		got = append(got, exposed(j.name, get(fmt.Sprintf("http://127.0.0.1:%d/metrics", j.port+1000+st.offset)))...)
	}
	text := "# Written by devstack/cmd/tcdev's TestTheScrapedMetricsFixtureIsWhatTheServicesExpose\n" +
		"# from the services' /metrics: job, series name, label names.\n" + strings.Join(got, "\n") + "\n"
	file := filepath.Join(root, filepath.FromSlash(scrapedMetrics))
	if os.Getenv("TC_UPDATE_SCRAPED_METRICS") == "1" {
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), text); diff != "" {
		t.Errorf("%s is not what the services expose (-fixture +scraped); rewrite it with TC_UPDATE_SCRAPED_METRICS=1 and check the alerts still read what they should:\n%s", scrapedMetrics, diff)
	}
}
