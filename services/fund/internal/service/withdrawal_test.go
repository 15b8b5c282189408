package service_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/config"
	fundevents "github.com/itss/techcommit/services/fund/internal/ports/events"
)

// An organisation that withdraws from the Commitment has each of its open
// applications (drafted, submitted, in assessment) withdrawn by the fund, once, with
// the reason in words, which the application's read and the list say; its decided
// applications, one its applicant withdrew already (with their own reason) and
// another organisation's stay as they were, and the withdrawal seen again, by the
// consumer or by a restart that replays it, changes nothing.
func TestAWithdrawalWithdrawsTheOrganisationsOpenApplications(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-w", "signatory")
	h.announce("org-k", "signatory")
	round := h.openRound(750000, 1000, 100000)
	leaving, staying := h.Token(auth.RoleApplicant, "org-w"), h.Token(auth.RoleApplicant, "org-k")
	h.eligible(leaving, round, 1000)
	h.eligible(staying, round, 1000)

	drafted := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", leaving, draft(round, 5000))).JSON(t)["id"].(string)
	submitted := h.submitted(leaving, round, 5000, false)
	assessing := h.submitted(leaving, round, 5000, true)
	awarded := h.submitted(leaving, round, 5000, true)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+awarded+"/award", h.ops, map[string]any{"amount_pence": 4000}))
	declined := h.submitted(leaving, round, 5000, false)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+declined+"/refusal", h.ops, map[string]any{"feedback": "Please find a second partner."}))
	others := h.submitted(staying, round, 5000, true)
	// One the applicant withdrew themselves first keeps their own reason.
	ownReason := "The partner could no longer take part."
	own := h.submitted(leaving, round, 5000, false)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+own+"/withdrawal", leaving, map[string]any{"reason": ownReason}))

	withdrawal := events.OrganisationWithdrawnV1{OrganisationID: "org-w", WithdrawnOn: mustDate("2027-03-01"), Reason: "merged", InitiatedBy: "organisation"}
	h.publishSignatory(withdrawal, "org-w")

	want := map[string]string{
		drafted: "withdrawn", submitted: "withdrawn", assessing: "withdrawn",
		awarded: "awarded", declined: "declined", others: "in_assessment", own: "withdrawn",
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for id, status := range want {
			if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, h.ops, nil)).JSON(t)["status"]; got != status {
				return fmt.Errorf("application %s is %v, want %s", id, got, status)
			}
		}
		return nil
	})
	// No longer in the ops' assessment list: only the other organisation's is.
	testenv.Eventually(t, 10*time.Second, func() error {
		items := h.Must(http.StatusOK, h.Do("GET", "/v1/applications?status=in_assessment", h.ops, nil)).JSON(t)["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["id"] != others {
			return fmt.Errorf("ops' assessment list %v, want only %s", items, others)
		}
		return nil
	})
	wantReason := "Org org-w withdrew from the Technician Commitment on Monday 1 March 2027"
	byTheFund := func() map[string]int {
		n := map[string]int{}
		for _, e := range h.fundStream() {
			if e.Type != (events.ApplicationWithdrawnV1{}).EventType() {
				continue
			}
			p, err := events.Decode[events.ApplicationWithdrawnV1](e)
			if err != nil {
				t.Fatal(err)
			}
			if !p.OrganisationWithdrew {
				continue // the eligibility probes, withdrawn by their applicants
			}
			n[p.ApplicationID]++
			if p.Reason != wantReason || p.Applicant.Email == "" || p.Title == "" || e.Actor != "system:organisation-withdrawal" {
				t.Errorf("the fund's withdrawal of %s: reason %q, applicant %+v, title %q, actor %q; want the reason %q, the applicant, the title and the service as actor",
					p.ApplicationID, p.Reason, p.Applicant, p.Title, e.Actor, wantReason)
			}
		}
		return n
	}
	// The application's read says why it was withdrawn, in words, and so does the
	// list; one not withdrawn says nothing of it.
	wantWhy := map[string]any{drafted: wantReason, submitted: wantReason, assessing: wantReason, own: ownReason,
		awarded: nil, declined: nil, others: nil}
	for id, why := range wantWhy {
		if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, h.ops, nil)).JSON(t)["withdrawal_reason"]; got != why {
			t.Errorf("application %s says it was withdrawn because %#v, want %#v", id, got, why)
		}
	}
	testenv.Eventually(t, 10*time.Second, func() error { // the list is read from the views, which may lag
		listed := map[string]any{}
		for _, item := range h.Must(http.StatusOK, h.Do("GET", "/v1/applications?status=withdrawn&limit=200", h.ops, nil)).JSON(t)["items"].([]any) {
			listed[item.(map[string]any)["id"].(string)] = item.(map[string]any)["withdrawal_reason"]
		}
		for _, id := range []string{drafted, submitted, assessing, own} {
			if listed[id] != wantWhy[id] {
				return fmt.Errorf("the list of withdrawn applications says %s was withdrawn because %#v, want %#v", id, listed[id], wantWhy[id])
			}
		}
		return nil
	})
	opened := []string{drafted, submitted, assessing}
	testenv.Eventually(t, 10*time.Second, func() error {
		n := byTheFund()
		for _, id := range opened {
			if n[id] != 1 {
				return fmt.Errorf("the fund withdrew %s %d times (published so far), want once", id, n[id])
			}
		}
		if len(n) != len(opened) {
			return fmt.Errorf("the fund withdrew %v, want only %v", n, opened)
		}
		return nil
	})
	versions := map[string]any{}
	for id := range want {
		versions[id] = h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, h.ops, nil)).JSON(t)["version"]
	}

	// The event again, as a redelivery would bring it, and as a restart replays it.
	h.publishSignatory(withdrawal, "org-w")
	h.signatoriesConsumed()
	if err := h.svc.App.WithdrawOrganisation(context.Background(), withdrawal.OrganisationID, withdrawal.WithdrawnOn); err != nil {
		t.Fatal(err)
	}
	for id, version := range versions {
		if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, h.ops, nil)).JSON(t); got["version"] != version || got["status"] != want[id] {
			t.Errorf("after the withdrawal again, %s is %v at version %v; want %s at version %v", id, got["status"], got["version"], want[id], version)
		}
	}
	for id, n := range byTheFund() {
		if n != 1 {
			t.Errorf("after the withdrawal again, the fund withdrew %s %d times, want once", id, n)
		}
	}
}

