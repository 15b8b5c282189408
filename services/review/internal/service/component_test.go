package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/api"
	"github.com/itss/techcommit/services/review/internal/config"
	"github.com/itss/techcommit/services/review/internal/service"
)

// The fake clock starts here: 10:00 on 1 March 2027.
var start0 = time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)

var themes = []string{"visibility", "recognition", "career_development", "sustainability"}

type harness struct {
	*testenv.Client
	t     *testing.T
	js    jetstream.JetStream
	svc   *service.Service
	clock *clock.Fake
	ops   string
	// orgs is where each pool member works, as registered.
	orgs map[string]string
	// signatories are the organisations announced on the stream so far.
	signatories map[string]bool
}

func start(t *testing.T) *harness {
	t.Helper()
	return startWith(t, func(*config.Config) {})
}

// startWith starts the service with its configuration changed by adjust.
func startWith(t *testing.T, adjust func(*config.Config)) *harness {
	t.Helper()
	env := testenv.NewEnv(t)
	env.Spec = api.Spec
	cfg := config.Default()
	cfg.Platform = env.Platform(t, cfg.Platform)
	adjust(&cfg)
	if _, err := bus.EnsureStream(context.Background(), env.JS, bus.StreamSpec{Name: events.StreamSignatory, Subjects: []string{events.SubjectsSignatory}}); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(start0)
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{Client: env.Serve(t, svc.Serve, cleanup), t: t, js: env.JS, svc: svc, clock: clk, orgs: map[string]string{}, signatories: map[string]bool{}}
	h.ops = h.Token(auth.RoleOps, "")
	return h
}

// publish puts a signatory event on its stream, as the signatory service would.
func (h *harness) publish(org string, p events.Payload) {
	h.t.Helper()
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: fmt.Sprintf("%s-%s-%d", org, p.EventType(), time.Now().UnixNano()), Source: "/tc/signatory", Type: p.EventType(),
		AggregateType: "organisation", AggregateID: org, Version: 1, Time: time.Now(), Data: data}
	if _, err := h.js.PublishMsg(context.Background(), bus.Message(e)); err != nil {
		h.t.Fatal(err)
	}
}

// announced makes org an announced signatory with its first obligation open.
func (h *harness) announced(org string) {
	h.t.Helper()
	h.signatory(org)
	h.obligation(org, 1)
}

// signatory announces org as a signatory on the stream, once.
func (h *harness) signatory(org string) {
	h.t.Helper()
	if h.signatories[org] {
		return
	}
	h.signatories[org] = true
	h.publish(org, events.OrganisationAnnouncedV1{OrganisationID: org, Name: "University of " + org, Kind: "signatory", AnnouncedOn: civil.New(2026, 3, 20),
		NominatedLead: events.Person{Name: "Lead of " + org, Email: "lead@" + org + ".ac.uk"}})
}

func (h *harness) obligation(org string, cycle int) {
	h.t.Helper()
	h.publish(org, events.ObligationScheduledV1{OrganisationID: org, OrganisationName: "University of " + org, ObligationID: fmt.Sprintf("%s-c%d", org, cycle),
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: cycle, WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2027, 9, 20)})
}

func complete(action string) map[string]any {
	var sa []map[string]any
	for _, t := range themes {
		sa = append(sa, map[string]any{"theme": t, "narrative": "Our position on " + t, "rating": 2})
	}
	return map[string]any{
		"self_assessment":  sa,
		"action_plan":      []map[string]any{{"theme": "recognition", "action": action, "owner": "HR", "success_measure": "Awarded yearly", "target_date": "2027-06-30"}},
		"technician_voice": map[string]any{"how_consulted": "Survey and focus groups", "participants": 120},
		"webpage":          "https://example.ac.uk/tc",
	}
}

// drafted drafts org's submission once the service knows org's open obligation. The
// deadline is generous: on a loaded 2-core machine (CI with other builds beside it)
// the events' projection once took over 10 s to take an organisation in.
func (h *harness) drafted(org string, body map[string]any) string {
	h.t.Helper()
	var id string
	testenv.Eventually(h.t, 30*time.Second, func() error {
		r := h.Do("POST", "/v1/submissions", h.Token(auth.RoleLead, org), body)
		if r.Status != http.StatusCreated {
			return fmt.Errorf("draft: %d %s", r.Status, r.Body)
		}
		id = r.JSON(h.t)["id"].(string)
		return nil
	})
	return id
}

func (h *harness) submitted(org string) string {
	h.t.Helper()
	id := h.drafted(org, complete("Start an award"))
	got := h.Must(http.StatusOK, h.Do("POST", "/v1/submissions/"+id+"/submission", h.Token(auth.RoleLead, org), nil)).JSON(h.t)
	if got["status"] != "submitted" {
		h.t.Fatalf("status %v after submitting, want submitted", got["status"])
	}
	return id
}

