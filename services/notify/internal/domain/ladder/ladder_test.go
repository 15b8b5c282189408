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

func TestAfterADowntimeOnlyTheLatestStepIsSent(t *testing.T) {
	t.Parallel()
	s, ok := ladder.DefaultPolicy.Due(ob, "window-open", civil.New(2026, 9, 14))
	if !ok || s.Name != "due-in-7" {
		t.Fatalf("due %v %v, want due-in-7 (skipping due-in-90 and due-in-30)", s, ok)
	}
	if _, ok := ladder.DefaultPolicy.Due(ob, "due-in-7", civil.New(2026, 9, 14)); ok {
		t.Error("a step was due twice")
	}
	if _, ok := ladder.DefaultPolicy.Due(ob, "", civil.New(2026, 3, 19)); ok {
		t.Error("a step was due before the window opened")
	}
	if _, ok := ladder.DefaultPolicy.Due(ob, "overdue-30", civil.New(2030, 1, 1)); ok {
		t.Error("the ladder did not end")
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
