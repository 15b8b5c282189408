// Package assign plans peer-review assignments: N reviewers per submission, never
// from the submitting organisation or one the reviewer declared a conflict with, only
// trained reviewers, within capacity, with a report of what could not be covered and
// why. Within those rules it optimises three things in strict order: coverage (as many
// of the required reviews as the pool allows), then expertise (reviewers whose themes
// meet the submission's weakest self-rated themes), then fairness across rounds (the
// sum of squares of each reviewer's load over this round and the previous ones, which
// is smallest when loads are as even as they can be). It solves the problem exactly as
// a minimum-cost maximum flow (flow.go). It is pure, so its rules and its optimality
// can be checked over random pools.
package assign

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Reviewer is a volunteer in the pool.
type Reviewer struct {
	ID        string
	Org       string
	Trained   bool
	Capacity  int
	Conflicts []string
	// Themes are the Commitment themes the reviewer declared expertise in.
	Themes []string
	// OrgWithdrawn says the reviewer's organisation has withdrawn from the Commitment:
	// reviewers are technicians of its signatories, so they review nothing more.
	OrgWithdrawn bool
	// Erased says the member was erased at their request: their record stays (their
	// reviews are on the record), but nobody can write to them, so they review
	// nothing more.
	Erased bool
	// OrgRecords are the other records of the reviewer's organisation: one that
	// withdrew and signed again is a new record, which succeeds the old one, and its
	// technicians are of both. Empty for most.
	OrgRecords []string
	// ConflictRecords are the other records of the organisations the reviewer
	// declared a conflict with (those they succeed or are succeeded by): a conflict
	// with one is a conflict with the organisation, whichever record submits.
	ConflictRecords []string
}

// Submission is a submission to be reviewed.
type Submission struct {
	ID  string
	Org string
	// WeakThemes are the themes the institution rated itself lowest on: the ones a
	// reviewer with expertise helps most. Empty when it rated none (an action plan on
	// its own).
	WeakThemes []string
}

// Pair is a submission and a reviewer.
type Pair struct {
	Submission string
	Reviewer   string
}

// Input is the state of a round.
type Input struct {
	Submissions   []Submission
	Reviewers     []Reviewer
	Current       []Pair // assignments in force (assigned or accepted)
	Excluded      []Pair // pairs that may not be made again (declined, removed)
	PerSubmission int
	// History is each reviewer's number of reviews in the previous rounds, which
	// fairness counts with this round's load. Absent reviewers have none.
	History map[string]int
}

// Uncovered is a submission that could not get all its reviewers.
type Uncovered struct {
	SubmissionID string
	Missing      int
	Reason       string
}

// Spread is the least and the most load among the reviewers who could take work
// (trained, with capacity).
type Spread struct {
	Min, Max int
}

// Width is how far apart the least and the most loaded reviewers are.
func (s Spread) Width() int { return s.Max - s.Min }

// Result is the assignments to add and what they achieve, for the round's submissions.
type Result struct {
	Adds      []Pair
	Uncovered []Uncovered
	// Required is the reviews the submissions need (N each); Covered those in force
	// after the run, counting at most N per submission.
	Required, Covered int
	// Reviews is the assignments in force on the submissions after the run, and
	// Matched those whose reviewer's themes meet the submission's weakest ones.
	Reviews, Matched int
	// RoundLoad is the spread of load in this round; TotalLoad the spread of this
	// round's load plus the previous rounds' (Input.History).
	RoundLoad, TotalLoad Spread
}

// MatchShare is the share of the reviews in force with an expertise match (0 when
// there are none).
func (r Result) MatchShare() float64 {
	if r.Reviews == 0 {
		return 0
	}
	return float64(r.Matched) / float64(r.Reviews)
}

// Eligible says why reviewer r may not review submission s, or "" if it may.
func Eligible(r Reviewer, s Submission) string {
	switch {
	case r.Erased:
		return "erased at their request"
	case r.OrgWithdrawn:
		return "organisation withdrawn"
	case !r.Trained:
		return "untrained"
	case r.Org == s.Org || slices.Contains(r.OrgRecords, s.Org):
		return "same organisation"
	case slices.Contains(r.Conflicts, s.Org) || slices.Contains(r.ConflictRecords, s.Org):
		return "declared conflict"
	}
	return ""
}

