package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// roundTerms are a round's terms as POST and PUT /v1/rounds take them.
func roundTerms(name, opens, closes, projectEnd string, exclude bool) map[string]any {
	return map[string]any{
		"name": name, "opens": opens, "closes": closes, "budget_pence": 100000, "min_award_pence": 1000, "max_award_pence": 10000,
		"project_start": "2027-05-01", "project_end": projectEnd, "themes": []string{"career_development"},
		"exclude_previously_funded": exclude,
	}
}

// orderedRounds opens P, which excludes no one and closes on 31 March, and Q, which
// excludes its previous round's grantees and closes on 30 June, both open now
// (1 March), and gives each organisation an application in assessment in both.
func (h *harness) orderedRounds(orgs ...string) (p, q string, inP, inQ map[string]string) {
	h.t.Helper()
	p = h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops,
		roundTerms("Round P", "2027-03-01T09:00:00Z", "2027-03-31T17:00:00+01:00", "2027-12-31", false))).JSON(h.t)["id"].(string)
	q = h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops,
		roundTerms("Round Q", "2027-03-01T09:00:00Z", "2027-06-30T17:00:00+01:00", "2028-03-31", true))).JSON(h.t)["id"].(string)
	inP, inQ = map[string]string{}, map[string]string{}
	for _, org := range orgs {
		h.announce(org, "signatory")
		applicant := h.Token(auth.RoleApplicant, org)
		h.eligible(applicant, p, 1000)
		inP[org], inQ[org] = h.submitted(applicant, p, 5000, true), h.submitted(applicant, q, 5000, true)
	}
	return p, q, inP, inQ
}

// openR3 opens R3 on 2 April, closing on 31 May: between P's close and Q's, so that
// it, not P, is Q's previous round.
func (h *harness) openR3() string {
	h.t.Helper()
	return h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops,
		roundTerms("Round R3", "2027-04-02T08:00:00Z", "2027-05-31T17:00:00+01:00", "2027-12-31", true))).JSON(h.t)["id"].(string)
}

func (h *harness) award(c *testenv.Client, id string) testenv.Response {
	return c.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 5000})
}

// The auditor's sequence. Ops opening a round between P and Q unbinds them, and an
// organisation may then be funded in both; closing Q early, or moving R3's close
// after Q's, would make P Q's previous round again with an organisation funded in
// both, and is refused saying which. Opening R3 is never refused.
func TestAChangeToTheOrderOfRoundsNeverFundsAnOrganisationInTwoBoundRounds(t *testing.T) {
	t.Parallel()
	h := start(t)
	p, q, inP, inQ := h.orderedRounds("org-ord1", "org-ord2")
	h.clock.Set(time.Date(2027, 4, 2, 9, 0, 0, 0, time.UTC)) // P has closed; Q is open

	h.Must(http.StatusOK, h.award(h.Client, inQ["org-ord1"]))
	h.Must(http.StatusOK, h.award(h.Client, inP["org-ord2"]))
	h.awardedIn(q, 1)
	h.awardedIn(p, 1)
	h.Must(http.StatusConflict, h.award(h.Client, inP["org-ord1"]))
	h.Must(http.StatusConflict, h.award(h.Client, inQ["org-ord2"]))

	// R3 is Q's previous round now: P and Q are not bound, and each may fund both.
	r3 := h.openR3()
	h.Must(http.StatusOK, h.award(h.Client, inP["org-ord1"]))
	h.Must(http.StatusOK, h.award(h.Client, inQ["org-ord2"]))
	h.awardedIn(q, 2)
	h.awardedIn(p, 2)

	h.clock.Set(time.Date(2027, 4, 3, 9, 0, 0, 0, time.UTC))
	r := h.Do("POST", "/v1/rounds/"+q+"/closure", h.ops, map[string]any{"reason": "budget committed"})
	if r.Status != http.StatusConflict {
		t.Fatalf("closing Q early, making P its previous round with organisations funded in both: %d %s, want 409", r.Status, r.Body)
	}
	if d := r.JSON(t)["detail"].(string); !strings.Contains(d, `round "Round P" (Monday 1 March 2027 to Wednesday 31 March 2027) the previous round of round "Round Q" (Monday 1 March 2027 to Saturday 3 April 2027)`) || !strings.Contains(d, "Org org-ord") {
		t.Errorf("the refusal %q does not say which rounds and organisation", d)
	}
	terms := roundTerms("Round R3", "2027-04-02T08:00:00Z", "2027-07-31T17:00:00+01:00", "2027-12-31", true)
	r = h.Must(http.StatusConflict, h.Do("PUT", "/v1/rounds/"+r3, h.ops, terms))
	if pr := r.JSON(t); pr["field"] != "closes" || !strings.Contains(pr["detail"].(string), `round "Round P" (Monday 1 March 2027 to Wednesday 31 March 2027) the previous round of round "Round Q"`) {
		t.Errorf("moving R3's close after Q's: %s, want 409 naming closes and the rounds", r.Body)
	}
	if st := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+q, "", nil)).JSON(t)["status"]; st != "open" {
		t.Errorf("Q is %v after its refused close, want open", st)
	}
	// A change that binds no organisation funded twice still goes through.
	terms["closes"] = "2027-06-15T17:00:00+01:00"
	h.Must(http.StatusOK, h.Do("PUT", "/v1/rounds/"+r3, h.ops, terms))
}