// register adds a member to the pool, first announcing their organisation as a
// signatory if it is not yet (reviewers are technicians of signatories), and waits
// until the review service knows of it. headers are sent with the request, in pairs.
func (h *harness) register(member map[string]any, headers ...string) testenv.Response {
	h.t.Helper()
	h.signatory(member["organisation_id"].(string))
	var r testenv.Response
	testenv.Eventually(h.t, 30*time.Second, func() error {
		if r = h.Do("POST", "/v1/reviewers", h.ops, member, headers...); r.Status != http.StatusCreated {
			return fmt.Errorf("registering %v: %d %s", member["reviewer_id"], r.Status, r.Body)
		}
		return nil
	})
	return r
}

func (h *harness) reviewer(id, org string, trained bool, capacity int, conflicts ...string) {
	h.t.Helper()
	if conflicts == nil {
		conflicts = []string{}
	}
	r := h.register(map[string]any{
		"reviewer_id": id, "name": "Reviewer " + id, "email": id + "@reviewers.example", "organisation_id": org,
		"trained": trained, "capacity": capacity, "conflicts": conflicts,
	})
	// A create says where its object is (docs/API.md).
	if loc := r.Header.Get("Location"); loc != "/v1/reviewers/"+id {
		h.t.Errorf("a reviewer's create has Location %q, want /v1/reviewers/%s", loc, id)
	}
	h.orgs[id] = org
}

func (h *harness) openRound(name string, deadline time.Time, subs ...string) string {
	h.t.Helper()
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/review-rounds", h.ops, map[string]any{"name": name, "review_deadline": deadline.Format(time.RFC3339)})).JSON(h.t)["id"].(string)
	if len(subs) > 0 {
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+id+"/submissions", h.ops, map[string]any{"submission_ids": subs}))
	}
	return id
}

type assignment struct{ Sub, Reviewer, State string }

// assignments reads the round's assignments (ops' view).
func (h *harness) assignments(round string) []assignment {
	h.t.Helper()
	var out []assignment
	for _, x := range h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round, h.ops, nil)).JSON(h.t)["assignments"].([]any) {
		a := x.(map[string]any)
		out = append(out, assignment{a["submission_id"].(string), a["reviewer_id"].(string), a["state"].(string)})
	}
	return out
}

// active lists the reviewers in force on a submission.
func active(as []assignment, sub string) []string {
	var out []string
	for _, a := range as {
		if a.Sub == sub && (a.State == "assigned" || a.State == "accepted") {
			out = append(out, a.Reviewer)
		}
	}
	return out
}

// as is a token for a pool member, at the organisation the pool records for them.
func (h *harness) as(reviewer string) string {
	return h.TokenFor(auth.Principal{Subject: reviewer, Role: auth.RoleReviewer, Org: h.orgs[reviewer], Name: "R", Email: "r@example.ac.uk"})
}

func review(score int) map[string]any {
	var ts []map[string]any
	for _, t := range themes {
		ts = append(ts, map[string]any{"theme": t, "score": score, "strengths": "Strong on " + t, "recommendations": "More on " + t})
	}
	return map[string]any{"themes": ts, "summary": "A credible plan."}
}

// published counts the review service's events on each subject.
func (h *harness) published() map[string]uint64 {
	h.t.Helper()
	s, err := h.js.Stream(context.Background(), events.StreamReview)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(events.SubjectsReview))
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Subjects
}

