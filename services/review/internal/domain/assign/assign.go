// Package assign plans peer-review assignments: N reviewers per submission, never
// from the submitting organisation or one the reviewer declared a conflict with, only
// trained reviewers, load balanced within capacity, with a report of what could not
// be covered and why. It is pure, so its rules can be checked over random pools.
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
}

// Submission is a submission to be reviewed.
type Submission struct {
	ID  string
	Org string
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
}

// Uncovered is a submission that could not get all its reviewers.
type Uncovered struct {
	SubmissionID string
	Missing      int
	Reason       string
}

// Eligible says why reviewer r may not review submission s, or "" if it may.
func Eligible(r Reviewer, s Submission) string {
	switch {
	case !r.Trained:
		return "untrained"
	case r.Org == s.Org:
		return "same organisation"
	case slices.Contains(r.Conflicts, s.Org):
		return "declared conflict"
	}
	return ""
}

// Plan returns the assignments to add and the submissions left short.
func Plan(in Input) ([]Pair, []Uncovered) {
	load := map[string]int{}
	has := map[Pair]bool{}
	count := map[string]int{}
	for _, p := range in.Current {
		load[p.Reviewer]++
		has[p] = true
		count[p.Submission]++
	}
	excluded := map[Pair]bool{}
	for _, p := range in.Excluded {
		excluded[p] = true
	}
	reviewers := append([]Reviewer(nil), in.Reviewers...)
	sort.Slice(reviewers, func(i, j int) bool { return reviewers[i].ID < reviewers[j].ID })
	candidates := func(s Submission) []Reviewer {
		var out []Reviewer
		for _, r := range reviewers {
			p := Pair{s.ID, r.ID}
			if Eligible(r, s) == "" && !has[p] && !excluded[p] && load[r.ID] < r.Capacity {
				out = append(out, r)
			}
		}
		return out
	}
	subs := append([]Submission(nil), in.Submissions...)
	// The most constrained submissions choose first.
	sort.SliceStable(subs, func(i, j int) bool {
		ci, cj := len(candidates(subs[i])), len(candidates(subs[j]))
		if ci != cj {
			return ci < cj
		}
		return subs[i].ID < subs[j].ID
	})
	var adds []Pair
	var short []Uncovered
	for _, s := range subs {
		for count[s.ID] < in.PerSubmission {
			cands := candidates(s)
			if len(cands) == 0 {
				short = append(short, Uncovered{SubmissionID: s.ID, Missing: in.PerSubmission - count[s.ID], Reason: why(in, s, reviewers, has, excluded, load)})
				break
			}
			sort.SliceStable(cands, func(i, j int) bool { return load[cands[i].ID] < load[cands[j].ID] })
			r := cands[0]
			p := Pair{s.ID, r.ID}
			adds = append(adds, p)
			has[p] = true
			load[r.ID]++
			count[s.ID]++
		}
	}
	sort.Slice(short, func(i, j int) bool { return short[i].SubmissionID < short[j].SubmissionID })
	return adds, short
}

func why(in Input, s Submission, reviewers []Reviewer, has, excluded map[Pair]bool, load map[string]int) string {
	reasons := map[string]int{}
	for _, r := range reviewers {
		p := Pair{s.ID, r.ID}
		switch {
		case Eligible(r, s) != "":
			reasons[Eligible(r, s)]++
		case has[p]:
			reasons["already assigned"]++
		case excluded[p]:
			reasons["declined or removed"]++
		case load[r.ID] >= r.Capacity:
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
	return fmt.Sprintf("no eligible reviewer left of %d: %s", len(reviewers), strings.Join(parts, ", "))
}
