package service_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// correctTo publishes ITSS's correction of org's announcement to the day a year and
// a half before due (its window opening six months before due), from dates a year
// later, and the obligation scheduled again that follows it, as the signatory
// service does, and waits until notify has taken both in.
func (h *harness) correctTo(org string, opens, due civil.Date) {
	h.t.Helper()
	oldOpens, oldDue := opens.AddDays(365), due.AddDays(365)
	h.publish(org, events.OrganisationAnnouncementCorrectedV1{OrganisationID: org, OrganisationName: "Uni " + org,
		AnnouncedOn: opens.AddDays(-365), PreviousAnnouncedOn: opens,
		ObligationID: org + "-c1", ObligationKind: events.ObligationSelfAssessmentAndActionPlan,
		WindowOpens: opens, Due: due, PreviousWindowOpens: oldOpens, PreviousDue: oldDue})
	h.publish(org, events.ObligationScheduledV1{OrganisationID: org, OrganisationName: "Uni " + org, ObligationID: org + "-c1",
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: opens, Due: due})
	h.waitFor(org)
}

// correctedSubject is the subject of org's correction's email, as of today.
func correctedSubject(org string, due, today civil.Date) string {
	tense := "is now due on"
	if due.Before(today) {
		tense = "was due on"
	}
	return fmt.Sprintf("Technician Commitment: Uni %s's self-assessment and action plan %s %s (deadline corrected)", org, tense, due.InWords())
}

// byRecipient sorts emails by whom each went to, in the order they arrived.
func byRecipient(ms []received) map[string][]string {
	out := map[string][]string{}
	for _, m := range ms {
		for _, to := range m.To {
			out[to] = append(out[to], m.Subject)
		}
	}
	return out
}

// An announcement date corrected to a day that makes the obligation overdue, or its
// window open, has a step of its ladder due at once: the correction's email tells
// each of its recipients where the obligation stands that day, and the sweep that
// follows a minute later (and the next day's) sends nothing more for it. Before, the
// sweep's catch-up followed the correction with the same position: two emails to the
// lead, and to the head for an overdue one, within a minute. The ladder's later steps
// still go, each on its own day.
func TestACorrectionIsTheOneEmailOfItsDayStatingWhereItStands(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		today    civil.Date
		opens    civil.Date
		due      civil.Date
		told     []string // who the correction is told to, and nothing more that day
		next     civil.Date
		nextSays string
		nextTold []string
	}{
		{name: "overdue", today: civil.New(2026, 12, 7), opens: civil.New(2026, 5, 30), due: civil.New(2026, 11, 30),
			told: []string{lead.Email, leader.Email}, next: civil.New(2026, 12, 30),
			nextSays: "Technician Commitment: Uni %s's self-assessment and action plan is 30 days overdue (due Monday 30 November 2026)",
			nextTold: []string{lead.Email, leader.Email}},
		{name: "window", today: civil.New(2026, 3, 5), opens: civil.New(2026, 3, 2), due: civil.New(2026, 9, 2),
			told: []string{lead.Email, leader.Email}, next: civil.New(2026, 6, 4),
			nextSays: "Technician Commitment: Uni %s's self-assessment and action plan is due in 90 days (Wednesday 2 September 2026)",
			nextTold: []string{lead.Email}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 1, time.Date(c.today.Time().Year(), c.today.Time().Month(), c.today.Time().Day(), 9, 0, 0, 0, time.UTC))
			org := "oc" + c.name
			h.onboard(org, c.opens.AddDays(365), c.due.AddDays(365))
			h.sweep() // nothing of the old dates is due yet
			h.correctTo(org, c.opens, c.due)
			subject := correctedSubject(org, c.due, c.today)
			testenv.Eventually(t, 10*time.Second, func() error {
				got := byRecipient(mailOf(h, org, 0))
				for _, to := range c.told {
					if !slices.Contains(got[to], subject) {
						return fmt.Errorf("%s received %q, want the correction", to, got[to])
					}
				}
				return nil
			})
			// The sweep a minute later, again, and the next morning's.
			h.clock.Advance(time.Minute)
			h.sweep()
			h.sweep()
			h.sweepOn(c.today.AddDays(1))
			got := byRecipient(mailOf(h, org, 0))
			for _, to := range c.told {
				if want := []string{subject}; !slices.Equal(got[to], want) {
					t.Errorf("%s received %q, want the correction alone: it says where the obligation stands that day", to, got[to])
				}
			}
			if len(got) != len(c.told) {
				t.Errorf("emails went to %v, want only %v", got, c.told)
			}
			// The ladder's next step goes on its own day, as it would have.
			before := len(h.box.all())
			h.sweepOn(c.next)
			h.sweepOn(c.next)
			next := byRecipient(mailOf(h, org, before))
			for _, to := range c.nextTold {
				if want := []string{fmt.Sprintf(c.nextSays, org)}; !slices.Equal(next[to], want) {
					t.Errorf("on %s %s received %q, want %q", c.next, to, next[to], want)
				}
			}
			if len(next) != len(c.nextTold) {
				t.Errorf("on %s emails went to %v, want only %v", c.next, next, c.nextTold)
			}
		})
	}
}

