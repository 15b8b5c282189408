package service

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
	fundtest "github.com/itss/techcommit/services/fund/servicetest"
)

// The open rounds page lists, for anyone, the rounds the fund service has open now,
// with their closing time on the London clock, the award range and the project
// window; a round still to open is not listed.
func TestOpenFundRoundsArePublic(t *testing.T) {
	t.Parallel()
	env := testenv.NewEnv(t)
	fund := fundtest.Start(t, env, "", "")
	p := startPortalOn(t, env, services{fund: fund.URL})
	ops, err := fund.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	open := func(name string, opens time.Time) {
		fund.Must(http.StatusCreated, fund.Do("POST", "/v1/rounds", ops, map[string]any{
			"name": name, "opens": opens.Format(time.RFC3339), "closes": "2030-01-31T17:00:00Z",
			"budget_pence": 1000000, "min_award_pence": 50000, "max_award_pence": 250050,
			"project_start": "2030-03-01", "project_end": "2030-12-31", "themes": []string{"visibility"},
		}))
	}
	open("Open now", now.Add(-time.Hour))
	open("Opens later", now.Add(30*24*time.Hour))

	r := p.do("GET", "/fund/rounds", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /fund/rounds = %d: %s", r.status, r.body)
	}
	var rows [][]string
	for _, tr := range find(parse(t, r.body), element("tr")) {
		var cells []string
		for _, td := range find(tr, func(n *html.Node) bool { return n.Data == "td" }) {
			cells = append(cells, cellText(td))
		}
		if len(cells) > 0 {
			rows = append(rows, cells)
		}
	}
	want := []string{"Open now", "Thursday 31 January 2030, 17:00 GMT", "£500 to £2,500.50", "Friday 1 March 2030 to Tuesday 31 December 2030"}
	if len(rows) != 1 || strings.Join(rows[0], "|") != strings.Join(want, "|") {
		t.Fatalf("rows = %q, want %q", rows, want)
	}
}
