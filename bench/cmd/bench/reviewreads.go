package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itss/techcommit/libs/auth"
)

// reviewSet is what seedReview made, for the review reads to name.
type reviewSet struct {
	subs     []string          // every organisation's submission, in id order
	round    string            // the round they are all in, closed
	released string            // the submission whose feedback is out
	leads    map[string]string // organisation → its lead's token
	reviewer string            // the token of a reviewer holding two assignments
}

// poolOrgs numbers the organisations onboarded for reviewers to work at.
var poolOrgs atomic.Int64

// poolOrganisation onboards an organisation for seeded reviewers to work at: an
// announced signatory (the pool takes technicians of signatories only) that submits
// nothing, so that no conflict keeps its technicians off a submission.
func poolOrganisation(ctx context.Context, c *client) (string, error) {
	return onboard(ctx, c, c.s.url(8081)+"/v1/organisations", 900000+int(poolOrgs.Add(1)))
}

// registerReviewer adds a member to the pool, retrying while the review service has
// not yet learned of their organisation's announcement (400 organisation_id).
func registerReviewer(ctx context.Context, c *client, rv string, member map[string]any) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, m, err := c.do(ctx, http.MethodPost, rv+"/v1/reviewers", c.ops, member)
		switch {
		case err != nil:
			return err
		case code == http.StatusCreated:
			return nil
		case code != http.StatusBadRequest && code != http.StatusServiceUnavailable || time.Now().After(deadline):
			return fmt.Errorf("register reviewer %v: %d %v", member["reviewer_id"], code, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seedReview has each organisation's lead draft and submit a submission, puts them
// all in one round with one reviewer each (automatic assignment, plus two by hand to
// the measured reviewer), has one reviewed, the round closed and that submission's
// feedback released, and opens n/10 more rounds: the history the review reads must
// not grow with.
func seedReview(ctx context.Context, c *client, ds *dataSet) error {
	rv := c.s.url(8082)
	rs := &reviewSet{leads: map[string]string{}}
	ds.review = rs
	for _, org := range ds.orgs {
		tok, err := c.issuer.MintFor(auth.Principal{Subject: "reads-lead-" + org, Role: auth.RoleLead, Org: org}, time.Hour, "tc-review")
		if err != nil {
			return err
		}
		rs.leads[org] = tok
	}
	var mu sync.Mutex
	if err := parallel(ctx, len(ds.orgs), func(i int) error {
		org := ds.orgs[i]
		id, err := submit(ctx, c, rv, rs.leads[org])
		if err != nil {
			return fmt.Errorf("submission of %s: %w", org, err)
		}
		mu.Lock()
		defer mu.Unlock()
		rs.subs = append(rs.subs, id)
		return nil
	}); err != nil {
		return err
	}
	slices.Sort(rs.subs)
	n := len(rs.subs)
	pool, err := poolOrganisation(ctx, c)
	if err != nil {
		return fmt.Errorf("the reviewers' organisation: %w", err)
	}
	for i := range n/20 + 2 {
		if err := registerReviewer(ctx, c, rv, map[string]any{"reviewer_id": fmt.Sprintf("reads-rv-%d", i), "name": "Reviewer",
			"email": fmt.Sprintf("rv%d@pool.example.ac.uk", i), "organisation_id": pool, "trained": true, "capacity": 20}); err != nil {
			return err
		}
	}
	// Capacity 0: automatic assignment leaves this one to the two given by hand.
	if err := registerReviewer(ctx, c, rv, map[string]any{"reviewer_id": "reads-me", "name": "Measured Reviewer",
		"email": "me@pool.example.ac.uk", "organisation_id": pool, "trained": true, "capacity": 0}); err != nil {
		return err
	}
	me, err := c.issuer.MintFor(auth.Principal{Subject: "reads-me", Role: auth.RoleReviewer, Org: pool}, time.Hour, "tc-review")
	if err != nil {
		return err
	}
	rs.reviewer = me
	deadline := time.Now().Add(30 * 24 * time.Hour)
	round, err := c.must(ctx, http.MethodPost, rv+"/v1/review-rounds", c.ops, map[string]any{"name": "Reads", "review_deadline": deadline.Format(time.RFC3339),
		"reviewers_per_submission": 1})
	if err != nil {
		return err
	}
	rs.round = round["id"].(string)
	base := rv + "/v1/review-rounds/" + rs.round
	if _, err := c.must(ctx, http.MethodPost, base+"/submissions", c.ops, map[string]any{"submission_ids": rs.subs}); err != nil {
		return err
	}
	rs.released = rs.subs[len(rs.subs)/2]
	for _, sub := range []string{rs.released, rs.subs[0]} {
		if _, err := c.must(ctx, http.MethodPost, base+"/assignments", c.ops, map[string]any{"action": "assign", "submission_id": sub,
			"reviewer_id": "reads-me", "reason": "Measured"}); err != nil {
			return err
		}
	}
	if _, err := c.must(ctx, http.MethodPost, base+"/automatic-assignments", c.ops, nil); err != nil {
		return err
	}
	var themes []map[string]any
	for _, t := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		themes = append(themes, map[string]any{"theme": t, "score": 3, "strengths": "Clear", "recommendations": "More"})
	}
	for _, step := range []struct {
		url   string
		token string
		body  any
	}{
		{base + "/submissions/" + rs.released + "/response", me, map[string]any{"accept": true}},
		{base + "/submissions/" + rs.released + "/reviews", me, map[string]any{"themes": themes, "summary": "A credible plan."}},
		{base + "/close", c.ops, map[string]any{"reason": "Reviewed"}},
		{base + "/submissions/" + rs.released + "/feedback", c.ops, map[string]any{"feedback": "Well evidenced."}},
	} {
		if _, err := c.must(ctx, http.MethodPost, step.url, step.token, step.body); err != nil {
			return err
		}
	}
	for i := range n / 10 {
		if _, err := c.must(ctx, http.MethodPost, rv+"/v1/review-rounds", c.ops, map[string]any{"name": fmt.Sprintf("Later %d", i),
			"review_deadline": deadline.Add(time.Duration(i+1) * time.Hour).Format(time.RFC3339)}); err != nil {
			return err
		}
	}
	return nil
}

// submit drafts a complete submission as a lead and submits it, retrying the draft
// until the review service has taken in the organisation's open obligation.
func submit(ctx context.Context, c *client, rv, lead string) (string, error) {
	var sa []map[string]any
	for _, t := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		sa = append(sa, map[string]any{"theme": t, "narrative": "Our position on " + t, "rating": 2})
	}
	body := map[string]any{
		"self_assessment":  sa,
		"action_plan":      []map[string]any{{"theme": "recognition", "action": "An award", "owner": "HR", "success_measure": "Given", "target_date": "2027-06-30"}},
		"technician_voice": map[string]any{"how_consulted": "Survey", "participants": 40},
		"webpage":          "https://example.ac.uk/tc",
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, m, err := c.do(ctx, http.MethodPost, rv+"/v1/submissions", lead, body)
		if err != nil {
			return "", err
		}
		if code == http.StatusCreated {
			id := m["id"].(string)
			_, err := c.must(ctx, http.MethodPost, rv+"/v1/submissions/"+id+"/submit", lead, nil)
			return id, err
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("draft: %d %v", code, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reviewReads are the review service's list and detail reads. The rounds list asks
// for pages of 2, which both sets fill (they hold 3 and 21 rounds).
func reviewReads(c *client, ds *dataSet, limit int) []read {
	rs := ds.review
	rv := c.s.url(8082)
	org := ds.orgs[len(ds.orgs)/2]
	l := fmt.Sprintf("?limit=%d", limit)
	return []read{
		{"review: submissions ?limit (ops)", rv + "/v1/submissions" + l, c.ops},
		{"review: a lead's submissions", rv + "/v1/submissions" + l, rs.leads[org]},
		{"review: one submission", rv + "/v1/submissions/" + rs.released, c.ops},
		{"review: one submission's feedback", rv + "/v1/submissions/" + rs.released + "/feedback", c.ops},
		{"review: rounds ?limit=2", rv + "/v1/review-rounds?limit=2", c.ops},
		{"review: one round (every assignment in it)", rv + "/v1/review-rounds/" + rs.round, c.ops},
		// What the console's round page reads instead: the round's summary with its
		// progress, and a page of its assignments.
		{"review: one round's summary", rv + "/v1/review-rounds/" + rs.round + "/summary", c.ops},
		{"review: a page of one round's assignments", rv + "/v1/review-rounds/" + rs.round + "/assignments" + l, c.ops},
		{"review: one reviewer", rv + "/v1/reviewers/reads-me", c.ops},
		{"review: the pool ?limit=2", rv + "/v1/reviewers?limit=2", c.ops},
		{"review: a reviewer's assignments", rv + "/v1/assignments", rs.reviewer},
		{"review: the submission to review (its reviewer)", rv + "/v1/review-rounds/" + rs.round + "/submissions/" + rs.subs[0], rs.reviewer},
		{"review: a submission's reviews (ops)", rv + "/v1/review-rounds/" + rs.round + "/submissions/" + rs.released + "/reviews", c.ops},
	}
}
