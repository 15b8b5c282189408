package service_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestEightReviewersWorkOneRoundAtOnce races eight reviewers, each accepting and then
// reviewing their own submission in one round at the same moment: every answer is
// 200, and the round, each reviewer's list and the submissions' reviews hold every
// acceptance and every review (none lost to another's concurrent write). It logs the
// latencies (not a pass/fail figure: the machine is shared). With
// REVIEW_ROUND_SUBMISSIONS=N the round also holds N other organisations' submissions,
// to time the race on a round of a realistic size.
func TestEightReviewersWorkOneRoundAtOnce(t *testing.T) {
	t.Parallel()
	h := start(t)
	const n = 8
	var subs []string
	for i := range n {
		org := fmt.Sprintf("o%d", i)
		h.announced(org)
		subs = append(subs, h.submitted(org))
	}
	others, _ := strconv.Atoi(os.Getenv("REVIEW_ROUND_SUBMISSIONS"))
	var more []string
	for i := range others {
		org := fmt.Sprintf("other%d", i)
		h.announced(org)
		more = append(more, h.submitted(org))
	}
	for i := range n {
		h.reviewer(fmt.Sprintf("rv%d", i), "elsewhere", true, 1)
	}
	round := h.openRound("Busy", start0.Add(30*24*time.Hour), subs...)
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 1}))
	if len(more) > 0 {
		// Added after the eight are assigned: the pool has room for those alone. The
		// others' reviewers are busy elsewhere; their submissions make the round long.
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions", h.ops, map[string]any{"submission_ids": more}))
		h.reviewer("busy", "elsewhere", true, 20)
		for _, s := range more[:min(len(more), 20)] {
			h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": s, "reviewer_id": "busy", "reason": "load"}))
		}
	}
	mine := map[string]string{} // reviewer → submission
	for _, a := range h.assignments(round) {
		if a.Reviewer != "busy" {
			mine[a.Reviewer] = a.Sub
		}
	}
	if len(mine) != n {
		t.Fatalf("%d reviewers assigned, want %d", len(mine), n)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var took []time.Duration
	failed := map[string]int{}
	ready := make(chan struct{})
	for rv, sub := range mine {
		wg.Go(func() {
			<-ready
			base := "/v1/review-rounds/" + round + "/submissions/" + sub
			for _, step := range []struct {
				path string
				body map[string]any
			}{{"/response", map[string]any{"accept": true}}, {"/reviews", review(3)}} {
				began := time.Now()
				status := h.Do("POST", base+step.path, h.as(rv), step.body).Status
				mu.Lock()
				took = append(took, time.Since(began))
				if status != http.StatusOK {
					failed[rv+step.path] = status
				}
				mu.Unlock()
			}
		})
	}
	close(ready)
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("answers other than 200: %v", failed)
	}
	slices.Sort(took)
	t.Logf("accept and review under %d concurrent reviewers: p50 %s, p95 %s, max %s", n, took[len(took)/2], took[len(took)*95/100], took[len(took)-1])

	for _, a := range h.assignments(round) {
		if a.Reviewer != "busy" && a.State != "accepted" {
			t.Errorf("%s on %s is %s, want accepted", a.Reviewer, a.Sub, a.State)
		}
	}
	for rv, sub := range mine {
		items := h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as(rv), nil)).JSON(t)["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["reviewed"] != true {
			t.Errorf("%s's assignments %v, want their one review of %s in", rv, items, sub)
		}
		reviews := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round+"/submissions/"+sub+"/reviews", h.ops, nil)).JSON(t)["items"].([]any)
		if len(reviews) != 1 {
			t.Errorf("%s has %d reviews, want 1", sub, len(reviews))
		}
	}
}
