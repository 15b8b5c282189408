package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// The withdrawal's confirmation told every reader that the organisation "is no
// longer listed in the Technician Commitment's public directory", also when it never
// was: one withdrawn while its announcement was still ahead (a withdrawal today
// calls it off), or before it was announced at all (at the form). And the head read
// it with nothing saying why it came to them, who never sign in and are written to
// only as the head. The confirmation now says what became of the listing, and the
// head's says they are told as the head.
func TestAWithdrawalSaysWhatBecameOfTheListingAndTellsTheHeadWhy(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 19, 8, 0, 0, 0, time.UTC))
	today := civil.New(2026, 3, 19)
	withdraw := func(org string) (toLead, toHead received) {
		t.Helper()
		leadBefore, headBefore := len(mailTo(h, lead.Email, 0)), len(mailTo(h, leader.Email, 0))
		h.publish(org, events.OrganisationWithdrawnV1{OrganisationID: org, WithdrawnOn: today, Reason: "merged", InitiatedBy: "organisation"})
		h.waitFor(org)
		l, hd := mailTo(h, lead.Email, leadBefore), mailTo(h, leader.Email, headBefore)
		if len(l) != 1 || len(hd) != 1 {
			t.Fatalf("the withdrawal of %s sent the lead %q and the head %q, want one confirmation each", org, subjects(l), subjects(hd))
		}
		return l[0], hd[0]
	}

	// Listed: announced before today.
	h.onboard("wl", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	l, hd := withdraw("wl")
	checkSays(t, l, "Uni wl is no longer listed in the Technician Commitment's public directory, and nothing more is due from it for the Commitment.")
	checkSays(t, hd, "Uni wl is no longer listed in the Technician Commitment's public directory",
		"You are told as the head of Uni wl.")
	if strings.Contains(l.Text, "told as the head") {
		t.Errorf("the lead's confirmation speaks to them as the head:\n%s", l.Text)
	}

	// Announced for a day ahead, withdrawn today: it was never listed.
	h.publish("wa", events.OrganisationEnquiryReceivedV1{OrganisationID: "wa", Name: "Uni wa", Kind: "signatory"})
	h.publish("wa", events.OrganisationFormReceivedV1{OrganisationID: "wa", Leader: leader, NominatedLead: lead})
	h.publish("wa", events.OrganisationAnnouncedV1{OrganisationID: "wa", Name: "Uni wa", Kind: "signatory", AnnouncedOn: civil.New(2026, 5, 4), NominatedLead: lead, Leader: leader})
	h.publish("wa", events.ObligationScheduledV1{OrganisationID: "wa", ObligationID: "wa-c1", Kind: "self_assessment_and_action_plan", Cycle: 1, WindowOpens: civil.New(2027, 5, 4), Due: civil.New(2027, 11, 4)})
	h.waitFor("wa")
	for _, m := range func() []received { l, hd := withdraw("wa"); return []received{l, hd} }() {
		if strings.Contains(m.Text, "no longer listed") {
			t.Errorf("the confirmation to %v says an organisation whose announcement was ahead is no longer listed:\n%s", m.To, m.Text)
		}
		checkSays(t, m, "Its announcement, planned for Monday 4 May 2026, will not take place, and Uni wa will not be listed in the Technician Commitment's public directory. Nothing is due from it for the Commitment.")
	}

	// Withdrawn at the form, never announced: never listed.
	h.publish("wf", events.OrganisationEnquiryReceivedV1{OrganisationID: "wf", Name: "Uni wf", Kind: "signatory"})
	h.publish("wf", events.OrganisationFormReceivedV1{OrganisationID: "wf", Leader: leader, NominatedLead: lead})
	h.waitFor("wf")
	for _, m := range func() []received { l, hd := withdraw("wf"); return []received{l, hd} }() {
		if strings.Contains(m.Text, "no longer listed") {
			t.Errorf("the confirmation to %v says an organisation never announced is no longer listed:\n%s", m.To, m.Text)
		}
		checkSays(t, m, "Uni wf was not announced, and will not be listed in the Technician Commitment's public directory. Nothing is due from it for the Commitment.")
	}
}

