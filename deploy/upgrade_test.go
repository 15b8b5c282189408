package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// upgradeFromReleased is the runbook's section on upgrading from the release whose
// contracts are services/<svc>/api/released/openapi.yaml.
const upgradeFromReleased = "### Upgrading from 1.0.0: the portal last, notify alone, and no way back but a restore"

var operationID = regexp.MustCompile(`(?m)^\s+operationId:\s*(\w+)`)

// portalCallsUnreleased lists the operations the portal calls (through the services'
// generated clients) that a service's released contract does not have.
func portalCallsUnreleased(t *testing.T) []string {
	t.Helper()
	var portal strings.Builder
	err := filepath.WalkDir("../services/portal", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		portal.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	for _, s := range []string{"signatory", "review", "notify", "fund"} {
		ids := func(file string) []string {
			b, err := os.ReadFile(filepath.Join("../services", s, "api", file))
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, m := range operationID.FindAllStringSubmatch(string(b), -1) {
				out = append(out, m[1])
			}
			return out
		}
		released := ids("released/openapi.yaml")
		for _, id := range ids("openapi.yaml") {
			method := strings.ToUpper(id[:1]) + id[1:]
			if !slices.Contains(released, id) && regexp.MustCompile(`\b`+method+`(WithBody)?(WithResponse)?\(`).MatchString(portal.String()) {
				calls = append(calls, s+" "+id)
			}
		}
	}
	return calls
}

// TestRunbookUpgradesFromTheReleaseInAnOrderThatWorks: rolling a local stack from
// 1.0.0 to this release showed that everything rolled at once by `kubectl apply -k`
// does not work. A new portal pod in front of a 1.0.0 service calls requests it does
// not have (the review round's summary answered 404); a 1.0.0 notify pod beside a new
// one acknowledged the report a new pod had subscribed its durable consumer to, and no
// receipt was ever sent; and `rollout undo` cannot go back (the 1.0.0 portal does not
// start, the 1.0.0 services answer 500 for every organisation once this release has
// sealed their events). The runbook's section says so and gives the commands in the
// order that works: portal paused and notify stopped before the apply, notify back
// at its HPA's minimum, the services rolled and review's views (whose durable a 1.0.0
// pod shares) rebuilt before the portal resumes.
func TestRunbookUpgradesFromTheReleaseInAnOrderThatWorks(t *testing.T) {
	t.Parallel()
	calls := portalCallsUnreleased(t)
	if len(calls) == 0 {
		t.Skip("the portal calls nothing the released services lack: no order is needed")
	}
	section := runbookSection(t, upgradeFromReleased)
	cmds := shCommands(section)
	at := func(want string) int {
		for i, c := range cmds {
			if strings.Contains(c, want) {
				return i
			}
		}
		t.Errorf("runbook, %q: no command %q (the portal calls %s, which the released services lack)", upgradeFromReleased, want, strings.Join(calls, ", "))
		return -1
	}
	ns := "kubectl -n technician-commitment "
	pause, stop, gone := at(ns+"rollout pause deploy/portal"), at(ns+"scale deploy/notify --replicas=0"), at("get pods -l app.kubernetes.io/name=notify")
	apply := at("kubectl apply -k deploy/k8s/overlays/prod")
	back := at(ns + "scale deploy/notify --replicas=" + hpaMin(t, "notify"))
	rolled := at(ns + "rollout status deploy/$s")
	rebuilt := at(ns + "exec deploy/review -c review -- /usr/local/bin/review rebuild-projections")
	resume := at(ns + "rollout resume deploy/portal")
	if !(pause < apply && stop < gone && gone < apply && apply < back && back < rolled && rolled < rebuilt && rebuilt < resume) {
		t.Errorf("runbook, %q: the commands are not in the order pause portal, stop notify, wait for its pods to go, apply, notify back, services rolled, review's projections rebuilt, resume portal:\n%s", upgradeFromReleased, strings.Join(cmds, "\n"))
	}
	if i := at("for s in signatory review notify fund;"); i >= 0 && !strings.Contains(cmds[i], "rollout status") {
		t.Errorf("runbook: the services are not each waited for before the portal resumes: %s", cmds[i])
	}
	flat := strings.Join(strings.Fields(section), " ")
	for _, says := range []string{"backup", "rollout undo", "subjects overlap with an existing stream", "notify-fund", "notify-review", "review-submission-views"} {
		if !strings.Contains(flat, says) {
			t.Errorf("runbook, %q: does not say %q", upgradeFromReleased, says)
		}
	}
}

// hpaMin is the minReplicas of the service's HPA in the base manifests.
func hpaMin(t *testing.T, service string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("k8s/base/services", service+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+minReplicas:\s*(\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s.yaml has no HPA minReplicas", service)
	}
	return string(m[1])
}
