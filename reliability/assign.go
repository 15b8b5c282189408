package reliability

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// assignSubject matches the email notify sends a reviewer for each assignment. Its
// subject names the round, the institution and the deadline, so it is matched by its
// shape; checkAssignments counts them per reviewer against the assignments.
var assignSubject = regexp.MustCompile(`^Technician Commitment peer review \(.+\): .+'s submission is assigned to you, due .+`)

// reviewersPer is how many reviewers each submission gets.
const reviewersPer = 2

// assignReviews, still under faults, registers a reviewer pool, opens a review round
// with every submitted self-assessment and has it assigned automatically, retrying
// through faults: however often auto-assign runs, each submission must end with exactly
// reviewersPer assignments and each reviewer one email per assignment.
func (w Workload) assignReviews(ctx context.Context, s *Stack, c *client, ops string, out *outcome, count func(opStats)) error {
	rev := s.Addr["review"]
	var subs, orgs []string
	for _, u := range out.units {
		if u.err == nil && u.reviewSubID != "" {
			subs, orgs = append(subs, u.reviewSubID), append(orgs, u.orgID)
		}
	}
	if len(subs) == 0 {
		return nil
	}
	// The pool takes technicians of announced signatories: the reviewers work at the
	// organisations that submitted (the review service knows each one, having taken
	// its submission), spread so that each submission has reviewers from elsewhere.
	n := (len(subs)*reviewersPer+2)/3 + 2
	for i := range n {
		id := fmt.Sprintf("rev-%s-%d", s.prefix, i)
		if err := w.act(ctx, c, "register reviewer", rev+"/v1/reviewers", ops, map[string]any{"reviewer_id": id, "name": fmt.Sprintf("Reviewer %d", i),
			"email": id + "@reviewers.example.ac.uk", "organisation_id": orgs[i%len(orgs)], "trained": true, "capacity": 3, "conflicts": []string{}}, nil, count); err != nil {
			return err
		}
	}
	st, err := c.retry(ctx, w.Settle, func() (reply, error) {
		return c.do(ctx, http.MethodPost, rev+"/v1/review-rounds", ops, map[string]any{"name": "Reliability " + s.prefix,
			"review_deadline": time.Now().AddDate(0, 6, 0).UTC().Format(time.RFC3339), "reviewers_per_submission": reviewersPer}, nil)
	}, func(a attempt) (bool, error) {
		if a.status != http.StatusCreated {
			return false, fmt.Errorf("open review round: %s", a.reply)
		}
		var r struct{ ID string }
		if err := a.decode(&r); err != nil {
			return false, fmt.Errorf("open review round: %w", err)
		}
		out.reviewRoundID = r.ID
		return true, nil
	})
	if err != nil {
		return err
	}
	count(st)
	round := rev + "/v1/review-rounds/" + out.reviewRoundID
	steps := []struct {
		path string
		body any
	}{{"/submissions", map[string]any{"submission_ids": subs}}, {"/automatic-assignments", map[string]any{"reviewers_per_submission": reviewersPer}}}
	for _, step := range steps {
		if err := w.act(ctx, c, "review round "+step.path, round+step.path, ops, step.body, nil, count); err != nil {
			return err
		}
	}
	return nil
}

// checkAssignments reads the round back: every submission has exactly reviewersPer
// distinct reviewers, and each reviewer got one email per assignment.
func checkAssignments(ctx context.Context, s *Stack, c *client, ops string, out *outcome, t *tally, within time.Duration) {
	if out.reviewRoundID == "" {
		return
	}
	r, err := c.do(ctx, http.MethodGet, s.Addr["review"]+"/v1/review-rounds/"+out.reviewRoundID, ops, nil, nil)
	var round struct {
		Submissions []struct {
			SubmissionID string `json:"submission_id"`
		}
		Assignments []struct {
			SubmissionID string `json:"submission_id"`
			ReviewerID   string `json:"reviewer_id"`
			State        string
		}
	}
	if err != nil || r.status != http.StatusOK || r.decode(&round) != nil {
		t.lose("review round: cannot read it: %v %s", err, r)
		return
	}
	per := map[string][]string{}
	mine := map[string]int{}
	for _, a := range round.Assignments {
		if a.State == "removed" {
			continue
		}
		per[a.SubmissionID] = append(per[a.SubmissionID], a.ReviewerID)
		mine[a.ReviewerID+"@reviewers.example.ac.uk"]++
	}
	for _, sub := range round.Submissions {
		rs := per[sub.SubmissionID]
		slices.Sort(rs)
		if len(slices.Compact(slices.Clone(rs))) != len(rs) || len(rs) > reviewersPer {
			t.duplicated = append(t.duplicated, fmt.Sprintf("submission %s assigned %v", sub.SubmissionID, rs))
		} else if len(rs) < reviewersPer {
			t.lose("submission %s has %d reviewers, want %d", sub.SubmissionID, len(rs), reviewersPer)
		}
	}
	t.expectedEmails += len(round.Assignments)
	got := map[string]int{}
	_ = eventually(ctx, within, func() error {
		clear(got)
		total := 0
		for _, m := range s.Mail.Messages() {
			if assignSubject.MatchString(m.Subject) {
				got[m.To]++
				total++
			}
		}
		if total < len(round.Assignments) {
			return fmt.Errorf("%d assignment emails for %d assignments", total, len(round.Assignments))
		}
		return nil
	})
	for to, n := range mine {
		switch {
		case got[to] > n:
			t.duplicated = append(t.duplicated, fmt.Sprintf("reviewer %s: %d assignment emails for %d assignments", to, got[to], n))
		case got[to] < n:
			t.lose("reviewer %s: %d assignment emails for %d assignments", to, got[to], n)
		}
	}
	for to, n := range got {
		if mine[to] == 0 {
			t.duplicated = append(t.duplicated, fmt.Sprintf("reviewer %s: %d assignment emails for no assignment", to, n))
		}
	}
}