// A sweep that sent its catch-up of the corrected dates before the correction's
// email was composed (the obligation was scheduled at its new dates and swept first)
// leaves the correction's email to go all the same, since it says the dates changed;
// and nothing follows it that day or the next.
func TestACorrectionAfterTheSweepsCatchUpIsStillToldAndNothingFollowsIt(t *testing.T) {
	t.Parallel()
	today := civil.New(2026, 12, 7)
	h := start(t, 1, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	org := "ocafter"
	opens, due := civil.New(2026, 5, 30), civil.New(2026, 11, 30)
	h.onboard(org, opens.AddDays(365), due.AddDays(365))
	h.publish(org, events.ObligationScheduledV1{OrganisationID: org, OrganisationName: "Uni " + org, ObligationID: org + "-c1",
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: opens, Due: due})
	h.waitFor(org)
	h.sweep()
	overdue := "Technician Commitment: Uni ocafter's self-assessment and action plan is 7 days overdue (due Monday 30 November 2026)"
	h.correctTo(org, opens, due)
	h.clock.Advance(time.Minute)
	h.sweep()
	h.sweepOn(today.AddDays(1))
	want := []string{overdue, correctedSubject(org, due, today)}
	got := byRecipient(mailOf(h, org, 0))
	for _, to := range []string{lead.Email, leader.Email} {
		if !slices.Equal(got[to], want) {
			t.Errorf("%s received %q, want %q: the correction goes after the catch-up, and nothing after it", to, got[to], want)
		}
	}
}

// The correction's email and the sweeps of two replicas race. The moved ladder is
// scheduled only once the correction's emails have taken the day's reminder keys, so
// no sweep, on either replica, finds a step of it due first: each of the lead and
// the head is told of the correction, once, and sent nothing else that day. Before,
// the sweep's catch-up followed it; and with the ladder scheduled before the emails,
// a sweep running beside them sent its catch-up first for most recipients.
func TestACorrectionRacingTheSweepIsNeverFollowedByAnotherEmail(t *testing.T) {
	t.Parallel()
	today := civil.New(2026, 12, 7)
	h := start(t, 2, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	opens, due := civil.New(2026, 5, 30), civil.New(2026, 11, 30)
	const rounds = 8
	for n := range rounds {
		org := fmt.Sprintf("ocrace%d", n)
		h.onboard(org, opens.AddDays(365), due.AddDays(365))
		var stop atomic.Bool
		var wg sync.WaitGroup
		for _, s := range h.svcs {
			wg.Go(func() {
				for !stop.Load() {
					if _, err := s.App.Sweep(context.Background()); err != nil {
						t.Errorf("sweep: %v", err)
						return
					}
				}
			})
		}
		h.correctTo(org, opens, due)
		subject := correctedSubject(org, due, today)
		testenv.Eventually(t, 10*time.Second, func() error {
			got := byRecipient(mailOf(h, org, 0))
			for _, to := range []string{lead.Email, leader.Email} {
				if !slices.Contains(got[to], subject) {
					return fmt.Errorf("%s received %q, want the correction", to, got[to])
				}
			}
			return nil
		})
		stop.Store(true)
		wg.Wait()
		h.runUntil(today)
		got := byRecipient(mailOf(h, org, 0))
		for _, to := range []string{lead.Email, leader.Email} {
			if want := []string{subject}; !slices.Equal(got[to], want) {
				t.Errorf("round %d: %s received %q, want the correction alone", n, to, got[to])
			}
		}
	}
}

// A lead named for an organisation whose obligation is overdue was sent two emails
// at once: the email naming them lead, which says what is due next ("which was due
// on … and is overdue"), and the overdue reminder of the ladder's latest step, which
// says where it stands (7 days overdue). The email naming them is now the one: it is
// that day's reminder to them (with the due date's calendar entry the reminder
// carried), the sweep sends them nothing more that day or the next, the ladder's
// next step reaches them on its day, and the head's overdue email then says they
// were reminded on the day they were named.
func TestANewLeadOfAnOverdueObligationIsToldWhereItStandsInOneEmail(t *testing.T) {
	t.Parallel()
	today := civil.New(2026, 12, 7)
	h := start(t, 1, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	h.onboard("nlod", civil.New(2026, 5, 30), civil.New(2026, 11, 30))
	h.sweep() // 7 days overdue: the lead and the head are told
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	h.publish("nlod", events.OrganisationContactsChangedV1{OrganisationID: "nlod", Leader: leader, NominatedLead: chris})
	h.waitFor("nlod")
	named := "Technician Commitment: you are now Uni nlod's nominated lead"
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := subjects(mailTo(h, chris.Email, 0)); !slices.Contains(got, named) {
			return fmt.Errorf("Chris received %q, want the email naming them lead", got)
		}
		return nil
	})
	h.clock.Advance(time.Minute)
	h.sweep()
	h.sweepOn(today.AddDays(1))
	got := mailTo(h, chris.Email, 0)
	if want := []string{named}; !slices.Equal(subjects(got), want) {
		t.Fatalf("Chris received %q, want %q alone: it says the obligation is overdue", subjects(got), want)
	}
	checkSays(t, got[0], "Uni nlod's next obligation is the self-assessment and action plan of cycle 1, which was due on Monday 30 November 2026 and is overdue.")
	if c := calendarOf(t, got[0]); c.uid != "nlod-c1-due@technician-commitment.itss.org.uk" {
		t.Errorf("the email naming Chris lead carries %+v, want the due date's entry", c)
	}

	before := len(h.box.all())
	h.sweepOn(civil.New(2026, 12, 30))
	later := byRecipient(mailOf(h, "nlod", before))
	thirty := "Technician Commitment: Uni nlod's self-assessment and action plan is 30 days overdue (due Monday 30 November 2026)"
	if want := []string{thirty}; !slices.Equal(later[chris.Email], want) || !slices.Equal(later[leader.Email], want) {
		t.Fatalf("on 30 December: %v, want %q to Chris and the head", later, thirty)
	}
	for _, m := range mailOf(h, "nlod", before) {
		if slices.Contains(m.To, leader.Email) {
			checkSays(t, m, "Chris Lee, was reminded of it by email on Monday 7 December 2026")
		}
	}
}

// A head named when an overdue step of the ladder is due and not yet sent (notify
// back from being down since before midnight) was sent two emails at once: the email
// recording them as the head, which says what the organisation owes next and how long
// overdue it is, and the sweep's overdue email of that day. The email recording them
// is now the one, as that day's overdue email to them: the sweep sends them nothing
// more that day, and they are the head told it was overdue, whom the receipt of the
// late submission reaches.
func TestAHeadNamedOnTheDayOfAnOverdueStepIsToldWhereItStandsInOneEmail(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
	h.onboard("hdod", civil.New(2026, 5, 30), civil.New(2026, 11, 30))
	h.sweepOn(civil.New(2026, 12, 6)) // 6 days overdue: the lead is told
	h.clock.Set(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	kim := events.Person{Name: "Prof. Kim Ode", Title: "Vice-Chancellor", Email: "k.ode@exampleton.ac.uk"}
	h.publish("hdod", events.OrganisationContactsChangedV1{OrganisationID: "hdod", Leader: kim, NominatedLead: lead})
	h.waitFor("hdod")
	named := "Technician Commitment: you are now recorded as the head of Uni hdod"
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := subjects(mailTo(h, kim.Email, 0)); !slices.Contains(got, named) {
			return fmt.Errorf("Kim received %q, want the email recording them as the head", got)
		}
		return nil
	})
	h.sweep()
	h.sweep()
	got := mailTo(h, kim.Email, 0)
	if want := []string{named}; !slices.Equal(subjects(got), want) {
		t.Fatalf("Kim received %q, want %q alone: it says the obligation is 7 days overdue", subjects(got), want)
	}
	checkSays(t, got[0], "As of today, Monday 7 December 2026, it is 7 days overdue.")
	if lead := subjects(mailTo(h, lead.Email, 0)); !slices.Contains(lead, "Technician Commitment: Uni hdod's self-assessment and action plan is 7 days overdue (due Monday 30 November 2026)") {
		t.Errorf("the lead received %q, want the overdue email of the day", lead)
	}

	h.publish("hdod", events.ObligationMetV1{OrganisationID: "hdod", ObligationID: "hdod-c1", SubmissionID: "s-hdod", ReceivedOn: civil.New(2026, 12, 7)})
	h.waitFor("hdod")
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := subjects(mailTo(h, kim.Email, 1)); !slices.Equal(got, []string{"Technician Commitment: Uni hdod's self-assessment and action plan is received"}) {
			return fmt.Errorf("after the late submission Kim received %q, want its receipt", got)
		}
		return nil
	})
}

