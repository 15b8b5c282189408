package service_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/config"
)

// An award typed wrong (£50 for the £500 asked for) is corrected by ITSS: the
// application, its list and the round's ledger show the amount corrected, its
// history the correction from what to what, why and by whom, and the report is held
// to it. A correction is refused naming the field for an amount outside the request
// or the one awarded already, or without a reason in words; with 409 for an
// application not awarded, or below what its report says was spent; with 412 when
// the application changed since it was read; with 403 to anyone but ITSS.
func TestITSSCorrectsAnAwardTypedWrong(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-typo", "signatory")
	round := h.openRound(100000, 1000, 50000)
	applicant := h.Token(auth.RoleApplicant, "org-typo")
	h.eligible(applicant, round, 50000)
	id := h.submitted(applicant, round, 50000, true)
	kim := h.TokenFor(auth.Principal{Subject: "k.okafor", Role: auth.RoleOps, Name: "Kim Okafor"})
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", kim, map[string]any{"amount_pence": 5000}))
	path := "/v1/applications/" + id + "/award-corrections"
	reason := "£50 was typed for £500."

	refusedNaming := func(want int, field string, body map[string]any, headers ...string) {
		t.Helper()
		got := h.Must(want, h.Do("POST", path, kim, body, headers...)).JSON(t)
		if field != "" && got["field"] != field {
			t.Errorf("%v: %v, want %d naming %s", body, got, want, field)
		}
	}
	refusedNaming(http.StatusBadRequest, "amount_pence", map[string]any{"amount_pence": 50001, "reason": reason})
	refusedNaming(http.StatusBadRequest, "amount_pence", map[string]any{"amount_pence": 5000, "reason": reason})
	refusedNaming(http.StatusBadRequest, "reason", map[string]any{"amount_pence": 50000, "reason": " . "})
	refusedNaming(http.StatusBadRequest, "reason", map[string]any{"amount_pence": 50000})
	h.Must(http.StatusForbidden, h.Do("POST", path, applicant, map[string]any{"amount_pence": 50000, "reason": reason}))

	read := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, kim, nil))
	etag := read.Header.Get("ETag")
	refusedNaming(http.StatusPreconditionFailed, "", map[string]any{"amount_pence": 50000, "reason": reason}, "If-Match", `"1"`)
	r := h.Must(http.StatusOK, h.Do("POST", path, kim, map[string]any{"amount_pence": 50000, "reason": reason}, "If-Match", etag))
	if got := r.JSON(t); got["award_pence"] != float64(50000) || got["status"] != "awarded" || got["report_due"] != "2028-01-31" {
		t.Errorf("the corrected application reads %v, want awarded 50000 with its report still due 2028-01-31", got)
	}
	if r.Header.Get("ETag") == etag || r.Header.Get("ETag") == "" {
		t.Errorf("the correction answers ETag %q, want the application's new version (read at %s)", r.Header.Get("ETag"), etag)
	}
	// Sent again from the form as it was: the application has moved on.
	refusedNaming(http.StatusPreconditionFailed, "", map[string]any{"amount_pence": 40000, "reason": reason}, "If-Match", etag)

	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).JSON(t); got["award_pence"] != float64(50000) {
		t.Errorf("the applicant reads %v, want the award corrected to 50000", got)
	}
	ledger := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", kim, nil)).JSON(t)
	if ledger["awarded_pence"] != float64(50000) || ledger["remaining_pence"] != float64(50000) || ledger["entries"] != float64(2) {
		t.Errorf("ledger %v, want 50000 awarded in two entries and 50000 left", ledger)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		items := h.Must(http.StatusOK, h.Do("GET", "/v1/applications?status=awarded&round_id="+round, kim, nil)).JSON(t)["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["award_pence"] != float64(50000) {
			return fmt.Errorf("the list of awards: %v, want the one corrected to 50000", items)
		}
		return nil
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		var corrections []string
		for _, e := range h.fundStream() {
			switch e.Type {
			case events.AwardCorrectedV1{}.EventType():
				p, err := events.Decode[events.AwardCorrectedV1](e)
				if err != nil {
					return err
				}
				corrections = append(corrections, fmt.Sprintf("%s %s %d→%d %q", e.AggregateID, e.Actor, p.FromPence, p.ToPence, p.Reason))
			case events.BudgetAdjustedV1{}.EventType():
				p, err := events.Decode[events.BudgetAdjustedV1](e)
				if err != nil {
					return err
				}
				corrections = append(corrections, fmt.Sprintf("ledger %s %d→%d", e.Actor, p.FromPence, p.ToPence))
			}
		}
		want := fmt.Sprintf("ledger ops:k.okafor 5000→50000|%s ops:k.okafor 5000→50000 %q", id, reason)
		if strings.Join(corrections, "|") != want {
			return fmt.Errorf("the history holds %v, want %s", corrections, want)
		}
		return nil
	})

	// Only an award is corrected: not an application withdrawn, nor one still to decide.
	other := h.submitted(applicant, round, 20000, false)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+other+"/withdrawal", applicant, map[string]any{"reason": "The partner left."}))
	gone := h.Must(http.StatusConflict, h.Do("POST", "/v1/applications/"+other+"/award-corrections", kim, map[string]any{"amount_pence": 20000, "reason": reason})).JSON(t)
	if !strings.Contains(fmt.Sprint(gone["detail"]), "withdrawn") {
		t.Errorf("correcting a withdrawn application: %v, want 409 saying it is withdrawn", gone)
	}
	assessed := h.submitted(applicant, round, 20000, true)
	h.Must(http.StatusConflict, h.Do("POST", "/v1/applications/"+assessed+"/award-corrections", kim, map[string]any{"amount_pence": 20000, "reason": reason}))

	// The report, once in, is held to the award as corrected; and the award is then
	// never corrected below what it says was spent.
	h.clock.Set(time.Date(2027, 6, 1, 9, 0, 0, 0, time.UTC))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/report", applicant, map[string]any{"summary": "Four workshops.", "spent_pence": 45000}))
	below := h.Must(http.StatusConflict, h.Do("POST", path, kim, map[string]any{"amount_pence": 40000, "reason": reason})).JSON(t)
	if !strings.Contains(fmt.Sprint(below["detail"]), "45000 pence") {
		t.Errorf("correcting below what the report spent: %v, want 409 saying what was spent", below)
	}
	h.Must(http.StatusOK, h.Do("POST", path, kim, map[string]any{"amount_pence": 45000, "reason": "The panel agreed £450."}))
	if l := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", kim, nil)).JSON(t); l["awarded_pence"] != float64(45000) {
		t.Errorf("ledger %v after the second correction, want 45000 awarded", l)
	}

}

