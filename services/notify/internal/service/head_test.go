package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
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