// A lead named while a step of the ladder is due and not yet sent (the sweep has not
// run that day, or notify was down on the step's day), the obligation not overdue,
// was sent two emails at once: the email naming them lead, which says what is due
// next, and the sweep's reminder (or catch-up) a minute later, which says where it
// stands. The email naming them is now the one, as the reminder of that day to them:
// it says how many days are left that day and carries the due date's calendar entry,
// and the sweeps of two replicas, twice, send them nothing more. A lead whose address
// is corrected is told so at the new address the same way. The lead before is sent
// no reminder that day, and the head only the change of lead, as before; the ladder's
// next step reaches the lead on its day, and the head's overdue email says the lead
// was reminded on the day they were named.
func TestANewLeadNamedWhileAReminderIsDueIsToldWhereItStandsInOneEmail(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	moved := events.Person{Name: lead.Name, Email: "s.patel@exampleton.ac.uk"} // Sam Patel's address corrected
	cases := []struct {
		name     string
		today    civil.Date
		to       events.Person
		subject  string
		left     string
		replaced string // the subject of the email to the lead's address before
		overdue  bool   // follow the ladder on to the overdue step
	}{
		{name: "the sweep not yet run", today: civil.New(2026, 12, 7), to: chris,
			subject: "Technician Commitment: you are now Uni %s's nominated lead", left: "As of today, Monday 7 December 2026, it is due in 7 days.",
			replaced: "Technician Commitment: you are no longer Uni %s's nominated lead", overdue: true},
		{name: "missed while down", today: civil.New(2026, 12, 9), to: chris,
			subject: "Technician Commitment: you are now Uni %s's nominated lead", left: "As of today, Wednesday 9 December 2026, it is due in 5 days.",
			replaced: "Technician Commitment: you are no longer Uni %s's nominated lead"},
		{name: "address corrected", today: civil.New(2026, 12, 7), to: moved,
			subject: "Technician Commitment: you are now Uni %s's nominated lead at this address", left: "As of today, Monday 7 December 2026, it is due in 7 days.",
			replaced: "Technician Commitment: your address as Uni %s's nominated lead has changed"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("nldue%d", i)
			due := civil.New(2026, 12, 14)
			h.onboard(org, civil.New(2026, 6, 14), due)
			h.sweepOn(civil.New(2026, 11, 14)) // 30 days left: Sam Patel is reminded
			// Due in 7 days on 7 December: that reminder is still to go.
			h.clock.Set(time.Date(c.today.Time().Year(), c.today.Time().Month(), c.today.Time().Day(), 9, 0, 0, 0, time.UTC))
			from, headFrom := len(mailTo(h, lead.Email, 0)), len(mailTo(h, leader.Email, 0))
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: leader, NominatedLead: c.to})
			h.waitFor(org)
			named := fmt.Sprintf(c.subject, org)
			testenv.Eventually(t, 10*time.Second, func() error {
				if got := subjects(mailTo(h, c.to.Email, 0)); !slices.Contains(got, named) {
					return fmt.Errorf("%s received %q, want the email naming them lead", c.to.Email, got)
				}
				return nil
			})
			// The sweeps of both replicas a minute later, and again.
			h.clock.Advance(time.Minute)
			h.runUntil(c.today)
			h.runUntil(c.today)
			got := mailTo(h, c.to.Email, 0)
			if want := []string{named}; !slices.Equal(subjects(got), want) {
				t.Fatalf("%s received %q, want %q alone: it says where the obligation stands", c.to.Email, subjects(got), want)
			}
			checkSays(t, got[0], fmt.Sprintf("Uni %s's next obligation is the self-assessment and action plan of cycle 1, due on Monday 14 December 2026.", org),
				c.left, "The attached calendar entry marks the self-assessment and action plan's due date.")
			if cal := calendarOf(t, got[0]); cal.uid != org+"-c1-due@technician-commitment.itss.org.uk" || cal.method != "PUBLISH" {
				t.Errorf("the email naming %s lead carries %+v, want the due date's entry", c.to.Email, cal)
			}
			if got, want := subjects(mailTo(h, lead.Email, from)), []string{fmt.Sprintf(c.replaced, org)}; !slices.Equal(got, want) {
				t.Errorf("the lead's address before received %q that day, want %q alone", got, want)
			}
			if got := subjects(mailTo(h, leader.Email, headFrom)); len(got) != 1 || !strings.Contains(got[0], "Uni "+org) || !strings.Contains(got[0], "nominated lead") {
				t.Errorf("the head received %q that day, want the change of lead alone", got)
			}
			if !c.overdue {
				return
			}

			// The ladder goes on: the day before it is due, then overdue to the head too.
			before := len(h.box.all())
			h.sweepOn(civil.New(2026, 12, 13))
			h.sweepOn(civil.New(2026, 12, 13))
			tomorrow := fmt.Sprintf("Technician Commitment: Uni %s's self-assessment and action plan is due tomorrow (Monday 14 December 2026)", org)
			if got := byRecipient(mailOf(h, org, before)); !slices.Equal(got[c.to.Email], []string{tomorrow}) || len(got) != 1 {
				t.Errorf("on 13 December: %v, want %q to %s alone", got, tomorrow, c.to.Email)
			}
			before = len(h.box.all())
			h.sweepOn(civil.New(2026, 12, 21))
			late := fmt.Sprintf("Technician Commitment: Uni %s's self-assessment and action plan is 7 days overdue (due Monday 14 December 2026)", org)
			later := byRecipient(mailOf(h, org, before))
			if want := []string{late}; !slices.Equal(later[c.to.Email], want) || !slices.Equal(later[leader.Email], want) || len(later) != 2 {
				t.Fatalf("on 21 December: %v, want %q to %s and the head", later, late, c.to.Email)
			}
			for _, m := range mailOf(h, org, before) {
				if slices.Contains(m.To, leader.Email) {
					checkSays(t, m, "A reminder of it went by email on Saturday 14 November 2026 to the nominated lead recorded at the time.",
						"Chris Lee, was reminded of it by email on Monday 7 December 2026, Sunday 13 December 2026 and Monday 21 December 2026.")
				}
			}
		})
	}
}