// A correction upward races awards in its round on the ledger, through three
// replicas: whichever win, the round's awards, the correction's among them, never
// exceed its budget, every refusal is a 409, and each application holds what the
// ledger holds for it.
func TestACorrectionUpwardRacingAwardsNeverExceedsTheBudget(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *config.Config) { c.HTTP.RequestTimeout = 2 * time.Minute })
	h.announce("org-race", "signatory")
	const budget, award, contenders = 5000, 1000, 8
	round := h.openRound(budget, 100, 2000)
	applicant := h.Token(auth.RoleApplicant, "org-race")
	h.eligible(applicant, round, award)
	typo := h.submitted(applicant, round, 2000, true)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+typo+"/award", h.ops, map[string]any{"amount_pence": 100}))
	ids := make([]string, contenders)
	for i := range ids {
		ids[i] = h.submitted(applicant, round, award, true)
	}

	replicas := []*testenv.Client{h.Client, h.replica(), h.replica()}
	statuses := make([]int, contenders)
	var corrected int
	var wg sync.WaitGroup
	wg.Add(contenders + 1)
	go func() {
		defer wg.Done()
		corrected = replicas[0].Do("POST", "/v1/applications/"+typo+"/award-corrections", h.ops,
			map[string]any{"amount_pence": 2000, "reason": "£1 was typed for £20."}).Status
	}()
	for i, id := range ids {
		go func() {
			defer wg.Done()
			statuses[i] = replicas[(i+1)%len(replicas)].Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": award}).Status
		}()
	}
	wg.Wait()

	want := int64(100)
	switch corrected {
	case http.StatusOK:
		want = 2000
	case http.StatusConflict:
	default:
		t.Errorf("the correction answered %d, want 200 or 409", corrected)
	}
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			want += award
		case http.StatusConflict:
		default:
			t.Errorf("award %d answered %d, want 200 or 409", i, s)
		}
	}
	ledger := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
	if ledger["awarded_pence"] != float64(want) || want > budget {
		t.Errorf("ledger %v; the answers add up to %d awarded, which must be it and within the budget of %d", ledger, want, budget)
	}
	// The budget is spent as far as the contenders could: what remains covers none of them.
	if rem := int64(ledger["remaining_pence"].(float64)); rem >= award {
		t.Errorf("%d pence remain after the race, which an award refused could have had (correction %d, awards %v)", rem, corrected, statuses)
	}
	t.Logf("correction %d, awards %v, ledger %v", corrected, statuses, ledger)
	got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+typo, h.ops, nil)).JSON(t)
	if wantTypo := map[bool]float64{true: 2000, false: 100}[corrected == http.StatusOK]; got["award_pence"] != wantTypo {
		t.Errorf("the corrected application holds %v, want %v as the ledger does", got["award_pence"], wantTypo)
	}
}

