package http

import (
	"github.com/itss/techcommit/services/review/api"
	"github.com/itss/techcommit/services/review/internal/app"
	"github.com/itss/techcommit/services/review/internal/domain/assign"
)

// toAssignmentReport renders what an automatic assignment run achieved: what it
// added, what it could not cover and why, and how good the result is.
func toAssignmentReport(r api.Round, rep app.AssignmentReport) api.AssignmentReport {
	out := api.AssignmentReport{Round: r, Added: len(rep.Adds), Uncovered: make([]api.Uncovered, 0, len(rep.Uncovered))}
	for _, u := range rep.Uncovered {
		out.Uncovered = append(out.Uncovered, toUncovered(u))
	}
	out.Coverage.Required, out.Coverage.Covered = rep.Required, rep.Covered
	out.Expertise.Reviews, out.Expertise.Matched, out.Expertise.Share = rep.Reviews, rep.Matched, rep.MatchShare()
	out.Load.ThisRound, out.Load.OverRounds, out.Load.PreviousRounds = toSpread(rep.RoundLoad), toSpread(rep.TotalLoad), rep.HistoryRounds
	return out
}

func toSpread(s assign.Spread) api.LoadSpread {
	return api.LoadSpread{Min: s.Min, Max: s.Max, Spread: s.Width()}
}

// toMember renders a pool member with their workload across rounds, so ops can see
// who carried how much.
func toMember(m app.Member) api.Reviewer {
	out := toReviewer(m.Reviewer)
	workload := make([]api.RoundLoad, 0, len(m.Workload))
	for _, l := range m.Workload {
		workload = append(workload, api.RoundLoad{RoundId: l.RoundID, RoundName: l.RoundName, ReviewDeadline: l.Deadline, Reviews: l.Reviews})
	}
	out.Workload = &workload
	return out
}
