package service

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// The review service is run from its own binary: its packages are its own, and its
// module offers no in-process starter (the others' servicetest packages). It is built
// once per test process, into a directory TestMain removes (each run left 42 MB in the
// temporary directory before).
var (
	reviewOnce sync.Once
	reviewDir  string
	reviewBin  string
	reviewErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.StopHTMLChecker()
	if reviewDir != "" {
		_ = os.RemoveAll(reviewDir)
	}
	os.Exit(code)
}

func reviewBinary(tb testing.TB) string {
	tb.Helper()
	reviewOnce.Do(func() {
		reviewDir, reviewErr = os.MkdirTemp("", "tc-portal-review-")
		if reviewErr != nil {
			return
		}
		reviewBin = filepath.Join(reviewDir, "review")
		cmd := exec.Command("go", "build", "-o", reviewBin, "github.com/itss/techcommit/services/review/cmd/review")
		if out, err := cmd.CombinedOutput(); err != nil {
			reviewErr = fmt.Errorf("build review: %v\n%s", err, out)
		}
	})
	if reviewErr != nil {
		tb.Fatal(reviewErr)
	}
	return reviewBin
}

// freeAddrs returns n addresses free now and apart from each other: each listener is
// held until all are chosen, since one closed first may be given again (CI once saw
// the review service given one port for its API and admin listeners, which it
// refuses).
func freeAddrs(tb testing.TB, n int) []string {
	tb.Helper()
	out := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().String())
	}
	return out
}

// startReview runs the review service on env, trusting the portal's keys at jwks,
// and returns a client for it once it is ready. Its ports are chosen free and then
// bound by the service, so another process may take one in between (CI saw a
// connection's ephemeral port land on it): a start that fails to bind is made again
// on other ports.
func startReview(t *testing.T, env *testenv.Env, jwks string) *testenv.Client {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addrs := freeAddrs(t, 2)
		api, admin := addrs[0], addrs[1]
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, reviewBinary(t))
		cmd.Env = append(os.Environ(), "HTTP_ADDR="+api, "ADMIN_ADDR="+admin, "MONGO_URI="+testenv.MongoURI(t), "MONGO_DATABASE="+testenv.DatabaseName(t),
			"NATS_URL="+env.NATS.URL, "AUTH_JWKS_URL="+env.Issuer.Issuer+"/.well-known/jwks.json", "AUTH_ISSUER="+env.Issuer.Issuer,
			"AUTH_AUDIENCE="+config.DevAudience("review"), "AUTH_ALLOW_INSECURE_JWKS=true",
			"AUTH_PORTAL_ISSUER="+portalIssuer, "AUTH_PORTAL_JWKS_URL="+jwks, "LOG_LEVEL=error")
		var stderr testenv.Log
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		t.Cleanup(func() {
			cancel()
			<-exited
		})
		ready := func() error {
			resp, err := http.Get("http://" + admin + "/readyz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("readyz = %d", resp.StatusCode)
			}
			return nil
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := ready()
			if err == nil {
				return &testenv.Client{TB: t, URL: "http://" + api, AdminURL: "http://" + admin, Issuer: env.Issuer}
			}
			select {
			case <-exited:
				if attempt < 3 && strings.Contains(stderr.String(), "address already in use") {
					t.Logf("the review service could not bind its ports (%s): starting it again on others", strings.TrimSpace(stderr.String()))
				} else {
					t.Fatalf("the review service stopped: %s", stderr.String())
				}
			case <-time.After(100 * time.Millisecond):
				if time.Now().After(deadline) {
					t.Fatalf("the review service is not ready after 30s: %v (%s)", err, stderr.String())
				}
				continue
			}
			break
		}
	}
}

// withReview starts the review service from its binary and a portal that calls it,
// each trusting the other's keys, on an environment of their own.
func withReview(t *testing.T) (*testenv.Env, *testenv.Client, *portal) {
	t.Helper()
	env := testenv.NewEnv(t)
	var portalURL string
	jwks := forwardJWKS(t, &portalURL)
	review := startReview(t, env, jwks)
	p := startPortalOn(t, env, services{review: review.URL})
	portalURL = p.url
	return env, review, p
}

