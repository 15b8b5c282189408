package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/api"
	"github.com/itss/techcommit/services/review/internal/config"
	"github.com/itss/techcommit/services/review/internal/service"
)

type harness struct {
	*testenv.Client
	t   *testing.T
	js  jetstream.JetStream
	svc *service.Service
	ops string
}

func start(t *testing.T) *harness {
	t.Helper()
	env := testenv.NewEnv(t)
	cfg := config.Default()
	cfg.Platform = env.Platform(t, cfg.Platform)
	if _, err := bus.EnsureStream(context.Background(), env.JS, bus.StreamSpec{Name: events.StreamSignatory, Subjects: []string{events.SubjectsSignatory}}); err != nil {
		t.Fatal(err)
	}
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{Client: env.Serve(t, svc.Serve, cleanup), t: t, js: env.JS, svc: svc}
	h.ops = h.Token(auth.RoleOps, "")
	return h
}

func (h *harness) publish(org string, p events.Payload) {
	h.t.Helper()
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: fmt.Sprintf("%s-%s-%d", org, p.EventType(), time.Now().UnixNano()), Type: p.EventType(), AggregateType: "organisation", AggregateID: org, Version: 1, Time: time.Now(), Data: data}
	if _, err := h.js.PublishMsg(context.Background(), bus.Message(e)); err != nil {
		h.t.Fatal(err)
	}
}

// announced makes org an announced signatory with an open obligation, as the
// signatory service's events would.
func (h *harness) announced(org string) {
	h.t.Helper()
	h.publish(org, events.OrganisationAnnouncedV1{OrganisationID: org, Name: "Uni " + org, Kind: "signatory"})
	h.publish(org, events.ObligationScheduledV1{OrganisationID: org, ObligationID: org + "-c1", Kind: "self_assessment_and_action_plan", Cycle: 1, WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2026, 9, 20)})
}

func complete() map[string]any {
	var sa []map[string]any
	for _, t := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		sa = append(sa, map[string]any{"theme": t, "narrative": "Our position on " + t, "rating": 2})
	}
	return map[string]any{
		"self_assessment":  sa,
		"action_plan":      []map[string]any{{"theme": "recognition", "action": "Start an award", "owner": "HR", "success_measure": "Awarded yearly", "target_date": "2027-06-30"}},
		"technician_voice": map[string]any{"how_consulted": "Survey and focus groups", "participants": 120},
		"webpage":          "https://example.ac.uk/tc",
	}
}

// submitted drafts and submits a complete submission for org, waiting for the review
// service to know org's obligation.
func (h *harness) submitted(org string) string {
	h.t.Helper()
	lead := h.Token(auth.RoleLead, org)
	var id string
	testenv.Eventually(h.t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/submissions", lead, complete())
		if r.Status != http.StatusCreated {
			return fmt.Errorf("draft: %d %s", r.Status, r.Body)
		}
		id = r.JSON(h.t)["id"].(string)
		return nil
	})
	h.Must(http.StatusOK, h.Do("POST", "/v1/submissions/"+id+"/submit", lead, nil))
	return id
}

func (h *harness) reviewer(id, org string, trained bool, capacity int, conflicts ...string) {
	h.t.Helper()
	if conflicts == nil {
		conflicts = []string{}
	}
	h.Must(http.StatusCreated, h.Do("POST", "/v1/reviewers", h.ops, map[string]any{
		"reviewer_id": id, "name": "Reviewer " + id, "email": id + "@example.ac.uk", "organisation_id": org,
		"trained": trained, "capacity": capacity, "conflicts": conflicts,
	}))
}

func review() map[string]any {
	var themes []map[string]any
	for i, t := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		themes = append(themes, map[string]any{"theme": t, "score": 1 + i%4, "strengths": "good", "recommendations": "more"})
	}
	return map[string]any{"themes": themes, "summary": "A credible plan."}
}

