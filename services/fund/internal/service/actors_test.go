package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// An award settled in its own request is recorded on the application, and on the
// round's ledger, as the ops person who made it, not as the settlement step: the
// history must name who decided.
func TestAnAwardIsRecordedAsTheOpsPersonWhoMadeIt(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-actor", "signatory")
	round := h.openRound(100000, 1000, 50000)
	applicant := h.Token(auth.RoleApplicant, "org-actor")
	h.eligible(applicant, round, 1000)
	id := h.submitted(applicant, round, 20000, true)
	kim := h.TokenFor(auth.Principal{Subject: "k.okafor", Role: auth.RoleOps, Name: "Kim Okafor"})
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", kim, map[string]any{"amount_pence": 20000}))

	testenv.Eventually(t, 10*time.Second, func() error {
		var awarded, reserved []string
		for _, e := range h.fundStream() {
			switch {
			case e.AggregateID == id && e.Type == events.ApplicationAwardedV1{}.EventType():
				awarded = append(awarded, e.Actor)
			case e.Type == events.BudgetReservedV1{}.EventType():
				reserved = append(reserved, e.Actor)
			}
		}
		if want := []string{"ops:k.okafor"}; !slices.Equal(awarded, want) || !slices.Equal(reserved, want) {
			return fmt.Errorf("the award is recorded as %v and its reservation as %v, want %v for both", awarded, reserved, want)
		}
		return nil
	})
}

// The settlement consumer, which finishes an award whose request stopped after the
// budget was reserved (and races every award's own request), records the award as
// the person the reservation names, not as a shared identity of the service.
func TestTheSettlementRecordsTheAwardAsTheReservationsActor(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-settle", "signatory")
	round := h.openRound(100000, 1000, 50000)
	applicant := h.Token(auth.RoleApplicant, "org-settle")
	h.eligible(applicant, round, 1000)
	id := h.submitted(applicant, round, 20000, true)

	// The reservation as the award's request commits it, which then stops before
	// settling.
	data, err := json.Marshal(events.BudgetReservedV1{RoundID: round, ApplicationID: id, AmountPence: 20000})
	if err != nil {
		t.Fatal(err)
	}
	e := events.Envelope{ID: "reservation-" + id, Source: "/tc/fund", Type: events.BudgetReservedV1{}.EventType(), AggregateType: "ledger",
		AggregateID: round + "-ledger", Version: 1, Time: time.Now(), Actor: "ops:k.okafor", Data: data}
	if _, err := h.js.PublishMsg(context.Background(), bus.Message(e)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		var awarded []string
		for _, e := range h.fundStream() {
			if e.AggregateID == id && e.Type == (events.ApplicationAwardedV1{}).EventType() {
				awarded = append(awarded, e.Actor)
			}
		}
		if want := []string{"ops:k.okafor"}; !slices.Equal(awarded, want) {
			return fmt.Errorf("the settled award is recorded as %v, want %v", awarded, want)
		}
		return nil
	})
}
