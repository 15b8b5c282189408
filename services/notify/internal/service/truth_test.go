package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
)

// sweepOn moves the clock to 08:00 London time on day and sweeps once, as the first
// sweep after notify comes back from being down since the previous call.
func (h *harness) sweepOn(day civil.Date) {
	h.t.Helper()
	h.clock.Set(time.Date(day.Time().Year(), day.Time().Month(), day.Time().Day(), 8, 0, 0, 0, time.UTC))
	for _, s := range h.svcs {
		if _, err := s.App.Sweep(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
}

// mailOf lists the emails about organisation org since the n-th, as subject -> recipients.
func mailOf(h *harness, org string, from int) []received {
	var out []received
	for _, m := range h.box.all()[from:] {
		if strings.Contains(m.Subject, "Uni "+org) {
			out = append(out, m)
		}
	}
	return out
}

// After notify was down across several steps of the ladder, the first sweep sends one
// email per recipient, and it states where the obligation stands on the day it is
// sent, not what the last missed step would have said on its own day.
func TestACatchUpSendsOneEmailStatingThePositionOnTheDayItIsSent(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("t", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	h.sweepOn(civil.New(2026, 3, 20)) // the window opens
	cases := []struct {
		day     civil.Date
		subject string
		text    []string
		to      []string
	}{
		// Down since March: the 90-day and 30-day steps are missed; the 7-day step is the
		// last due, but there are 2 days left.
		{civil.New(2026, 12, 2), "Technician Commitment: Uni t's self-assessment and action plan is due in 2 days (Friday 4 December 2026)",
			[]string{"As of today, Wednesday 2 December 2026, it is due in 2 days.", "https://portal.example.org/obligations/t"}, []string{"lead@exampleton.ac.uk"}},
		// Down again over the last day and the due date: 3 days overdue.
		{civil.New(2026, 12, 7), "Technician Commitment: Uni t's self-assessment and action plan is 3 days overdue (due Friday 4 December 2026)",
			[]string{"As of today, Monday 7 December 2026, it is 3 days overdue."}, []string{"lead@exampleton.ac.uk"}},
		// Down from before the 7-day-overdue step until long after the 30-day one.
		{civil.New(2027, 2, 16), "Technician Commitment: Uni t's self-assessment and action plan is 74 days overdue (due Friday 4 December 2026)",
			[]string{"As of today, Tuesday 16 February 2027, it is 74 days overdue."}, []string{"lead@exampleton.ac.uk", "vc@exampleton.ac.uk"}},
	}
	for _, c := range cases {
		before := len(h.box.all())
		h.sweepOn(c.day)
		h.sweepOn(c.day) // a second sweep on the same day sends nothing more
		got := mailOf(h, "t", before)
		var to []string
		for _, m := range got {
			to = append(to, m.To...)
			if m.Subject != c.subject {
				t.Errorf("%s: subject %q, want %q", c.day, m.Subject, c.subject)
			}
			for _, s := range c.text {
				if !strings.Contains(m.Text, s) {
					t.Errorf("%s: email to %v does not say %q:\n%s", c.day, m.To, s, m.Text)
				}
			}
			if !m.ICS {
				t.Errorf("%s: no .ics", c.day)
			}
		}
		if fmt.Sprint(to) != fmt.Sprint(c.to) {
			t.Errorf("%s: emails went to %v, want one each to %v", c.day, to, c.to)
		}
	}
}
