package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// The email telling a lead the role passed on, refused by the relay and tried again
// after the lead changed again, named as the lead the one the first change made: the
// person read that someone who no longer led now did, at an address that no longer
// receives anything for the organisation. Tried again so, it names the lead as it
// stands when it goes, and nobody else; with no lead recorded then, it says so.
func TestALeadReplacedEmailRetriedAfterAnotherChangeNamesTheLeadNow(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Title: "Director", Email: "c.lee@exampleton.ac.uk"}
	pat := events.Person{Name: "Pat Quinn", Title: "Provost", Email: "p.quinn@exampleton.ac.uk"}
	cases := []struct {
		name   string
		second events.Person
		says   string
		not    []string
	}{
		{name: "another lead named since", second: pat,
			says: "Uni %s's nominated lead for the Technician Commitment is now Pat Quinn, at p.quinn@exampleton.ac.uk, in place of you.",
			not:  []string{"Chris Lee", "c.lee@"}},
		{name: "the new lead's address corrected since", second: events.Person{Name: "Chris Lee", Email: "chris.lee@exampleton.ac.uk"},
			says: "Uni %s's nominated lead for the Technician Commitment is now Chris Lee, at chris.lee@exampleton.ac.uk, in place of you.",
			not:  []string{"c.lee@"}},
		// The lead removed since (erased at their request, none named since): it
		// named Chris, who no longer led, and said the reminders went to them.
		{name: "no lead recorded since", second: events.Person{Erased: true},
			says: "You are no longer Uni %s's nominated lead for the Technician Commitment, and it has no nominated lead recorded now.",
			not:  []string{"Chris Lee", "c.lee@", "now go to them", "We have emailed them"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("replacedagain%d", i)
			h.onboard(org, civil.New(2026, 6, 14), civil.New(2026, 12, 14))
			from := len(mailTo(h, lead.Email, 0))

			refusedThenChangedAgain(h, org, lead.Email, chris, c.second)

			kind := fmt.Sprintf("Technician Commitment: you are no longer Uni %s's nominated lead", org)
			var got []received
			for _, m := range mailTo(h, lead.Email, from) {
				if strings.HasPrefix(m.Subject, kind) {
					got = append(got, m)
				}
			}
			if len(got) != 1 {
				t.Fatalf("Sam Patel received %q, want the email telling them the role passed on, once (all: %q)", subjects(got), subjects(mailTo(h, lead.Email, from)))
			}
			checkSays(t, got[0], fmt.Sprintf(c.says, org))
			saysNoneOf(t, got[0], c.not, "the retried email says %q, the lead no longer:\n%s")
		})
	}
}

// So for the email telling a lead their address as the lead changed, refused by the
// relay and tried again after the lead changed again: it said that the address held
// for them was the one the first change made, though another lead was named since
// (or none is recorded), or their address was corrected again. Tried again so, it
// says what stands when it goes: the address held for them now, or, once they no
// longer lead, that they do not, and who does, if anyone.
func TestALeadsAddressChangedEmailRetriedAfterAnotherChangeSaysWhatStandsNow(t *testing.T) {
	t.Parallel()
	moved := events.Person{Name: lead.Name, Email: "sam.patel@exampleton.ac.uk"}
	pat := events.Person{Name: "Pat Quinn", Title: "Provost", Email: "p.quinn@exampleton.ac.uk"}
	cases := []struct {
		name    string
		second  events.Person
		subject string
		says    string
		not     []string
	}{
		{name: "another lead named since", second: pat,
			subject: "Technician Commitment: you are no longer Uni %s's nominated lead",
			says:    "Uni %s's nominated lead for the Technician Commitment is now Pat Quinn, at p.quinn@exampleton.ac.uk, in place of you.",
			not:     []string{"sam.patel@", "now go to that address"}},
		{name: "their address corrected again since", second: events.Person{Name: lead.Name, Email: "s.patel@exampleton.ac.uk"},
			subject: "Technician Commitment: your address as Uni %s's nominated lead has changed",
			says:    "The address the Technician Commitment holds for you as Uni %s's nominated lead is now s.patel@exampleton.ac.uk, in place of this one.",
			not:     []string{"sam.patel@"}},
		{name: "no lead recorded since", second: events.Person{Erased: true},
			subject: "Technician Commitment: you are no longer Uni %s's nominated lead",
			says:    "You are no longer Uni %s's nominated lead for the Technician Commitment, and it has no nominated lead recorded now.",
			not:     []string{"sam.patel@", "now go to that address"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("movedagain%d", i)
			h.onboard(org, civil.New(2026, 6, 14), civil.New(2026, 12, 14))
			from := len(mailTo(h, lead.Email, 0))

			refusedThenChangedAgain(h, org, lead.Email, moved, c.second)

			got := mailTo(h, lead.Email, from)
			if len(got) != 1 || got[0].Subject != fmt.Sprintf(c.subject, org) {
				t.Fatalf("Sam Patel's earlier address received %q, want %q once", subjects(got), fmt.Sprintf(c.subject, org))
			}
			checkSays(t, got[0], fmt.Sprintf(c.says, org))
			saysNoneOf(t, got[0], c.not, "the retried email says %q, which no longer stands:\n%s")
		})
	}
}

