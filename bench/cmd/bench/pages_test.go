package main

import (
	"strings"
	"testing"
	"time"
)

func TestPortalRequestsReadTheAccessLogOutOfTheStacksOutput(t *testing.T) {
	logs := `portal    | {"time":"2026-12-03T10:00:00Z","level":"INFO","msg":"request","method":"GET","route":"GET /account","status":200,"duration_ms":12}
review    | {"time":"2026-12-03T10:00:00Z","level":"INFO","msg":"request","method":"GET","route":"/v1/assignments","status":200,"duration_ms":40}
portal    | {"time":"2026-12-03T10:00:00Z","level":"INFO","msg":"sign-in link sent","person":"p-1"}
portal    | not json at all
portal    | {"time":"2026-12-03T10:00:00Z","level":"INFO","msg":"request","method":"GET","route":"GET /reviews/{round}/{submission}","status":303,"duration_ms":0}
portal    | {"time":"2026-12-03T10:00:00Z","level":"INFO","msg":"request","method":"GET","route":"GET /reviews","status":200,"duration_ms":3.5}
tcdev: stopping`
	got := portalRequests(logs)
	want := []portalRequest{
		{method: "GET", route: "GET /account", status: 200, took: 12 * time.Millisecond},
		{method: "GET", route: "GET /reviews/{round}/{submission}", status: 303, took: 0},
		{method: "GET", route: "GET /reviews", status: 200, took: 3500 * time.Microsecond},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d requests %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestPagesReportMarksAPageOverTheTargetAndNamesNoRecord(t *testing.T) {
	f := pageFigures{scale: pageScale{orgs: 150, reviewers: 400, rounds: 3}, samples: 30, seeded: 95 * time.Second, reviewer: 3, load: "1.20, 0.80, 0.50",
		rows: []pageRow{
			{page: page{who: visitorLead, name: "released feedback", path: "/obligations/0b6f1c9e-8f1e-4c55-9a51-7d1f0c2b9a10/feedback/3e0c5b7a-1f55-4c8e-9a2d-7b6f0d4c2e91"},
				client: latency{n: 30, p50: 8 * time.Millisecond, p95: 12 * time.Millisecond}, server: latency{n: 30, p50: 7 * time.Millisecond, p95: 11 * time.Millisecond}, rows: 7},
			{page: page{who: visitorReviewer, name: "review assignments", path: "/reviews"},
				client: latency{n: 30, p50: 40 * time.Millisecond, p95: 61 * time.Millisecond}, server: latency{missing: 30}, rows: 51},
			{page: page{who: visitorPublic, name: "directory, searching a name", path: "/directory?name=Reads+University+0074"},
				client: latency{n: 30, p50: 9 * time.Millisecond, p95: 10 * time.Millisecond}, server: latency{n: 30, p50: 0, p95: 9 * time.Millisecond}},
		}}
	f.rows = append(f.rows, pageRow{page: page{who: visitorOps, name: "console: a reviewer", path: "/ops/review/reviewers/rev-0042"},
		failure: "ops console: a reviewer: GET /ops/review/reviewers/rev-0042 answered 404, want 200: <html>Reviewer 42</html>"})
	got := pagesReport(f)
	for _, want := range []string{
		"## Portal pages\n\n",
		"| ops | console: a reviewer (`/ops/review/reviewers/{id}`) | not timed: it answered 404, want 200 |\n",
		"150 organisations announced", "400 reviewers", "3 review rounds", "as the pages were timed: 1.20, 0.80, 0.50, on ",
		"| lead | released feedback (`/obligations/{id}/feedback/{id}`) | 8ms | 12ms | 7ms | 11ms | met |\n",
		"| reviewer | review assignments (`/reviews`) | 40ms | 61ms | not logged | not logged | **missed** |\n",
		"| public | directory, searching a name (`/directory?name=…`) | 9ms | 10ms | < 1ms | 9ms | met |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "0b6f1c9e") || strings.Contains(got, "0074") {
		t.Errorf("report names a record:\n%s", got)
	}
	if strings.Contains(got, "ITSS staff's pages are not in the table") {
		t.Errorf("report says ops were not timed when they were:\n%s", got)
	}
	if strings.Contains(got, "large/small") {
		t.Errorf("report has a ratio column without a smaller set:\n%s", got)
	}
	// With the smaller set, each page has its p50 there and the ratio; a page the
	// smaller run did not time has empty cells.
	f.smallScale = pageScale{orgs: 15, reviewers: 40, rounds: 3}
	f.small = map[string]pageRow{
		"lead released feedback":      {client: latency{n: 30, p50: 4 * time.Millisecond}, rows: 7},
		"reviewer review assignments": {client: latency{n: 30, p50: 40 * time.Millisecond}, rows: 16},
	}
	got = pagesReport(f)
	for _, want := range []string{
		"a tenth the size (15 organisations, 40 reviewers, 3 review rounds)",
		"| lead | released feedback (`/obligations/{id}/feedback/{id}`) | 8ms | 12ms | 7ms | 11ms | met | 4ms | 2.00 | 7, 7 |\n",
		"| reviewer | review assignments (`/reviews`) | 40ms | 61ms | not logged | not logged | **missed** | 40ms | 1.00 | 16, 51 |\n",
		"| public | directory, searching a name (`/directory?name=…`) | 9ms | 10ms | < 1ms | 9ms | met | | | |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report with the smaller set lacks %q:\n%s", want, got)
		}
	}
	f.opsNote = "the provider showed no login form"
	if got := pagesReport(f); !strings.Contains(got, "ITSS staff's pages are not in the table: the provider showed no login form.") {
		t.Errorf("report does not say why ops pages are missing:\n%s", got)
	}
}

