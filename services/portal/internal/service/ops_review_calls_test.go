package service

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
)

// serviceCalls stands between the portal and the review service, as a network with
// some latency would, and records the calls the portal makes and how many were in
// flight at once.
type serviceCalls struct {
	mu       sync.Mutex
	calls    []string
	inFlight int
	most     int
}

func (c *serviceCalls) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls, c.most = nil, 0
}

// count is how many calls since the last reset were to this method and path.
func (c *serviceCalls) count(method, path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.calls {
		if k == method+" "+path {
			n++
		}
	}
	return n
}

func (c *serviceCalls) mostAtOnce() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.most
}

// startCountedReview is a portal whose review service is reached through calls.
func startCountedReview(t *testing.T) (*portal, *testenv.Client, *serviceCalls) {
	t.Helper()
	env := testenv.NewEnv(t)
	var portalURL string
	jwks := forwardJWKS(t, &portalURL)
	review := startReview(t, env, jwks)
	target, err := url.Parse(review.URL)
	if err != nil {
		t.Fatal(err)
	}
	calls := &serviceCalls{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.mu.Lock()
		calls.calls = append(calls.calls, r.Method+" "+r.URL.Path)
		calls.inFlight++
		calls.most = max(calls.most, calls.inFlight)
		calls.mu.Unlock()
		defer func() {
			calls.mu.Lock()
			calls.inFlight--
			calls.mu.Unlock()
		}()
		// The latency of a network between the portal and a service, so that calls
		// made at once overlap here.
		time.Sleep(50 * time.Millisecond)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	p := startPortalOn(t, env, services{review: front.URL})
	portalURL = p.url
	return p, review, calls
}

// The console's round page reads the round's summary, a page of its assignments and
// the waiting submissions at once, not one after another, and neither the whole
// round nor the pool: its form takes the reviewer's identifier, not a choice of
// every member. A reviewer's record is read on its own. Before, the round page read
// the whole round and every page of the pool (its choice listed all 400 reviewers),
// and the record page read the pool's pages up to the one that held it.
func TestOpsReviewPagesCallTheServiceOnlyAsNeeded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	p, review, calls := startCountedReview(t)
	env := p.env
	tok, err := env.Issuer.MintFor(auth.Principal{Subject: "ops", Role: auth.RoleOps}, time.Hour, config.DevAudience("review"))
	if err != nil {
		t.Fatal(err)
	}
	// One more than a page of 200, so the pool has two pages.
	const n = 201
	var members []map[string]any
	for i := range n {
		members = append(members, map[string]any{"reviewer_id": fmt.Sprintf("rv-%03d", i),
			"name": fmt.Sprintf("Reviewer %d", i), "email": fmt.Sprintf("rv%d@other.ac.uk", i), "organisation_id": "org-other",
			"trained": true, "capacity": 2})
	}
	registerReviewers(t, p, review, tok, members...)
	round := review.Must(http.StatusCreated, review.Do("POST", "/v1/review-rounds", tok, map[string]any{"name": "Round 2027",
		"review_deadline": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339), "reviewers_per_submission": 2})).JSON(t)["id"].(string)
	ops := opsSignIn(t, p, oidcdev.LocalOpsEmail)

	calls.reset()
	page := opsMustStatus(t, p.do("GET", "/ops/review/rounds/"+round, ops, nil), http.StatusOK, "the round")
	if strings.Contains(page.body, "rv-000") || strings.Contains(page.body, "Reviewer 200") {
		t.Errorf("the round page lists the pool's members")
	}
	if !strings.Contains(page.body, `name="reviewer_id"`) {
		t.Errorf("the round page has no reviewer field")
	}
	// Each field has an id, and so a label, of its own: the change form's reason and
	// the close form's shared one, and "Reason for closing" labelled the change's.
	ids := map[string]int{}
	for _, m := range regexp.MustCompile(`\bid="([^"]+)"`).FindAllStringSubmatch(page.body, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("the round page has %d elements with the id %q", n, id)
		}
	}
	if got := calls.count("GET", "/v1/reviewers") + calls.count("GET", "/v1/review-rounds/"+round); got != 0 {
		t.Errorf("the round page read the pool or the whole round %d times, want none", got)
	}
	if got := calls.count("GET", "/v1/review-rounds/"+round+"/assignments"); got != 1 {
		t.Errorf("the round page read %d pages of its assignments, want 1", got)
	}
	if got := calls.mostAtOnce(); got < 2 {
		t.Errorf("the round page made at most %d service calls at once, want its independent reads together", got)
	}

	calls.reset()
	rec := opsMustStatus(t, p.do("GET", "/ops/review/reviewers/rv-005", ops, nil), http.StatusOK, "rv-005's record")
	if !strings.Contains(rec.body, "Reviewer 5") {
		t.Errorf("rv-005's record does not show their name")
	}
	if got, one := calls.count("GET", "/v1/reviewers"), calls.count("GET", "/v1/reviewers/rv-005"); got != 0 || one != 1 {
		t.Errorf("rv-005's record read %d pages of the pool and their record %d times, want their record once", got, one)
	}
	calls.reset()
	opsMustStatus(t, p.do("GET", "/ops/review/reviewers/rv-200", ops, nil), http.StatusOK, "rv-200's record")
	opsMustStatus(t, p.do("GET", "/ops/review/reviewers/nobody", ops, nil), http.StatusNotFound, "a reviewer not in the pool")
}