// payloads decodes every event published on one subject.
func payloads[T events.Payload](h *harness, subject string) []T {
	h.t.Helper()
	ctx := context.Background()
	c, err := h.js.OrderedConsumer(ctx, events.StreamReview, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []T
	for range info.NumPending {
		m, err := c.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			h.t.Fatal(err)
		}
		var p T
		if err := json.Unmarshal(m.Data(), &p); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestAWholeRound(t *testing.T) {
	t.Parallel()
	h := start(t)
	orgs := []string{"a", "b", "c"}
	subs := map[string]string{}
	orgOf := map[string]string{}
	for _, org := range orgs {
		h.announced(org)
	}
	for _, org := range orgs {
		subs[org] = h.submitted(org)
		orgOf[subs[org]] = org
	}

	// Each receipt names the obligation it answers, for the signatory service to close.
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.published()[events.SubjectSubmissionReceived]; n != 3 {
			return fmt.Errorf("%d receipts published, want 3", n)
		}
		return nil
	})
	for _, p := range payloads[events.SubmissionReceivedV1](h, events.SubjectSubmissionReceived) {
		if p.ObligationID != p.OrganisationID+"-c1" || p.Cycle != 1 || p.SubmissionID != subs[p.OrganisationID] {
			t.Errorf("receipt %+v does not name the obligation answered", p)
		}
	}

	// The pool: nobody may review their own organisation or one they declared a
	// conflict with, and the untrained never.
	h.reviewer("ra", "a", true, 2)
	h.reviewer("rb", "b", true, 2, "c")
	h.reviewer("rc", "c", true, 2)
	h.reviewer("rd", "d", true, 2, "a")
	h.reviewer("ru", "e", false, 5)
	own := map[string]string{"ra": "a", "rb": "b", "rc": "c", "rd": "d", "ru": "e"}
	conflicts := map[string][]string{"rb": {"c"}, "rd": {"a"}}
	deadline := start0.Add(30 * 24 * time.Hour)
	round := h.openRound("Spring 2027", deadline, subs["a"], subs["b"], subs["c"])

	report := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, nil)).JSON(t)
	if report["added"] != float64(6) || len(report["uncovered"].([]any)) != 0 {
		t.Fatalf("assignment report %v, want 6 added and nothing uncovered", report)
	}
	as := h.assignments(round)
	load := map[string]int{}
	for _, a := range as {
		load[a.Reviewer]++
		org := orgOf[a.Sub]
		if own[a.Reviewer] == org || slices.Contains(conflicts[a.Reviewer], org) || a.Reviewer == "ru" {
			t.Errorf("%s (of %s, conflicts %v) assigned to %s's submission", a.Reviewer, own[a.Reviewer], conflicts[a.Reviewer], org)
		}
	}
	for _, org := range orgs {
		if n := len(active(as, subs[org])); n != 2 {
			t.Errorf("%s's submission has %d reviewers, want 2", org, n)
		}
	}
	for r, n := range load {
		if n > 2 {
			t.Errorf("%s has %d assignments, capacity 2", r, n)
		}
	}
	st := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+subs["a"], h.Token(auth.RoleLead, "a"), nil)).JSON(t)["status"]
	if st != "in_review" {
		t.Errorf("status %v once in a round, want in_review", st)
	}

	// One of b's reviewers declines: the place goes back to the pool and the next run
	// fills it with someone else.
	decliner := active(as, subs["b"])[0]
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+subs["b"]+"/response", h.as(decliner), map[string]any{"accept": false, "reason": "On leave"}))
	report = h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, nil)).JSON(t)
	as = h.assignments(round)
	if report["added"] != float64(1) || len(active(as, subs["b"])) != 2 || slices.Contains(active(as, subs["b"]), decliner) {
		t.Fatalf("after %s declined: report %v, b's reviewers %v", decliner, report, active(as, subs["b"]))
	}

	// Reviewers accept, read what they review, and write independently: until their
	// own review is in, the others are hidden from them.
	outsider := h.as("ru")
	for _, org := range orgs {
		base := "/v1/review-rounds/" + round + "/submissions/" + subs[org]
		h.Must(http.StatusNotFound, h.Do("GET", base, outsider, nil))
		for i, r := range active(as, subs[org]) {
			tok := h.as(r)
			h.Must(http.StatusOK, h.Do("POST", base+"/response", tok, map[string]any{"accept": true}))
			read := h.Must(http.StatusOK, h.Do("GET", base, tok, nil)).JSON(t)
			if read["id"] != subs[org] || read["content"].(map[string]any)["webpage"] != "https://example.ac.uk/tc" {
				t.Errorf("%s reads %v", r, read)
			}
			if org == "c" && i == 1 {
				continue // this review stays outstanding
			}
			hidden := h.Must(http.StatusOK, h.Do("GET", base+"/reviews", tok, nil)).JSON(t)
			if hidden["others_hidden"] != true || len(hidden["items"].([]any)) != 0 {
				t.Errorf("%s sees %v before writing their own review", r, hidden)
			}
			if org == orgs[0] && i == 0 {
				// Two themes left out and two given twice: every problem is named in one
				// answer, the themes in words.
				bad := review(2)
				ts := bad["themes"].([]map[string]any)
				bad["themes"] = []map[string]any{ts[0], ts[0], ts[1], ts[1]}
				got := h.Must(http.StatusBadRequest, h.Do("POST", base+"/reviews", tok, bad)).JSON(t)
				fields := map[string]string{}
				for _, e := range got["errors"].([]any) {
					fields[e.(map[string]any)["field"].(string)] = e.(map[string]any)["message"].(string)
				}
				if len(fields) != 3 || !strings.Contains(fields["themes"], "Career development and Sustainability are missing") || fields["themes.1.theme"] == "" || fields["themes.3.theme"] == "" {
					t.Errorf("a review with two themes missing and two twice is refused naming %v", fields)
				}
			}
			h.Must(http.StatusOK, h.Do("POST", base+"/reviews", tok, review(2+i)))
			h.Must(http.StatusConflict, h.Do("POST", base+"/reviews", tok, review(1)))
		}
		if org == "c" {
			continue
		}
		first := active(as, subs[org])[0]
		seen := h.Must(http.StatusOK, h.Do("GET", base+"/reviews", h.as(first), nil))
		if items := seen.JSON(t)["items"].([]any); len(items) != 2 {
			t.Errorf("%s sees %d reviews after writing theirs, want 2", first, len(items))
		}
		for _, r := range active(as, subs[org]) {
			if r != first && (strings.Contains(string(seen.Body), r) || strings.Contains(string(seen.Body), "Reviewer "+r)) {
				t.Errorf("%s sees who wrote another review: %s", first, seen.Body)
			}
		}
	}

	// The deadline passes with c's second review outstanding: one overdue event, once
	// (however the deadline timer and a sweep interleave).
	h.clock.Set(deadline.Add(time.Minute))
	if n, err := h.svc.App.SweepOverdue(context.Background()); err != nil || n > 1 {
		t.Fatalf("overdue sweep marked %d (%v), want 1 at most", n, err)
	}
	if n, err := h.svc.App.SweepOverdue(context.Background()); err != nil || n != 0 {
		t.Errorf("second sweep marked %d (%v), want 0", n, err)
	}
	late := active(as, subs["c"])[1]
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.published()[events.SubjectReviewOverdue]; n != 1 {
			return fmt.Errorf("%d overdue events, want 1", n)
		}
		return nil
	})
	if p := payloads[events.ReviewOverdueV1](h, events.SubjectReviewOverdue)[0]; p.ReviewerID != late || p.ReviewerEmail != late+"@reviewers.example" ||
		p.SubmissionID != subs["c"] || p.OrganisationID != "c" || !p.ReviewDeadline.Equal(deadline) {
		t.Errorf("overdue event %+v, want %s's review of c due %s", p, late, deadline)
	}

	// Ops see every review with its author, moderate and release; the institution
	// reads the consolidated feedback and mean scores, and never who reviewed.
	all := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round+"/submissions/"+subs["a"]+"/reviews", h.ops, nil)).JSON(t)["items"].([]any)
	if len(all) != 2 || all[0].(map[string]any)["reviewer_id"] == nil {
		t.Errorf("ops see %v, want both reviews with their authors", all)
	}
	lead := h.Token(auth.RoleLead, "a")
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/submissions/"+subs["a"]+"/feedback", lead, nil))
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, map[string]any{"reason": "The deadline has passed"}))
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+subs["a"]+"/feedback", h.ops, map[string]any{"feedback": "Commended: the award scheme."}))
	h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+subs["a"]+"/feedback", h.ops, map[string]any{"feedback": "Again."}))
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+subs["b"]+"/feedback", h.ops, map[string]any{"feedback": "A good start."}))
	fb := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+subs["a"]+"/feedback", lead, nil))
	got := fb.JSON(t)
	if got["feedback"] != "Commended: the award scheme." || len(got["scores"].([]any)) != 4 {
		t.Fatalf("the institution reads %s", fb.Body)
	}
	for _, s := range got["scores"].([]any) {
		if s.(map[string]any)["score"] != 2.5 { // the mean of 2 and 3
			t.Errorf("score %v, want 2.5", s)
		}
	}
	sub := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+subs["a"], lead, nil))
	for _, r := range []string{"ra", "rb", "rc", "rd", "ru"} {
		for _, body := range [][]byte{fb.Body, sub.Body} {
			if b := string(body); strings.Contains(b, `"`+r+`"`) || strings.Contains(b, "Reviewer "+r) || strings.Contains(b, r+"@") {
				t.Errorf("the institution can see reviewer %s: %s", r, body)
			}
		}
	}
	if sub.JSON(t)["status"] != "feedback_released" {
		t.Errorf("status %v, want feedback_released", sub.JSON(t)["status"])
	}
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/submissions/"+subs["a"]+"/feedback", h.Token(auth.RoleLead, "b"), nil))
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.published()[events.SubjectFeedbackReleased]; n != 2 {
			return fmt.Errorf("%d feedback events, want 2", n)
		}
		return nil
	})
	for _, p := range payloads[events.FeedbackReleasedV1](h, events.SubjectFeedbackReleased) {
		if p.OrganisationID == "a" && (p.LeadEmail != "lead@a.ac.uk" || p.OrganisationName != "University of a") {
			t.Errorf("feedback event %+v does not say whom to tell", p)
		}
	}

	// The next cycle's submission shows the previous cycle's plan and feedback.
	h.obligation("a", 2)
	next := h.drafted("a", complete("Extend the award to apprentices"))
	if next == subs["a"] {
		t.Fatal("the second cycle reused the first cycle's submission")
	}
	testenv.Eventually(t, 10*time.Second, func() error { // the previous cycle is found through a view, which may lag a moment
		prev, _ := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+next, lead, nil)).JSON(t)["previous"].(map[string]any)
		if prev == nil || prev["submission_id"] != subs["a"] || prev["action_plan"].([]any)[0].(map[string]any)["action"] != "Start an award" ||
			prev["feedback"] == nil || prev["feedback"].(map[string]any)["feedback"] != "Commended: the award scheme." {
			return fmt.Errorf("previous cycle shown as %v", prev)
		}
		return nil
	})
}

