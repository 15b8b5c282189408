package service_test

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// notHandOvers are the emails among msgs other than a hand-over's.
func notHandOvers(msgs []received) []received {
	var out []received
	for _, m := range msgs {
		if named, replaced, head := handOvers([]received{m}); len(named)+len(replaced)+len(head) == 0 {
			out = append(out, m)
		}
	}
	return out
}

// handOvers are the hand-over emails among msgs: to the lead named, to the lead
// before them, and to the head of the institution.
func handOvers(msgs []received) (named, replaced, head []received) {
	for _, m := range msgs {
		switch {
		case strings.Contains(m.Subject, "as the head of"): // a change of head (head_test.go)
		case strings.Contains(m.Subject, "you are now"):
			named = append(named, m)
		case strings.Contains(m.Subject, "you are no longer"), strings.Contains(m.Subject, "your address as"):
			replaced = append(replaced, m)
		case strings.Contains(m.Subject, "has a new nominated lead"), strings.Contains(m.Subject, "has a new address"):
			head = append(head, m)
		}
	}
	return named, replaced, head
}

// A lead handed over is told to the lead named (what it means, how they sign in, what
// is due next), to the lead before them (to whom, at which address) and to the head
// (TestTheHeadIsToldOfEachChangeOfLeadOnce), once each however often the event
// arrives. The announcement, and the same lead named again in other capitals, send
// none of them.
func TestANewLeadIsToldTheyLeadAndThePreviousLeadIsToo(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("ho", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	if named, replaced, head := handOvers(mailOf(h, "ho", 0)); len(named)+len(replaced)+len(head) != 0 {
		t.Fatalf("the announcement sent hand-over emails: %v %v %v", subjects(named), subjects(replaced), subjects(head))
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
	named, replaced, head := handOvers(mailOf(h, "ho", 0))
	if len(named) != 1 || len(replaced) != 1 || len(head) != 1 || len(mailOf(h, "ho", 0)) != 3 {
		t.Fatalf("after the hand-over, heard three times: %v, want one email to each lead and one to the head", subjects(mailOf(h, "ho", 0)))
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
	checkSays(t, replaced[0], "Technician Commitment: you are no longer Uni ho's nominated lead",
		"Dear Sam Patel,",
		"Uni ho's nominated lead for the Technician Commitment is now Chris Lee, at c.lee@exampleton.ac.uk, in place of you.",
		"you no longer do", "please tell ITSS")
}

// A lead named after the one before was erased is told they lead, and no lead before
// them is written to or named: not to the new lead, nor to the head, who is told of
// the new lead alone.
func TestANewLeadAfterAnErasedOneIsToldAlone(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("he", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	h.publish("he", events.OrganisationContactsChangedV1{OrganisationID: "he", Leader: leader, NominatedLead: events.Person{Erased: true}})
	nina := events.Person{Name: "Nina New", Email: "nina@he.ac.uk"}
	h.publish("he", events.OrganisationContactsChangedV1{OrganisationID: "he", Leader: leader, NominatedLead: nina})
	h.waitFor("he")
	named, replaced, head := handOvers(mailOf(h, "he", 0))
	if len(named) != 1 || len(replaced) != 0 || strings.Join(named[0].To, ",") != nina.Email {
		t.Fatalf("after naming a lead in place of an erased one: %v, want one email to a lead, the new one", subjects(mailOf(h, "he", 0)))
	}
	checkSays(t, named[0], "You are now Uni he's nominated lead for the Technician Commitment.")
	if strings.Contains(named[0].Text, "previous nominated lead") {
		t.Errorf("the new lead is told an erased lead is being written to:\n%s", named[0].Text)
	}
	if len(head) != 1 || strings.Join(head[0].To, ",") != leader.Email {
		t.Fatalf("the head got %v, want one email", subjects(head))
	}
	checkSays(t, head[0], "Uni he's nominated lead for the Technician Commitment is now Nina New, at nina@he.ac.uk.", "We have emailed them to tell them.")
	if strings.Contains(head[0].Text, "in place of") {
		t.Errorf("the head is told of a lead before, erased:\n%s", head[0].Text)
	}
}

// The head of the institution, who signed the Commitment, is told of each change of
// its nominated lead, once however often the event arrives: who the new lead is and at
// which address, whom they replace, that the reminders now go to them, and to tell
// ITSS if it was not meant (a session misused, an address mistyped). A head who is
// the new or the old lead has that hand-over's email already and is not told twice; a
// head erased, whether the event says so or notify's record of erasures does, is not
// written to.
func TestTheHeadIsToldOfEachChangeOfLeadOnce(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("hd", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	toHead := func() (told, named, replaced []received) {
		t.Helper()
		for _, m := range mailOf(h, "hd", 0) {
			if strings.EqualFold(strings.Join(m.To, ","), leader.Email) {
				n, r, hd := handOvers([]received{m})
				told, named, replaced = append(told, hd...), append(named, n...), append(replaced, r...)
			}
		}
		return told, named, replaced
	}
	if told, _, _ := toHead(); len(told) != 0 {
		t.Fatalf("the announcement told the head %v", subjects(told))
	}

	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	h.publish("hd", events.OrganisationContactsChangedV1{OrganisationID: "hd", Leader: leader, NominatedLead: chris})
	h.waitFor("hd")
	h.redeliver()
	h.redeliver()
	told, _, _ := toHead()
	if _, _, all := handOvers(mailOf(h, "hd", 0)); len(told) != 1 || len(all) != 1 {
		t.Fatalf("after a hand-over heard three times the head was told %v (of %v), want once", subjects(told), subjects(all))
	}
	checkSays(t, told[0], "Technician Commitment: Uni hd has a new nominated lead",
		"Dear Prof. Jane Smith,",
		"Uni hd's nominated lead for the Technician Commitment is now Chris Lee, at c.lee@exampleton.ac.uk, in place of Sam Patel.",
		"the deadline reminders for Uni hd now go to them",
		"We have emailed them, and Sam Patel, to tell them.",
		"You are told as the head of Uni hd.",
		"If this was not meant, or that address is not theirs, please tell ITSS.")

	// The head names themselves lead (their address in other capitals): told they lead.
	self := events.Person{Name: leader.Name, Email: strings.ToUpper(leader.Email)}
	h.publish("hd", events.OrganisationContactsChangedV1{OrganisationID: "hd", Leader: leader, NominatedLead: self})
	h.waitFor("hd")
	// And hands it on: told they no longer lead.
	dana := events.Person{Name: "Dana Next", Email: "dana@exampleton.ac.uk"}
	h.publish("hd", events.OrganisationContactsChangedV1{OrganisationID: "hd", Leader: leader, NominatedLead: dana})
	h.waitFor("hd")
	if told, named, replaced := toHead(); len(told) != 1 || len(named) != 1 || len(replaced) != 1 {
		t.Fatalf("a head who became the lead and handed it on got %v %v %v, want the lead's two emails and only the first change's", subjects(told), subjects(named), subjects(replaced))
	}

	// A head erased: the signatory's event says so.
	eve := events.Person{Name: "Eve Lead", Email: "eve@exampleton.ac.uk"}
	h.publish("hd", events.OrganisationContactsChangedV1{OrganisationID: "hd", Leader: events.Person{Erased: true}, NominatedLead: eve})
	h.waitFor("hd")
	// A head erased while an event naming them was on its way (recorded before the
	// erasure, taken in after it): notify's record says so.
	hal := events.Person{Name: "Hal Head", Email: "hal@exampleton.ac.uk"}
	h.publish("hd", events.OrganisationContactsChangedV1{OrganisationID: "hd", Leader: hal, NominatedLead: eve})
	onItsWay := time.Now()
	h.waitFor("hd") // named head before the erasure, Hal is told so (head-changed)
	erasedFrom := len(h.box.all())
	h.publish("person-hal", events.PersonErasedV1{Subject: personal.Subject(hal.Email)})
	h.waitErased(hal.Email)
	fay := events.Person{Name: "Fay Lead", Email: "fay@exampleton.ac.uk"}
	h.publishAt("hd", events.OrganisationContactsChangedV1{OrganisationID: "hd", Leader: hal, NominatedLead: fay}, onItsWay)
	h.waitFor("hd")
	named, _, told := handOvers(mailOf(h, "hd", 0))
	if len(told) != 1 || len(named) != 5 {
		t.Errorf("after five hand-overs the heads were told %v (leads named: %v), want only the first change told", subjects(told), subjects(named))
	}
	for _, m := range h.box.all()[erasedFrom:] {
		if strings.Contains(strings.Join(m.To, ","), hal.Email) {
			t.Errorf("an erased head was sent %q", m.Subject)
		}
	}
}

// The email to a new lead says what is due next as of the day it goes: retried after
// the relay refused it, or resent by ops, it says the submissions are open once they
// are, or that the obligation is overdue once it is, not what was true when the lead
// was named. Once they no longer lead the organisation, its resend is refused.
func TestTheNewLeadsEmailSaysWhatIsDueNextOnTheDayItGoes(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("nl", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	ops := h.http.Token(auth.RoleOps, "")
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	h.clock.Set(time.Date(2027, 3, 15, 9, 0, 0, 0, time.UTC))
	h.box.tryLater(chris.Email)
	h.publish("nl", events.OrganisationContactsChangedV1{OrganisationID: "nl", Leader: leader, NominatedLead: chris})
	h.waitFor("nl")
	testenv.Eventually(t, 10*time.Second, func() error {
		failed := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=nl&status=failed", ops, nil)).JSON(t)["items"].([]any)
		if len(failed) != 1 {
			return fmt.Errorf("the new lead's refused attempt is not recorded yet: %v", failed)
		}
		return nil
	})
	h.box.tryLater()

	const next = "Uni nl's next obligation is the self-assessment and action plan of cycle 1, due on Monday 20 September 2027."
	h.sweepOn(civil.New(2027, 3, 22)) // the window opened on 20 March
	named, _, _ := handOvers(mailTo(h, chris.Email, 0))
	if len(named) != 1 {
		t.Fatalf("Chris received %v, want the retried email naming them lead", subjects(mailTo(h, chris.Email, 0)))
	}
	checkSays(t, named[0], "You are now Uni nl's nominated lead for the Technician Commitment, in place of Sam Patel.", next+" Submissions are open now.")
	if strings.Contains(named[0].Text, "Submissions open on") {
		t.Errorf("the retry, after the window opened, says it opens later:\n%s", named[0].Text)
	}

	id := deliveryOf(h, "nl", "lead-named", chris.Email)
	h.clock.Set(time.Date(2027, 9, 25, 9, 0, 0, 0, time.UTC))
	h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil))
	named, _, _ = handOvers(mailTo(h, chris.Email, 0))
	if len(named) != 2 {
		t.Fatalf("Chris received %v, want the resent email naming them lead", subjects(mailTo(h, chris.Email, 0)))
	}
	checkSays(t, named[1], "Uni nl's next obligation is the self-assessment and action plan of cycle 1, which was due on Monday 20 September 2027 and is overdue.")

	h.publish("nl", events.OrganisationContactsChangedV1{OrganisationID: "nl", Leader: leader, NominatedLead: events.Person{Name: "Dee Next", Email: "dee@exampleton.ac.uk"}})
	h.waitFor("nl")
	before := len(h.box.all())
	res := h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil)
	if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "no longer") {
		t.Errorf("the resend to Chris, no longer the lead: %d %s, want 409 saying why", res.Status, res.Body)
	}
	if sent := h.box.all()[before:]; len(sent) != 0 {
		t.Errorf("the refused resend sent %q", subjects(sent))
	}
}

// A name in a right-to-left script keeps its own order among the English words of an
// email's HTML part: each person's and the organisation's name stands in a bdi of its
// own, as on the portal's pages. Unisolated, "Dear דוד "Dudi" כהן," showed its words
// left to right, so that a reader of Hebrew read the name back to front.
func TestNamesInEmailsAreIsolatedInTheirHTML(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("rtl", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	dudi := events.Person{Name: `דוד "Dudi" כהן`, Email: "d.cohen@exampleton.ac.uk"}
	h.publish("rtl", events.OrganisationContactsChangedV1{OrganisationID: "rtl", Leader: leader, NominatedLead: dudi})
	h.waitFor("rtl")
	var named, replaced, head []received
	testenv.Eventually(t, 10*time.Second, func() error {
		if named, replaced, head = handOvers(mailOf(h, "rtl", 0)); len(named)+len(replaced)+len(head) != 3 {
			return fmt.Errorf("hand-over emails so far: %v", subjects(mailOf(h, "rtl", 0)))
		}
		return nil
	})
	isolated := func(s string) string { return "<bdi>" + html.EscapeString(s) + "</bdi>" }
	for _, c := range []struct {
		m    received
		want []string
	}{
		{named[0], []string{"Dear " + isolated(dudi.Name) + ",", "You are now " + isolated("Uni rtl") + "&#39;s nominated lead", "in place of " + isolated(lead.Name) + "."}},
		{replaced[0], []string{"Dear " + isolated(lead.Name) + ",", "is now " + isolated(dudi.Name) + ", at"}},
		{head[0], []string{"Dear " + isolated(leader.Name) + ",", "is now " + isolated(dudi.Name) + ", at", "in place of " + isolated(lead.Name) + "."}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.m.HTMLBody, w) {
				t.Errorf("the HTML of %q does not hold %q:\n%s", c.m.Subject, w, c.m.HTMLBody)
			}
		}
		if strings.Contains(c.m.Text, "bdi") {
			t.Errorf("the plain text of %q holds markup:\n%s", c.m.Subject, c.m.Text)
		}
	}
}

// A lead whose address is corrected (the same name, a new address) is not told they
// took their own place: the hand-over's emails say the address changed, to the new
// address (with the API tokens made with the earlier one, which the portal revokes),
// to the earlier one, and to the head. Before, the lead read "You are now Uni hk's
// nominated lead ..., in place of Sam Patel" and "Sam Patel, the previous nominated
// lead, is being told by email that the role has passed to you", and the head "is
// now Sam Patel, at ..., in place of Sam Patel".
func TestALeadWhoseAddressIsCorrectedIsToldTheAddressChanged(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("hk", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	corrected := events.Person{Name: lead.Name, Email: "s.patel@exampleton.ac.uk"}
	h.publish("hk", events.OrganisationContactsChangedV1{OrganisationID: "hk", Leader: leader, NominatedLead: corrected})
	h.waitFor("hk")
	named, replaced, head := handOvers(mailOf(h, "hk", 0))
	if len(named) != 1 || len(replaced) != 1 || len(head) != 1 {
		t.Fatalf("after the lead's address was corrected: %v, want one email to each address and one to the head", subjects(mailOf(h, "hk", 0)))
	}
	for _, m := range append(append(named, replaced...), head...) {
		for _, wrong := range []string{"in place of Sam", "in place of you", "previous nominated lead", "has passed to you"} {
			if strings.Contains(m.Subject+"\n"+m.Text, wrong) {
				t.Errorf("email %q to %v says %q of a corrected address:\n%s", m.Subject, m.To, wrong, m.Text)
			}
		}
	}
	checkSays(t, named[0], "Technician Commitment: you are now Uni hk's nominated lead at this address",
		"The address the Technician Commitment holds for you as Uni hk's nominated lead is now this one, s.patel@exampleton.ac.uk, in place of lead@exampleton.ac.uk.",
		"Uni hk's next obligation is",
		"Any API token you made for Uni hk's tools with your earlier address has stopped working",
		"https://portal.example.org/obligations/hk")
	checkSays(t, replaced[0], "Technician Commitment: your address as Uni hk's nominated lead has changed",
		"The address the Technician Commitment holds for you as Uni hk's nominated lead is now s.patel@exampleton.ac.uk, in place of this one.",
		"this address no longer does", "please tell ITSS")
	checkSays(t, head[0], "Technician Commitment: Uni hk's nominated lead has a new address",
		"Uni hk's nominated lead for the Technician Commitment, Sam Patel, now has the address s.patel@exampleton.ac.uk, in place of lead@exampleton.ac.uk.",
		"We have emailed both addresses to tell them.", "please tell ITSS")
}
