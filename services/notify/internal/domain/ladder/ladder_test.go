package ladder_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
)

var ob = ladder.Obligation{ID: "o1", Kind: "self_assessment_and_action_plan", WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2026, 9, 20)}

func TestTheLadderOfAnObligation(t *testing.T) {
	t.Parallel()
	var got []string
	for _, s := range ladder.DefaultPolicy.Steps(ob) {
		got = append(got, s.Name+"@"+s.On.String())
	}
	want := []string{
		"window-open@2026-03-20", "due-in-90@2026-06-22", "due-in-30@2026-08-21", "due-in-7@2026-09-13",
		"due-in-1@2026-09-19", "due-today@2026-09-20", "overdue-7@2026-09-27", "overdue-30@2026-10-20",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ladder (-want +got):\n%s", diff)
	}
}

func TestDecideSendsOnlyTheLatestStepThatIsStillTrue(t *testing.T) {
	t.Parallel()
	steps := map[string]ladder.Step{}
	for _, s := range ladder.DefaultPolicy.Steps(ob) {
		steps[s.Name] = s
	}
	rem := func(obligation string, due civil.Date, step string) ladder.Reminder {
		return ladder.Reminder{OrganisationID: "org", ObligationID: obligation, Due: due, Step: steps[step]}
	}
	current := ladder.State{Announced: true, ObligationID: ob.ID, Due: ob.Due}
	missed := []ladder.Reminder{rem(ob.ID, ob.Due, "due-in-30"), rem(ob.ID, ob.Due, "due-in-7"), rem(ob.ID, ob.Due, "due-in-90")}
	tests := []struct {
		name  string
		state ladder.State
		due   []ladder.Reminder
		want  []ladder.Outcome
	}{
		{"one due step is sent", current, missed[:1], []ladder.Outcome{ladder.Send}},
		{"after a downtime only the latest is sent", current, missed, []ladder.Outcome{ladder.Superseded, ladder.Send, ladder.Superseded}},
		{"met stops the ladder", ladder.State{Announced: true, ObligationID: ob.ID, Due: ob.Due, Met: true}, missed[:1], []ladder.Outcome{ladder.Met}},
		{"withdrawn stops the ladder", ladder.State{Announced: true, Withdrawn: true, ObligationID: ob.ID, Due: ob.Due}, missed[:1], []ladder.Outcome{ladder.Withdrawn}},
		{"not announced sends nothing", ladder.State{ObligationID: ob.ID, Due: ob.Due}, missed[:1], []ladder.Outcome{ladder.Unannounced}},
		{"a moved due date retires the old ladder", ladder.State{Announced: true, ObligationID: ob.ID, Due: ob.Due.AddDays(60)}, missed[:1], []ladder.Outcome{ladder.Rescheduled}},
		{"a new obligation retires the old ladder", ladder.State{Announced: true, ObligationID: "o2", Due: ob.Due}, missed[:1], []ladder.Outcome{ladder.Rescheduled}},
		{"the old ladder's steps do not supersede the current one's",
			ladder.State{Announced: true, ObligationID: ob.ID, Due: ob.Due.AddDays(60)},
			[]ladder.Reminder{rem(ob.ID, ob.Due, "due-in-7"), rem(ob.ID, ob.Due.AddDays(60), "window-open")},
			[]ladder.Outcome{ladder.Rescheduled, ladder.Send}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, ladder.Decide(tt.state, tt.due)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfiguredOffsets(t *testing.T) {
	t.Parallel()
	days, err := ladder.ParseDays(" 60, 14,0 ")
	if err != nil || !cmp.Equal(days, []int{60, 14, 0}) {
		t.Errorf("ParseDays = %v, %v", days, err)
	}
	// Whole numbers of days and nothing else: "7days" was read as 7, "7.5" as 7 and
	// "90,,30" as 90,30 (a day lost in the typing); a day twice is one rung written
	// twice, and no day at all is no ladder.
	for _, bad := range []string{"x", "-1", "99999", "7days", "7 days", "7.5", "+7", "0x10", "1e2", "7,7", "30, 7,30", "90,,30", "90,30,", ",7", "", " "} {
		if days, err := ladder.ParseDays(bad); err == nil {
			t.Errorf("ParseDays(%q) = %v, want it refused", bad, days)
		}
	}
	p := ladder.Policy{DaysBefore: []int{14}, DaysOverdue: []int{3}}
	var got []string
	for _, s := range p.Steps(ob) {
		got = append(got, s.Name)
	}
	if diff := cmp.Diff([]string{"window-open", "due-in-14", "overdue-3"}, got); diff != "" {
		t.Errorf("configured ladder (-want +got):\n%s", diff)
	}
}

func TestShortWindowsDropRungsBeforeTheyOpen(t *testing.T) {
	t.Parallel()
	short := ladder.Obligation{ID: "o2", Kind: "action_plan", WindowOpens: civil.New(2026, 1, 1), Due: civil.New(2026, 2, 15)}
	for _, s := range ladder.DefaultPolicy.Steps(short) {
		if s.On.Before(short.WindowOpens) || s.Name == "due-in-90" {
			t.Errorf("step %s on %s falls before the window", s.Name, s.On)
		}
	}
}