func TestConcurrentAssignmentRunsDoNotDoubleAssign(t *testing.T) {
	t.Parallel()
	h := start(t)
	const orgs, runs = 6, 8
	var subs []string
	for i := range orgs {
		h.announced(fmt.Sprintf("o%d", i))
	}
	for i := range orgs {
		subs = append(subs, h.submitted(fmt.Sprintf("o%d", i)))
	}
	for i := range 8 {
		h.reviewer(fmt.Sprintf("r%d", i), fmt.Sprintf("o%d", i%orgs), true, 2, fmt.Sprintf("o%d", (i+1)%orgs))
	}
	round := h.openRound("Race", start0.Add(30*24*time.Hour), subs...)

	// Eight automatic runs race one another and a manual assignment of a reviewer the
	// runs would also pick.
	var wg sync.WaitGroup
	added := make([]int, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 2})
			if r.Status != http.StatusOK {
				t.Errorf("run %d: %d %s", i, r.Status, r.Body)
				return
			}
			added[i] = int(r.JSON(t)["added"].(float64))
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": subs[0], "reviewer_id": "r2", "reason": "Asked for by name"})
		if r.Status != http.StatusOK {
			t.Errorf("manual assignment: %d %s", r.Status, r.Body)
		}
	}()
	wg.Wait()

	as := h.assignments(round)
	pairs, load := map[assignment]int{}, map[string]int{}
	for _, a := range as {
		pairs[assignment{a.Sub, a.Reviewer, ""}]++
		load[a.Reviewer]++
	}
	for p, n := range pairs {
		if n > 1 {
			t.Errorf("%s assigned to %s %d times", p.Reviewer, p.Sub, n)
		}
	}
	for _, s := range subs {
		if n := len(active(as, s)); n < 2 || n > 3 {
			t.Errorf("submission %s has %d reviewers, want 2 (3 with the manual one)", s, n)
		}
	}
	total := 0
	for _, n := range added {
		total += n
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.published()[events.SubjectReviewerAssigned]; int(n) != len(as) {
			return fmt.Errorf("%d assignment events for %d assignments", n, len(as))
		}
		return nil
	})
	// The manual assignment adds one, unless a run had already given r2 that
	// submission: then it is answered as done and adds nothing.
	if total+1 != len(as) && total != len(as) {
		t.Errorf("the runs report %d added and the manual one at most one more, but the round has %d assignments", total, len(as))
	}
	if pairs[assignment{subs[0], "r2", ""}] != 1 {
		t.Errorf("r2, asked for by name, is not on %s once: %v", subs[0], pairs)
	}
}

