package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// counted is the sum over every replica of the series name{kind=kind}.
func counted(h *harness, name, kind string) (float64, error) {
	sum := 0.0
	for _, c := range h.clients {
		n, err := c.Metric(name, "kind", kind)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// countedIs waits until counted(h, name, kind) is want.
func countedIs(t *testing.T, h *harness, want float64, name, kind string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		n, err := counted(h, name, kind)
		if err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("%s{kind=%q} = %v over both replicas, want %v", name, kind, n, want)
		}
		return nil
	})
}

// An email not sent because it no longer had to be was counted among the emails
// given up (tc_notify_emails_given_up_total), which the alert TCEmailsGivenUp reads
// as an email that failed for good: the alert fired with nothing failed. So for the
// email naming a lead, refused for now and tried again on a later day, that went as
// that day's reminder (its own entry given up as superseded by it), and for one
// tried again once another lead was named (no longer true). Neither is counted as
// given up now: each is counted as overtaken (tc_notify_emails_overtaken_total).
func TestAnEmailOvertakenIsNotCountedAsGivenUp(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	pat := events.Person{Name: "Pat Quinn", Email: "p.quinn@exampleton.ac.uk"}
	cases := []struct {
		name string
		// then happens after the email naming Chris was refused for now on 6
		// December, before it is tried again on 7 December.
		then  func(h *harness, org string)
		error string // what the email's own entry is given up with
		sent  int    // emails Chris receives
	}{
		{name: "sent as the day's reminder", then: func(*harness, string) {}, error: "superseded: sent on Monday 7 December 2026 as that day's reminder", sent: 1},
		{name: "no longer true", then: func(h *harness, org string) {
			h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: leader, NominatedLead: pat})
			h.waitFor(org)
		}, error: "no longer true: ", sent: 1}, // the email telling Chris the role passed on
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("overtaken%d", i)
			namedAndRefusedForNow(h, org, chris)
			h.box.tryLater()
			c.then(h, org)

			h.clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
			h.runUntil(civil.New(2026, 12, 7))
			h.clock.Advance(10 * time.Minute)
			h.runUntil(civil.New(2026, 12, 7))
			if n := h.box.sentTo(chris.Email); n != c.sent {
				t.Fatalf("Chris received %d emails, want %d", n, c.sent)
			}
			var own map[string]any
			for _, d := range logTo(h, org, chris.Email) {
				if e, _ := d["last_error"].(string); d["status"] == "given_up" && strings.HasPrefix(e, c.error) {
					own = d
				}
			}
			if own == nil {
				t.Fatalf("no email to Chris is given up with %q: %v", c.error, logTo(h, org, chris.Email))
			}
			countedIs(t, h, 0, "tc_notify_emails_given_up_total", "lead-named")
			countedIs(t, h, 1, "tc_notify_emails_overtaken_total", "lead-named")
		})
	}
}

// The email naming a lead, refused for now on the day it was written and tried again
// on a later day as that day's reminder, refused for now again there, and given up
// later (refused for good on a retry, or refused for now to the last attempt),
// left the email's own entry saying "superseded: it goes as that day's reminder to
// them, ..., being sent or to be tried again": for good, though it never went. Its
// entry now says, once that day's entry is given up, that it was tried as that day's
// reminder, which was not sent, as when the relay refused it for good at once; and,
// once that day's entry is sent on a retry, that it was sent so.
func TestALeadNamedEmailRefusedForNowAsTheDaysReminderAndGivenUpLaterIsLoggedAsRefused(t *testing.T) {
	t.Parallel()
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	cases := []struct {
		name    string
		later   int // the relay's answer once the day's entry failed once
		refusal string
	}{
		{name: "refused for good on a retry", later: 550, refusal: "sending SMTP RCPT TO command: 550"},
		{name: "refused for now to the last attempt", later: 451, refusal: "sending SMTP RCPT TO command: 451"},
		// The day's entry sent on a retry: the email's entry says it was sent so.
		{name: "sent on a retry"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
			org := fmt.Sprintf("nlrefusedlater%d", i)
			namedAndRefusedForNow(h, org, chris)

			// 7 December: the 7-day step is due; the email goes as its reminder, and
			// the relay refuses it for now; the email's own entry is given up as going
			// as that day's reminder.
			h.clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
			h.runUntil(civil.New(2026, 12, 7))
			h.clock.Advance(time.Minute)
			h.runUntil(civil.New(2026, 12, 7))
			h.box.mu.Lock()
			h.box.refuse = func(rcpt string) *smtp.SMTPError {
				if rcpt == chris.Email && c.later != 0 {
					return &smtp.SMTPError{Code: c.later, EnhancedCode: smtp.EnhancedCode{c.later / 100, 1, 1}, Message: "no"}
				}
				return nil
			}
			h.box.mu.Unlock()
			// The retries, until the day's entry is given up (2, 4, 8, 16 and 32
			// minutes apart).
			for range 8 {
				h.clock.Advance(40 * time.Minute)
				h.runUntil(civil.New(2026, 12, 7))
			}
			if c.later != 0 {
				refusedAsTheDaysReminder(t, h, org, chris, c.refusal)
				return
			}
			if n := h.box.sentTo(chris.Email); n != 1 {
				t.Fatalf("Chris received %d emails, want the email naming them once", n)
			}
			for _, d := range logTo(h, org, chris.Email) {
				if e, _ := d["last_error"].(string); d["status"] == "given_up" && !strings.HasPrefix(e, "superseded: sent on Monday 7 December 2026 as that day's reminder to them, delivery ") {
					t.Errorf("the email naming Chris is logged as %q, want that it was sent as that day's reminder", e)
				}
			}
		})
	}
}
