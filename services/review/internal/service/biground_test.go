package service_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/testenv"
)

// TestClosingARoundOfManyAssignmentsKeepsTheServiceAnswering closes a round of 55
// submissions with two reviewers each, then releases every submission's feedback
// while ops and a reviewer keep reading the lists: every answer is 200, and the lists
// show every feedback released within a deadline. Closing a round rewrites every
// assignment's view at once; sent to the embedded store as one update of 110
// statements, that took every connection of its pool and waited for one more
// forever, and from then on every read and release answered 503.
func TestClosingARoundOfManyAssignmentsKeepsTheServiceAnswering(t *testing.T) {
	t.Parallel()
	h := start(t)
	const n = 55
	var subs []string
	for i := range n {
		org := fmt.Sprintf("big%02d", i)
		h.announced(org)
		subs = append(subs, h.submitted(org))
	}
	for i := range 8 {
		h.reviewer(fmt.Sprintf("rv%d", i), "elsewhere", true, 20)
	}
	round := h.openRound("Large", start0.Add(30*24*time.Hour), subs...)
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 2}))
	as := h.assignments(round)
	if len(as) != 2*n {
		t.Fatalf("%d assignments, want %d", len(as), 2*n)
	}
	inParallel(t, len(as), func(i int) error {
		base := "/v1/review-rounds/" + round + "/submissions/" + as[i].Sub
		for _, step := range []struct {
			path string
			body map[string]any
		}{{"/response", map[string]any{"accept": true}}, {"/reviews", review(3)}} {
			if r := h.Do("POST", base+step.path, h.as(as[i].Reviewer), step.body); r.Status != http.StatusOK {
				return fmt.Errorf("%s by %s: %d %s", step.path, as[i].Reviewer, r.Status, r.Body)
			}
		}
		return nil
	})
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, map[string]any{"reason": "Every review is in"}))

	// Readers go on while the feedback is released, until the test ends, however it
	// ends.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var mu sync.Mutex
	failed := map[string]int{}
	defer func() {
		close(stop)
		readers.Wait()
		if len(failed) > 0 {
			t.Errorf("reads that failed while feedback was released (path: last status): %v", failed)
		}
	}()
	for _, read := range []struct{ path, token string }{
		{"/v1/submissions?limit=200", h.ops},
		{"/v1/review-rounds?limit=10", h.ops},
		{"/v1/assignments?limit=50", h.as("rv0")},
	} {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r := h.Do("GET", read.path, read.token, nil); r.Status != http.StatusOK {
					mu.Lock()
					failed[read.path] = r.Status
					mu.Unlock()
				}
			}
		})
	}
	inParallel(t, n, func(i int) error {
		r := h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+subs[i]+"/feedback", h.ops, map[string]any{"feedback": "The reviewers commend the plan."})
		if r.Status != http.StatusOK {
			return fmt.Errorf("release %s: %d %s", subs[i], r.Status, r.Body)
		}
		return nil
	})
	testenv.Eventually(t, 30*time.Second, func() error {
		r := h.Do("GET", "/v1/submissions?status=feedback_released&limit=200", h.ops, nil)
		if r.Status != http.StatusOK {
			return fmt.Errorf("list: %d %s", r.Status, r.Body)
		}
		if got := len(r.JSON(t)["items"].([]any)); got != n {
			return fmt.Errorf("%d submissions listed with feedback released, want %d", got, n)
		}
		return nil
	})
}

// inParallel runs f for 0..n-1 on eight workers and fails the test with every error.
func inParallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range errs[:min(len(errs), 5)] {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
}