func TestWithSectionReplacesOnlyItsOwnSection(t *testing.T) {
	doc := "# Benchmarks\n\n| a | b |\n\n## Read scaling\n\nold reads\n\n## Portal pages\n\nold pages\n\n## Before and after\n\nkept\n"
	got := withSection(doc, pagesSection, "## Portal pages\n\nnew pages\n")
	want := "# Benchmarks\n\n| a | b |\n\n## Read scaling\n\nold reads\n\n## Portal pages\n\nnew pages\n\n## Before and after\n\nkept\n"
	if got != want {
		t.Errorf("replace:\n%q\nwant\n%q", got, want)
	}
	got = withSection(doc, readsSection, "## Read scaling\n\nnew reads\n")
	want = "# Benchmarks\n\n| a | b |\n\n## Read scaling\n\nnew reads\n\n## Portal pages\n\nold pages\n\n## Before and after\n\nkept\n"
	if got != want {
		t.Errorf("replace reads:\n%q\nwant\n%q", got, want)
	}
	// A report without the section gets it before the kept account of earlier runs,
	// or at its end.
	got = withSection("# Benchmarks\n\n## Before and after\n\nkept\n", pagesSection, "## Portal pages\n\nnew\n")
	if want := "# Benchmarks\n\n## Portal pages\n\nnew\n\n## Before and after\n\nkept\n"; got != want {
		t.Errorf("insert:\n%q\nwant\n%q", got, want)
	}
	if got := withSection("# Benchmarks", pagesSection, "## Portal pages\n\nnew\n"); got != "# Benchmarks\n\n## Portal pages\n\nnew\n" {
		t.Errorf("append: %q", got)
	}
	// A heading that only starts like the section's is another section.
	doc = "# Benchmarks\n\n## Portal pages, before the index\n\nother\n"
	if got := withSection(doc, pagesSection, "## Portal pages\n\nnew\n"); got != doc+"\n## Portal pages\n\nnew\n" {
		t.Errorf("prefix heading: %q", got)
	}
}

func TestPortalPagesAreDistinctAndNameTheirRecords(t *testing.T) {
	ids := pageIDs{org: "org-1", feedback: "sub-1", draft: "sub-2", round: "round-1", roundSub: "sub-3", search: "Reads University 0001", signinSecret: "secret",
		application: "app-1", reviewer: "rev-1"}
	seen := map[string]bool{}
	for _, p := range portalPages(ids) {
		key := string(p.who) + " " + p.path
		if seen[key] {
			t.Errorf("%s is timed twice", key)
		}
		seen[key] = true
		if strings.Contains(p.path, "//") || strings.HasSuffix(p.path, "/") && p.path != "/" {
			t.Errorf("%s %s: an id is missing from %q", p.who, p.name, p.path)
		}
		if p.status == 0 {
			t.Errorf("%s %s: no status", p.who, p.name)
		}
	}
	for _, who := range []visitorKind{visitorPublic, visitorLead, visitorReviewer, visitorOps} {
		found := false
		for key := range seen {
			found = found || strings.HasPrefix(key, string(who)+" ")
		}
		if !found {
			t.Errorf("no page of %s is timed", who)
		}
	}
}
