package service

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/oidcdev"
)

// The console's Fund → Correct form could not change whether a round excludes the
// organisations funded in the previous round, though the fund lets that change until
// the round opens. The form of a round that has not opened now offers the choice,
// showing the round's own; a correction sends it only when it was changed. An open
// round's form does not offer it, the fund no longer letting it change; a form
// offering it, sent once the round has opened, has a change to it refused, not
// dropped without a word, and saves as it would have without one.
func TestOpsCorrectsWhetherAnUpcomingRoundExcludesThePreviousRoundsGrantees(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	fundOps := opsToken(t, s.fund, "fund")
	year := time.Now().Year() + 1
	newRound := func(name string, opens time.Time, exclude bool) string {
		t.Helper()
		return s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", fundOps, map[string]any{
			"name": name, "opens": opens.Format(time.RFC3339), "closes": time.Now().AddDate(0, 2, 0).Format(time.RFC3339),
			"budget_pence": 750000, "min_award_pence": 10000, "max_award_pence": 100000, "project_start": fmt.Sprintf("%d-03-01", year),
			"project_end": fmt.Sprintf("%d-12-31", year), "themes": []string{"visibility"}, "exclude_previously_funded": exclude,
		})).JSON(t)["id"].(string)
	}
	round := func(id string) map[string]any {
		t.Helper()
		return s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+id, "", nil)).JSON(t)
	}
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	edit := func(id string) response {
		t.Helper()
		return opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/"+id+"/edit", ops, nil), http.StatusOK, "the round's correction form")
	}
	nextMonth := time.Now().AddDate(0, 1, 0)
	excluding := newRound("TCF Upcoming, excluding", nextMonth, true)
	letting := newRound("TCF Upcoming, letting in", nextMonth, false)

	// The form of a round that has not opened shows the round's own choice.
	for id, want := range map[string]string{excluding: "excluded", letting: "may_apply"} {
		page := edit(id)
		choice := selectNamed(t, page.body, "previously_funded")
		if choice == nil {
			t.Fatalf("the correction form of a round that has not opened has no choice on the previous round's grantees: %s", text(parse(t, page.body)))
		}
		if got := selectedValue(choice); got != want {
			t.Errorf("round %s: the form shows the choice %q, want the round's own %q", id, got, want)
		}
		if label := labelFor(parse(t, page.body), attr(choice, "id")); !strings.Contains(label, "funded in the previous round") {
			t.Errorf("the choice is labelled %q", label)
		}
	}

	// Shown again for a problem, the form keeps the choice as it was sent, and saves
	// nothing.
	form := formAsSent(t, edit(excluding).body, "/ops/fund/rounds/"+excluding)
	form.Set("previously_funded", "may_apply")
	form.Set("budget", "lots")
	r := opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+excluding, ops, form), http.StatusBadRequest, "a correction with a budget in words")
	if got := selectedValue(selectNamed(t, r.body, "previously_funded")); got != "may_apply" {
		t.Errorf("the form shown again for a mistyped budget shows the choice %q, want may_apply as sent", got)
	}

	// Changed, the choice changes the round's.
	form = formAsSent(t, edit(excluding).body, "/ops/fund/rounds/"+excluding)
	form.Set("previously_funded", "may_apply")
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+excluding, ops, form), http.StatusSeeOther, "letting the previous round's grantees apply")
	if got := round(excluding); got["exclude_previously_funded"] != false || got["version"] != float64(2) {
		t.Errorf("after letting them apply the round reads %v", got)
	}
	form = formAsSent(t, edit(letting).body, "/ops/fund/rounds/"+letting)
	form.Set("previously_funded", "excluded")
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+letting, ops, form), http.StatusSeeOther, "excluding the previous round's grantees")
	if got := round(letting); got["exclude_previously_funded"] != true || got["version"] != float64(2) {
		t.Errorf("after excluding them the round reads %v", got)
	}
	// Left as shown, it changes nothing.
	form = formAsSent(t, edit(letting).body, "/ops/fund/rounds/"+letting)
	form.Set("name", "TCF Upcoming, renamed")
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+letting, ops, form), http.StatusSeeOther, "renaming the round")
	if got := round(letting); got["name"] != "TCF Upcoming, renamed" || got["exclude_previously_funded"] != true {
		t.Errorf("after renaming it the round reads %v", got)
	}

	// An open round's form does not offer the choice.
	open := newRound("TCF Open", time.Now().Add(-time.Hour), false)
	if page := edit(open); selectNamed(t, page.body, "previously_funded") != nil || checkbox(t, page.body, "previously_funded") != nil {
		t.Errorf("an open round's correction form offers the choice on the previous round's grantees, which the fund no longer lets change")
	}

	// A round's form shown before it opens, sent after: a change to the choice is
	// refused, the round as it was; left as shown, the correction saves.
	opens := time.Now().Add(8 * time.Second)
	opening := newRound("TCF Opening", opens, true)
	shown := edit(opening).body
	if selectNamed(t, shown, "previously_funded") == nil {
		t.Fatalf("the form of a round opening in seconds has no choice on the previous round's grantees")
	}
	time.Sleep(time.Until(opens) + time.Second)
	form = formAsSent(t, shown, "/ops/fund/rounds/"+opening)
	form.Set("previously_funded", "may_apply")
	r = s.p.do("POST", "/ops/fund/rounds/"+opening, ops, form)
	if r.status == http.StatusSeeOther || !strings.Contains(text(parse(t, r.body)), "only its name, its closing time, its budget and its project window may change") {
		t.Errorf("a change to the choice once the round opened = %d: %s", r.status, text(parse(t, r.body)))
	}
	if got := round(opening); got["exclude_previously_funded"] != true || got["version"] != float64(1) {
		t.Errorf("after a refused change the round reads %v", got)
	}
	form = formAsSent(t, shown, "/ops/fund/rounds/"+opening)
	form.Set("name", "TCF Opened")
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+opening, ops, form), http.StatusSeeOther, "renaming the round opened since its form was shown")
	if got := round(opening); got["name"] != "TCF Opened" || got["exclude_previously_funded"] != true {
		t.Errorf("after renaming it the round reads %v", got)
	}
}

// selectNamed is the page's select of that name, or nil.
func selectNamed(t *testing.T, body, name string) *html.Node {
	t.Helper()
	for _, n := range find(parse(t, body), element("select")) {
		if attr(n, "name") == name {
			return n
		}
	}
	return nil
}

// selectedValue is the value of a select's selected option, or "" for none.
func selectedValue(sel *html.Node) string {
	if sel == nil {
		return ""
	}
	for _, o := range find(sel, element("option")) {
		if _, selected := attrOK(o, "selected"); selected {
			return attr(o, "value")
		}
	}
	return ""
}
