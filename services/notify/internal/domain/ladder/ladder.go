// Package ladder is the reminder ladder of an obligation: which emails are due on
// which days, and which of those due is still worth sending. It is pure: given an
// obligation and a day it answers what should have been sent by then. What an email
// says is not the step's: it is the obligation's position on the day it is sent.
package ladder

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
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

// Reminder is one step of one obligation's ladder, scheduled when the obligation was:
// the version of the obligation it was made for (its id and due date) and the step.
type Reminder struct {
	OrganisationID string
	ObligationID   string
	Due            civil.Date
	Step           Step
}

// State is what notify knows of an organisation at the moment a reminder falls due.
type State struct {
	Announced bool
	Withdrawn bool
	// The open obligation, as last scheduled; zero when there is none.
	ObligationID string
	Due          civil.Date
	Met          bool
}

// Outcome says what becomes of a due reminder.
type Outcome string

// Outcomes. Every outcome but Send is final: the reminder is never looked at again.
const (
	Send        Outcome = "send"
	Withdrawn   Outcome = "withdrawn"   // the organisation left the Commitment
	Unannounced Outcome = "unannounced" // the organisation is not (yet) listed
	Rescheduled Outcome = "rescheduled" // the obligation it was for was replaced or moved
	Met         Outcome = "met"         // the submission arrived
	Superseded  Outcome = "superseded"  // a later step of the same ladder is due as well
)

// Decide settles the reminders of one organisation that have fallen due, against its
// state now. At most one is sent: the latest step of the current obligation. Steps
// missed while the service was down are superseded by it, so a restart never floods
// an institution with stale reminders; it gets the one that is true today. The
// outcomes are in the order of due.
func Decide(st State, due []Reminder) []Outcome {
	out := make([]Outcome, len(due))
	latest := -1
	for i, r := range due {
		switch {
		case st.Withdrawn:
			out[i] = Withdrawn
		case !st.Announced:
			out[i] = Unannounced
		case r.ObligationID != st.ObligationID || r.Due != st.Due:
			out[i] = Rescheduled
		case st.Met:
			out[i] = Met
		case latest >= 0 && !r.Step.On.After(due[latest].Step.On):
			out[i] = Superseded
		default:
			if latest >= 0 {
				out[latest] = Superseded
			}
			latest, out[i] = i, Send
		}
	}
	return out
}

// maxDays bounds a configured day: ten years, beyond any cycle of the Commitment.
const maxDays = 3650

// ParseDays reads a configured list such as "90,30,7,1,0": whole numbers of days
// (0 to 3650) separated by commas, spaces about each ignored. Anything else is
// refused rather than read in part: "7days" is no 7, "90,,30" lost a day in the
// typing, a day twice is one rung written twice, and an empty list is no ladder.
func ParseDays(s string) ([]int, error) {
	const form = "days separated by commas, such as 90,30,7,1,0"
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("must list at least one day: %s", form)
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("%q has an empty entry: it must be %s", s, form)
		}
		n, err := strconv.Atoi(f)
		if err != nil || strings.Trim(f, "0123456789") != "" || n > maxDays {
			return nil, fmt.Errorf("%q is not a whole number of days from 0 to %d: the list must be %s", f, maxDays, form)
		}
		if slices.Contains(out, n) {
			return nil, fmt.Errorf("%q lists %d twice", s, n)
		}
		out = append(out, n)
	}
	return out, nil
}