func TestSubmissionsBelongToTheirOrganisation(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	h.announced("b")
	id := h.submitted("a")
	other := h.Token(auth.RoleLead, "b")
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/submissions/"+id, other, nil))
	h.Must(http.StatusNotFound, h.Do("POST", "/v1/submissions/"+id+"/submission", other, nil))
	h.Must(http.StatusNotFound, h.Do("PUT", "/v1/submissions/"+id, other, complete("x")))
	body := complete("x")
	body["organisation_id"] = "a"
	h.Must(http.StatusForbidden, h.Do("POST", "/v1/submissions", other, body))
	list := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions", other, nil)).JSON(t)["items"].([]any)
	if len(list) != 0 {
		t.Errorf("b's lead lists %d submissions, want none", len(list))
	}
	testenv.Eventually(t, 10*time.Second, func() error { // the list is a view, which may lag a moment
		if list := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions?organisation_id=a", h.ops, nil)).JSON(t)["items"].([]any); len(list) != 1 {
			return fmt.Errorf("ops list %d of a's submissions, want 1", len(list))
		}
		return nil
	})

	// One submission per obligation, however many drafts are attempted at once.
	var wg sync.WaitGroup
	created := make(chan string, 8)
	testenv.Eventually(t, 10*time.Second, func() error { // b's obligation is known
		if s := h.Do("GET", "/v1/submissions", other, nil).Status; s != http.StatusOK {
			return fmt.Errorf("%d", s)
		}
		return nil
	})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := h.Do("POST", "/v1/submissions", other, complete("y")); r.Status == http.StatusCreated {
				created <- r.JSON(t)["id"].(string)
			}
		}()
	}
	wg.Wait()
	close(created)
	if n := len(created); n > 1 {
		t.Errorf("%d submissions created for one obligation", n)
	}

	// An incomplete draft is kept but cannot be submitted, and says what is missing.
	var draft string
	testenv.Eventually(t, 10*time.Second, func() error {
		list := h.Do("GET", "/v1/submissions", other, nil).JSON(t)["items"].([]any)
		if len(list) != 1 {
			return fmt.Errorf("%d submissions listed", len(list))
		}
		draft = list[0].(map[string]any)["id"].(string)
		return nil
	})
	incomplete := complete("y")
	incomplete["technician_voice"] = map[string]any{"how_consulted": "Not yet", "participants": 0}
	h.Must(http.StatusOK, h.Do("PUT", "/v1/submissions/"+draft, other, incomplete))
	r := h.Must(http.StatusConflict, h.Do("POST", "/v1/submissions/"+draft+"/submission", other, nil))
	if f := r.JSON(t)["field"]; f != "technician_voice.participants" {
		t.Errorf("problem names %v, want technician_voice.participants", f)
	}
	if st := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+draft, other, nil)).JSON(t)["status"]; st != "draft" {
		t.Errorf("status %v after a refused submission, want draft", st)
	}

	// A withdrawn organisation may not submit: neither a new draft nor the draft it
	// made before (its obligations lapsed; a submission of it could never be
	// reviewed). The earlier draft was changed and submitted, 200 each.
	h.announced("w")
	earlier := h.drafted("w", complete("z"))
	h.publish("w", events.OrganisationWithdrawnV1{OrganisationID: "w", Reason: "left", InitiatedBy: "organisation"})
	h.obligation("w", 2)
	wLead := h.Token(auth.RoleLead, "w")
	testenv.Eventually(t, 10*time.Second, func() error {
		if s := h.Do("POST", "/v1/submissions", wLead, complete("z")).Status; s != http.StatusForbidden {
			return fmt.Errorf("withdrawn organisation's draft got %d", s)
		}
		return nil
	})
	for _, req := range []struct {
		method, path string
		body         any
	}{{"PUT", "/v1/submissions/" + earlier, complete("changed after the withdrawal")}, {"POST", "/v1/submissions/" + earlier + "/submission", nil}} {
		r := h.Must(http.StatusForbidden, h.Do(req.method, req.path, wLead, req.body))
		if !strings.Contains(string(r.Body), "withdrawn") {
			t.Errorf("%s %s after the withdrawal: %s, want it refused saying the organisation withdrew", req.method, req.path, r.Body)
		}
	}
	got := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+earlier, wLead, nil)).JSON(t)
	if got["status"] != "draft" || strings.Contains(fmt.Sprint(got["action_plan"]), "changed after the withdrawal") {
		t.Errorf("the withdrawn organisation's draft after the refusals: %v", got)
	}
}

func TestBadInputIsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	lead := h.Token(auth.RoleLead, "a")
	with := func(mutate func(map[string]any)) map[string]any {
		b := complete("x")
		mutate(b)
		return b
	}
	assessment := func(field string, v any) func(map[string]any) {
		return func(b map[string]any) { b["self_assessment"].([]map[string]any)[0][field] = v }
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"rating above 4", "POST", "/v1/submissions", with(assessment("rating", 5)), 400, "self_assessment.0.rating"},
		{"unknown theme", "POST", "/v1/submissions", with(assessment("theme", "wellbeing")), 400, "self_assessment.0.theme"},
		{"target date not a date", "POST", "/v1/submissions", with(func(b map[string]any) { b["action_plan"].([]map[string]any)[0]["target_date"] = "next June" }), 400, "action_plan.0.target_date"},
		{"script address", "POST", "/v1/submissions", with(func(b map[string]any) { b["webpage"] = "javascript:alert(1)" }), 400, "webpage"},
		{"a direction override in the webpage", "POST", "/v1/submissions", with(func(b map[string]any) { b["webpage"] = "https://www.example.ac.uk/\u202egpj.exe\u200b" }), 400, "webpage"},
		{"a leap second in the deadline", "POST", "/v1/review-rounds", map[string]any{"name": "R", "review_deadline": "2027-05-31T17:00:60Z"}, 400, "review_deadline"},
		{"two dots together in a reviewer's email", "POST", "/v1/reviewers", map[string]any{"reviewer_id": "x", "name": "X", "email": "a..b@x.ac.uk", "organisation_id": "o", "trained": true, "capacity": 2}, 400, "email"},
		{"a field that is not", "POST", "/v1/submissions", with(func(b map[string]any) { b["status"] = "submitted" }), 400, "status"},
		{"operator injection", "POST", "/v1/submissions", with(func(b map[string]any) { b["organisation_id"] = map[string]any{"$ne": nil} }), 400, "organisation_id"},
		{"oversized", "POST", "/v1/submissions", with(assessment("narrative", strings.Repeat("x", 9<<20))), 413, ""},
		// Over the narrative's limit, but a body the service takes: refused naming it.
		{"a narrative over its limit", "POST", "/v1/submissions", with(assessment("narrative", strings.Repeat("x", 300<<10))), 400, "self_assessment.0.narrative"},
		{"capacity over 20", "POST", "/v1/reviewers", map[string]any{"reviewer_id": "x", "name": "X", "email": "x@example.ac.uk", "organisation_id": "o", "trained": true, "capacity": 21}, 400, "capacity"},
		{"conflict with own organisation", "POST", "/v1/reviewers", map[string]any{"reviewer_id": "x", "name": "X", "email": "x@example.ac.uk", "organisation_id": "o", "trained": true, "capacity": 2, "conflicts": []string{"o"}}, 400, "conflicts"},
		{"deadline in the past", "POST", "/v1/review-rounds", map[string]any{"name": "R", "review_deadline": "2020-01-01T00:00:00Z"}, 400, "review_deadline"},
		{"limit over the maximum", "GET", "/v1/submissions?limit=201", nil, 400, "limit"},
		{"a line break in a round's name", "POST", "/v1/review-rounds", map[string]any{"name": "Spring\r\nBcc: x@example.com", "review_deadline": "2027-06-01T00:00:00Z"}, 400, "name"},
		{"a direction override in a reviewer's name", "POST", "/v1/reviewers", map[string]any{"reviewer_id": "x", "name": "Alice \u202eenoJ", "email": "x@example.ac.uk", "organisation_id": "o", "trained": true, "capacity": 2}, 400, "name"},
		{"a blank narrative", "POST", "/v1/submissions", with(assessment("narrative", "   ")), 400, "self_assessment.0.narrative"},
		{"a cursor this service did not issue", "GET", "/v1/reviewers?cursor=bm90LW91cnM", nil, 400, "cursor"},
	}
	// a's obligation is known: the service's own checks, made after it looks the
	// obligation up, answer. (An ftp:// address, the probe before, was refused by
	// the OpenAPI document's pattern without the obligation, so the wait waited for
	// nothing, and the cases the service checks itself raced the events.)
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/submissions", lead, with(func(b map[string]any) { b["webpage"] = "https://www.example.ac.uk/\u200b" }))
		if r.Status != http.StatusBadRequest {
			return fmt.Errorf("%d %s", r.Status, r.Body)
		}
		return nil
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := lead
			if tt.path != "/v1/submissions" {
				tok = h.ops
			}
			r := h.Do(tt.method, tt.path, tok, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.field != "" && r.JSON(t)["field"] != tt.field {
				t.Errorf("problem names %v, want %s: %s", r.JSON(t)["field"], tt.field, r.Body)
			}
		})
	}
	if list := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions", lead, nil)).JSON(t)["items"].([]any); len(list) != 0 {
		t.Errorf("refused requests left %d submissions", len(list))
	}
}