// A supporter's head was told, at a change of its lead, that the lead signs in "to
// make its tokens for the Technician Collaboration Fund's API", and its lead whose
// address was corrected that their API tokens had stopped and to make a new one on
// the API tokens page: the fund takes no application from a supporter, and the
// portal offers a supporter no API tokens. Their emails now say neither.
func TestASupportersHandOverSpeaksOfNoFundTokens(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	for _, org := range []string{"sh", "sc"} {
		h.publish(org, events.OrganisationEnquiryReceivedV1{OrganisationID: org, Name: "Uni " + org, Kind: "supporter"})
		h.publish(org, events.OrganisationFormReceivedV1{OrganisationID: org, Leader: leader, NominatedLead: lead})
		h.publish(org, events.OrganisationAnnouncedV1{OrganisationID: org, Name: "Uni " + org, Kind: "supporter", AnnouncedOn: civil.New(2026, 3, 20), NominatedLead: lead, Leader: leader})
		h.publish(org, events.ObligationScheduledV1{OrganisationID: org, ObligationID: org + "-ap", Kind: "action_plan", WindowOpens: civil.New(2026, 9, 20), Due: civil.New(2027, 3, 20)})
	}
	h.waitFor("sc")
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	h.publish("sh", events.OrganisationContactsChangedV1{OrganisationID: "sh", Leader: leader, NominatedLead: chris})
	h.publish("sc", events.OrganisationContactsChangedV1{OrganisationID: "sc", Leader: leader, NominatedLead: events.Person{Name: lead.Name, Email: "s.patel@exampleton.ac.uk"}})
	h.waitFor("sc")
	for _, org := range []string{"sh", "sc"} {
		named, replaced, head := handOvers(mailOf(h, org, 0))
		if len(named) != 1 || len(replaced) != 1 || len(head) != 1 {
			t.Fatalf("after %s's lead changed: %v, want one email to each lead and one to the head", org, subjects(mailOf(h, org, 0)))
		}
		for _, m := range append(append(named, replaced...), head...) {
			checkSays(t, m, "Uni "+org)
			for _, wrong := range []string{"Collaboration Fund", "API", "token"} {
				if strings.Contains(m.Text, wrong) {
					t.Errorf("email %q to %v, of a supporter, says %q:\n%s", m.Subject, m.To, wrong, m.Text)
				}
			}
		}
	}
	_, _, head := handOvers(mailOf(h, "sh", 0))
	checkSays(t, head[0], "The nominated lead acts for Uni sh with ITSS: the deadline reminders for Uni sh now go to them, and they sign in to the Technician Commitment portal with that address to submit its obligations.")
}

// heads are the emails of a change of head.
func heads(msgs []received) []received {
	var out []received
	for _, m := range msgs {
		if strings.Contains(m.Subject, "as the head of") || strings.Contains(m.Subject, "recorded as the head of") {
			out = append(out, m)
		}
	}
	return out
}

