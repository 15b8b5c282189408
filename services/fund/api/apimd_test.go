package api_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/itss/techcommit/libs/httpserver"
)

// TestAPIConventionsDescribeTheFourDocuments holds docs/API.md to what the four
// services' documents do: every step (a POST to a sub-resource of an object) is
// either named create<Object><Step> or named by the page with the id it has, and the
// page's table of list filters gives each list exactly the filters its document
// declares. The page once said every step was create<Object><Step> and that every
// list took organisation_id, which the fund's applications list refuses.
func TestAPIConventionsDescribeTheFourDocuments(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "..")
	page, err := os.ReadFile(filepath.Join(root, "docs", "API.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(page)
	docs := map[string]*openapi3.T{}
	for _, svc := range []string{"signatory", "review", "notify", "fund"} {
		spec, err := os.ReadFile(filepath.Join(root, "services", svc, "api", "openapi.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if docs[svc], err = httpserver.LoadSpec(spec); err != nil {
			t.Fatal(err)
		}
	}

	// The ids the page names for steps, in its bullet about operation ids.
	start := strings.Index(text, "- An operation's id")
	if start < 0 {
		t.Fatal("docs/API.md has no bullet about operation ids")
	}
	bullet := text[start:]
	bullet = bullet[:strings.Index(bullet[2:], "\n- ")+2]
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z][A-Za-z]*)`").FindAllStringSubmatch(bullet, -1) {
		named[m[1]] = true
	}
	ids := map[string]bool{}
	for svc, doc := range docs {
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				ids[op.OperationID] = true
				segments := strings.Split(path, "/")
				step := method == "POST" && strings.Contains(path, "}/") && !strings.HasPrefix(segments[len(segments)-1], "{")
				if step && !op.Deprecated && !strings.HasPrefix(op.OperationID, "create") && !named[op.OperationID] {
					t.Errorf("%s: the step POST %s is %s, which docs/API.md neither names nor calls create<Object><Step>", svc, path, op.OperationID)
				}
			}
		}
	}
	for id := range named {
		if !ids[id] {
			t.Errorf("docs/API.md names the operation id %s, which no document has", id)
		}
	}

	// The table of filters: each list, and the query parameters it takes beyond paging.
	rows := regexp.MustCompile("(?m)^\\| (signatory|review|notify|fund) `GET ([^`]+)` \\| ([^|]+) \\|").FindAllStringSubmatch(text, -1)
	listed := map[string]bool{}
	for _, row := range rows {
		svc, path := row[1], row[2]
		listed[svc+" "+path] = true
		var want []string
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(row[3], -1) {
			if !slices.Contains(want, m[1]) && !strings.Contains(row[3], "no `"+m[1]+"`") {
				want = append(want, m[1])
			}
		}
		item := docs[svc].Paths.Value(path)
		if item == nil || item.Get == nil {
			t.Errorf("docs/API.md lists the filters of %s GET %s, which its document does not have", svc, path)
			continue
		}
		if got := filters(item); !slices.Equal(sorted(want), got) {
			t.Errorf("docs/API.md gives %s GET %s the filters %v; its document declares %v", svc, path, sorted(want), got)
		}
	}
	for svc, doc := range docs {
		for path, item := range doc.Paths.Map() {
			if item.Get != nil && len(filters(item)) > 0 && !listed[svc+" "+path] {
				t.Errorf("docs/API.md does not say which filters %s GET %s takes (%v)", svc, path, filters(item))
			}
		}
	}
}

// filters are the query parameters of a path's GET other than the paging ones, sorted.
func filters(item *openapi3.PathItem) []string {
	var out []string
	for _, p := range append(slices.Clone(item.Parameters), item.Get.Parameters...) {
		if p.Value != nil && p.Value.In == "query" && p.Value.Name != "limit" && p.Value.Name != "cursor" {
			out = append(out, p.Value.Name)
		}
	}
	return sorted(out)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
