package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/testenv"
)

// metricIs polls notify's /metrics, on its admin listener, until the series has the
// value.
func (h *harness) metricIs(want float64, name string, labels ...string) {
	h.t.Helper()
	testenv.Eventually(h.t, 20*time.Second, func() error {
		got, err := h.http.Metric(name, labels...)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s%v = %v, want %v", name, labels, got, want)
		}
		return nil
	})
}

func (h *harness) sweep() {
	h.t.Helper()
	if _, err := h.svcs[0].App.Sweep(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// TestEmailOutcomesAndRemindersAreCounted drives a reminder through the outcomes
// /metrics reports: due and not yet sent, a send the relay refuses for now (failed,
// to be retried), the retry that is sent, and another organisation's reminder the
// relay refuses for good (given up).
func TestEmailOutcomesAndRemindersAreCounted(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	for _, name := range []string{"tc_notify_emails_sent_total", "tc_notify_emails_failed_total", "tc_notify_emails_given_up_total"} {
		h.metricIs(0, name, "kind", "reminder")
	}
	h.metricIs(0, "tc_notify_reminders_due")

	// The window opens today: its reminder is due, and waits for the sweep.
	h.onboard("m", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	h.metricIs(1, "tc_notify_reminders_due")

	refuse := func(code int) {
		h.box.mu.Lock()
		defer h.box.mu.Unlock()
		if code == 0 {
			h.box.refuse = nil
			return
		}
		h.box.refuse = func(string) *smtp.SMTPError {
			return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "not now"}
		}
	}
	refuse(451)
	h.sweep()
	h.metricIs(1, "tc_notify_emails_failed_total", "kind", "reminder")
	h.metricIs(0, "tc_notify_emails_sent_total", "kind", "reminder")
	h.metricIs(0, "tc_notify_reminders_due")

	refuse(0)
	h.clock.Advance(3 * time.Minute) // past the first retry's wait
	h.sweep()
	h.metricIs(1, "tc_notify_emails_sent_total", "kind", "reminder")
	h.metricIs(1, "tc_notify_reminders_sent_total", "step", "window-open")
	h.metricIs(1, "tc_notify_emails_failed_total", "kind", "reminder")

	refuse(550)
	h.onboard("x", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	h.sweep()
	h.metricIs(1, "tc_notify_emails_given_up_total", "kind", "reminder")
	h.metricIs(1, "tc_notify_emails_sent_total", "kind", "reminder")
	h.metricIs(1, "tc_notify_reminders_sent_total", "step", "window-open")
	h.metricIs(0, "tc_notify_reminders_due")
}