// The head of institution, who signed the Commitment, is the one the suite tells of
// a change of lead, so that a change not meant (a session misused, an address
// mistyped) reaches someone with the authority to notice it. Yet the head could be
// replaced (by the lead, on the portal's contacts page) and nobody was told: not the
// head before, who heard nothing more, nor the head named, who learnt of the
// Commitment from their first overdue email. Lead and head changed at once told
// only the head just named. Now the head before is told who is recorded in their
// place, at which address, and of a change of lead made with it; the head named is
// told they are recorded as the head, what that brings them and who the lead is;
// an address corrected is told as one; once each, however often the event comes.
func TestAChangeOfHeadIsToldToTheHeadBeforeAndTheHeadNamed(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("hh", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	if got := heads(mailOf(h, "hh", 0)); len(got) != 0 {
		t.Fatalf("the announcement told %v", subjects(got))
	}
	kim := events.Person{Name: "Prof. Kim Ode", Title: "Vice-Chancellor", Email: "k.ode@exampleton.ac.uk"}
	h.publish("hh", events.OrganisationContactsChangedV1{OrganisationID: "hh", Leader: kim, NominatedLead: lead})
	h.waitFor("hh")
	h.redeliver()
	before, named := mailTo(h, leader.Email, 0), mailTo(h, kim.Email, 0)
	if len(before) != 1 || len(named) != 1 {
		t.Fatalf("after a change of head heard twice the head before was sent %q and the head named %q, want one email each", subjects(before), subjects(named))
	}
	checkSays(t, before[0], "Technician Commitment: you are no longer recorded as the head of Uni hh",
		"Dear Prof. Jane Smith,",
		"Uni hh's head of institution for the Technician Commitment is now recorded as Prof. Kim Ode, at k.ode@exampleton.ac.uk, in place of you.",
		"ITSS now writes to them, not to you, when Uni hh's obligations fall overdue, when its nominated lead changes and if it withdraws.",
		"If this was not meant, or that address is not theirs, please tell ITSS.")
	checkSays(t, named[0], "Technician Commitment: you are now recorded as the head of Uni hh",
		"Dear Prof. Kim Ode,",
		"You are now recorded as the head of Uni hh for the Technician Commitment, in place of Prof. Jane Smith.",
		"ITSS writes to you, as its head, when Uni hh's obligations fall overdue, when its nominated lead changes and if it withdraws. You do not need to sign in anywhere.",
		"Uni hh's nominated lead, Sam Patel, at lead@exampleton.ac.uk, acts for it with ITSS: they receive the deadline reminders and submit its obligations in the Technician Commitment portal.",
		"If this is not right, please tell ITSS.")
	if strings.Contains(named[0].Text, "/obligations/") {
		t.Errorf("the head named is linked to a portal page they cannot open:\n%s", named[0].Text)
	}

	// Lead and head changed at once: the head before hears of both.
	dana := events.Person{Name: "Dana Next", Email: "dana@exampleton.ac.uk"}
	lee := events.Person{Name: "Prof. Lee Vance", Title: "Vice-Chancellor", Email: "l.vance@exampleton.ac.uk"}
	h.publish("hh", events.OrganisationContactsChangedV1{OrganisationID: "hh", Leader: lee, NominatedLead: dana})
	h.waitFor("hh")
	got := mailTo(h, kim.Email, 1)
	if len(got) != 1 {
		t.Fatalf("after lead and head changed at once the head before was sent %q, want one email", subjects(got))
	}
	checkSays(t, got[0], "Technician Commitment: you are no longer recorded as the head of Uni hh",
		"Uni hh's head of institution for the Technician Commitment is now recorded as Prof. Lee Vance, at l.vance@exampleton.ac.uk, in place of you.",
		"With the same change, Uni hh's nominated lead became Dana Next, at dana@exampleton.ac.uk, in place of Sam Patel.")
	// Kim, no longer the head, is not told again that they are.
	n := len(h.box.all())
	ops := h.http.Token(auth.RoleOps, "")
	var id string
	for _, it := range h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=hh", ops, nil)).JSON(t)["items"].([]any) {
		if d := it.(map[string]any); d["kind"] == "head-changed" && strings.Contains(fmt.Sprint(d["subject"]), "you are now recorded") && strings.Contains(fmt.Sprint(d["to"]), kim.Email) {
			id = d["id"].(string)
		}
	}
	if id == "" {
		t.Fatal("the email telling Kim they are the head is not in the log")
	}
	res := h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil)
	if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "no longer recorded as the head") {
		t.Errorf("the resend to Kim, no longer the head: %d %s, want 409 saying why", res.Status, res.Body)
	}
	if sent := h.box.all()[n:]; len(sent) != 0 {
		t.Errorf("the refused resend sent %q", subjects(sent))
	}
	if got := heads(mailTo(h, lee.Email, 0)); len(got) != 1 {
		t.Errorf("the head named with a new lead was sent %q, want to be told they are the head", subjects(mailTo(h, lee.Email, 0)))
	} else {
		checkSays(t, got[0], "Uni hh's nominated lead, Dana Next, at dana@exampleton.ac.uk, acts for it with ITSS")
	}

	// The head's address corrected: told as such to both addresses.
	fixed := events.Person{Name: lee.Name, Title: lee.Title, Email: "lee.vance@exampleton.ac.uk"}
	h.publish("hh", events.OrganisationContactsChangedV1{OrganisationID: "hh", Leader: fixed, NominatedLead: dana})
	h.waitFor("hh")
	was, now := heads(mailTo(h, lee.Email, 0)), mailTo(h, fixed.Email, 0)
	if len(was) != 2 || len(now) != 1 {
		t.Fatalf("after the head's address was corrected the earlier address was sent %q and the new one %q", subjects(mailTo(h, lee.Email, 0)), subjects(now))
	}
	checkSays(t, was[1], "Technician Commitment: your address as the head of Uni hh has changed",
		"The address the Technician Commitment holds for you as the head of Uni hh is now lee.vance@exampleton.ac.uk, in place of this one.")
	checkSays(t, now[0], "Technician Commitment: you are now recorded as the head of Uni hh at this address",
		"The address the Technician Commitment holds for you as the head of Uni hh is now this one, lee.vance@exampleton.ac.uk, in place of l.vance@exampleton.ac.uk.",
		"Uni hh's next obligation is the self-assessment and action plan of cycle 1, due on Monday 20 September 2027.")
	for _, m := range append(was[1:], now...) {
		if strings.Contains(m.Text, "in place of you") || strings.Contains(m.Text, "in place of Prof. Lee Vance") {
			t.Errorf("email %q to %v tells a corrected address as another head:\n%s", m.Subject, m.To, m.Text)
		}
	}

	// The head's name or title corrected, at the same address, is no change of head.
	n = len(h.box.all())
	h.publish("hh", events.OrganisationContactsChangedV1{OrganisationID: "hh", Leader: events.Person{Name: "Professor Lee Vance", Title: "President", Email: strings.ToUpper(fixed.Email)}, NominatedLead: dana})
	h.waitFor("hh")
	if got := h.box.all()[n:]; len(got) != 0 {
		t.Errorf("a head's name corrected at the same address sent %q", subjects(got))
	}
}

