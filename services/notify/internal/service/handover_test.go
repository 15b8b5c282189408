package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// notHandOvers are the emails among msgs other than a hand-over's.
func notHandOvers(msgs []received) []received {
	var out []received
	for _, m := range msgs {
		if named, replaced := handOvers([]received{m}); len(named)+len(replaced) == 0 {
			out = append(out, m)
		}
	}
	return out
}

// handOvers are the hand-over emails among msgs: to the lead named, and to the lead
// before them.
func handOvers(msgs []received) (named, replaced []received) {
	for _, m := range msgs {
		switch {
		case strings.Contains(m.Subject, "you are now"):
			named = append(named, m)
		case strings.Contains(m.Subject, "nominated lead is now"):
			replaced = append(replaced, m)
		}
	}
	return named, replaced
}

// A lead handed over is told to the lead named (what it means, how they sign in, what
// is due next) and to the lead before them (to whom, at which address), once each
// however often the event arrives. The announcement, and the same lead named again in
// other capitals, send neither.
func TestANewLeadIsToldTheyLeadAndThePreviousLeadIsToo(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("ho", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	if named, replaced := handOvers(mailOf(h, "ho", 0)); len(named)+len(replaced) != 0 {
		t.Fatalf("the announcement sent hand-over emails: %v %v", subjects(named), subjects(replaced))
	}
	same := events.Person{Name: lead.Name, Email: strings.ToUpper(lead.Email)}
	h.publish("ho", events.OrganisationContactsChangedV1{OrganisationID: "ho", Leader: leader, NominatedLead: same})
	h.waitFor("ho")
	if got := mailOf(h, "ho", 0); len(got) != 0 {
		t.Fatalf("the same lead named again, in capitals, was sent %v", subjects(got))
	}

	h.clock.Set(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	h.publish("ho", events.OrganisationContactsChangedV1{OrganisationID: "ho", Leader: leader, NominatedLead: chris})
	h.waitFor("ho")
	h.redeliver()
	h.redeliver()
	named, replaced := handOvers(mailOf(h, "ho", 0))
	if len(named) != 1 || len(replaced) != 1 || len(mailOf(h, "ho", 0)) != 2 {
		t.Fatalf("after the hand-over, heard three times: %v, want one email to each lead", subjects(mailOf(h, "ho", 0)))
	}
	if got := strings.Join(named[0].To, ","); got != chris.Email {
		t.Errorf("the new lead's email went to %s", got)
	}
	checkSays(t, named[0], "Technician Commitment: you are now Uni ho's nominated lead",
		"Dear Chris Lee,",
		"You are now Uni ho's nominated lead for the Technician Commitment, in place of Sam Patel.",
		"you receive the Technician Commitment's deadline reminders for Uni ho",
		"you sign in to the Technician Commitment portal with this address, c.lee@exampleton.ac.uk",
		"Uni ho's next obligation is the self-assessment and action plan of cycle 1, due on Monday 20 September 2027. Submissions open on Saturday 20 March 2027.",
		"Sam Patel, the previous nominated lead, is being told by email",
		"https://portal.example.org/obligations/ho")
	if got := strings.Join(replaced[0].To, ","); !strings.EqualFold(got, lead.Email) {
		t.Errorf("the previous lead's email went to %s", got)
	}
	checkSays(t, replaced[0], "Technician Commitment: Uni ho's nominated lead is now Chris Lee",
		"Dear Sam Patel,",
		"Uni ho's nominated lead for the Technician Commitment is now Chris Lee, at c.lee@exampleton.ac.uk, in place of you.",
		"you no longer do", "please tell ITSS")
}

// A lead named after the one before was erased is told they lead, and nobody else is
// written to.
func TestANewLeadAfterAnErasedOneIsToldAlone(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("he", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	h.publish("he", events.OrganisationContactsChangedV1{OrganisationID: "he", Leader: leader, NominatedLead: events.Person{Erased: true}})
	nina := events.Person{Name: "Nina New", Email: "nina@he.ac.uk"}
	h.publish("he", events.OrganisationContactsChangedV1{OrganisationID: "he", Leader: leader, NominatedLead: nina})
	h.waitFor("he")
	got := mailOf(h, "he", 0)
	if len(got) != 1 || strings.Join(got[0].To, ",") != nina.Email {
		t.Fatalf("after naming a lead in place of an erased one: %v, want one email, to the new lead", subjects(got))
	}
	checkSays(t, got[0], "You are now Uni he's nominated lead for the Technician Commitment.")
	if strings.Contains(got[0].Text, "previous nominated lead") {
		t.Errorf("the new lead is told an erased lead is being written to:\n%s", got[0].Text)
	}
}
