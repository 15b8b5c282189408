package assign

import (
	"container/heap"
	"math"
)

// The plan is a minimum-cost maximum flow in this network:
//
//	source -> submission s   capacity: the reviewers s still needs (N minus those in force)
//	s -> reviewer r          capacity 1, when r may newly review s (every conflict rule,
//	                         not already on it, not declined or removed); cost 0 when r's
//	                         themes meet s's weakest themes, W otherwise
//	r -> sink                one arc per place r has left (capacity minus this round's
//	                         load); the k-th costs 2(T+k)-1, T being r's reviews in the
//	                         previous rounds plus those in force in this round
//
// An integral flow is exactly a set of assignments that keeps every rule, and the
// network's matrix is totally unimodular, so the best flow is the best assignment: no
// rounding, no heuristic.
//
// Why the objective comes out in the order coverage, expertise, fairness:
//
//   - Coverage. Successive shortest paths augment along a cheapest path until no path
//     is left, which ends at a maximum flow whose cost is the least of all maximum
//     flows (each intermediate flow is cheapest for its value, as the residual network
//     never has a negative cycle). So coverage is maximised first, whatever the costs.
//   - Fairness cost. The k-th arc into the sink costs (T+k)² - (T+k-1)², so a reviewer
//     given a places pays (T+a)² - T²: the flow's fairness cost is the sum of squares of
//     the reviewers' loads over the rounds, less a constant. The arcs' costs rise, so a
//     cheapest flow uses a reviewer's cheapest arcs first, and the sum is exact.
//   - Expertise before fairness. Every flow's fairness cost lies between 0 and
//     F = Σ_r (T_r+u_r)² - T_r² (u_r: r's arcs into the sink), so two flows of the same
//     value differ in fairness by at most F. W = F+1: a flow with one more matched
//     review saves W > F, more than any fairness can win back. So among maximum flows
//     the cheapest has the most matches, and among those the least sum of squares.
//
// Paths are found with Dijkstra on reduced costs (Johnson's potentials; every initial
// cost is non-negative, so the first potentials are zero).

type arc struct {
	to, rev int
	cap     int
	cost    int64
}

type network struct {
	arcs [][]arc
}

func (n *network) add(from, to, cap int, cost int64) {
	n.arcs[from] = append(n.arcs[from], arc{to: to, rev: len(n.arcs[to]), cap: cap, cost: cost})
	n.arcs[to] = append(n.arcs[to], arc{to: from, rev: len(n.arcs[from]) - 1, cap: 0, cost: -cost})
}

// solve returns the assignments to add, in the order of the submissions given and
// then of reviewer id.
func solve(st *state) []Pair {
	in := st.in
	subs, revs := in.Submissions, st.reviewers
	source, sink := 0, 1+len(subs)+len(revs)
	subNode := func(i int) int { return 1 + i }
	revNode := func(j int) int { return 1 + len(subs) + j }
	n := &network{arcs: make([][]arc, sink+1)}

	demand := 0
	for i, s := range subs {
		if need := in.PerSubmission - st.count[s.ID]; need > 0 {
			n.add(source, subNode(i), need, 0)
			demand += need
		}
	}
	if demand == 0 {
		return nil
	}
	var fairness int64 // F: the most fairness cost any flow can have
	places := make([]int, len(revs))
	for j, r := range revs {
		places[j] = max(0, min(r.Capacity-st.load[r.ID], demand))
		t := int64(in.History[r.ID] + st.load[r.ID])
		u := int64(places[j])
		fairness += (t+u)*(t+u) - t*t
	}
	w := fairness + 1
	for i, s := range subs {
		if in.PerSubmission-st.count[s.ID] <= 0 {
			continue
		}
		for j, r := range revs {
			if places[j] == 0 || !st.open(r, s) {
				continue
			}
			cost := w
			if Matches(r, s) {
				cost = 0
			}
			n.add(subNode(i), revNode(j), 1, cost)
		}
	}
	for j, r := range revs {
		t := int64(in.History[r.ID] + st.load[r.ID])
		for k := int64(1); k <= int64(places[j]); k++ {
			n.add(revNode(j), sink, 1, 2*(t+k)-1)
		}
	}

	n.minCostMaxFlow(source, sink)

	var adds []Pair
	for i, s := range subs {
		for _, a := range n.arcs[subNode(i)] {
			if a.to >= revNode(0) && a.to < sink && a.cap == 0 && a.cost >= 0 {
				adds = append(adds, Pair{Submission: s.ID, Reviewer: revs[a.to-revNode(0)].ID})
			}
		}
	}
	return adds
}