// A lead who is the head too, and stays the lead when another is named head, is told
// they remain the lead, never that ITSS writes "not to you": their reminders go on.
// Named head as the lead, they are told they are both.
func TestALeadWhoWasTheHeadTooIsToldTheyRemainTheLead(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("hl", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	h.publish("hl", events.OrganisationContactsChangedV1{OrganisationID: "hl", Leader: lead, NominatedLead: lead})
	h.waitFor("hl")
	got := heads(mailTo(h, lead.Email, 0))
	if len(got) != 1 {
		t.Fatalf("the lead named head too was sent %q, want to be told they are the head", subjects(mailTo(h, lead.Email, 0)))
	}
	checkSays(t, got[0], "You are now recorded as the head of Uni hl for the Technician Commitment, in place of Prof. Jane Smith.",
		"You are also Uni hl's nominated lead: you receive the deadline reminders and submit its obligations in the Technician Commitment portal.")
	kim := events.Person{Name: "Prof. Kim Ode", Title: "Vice-Chancellor", Email: "k.ode@exampleton.ac.uk"}
	h.publish("hl", events.OrganisationContactsChangedV1{OrganisationID: "hl", Leader: kim, NominatedLead: lead})
	h.waitFor("hl")
	got = heads(mailTo(h, lead.Email, 0))
	if len(got) != 2 {
		t.Fatalf("the lead, head no longer, was sent %q, want to be told", subjects(mailTo(h, lead.Email, 0)))
	}
	checkSays(t, got[1], "Technician Commitment: you are no longer recorded as the head of Uni hl",
		"ITSS now writes to them as its head when Uni hl's obligations fall overdue, when its nominated lead changes and if it withdraws. You remain Uni hl's nominated lead, and receive its deadline reminders as before.")
	if strings.Contains(got[1].Text, "not to you") {
		t.Errorf("the lead, who is still reminded, is told ITSS writes not to them:\n%s", got[1].Text)
	}
}

// A head named after the last overdue step had gone (30 days after the due date) was
// never told the obligation was overdue: the ladder told the head before, and has no
// step left, though a lead named then is told (tellLeadNamed). The head named is told
// what the organisation owes next, as the lead named is, overdue or not.
func TestTheHeadNamedIsToldWhatIsDueNext(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("hn", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	h.onboard("ho", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	h.sweepOn(civil.New(2027, 1, 4)) // hn 31 days overdue: the head before is told
	kim := events.Person{Name: "Prof. Kim Ode", Title: "Vice-Chancellor", Email: "k.ode@exampleton.ac.uk"}
	for _, org := range []string{"hn", "ho"} {
		h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: kim, NominatedLead: lead})
	}
	h.waitFor("ho")
	got := heads(mailTo(h, kim.Email, 0))
	if len(got) != 2 {
		t.Fatalf("the head named of two organisations was sent %q, want to be told of each", subjects(mailTo(h, kim.Email, 0)))
	}
	for _, m := range got {
		switch {
		case strings.Contains(m.Subject, "Uni hn"):
			checkSays(t, m, "Uni hn's next obligation is the self-assessment and action plan of cycle 1, which was due on Friday 4 December 2026 and is overdue.")
		default:
			checkSays(t, m, "Uni ho's next obligation is the self-assessment and action plan of cycle 1, due on Monday 20 September 2027. Submissions open on Saturday 20 March 2027.")
			if strings.Contains(m.Text, "Uni hn") {
				t.Errorf("Uni ho's email to the head speaks of Uni hn:\n%s", m.Text)
			}
		}
	}
}

// The email to a head named, retried after the relay refused it, says what is due
// next as of the day it goes: the submissions open once they are.
func TestTheHeadNamedsEmailSaysWhatIsDueNextOnTheDayItGoes(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("hr", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	ops := h.http.Token(auth.RoleOps, "")
	kim := events.Person{Name: "Prof. Kim Ode", Title: "Vice-Chancellor", Email: "k.ode@exampleton.ac.uk"}
	h.clock.Set(time.Date(2027, 3, 15, 9, 0, 0, 0, time.UTC))
	h.box.tryLater(kim.Email)
	h.publish("hr", events.OrganisationContactsChangedV1{OrganisationID: "hr", Leader: kim, NominatedLead: lead})
	h.waitFor("hr")
	testenv.Eventually(t, 10*time.Second, func() error {
		failed := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=hr&status=failed", ops, nil)).JSON(t)["items"].([]any)
		if len(failed) != 1 {
			return fmt.Errorf("the head named's refused attempt is not recorded yet: %v", failed)
		}
		return nil
	})
	h.box.tryLater()
	h.sweepOn(civil.New(2027, 3, 22)) // the window opened on 20 March
	got := heads(mailTo(h, kim.Email, 0))
	if len(got) != 1 {
		t.Fatalf("Kim received %v, want the retried email naming them head", subjects(mailTo(h, kim.Email, 0)))
	}
	checkSays(t, got[0], "Uni hr's next obligation is the self-assessment and action plan of cycle 1, due on Monday 20 September 2027. Submissions are open now.")
	if strings.Contains(got[0].Text, "Submissions open on") {
		t.Errorf("the retry, after the window opened, says it opens later:\n%s", got[0].Text)
	}
}