// Ops close Q early, which would make P its previous round, while another replica
// awards in P an organisation Q has funded, after others Q has not (more or fewer,
// so that either may come first): the funding record puts the close's check and the
// awards in one order, so either the close is refused or the award after it is, and
// no organisation is funded in both.
func TestClosingARoundEarlyRacesAnAwardItWouldBind(t *testing.T) {
	t.Parallel()
	for _, ahead := range []int{0, 2, 5} {
		t.Run(fmt.Sprintf("%d awards ahead", ahead), func(t *testing.T) {
			t.Parallel()
			h := start(t)
			orgs := []string{}
			for i := range ahead {
				orgs = append(orgs, fmt.Sprintf("org-cr%d", i))
			}
			orgs = append(orgs, "org-bound")
			p, q, inP, inQ := h.orderedRounds(orgs...)
			h.clock.Set(time.Date(2027, 4, 2, 9, 0, 0, 0, time.UTC))
			h.Must(http.StatusOK, h.award(h.Client, inQ["org-bound"]))
			h.openR3()
			h.awardedIn(q, 1)

			awarding, closing := h.replica(), h.replica()
			awards := make([]int, len(orgs))
			var closed int
			var wg sync.WaitGroup
			wg.Go(func() {
				closed = closing.Do("POST", "/v1/rounds/"+q+"/closure", h.ops, map[string]any{"reason": "budget committed"}).Status
			})
			wg.Go(func() {
				for i, org := range orgs {
					awards[i] = h.award(awarding, inP[org]).Status
				}
			})
			wg.Wait()
			t.Logf("close %d, awards in P %v", closed, awards)

			bound := awards[len(awards)-1]
			switch {
			case closed != http.StatusOK && closed != http.StatusConflict:
				t.Fatalf("the close answered %d, want 200 or 409", closed)
			case closed == http.StatusOK && bound == http.StatusOK:
				t.Errorf("org-bound is funded in P and in Q, whose early close made P its previous round")
			case bound != http.StatusOK && bound != http.StatusConflict:
				t.Errorf("org-bound's award in P answered %d, want 200 or 409", bound)
			}
			for i, st := range awards[:ahead] {
				if st != http.StatusOK {
					t.Errorf("%s, funded in neither round, was refused in P: %d", orgs[i], st)
				}
			}
			want := "open"
			if closed == http.StatusOK {
				want = "closed"
			}
			if st := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+q, "", nil)).JSON(t)["status"]; st != want {
				t.Errorf("Q is %v after its close answered %d, want %s", st, closed, want)
			}
			funded := ahead
			if bound == http.StatusOK {
				funded++
			}
			h.awardedIn(p, funded)
		})
	}
}