// A sweep on one replica lists the day's reminders, and is held up sending an earlier
// one (another organisation's, its relay slow) while the sweep on the other replica
// sends one of them to the lead and the head of the time, and settles it. The lead,
// or the head, is then replaced, and told where the obligation stands by the email
// naming them. The first sweep, going on with what it listed, read the organisation
// after the change and sent the reminder to the person named, a minute after that
// email; it now sends only what is still to be sent when it reads the organisation.
func TestASweepListedBeforeTheLeadOrHeadChangedSendsThePersonNamedNothingMore(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	kim := events.Person{Name: "Prof. Kim Ode", Title: "Vice-Chancellor", Email: "k.ode@exampleton.ac.uk"}
	cases := []struct {
		name     string
		due      civil.Date
		day      string // the day's reminder, to the lead (and the head) before
		to       events.Person
		change   events.OrganisationContactsChangedV1
		named    string
		reminded []string // who the second sweep reminds
	}{
		{name: "lead", due: civil.New(2026, 12, 14), to: chris,
			day:      "Technician Commitment: Uni %s's self-assessment and action plan is due in 7 days (Monday 14 December 2026)",
			change:   events.OrganisationContactsChangedV1{Leader: leader, NominatedLead: chris},
			named:    "Technician Commitment: you are now Uni %s's nominated lead",
			reminded: []string{lead.Email}},
		{name: "head", due: civil.New(2026, 11, 30), to: kim,
			day:      "Technician Commitment: Uni %s's self-assessment and action plan is 7 days overdue (due Monday 30 November 2026)",
			change:   events.OrganisationContactsChangedV1{Leader: kim, NominatedLead: lead},
			named:    "Technician Commitment: you are now recorded as the head of Uni %s",
			reminded: []string{lead.Email, leader.Email}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("slate%d", i)
			h.onboard(org, c.due.AddDays(-183), c.due)
			// Another organisation, whose window opened the day after, listed first.
			held := events.Person{Name: "Hal Held", Email: "hal@slow.ac.uk"}
			h.onboard("slow", civil.New(2026, 11, 15), civil.New(2027, 5, 15))
			h.publish("slow", events.OrganisationContactsChangedV1{OrganisationID: "slow", Leader: leader, NominatedLead: held})
			h.waitFor("slow")
			h.sweepOn(civil.New(2026, 11, 14)) // Sam Patel is reminded
			h.clock.Set(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))

			holding, release := make(chan struct{}), make(chan struct{})
			var once, released sync.Once
			free := func() { released.Do(func() { close(release) }) }
			t.Cleanup(free)
			h.box.mu.Lock()
			h.box.refuse = func(rcpt string) *smtp.SMTPError {
				if rcpt == held.Email {
					once.Do(func() { close(holding) })
					<-release
				}
				return nil
			}
			h.box.mu.Unlock()
			first := make(chan error, 1)
			go func() { _, err := h.svcs[0].App.Sweep(context.Background()); first <- err }()
			select {
			case <-holding:
			case <-time.After(10 * time.Second):
				t.Fatal("the first sweep never sent the other organisation's reminder")
			}
			if _, err := h.svcs[1].App.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			day := fmt.Sprintf(c.day, org)
			for _, to := range c.reminded {
				if got := subjects(mailTo(h, to, 0)); !slices.Contains(got, day) {
					t.Fatalf("%s received %q, want the reminder of the day from the second sweep", to, got)
				}
			}
			change := c.change
			change.OrganisationID = org
			h.publish(org, change)
			h.waitFor(org)
			named := fmt.Sprintf(c.named, org)
			testenv.Eventually(t, 10*time.Second, func() error {
				if got := subjects(mailTo(h, c.to.Email, 0)); !slices.Contains(got, named) {
					return fmt.Errorf("%s received %q, want the email naming them", c.to.Email, got)
				}
				return nil
			})
			free()
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			h.runUntil(civil.New(2026, 12, 7))
			got := mailTo(h, c.to.Email, 0)
			if want := []string{named}; !slices.Equal(subjects(got), want) {
				t.Fatalf("%s received %q, want %q alone", c.to.Email, subjects(got), want)
			}
			// Named once the day's reminder went to the lead before: no step of the
			// day is theirs, and the next one brings the due date's calendar entry.
			if got[0].ICS {
				t.Errorf("the email naming %s carries a calendar:\n%s", c.to.Email, got[0].ICSBody)
			}
		})
	}
}

// A head named who is the lead already (the same address) on a day a reminder of the
// obligation is still to go was sent, when it was not yet overdue, the email recording
// them as the head, which says what is due and how many days are left, and the lead's
// reminder beside it, saying the same; when overdue, the email recording them took
// the lead's reminder's key, and the lead went without the reminder's calendar entry.
// The email recording them is now that day's reminder to them as the lead, with the
// due date's calendar entry, and nothing follows it; the days they were reminded as
// the lead count it, as a later head's overdue email says.
func TestAHeadNamedWhoIsTheLeadIsToldWhereItStandsInOneEmail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		due  civil.Date
		says string
		as   string // the address the head is named at
	}{
		{name: "due", due: civil.New(2026, 12, 14), says: "As of today, Monday 7 December 2026, it is due in 7 days.", as: lead.Email},
		{name: "overdue", due: civil.New(2026, 11, 30), says: "As of today, Monday 7 December 2026, it is 7 days overdue.", as: lead.Email},
		// One mailbox, written in other capitals on the form: one person, the lead.
		{name: "overdue in capitals", due: civil.New(2026, 11, 30), says: "As of today, Monday 7 December 2026, it is 7 days overdue.", as: "Lead@Exampleton.ac.uk"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("hdlead%d", i)
			h.onboard(org, c.due.AddDays(-183), c.due)
			h.sweepOn(civil.New(2026, 11, 14)) // Sam Patel is reminded
			h.clock.Set(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
			toSam := func() []received {
				var out []received
				for _, m := range h.box.all() {
					if len(m.To) == 1 && strings.EqualFold(m.To[0], lead.Email) {
						out = append(out, m)
					}
				}
				return out
			}
			from := len(toSam())
			sam := events.Person{Name: lead.Name, Title: "Vice-Chancellor", Email: c.as}
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: sam, NominatedLead: lead})
			h.waitFor(org)
			named := fmt.Sprintf("Technician Commitment: you are now recorded as the head of Uni %s", org)
			testenv.Eventually(t, 10*time.Second, func() error {
				if got := subjects(toSam()[from:]); !slices.Contains(got, named) {
					return fmt.Errorf("Sam received %q, want the email recording them as the head", got)
				}
				return nil
			})
			h.clock.Advance(time.Minute)
			h.runUntil(civil.New(2026, 12, 7))
			h.runUntil(civil.New(2026, 12, 7))
			got := toSam()[from:]
			if want := []string{named}; !slices.Equal(subjects(got), want) {
				t.Fatalf("Sam received %q, want %q alone: it says where the obligation stands", subjects(got), want)
			}
			checkSays(t, got[0], c.says, fmt.Sprintf("You are also Uni %s's nominated lead", org),
				"The attached calendar entry marks the self-assessment and action plan's due date.")
			if cal := calendarOf(t, got[0]); cal.uid != org+"-c1-due@technician-commitment.itss.org.uk" || cal.method != "PUBLISH" {
				t.Errorf("the email recording Sam as the head carries %+v, want the due date's entry", cal)
			}

			// Another head named the next day is told, on the next overdue step, that
			// the lead was reminded on the day they were recorded as the head.
			h.clock.Set(time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC))
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: leader, NominatedLead: lead})
			h.waitFor(org)
			testenv.Eventually(t, 10*time.Second, func() error {
				if got := subjects(mailTo(h, leader.Email, 0)); !slices.Contains(got, named) {
					return fmt.Errorf("the head received %q, want the email recording them", got)
				}
				return nil
			})
			next := civil.New(2026, 12, 21)
			if c.due.Before(civil.New(2026, 12, 1)) {
				next = civil.New(2026, 12, 30)
			}
			before := len(h.box.all())
			h.sweepOn(next)
			for _, m := range mailOf(h, org, before) {
				if slices.Contains(m.To, leader.Email) {
					checkSays(t, m, "was reminded of it by email on Saturday 14 November 2026, Monday 7 December 2026")
				}
			}
			if got := byRecipient(mailOf(h, org, before)); len(got[leader.Email]) != 1 {
				t.Errorf("on %s: %v, want the head's overdue email", next, got)
			}
		})
	}
}