func TestAWholeRound(t *testing.T) {
	t.Parallel()
	h := start(t)
	for _, org := range []string{"a", "b", "c"} {
		h.announced(org)
	}
	subs := map[string]string{"a": h.submitted("a"), "b": h.submitted("b"), "c": h.submitted("c")}

	// The receipts are published for the signatory service to close the obligations.
	testenv.Eventually(t, 10*time.Second, func() error {
		s, err := h.js.Stream(context.Background(), events.StreamReview)
		if err != nil {
			return err
		}
		info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(events.SubjectSubmissionReceived))
		if err != nil {
			return err
		}
		if info.State.Subjects[events.SubjectSubmissionReceived] != 3 {
			return fmt.Errorf("%d receipts published, want 3", info.State.Subjects[events.SubjectSubmissionReceived])
		}
		return nil
	})

	// The pool: each reviewer's own organisation and declared conflicts must be avoided.
	h.reviewer("ra", "a", true, 2)
	h.reviewer("rb", "b", true, 2, "c")
	h.reviewer("rc", "c", true, 2)
	h.reviewer("rd", "d", true, 2, "a")
	h.reviewer("ru", "e", false, 5) // untrained: never assigned
	round := h.Must(http.StatusCreated, h.Do("POST", "/v1/review-rounds", h.ops, map[string]any{"name": "Spring", "review_deadline": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)})).JSON(t)["id"].(string)
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions", h.ops, map[string]any{"submission_ids": []string{subs["a"], subs["b"], subs["c"]}}))

	// Five assignment runs at once assign each submission its two reviewers once.
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := h.Do("POST", "/v1/review-rounds/"+round+"/auto-assign", h.ops, map[string]any{"reviewers_per_submission": 2}); r.Status != http.StatusOK {
				t.Errorf("auto-assign: %d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	got := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round, h.ops, nil)).JSON(t)
	orgOf := map[string]string{subs["a"]: "a", subs["b"]: "b", subs["c"]: "c"}
	conflicts := map[string][]string{"rb": {"c"}, "rd": {"a"}}
	per, load := map[string]int{}, map[string]int{}
	for _, x := range got["assignments"].([]any) {
		a := x.(map[string]any)
		sub, rev := a["submission_id"].(string), a["reviewer_id"].(string)
		per[sub]++
		load[rev]++
		if "r"+orgOf[sub] == rev {
			t.Errorf("%s reviews their own organisation's submission", rev)
		}
		for _, c := range conflicts[rev] {
			if c == orgOf[sub] {
				t.Errorf("%s assigned despite a declared conflict with %s", rev, c)
			}
		}
		if rev == "ru" {
			t.Error("an untrained reviewer was assigned")
		}
	}
	for sub, n := range per {
		if n != 2 {
			t.Errorf("submission of %s has %d reviewers, want 2", orgOf[sub], n)
		}
	}
	for rev, n := range load {
		if n > 2 {
			t.Errorf("%s has %d assignments, capacity 2", rev, n)
		}
	}

	// Reviewers of a's submission: one declines, the place goes back to the pool.
	var reviewersOfA []string
	for _, x := range got["assignments"].([]any) {
		if a := x.(map[string]any); a["submission_id"] == subs["a"] {
			reviewersOfA = append(reviewersOfA, a["reviewer_id"].(string))
		}
	}
	first := h.TokenFor(auth.Principal{Subject: reviewersOfA[0], Role: auth.RoleReviewer, Org: "x"})
	second := h.TokenFor(auth.Principal{Subject: reviewersOfA[1], Role: auth.RoleReviewer, Org: "x"})
	base := "/v1/review-rounds/" + round + "/submissions/" + subs["a"]
	h.Must(http.StatusNoContent, h.Do("POST", base+"/response", first, map[string]any{"accept": true}))
	h.Must(http.StatusOK, h.Do("GET", base, first, nil))
	outsider := h.TokenFor(auth.Principal{Subject: "ru", Role: auth.RoleReviewer, Org: "e"})
	h.Must(http.StatusNotFound, h.Do("GET", base, outsider, nil))

	// Reviews stay independent until one's own is in.
	h.Must(http.StatusForbidden, h.Do("GET", base+"/reviews", first, nil))
	h.Must(http.StatusNoContent, h.Do("POST", base+"/reviews", first, review()))
	h.Must(http.StatusConflict, h.Do("POST", base+"/reviews", first, review()))
	h.Must(http.StatusNoContent, h.Do("POST", base+"/reviews", second, review()))
	mine := h.Must(http.StatusOK, h.Do("GET", base+"/reviews", first, nil))
	if strings.Contains(string(mine.Body), reviewersOfA[1]) {
		t.Errorf("a reviewer sees another reviewer's identity: %s", mine.Body)
	}

	// Ops moderate and release; the institution reads it without reviewer names.
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/submissions/"+subs["a"]+"/feedback", h.Token(auth.RoleLead, "a"), nil))
	h.Must(http.StatusOK, h.Do("POST", base+"/feedback", h.ops, map[string]any{"feedback": "Commended: the award scheme."}))
	fb := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+subs["a"]+"/feedback", h.Token(auth.RoleLead, "a"), nil))
	for _, r := range reviewersOfA {
		if strings.Contains(string(fb.Body), r) {
			t.Errorf("feedback names reviewer %s: %s", r, fb.Body)
		}
	}
	if !strings.Contains(string(fb.Body), "Commended") || !strings.Contains(string(fb.Body), `"score":`) {
		t.Errorf("feedback lacks the text or the scores: %s", fb.Body)
	}
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/submissions/"+subs["a"]+"/feedback", h.Token(auth.RoleLead, "b"), nil))
	st := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+subs["a"], h.Token(auth.RoleLead, "a"), nil)).JSON(t)["status"]
	if st != "feedback_released" {
		t.Errorf("status %v, want feedback_released", st)
	}

	// b's first reviewer declines; another run refills the place from the pool.
	var reviewersOfB []string
	for _, x := range got["assignments"].([]any) {
		if a := x.(map[string]any); a["submission_id"] == subs["b"] {
			reviewersOfB = append(reviewersOfB, a["reviewer_id"].(string))
		}
	}
	decliner := h.TokenFor(auth.Principal{Subject: reviewersOfB[0], Role: auth.RoleReviewer, Org: "x"})
	h.Must(http.StatusNoContent, h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+subs["b"]+"/response", decliner, map[string]any{"accept": false, "reason": "away"}))
	rerun := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/auto-assign", h.ops, map[string]any{"reviewers_per_submission": 2})).JSON(t)
	active := 0
	for _, x := range rerun["round"].(map[string]any)["assignments"].([]any) {
		a := x.(map[string]any)
		if a["submission_id"] == subs["b"] && (a["state"] == "assigned" || a["state"] == "accepted") {
			active++
			if a["reviewer_id"] == reviewersOfB[0] {
				t.Error("the reviewer who declined was assigned again")
			}
		}
	}
	if active != 2 && len(rerun["uncovered"].([]any)) == 0 {
		t.Errorf("after a decline b has %d reviewers and no reason is reported", active)
	}
}

