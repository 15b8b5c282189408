package service_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// roundSubmissions lists the submissions a round's own read holds.
func (h *harness) roundSubmissions(round string) []string {
	h.t.Helper()
	var out []string
	for _, x := range h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round, h.ops, nil)).JSON(h.t)["submissions"].([]any) {
		out = append(out, x.(map[string]any)["submission_id"].(string))
	}
	return out
}

// addTo puts submissions into a round and answers the response.
func (h *harness) addTo(round string, subs ...string) testenv.Response {
	h.t.Helper()
	return h.Do("POST", "/v1/review-rounds/"+round+"/submissions", h.ops, map[string]any{"submission_ids": subs})
}

// standing is what ops read of a submission: its status and the round it is in.
func (h *harness) standing(sub string) (status, round string) {
	h.t.Helper()
	got := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+sub, h.ops, nil)).JSON(h.t)
	round, _ = got["round_id"].(string)
	return got["status"].(string), round
}

// A submission nobody reviewed in a round that closed (here: its one reviewer
// declined) was stuck for good: no feedback could be released, the closed round took
// no new assignment, and every later round refused it as "already in review round".
// It now moves to a later round, which reviews it and releases its feedback; the
// round it left no longer counts it, so it reaches feedback_released once its other
// submission's feedback is out. A rebuild of the read models shows the same.
func TestASubmissionNobodyReviewedMovesToALaterRound(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	h.announced("b")
	stuck, other := h.submitted("a"), h.submitted("b")
	h.reviewer("x", "c", true, 3)
	h.reviewer("y", "d", true, 3)
	first := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), stuck, other)
	assign := func(round, sub, reviewer string) {
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": sub, "reviewer_id": reviewer, "reason": "specialist"}))
	}
	assign(first, stuck, "y")
	assign(first, other, "x")
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/submissions/"+stuck+"/response", h.as("y"), map[string]any{"accept": false, "reason": "Busy"}))
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/submissions/"+other+"/response", h.as("x"), map[string]any{"accept": true}))
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/submissions/"+other+"/reviews", h.as("x"), review(3)))
	second := h.openRound("Autumn 2027", start0.Add(60*24*time.Hour))

	// While the first round is open its reviewers may still review it.
	detail(t, h.Must(http.StatusConflict, h.addTo(second, stuck)), "still open")
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/closure", h.ops, map[string]any{"reason": "Deadline passed"}))
	detail(t, h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+first+"/submissions/"+stuck+"/feedback", h.ops, map[string]any{"feedback": "None."})), "no review")

	// Closed with nothing of it to release: it moves.
	got := h.Must(http.StatusOK, h.addTo(second, stuck)).JSON(t)
	if subs := got["submissions"].([]any); len(subs) != 1 || subs[0].(map[string]any)["submission_id"] != stuck {
		t.Errorf("the later round holds %v, want the submission", subs)
	}
	if subs := h.roundSubmissions(first); !slices.Equal(subs, []string{other}) {
		t.Errorf("the first round holds %v, want only %s", subs, other)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if st, r := h.standing(stuck); st != "in_review" || r != second {
			return fmt.Errorf("the submission is %s in round %q, want in_review in %s", st, r, second)
		}
		return nil
	})
	moved := h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+first+"/submissions/"+stuck+"/feedback", h.ops, map[string]any{"feedback": "None."}))
	detail(t, moved, "moved from review round")
	// Rounds and submissions are named in words, the round with its deadline (names
	// may repeat), never by the ids people cannot read.
	if d, _ := moved.JSON(t)["detail"].(string); strings.Contains(d, first) || strings.Contains(d, second) || !strings.Contains(d, "reviews due") {
		t.Errorf("the refusal names rounds by id, or without their deadline: %s", d)
	}
	// Repeating the request changes nothing.
	h.Must(http.StatusOK, h.addTo(second, stuck))
	if subs := h.roundSubmissions(second); len(subs) != 1 {
		t.Errorf("after a repeat the later round holds %v", subs)
	}

	// The first round reaches feedback_released once its remaining submission's is out.
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/submissions/"+other+"/feedback", h.ops, map[string]any{"feedback": "Commended."}))
	if st := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+first, h.ops, nil)).JSON(t)["status"]; st != "feedback_released" {
		t.Errorf("the first round is %v, want feedback_released", st)
	}

	// The later round reviews it and releases its feedback, which the lead reads.
	assign(second, stuck, "x")
	base := "/v1/review-rounds/" + second + "/submissions/" + stuck
	h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as("x"), map[string]any{"accept": true}))
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as("x"), review(2)))
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+second+"/closure", h.ops, nil))
	h.Must(http.StatusOK, h.Do("POST", base+"/feedback", h.ops, map[string]any{"feedback": "A good start."}))
	if st := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+second, h.ops, nil)).JSON(t)["status"]; st != "feedback_released" {
		t.Errorf("the later round is %v, want feedback_released", st)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("GET", "/v1/submissions/"+stuck+"/feedback", h.Token(auth.RoleLead, "a"), nil)
		if r.Status != http.StatusOK {
			return fmt.Errorf("the lead's feedback: %d %s", r.Status, r.Body)
		}
		return nil
	})

	// What the read models show, as the projection built them and as a rebuild does.
	views := func() map[string]any {
		out := map[string]any{}
		testenv.Eventually(t, 10*time.Second, func() error {
			for _, s := range []string{stuck, other} {
				st, r := h.standing(s)
				out[s] = st + " in " + r
			}
			for _, r := range []string{first, second} {
				sum := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+r+"/summary", h.ops, nil)).JSON(t)
				out[r] = fmt.Sprintf("%v with %v", sum["status"], sum["submission_count"])
			}
			want := map[string]any{stuck: "feedback_released in " + second, other: "feedback_released in " + first,
				first: "feedback_released with 1", second: "feedback_released with 1"}
			for k, v := range want {
				if out[k] != v {
					return fmt.Errorf("%s shows %v, want %v", k, out[k], v)
				}
			}
			return nil
		})
		return out
	}
	before := views()
	if _, err := h.svc.RebuildProjections(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := views(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after a rebuild the views are %v, want %v", after, before)
	}
}

