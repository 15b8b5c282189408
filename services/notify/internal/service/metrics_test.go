package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/api"
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

// TestEveryKindsEmailCountersStartAtZero: from the start, /metrics has every kind of
// email's sent, failed and given-up series at zero, so that the first of any kind to
// fail or be given up is an increase the alerts see (TCEmailsGivenUp once saw only
// reminders: other kinds' series first appeared at 1, which increase() cannot see).
// The kinds are those of the contract's DeliveryKind enum, so that a kind added there
// without its series fails here.
func TestEveryKindsEmailCountersStartAtZero(t *testing.T) {
	t.Parallel()
	doc, err := httpserver.LoadSpec(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	kinds := doc.Components.Schemas["Delivery"].Value.Properties["kind"].Value.Enum
	if len(kinds) == 0 {
		t.Fatal("the contract's Delivery has no kind enum")
	}
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	families := h.http.Metrics()
	for _, name := range []string{"tc_notify_emails_sent_total", "tc_notify_emails_failed_total", "tc_notify_emails_given_up_total"} {
		for _, kind := range kinds {
			if got, err := testenv.MetricIn(families, name, "kind", fmt.Sprint(kind)); err != nil || got != 0 {
				t.Errorf("%s{kind=%q} = %v (%v), want 0", name, kind, got, err)
			}
		}
		if n := len(families[name].GetMetric()); n != len(kinds) {
			t.Errorf("%s has %d series, want one for each of the contract's %d kinds", name, n, len(kinds))
		}
	}
}