// A reviewer signs in and sees their assignment from the review service, called
// with the portal's token for their reviewer id; declining without a reason is
// refused beside the field; accepting is recorded by the service.
func TestReviewerAnswersAnAssignment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	env, review, p := withReview(t)
	round, sub := assignReviewer(t, env, review, p, "rita@reviewers.example")

	// The portal learns of the reviewer from the review service's events.
	p.waitFor("rita@reviewers.example", func(person signin.Person) bool { return person.Reviewer != nil })
	cookie := p.signIn("rita@reviewers.example")
	page := p.do("GET", "/reviews", cookie, nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Round 2027") || !strings.Contains(page.body, "Waiting for your answer") {
		t.Fatalf("assignments page = %d: %s", page.status, page.body)
	}
	respond := "/reviews/" + round + "/" + sub + "/respond"
	bad := p.do("POST", respond, cookie, url.Values{"accept": {"false"}})
	field := "field-reason-" + round + "-" + sub
	doc := parse(t, bad.body)
	if bad.status != http.StatusBadRequest || len(find(doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#"+field })) != 1 ||
		len(find(doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "id") == field })) != 1 {
		t.Fatalf("a decline without a reason = %d, want 400 with the summary linking to the reason field: %s", bad.status, bad.body)
	}
	// A reason the service refuses (one line only) is shown beside the field too,
	// in the service's words.
	refused := p.do("POST", respond, cookie, url.Values{"accept": {"false"}, "reason": {"Too busy\nuntil March"}})
	doc = parse(t, refused.body)
	summary := find(doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#"+field })
	if refused.status != http.StatusBadRequest || len(summary) != 1 {
		t.Fatalf("a reason the service refuses = %d, want 400 with the summary linking to the reason field: %s", refused.status, refused.body)
	}
	t.Logf("the service said: %s", text(summary[0]))
	if r := p.do("POST", respond, cookie, url.Values{"accept": {"true"}}); r.status != http.StatusSeeOther {
		t.Fatalf("accept = %d: %s", r.status, r.body)
	}
	if page := p.do("GET", "/reviews", cookie, nil); !strings.Contains(page.body, "Accepted") {
		t.Fatalf("after accepting: %s", page.body)
	}
	// Answering again is the service's refusal, shown as a page, not a failure.
	if r := p.do("POST", respond, cookie, url.Values{"accept": {"true"}}); r.status >= 500 {
		t.Fatalf("answering twice = %d", r.status)
	}
}

// assignReviewer makes, through the review service as its users would, a submitted
// self-assessment of an organisation with an open obligation, a reviewer with the
// address email, and a round "Round 2027" that assigns the submission to them. It
// returns the round and the submission.
func assignReviewer(t *testing.T, env *testenv.Env, review *testenv.Client, p *portal, email string) (round, sub string) {
	t.Helper()
	mint := func(pr auth.Principal) string {
		tok, err := env.Issuer.MintFor(pr, time.Hour, config.DevAudience("review"))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ops := mint(auth.Principal{Subject: "ops-1", Role: auth.RoleOps})

	// An organisation with an open obligation, as the signatory service says.
	p.publish("/tc/signatory", "org-s", events.OrganisationAnnouncedV1{OrganisationID: "org-s", Name: "University of S", Kind: "signatory",
		AnnouncedOn: civil.New(2026, 3, 20), NominatedLead: events.Person{Name: "Lead S", Email: "lead@s.ac.uk"}})
	p.publish("/tc/signatory", "org-s", events.ObligationScheduledV1{OrganisationID: "org-s", OrganisationName: "University of S", ObligationID: "org-s-c1",
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2027, 9, 20)})
	lead := mint(auth.Principal{Subject: "lead-s", Role: auth.RoleLead, Org: "org-s"})
	var sa []map[string]any
	for _, th := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		// Written as a lead writes a list: one point a line, no blank lines between.
		sa = append(sa, map[string]any{"theme": th, "narrative": "Our position on " + th + ":\n- a first point\n- a second point", "rating": 2})
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		r := review.Do("POST", "/v1/submissions", lead, map[string]any{
			"self_assessment":  sa,
			"action_plan":      []map[string]any{{"theme": "recognition", "action": "Start an award", "owner": "HR", "success_measure": "Awarded yearly", "target_date": "2027-06-30"}},
			"technician_voice": map[string]any{"how_consulted": "Survey and focus groups", "participants": 120},
			"webpage":          "https://example.ac.uk/tc",
		})
		if r.Status != http.StatusCreated {
			return fmt.Errorf("draft: %d %s", r.Status, r.Body)
		}
		sub = r.JSON(t)["id"].(string)
		return nil
	})
	review.Must(http.StatusOK, review.Do("POST", "/v1/submissions/"+sub+"/submission", lead, nil))
	registerReviewers(t, p, review, ops, map[string]any{
		"reviewer_id": "rev-s", "name": "Rita Reviewer", "email": email, "organisation_id": "org-other",
		"trained": true, "capacity": 2, "conflicts": []string{},
	})
	round = review.Must(http.StatusCreated, review.Do("POST", "/v1/review-rounds", ops, map[string]any{"name": "Round 2027",
		"review_deadline": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)})).JSON(t)["id"].(string)
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+round+"/submissions", ops, map[string]any{"submission_ids": []string{sub}}))
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", ops, map[string]any{"reviewers_per_submission": 1}))

	return round, sub
}

