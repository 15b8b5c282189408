package organisation

import "github.com/itss/techcommit/libs/civil"

// Schedule is the obligation clock of one kind of organisation, in calendar months.
type Schedule struct {
	// Obligation is what is due (events.ObligationSelfAssessmentAndActionPlan, ...).
	Obligation string
	// WindowOpens and Due count from the announcement date for the first cycle.
	WindowOpens int
	Due         int
	// RepeatEvery counts from the date the previous submission was received to the
	// next due date; the next window opens Window months before that. 0: the first
	// obligation is the only one.
	RepeatEvery int
	Window      int
}

// Policy is the Commitment's deadline rules: every number the obligation clocks use
// lives here and nowhere else.
type Policy struct {
	Signatory Schedule
	Supporter Schedule
	// AnnouncementLead is how many months ahead of today an announcement may be
	// dated: the joint announcement is planned with the organisation's communications
	// team weeks ahead, while a date years out is a typing slip.
	AnnouncementLead int
}

// DefaultPolicy is the Commitment's published rule (DESIGN.md): a signatory submits
// a self-assessment and action plan in a window from 12 to 18 months after its
// announcement and then every three years; a supporter submits an action plan between
// 6 and 12 months after its announcement, once: no obligation follows it.
var DefaultPolicy = Policy{
	Signatory:        Schedule{Obligation: "self_assessment_and_action_plan", WindowOpens: 12, Due: 18, RepeatEvery: 36, Window: 6},
	Supporter:        Schedule{Obligation: "action_plan", WindowOpens: 6, Due: 12},
	AnnouncementLead: 6,
}

// For returns the schedule of a kind of organisation.
func (p Policy) For(k Kind) Schedule {
	if k == Supporter {
		return p.Supporter
	}
	return p.Signatory
}

// First returns the window and due date of the first obligation after an announcement.
func (s Schedule) First(announced civil.Date) (opens, due civil.Date) {
	return announced.AddMonths(s.WindowOpens), announced.AddMonths(s.Due)
}

// Next returns the window and due date of the obligation after a submission received on received.
func (s Schedule) Next(received civil.Date) (opens, due civil.Date) {
	due = received.AddMonths(s.RepeatEvery)
	return due.AddMonths(-s.Window), due
}
