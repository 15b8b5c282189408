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

// at9 is 09:00 (UTC) on day.
func at9(day civil.Date) time.Time {
	return time.Date(day.Time().Year(), day.Time().Month(), day.Time().Day(), 9, 0, 0, 0, time.UTC)
}

// logTo is org's part of the delivery log, as ops read it, for the emails to email.
func logTo(h *harness, org, email string) []map[string]any {
	h.t.Helper()
	ops := h.http.Token(auth.RoleOps, "")
	var out []map[string]any
	for _, it := range h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id="+org, ops, nil)).JSON(h.t)["items"].([]any) {
		d := it.(map[string]any)
		if to, _ := d["to"].([]any); len(to) == 1 && to[0].(map[string]any)["email"] == email {
			out = append(out, d)
		}
	}
	return out
}

// waitFailed waits until the log holds an email to email in org refused for now.
func waitFailed(h *harness, org, email string) {
	h.t.Helper()
	testenv.Eventually(h.t, 10*time.Second, func() error {
		for _, d := range logTo(h, org, email) {
			if d["status"] == "failed" {
				return nil
			}
		}
		return fmt.Errorf("no refused attempt to %s recorded yet: %v", email, logTo(h, org, email))
	})
}

// An email about a corrected deadline, refused by the relay and tried again on a
// later day on which a reminder of the obligation is due to its recipient, went
// beside that day's reminder: two emails at once, each saying where it stands. It is
// now that day's reminder, as the email naming a lead is: it goes under the day's
// key, saying where it stands that day, and the sweeps of two replicas send nothing
// beside it; to the lead it still carries the due date's calendar entry. So for the
// lead on a step's day, and for the head on an overdue step's day.
func TestACorrectionRetriedOnALaterDayIsThatDaysReminder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		opens    civil.Date
		due      civil.Date
		refused  string // the recipient the relay refuses on the day of the correction
		says     string
		reminded string // the other recipient's email the next day, if any
	}{
		// Corrected on 6 December, the 7-day step due the next day.
		{name: "lead", opens: civil.New(2026, 6, 14), due: civil.New(2026, 12, 14), refused: lead.Email,
			says: "As of today, Monday 7 December 2026, it is due in 7 days."},
		// Corrected to 6 days overdue on 6 December, the 7-days-overdue step (the
		// head's too) due the next day.
		{name: "head", opens: civil.New(2026, 5, 30), due: civil.New(2026, 11, 30), refused: leader.Email,
			says:     "As of today, Monday 7 December 2026, it is 7 days overdue.",
			reminded: "Technician Commitment: Uni ocretryhead's self-assessment and action plan is 7 days overdue (due Monday 30 November 2026)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			corrected, retried := civil.New(2026, 12, 6), civil.New(2026, 12, 7)
			h := start(t, 2, at9(corrected))
			org := "ocretry" + c.name
			h.onboard(org, c.opens.AddDays(365), c.due.AddDays(365))
			h.box.tryLater(c.refused)
			h.correctTo(org, c.opens, c.due)
			waitFailed(h, org, c.refused)
			h.runUntil(corrected) // both replicas sweep that day: the relay still refuses it
			h.box.tryLater()

			from := len(h.box.all())
			h.clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
			h.runUntil(retried)
			h.clock.Advance(time.Minute)
			h.runUntil(retried)
			got := byRecipient(mailOf(h, org, from))
			subject := correctedSubject(org, c.due, retried)
			if want := []string{subject}; !slices.Equal(got[c.refused], want) {
				t.Fatalf("on %s %s received %q, want %q alone: retried that day, it is that day's reminder", retried, c.refused, got[c.refused], want)
			}
			m := mailTo(h, c.refused, 0)
			m = m[len(m)-1:]
			checkSays(t, m[0], c.says)
			if c.refused == lead.Email {
				if cal := calendarOf(t, m[0]); cal.uid != org+"-c1-due@technician-commitment.itss.org.uk" || cal.method != "PUBLISH" {
					t.Errorf("the retried correction to the lead carries %+v, want the due date's entry", cal)
				}
			}
			for to, subjects := range got {
				if to == c.refused {
					continue
				}
				if want := []string{c.reminded}; c.reminded == "" || !slices.Equal(subjects, want) {
					t.Errorf("on %s %s received %q, want %q", retried, to, subjects, c.reminded)
				}
			}
			sent := 0
			for _, d := range logTo(h, org, c.refused) {
				if d["status"] == "sent" {
					sent++
				}
			}
			if sent != 1 {
				t.Errorf("the log holds %d emails sent to %s, want the correction once", sent, c.refused)
			}
		})
	}
}