// TestAuthorisationMatrix calls every operation as every role, for its own objects
// and another's: a lead's own organisation's submission and another's; a reviewer's
// own assignment and a submission not assigned to them.
func TestAuthorisationMatrix(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("own")
	h.announced("other")
	own, other := h.submitted("own"), h.submitted("other")
	// The signatory service opens each organisation's next obligation on receipt:
	// a draft then is of it, as a lead's would be (before the service hears of it, a
	// draft is asked again later: TestADraftBeforeTheNextObligationIsKnownIsAskedAgainLater).
	h.obligation("own", 2)
	h.obligation("other", 2)
	testenv.Consumed(t, h.js, events.StreamSignatory, "review-organisations")
	// The matrix's tokens have the subject "<role>-user": make that reviewer
	// assigned to "own"'s submission, and to nothing of "other"'s.
	h.reviewer("reviewer-user", "third", true, 1) // full: automatic runs in the matrix add them nowhere else
	round := h.openRound("R", start0.Add(time.Hour), own, other)
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": own, "reviewer_id": "reviewer-user", "reason": "matrix"}))
	testenv.AuthzMatrix(t, testenv.AuthzTarget{
		Spec: api.Spec,
		PathParams: func(name string, isOwn bool) string {
			switch {
			case name == "sequence":
				return "1"
			case name == "roundId":
				return round
			case isOwn:
				return own
			default:
				return other
			}
		},
		Do: func(r testenv.Request) int {
			tok := ""
			switch r.Caller.Role {
			case "":
			case auth.RoleReviewer:
				// A reviewer works where the pool says; "own" and "other" are the
				// submissions assigned to them and not.
				tok = h.TokenFor(auth.Principal{Subject: "reviewer-user", Role: auth.RoleReviewer, Org: "third", Name: "R", Email: "r@third.example"})
			default:
				tok = h.Token(r.Caller.Role, "own")
			}
			var body any
			if r.Body != nil {
				body = strings.ReplaceAll(string(r.Body), "01a20e6d-6c22-7e4a-ad42-f3118735db1e", own)
			}
			return h.Do(r.Method, r.Path, tok, body).Status
		},
	})
}

