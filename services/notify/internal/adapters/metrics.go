package adapters

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/itss/techcommit/services/notify/internal/app"
)

// Metrics counts emails in Prometheus: the names the alerts and the dashboard read
// (docs/OPERATIONS.md).
type Metrics struct {
	sent, failed, givenUp, overtaken *prometheus.CounterVec
	reminders                        *prometheus.CounterVec
}

var _ app.Metrics = (*Metrics)(nil)

// NewMetrics registers notify's counters with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	kind := []string{"kind"}
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tc_notify_emails_sent_total",
			Help: "Emails the mail relay accepted, by kind."}, kind),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tc_notify_emails_failed_total",
			Help: "Send attempts that failed and will be retried, by kind."}, kind),
		givenUp: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tc_notify_emails_given_up_total",
			Help: "Emails abandoned: refused for good, or failed NOTIFY_MAX_ATTEMPTS times, by kind."}, kind),
		overtaken: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tc_notify_emails_overtaken_total",
			Help: "Emails given up that no relay refused (no longer true, superseded, or sent or tried as that day's reminder), by kind."}, kind),
		reminders: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tc_notify_reminders_sent_total",
			Help: "Deadline reminder emails sent, by ladder step."}, []string{"step"}),
	}
	for _, c := range []prometheus.Collector{m.sent, m.failed, m.givenUp, m.overtaken, m.reminders} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register notify metrics: %w", err)
		}
	}
	// Every kind's series start at zero, so that its first failure or give-up is a
	// change the alerts' rate and increase can see: a series that first appears at 1
	// has no increase, and a given-up award letter or sign-in link alerted nobody.
	for _, kind := range emailKinds {
		m.sent.WithLabelValues(kind)
		m.failed.WithLabelValues(kind)
		m.givenUp.WithLabelValues(kind)
		m.overtaken.WithLabelValues(kind)
	}
	return m, nil
}

// emailKinds are the kinds of email notify sends, the DeliveryKind enum of
// api/openapi.yaml: a kind added there belongs here too, or its first give-up goes
// unseen (TestEveryKindsEmailCountersStartAtZero, in service, holds the two equal).
var emailKinds = []string{
	"reminder",
	"review-assigned", "review-due-soon", "review-overdue", "review-unassigned",
	"review-feedback", "review-returned", "review-not-needed", "review-declined",
	"signin-link",
	"fund-received", "fund-awarded", "fund-declined", "fund-report-due",
	"fund-withdrawn", "fund-report-received", "fund-report-overdue", "fund-award-corrected",
	"obligation-received", "obligation-withdrawn",
	"lead-named", "lead-replaced", "lead-changed", "head-changed",
	"announcement-corrected", "fund-report-due-moved",
}

// Delivered counts one attempt's outcome.
func (m *Metrics) Delivered(kind, status string) {
	switch status {
	case app.StatusSent:
		m.sent.WithLabelValues(kind).Inc()
	case app.StatusFailed:
		m.failed.WithLabelValues(kind).Inc()
	case app.StatusGivenUp:
		m.givenUp.WithLabelValues(kind).Inc()
	}
}

// Overtaken counts an email given up that no relay refused.
func (m *Metrics) Overtaken(kind string) { m.overtaken.WithLabelValues(kind).Inc() }

// ReminderSent counts a reminder email sent at a ladder step.
func (m *Metrics) ReminderSent(step string) { m.reminders.WithLabelValues(step).Inc() }