// A submission moves from a closed round only when nothing of it there can still be
// released; otherwise it is 409 saying why.
func TestASubmissionMovesOnlyWhenNothingOfItCanStillBeReleased(t *testing.T) {
	t.Parallel()
	h := start(t)
	var subs []string
	for _, org := range []string{"a", "b", "c", "d"} {
		h.announced(org)
		subs = append(subs, h.submitted(org))
	}
	released, counted, returned, open := subs[0], subs[1], subs[2], subs[3]
	h.reviewer("x", "e", true, 5)
	first := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), released, counted, returned)
	for _, s := range []string{released, counted, returned} {
		base := "/v1/review-rounds/" + first + "/submissions/" + s
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": s, "reviewer_id": "x", "reason": "specialist"}))
		h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as("x"), map[string]any{"accept": true}))
		h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as("x"), review(3)))
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/closure", h.ops, nil))
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/submissions/"+returned+"/reviews/x/revision-request", h.ops, map[string]any{"reason": "Say why."}))
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/submissions/"+released+"/feedback", h.ops, map[string]any{"feedback": "Commended."}))
	still := h.openRound("Summer 2027", start0.Add(40*24*time.Hour), open)
	later := h.openRound("Autumn 2027", start0.Add(60*24*time.Hour))

	for _, tt := range []struct{ sub, says string }{
		{open, "still open"},
		{released, "feedback there is released"},
		{counted, "reviews that count"},
		{returned, "returned for revision"},
	} {
		detail(t, h.Must(http.StatusConflict, h.addTo(later, tt.sub)), tt.says)
	}
	if subs := h.roundSubmissions(later); len(subs) != 0 {
		t.Errorf("the later round took %v", subs)
	}
	if subs := h.roundSubmissions(still); !slices.Equal(subs, []string{open}) {
		t.Errorf("the open round holds %v", subs)
	}
	// Withheld, the returned review can no longer be released: the submission moves.
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/submissions/"+returned+"/reviews/x/withholding", h.ops, map[string]any{"reason": "Never revised."}))
	h.Must(http.StatusOK, h.addTo(later, returned))
	if subs := h.roundSubmissions(first); !slices.Equal(subs, []string{released, counted}) {
		t.Errorf("the first round holds %v, want %s and %s", subs, released, counted)
	}
}

// Two requests putting one submission in two open rounds at once: before, both were
// answered 200 (each checked the lagging read model) and both rounds held it. Now
// exactly one round holds it and the other request is 409.
func TestOneSubmissionAddedToTwoRoundsAtOnceGoesIntoOne(t *testing.T) {
	t.Parallel()
	h := start(t)
	r1 := h.openRound("Spring 2027", start0.Add(30*24*time.Hour))
	r2 := h.openRound("Summer 2027", start0.Add(40*24*time.Hour))
	const n = 20
	for i := range n {
		org := fmt.Sprintf("o%d", i)
		h.announced(org)
		sub := h.submitted(org)
		race(t, h, sub, r1, r2)
	}
}

// Two requests moving one submission out of one closed round into two later rounds
// at once: exactly one later round holds it, and the first round lets it go once.
func TestTwoMovesOutOfOneClosedRoundPutTheSubmissionInOne(t *testing.T) {
	t.Parallel()
	h := start(t)
	const n = 10
	var subs []string
	for i := range n {
		org := fmt.Sprintf("o%d", i)
		h.announced(org)
		subs = append(subs, h.submitted(org))
	}
	first := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), subs...)
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+first+"/closure", h.ops, nil))
	r1 := h.openRound("Summer 2027", start0.Add(40*24*time.Hour))
	r2 := h.openRound("Autumn 2027", start0.Add(60*24*time.Hour))
	for _, sub := range subs {
		race(t, h, sub, r1, r2)
	}
	if left := h.roundSubmissions(first); len(left) != 0 {
		t.Errorf("the first round still holds %v", left)
	}
}

// race puts sub into rounds r1 and r2 at once and checks one took it and the other
// request was refused.
func race(t *testing.T, h *harness, sub, r1, r2 string) {
	t.Helper()
	rounds := []string{r1, r2}
	status := make([]int, 2)
	var wg sync.WaitGroup
	for i, r := range rounds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i] = h.addTo(r, sub).Status
		}()
	}
	wg.Wait()
	var holders []string
	for _, r := range rounds {
		if slices.Contains(h.roundSubmissions(r), sub) {
			holders = append(holders, r)
		}
	}
	slices.Sort(status)
	if len(holders) != 1 || !slices.Equal(status, []int{http.StatusOK, http.StatusConflict}) {
		t.Errorf("%s put in two rounds at once: answered %v, held by %v; want 200 and 409 and one round", sub, status, holders)
		return
	}
	winner := holders[0]
	testenv.Eventually(t, 10*time.Second, func() error {
		if st, r := h.standing(sub); st != "in_review" || r != winner {
			return fmt.Errorf("%s is %s in round %q, want in_review in %s", sub, st, r, winner)
		}
		return nil
	})
}