// minCostMaxFlow pushes as much flow as it can from source to sink along cheapest
// residual paths, and leaves the flow in the arcs' residual capacities. Each phase
// finds the distances with Dijkstra and moves the potentials by them; then every
// cheapest path consists of arcs of zero reduced cost, and the phase pushes flow along
// all of them at once (Dinic's blocking flows on those arcs) before measuring again.
// Flow pushed along zero reduced cost paths keeps every reduced cost non-negative, so
// the flow stays the cheapest for its value, as with one path at a time, in far fewer
// searches: the costs take few distinct values.
func (n *network) minCostMaxFlow(source, sink int) {
	const inf = math.MaxInt64
	size := len(n.arcs)
	pot := make([]int64, size)
	dist := make([]int64, size)
	done := make([]bool, size)
	level := make([]int, size)
	next := make([]int, size)
	for {
		for v := range dist {
			dist[v], done[v] = inf, false
		}
		dist[source] = 0
		q := &queue{{node: source}}
		for q.Len() > 0 {
			it := heap.Pop(q).(item)
			u := it.node
			if done[u] || it.dist != dist[u] {
				continue
			}
			done[u] = true
			if u == sink {
				break
			}
			for _, a := range n.arcs[u] {
				if a.cap == 0 {
					continue
				}
				if d := dist[u] + a.cost + pot[u] - pot[a.to]; d < dist[a.to] {
					dist[a.to] = d
					heap.Push(q, item{node: a.to, dist: d})
				}
			}
		}
		if dist[sink] == inf {
			return
		}
		// Nodes not settled before the sink take the sink's distance: reduced costs
		// stay non-negative whether or not the search reached them.
		for v := range pot {
			pot[v] += min(dist[v], dist[sink])
		}
		tight := func(u int, a arc) bool { return a.cap > 0 && a.cost+pot[u]-pot[a.to] == 0 }
		for n.levels(source, sink, level, tight) {
			clear(next)
			for n.augment(source, sink, math.MaxInt, level, next, tight) > 0 {
			}
		}
	}
}

// levels numbers the nodes by their distance from source over tight arcs, and says
// whether sink is reached.
func (n *network) levels(source, sink int, level []int, tight func(int, arc) bool) bool {
	for v := range level {
		level[v] = -1
	}
	level[source] = 0
	frontier := []int{source}
	for len(frontier) > 0 {
		u := frontier[0]
		frontier = frontier[1:]
		for _, a := range n.arcs[u] {
			if level[a.to] < 0 && tight(u, a) {
				level[a.to] = level[u] + 1
				frontier = append(frontier, a.to)
			}
		}
	}
	return level[sink] >= 0
}

// augment pushes up to limit from u to sink along tight arcs that go one level down,
// and returns how much it pushed; next[u] is the first of u's arcs not yet exhausted.
func (n *network) augment(u, sink, limit int, level, next []int, tight func(int, arc) bool) int {
	if u == sink {
		return limit
	}
	for ; next[u] < len(n.arcs[u]); next[u]++ {
		a := &n.arcs[u][next[u]]
		if level[a.to] != level[u]+1 || !tight(u, *a) {
			continue
		}
		if pushed := n.augment(a.to, sink, min(limit, a.cap), level, next, tight); pushed > 0 {
			a.cap -= pushed
			n.arcs[a.to][a.rev].cap += pushed
			return pushed
		}
	}
	return 0
}

type item struct {
	node int
	dist int64
}

// queue is a binary heap of nodes by tentative distance.
type queue []item

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].dist < q[j].dist }
func (q queue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)        { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}