// adjustOnly appends an adjustment to a round's ledger as a correction's request
// commits it, the request then stopping before the application records it.
func (h *harness) adjustOnly(round, id string, from, to int64, reason string) {
	h.t.Helper()
	_, err := h.svc.Events.Execute(context.Background(), store.Command{AggregateType: "ledger", AggregateID: round + "-ledger", Actor: "ops:k.okafor",
		Decide: func(history []events.Envelope) ([]events.Payload, error) {
			return []events.Payload{events.BudgetAdjustedV1{RoundID: round, ApplicationID: id, FromPence: from, ToPence: to, Reason: reason}}, nil
		}})
	if err != nil {
		h.t.Fatal(err)
	}
}

// A correction whose request stopped after the ledger took it is finished by the
// settlement consumer, recorded as the ops person who made it; one the application
// can no longer take (its report came in, spending more) is put back on the ledger,
// and the application keeps its award.
func TestTheSettlementFinishesACorrectionTheLedgerTook(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-finish", "signatory")
	round := h.openRound(100000, 1000, 50000)
	applicant := h.Token(auth.RoleApplicant, "org-finish")
	h.eligible(applicant, round, 1000)
	finished := h.submitted(applicant, round, 50000, true)
	reported := h.submitted(applicant, round, 20000, true)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+finished+"/award", h.ops, map[string]any{"amount_pence": 5000}))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+reported+"/award", h.ops, map[string]any{"amount_pence": 20000}))
	h.clock.Set(time.Date(2027, 6, 1, 9, 0, 0, 0, time.UTC))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+reported+"/report", applicant, map[string]any{"summary": "Done.", "spent_pence": 18000}))

	h.adjustOnly(round, finished, 5000, 50000, "£50 was typed for £500.")
	h.adjustOnly(round, reported, 20000, 10000, "£200 was typed for £100.")
	testenv.Eventually(t, 10*time.Second, func() error {
		got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+finished, h.ops, nil)).JSON(t)
		if got["award_pence"] != float64(50000) {
			return fmt.Errorf("the application the ledger corrected holds %v, want 50000", got["award_pence"])
		}
		ledger := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
		if ledger["awarded_pence"] != float64(70000) {
			return fmt.Errorf("ledger %v, want 70000 awarded: 50000 corrected, and 20000 put back for the application whose report spent 18000", ledger)
		}
		return nil
	})
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+reported, h.ops, nil)).JSON(t); got["award_pence"] != float64(20000) {
		t.Errorf("the application whose report spent more holds %v, want its award of 20000 kept", got["award_pence"])
	}
	var actors []string
	for _, e := range h.fundStream() {
		if e.Type == (events.AwardCorrectedV1{}).EventType() {
			actors = append(actors, e.AggregateID+" "+e.Actor)
		}
	}
	if want := finished + " ops:k.okafor"; strings.Join(actors, "|") != want {
		t.Errorf("the corrections recorded: %v, want %s alone", actors, want)
	}
}