// The sweep's count of the emails it sent (logged as the reminder sweep's count) and
// the count of reminders sent by ladder step left out the email naming a lead that
// the sweep sent as the day's reminder: the sweeps of two replicas sent one email,
// and counted none. They now count it, once.
func TestTheSweepCountsALeadNamedEmailSentAsTheDaysReminder(t *testing.T) {
	t.Parallel()
	h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	org := "nlcount"
	namedAndRefusedForNow(h, org, chris)
	h.box.tryLater()
	before := 0.0
	for _, c := range h.clients {
		n, _ := c.Metric("tc_notify_reminders_sent_total", "step", "due-in-7")
		before += n
	}

	// 7 December: the 7-day step is due; the email naming Chris goes as its reminder.
	h.clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
	from := len(h.box.all())
	var counted atomic.Int64
	for range 2 {
		var wg sync.WaitGroup
		for _, s := range h.svcs {
			wg.Go(func() {
				n, err := s.App.Sweep(context.Background())
				if err != nil {
					t.Errorf("sweep: %v", err)
				}
				counted.Add(int64(n))
			})
		}
		wg.Wait()
		h.clock.Advance(time.Minute)
	}
	sent := len(h.box.all()) - from
	if got := subjects(mailTo(h, chris.Email, 0)); len(got) != 1 || !strings.Contains(got[0], "you are now Uni "+org+"'s nominated lead") {
		t.Fatalf("Chris received %q, want the email naming them alone", got)
	}
	if int(counted.Load()) != sent {
		t.Errorf("the sweeps counted %d emails sent, and sent %d", counted.Load(), sent)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		after := 0.0
		for _, c := range h.clients {
			n, _ := c.Metric("tc_notify_reminders_sent_total", "step", "due-in-7")
			after += n
		}
		if after-before != 1 {
			return fmt.Errorf("tc_notify_reminders_sent_total{step=due-in-7} rose by %v over both replicas, want 1", after-before)
		}
		return nil
	})
}

// The email naming a lead, refused for now and then for good (550) on the later day
// it went as that day's reminder, leaves the person without that day's reminder (its
// key is the email's). The delivery log said of the email's own attempt that it was
// "sent ... as that day's reminder": untrue. No entry now says the person was sent
// anything; the email's entry says it was tried as that day's reminder, which was not
// sent, naming that entry, which holds the relay's refusal.
func TestALeadNamedEmailRefusedForGoodAsTheDaysReminderIsLoggedAsRefused(t *testing.T) {
	t.Parallel()
	h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	org := "nlrefused"
	namedAndRefusedForNow(h, org, chris)
	h.box.mu.Lock()
	h.box.refuse = func(rcpt string) *smtp.SMTPError {
		if rcpt == chris.Email {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
		}
		return nil
	}
	h.box.mu.Unlock()

	h.clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
	h.runUntil(civil.New(2026, 12, 7))
	h.clock.Advance(10 * time.Minute)
	h.runUntil(civil.New(2026, 12, 7))
	refusedAsTheDaysReminder(t, h, org, chris, "sending SMTP RCPT TO command: 550")
}

// refusedAsTheDaysReminder checks the log after the email naming p, tried again as
// that day's reminder to them, was given up: p received nothing, the log holds two
// entries to them, both given up and never sent, one holding the relay's last
// answer, refusal (the day's), and the other saying it was tried as that day's
// reminder, naming it, which was not sent (neither "sent on" nor still "being sent").
// One email failed, and is counted given up once (the day's entry), not twice.
func refusedAsTheDaysReminder(t *testing.T, h *harness, org string, p events.Person, refusal string) {
	t.Helper()
	if n := h.box.sentTo(p.Email); n != 0 {
		t.Fatalf("%s received %d emails, want none: the relay refuses them", p.Name, n)
	}
	entries := logTo(h, org, p.Email)
	if len(entries) != 2 {
		t.Fatalf("the log holds %d emails to %s, want the email naming them and its attempt as the day's reminder: %v", len(entries), p.Name, entries)
	}
	var day string
	for _, d := range entries {
		if d["status"] != "given_up" || d["sent_at"] != nil {
			t.Errorf("the log says of an email to %s: %s, sent at %v, want given up, never sent", p.Name, d["status"], d["sent_at"])
		}
		if e, _ := d["last_error"].(string); strings.Contains(e, refusal) && !strings.Contains(e, "that day's reminder") {
			day, _ = d["id"].(string)
		}
	}
	if day == "" {
		t.Fatalf("no entry to %s holds the relay's refusal: %v", p.Name, entries)
	}
	for _, d := range entries {
		if d["id"] == day {
			continue
		}
		if e, _ := d["last_error"].(string); strings.Contains(e, "sent on") || strings.Contains(e, "being sent") || !strings.Contains(e, "not sent") || !strings.Contains(e, day) {
			t.Errorf("the email naming %s is logged as %q, want that it was tried as the day's reminder, %s, which was not sent", p.Name, e, day)
		}
	}
	countedIs(t, h, 1, "tc_notify_emails_given_up_total", "lead-named")
}