// The email telling the head of a new lead, refused by the relay and tried again
// after the lead changed again, named as the lead the one the first change made,
// beside the email telling them of the later change: two emails, one untrue. Tried
// again so, it is given up, the later change's email telling them who leads; with no
// lead recorded since (none is told of), it says there is none.
func TestTheHeadsEmailOfANewLeadRetriedAfterAnotherChangeSaysWhatStandsNow(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Title: "Director", Email: "c.lee@exampleton.ac.uk"}
	pat := events.Person{Name: "Pat Quinn", Title: "Provost", Email: "p.quinn@exampleton.ac.uk"}
	cases := []struct {
		name    string
		second  events.Person
		subject string
		says    string
	}{
		{name: "another lead named since", second: pat,
			subject: "Technician Commitment: Uni %s has a new nominated lead",
			says:    "Uni %s's nominated lead for the Technician Commitment is now Pat Quinn, at p.quinn@exampleton.ac.uk, in place of Chris Lee."},
		{name: "no lead recorded since", second: events.Person{Erased: true},
			subject: "Technician Commitment: Uni %s has no nominated lead",
			says:    "Uni %s has no nominated lead recorded now: please name one by telling ITSS who it is."},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("headtoldagain%d", i)
			h.onboard(org, civil.New(2026, 6, 14), civil.New(2026, 12, 14))
			from := len(mailTo(h, leader.Email, 0))

			refusedThenChangedAgain(h, org, leader.Email, chris, c.second)

			got := mailTo(h, leader.Email, from)
			if len(got) != 1 || got[0].Subject != fmt.Sprintf(c.subject, org) {
				t.Fatalf("the head received %q, want %q once", subjects(got), fmt.Sprintf(c.subject, org))
			}
			checkSays(t, got[0], fmt.Sprintf(c.says, org))
			saysNoneOf(t, got[0], []string{"c.lee@", "is now Chris Lee"}, "the head's email says %q, which no longer stands:\n%s")
		})
	}
}

// refusedThenChangedAgain has the relay refuse, for now, the email the lead's change
// to first sends to refusedTo; then the lead changes again, to second, and the email
// is tried again, on a day no reminder is due.
func refusedThenChangedAgain(h *harness, org, refusedTo string, first, second events.Person) {
	h.clock.Set(at9(civil.New(2026, 11, 20))) // no reminder is due that day
	h.box.tryLater(refusedTo)
	h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: leader, NominatedLead: first})
	h.waitFor(org)
	waitFailed(h, org, refusedTo)
	h.clock.Advance(time.Minute)
	h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: leader, NominatedLead: second})
	h.waitFor(org)
	h.box.tryLater()
	h.clock.Advance(time.Hour)
	h.runUntil(civil.New(2026, 11, 20))
	h.runUntil(civil.New(2026, 11, 20))
}

// saysNoneOf fails t for each of words the email says, in its text or its HTML:
// what no longer stands. format says so, with %q for the words and %s for the text.
func saysNoneOf(t *testing.T, m received, words []string, format string) {
	t.Helper()
	for _, s := range words {
		if strings.Contains(m.Text, s) || strings.Contains(m.HTMLBody, s) {
			t.Errorf(format, s, m.Text)
		}
	}
}
