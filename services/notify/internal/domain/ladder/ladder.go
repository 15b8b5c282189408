// Package ladder is the reminder ladder of an obligation: which emails are due on
// which days, to whom, and what they say. It is pure: given an obligation and a day it
// answers what should have been sent by then.
package ladder

import (
	"fmt"
	"sort"
	"strings"

	"github.com/itss/techcommit/libs/civil"
)

// Policy is the ladder's shape: reminders so many days before the due date (0 is the
// day itself) and so many days after it. It comes from configuration.
type Policy struct {
	DaysBefore  []int
	DaysOverdue []int
}

// DefaultPolicy is the ladder the Commitment runs: when the window opens, 90, 30, 7
// and 1 days before, on the day, and 7 and 30 days overdue.
var DefaultPolicy = Policy{DaysBefore: []int{90, 30, 7, 1, 0}, DaysOverdue: []int{7, 30}}

// Obligation is what a ladder is built for.
type Obligation struct {
	ID          string
	Kind        string
	WindowOpens civil.Date
	Due         civil.Date
}

// Step is one rung: a name that is stable across runs (part of the exactly-once key),
// the day it falls due, and whether it goes to the head of the institution too.
type Step struct {
	Name     string
	On       civil.Date
	Overdue  bool
	DaysLeft int // days from On to the due date (negative when overdue)
}

// Steps returns the ladder of an obligation in date order. A step that would fall
// before the window opens is dropped (a 90-day reminder for a 60-day window).
func (p Policy) Steps(o Obligation) []Step {
	steps := []Step{{Name: "window-open", On: o.WindowOpens, DaysLeft: o.WindowOpens.DaysUntil(o.Due)}}
	for _, d := range p.DaysBefore {
		on := o.Due.AddDays(-d)
		if on.Before(o.WindowOpens) || on == o.WindowOpens {
			continue
		}
		name := fmt.Sprintf("due-in-%d", d)
		if d == 0 {
			name = "due-today"
		}
		steps = append(steps, Step{Name: name, On: on, DaysLeft: d})
	}
	for _, d := range p.DaysOverdue {
		steps = append(steps, Step{Name: fmt.Sprintf("overdue-%d", d), On: o.Due.AddDays(d), Overdue: true, DaysLeft: -d})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].On.Before(steps[j].On) })
	return steps
}

// Due returns the step to send on day `today`: the latest step whose day has come and
// that follows `last` (the last step sent, "" for none). Steps missed while the
// service was down are skipped in favour of the latest, so a restart never floods an
// institution with stale reminders. ok is false when nothing is due.
func (p Policy) Due(o Obligation, last string, today civil.Date) (Step, bool) {
	steps := p.Steps(o)
	after := 0
	if last != "" {
		for i, s := range steps {
			if s.Name == last {
				after = i + 1
			}
		}
	}
	var due Step
	found := false
	for _, s := range steps[after:] {
		if s.On.After(today) {
			break
		}
		due, found = s, true
	}
	return due, found
}

// Next returns the day of the first step after `last`, for scheduling; ok is false
// when the ladder is finished.
func (p Policy) Next(o Obligation, last string) (civil.Date, bool) {
	steps := p.Steps(o)
	for i, s := range steps {
		if last == "" || (i > 0 && steps[i-1].Name == last) {
			return s.On, true
		}
	}
	return civil.Date{}, false
}

// Subject is the email subject of a step.
func Subject(org string, o Obligation, s Step) string {
	what := "self-assessment and action plan"
	if o.Kind == "action_plan" {
		what = "action plan"
	}
	switch {
	case s.Name == "window-open":
		return fmt.Sprintf("Technician Commitment: %s's %s window is open (due %s)", org, what, o.Due)
	case s.Overdue:
		return fmt.Sprintf("Technician Commitment: %s's %s is %d days overdue", org, what, -s.DaysLeft)
	case s.DaysLeft == 0:
		return fmt.Sprintf("Technician Commitment: %s's %s is due today", org, what)
	case s.DaysLeft == 1:
		return fmt.Sprintf("Technician Commitment: %s's %s is due tomorrow", org, what)
	default:
		return fmt.Sprintf("Technician Commitment: %s's %s is due in %d days (%s)", org, what, s.DaysLeft, o.Due)
	}
}

// ParseDays reads a configured list such as "90,30,7,1,0".
func ParseDays(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(f, "%d", &n); err != nil || n < 0 || n > 3650 {
			return nil, fmt.Errorf("%q is not a number of days", f)
		}
		out = append(out, n)
	}
	return out, nil
}