// The email recording a head of an overdue obligation, which says how long overdue it
// is, refused by the relay and tried again on the day of an overdue step, went beside
// that step's overdue email to them: two emails at once, each saying where it stands.
// It is now that day's overdue email to them, from either replica; the lead is
// reminded as before.
func TestTheEmailRecordingAHeadRetriedOnALaterDayIsThatDaysOverdueEmail(t *testing.T) {
	t.Parallel()
	kim := events.Person{Name: "Prof. Kim Ode", Title: "Vice-Chancellor", Email: "k.ode@exampleton.ac.uk"}
	h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
	org := "hnretry"
	h.onboard(org, civil.New(2026, 5, 30), civil.New(2026, 11, 30))
	h.sweepOn(civil.New(2026, 11, 30)) // due today: Sam Patel is reminded
	h.clock.Set(at9(civil.New(2026, 12, 6)))
	h.box.tryLater(kim.Email)
	h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: kim, NominatedLead: lead})
	h.waitFor(org)
	waitFailed(h, org, kim.Email)
	h.runUntil(civil.New(2026, 12, 6))
	h.box.tryLater()

	from := len(h.box.all())
	h.clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
	h.runUntil(civil.New(2026, 12, 7))
	h.clock.Advance(time.Minute)
	h.runUntil(civil.New(2026, 12, 7))
	got := byRecipient(mailOf(h, org, from))
	named := fmt.Sprintf("Technician Commitment: you are now recorded as the head of Uni %s", org)
	if want := []string{named}; !slices.Equal(got[kim.Email], want) {
		t.Fatalf("on 7 December Kim received %q, want %q alone: retried that day, it is that day's overdue email", got[kim.Email], want)
	}
	m := mailTo(h, kim.Email, 0)
	checkSays(t, m[len(m)-1], "As of today, Monday 7 December 2026, it is 7 days overdue.")
	overdue := fmt.Sprintf("Technician Commitment: Uni %s's self-assessment and action plan is 7 days overdue (due Monday 30 November 2026)", org)
	if want := []string{overdue}; !slices.Equal(got[lead.Email], want) {
		t.Errorf("on 7 December Sam Patel received %q, want %q", got[lead.Email], want)
	}
}

// A corrected deadline's email that the relay refused for good, resent by ITSS on a
// later day after that day's reminder went to the lead, said where the obligation
// stands again, as the reminder had a moment before. Resent so, it still says what
// was corrected, from what to what, with the calendar entry that moves the due date,
// and leaves where it stands to the reminder.
func TestACorrectionResentAfterThatDaysReminderDoesNotSayItAgain(t *testing.T) {
	t.Parallel()
	h := start(t, 2, at9(civil.New(2026, 12, 6)))
	org := "ocresent"
	opens, due := civil.New(2026, 6, 14), civil.New(2026, 12, 14)
	h.onboard(org, opens.AddDays(365), due.AddDays(365))
	h.box.mu.Lock()
	h.box.refuse = func(rcpt string) *smtp.SMTPError {
		if rcpt == lead.Email {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
		}
		return nil
	}
	h.box.mu.Unlock()
	h.correctTo(org, opens, due)
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, d := range logTo(h, org, lead.Email) {
			if d["status"] == "given_up" {
				return nil
			}
		}
		return fmt.Errorf("the correction to the lead is not given up yet: %v", logTo(h, org, lead.Email))
	})
	h.box.tryLater() // the mailbox is put right

	h.clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
	h.runUntil(civil.New(2026, 12, 7))
	day := fmt.Sprintf("Technician Commitment: Uni %s's self-assessment and action plan is due in 7 days (Monday 14 December 2026)", org)
	if got := subjects(mailTo(h, lead.Email, 0)); !slices.Equal(got, []string{day}) {
		t.Fatalf("Sam received %q, want the day's reminder", got)
	}
	ops := h.http.Token(auth.RoleOps, "")
	h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, org, "announcement-corrected", lead.Email)+"/resends", ops, nil))
	got := mailTo(h, lead.Email, 1)
	if want := []string{correctedSubject(org, due, civil.New(2026, 12, 7))}; !slices.Equal(subjects(got), want) {
		t.Fatalf("Sam received %q after the resend, want %q", subjects(got), want)
	}
	checkSays(t, got[0], "not on Tuesday 14 December 2027", "The reminder of it sent to you today says where it stands.")
	if strings.Contains(got[0].Text, "As of today") {
		t.Errorf("the resent correction says again where it stands, as the day's reminder did:\n%s", got[0].Text)
	}
	if cal := calendarOf(t, got[0]); cal.uid != org+"-c1-due@technician-commitment.itss.org.uk" || cal.method != "PUBLISH" {
		t.Errorf("the resent correction carries %+v, want the entry moving the due date", cal)
	}
	h.runUntil(civil.New(2026, 12, 7))
	if n := len(mailTo(h, lead.Email, 0)); n != 2 {
		t.Errorf("Sam received %q that day, want the reminder and the resent correction alone", subjects(mailTo(h, lead.Email, 0)))
	}
}