// A person named lead and head by one change was sent two emails at once, one per
// role: the email naming them lead (that day's reminder to them, where one was still
// to go) and the email recording them as the head. They are now sent one, the email
// naming them lead, which says they are its head too, in place of whom, and what that
// brings them, and where the obligation stands that day (with the due date's calendar
// entry where it is that day's reminder); the sweeps of two replicas send nothing
// more, and the lead and head before are told as before.
func TestAPersonNamedLeadAndHeadAtOnceIsToldBothInOneEmail(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Title: "Director", Email: "c.lee@exampleton.ac.uk"}
	cases := []struct {
		name     string
		due      civil.Date
		on       civil.Date // the day they are named
		says     string
		reminder bool // the email is that day's reminder to them
		// Sam Patel, the lead, at another address (corrected), not Chris Lee
		corrected bool
	}{
		{name: "a reminder due", due: civil.New(2026, 12, 14), on: civil.New(2026, 12, 7),
			says: "As of today, Monday 7 December 2026, it is due in 7 days.", reminder: true},
		{name: "the lead's address corrected", due: civil.New(2026, 12, 14), on: civil.New(2026, 12, 7),
			says: "As of today, Monday 7 December 2026, it is due in 7 days.", reminder: true, corrected: true},
		{name: "overdue", due: civil.New(2026, 11, 30), on: civil.New(2026, 12, 7),
			says: "As of today, Monday 7 December 2026, it is 7 days overdue.", reminder: true},
		{name: "no reminder due", due: civil.New(2026, 12, 14), on: civil.New(2026, 12, 8),
			says: "As of today, Tuesday 8 December 2026, it is due in 6 days."},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("both%d", i)
			h.onboard(org, c.due.AddDays(-183), c.due)
			h.sweepOn(civil.New(2026, 11, 14)) // Sam Patel is reminded
			if !c.reminder {
				h.sweepOn(c.on.AddDays(-1)) // and again the day before
			}
			h.clock.Set(time.Date(c.on.Time().Year(), c.on.Time().Month(), c.on.Time().Day(), 9, 0, 0, 0, time.UTC))
			samFrom, janeFrom := len(mailTo(h, lead.Email, 0)), len(mailTo(h, leader.Email, 0))
			to, both := chris, fmt.Sprintf("Technician Commitment: you are now Uni %s's nominated lead and recorded as its head", org)
			first := fmt.Sprintf("You are now Uni %s's nominated lead for the Technician Commitment, in place of Sam Patel.", org)
			replaced := "you are no longer Uni " + org + "'s nominated lead"
			if c.corrected {
				to, both = events.Person{Name: lead.Name, Title: "Director", Email: "s.patel@exampleton.ac.uk"}, both+" at this address"
				first = fmt.Sprintf("The address the Technician Commitment holds for you as Uni %s's nominated lead is now this one, s.patel@exampleton.ac.uk, in place of lead@exampleton.ac.uk.", org)
				replaced = "your address as Uni " + org + "'s nominated lead has changed"
			}
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: to, NominatedLead: to})
			h.waitFor(org)
			testenv.Eventually(t, 10*time.Second, func() error {
				if got := subjects(mailTo(h, to.Email, 0)); len(got) == 0 {
					return fmt.Errorf("%s received nothing yet", to.Email)
				}
				return nil
			})
			h.clock.Advance(time.Minute)
			h.runUntil(c.on)
			h.runUntil(c.on)
			got := mailTo(h, to.Email, 0)
			if want := []string{both}; !slices.Equal(subjects(got), want) {
				t.Fatalf("%s received %q, want %q alone", to.Email, subjects(got), want)
			}
			checkSays(t, got[0], first,
				fmt.Sprintf("You are also recorded as the head of Uni %s for the Technician Commitment, in place of Prof. Jane Smith: ITSS writes to you, as its head, when Uni %s's obligations fall overdue, when its nominated lead changes and if it withdraws.", org, org),
				c.says)
			if says := strings.Contains(got[0].Text, "The attached calendar entry marks the self-assessment and action plan's due date."); says != c.reminder || got[0].ICS != c.reminder {
				t.Errorf("the email naming them says it carries the calendar entry: %v, carries one: %v, want %v:\n%s", says, got[0].ICS, c.reminder, got[0].Text)
			}
			if got := subjects(mailTo(h, lead.Email, samFrom)); len(got) != 1 || !strings.Contains(got[0], replaced) {
				t.Errorf("the lead's address before received %q, want %q", got, replaced)
			}
			if got := subjects(mailTo(h, leader.Email, janeFrom)); len(got) != 1 || !strings.Contains(got[0], "you are no longer recorded as the head of Uni "+org) {
				t.Errorf("Jane received %q, want to be told they are no longer its head", got)
			}
		})
	}
}

