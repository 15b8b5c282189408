package service_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// A lead hands over, and is then erased: the emails the hand-over sent to the new lead
// and to the head were written to them, not to the old lead, but they name the old
// lead ("in place of Sam Patel", "Sam Patel, the previous nominated lead, is being
// told"), and the old lead's was subjected "… is now Chris Lee". The erasure found
// the log's entries by the erased address, which those emails do not hold, and left
// the name in their bodies and subjects. After the erasure notify's database holds
// neither the old lead's name nor their address; and after the new lead's erasure,
// neither theirs, though the head's and the old lead's entries (the emails' fact,
// kind and time) stay.
func TestAnErasedLeadIsNotLeftNamedInTheEmailsAboutThem(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)
	h := start(t, 1, now)
	h.onboard("hm", civil.New(2028, time.March, 1), civil.New(2028, time.September, 1))
	h.waitFor("hm")
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	h.publish("hm", events.OrganisationContactsChangedV1{OrganisationID: "hm", Leader: leader, NominatedLead: chris})
	h.waitFor("hm")
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(mailOf(h, "hm", 0)); n < 3 {
			return fmt.Errorf("%d emails of the hand-over, want 3", n)
		}
		return nil
	})
	db := h.svcs[0].DB
	if text := testenv.Readable(t, db, h.env.JS); !strings.Contains(text, "sam patel") || !strings.Contains(text, "chris lee") {
		t.Fatal("notify's log does not name the two leads before the erasures: the test proves nothing")
	}

	// Sam's subject access lists the emails to others that name him: the head's and
	// the new lead's, by kind, not whom they went to.
	ops := h.http.Token(auth.RoleOps, "")
	got := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": lead.Email})).JSON(t)
	var kinds []string
	for _, m := range got["mentioned_in"].([]any) {
		kinds = append(kinds, fmt.Sprint(m.(map[string]any)["kind"]))
		if b := fmt.Sprint(m); strings.Contains(b, leader.Email) || strings.Contains(b, chris.Email) || strings.Contains(b, chris.Name) {
			t.Errorf("an email naming Sam, in his subject access, says whom it went to: %s", b)
		}
	}
	if slices.Sort(kinds); fmt.Sprint(kinds) != "[lead-changed lead-named]" {
		t.Errorf("Sam's subject access lists emails naming him of kinds %v, want the head's and the new lead's", kinds)
	}

	for i, who := range []events.Person{lead, chris} {
		if who == chris {
			h.publish("hm", events.OrganisationContactsChangedV1{OrganisationID: "hm", Leader: leader, NominatedLead: events.Person{Erased: true}})
		}
		h.publish(fmt.Sprintf("person-%d", i), events.PersonErasedV1{Subject: personal.Subject(who.Email)})
		forgotten(t, h, who.Name+"'s erasure", who.Name, who.Email)
	}
	got = h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": lead.Email})).JSON(t)
	if m := got["mentioned_in"].([]any); len(m) != 0 {
		t.Errorf("after Sam's erasure his subject access lists %v", m)
	}
}

