package assign_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/itss/techcommit/services/review/internal/domain/assign"
)

// cost is a cost in the order the plan optimises after coverage: reviews without an
// expertise match first, then fairness. Compared lexicographically, so this check
// does not depend on the weights the optimiser uses to fold the two into one number.
type cost struct{ unmatched, fairness int }

func (c cost) plus(d cost) cost { return cost{c.unmatched + d.unmatched, c.fairness + d.fairness} }
func (c cost) neg() cost        { return cost{-c.unmatched, -c.fairness} }
func (c cost) less(d cost) bool {
	return c.unmatched < d.unmatched || (c.unmatched == d.unmatched && c.fairness < d.fairness)
}

// link is an arc of the residual network with room for more flow.
type link struct {
	from, to int
	c        cost
}

func edge(from, to int, c cost) link { return link{from, to, c} }

// residual builds, from the input and the plan alone, the residual network of the
// plan seen as a flow (source -> submission -> reviewer -> one unit arc per place
// -> sink, the k-th place of a reviewer with T reviews so far costing 2(T+k)-1).
func residual(in assign.Input, adds []assign.Pair) (edges []link, source, sink, nodes int) {
	subIdx, revIdx := map[string]int{}, map[string]int{}
	for i, s := range in.Submissions {
		subIdx[s.ID] = 1 + i
	}
	for j, r := range in.Reviewers {
		revIdx[r.ID] = 1 + len(in.Submissions) + j
	}
	source, sink = 0, 1+len(in.Submissions)+len(in.Reviewers)
	load, count, has, excluded := map[string]int{}, map[string]int{}, map[assign.Pair]bool{}, map[assign.Pair]bool{}
	for _, p := range in.Current {
		load[p.Reviewer]++
		count[p.Submission]++
		has[p] = true
	}
	for _, p := range in.Excluded {
		excluded[p] = true
	}
	added, addedTo, addedOn := map[assign.Pair]bool{}, map[string]int{}, map[string]int{}
	for _, p := range adds {
		added[p] = true
		addedTo[p.Reviewer]++
		addedOn[p.Submission]++
	}
	for _, s := range in.Submissions {
		need := max(0, in.PerSubmission-count[s.ID])
		if addedOn[s.ID] < need {
			edges = append(edges, edge(source, subIdx[s.ID], cost{}))
		}
		if addedOn[s.ID] > 0 {
			edges = append(edges, edge(subIdx[s.ID], source, cost{}))
		}
		for _, r := range in.Reviewers {
			p := assign.Pair{Submission: s.ID, Reviewer: r.ID}
			if assign.Eligible(r, s) != "" || has[p] || excluded[p] {
				continue
			}
			c := cost{unmatched: 1}
			if assign.Matches(r, s) {
				c = cost{}
			}
			if added[p] {
				edges = append(edges, edge(revIdx[r.ID], subIdx[s.ID], c.neg()))
			} else {
				edges = append(edges, edge(subIdx[s.ID], revIdx[r.ID], c))
			}
		}
	}
	for _, r := range in.Reviewers {
		t := in.History[r.ID] + load[r.ID]
		for k := 1; k <= r.Capacity-load[r.ID]; k++ {
			c := cost{fairness: 2*(t+k) - 1}
			if k <= addedTo[r.ID] {
				edges = append(edges, edge(sink, revIdx[r.ID], c.neg()))
			} else {
				edges = append(edges, edge(revIdx[r.ID], sink, c))
			}
		}
	}
	return edges, source, sink, sink + 1
}

// TestPlanIsOptimalByItsCertificate checks optimality on pools too large to
// enumerate, by the classic certificate: a flow is a maximum flow when no residual
// path leads from source to sink, and the cheapest of its value when the residual
// network has no cycle of negative cost. So no plan covers more, and none of equal
// coverage has more expertise matches, or as many and more even loads.
func TestPlanIsOptimalByItsCertificate(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, seed*31+3))
		in := pool(rng, 20, 15)
		res := assign.Plan(in)
		name := fmt.Sprintf("seed %d", seed)
		checkRules(t, name, in, res)
		edges, source, sink, nodes := residual(in, res.Adds)

		reached := make([]bool, nodes)
		reached[source] = true
		for changed := true; changed; {
			changed = false
			for _, x := range edges {
				if reached[x.from] && !reached[x.to] {
					reached[x.to], changed = true, true
				}
			}
		}
		if reached[sink] {
			t.Fatalf("%s: a residual path reaches the sink: the plan could cover more", name)
		}

		dist := make([]cost, nodes) // from a virtual node joined to every node at cost 0
		for round := range nodes + 1 {
			changed := false
			for _, x := range edges {
				if d := dist[x.from].plus(x.c); d.less(dist[x.to]) {
					dist[x.to], changed = d, true
				}
			}
			if !changed {
				break
			}
			if round == nodes {
				t.Fatalf("%s: the residual network has a negative cycle: a plan of equal coverage is better", name)
			}
		}
	}
}
