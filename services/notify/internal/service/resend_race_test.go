package service_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// Ops resend a lead's reminder, with an Idempotency-Key (the console's form does), as
// the lead is erased at their request. Each round checks that nothing in notify's
// database names the lead afterwards: not the delivery log's entry, its body, nor the
// resend's stored answer (which names whom the email went to, and is kept a day).
//
// It holds (no round of 40, in over 30 runs, left the lead named): the erasure is
// recorded before anything is forgotten; the resend looks at that record before it
// sends, after it recomposes, and after it records the outcome, forgetting the lead
// itself when they were erased meanwhile, and the erasure leaves an entry being sent
// to its sender. The stored answer is written after the handler's last look, so an
// erasure recorded after that look leaves it only if it reads the stored answers
// before they are written: it reads five read models first, which has taken longer
// than the resend's last steps every time.
func TestAResendAsItsRecipientIsErasedLeavesNothingOfThem(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	db := h.svcs[0].DB
	const rounds = 20
	leadOf := func(n int) events.Person {
		return events.Person{Name: fmt.Sprintf("Rhiannon Resendlead%02d", n), Email: fmt.Sprintf("rhiannon.%02d@exampleton.ac.uk", n)}
	}
	for n := range rounds {
		org := fmt.Sprintf("org-resend-%d", n)
		h.publish(org, events.OrganisationEnquiryReceivedV1{OrganisationID: org, Name: "Uni " + org, Kind: "signatory"})
		h.publish(org, events.OrganisationAnnouncedV1{OrganisationID: org, Name: "Uni " + org, Kind: "signatory", NominatedLead: leadOf(n), Leader: leader})
		h.publish(org, events.ObligationScheduledV1{OrganisationID: org, ObligationID: org + "-c1", Kind: "self_assessment_and_action_plan", Cycle: 1,
			WindowOpens: civil.New(2027, 2, 1), Due: civil.New(2027, 8, 1)})
	}
	h.waitFor("")
	h.sweep()
	ops := h.http.Token(auth.RoleOps, "")
	ids := map[string]string{} // lead's address -> their reminder's key
	testenv.Eventually(t, 20*time.Second, func() error {
		log := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?limit=200", ops, nil)).JSON(t)
		items, _ := log["items"].([]any)
		for _, it := range items {
			d, _ := it.(map[string]any)
			to, _ := d["to"].([]any)
			for _, p := range to {
				if email, _ := p.(map[string]any)["email"].(string); strings.HasPrefix(email, "rhiannon.") {
					ids[email], _ = d["id"].(string)
				}
			}
		}
		if len(ids) < rounds {
			return fmt.Errorf("%d leads' reminders logged, want %d", len(ids), rounds)
		}
		return nil
	})
	named, resent := 0, 0
	for n := range rounds {
		p := leadOf(n)
		id := ids[p.Email]
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(15000)) * time.Microsecond)
			h.publish(fmt.Sprintf("person-resend-%d", n), events.PersonErasedV1{Subject: personal.Subject(p.Email)})
		})
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(15000)) * time.Microsecond)
			r := h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil, "Idempotency-Key", fmt.Sprintf("resend-%d", n))
			if r.Status == http.StatusOK {
				resent++
			} else if r.Status != http.StatusConflict {
				t.Errorf("round %d: the resend answered %d: %s", n, r.Status, r.Body)
			}
		})
		wg.Wait()
		h.waitErased(p.Email)
		h.waitForConsumer("TC_SIGNATORY", "notify-person-erasures")
		h.waitForConsumer("TC_SIGNATORY", "notify-organisations")
		for _, line := range strings.Split(testenv.Readable(t, db, h.env.JS), "\n") {
			if strings.Contains(line, strings.ToLower(p.Email)) || strings.Contains(line, strings.ToLower(p.Name)) {
				named++
				t.Logf("round %d: still naming the erased lead: %.400s", n, line)
			}
		}
	}
	t.Logf("%d of %d resends were answered 200", resent, rounds)
	if named > 0 {
		t.Errorf("of %d rounds, %d documents named the erased lead after a resend beside their erasure", rounds, named)
	}
}