// Once ITSS close the round, a reviewer who had not answered is not offered Accept
// or Decline (the service would refuse them): the assignments page and the review
// page say that no review is needed.
func TestAClosedRoundOffersTheReviewerNoAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	env, review, p := withReview(t)
	round, sub := assignReviewer(t, env, review, p, "rhys@reviewers.example")
	p.waitFor("rhys@reviewers.example", func(person signin.Person) bool { return person.Reviewer != nil })
	cookie := p.signIn("rhys@reviewers.example")
	if page := p.do("GET", "/reviews", cookie, nil); !strings.Contains(page.body, "Waiting for your answer") || !strings.Contains(page.body, ">Accept<") {
		t.Fatalf("before the close the assignment awaits an answer: %s", page.body)
	}
	ops, err := env.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("review"))
	if err != nil {
		t.Fatal(err)
	}
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+round+"/closure", ops, map[string]any{"reason": "Enough reviews are in"}))
	testenv.Eventually(t, 10*time.Second, func() error {
		page := p.do("GET", "/reviews", cookie, nil)
		if !strings.Contains(page.body, "Round closed: no review needed") || strings.Contains(page.body, ">Accept<") || strings.Contains(page.body, "Decline") {
			return fmt.Errorf("after the close the assignments page reads: %s", page.body)
		}
		return nil
	})
	page := p.do("GET", "/reviews/"+round+"/"+sub, cookie, nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, "no review of this submission is needed from you") || strings.Contains(page.body, "Accept this assignment") {
		t.Errorf("the review page after the close = %d: %s", page.status, page.body)
	}
}

// A reviewer whose organisation withdraws after they were assigned may no longer
// review the submission, and the review service takes them off it (notify tells
// them no review is needed): the review page then says the assignment is no longer
// theirs, rather than "page not found", and shows nothing of the submission, and the
// assignment leaves their list.
func TestAReviewerWhoseOrganisationWithdrewLosesTheSubmission(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	env, review, p := withReview(t)
	round, sub := assignReviewer(t, env, review, p, "rowan@reviewers.example")
	p.waitFor("rowan@reviewers.example", func(person signin.Person) bool { return person.Reviewer != nil })
	cookie := p.signIn("rowan@reviewers.example")
	page := "/reviews/" + round + "/" + sub
	if r := p.do("GET", page, cookie, nil); r.status != http.StatusOK {
		t.Fatalf("the review page before the withdrawal = %d: %s", r.status, r.body)
	}
	p.publish("/tc/signatory", "org-other", events.OrganisationWithdrawnV1{OrganisationID: "org-other", Reason: "left", InitiatedBy: "organisation"})
	testenv.Eventually(t, 10*time.Second, func() error {
		r := p.do("GET", page, cookie, nil)
		if r.status != http.StatusNotFound || h1(t, r.body) != "No assignment of yours for this submission" || strings.Contains(r.body, "Our position on") {
			return fmt.Errorf("the review page after the withdrawal = %d: %s", r.status, r.body)
		}
		return nil
	})
	if r := p.do("GET", "/reviews", cookie, nil); strings.Contains(r.body, page) {
		t.Errorf("the assignments page still lists the submission: %s", r.body)
	}
}

// A reviewer who declines is told it was heard; pressing Decline again, or following
// the assignment email's link afterwards, says the assignment is no longer theirs,
// not "page not found".
func TestADeclineIsConfirmedAndItsPagesSayTheAssignmentIsGone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	env, review, p := withReview(t)
	round, sub := assignReviewer(t, env, review, p, "dara@reviewers.example")
	p.waitFor("dara@reviewers.example", func(person signin.Person) bool { return person.Reviewer != nil })
	cookie := p.signIn("dara@reviewers.example")
	respond := "/reviews/" + round + "/" + sub + "/respond"
	decline := url.Values{"accept": {"false"}, "reason": {"On leave until March"}}
	r := p.do("POST", respond, cookie, decline)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/reviews?declined="+url.QueryEscape(round+"/"+sub) {
		t.Fatalf("declining = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
	}
	if page := p.do("GET", r.header.Get("Location"), cookie, nil); !strings.Contains(page.body, "You declined the assignment. ITSS will ask another reviewer") {
		t.Errorf("the assignments page after declining: %s", page.body)
	}
	// The notice is of a decline: an address that names none says nothing of one.
	if page := p.do("GET", "/reviews?declined=1", cookie, nil); strings.Contains(page.body, "You declined") {
		t.Errorf("an address naming no decline says the reviewer declined")
	}
	for _, req := range []struct {
		method, path string
		form         url.Values
	}{{"POST", respond, decline}, {"GET", "/reviews/" + round + "/" + sub, nil}} {
		r := p.do(req.method, req.path, cookie, req.form)
		if r.status != http.StatusNotFound || h1(t, r.body) != "No assignment of yours for this submission" || !strings.Contains(r.body, "You may have declined it") {
			t.Errorf("%s %s after declining = %d: %s", req.method, req.path, r.status, r.body)
		}
	}
}
