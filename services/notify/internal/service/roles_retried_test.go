package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// The one email telling a person of a change in two roles at once (named lead and no
// longer the head; recorded as the head, with the lead named or no longer theirs;
// replaced as lead and head), refused by the relay and tried again after the lead or
// the head changed again, said the other role as it had been: it named as the head, or
// the lead, someone who no longer was, told a person made the lead again that they no
// longer led (cancelling the due date in their calendar), and a person both again
// that they were neither. Tried again so, it keeps its news of its own role and says
// the other as it stands when it goes: who holds it now, or, where the person holds it
// again, nothing of it; one telling a person they no longer lead, who leads again, is
// given up.
func TestACombinedEmailRetriedAfterAnotherChangeSaysTheRolesAsTheyStand(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Title: "Director", Email: "c.lee@exampleton.ac.uk"}
	kim := events.Person{Name: "Prof. Kim Ode", Title: "Vice-Chancellor", Email: "k.ode@exampleton.ac.uk"}
	pat := events.Person{Name: "Pat Quinn", Title: "Provost", Email: "p.quinn@exampleton.ac.uk"}
	type contacts struct{ lead, head events.Person }
	cases := []struct {
		name          string
		both          bool // Sam Patel is the head too before the first change
		first, second contacts
		to            string // the person refused until after the second change
		kind          string // the subject of the combined email begins so
		subject       string // "" for none: given up
		says          []string
		not           []string
		ics           bool // it carries a calendar
	}{
		{name: "the head made lead, the head named replaced since",
			first: contacts{leader, kim}, second: contacts{leader, pat}, to: leader.Email,
			kind:    "Technician Commitment: you are now Uni %s's nominated lead",
			subject: "Technician Commitment: you are now Uni %s's nominated lead, and are no longer recorded as its head",
			says:    []string{"You are no longer recorded as the head of Uni %s: Pat Quinn, at p.quinn@exampleton.ac.uk, is recorded as its head in place of you."},
			not:     []string{"Kim Ode"}},
		{name: "the head made lead, the head again since",
			first: contacts{leader, kim}, second: contacts{leader, leader}, to: leader.Email,
			kind:    "Technician Commitment: you are now Uni %s's nominated lead",
			subject: "Technician Commitment: you are now Uni %s's nominated lead",
			says:    []string{"You are now Uni %s's nominated lead for the Technician Commitment, in place of Sam Patel."},
			not:     []string{"no longer recorded as the head", "Kim Ode"}},
		{name: "a new head and a new lead, the lead replaced since",
			first: contacts{chris, kim}, second: contacts{pat, kim}, to: kim.Email,
			kind:    "Technician Commitment: you are now recorded as the head of Uni %s",
			subject: "Technician Commitment: you are now recorded as the head of Uni %s",
			says:    []string{"Uni %s's nominated lead, Pat Quinn, at p.quinn@exampleton.ac.uk, acts for it with ITSS"},
			not:     []string{"Chris Lee"}},
		{name: "the lead made head, another lead named since",
			first: contacts{chris, lead}, second: contacts{pat, lead}, to: lead.Email,
			kind:    "Technician Commitment: you are now recorded as the head of Uni %s",
			subject: "Technician Commitment: you are now recorded as the head of Uni %s, and are no longer its nominated lead",
			says:    []string{"You are no longer Uni %s's nominated lead: Pat Quinn, at p.quinn@exampleton.ac.uk, is its nominated lead now."},
			not:     []string{"Chris Lee"}, ics: true},
		{name: "the lead made head, the lead again since",
			first: contacts{chris, lead}, second: contacts{lead, lead}, to: lead.Email,
			kind:    "Technician Commitment: you are now recorded as the head of Uni %s",
			subject: "Technician Commitment: you are now recorded as the head of Uni %s",
			says:    []string{"You are also Uni %s's nominated lead: you receive the deadline reminders"},
			not:     []string{"no longer", "Chris Lee", "calendar"}},
		{name: "the lead and head replaced by two, the head replaced since", both: true,
			first: contacts{chris, kim}, second: contacts{chris, pat}, to: lead.Email,
			kind:    "Technician Commitment: you are no longer Uni %s's nominated lead",
			subject: "Technician Commitment: you are no longer Uni %s's nominated lead or recorded as its head",
			says:    []string{"You are also no longer recorded as the head of Uni %s: Pat Quinn, at p.quinn@exampleton.ac.uk, is recorded as its head in place of you."},
			not:     []string{"Kim Ode"}, ics: true},
		{name: "the lead and head replaced by two, the head again since", both: true,
			first: contacts{chris, kim}, second: contacts{chris, lead}, to: lead.Email,
			kind:    "Technician Commitment: you are no longer Uni %s's nominated lead",
			subject: "Technician Commitment: you are no longer Uni %s's nominated lead",
			says:    []string{"Uni %s's nominated lead for the Technician Commitment is now Chris Lee, at c.lee@exampleton.ac.uk, in place of you."},
			not:     []string{"head of", "Kim Ode"}, ics: true},
		{name: "the lead and head replaced by two, both again since", both: true,
			first: contacts{chris, kim}, second: contacts{lead, lead}, to: lead.Email,
			kind: "Technician Commitment: you are no longer Uni %s's nominated lead"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("rolesagain%d", i)
			h.onboard(org, civil.New(2026, 6, 14), civil.New(2026, 12, 14))
			if c.both {
				h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: lead, NominatedLead: lead})
				h.waitFor(org)
			}
			h.runUntil(civil.New(2026, 11, 14)) // the lead is reminded: the due date is in their calendar
			from := len(mailTo(h, c.to, 0))

			h.clock.Set(at9(civil.New(2026, 11, 20))) // no reminder is due that day
			h.box.tryLater(c.to)
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: c.first.head, NominatedLead: c.first.lead})
			h.waitFor(org)
			waitFailed(h, org, c.to)
			h.clock.Advance(time.Minute)
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: c.second.head, NominatedLead: c.second.lead})
			h.waitFor(org)
			h.clock.Advance(10 * time.Minute)
			h.runUntil(civil.New(2026, 11, 20)) // still refused: the change's emails are all made
			h.box.tryLater()
			h.clock.Advance(time.Hour)
			h.runUntil(civil.New(2026, 11, 20))
			h.runUntil(civil.New(2026, 11, 20))

			kind := fmt.Sprintf(c.kind, org)
			var got []received
			for _, m := range mailTo(h, c.to, from) {
				if strings.HasPrefix(m.Subject, kind) {
					got = append(got, m)
				}
			}
			if c.subject == "" {
				if len(got) != 0 {
					t.Fatalf("%s received %q, want it given up: they hold both roles again\n%s", c.to, subjects(got), got[0].Text)
				}
				return
			}
			if want := fmt.Sprintf(c.subject, org); len(got) != 1 || got[0].Subject != want {
				t.Fatalf("%s received %q, want %q once (all: %q)", c.to, subjects(got), want, subjects(mailTo(h, c.to, from)))
			}
			for _, s := range c.says {
				checkSays(t, got[0], strings.ReplaceAll(s, "%s", org))
			}
			for _, s := range c.not {
				if strings.Contains(got[0].Text, s) || strings.Contains(got[0].Subject, s) {
					t.Errorf("the retried email says %q, which no longer stands:\n%s", s, got[0].Text)
				}
			}
			if got[0].ICS != c.ics {
				t.Errorf("the retried email carries a calendar: %v, want %v", got[0].ICS, c.ics)
			}
		})
	}
}