func TestUncoveredSubmissionsSayWhyAndTrainingFillsThem(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	sub := h.submitted("a")
	h.reviewer("own", "a", true, 3)
	h.reviewer("novice", "b", false, 3)
	round := h.openRound("Autumn", start0.Add(30*24*time.Hour), sub)

	report := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 1})).JSON(t)
	uncovered := report["uncovered"].([]any)
	if report["added"] != float64(0) || len(uncovered) != 1 {
		t.Fatalf("report %v, want the submission uncovered", report)
	}
	u := uncovered[0].(map[string]any)
	if u["submission_id"] != sub || u["missing"] != float64(1) || !strings.Contains(u["reason"].(string), "1 same organisation") || !strings.Contains(u["reason"].(string), "1 untrained") {
		t.Errorf("uncovered %v does not say why", u)
	}

	trained := map[string]any{"reviewer_id": "novice", "name": "Reviewer novice", "email": "novice@reviewers.example", "organisation_id": "b", "trained": true, "capacity": 3, "conflicts": []string{}}
	h.Must(http.StatusBadRequest, h.Do("PUT", "/v1/reviewers/someone-else", h.ops, trained))
	missing := map[string]any{}
	for k, v := range trained {
		missing[k] = v
	}
	missing["reviewer_id"] = "nobody"
	h.Must(http.StatusNotFound, h.Do("PUT", "/v1/reviewers/nobody", h.ops, missing))
	h.Must(http.StatusOK, h.Do("PUT", "/v1/reviewers/novice", h.ops, trained))
	report = h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 1})).JSON(t)
	if report["added"] != float64(1) || len(report["uncovered"].([]any)) != 0 || !slices.Equal(active(h.assignments(round), sub), []string{"novice"}) {
		t.Errorf("after training: %v", report)
	}
	pool := h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers", h.ops, nil)).JSON(t)["items"].([]any)
	if len(pool) != 2 || pool[0].(map[string]any)["reviewer_id"] != "novice" || pool[0].(map[string]any)["trained"] != true {
		t.Errorf("pool %v, want novice trained", pool)
	}
}

func TestAnIDOfTheWrongKindNamesNothing(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	sub := h.submitted("a")
	h.reviewer("rx", "b", true, 2)
	round := h.openRound("R", start0.Add(time.Hour), sub)
	lead := h.Token(auth.RoleLead, "a")
	for _, r := range []struct {
		method, path, token string
		body                any
	}{
		{"GET", "/v1/review-rounds/" + sub, h.ops, nil},
		{"POST", "/v1/review-rounds/" + sub + "/automatic-assignments", h.ops, nil},
		{"POST", "/v1/review-rounds/reviewer-rx/automatic-assignments", h.ops, nil},
		{"GET", "/v1/review-rounds/" + sub + "/submissions/" + sub + "/reviews", h.ops, nil},
		{"GET", "/v1/submissions/" + round, h.ops, nil},
		{"GET", "/v1/submissions/" + round, lead, nil},
		{"POST", "/v1/submissions/" + round + "/submission", h.ops, nil},
		{"GET", "/v1/submissions/reviewer-rx/feedback", h.ops, nil},
	} {
		if got := h.Do(r.method, r.path, r.token, r.body); got.Status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404: %s", r.method, r.path, got.Status, got.Body)
		}
	}
	h.Must(http.StatusBadRequest, h.Do("POST", "/v1/review-rounds/"+round+"/submissions", h.ops, map[string]any{"submission_ids": []string{round}}))
}

// A submission within every limit the OpenAPI document sets is taken whole, in any
// script: four narratives at their 20,000 characters of Chinese and a plan of 200
// actions at their limits, nearly 2 MB of JSON. (The platform's 256K refused it with
// 413.)
func TestASubmissionAtItsDocumentedLimitsIsTaken(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("big")
	body := complete("x")
	for _, th := range body["self_assessment"].([]map[string]any) {
		th["narrative"] = strings.Repeat("技", 20000)
	}
	body["technician_voice"].(map[string]any)["how_consulted"] = strings.Repeat("技", 8000)
	var plan []map[string]any
	for i := range 200 {
		plan = append(plan, map[string]any{"theme": "recognition", "action": fmt.Sprintf("%03d ", i) + strings.Repeat("a", 3996), "owner": "HR",
			"success_measure": strings.Repeat("m", 4000), "target_date": "2027-06-30"})
	}
	body["action_plan"] = plan
	if data, _ := json.Marshal(body); len(data) < 1<<20 {
		t.Fatalf("the body is %d bytes, not over 1 MB", len(data))
	}
	h.drafted("big", body)
}
