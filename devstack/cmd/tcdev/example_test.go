package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestApplicantExampleSubmitsAnApplication runs examples/apply, the program the fund's
// guide points applicants' developers to, as they would: built from its own module,
// given FUND_URL and an applicant token, against a stack of its own. Ops onboard a
// signatory and open a round through the APIs first; the application the example
// reports must be submitted when ops read it back.
func TestApplicantExampleSubmitsAnApplication(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := buildSuite(t, root)
	// Built while nothing else is timed: the example's module is not in the suite's build.
	apply := filepath.Join(t.TempDir(), "apply")
	build := exec.Command("go", "build", "-o", apply, "./apply")
	build.Dir = filepath.Join(root, "examples")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=go1.27.3")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build examples/apply: %v\n%s", err, out)
	}

	data := filepath.Join(t.TempDir(), "data")
	st := startStack(t, bin, data)
	began := time.Now()
	url := func(svc string) string { return "http://" + addr(portOf(svc), st.offset) }
	tcdev := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(bin, "tcdev"), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tcdev %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	ops := tcdev("token", "-data", data, "-role", "ops", "-aud", "all")
	c := &drillClient{t: t}

	// An announced signatory (announced 13 months ago, like the README's) whose
	// nominated lead endorses the application.
	S, F := url("signatory"), url("fund")
	ago := func(months, days int) string { return time.Now().AddDate(0, -months, -days).Format(time.DateOnly) }
	org := c.json("POST", S+"/v1/organisations", ops, `{"name":"Example Applicant University","kind":"signatory",
		"sector":"higher_education","country":"GB","website":"https://www.applicant.example.ac.uk",
		"enquiry_contact":{"name":"Sam Patel","email":"s.patel@applicant.example.ac.uk"}}`)["id"].(string)
	c.json("POST", S+"/v1/organisations/"+org+"/meeting", ops, `{"held_on":"`+ago(14, 0)+`"}`)
	c.json("POST", S+"/v1/organisations/"+org+"/form", ops, `{"signed_on":"`+ago(13, 7)+`",
		"leader":{"name":"Prof. Jane Smith","title":"Vice-Chancellor","email":"vc@applicant.example.ac.uk"},
		"nominated_lead":{"name":"Sam Patel","email":"s.patel@applicant.example.ac.uk"},
		"point_of_contact":{"name":"Technical Services Office","email":"technicians@applicant.example.ac.uk"},
		"plan_page":"https://www.applicant.example.ac.uk/technician-commitment"}`)
	c.json("POST", S+"/v1/organisations/"+org+"/announcement", ops, `{"announced_on":"`+ago(13, 0)+`"}`)

	// An open round: open from now for a month, projects from today for six months.
	now := time.Now().UTC()
	round := c.json("POST", F+"/v1/rounds", ops, fmt.Sprintf(`{"name":"Example Collaboration Fund","opens":%q,"closes":%q,
		"budget_pence":750000,"min_award_pence":10000,"max_award_pence":100000,"project_start":%q,"project_end":%q,
		"themes":["visibility","recognition","career_development","sustainability"]}`,
		now.Format(time.RFC3339), now.AddDate(0, 1, 0).Format(time.DateOnly)+"T17:00:00Z",
		now.Format(time.DateOnly), now.AddDate(0, 6, 0).Format(time.DateOnly)))["id"].(string)

	applicant := tcdev("token", "-data", data, "-role", "applicant", "-org", org)
	// The fund learns of the announcement from the signatory service's events; until it
	// has, the example is refused (403) before it drafts anything, so it is run again.
	var out []byte
	c.eventually(20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, apply, "-round", round, "-title", "Example skills exchange", "-amount", "60000",
			"-endorser-name", "Sam Patel", "-endorser-email", "S.Patel@applicant.example.ac.uk")
		cmd.Env = append(withoutEnv(os.Environ(), "FUND_URL", "FUND_TOKEN"), "FUND_URL="+F, "FUND_TOKEN="+applicant)
		var err error
		out, err = cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("examples/apply: %w\n%s", err, out)
		}
		return nil
	})
	t.Logf("examples/apply:\n%s", out)
	m := regexp.MustCompile(`(?m)^application (\S+) is (\S+)$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("examples/apply did not print the application's status:\n%s", out)
	}
	id, status := string(m[1]), string(m[2])
	if status != "submitted" {
		t.Errorf("examples/apply reports the application %s, want submitted", status)
	}
	// As ops, not as the applicant: the example cannot vouch for itself.
	got := c.get(F+"/v1/applications/"+id, ops).(map[string]any)
	for field, want := range map[string]any{"status": "submitted", "organisation_id": org, "round_id": round,
		"title": "Example skills exchange", "requested_amount_pence": 60000.0} {
		if got[field] != want {
			t.Errorf("application %s: %s = %v, want %v", id, field, got[field], want)
		}
	}
	t.Logf("the example ran %s after the stack was up", time.Since(began).Round(time.Millisecond))
}