// TestTheNewLeadErasedAloneIsNotLeftNamedInTheHandOversEmails: a hand-over's emails to
// the lead before and to the head name the new lead, by name and address ("… is now
// Chris Lee, at c.lee@…"), as an address correction's name the corrected address.
// Those emails were sent before notify kept the new contacts, so they kept the digest
// of the lead before alone: the new lead's subject access did not list them, and the
// new lead's erasure (the lead before not erased) left their name and address in
// those emails' bodies until the bodies' retention, seen on the local stack.
func TestTheNewLeadErasedAloneIsNotLeftNamedInTheHandOversEmails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		next events.Person
		want string
	}{
		{"a hand-over", events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}, "[lead-changed lead-replaced]"},
		{"an address corrected", events.Person{Name: lead.Name, Email: "s.patel@exampleton.ac.uk"}, "[lead-changed lead-replaced]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
			h.onboard("hn", civil.New(2028, time.March, 1), civil.New(2028, time.September, 1))
			h.waitFor("hn")
			h.publish("hn", events.OrganisationContactsChangedV1{OrganisationID: "hn", Leader: leader, NominatedLead: tc.next})
			h.waitFor("hn")
			testenv.Eventually(t, 10*time.Second, func() error {
				if n := len(mailOf(h, "hn", 0)); n < 3 {
					return fmt.Errorf("%d emails of the hand-over, want 3", n)
				}
				return nil
			})
			ops := h.http.Token(auth.RoleOps, "")
			got := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": tc.next.Email})).JSON(t)
			var kinds []string
			for _, m := range got["mentioned_in"].([]any) {
				kinds = append(kinds, fmt.Sprint(m.(map[string]any)["kind"]))
			}
			if slices.Sort(kinds); fmt.Sprint(kinds) != tc.want {
				t.Errorf("the new lead's subject access lists emails naming them of kinds %v, want %s", kinds, tc.want)
			}
			h.publish("hn", events.OrganisationContactsChangedV1{OrganisationID: "hn", Leader: leader, NominatedLead: events.Person{Erased: true}})
			h.publish("person-next", events.PersonErasedV1{Subject: personal.Subject(tc.next.Email)})
			traces := []string{tc.next.Email}
			if tc.next.Name != lead.Name { // an address corrected: the name is still the lead's
				traces = append(traces, tc.next.Name)
			}
			forgotten(t, h, "the new lead's erasure", traces...)
		})
	}
}

// A change of head is told to the head before, naming the head named by name and
// address: that email keeps the new head's digest, so their subject access lists it
// and their erasure alone drops it. It kept the head before and the lead before only,
// and the new head's erasure left them in its body.
func TestTheNewHeadErasedAloneIsNotLeftNamedInTheChangeOfHeadsEmail(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("hq", civil.New(2028, time.March, 1), civil.New(2028, time.September, 1))
	h.waitFor("hq")
	kim := events.Person{Name: "Kim Ode", Title: "Provost", Email: "k.ode@exampleton.ac.uk"}
	h.publish("hq", events.OrganisationContactsChangedV1{OrganisationID: "hq", Leader: kim, NominatedLead: lead})
	h.waitFor("hq")
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, m := range mailOf(h, "hq", 0) {
			if slices.Contains(m.To, leader.Email) && strings.Contains(m.Subject, "no longer recorded as the head") {
				return nil
			}
		}
		return fmt.Errorf("the head before was not told of the change: %v", subjects(mailOf(h, "hq", 0)))
	})
	ops := h.http.Token(auth.RoleOps, "")
	got := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": kim.Email})).JSON(t)
	if m, _ := got["mentioned_in"].([]any); len(m) != 1 || fmt.Sprint(m[0].(map[string]any)["kind"]) != "head-changed" {
		t.Errorf("the new head's subject access lists emails naming them: %v, want the head before's", got["mentioned_in"])
	}
	h.publish("hq", events.OrganisationContactsChangedV1{OrganisationID: "hq", Leader: events.Person{Erased: true}, NominatedLead: lead})
	h.publish("person-kim", events.PersonErasedV1{Subject: personal.Subject(kim.Email)})
	forgotten(t, h, "the new head's erasure", kim.Email, kim.Name)
}

// forgotten waits until notify's database and streams hold none of traces, in any
// case, after what (an erasure, in words).
func forgotten(t *testing.T, h *harness, after string, traces ...string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		text := testenv.Readable(t, h.svcs[0].DB, h.env.JS)
		for _, trace := range traces {
			if i := strings.Index(text, strings.ToLower(trace)); i >= 0 {
				return fmt.Errorf("after %s notify's database still holds %q: …%s…", after, trace, text[max(0, i-200):min(len(text), i+100)])
			}
		}
		return nil
	})
}