// The email naming a lead, sent, and resent by ITSS on a later day on which a reminder
// of the obligation is due to them, went beside that day's reminder: resent before the
// sweep, both said where it stands that day, and resent after it, it said so again. A
// resend follows the rule a retry does: before that day's reminder it is that
// reminder (under its key, saying where it stands, with the due date's calendar
// entry), and the sweeps of two replicas send nothing beside it; after it, it tells
// them they lead and what is due next, and leaves where it stands to the reminder. The
// entry resent stays sent, as it was.
func TestALeadNamedEmailResentOnALaterDayFollowsThatDaysReminder(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	named := "Technician Commitment: you are now Uni %s's nominated lead"
	day := "Technician Commitment: Uni %s's self-assessment and action plan is due in 7 days (Monday 14 December 2026)"
	cases := []struct {
		name       string
		sweptFirst bool // the day's reminder went before the resend
		want       []string
		says, not  []string
		ics        bool
	}{
		{name: "resent before that day's reminder", want: []string{named},
			says: []string{"As of today, Monday 7 December 2026, it is due in 7 days.", "The attached calendar entry marks the self-assessment and action plan's due date."},
			ics:  true},
		{name: "resent after that day's reminder", sweptFirst: true, want: []string{day, named},
			says: []string{"Submissions are open now. The reminder of it sent to you today says where it stands."},
			not:  []string{"As of today", "calendar entry"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("nlresentlater%d", i)
			h.onboard(org, civil.New(2026, 6, 14), civil.New(2026, 12, 14))
			h.sweepOn(civil.New(2026, 11, 14))
			ops := h.http.Token(auth.RoleOps, "")
			h.clock.Set(at9(civil.New(2026, 12, 6))) // no reminder is due that day
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: leader, NominatedLead: chris})
			h.waitFor(org)
			testenv.Eventually(t, 10*time.Second, func() error {
				if got := subjects(mailTo(h, chris.Email, 0)); !slices.Equal(got, []string{fmt.Sprintf(named, org)}) {
					return fmt.Errorf("Chris received %q, want the email naming them", got)
				}
				return nil
			})
			id := deliveryOf(h, org, "lead-named", chris.Email)

			h.clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
			if c.sweptFirst {
				h.runUntil(civil.New(2026, 12, 7))
			}
			resent := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil)).JSON(t)
			if resent["status"] != "sent" {
				t.Errorf("the entry resent is %v (%v), want sent, as it was", resent["status"], resent["last_error"])
			}
			h.runUntil(civil.New(2026, 12, 7))
			h.clock.Advance(time.Minute)
			h.runUntil(civil.New(2026, 12, 7))
			got := mailTo(h, chris.Email, 1)
			want := []string{}
			for _, s := range c.want {
				want = append(want, fmt.Sprintf(s, org))
			}
			if !slices.Equal(subjects(got), want) {
				t.Fatalf("Chris received %q on 7 December, want %q", subjects(got), want)
			}
			m := got[len(got)-1]
			checkSays(t, m, append([]string{fmt.Sprintf("You are now Uni %s's nominated lead for the Technician Commitment, in place of Sam Patel.", org)}, c.says...)...)
			for _, s := range c.not {
				if strings.Contains(m.Text, s) {
					t.Errorf("the resent email says %q, as the day's reminder did:\n%s", s, m.Text)
				}
			}
			if m.ICS != c.ics {
				t.Errorf("the resent email carries a calendar: %v, want %v", m.ICS, c.ics)
			}
		})
	}
}

// namedAndRefusedForNow onboards org (its form due on 14 December) and sweeps on 14
// November; on Sunday 6 December, the day before the 7-day reminder, it names
// person its lead, whose email the relay refuses for now: the email waits to be
// tried again, which falls on the day of that reminder.
func namedAndRefusedForNow(h *harness, org string, person events.Person) {
	h.onboard(org, civil.New(2026, 6, 14), civil.New(2026, 12, 14))
	h.sweepOn(civil.New(2026, 11, 14))
	h.clock.Set(at9(civil.New(2026, 12, 6)))
	h.box.tryLater(person.Email)
	h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: leader, NominatedLead: person})
	h.waitFor(org)
	waitFailed(h, org, person.Email)
	h.runUntil(civil.New(2026, 12, 6))
}
