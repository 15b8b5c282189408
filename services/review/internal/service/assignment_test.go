package service_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/services/review/api"
)

// submittedRating submits org's submission with every theme rated 3 but weakest,
// rated 1.
func (h *harness) submittedRating(org, weakest string) string {
	h.t.Helper()
	body := complete("Start an award")
	var sa []map[string]any
	for _, t := range themes {
		rating := 3
		if t == weakest {
			rating = 1
		}
		sa = append(sa, map[string]any{"theme": t, "narrative": "Our position on " + t, "rating": rating})
	}
	body["self_assessment"] = sa
	id := h.drafted(org, body)
	h.Must(http.StatusOK, h.Do("POST", "/v1/submissions/"+id+"/submission", h.Token(auth.RoleLead, org), nil))
	return id
}

// expert registers a trained pool member with declared themes.
func (h *harness) expert(id, org string, capacity int, themes ...string) {
	h.t.Helper()
	if themes == nil {
		themes = []string{}
	}
	h.register(map[string]any{
		"reviewer_id": id, "name": "Reviewer " + id, "email": id + "@reviewers.example", "organisation_id": org,
		"themes": themes, "trained": true, "capacity": capacity, "conflicts": []string{},
	})
	h.orgs[id] = org
}

func (h *harness) autoAssign(round string, n int) api.AssignmentReport {
	h.t.Helper()
	var out api.AssignmentReport
	r := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": n}))
	if err := json.Unmarshal(r.Body, &out); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// quality is the report's figures without the round.
type quality struct {
	Added     int
	Coverage  any
	Expertise any
	Load      any
}

func figures(r api.AssignmentReport) quality {
	return quality{Added: r.Added, Coverage: r.Coverage, Expertise: r.Expertise, Load: r.Load}
}

// TestAutoAssignWeighsExpertiseAndEarlierRounds: in the spring round the reviewer
// with expertise in the submission's weakest theme is chosen; in the autumn round,
// where nobody has the weakest theme, the review goes to the one reviewer who did none
// in spring, so the load over the rounds is even. Each run reports coverage, the share
// of reviews with an expertise match and the spread of load, and the pool shows each
// reviewer's workload across rounds.
func TestAutoAssignWeighsExpertiseAndEarlierRounds(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	h.announced("b")
	springSub := h.submittedRating("a", "sustainability")
	autumnSub := h.submittedRating("b", "visibility")
	h.expert("expert", "x", 3, "sustainability")
	h.expert("plain1", "y", 3, "recognition")
	h.expert("plain2", "z", 3)
	spring := h.openRound("Spring", start0.Add(30*24*time.Hour), springSub)
	autumn := h.openRound("Autumn", start0.Add(200*24*time.Hour), autumnSub)

	got := h.autoAssign(spring, 2)
	want := quality{Added: 2}
	want.Coverage = struct {
		Covered  int `json:"covered"`
		Required int `json:"required"`
	}{Covered: 2, Required: 2}
	want.Expertise = struct {
		Matched int     `json:"matched"`
		Reviews int     `json:"reviews"`
		Share   float64 `json:"share"`
	}{Matched: 1, Reviews: 2, Share: 0.5}
	want.Load = struct {
		OverRounds     api.LoadSpread `json:"over_rounds"`
		PreviousRounds int            `json:"previous_rounds"`
		ThisRound      api.LoadSpread `json:"this_round"`
	}{OverRounds: api.LoadSpread{Min: 0, Max: 1, Spread: 1}, PreviousRounds: 0, ThisRound: api.LoadSpread{Min: 0, Max: 1, Spread: 1}}
	if diff := cmp.Diff(want, figures(got)); diff != "" {
		t.Errorf("spring report (-want +got):\n%s", diff)
	}
	if got := active(h.assignments(spring), springSub); !cmp.Equal(got, []string{"expert", "plain1"}) {
		t.Errorf("spring reviewers %v, want the expert and plain1", got)
	}

	got = h.autoAssign(autumn, 1)
	want = quality{Added: 1, Coverage: struct {
		Covered  int `json:"covered"`
		Required int `json:"required"`
	}{Covered: 1, Required: 1}}
	want.Expertise = struct {
		Matched int     `json:"matched"`
		Reviews int     `json:"reviews"`
		Share   float64 `json:"share"`
	}{Matched: 0, Reviews: 1, Share: 0}
	want.Load = struct {
		OverRounds     api.LoadSpread `json:"over_rounds"`
		PreviousRounds int            `json:"previous_rounds"`
		ThisRound      api.LoadSpread `json:"this_round"`
	}{OverRounds: api.LoadSpread{Min: 1, Max: 1, Spread: 0}, PreviousRounds: 1, ThisRound: api.LoadSpread{Min: 0, Max: 1, Spread: 1}}
	if diff := cmp.Diff(want, figures(got)); diff != "" {
		t.Errorf("autumn report (-want +got):\n%s", diff)
	}
	if got := active(h.assignments(autumn), autumnSub); !cmp.Equal(got, []string{"plain2"}) {
		t.Errorf("autumn reviewers %v, want plain2, who did none in spring", got)
	}

	var pool struct {
		Items []api.Reviewer `json:"items"`
	}
	if err := json.Unmarshal(h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers", h.ops, nil)).Body, &pool); err != nil {
		t.Fatal(err)
	}
	workload := map[string][]string{}
	for _, r := range pool.Items {
		for _, l := range *r.Workload {
			workload[r.ReviewerId] = append(workload[r.ReviewerId], l.RoundName)
			if l.Reviews != 1 {
				t.Errorf("%s has %d reviews in %s, want 1", r.ReviewerId, l.Reviews, l.RoundName)
			}
		}
	}
	if diff := cmp.Diff(map[string][]string{"expert": {"Spring"}, "plain1": {"Spring"}, "plain2": {"Autumn"}}, workload); diff != "" {
		t.Errorf("workload across rounds (-want +got):\n%s", diff)
	}
}
