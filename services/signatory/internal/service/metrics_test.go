package service_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/internal/service"
)

// metricIs polls the service's /metrics, on its admin listener, until the series has
// the value.
func (h *harness) metricIs(want float64, name string, labels ...string) {
	h.t.Helper()
	testenv.Eventually(h.t, 20*time.Second, func() error {
		got, err := h.Metric(name, labels...)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s%v = %v, want %v", name, labels, got, want)
		}
		return nil
	})
}

// TestObligationsOverdueAreReportedFromTheDayAfterTheirDueDate: tc_obligations_overdue
// counts the organisations whose open obligation is past its due date on the day of
// the scrape: none on the due date itself, each from the day after, and one that
// withdraws no longer.
func TestObligationsOverdueAreReportedFromTheDayAfterTheirDueDate(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC))
	h := startWith(t, service.Options{Clock: clk})
	ops := h.Token(auth.RoleOps, "")
	h.metricIs(0, "tc_obligations_overdue")

	// Announced on 20 March 2025: the first submission is due 18 months on.
	h.onboard(ops, "announcement")
	second := h.onboard(ops, "announcement")
	testenv.Eventually(t, 20*time.Second, func() error {
		page := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations?status=announced", ops, nil)).JSON(t)
		if items, _ := page["items"].([]any); len(items) != 2 {
			return fmt.Errorf("%d announced organisations listed, want 2", len(items))
		}
		return nil
	})
	h.metricIs(0, "tc_obligations_overdue")

	clk.Set(time.Date(2026, 9, 20, 22, 0, 0, 0, time.UTC)) // 23:00 in London: still the due date
	h.metricIs(0, "tc_obligations_overdue")
	clk.Set(time.Date(2026, 9, 20, 23, 30, 0, 0, time.UTC)) // 00:30 on the 21st in London
	h.metricIs(2, "tc_obligations_overdue")

	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+second+"/withdrawal", ops,
		map[string]any{"withdrawn_on": "2026-09-21", "reason": "merged", "initiated_by": "itss"}))
	h.metricIs(1, "tc_obligations_overdue")
}

// TestThePlatformsMetricsReachTheSignatoryService: the service's own projection is
// reported with its lag, and a message it can never take is counted as its dead
// letter.
func TestThePlatformsMetricsReachTheSignatoryService(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	h.onboard(ops, "meeting")
	h.metricIs(0, "tc_outbox_pending_events")
	h.metricIs(0, "tc_projection_lag_seconds", "projection", "signatory-projection")
	h.metricIs(0, "tc_deadletters_total", "consumer", "signatory-projection")

	// An event that names no organisation: the projection cannot place it.
	e := events.Envelope{ID: "no-aggregate", Source: "/tc/signatory", Type: "tc.signatory.organisation.enquiry_received.v1",
		AggregateType: "organisation", Version: 1, Time: time.Now(), Data: []byte(`{}`)}
	if _, err := h.js.PublishMsg(context.Background(), bus.Message(e)); err != nil {
		t.Fatal(err)
	}
	h.metricIs(1, "tc_deadletters_total", "consumer", "signatory-projection")
	h.metricIs(0, "tc_deadletters_total", "consumer", "signatory-submission-received")
}