// A person both nominated lead and head of an organisation, replaced in both roles by
// one change, was sent two emails at once: the one saying they no longer lead it and
// the one saying they are no longer recorded as its head. They are now sent one, the
// first, which says both (who is recorded as the head in their place, and that ITSS
// no longer writes to them as its head); from either replica, however often they
// sweep. So when their address is corrected in both roles at once.
func TestAPersonReplacedAsLeadAndHeadAtOnceIsToldBothInOneEmail(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Title: "Director", Email: "c.lee@exampleton.ac.uk"}
	kim := events.Person{Name: "Prof. Kim Ode", Title: "Vice-Chancellor", Email: "k.ode@exampleton.ac.uk"}
	samAt := events.Person{Name: lead.Name, Title: "Director", Email: "s.patel@exampleton.ac.uk"}
	cases := []struct {
		name          string
		lead, head    events.Person
		subject, says string
	}{
		{name: "by one person", lead: chris, head: chris,
			subject: "Technician Commitment: you are no longer Uni %s's nominated lead or recorded as its head",
			says:    "You are also no longer recorded as the head of Uni %s: Chris Lee, at c.lee@exampleton.ac.uk, is recorded as its head in place of you. ITSS now writes to them, not to you, when Uni %s's obligations fall overdue, when its nominated lead changes and if it withdraws."},
		{name: "by two people", lead: chris, head: kim,
			subject: "Technician Commitment: you are no longer Uni %s's nominated lead or recorded as its head",
			says:    "You are also no longer recorded as the head of Uni %s: Prof. Kim Ode, at k.ode@exampleton.ac.uk, is recorded as its head in place of you. ITSS now writes to them, not to you, when Uni %s's obligations fall overdue, when its nominated lead changes and if it withdraws."},
		{name: "the address corrected", lead: samAt, head: samAt,
			subject: "Technician Commitment: your address as Uni %s's nominated lead and head has changed",
			says:    "The address the Technician Commitment holds for you as the head of Uni %s is now s.patel@exampleton.ac.uk too, in place of this one: ITSS now writes to that address, not this one, when Uni %s's obligations fall overdue, when its nominated lead changes and if it withdraws."},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("bothout%d", i)
			h.onboard(org, civil.New(2026, 6, 14), civil.New(2026, 12, 14))
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: lead, NominatedLead: lead})
			h.waitFor(org)
			h.runUntil(civil.New(2026, 11, 14)) // Sam Patel, lead and head, is reminded
			from := len(mailTo(h, lead.Email, 0))

			h.clock.Set(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: c.head, NominatedLead: c.lead})
			h.waitFor(org)
			testenv.Eventually(t, 10*time.Second, func() error {
				if got := mailTo(h, c.lead.Email, 0); len(got) == 0 {
					return fmt.Errorf("%s received nothing yet", c.lead.Email)
				}
				return nil
			})
			h.clock.Advance(time.Minute)
			h.runUntil(civil.New(2026, 11, 20))
			h.runUntil(civil.New(2026, 11, 20))
			got := mailTo(h, lead.Email, from)
			if want := []string{fmt.Sprintf(c.subject, org)}; !slices.Equal(subjects(got), want) {
				t.Fatalf("Sam Patel, lead and head before, received %q, want %q alone", subjects(got), want)
			}
			checkSays(t, got[0], strings.ReplaceAll(c.says, "%s", org))
		})
	}
}

// The email naming a lead, refused by the relay and tried again on a later day on
// which a reminder of the obligation is due to them, went beside that day's reminder:
// two emails to the new lead at once, each saying where it stands. The retry is now
// that day's reminder to them: it takes the day's key (so the sweep's reminder does
// not follow it, from either replica, however often they sweep), says where it stands
// that day and carries the due date's calendar entry. The ladder goes on from there,
// and the head's overdue email counts the day among those the lead was reminded.
func TestALeadNamedEmailRetriedOnALaterDayIsThatDaysReminder(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	cases := []struct {
		name     string
		named    civil.Date // the day Chris is named, the relay refusing them
		retried  civil.Date // the day it takes them again
		says     string
		reminded string // the days the head's overdue email says Chris was reminded
	}{
		// Named on a day no step is due: the retry is the next day's 7-day reminder.
		{name: "named the day before a step", named: civil.New(2026, 12, 6), retried: civil.New(2026, 12, 7),
			says:     "As of today, Monday 7 December 2026, it is due in 7 days.",
			reminded: "Chris Lee, was reminded of it by email on Monday 7 December 2026, Sunday 13 December 2026 and Monday 21 December 2026."},
		// Named on the 7-day step's day, taking its key; the relay refuses them until
		// the day before it is due.
		{name: "named on a step's day", named: civil.New(2026, 12, 7), retried: civil.New(2026, 12, 13),
			says:     "As of today, Sunday 13 December 2026, it is due tomorrow.",
			reminded: "Chris Lee, was reminded of it by email on Sunday 13 December 2026 and Monday 21 December 2026."},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("nlretry%d", i)
			h.onboard(org, civil.New(2026, 6, 14), civil.New(2026, 12, 14))
			h.sweepOn(civil.New(2026, 11, 14)) // 30 days left: Sam Patel is reminded
			ops := h.http.Token(auth.RoleOps, "")
			h.clock.Set(time.Date(c.named.Time().Year(), c.named.Time().Month(), c.named.Time().Day(), 9, 0, 0, 0, time.UTC))
			h.box.tryLater(chris.Email)
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: leader, NominatedLead: chris})
			h.waitFor(org)
			testenv.Eventually(t, 10*time.Second, func() error {
				failed := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id="+org+"&status=failed", ops, nil)).JSON(t)["items"].([]any)
				if len(failed) != 1 {
					return fmt.Errorf("the new lead's refused attempt is not recorded yet: %v", failed)
				}
				return nil
			})
			h.runUntil(c.named) // both replicas sweep that day: the relay still refuses Chris
			h.box.tryLater()

			h.clock.Set(time.Date(c.retried.Time().Year(), c.retried.Time().Month(), c.retried.Time().Day(), 8, 0, 0, 0, time.UTC))
			h.runUntil(c.retried)
			h.clock.Advance(time.Minute)
			h.runUntil(c.retried)
			named := fmt.Sprintf("Technician Commitment: you are now Uni %s's nominated lead", org)
			got := mailTo(h, chris.Email, 0)
			if want := []string{named}; !slices.Equal(subjects(got), want) {
				t.Fatalf("Chris received %q, want %q alone: retried on %s, it is that day's reminder", subjects(got), want, c.retried)
			}
			checkSays(t, got[0], fmt.Sprintf("Uni %s's next obligation is the self-assessment and action plan of cycle 1, due on Monday 14 December 2026.", org),
				c.says, "The attached calendar entry marks the self-assessment and action plan's due date.")
			if cal := calendarOf(t, got[0]); cal.uid != org+"-c1-due@technician-commitment.itss.org.uk" || cal.method != "PUBLISH" {
				t.Errorf("the retried email naming Chris lead carries %+v, want the due date's entry", cal)
			}
			sent := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id="+org+"&status=sent", ops, nil)).JSON(t)["items"].([]any)
			toChris := 0
			for _, it := range sent {
				if to, _ := it.(map[string]any)["to"].([]any); len(to) == 1 && to[0].(map[string]any)["email"] == chris.Email {
					toChris++
				}
			}
			if toChris != 1 {
				t.Errorf("the log holds %d emails sent to Chris, want 1", toChris)
			}

			// The ladder goes on: due tomorrow (unless that was the retry), then overdue
			// to the head too, who is told when the lead was reminded.
			if c.retried.Before(civil.New(2026, 12, 13)) {
				before := len(h.box.all())
				h.sweepOn(civil.New(2026, 12, 13))
				tomorrow := fmt.Sprintf("Technician Commitment: Uni %s's self-assessment and action plan is due tomorrow (Monday 14 December 2026)", org)
				if got := byRecipient(mailOf(h, org, before)); !slices.Equal(got[chris.Email], []string{tomorrow}) || len(got) != 1 {
					t.Errorf("on 13 December: %v, want %q to Chris alone", got, tomorrow)
				}
			}
			before := len(h.box.all())
			h.sweepOn(civil.New(2026, 12, 21))
			for _, m := range mailOf(h, org, before) {
				if slices.Contains(m.To, leader.Email) {
					checkSays(t, m, c.reminded)
				}
			}
		})
	}
}