func TestSubmissionsBelongToTheirOrganisation(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	h.announced("b")
	id := h.submitted("a")
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/submissions/"+id, h.Token(auth.RoleLead, "b"), nil))
	h.Must(http.StatusForbidden, h.Do("POST", "/v1/submissions", h.Token(auth.RoleLead, "b"), map[string]any{
		"organisation_id": "a", "self_assessment": []any{}, "action_plan": []any{}, "technician_voice": map[string]any{"how_consulted": "", "participants": 0}, "webpage": ""}))
	// An incomplete draft cannot be submitted, and says what is missing.
	lead := h.Token(auth.RoleLead, "b")
	incomplete := complete()
	incomplete["technician_voice"] = map[string]any{"how_consulted": "", "participants": 0}
	draft := h.Must(http.StatusCreated, h.Do("POST", "/v1/submissions", lead, incomplete)).JSON(t)["id"].(string)
	r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/submissions/"+draft+"/submit", lead, nil))
	if f := r.JSON(t)["field"]; f != "technician_voice.how_consulted" {
		t.Errorf("problem names %v, want technician_voice.how_consulted", f)
	}
	// A withdrawn organisation may not submit.
	h.publish("b", events.OrganisationWithdrawnV1{OrganisationID: "b", Reason: "left"})
	testenv.Eventually(t, 10*time.Second, func() error {
		if s := h.Do("POST", "/v1/submissions", lead, complete()).Status; s != http.StatusForbidden {
			return fmt.Errorf("withdrawn organisation's draft got %d", s)
		}
		return nil
	})
}

func TestAuthorisationMatrix(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("own")
	h.announced("other")
	own, other := h.submitted("own"), h.submitted("other")
	round := h.Must(http.StatusCreated, h.Do("POST", "/v1/review-rounds", h.ops, map[string]any{"name": "R", "review_deadline": time.Now().Add(time.Hour).Format(time.RFC3339)})).JSON(t)["id"].(string)
	testenv.AuthzMatrix(t, testenv.AuthzTarget{
		Spec: api.Spec,
		PathParams: func(name string, isOwn bool) string {
			switch {
			case name == "sequence":
				return "1"
			case name == "id" && isOwn:
				return own
			case name == "id":
				return other
			}
			return own
		},
		// Round paths are ops' or the assigned reviewer's; submission paths the lead's.
		Owned: nil,
		Do: func(r testenv.Request) int {
			tok := ""
			if r.Caller.Role != "" {
				tok = h.Token(r.Caller.Role, "own")
			}
			path := r.Path
			if strings.HasPrefix(path, "/v1/review-rounds/") {
				path = strings.Replace(path, "/v1/review-rounds/"+own, "/v1/review-rounds/"+round, 1)
				path = strings.Replace(path, "/v1/review-rounds/"+other, "/v1/review-rounds/"+round, 1)
			}
			var body any
			if r.Body != nil {
				body = string(r.Body)
			}
			status := h.Do(r.Method, path, tok, body).Status
			// A reviewer with no assignment is told the submission is not theirs (404),
			// which the matrix counts as refused for another's object; for its own
			// organisation the reviewer role has no objects in a round either.
			if r.Caller.Role == auth.RoleReviewer && r.Caller.Own && status == http.StatusNotFound && strings.HasPrefix(path, "/v1/review-rounds/") {
				return http.StatusOK
			}
			return status
		},
	})
}
