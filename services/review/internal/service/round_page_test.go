package service_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// TestARoundsAssignmentsComePagedAsTheRoundHoldsThem: a round of three submissions,
// two reviewers on each (one review in, one returned, one held back, one reviewer
// removed): the round's assignments read in pages of 4 hold, in submission and
// reviewer order, what the round's own read holds for each; one submission's are
// read alone; the summary counts where they stand; one pool member is read with
// their workload; bad pages are refused naming the field.
func TestARoundsAssignmentsComePagedAsTheRoundHoldsThem(t *testing.T) {
	t.Parallel()
	h := start(t)
	var subs []string
	for _, org := range []string{"a", "b", "c"} {
		h.announced(org)
		subs = append(subs, h.submitted(org))
	}
	h.reviewer("x", "x-org", true, 3)
	h.reviewer("y", "y-org", true, 3)
	round := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), subs...)
	for _, sub := range subs {
		for _, r := range []string{"x", "y"} {
			h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": sub, "reviewer_id": r, "reason": "specialist"}))
		}
	}
	base := "/v1/review-rounds/" + round + "/submissions/"
	for _, r := range []string{"x", "y"} {
		h.Must(http.StatusOK, h.Do("POST", base+subs[0]+"/response", h.as(r), map[string]any{"accept": true}))
		h.Must(http.StatusOK, h.Do("POST", base+subs[0]+"/reviews", h.as(r), review(3)))
	}
	h.Must(http.StatusOK, h.Do("POST", base+subs[0]+"/reviews/x/revision-request", h.ops, map[string]any{"reason": "Say why."}))
	h.Must(http.StatusOK, h.Do("POST", base+subs[0]+"/reviews/y/withholding", h.ops, map[string]any{"reason": "Names staff."}))
	h.Must(http.StatusOK, h.Do("POST", base+subs[1]+"/response", h.as("x"), map[string]any{"accept": true}))
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "remove", "submission_id": subs[2], "reviewer_id": "y", "reason": "conflict"}))

	whole := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round, h.ops, nil)).JSON(t)["assignments"].([]any)
	want := map[string]any{}
	for _, x := range whole {
		a := x.(map[string]any)
		want[a["submission_id"].(string)+"/"+a["reviewer_id"].(string)] = a
	}

	var keys []string
	got := map[string]any{}
	next, pages := "", 0
	for {
		q := "/v1/review-rounds/" + round + "/assignments?limit=4"
		if next != "" {
			q += "&cursor=" + url.QueryEscape(next)
		}
		page := h.Must(http.StatusOK, h.Do("GET", q, h.ops, nil)).JSON(t)
		pages++
		for _, x := range page["items"].([]any) {
			a := x.(map[string]any)
			key := a["submission_id"].(string) + "/" + a["reviewer_id"].(string)
			keys = append(keys, key)
			if a["feedback_released"] != false {
				t.Errorf("%s: feedback_released %v before any release", key, a["feedback_released"])
			}
			delete(a, "feedback_released") // the round's own read has it per submission
			got[key] = a
		}
		next, _ = page["next_cursor"].(string)
		if next == "" || pages > 3 {
			break
		}
	}
	if pages != 2 || len(keys) != 6 || !slices.IsSorted(keys) {
		t.Errorf("read %d pages holding %v, want 2 pages of the 6 assignments in order", pages, keys)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the pages differ from the round's own read (-round +pages):\n%s", d)
	}

	one := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round+"/assignments?submission_id="+subs[2], h.ops, nil)).JSON(t)
	var states []string
	for _, x := range one["items"].([]any) {
		a := x.(map[string]any)
		states = append(states, fmt.Sprint(a["reviewer_id"], ":", a["state"], ":", a["organisation_id"]))
	}
	if w := []string{"x:assigned:c", "y:removed:c"}; !slices.Equal(states, w) || one["next_cursor"] != nil {
		t.Errorf("c's submission's assignments are %v (next %v), want %v", states, one["next_cursor"], w)
	}

	sum := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round+"/summary", h.ops, nil)).JSON(t)
	// In force: a's x (returned: accepted, no review counted) and y (withheld, but
	// in); b's x accepted and y assigned; c's x assigned.
	wantSum := map[string]any{"assigned": 2.0, "accepted": 2.0, "reviewed": 1.0, "overdue": 0.0}
	if d := cmp.Diff(wantSum, sum["progress"]); d != "" || sum["submission_count"] != 3.0 || sum["name"] != "Spring 2027" {
		t.Errorf("the summary %v (-want +got):\n%s", sum, d)
	}

	x := h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers/x", h.ops, nil)).JSON(t)
	load, _ := x["workload"].([]any)
	if x["name"] != "Reviewer x" || len(load) != 1 || load[0].(map[string]any)["reviews"] != 3.0 {
		t.Errorf("reviewer x reads %v, want their record and 3 reviews in the round", x)
	}
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/reviewers/nobody", h.ops, nil))
	h.Must(http.StatusForbidden, h.Do("GET", "/v1/reviewers/x", h.as("x"), nil))

	for _, c := range []struct{ query, field string }{
		{"?limit=0", "limit"},
		{"?limit=201", "limit"},
		{"?cursor=bm90LW91cnM", "cursor"},
		{"?submission_id=not%20an%20id", "submission_id"},
	} {
		r := h.Must(http.StatusBadRequest, h.Do("GET", "/v1/review-rounds/"+round+"/assignments"+c.query, h.ops, nil))
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" || r.JSON(t)["field"] != c.field {
			t.Errorf("%s: %s naming %v, want problem+json naming %s", c.query, ct, r.JSON(t)["field"], c.field)
		}
	}
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/review-rounds/no-such-round/assignments", h.ops, nil))
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/review-rounds/no-such-round/summary", h.ops, nil))

	// The pages name reviewers from what the replica read of them a moment ago; an
	// erasure still shows at once, well within that moment (namesMaxAge, 10 s).
	names := func() map[string]any {
		out := map[string]any{}
		for _, x := range h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round+"/assignments?submission_id="+subs[0], h.ops, nil)).JSON(t)["items"].([]any) {
			out[x.(map[string]any)["reviewer_id"].(string)] = x.(map[string]any)["reviewer_name"]
		}
		return out
	}
	if got := names(); got["y"] != "Reviewer y" {
		t.Fatalf("a's reviewers are named %v", got)
	}
	h.publish("person-y", events.PersonErasedV1{Subject: personal.Subject("y@reviewers.example")})
	testenv.Eventually(t, 15*time.Second, func() error {
		if got := names(); got["y"] != personal.ErasedName || got["x"] != "Reviewer x" {
			return fmt.Errorf("after y's erasure a's reviewers are named %v", got)
		}
		return nil
	})
}