// The email naming a lead that the relay refused for good, resent by ITSS on a later
// day after that day's reminder went to them, said where the obligation stands again,
// as the reminder had a moment before. Resent so, it still tells them they lead the
// organisation and what is due next, and leaves where it stands to the reminder, with
// its calendar entry: it says neither again.
func TestALeadNamedEmailResentAfterThatDaysReminderDoesNotSayItAgain(t *testing.T) {
	t.Parallel()
	h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
	h.onboard("nlresent", civil.New(2026, 6, 14), civil.New(2026, 12, 14))
	h.sweepOn(civil.New(2026, 11, 14))
	ops := h.http.Token(auth.RoleOps, "")
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	h.clock.Set(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
	h.box.mu.Lock()
	h.box.refuse = func(rcpt string) *smtp.SMTPError {
		if rcpt == chris.Email {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
		}
		return nil
	}
	h.box.mu.Unlock()
	h.publish("nlresent", events.OrganisationContactsChangedV1{OrganisationID: "nlresent", Leader: leader, NominatedLead: chris})
	h.waitFor("nlresent")
	testenv.Eventually(t, 10*time.Second, func() error {
		gaveUp := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=nlresent&status=given_up", ops, nil)).JSON(t)["items"].([]any)
		if len(gaveUp) != 1 {
			return fmt.Errorf("the new lead's refused email is not given up yet: %v", gaveUp)
		}
		return nil
	})
	h.box.tryLater() // the mailbox is put right

	h.clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
	h.runUntil(civil.New(2026, 12, 7))
	day := "Technician Commitment: Uni nlresent's self-assessment and action plan is due in 7 days (Monday 14 December 2026)"
	if got := subjects(mailTo(h, chris.Email, 0)); !slices.Equal(got, []string{day}) {
		t.Fatalf("Chris received %q, want the day's reminder", got)
	}
	h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "nlresent", "lead-named", chris.Email)+"/resends", ops, nil))
	got := mailTo(h, chris.Email, 1)
	if want := []string{"Technician Commitment: you are now Uni nlresent's nominated lead"}; !slices.Equal(subjects(got), want) {
		t.Fatalf("Chris received %q after the resend, want %q", subjects(got), want)
	}
	checkSays(t, got[0], "You are now Uni nlresent's nominated lead for the Technician Commitment, in place of Sam Patel.",
		"Uni nlresent's next obligation is the self-assessment and action plan of cycle 1, due on Monday 14 December 2026. Submissions are open now. The reminder of it sent to you today says where it stands.")
	if strings.Contains(got[0].Text, "As of today") || strings.Contains(got[0].Text, "calendar entry") || got[0].ICS {
		t.Errorf("the resent email says again where it stands, or carries the calendar entry, as the day's reminder did:\n%s", got[0].Text)
	}
	h.runUntil(civil.New(2026, 12, 7))
	if n := len(mailTo(h, chris.Email, 0)); n != 2 {
		t.Errorf("Chris received %q that day, want the reminder and the resent email alone", subjects(mailTo(h, chris.Email, 0)))
	}
}

