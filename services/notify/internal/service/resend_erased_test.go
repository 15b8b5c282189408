package service_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/adapters"
)

// A reminder sent to the lead before is resent (by ops, or retried by the sweep) after
// the role passed on: a later attempt goes to whoever holds the role then, the new
// lead. The new lead has just been erased at their request: notify's consumer of
// erasures has forgotten them and recorded the erasure, and its consumer of the
// signatory's events, which forgets them in the organisations in that stream's
// order, has not yet come to it (the two consumers take the announcement apart).
// Nothing is sent to the erased lead, and nothing of them is kept.
func TestAResendToTheRolesNextHolderJustErasedSendsThemNothing(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("org-resend-next", civil.New(2027, 2, 1), civil.New(2027, 8, 1))
	h.sweep()
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.box.sentTo(lead.Email); n != 1 {
			return fmt.Errorf("%d emails to the lead, want the window's", n)
		}
		return nil
	})
	ops := h.http.Token(auth.RoleOps, "")
	log := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=org-resend-next", ops, nil)).JSON(t)
	items, _ := log["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("the log holds %d entries, want the reminder", len(items))
	}
	id, _ := items[0].(map[string]any)["id"].(string)

	next := events.Person{Name: "Nell Nextlead", Email: "nell.next@exampleton.ac.uk"}
	before := handOverAndErase(t, h, "org-resend-next", next)
	r := h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil)
	t.Logf("the resend answered %d: %s", r.Status, r.Body)
	// The resend answers once the relay has taken the email or it was not sent.
	if n := h.box.sentTo(next.Email); n != before {
		t.Errorf("%d emails went to the erased lead after their erasure", n-before)
	}
	holdsNothingOf(t, h, next)
}

// handOverAndErase makes next the organisation's lead, waits for the email that tells
// them, and erases them as notify's consumer of erasures does, before its consumer of
// the signatory's events has come to the erasure. It returns how many emails next had.
func handOverAndErase(t *testing.T, h *harness, org string, next events.Person) int {
	t.Helper()
	h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: leader, NominatedLead: next})
	h.waitFor(org)
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.box.sentTo(next.Email); n < 1 {
			return fmt.Errorf("no email yet to the new lead")
		}
		return nil
	})
	before := h.box.sentTo(next.Email)
	if err := adapters.NewErasure(h.svcs[0].DB).ForgetAt(context.Background(), personal.Subject(next.Email), h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	return before
}

// holdsNothingOf fails the test if notify holds p anywhere but its organisations,
// which forget them when their consumer comes to the erasure.
func holdsNothingOf(t *testing.T, h *harness, p events.Person) {
	t.Helper()
	for _, line := range strings.Split(testenv.Readable(t, h.svcs[0].DB, h.env.JS), "\n") {
		if !strings.HasPrefix(line, "organisations ") && (strings.Contains(line, p.Email) || strings.Contains(line, strings.ToLower(p.Name))) {
			t.Errorf("notify still holds the erased lead: %.300s", line)
		}
	}
}

// The sweep retries a reminder the relay put off after the role passed on: the
// retry goes to the new lead, just erased (their erasure recorded, the organisations
// not yet told). Nothing is sent to them; the reminder is given up, as to an erased
// person, and forgotten.
func TestARetryToTheRolesNextHolderJustErasedSendsThemNothing(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	refuse := func(code int) {
		h.box.mu.Lock()
		defer h.box.mu.Unlock()
		h.box.refuse = nil
		if code != 0 {
			h.box.refuse = func(string) *smtp.SMTPError {
				return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "not now"}
			}
		}
	}
	refuse(451)
	h.onboard("org-retry-next", civil.New(2027, 2, 1), civil.New(2027, 8, 1))
	h.sweep()
	refuse(0)
	next := events.Person{Name: "Nye Nextlead", Email: "nye.next@exampleton.ac.uk"}
	before := handOverAndErase(t, h, "org-retry-next", next)
	h.clock.Advance(3 * time.Minute) // past the first retry's wait
	h.sweep()
	if n := h.box.sentTo(next.Email); n != before {
		t.Errorf("%d emails went to the erased lead after their erasure", n-before)
	}
	holdsNothingOf(t, h, next)
	ops := h.http.Token(auth.RoleOps, "")
	log := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=org-retry-next", ops, nil)).JSON(t)
	items, _ := log["items"].([]any)
	for _, it := range items {
		if d, _ := it.(map[string]any); d["kind"] == "reminder" && d["status"] != "given_up" {
			t.Errorf("the reminder retried after its recipient's erasure: %v, want given up", d)
		}
	}
}