// signatoriesConsumed waits until the fund's consumer of the signatory service's
// events has handled every one published so far.
func (h *harness) signatoriesConsumed() {
	h.t.Helper()
	testenv.Consumed(h.t, h.js, events.StreamSignatory, fundevents.DurableSignatoriesV2)
}

// An organisation's withdrawal racing awards of its applications in assessment: each
// application ends either awarded (the award answered 200, and the fund did not
// withdraw it) or withdrawn (the award refused), never both; the round's ledger
// holds exactly the awards made, a refused award's claim released.
func TestAWithdrawalRacingAwardsLeavesEachApplicationOneOrTheOther(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *config.Config) { c.HTTP.RequestTimeout = time.Minute })
	h.announce("org-r", "signatory")
	const award, contenders = 1000, 12
	round := h.openRound(award*contenders, 100, award)
	applicant := h.Token(auth.RoleApplicant, "org-r")
	h.eligible(applicant, round, award)
	ids := make([]string, contenders)
	for i := range ids {
		ids[i] = h.submitted(applicant, round, award, true)
	}

	withdrawal := events.OrganisationWithdrawnV1{OrganisationID: "org-r", WithdrawnOn: mustDate("2027-03-01"), Reason: "merged", InitiatedBy: "organisation"}
	statuses := make([]int, contenders)
	var wg sync.WaitGroup
	start := make(chan struct{})
	// The withdrawal goes in once a few awards are answered, while the rest are on
	// their way, so that some awards come before it and some race it.
	var answered atomic.Int32
	someAnswered := make(chan struct{})
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": award}).Status
			if answered.Add(1) == 3 {
				close(someAnswered)
			}
		}()
	}
	wg.Add(1)
	go func() { // the withdrawal as the consumer takes it
		defer wg.Done()
		<-someAnswered
		if err := h.svc.App.WithdrawOrganisation(context.Background(), withdrawal.OrganisationID, withdrawal.WithdrawnOn); err != nil {
			t.Error(err)
		}
	}()
	close(start)
	wg.Wait()
	h.publishSignatory(withdrawal, "org-r")
	h.signatoriesConsumed()

	made := 0
	for i, id := range ids {
		got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, h.ops, nil)).JSON(t)["status"]
		switch {
		case statuses[i] == http.StatusOK && got == "awarded":
			made++
		case statuses[i] == http.StatusConflict && got == "withdrawn":
		default:
			t.Errorf("application %s: the award answered %d and it is %v; want 200 and awarded, or 409 and withdrawn", id, statuses[i], got)
		}
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		awarded, withdrawn := map[string]int{}, map[string]int{}
		for _, e := range h.fundStream() {
			switch e.Subject() {
			case events.SubjectApplicationAwarded:
				awarded[e.AggregateID]++
			case events.SubjectApplicationWithdrawn:
				withdrawn[e.AggregateID]++
			}
		}
		for _, id := range ids {
			if awarded[id]+withdrawn[id] != 1 {
				return fmt.Errorf("application %s was awarded %d and withdrawn %d times (published so far), want one or the other once", id, awarded[id], withdrawn[id])
			}
		}
		return nil
	})
	ledger := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
	if ledger["awarded_pence"] != float64(award*made) || ledger["remaining_pence"] != float64(award*(contenders-made)) {
		t.Errorf("ledger %v, want the %d awards made, %d pence, and the rest of the budget left", ledger, made, award*made)
	}
	t.Logf("%d of %d awarded before the withdrawal took the rest; ledger %v", made, contenders, ledger)
}