// The one email naming a person lead and head at once, refused by the relay and tried
// again once another head is recorded, no longer says they are the head: it names
// them lead alone.
func TestTheEmailNamingALeadAndHeadRetriedOnceAnotherIsHeadNamesThemLeadAlone(t *testing.T) {
	t.Parallel()
	h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
	h.onboard("bothretry", civil.New(2026, 6, 14), civil.New(2026, 12, 14))
	ops := h.http.Token(auth.RoleOps, "")
	chris := events.Person{Name: "Chris Lee", Title: "Director", Email: "c.lee@exampleton.ac.uk"}
	h.clock.Set(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	h.box.tryLater(chris.Email)
	h.publish("bothretry", events.OrganisationContactsChangedV1{OrganisationID: "bothretry", Leader: chris, NominatedLead: chris})
	h.waitFor("bothretry")
	testenv.Eventually(t, 10*time.Second, func() error {
		failed := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=bothretry&status=failed", ops, nil)).JSON(t)["items"].([]any)
		if len(failed) != 1 {
			return fmt.Errorf("the refused email naming Chris is not recorded yet: %v", failed)
		}
		return nil
	})
	h.box.tryLater()
	h.publish("bothretry", events.OrganisationContactsChangedV1{OrganisationID: "bothretry", Leader: leader, NominatedLead: chris})
	h.waitFor("bothretry")
	h.clock.Advance(time.Hour)
	h.runUntil(civil.New(2026, 11, 20))
	lead := "Technician Commitment: you are now Uni bothretry's nominated lead"
	var named []received
	for _, m := range mailTo(h, chris.Email, 0) {
		if strings.Contains(m.Subject, "nominated lead") {
			named = append(named, m)
		}
	}
	if len(named) != 1 || named[0].Subject != lead {
		t.Fatalf("Chris received %q, want %q once", subjects(mailTo(h, chris.Email, 0)), lead)
	}
	checkSays(t, named[0], "You are now Uni bothretry's nominated lead for the Technician Commitment, in place of Sam Patel.")
	if strings.Contains(named[0].Text, "head of") {
		t.Errorf("the retried email still says Chris is the head:\n%s", named[0].Text)
	}
}

// A change naming another lead and another head at once sent some people two emails
// at once, one per role: a new head (not the new lead) was told the lead had changed
// and, apart, that they were now its head, which named the lead already; a lead made
// head, with another lead named, that they no longer led and that they were now its
// head; a head made lead, with another head named, that they now led and that they were
// no longer its head (and that they remained its lead, which they had not been). Each
// person is now sent one email, which says both; from either replica, however often
// they sweep, and on the day of an overdue step, of which the emails naming a lead or
// a head are that day's reminder. So for a new head when one person, lead and head,
// is replaced by two.
func TestEachPersonAChangeOfLeadAndHeadConcernsIsSentOneEmail(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Title: "Director", Email: "c.lee@exampleton.ac.uk"}
	kim := events.Person{Name: "Prof. Kim Ode", Title: "Vice-Chancellor", Email: "k.ode@exampleton.ac.uk"}
	samAt := events.Person{Name: lead.Name, Title: "Director", Email: "s.patel@exampleton.ac.uk"}
	type want struct {
		to      string
		subject string
		says    []string
	}
	cases := []struct {
		name       string
		lead, head events.Person
		both       bool // Sam Patel is the head too before the change
		want       []want
	}{
		{name: "a new head and a new lead", lead: chris, head: kim, want: []want{
			{kim.Email, "Technician Commitment: you are now recorded as the head of Uni %s", []string{
				"Uni %s's nominated lead, Chris Lee, at c.lee@exampleton.ac.uk, acts for it with ITSS",
				"With the same change, Uni %s's nominated lead became Chris Lee, at c.lee@exampleton.ac.uk, in place of Sam Patel."}},
			{chris.Email, "Technician Commitment: you are now Uni %s's nominated lead", nil},
			{lead.Email, "Technician Commitment: you are no longer Uni %s's nominated lead", nil},
			{leader.Email, "Technician Commitment: you are no longer recorded as the head of Uni %s", nil},
		}},
		{name: "a new head and the lead's address corrected", lead: samAt, head: kim, want: []want{
			{kim.Email, "Technician Commitment: you are now recorded as the head of Uni %s", []string{
				"With the same change, the address of Uni %s's nominated lead, Sam Patel, became s.patel@exampleton.ac.uk, in place of lead@exampleton.ac.uk."}},
			{samAt.Email, "Technician Commitment: you are now Uni %s's nominated lead at this address", nil},
			{lead.Email, "Technician Commitment: your address as Uni %s's nominated lead has changed", nil},
			{leader.Email, "Technician Commitment: you are no longer recorded as the head of Uni %s", nil},
		}},
		{name: "the lead made head, another lead named", lead: chris, head: lead, want: []want{
			{lead.Email, "Technician Commitment: you are now recorded as the head of Uni %s, and are no longer its nominated lead", []string{
				"You are now recorded as the head of Uni %s for the Technician Commitment, in place of Prof. Jane Smith.",
				"You are no longer Uni %s's nominated lead: Chris Lee, at c.lee@exampleton.ac.uk, is its nominated lead in place of you. The deadline reminders for Uni %s now go to them, and they sign in to the Technician Commitment portal for it; you no longer do. We have emailed them to tell them.",
				"The attached calendar update removes Uni %s's self-assessment and action plan, due on {due}, from your calendar, if you added it from a reminder."}},
			{chris.Email, "Technician Commitment: you are now Uni %s's nominated lead", nil},
			{leader.Email, "Technician Commitment: you are no longer recorded as the head of Uni %s", nil},
		}},
		{name: "the head made lead, another head named", lead: leader, head: kim, want: []want{
			{leader.Email, "Technician Commitment: you are now Uni %s's nominated lead, and are no longer recorded as its head", []string{
				"You are now Uni %s's nominated lead for the Technician Commitment, in place of Sam Patel.",
				"You are no longer recorded as the head of Uni %s: Prof. Kim Ode, at k.ode@exampleton.ac.uk, is recorded as its head in place of you. ITSS now writes to them as its head when Uni %s's obligations fall overdue, when its nominated lead changes and if it withdraws."}},
			{kim.Email, "Technician Commitment: you are now recorded as the head of Uni %s", []string{
				"With the same change, Uni %s's nominated lead became Prof. Jane Smith, at vc@exampleton.ac.uk, in place of Sam Patel."}},
			{lead.Email, "Technician Commitment: you are no longer Uni %s's nominated lead", nil},
		}},
		{name: "the lead made head, their address as lead corrected", lead: samAt, head: lead, want: []want{
			{lead.Email, "Technician Commitment: you are now recorded as the head of Uni %s, and your address as its nominated lead has changed", []string{
				"The address the Technician Commitment holds for you as Uni %s's nominated lead is now s.patel@exampleton.ac.uk, in place of this one: the deadline reminders for Uni %s now go to that address, and you sign in to the Technician Commitment portal with it; this address no longer does."}},
			{samAt.Email, "Technician Commitment: you are now Uni %s's nominated lead at this address", nil},
			{leader.Email, "Technician Commitment: you are no longer recorded as the head of Uni %s", nil},
		}},
		{name: "the lead and head, one person, replaced by two", lead: chris, head: kim, both: true, want: []want{
			{kim.Email, "Technician Commitment: you are now recorded as the head of Uni %s", []string{
				"With the same change, Uni %s's nominated lead became Chris Lee, at c.lee@exampleton.ac.uk, in place of Sam Patel."}},
			{chris.Email, "Technician Commitment: you are now Uni %s's nominated lead", nil},
			{lead.Email, "Technician Commitment: you are no longer Uni %s's nominated lead or recorded as its head", nil},
		}},
		{name: "the lead and the head swapped", lead: leader, head: lead, want: []want{
			{leader.Email, "Technician Commitment: you are now Uni %s's nominated lead, and are no longer recorded as its head", []string{
				"You are no longer recorded as the head of Uni %s: Sam Patel, at lead@exampleton.ac.uk, is recorded as its head in place of you."}},
			{lead.Email, "Technician Commitment: you are now recorded as the head of Uni %s, and are no longer its nominated lead", []string{
				"You are no longer Uni %s's nominated lead: Prof. Jane Smith, at vc@exampleton.ac.uk, is its nominated lead in place of you."}},
		}},
	}
	// Overdue, on the day of its 7-days-overdue step, the emails naming a lead or a head
	// are that day's reminder to them, and the sweeps send nothing beside them.
	for i, c := range cases {
		for _, overdue := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, overdue %v", c.name, overdue), func(t *testing.T) {
				t.Parallel()
				h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
				org := fmt.Sprintf("onemail%d%v", i, overdue)
				due, day := civil.New(2026, 12, 14), "Monday 14 December 2026"
				if overdue {
					due, day = civil.New(2026, 11, 13), "Friday 13 November 2026"
				}
				h.onboard(org, due.AddDays(-183), due)
				if c.both {
					h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: lead, NominatedLead: lead})
					h.waitFor(org)
				}
				h.runUntil(civil.New(2026, 11, 14)) // Sam Patel, the lead, is reminded
				from := len(h.box.all())

				h.clock.Set(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
				h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: c.head, NominatedLead: c.lead})
				h.waitFor(org)
				testenv.Eventually(t, 10*time.Second, func() error {
					if got := len(h.box.all()) - from; got < len(c.want) {
						return fmt.Errorf("%d emails sent yet, want %d", got, len(c.want))
					}
					return nil
				})
				h.clock.Advance(time.Minute)
				h.runUntil(civil.New(2026, 11, 20))
				h.runUntil(civil.New(2026, 11, 20))
				sent := h.box.all()[from:]
				for _, w := range c.want {
					var got []received
					for _, m := range sent {
						if strings.EqualFold(strings.Join(m.To, ","), w.to) {
							got = append(got, m)
						}
					}
					if subject := fmt.Sprintf(w.subject, org); len(got) != 1 || got[0].Subject != subject {
						t.Errorf("%s received %q, want %q alone", w.to, subjects(got), subject)
						continue
					}
					for _, s := range w.says {
						checkSays(t, got[0], strings.ReplaceAll(strings.ReplaceAll(s, "%s", org), "{due}", day))
					}
					if overdue && (strings.Contains(got[0].Subject, "you are now") || strings.Contains(got[0].Subject, "at this address")) {
						checkSays(t, got[0], "As of today, Friday 20 November 2026, it is 7 days overdue.")
					}
				}
				if len(sent) != len(c.want) {
					t.Errorf("the change sent %d emails, %q, want %d, one to each person it concerns", len(sent), subjects(sent), len(c.want))
				}
			})
		}
	}
}
