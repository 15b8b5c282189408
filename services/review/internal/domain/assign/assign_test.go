package assign_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/itss/techcommit/services/review/internal/domain/assign"
)

// TestPlanKeepsEveryRuleOverRandomPools is a property test: whatever the pool, no
// assignment goes to the reviewer's own or a conflicted organisation or to someone
// untrained, nobody exceeds capacity, no pair repeats, no submission gets more than N,
// and a submission left short is reported with the number missing.
func TestPlanKeepsEveryRuleOverRandomPools(t *testing.T) {
	t.Parallel()
	for seed := range uint64(500) {
		rng := rand.New(rand.NewPCG(seed, seed*7+1))
		orgs := 2 + rng.IntN(6)
		org := func() string { return fmt.Sprintf("org%d", rng.IntN(orgs)) }
		var in assign.Input
		in.PerSubmission = 1 + rng.IntN(3)
		for i := range rng.IntN(15) {
			in.Submissions = append(in.Submissions, assign.Submission{ID: fmt.Sprintf("s%d", i), Org: org()})
		}
		for i := range rng.IntN(12) {
			r := assign.Reviewer{ID: fmt.Sprintf("r%d", i), Org: org(), Trained: rng.IntN(5) > 0, Capacity: rng.IntN(4)}
			for range rng.IntN(3) {
				r.Conflicts = append(r.Conflicts, org())
			}
			in.Reviewers = append(in.Reviewers, r)
		}
		if len(in.Submissions) > 0 && len(in.Reviewers) > 0 && rng.IntN(2) == 0 {
			in.Excluded = append(in.Excluded, assign.Pair{Submission: in.Submissions[0].ID, Reviewer: in.Reviewers[0].ID})
		}
		adds, short := assign.Plan(in)

		subs := map[string]assign.Submission{}
		for _, s := range in.Submissions {
			subs[s.ID] = s
		}
		revs := map[string]assign.Reviewer{}
		for _, r := range in.Reviewers {
			revs[r.ID] = r
		}
		load, per, seen := map[string]int{}, map[string]int{}, map[assign.Pair]bool{}
		for _, p := range adds {
			s, r := subs[p.Submission], revs[p.Reviewer]
			if why := assign.Eligible(r, s); why != "" {
				t.Fatalf("seed %d: %s assigned to %s (%s)", seed, r.ID, s.ID, why)
			}
			for _, x := range in.Excluded {
				if x == p {
					t.Fatalf("seed %d: excluded pair %v made again", seed, p)
				}
			}
			if seen[p] {
				t.Fatalf("seed %d: pair %v twice", seed, p)
			}
			seen[p] = true
			load[r.ID]++
			per[s.ID]++
		}
		for id, n := range load {
			if n > revs[id].Capacity {
				t.Fatalf("seed %d: %s has %d, capacity %d", seed, id, n, revs[id].Capacity)
			}
		}
		missing := map[string]int{}
		for _, u := range short {
			missing[u.SubmissionID] = u.Missing
			if u.Reason == "" {
				t.Fatalf("seed %d: %s left short without a reason", seed, u.SubmissionID)
			}
		}
		for _, s := range in.Submissions {
			if per[s.ID] > in.PerSubmission {
				t.Fatalf("seed %d: %s got %d reviewers, N is %d", seed, s.ID, per[s.ID], in.PerSubmission)
			}
			if per[s.ID]+missing[s.ID] != in.PerSubmission {
				t.Fatalf("seed %d: %s got %d and is reported %d short of %d", seed, s.ID, per[s.ID], missing[s.ID], in.PerSubmission)
			}
		}
	}
}

func TestPlanBalancesLoad(t *testing.T) {
	t.Parallel()
	in := assign.Input{PerSubmission: 1}
	for i := range 6 {
		in.Submissions = append(in.Submissions, assign.Submission{ID: fmt.Sprintf("s%d", i), Org: "a"})
	}
	for i := range 3 {
		in.Reviewers = append(in.Reviewers, assign.Reviewer{ID: fmt.Sprintf("r%d", i), Org: "b", Trained: true, Capacity: 5})
	}
	adds, short := assign.Plan(in)
	load := map[string]int{}
	for _, p := range adds {
		load[p.Reviewer]++
	}
	if len(short) != 0 || load["r0"] != 2 || load["r1"] != 2 || load["r2"] != 2 {
		t.Errorf("loads %v, short %v: want 2 each", load, short)
	}
}