// Matches says whether the reviewer has expertise in one of the submission's weakest
// themes.
func Matches(r Reviewer, s Submission) bool {
	for _, t := range s.WeakThemes {
		if slices.Contains(r.Themes, t) {
			return true
		}
	}
	return false
}

// Plan returns the optimal assignments to add, the submissions left short and the
// figures that say how good the result is.
func Plan(in Input) Result {
	st := newState(in)
	adds := solve(st)
	for _, p := range adds {
		st.has[p] = true
		st.load[p.Reviewer]++
		st.count[p.Submission]++
	}
	res := Result{Adds: adds}
	for _, s := range in.Submissions {
		res.Required += in.PerSubmission
		res.Covered += min(st.count[s.ID], in.PerSubmission)
		if missing := in.PerSubmission - st.count[s.ID]; missing > 0 {
			res.Uncovered = append(res.Uncovered, Uncovered{SubmissionID: s.ID, Missing: missing, Reason: why(s, st)})
		}
	}
	sort.Slice(res.Uncovered, func(i, j int) bool { return res.Uncovered[i].SubmissionID < res.Uncovered[j].SubmissionID })
	considered := map[string]Submission{}
	for _, s := range in.Submissions {
		considered[s.ID] = s
	}
	byID := map[string]Reviewer{}
	for _, r := range in.Reviewers {
		byID[r.ID] = r
	}
	for p := range st.has {
		s, ok := considered[p.Submission]
		if !ok {
			continue
		}
		res.Reviews++
		if r, known := byID[p.Reviewer]; known && Matches(r, s) {
			res.Matched++
		}
	}
	first := true
	for _, r := range st.reviewers {
		if !r.Trained || r.Capacity <= 0 {
			continue
		}
		round, total := st.load[r.ID], st.load[r.ID]+in.History[r.ID]
		if first {
			res.RoundLoad, res.TotalLoad, first = Spread{round, round}, Spread{total, total}, false
			continue
		}
		res.RoundLoad = Spread{min(res.RoundLoad.Min, round), max(res.RoundLoad.Max, round)}
		res.TotalLoad = Spread{min(res.TotalLoad.Min, total), max(res.TotalLoad.Max, total)}
	}
	return res
}

// state is the round as planning sees it: who holds which pair, and the loads.
type state struct {
	in        Input
	reviewers []Reviewer // in id order, so plans do not depend on the pool's order
	has       map[Pair]bool
	excluded  map[Pair]bool
	load      map[string]int // reviewer -> assignments in force in this round
	count     map[string]int // submission -> assignments in force
}

func newState(in Input) *state {
	st := &state{in: in, has: map[Pair]bool{}, excluded: map[Pair]bool{}, load: map[string]int{}, count: map[string]int{}}
	for _, p := range in.Current {
		if st.has[p] {
			continue
		}
		st.has[p] = true
		st.load[p.Reviewer]++
		st.count[p.Submission]++
	}
	for _, p := range in.Excluded {
		st.excluded[p] = true
	}
	st.reviewers = append([]Reviewer(nil), in.Reviewers...)
	sort.SliceStable(st.reviewers, func(i, j int) bool { return st.reviewers[i].ID < st.reviewers[j].ID })
	return st
}

// open says whether reviewer r may be newly assigned to submission s.
func (st *state) open(r Reviewer, s Submission) bool {
	p := Pair{s.ID, r.ID}
	return Eligible(r, s) == "" && !st.has[p] && !st.excluded[p]
}

func why(s Submission, st *state) string {
	reasons := map[string]int{}
	for _, r := range st.reviewers {
		p := Pair{s.ID, r.ID}
		switch {
		case Eligible(r, s) != "":
			reasons[Eligible(r, s)]++
		case st.has[p]:
			reasons["already assigned"]++
		case st.excluded[p]:
			reasons["declined or removed"]++
		case st.load[r.ID] >= r.Capacity:
			reasons["at capacity"]++
		}
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", reasons[k], k))
	}
	if len(parts) == 0 {
		return "the pool is empty"
	}
	return fmt.Sprintf("no eligible reviewer left of %d: %s", len(st.reviewers), strings.Join(parts, ", "))
}
