package service_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// openRoundFrom opens a round with its own calendar; exclude_previously_funded is on.
func (h *harness) openRoundFrom(name, opens, closes, projectEnd string) string {
	h.t.Helper()
	return h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, map[string]any{
		"name": name, "opens": opens, "closes": closes, "budget_pence": 100000, "min_award_pence": 1000, "max_award_pence": 10000,
		"project_start": "2027-05-01", "project_end": projectEnd, "themes": []string{"career_development"},
	})).JSON(h.t)["id"].(string)
}

// awardedIn waits until the list shows n awards in round, so that checks reading it
// see them.
func (h *harness) awardedIn(round string, n int) {
	h.t.Helper()
	testenv.Eventually(h.t, 10*time.Second, func() error {
		items := h.Must(http.StatusOK, h.Do("GET", "/v1/applications?status=awarded&round_id="+round, h.ops, nil)).JSON(h.t)["items"].([]any)
		if len(items) != n {
			return fmt.Errorf("%d awards listed in round %s, want %d", len(items), round, n)
		}
		return nil
	})
}

// A round ops closed early is the previous round of the next one, though its
// scheduled closing time comes after the next one opens: the organisation it funded
// may not apply to the next round.
func TestFundedInARoundClosedEarlyMayNotApplyToTheNext(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-e1", "signatory")
	first := h.openRound(100000, 1000, 10000) // scheduled to close 31 March
	applicant := h.Token(auth.RoleApplicant, "org-e1")
	h.eligible(applicant, first, 1000)
	id := h.submitted(applicant, first, 5000, true)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 5000}))
	h.clock.Set(start0.Add(24 * time.Hour)) // 2 March: ops close it early
	h.Must(http.StatusOK, h.Do("POST", "/v1/rounds/"+first+"/closure", h.ops, map[string]any{"reason": "budget committed"}))
	next := h.openRoundFrom("TCF 2027 second call", "2027-03-10T09:00:00Z", "2027-06-30T17:00:00+01:00", "2028-03-31")
	h.awardedIn(first, 1)

	h.clock.Set(time.Date(2027, 3, 11, 9, 0, 0, 0, time.UTC))
	r := h.Do("POST", "/v1/applications", applicant, draft(next, 5000))
	if r.Status != http.StatusConflict || !strings.Contains(r.JSON(t)["detail"].(string), "funded in the previous round") {
		t.Fatalf("last round's grantee drafting in the next round: %d %s, want 409 funded in the previous round", r.Status, r.Body)
	}
}

// Two rounds open at once: an organisation drafts and submits in the second before the
// first makes its awards. The first round closes first, so it is the previous round,
// and once it funds the organisation the second may not.
func TestAnAwardInTheOverlappingPreviousRoundStopsTheNextAward(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-o1", "signatory")
	first := h.openRound(100000, 1000, 10000) // open now, closes 31 March
	second := h.openRoundFrom("TCF 2027 second call", "2027-03-02T09:00:00Z", "2027-06-30T17:00:00+01:00", "2028-03-31")
	applicant := h.Token(auth.RoleApplicant, "org-o1")
	h.eligible(applicant, first, 1000)
	inFirst := h.submitted(applicant, first, 5000, true)
	h.clock.Set(time.Date(2027, 3, 3, 9, 0, 0, 0, time.UTC)) // both open
	inSecond := h.submitted(applicant, second, 5000, true)   // nothing awarded yet: allowed

	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+inFirst+"/award", h.ops, map[string]any{"amount_pence": 5000}))
	h.awardedIn(first, 1)
	r := h.Do("POST", "/v1/applications/"+inSecond+"/award", h.ops, map[string]any{"amount_pence": 5000})
	if r.Status != http.StatusConflict || !strings.Contains(r.JSON(t)["detail"].(string), "funded in the previous round") {
		t.Fatalf("awarding last round's grantee: %d %s, want 409", r.Status, r.Body)
	}
	ledger := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+second+"/ledger", h.ops, nil)).JSON(t)
	if ledger["awarded_pence"] != float64(0) {
		t.Errorf("the refused award drew on the budget: %v", ledger)
	}
}

// Two rounds opened on one day with the same closing time (the README's 17:00 makes
// that likely) are in order too: the one opened first is the other's previous round,
// so an organisation funded in one is refused in the other, whichever awards first.
// Both awards used to succeed, though one second apart the second was refused.
func TestRoundsClosingTogetherFundAnOrganisationOnce(t *testing.T) {
	t.Parallel()
	for _, laterFirst := range []bool{false, true} {
		h := start(t)
		h.announce("org-tie", "signatory")
		first := h.openRound(100000, 1000, 10000) // closes 2027-03-31T17:00:00+01:00
		second := h.openRoundFrom("TCF 2027 same day", "2027-03-01T10:30:00Z", "2027-03-31T16:00:00Z", "2027-12-31")
		applicant := h.Token(auth.RoleApplicant, "org-tie")
		h.eligible(applicant, first, 1000)
		inFirst := h.submitted(applicant, first, 5000, true)
		h.clock.Set(start0.Add(time.Hour)) // both open
		inSecond := h.submitted(applicant, second, 5000, true)

		winner, loser, round := inFirst, inSecond, first
		if laterFirst {
			winner, loser, round = inSecond, inFirst, second
		}
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+winner+"/award", h.ops, map[string]any{"amount_pence": 5000}))
		h.awardedIn(round, 1)
		if r := h.Do("POST", "/v1/applications/"+loser+"/award", h.ops, map[string]any{"amount_pence": 5000}); r.Status != http.StatusConflict {
			t.Errorf("the award in the other round closing at the same time (later round first: %v): %d %s, want 409", laterFirst, r.Status, r.Body)
		}
	}
}

// The endorser is the applicant organisation's nominated lead as the signatory service
// records it, and follows its contacts changes.
func TestOnlyTheOrganisationsNominatedLeadMayEndorse(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announceLed("org-n1", "signatory", "lead@one.ac.uk")
	h.announceLed("org-n2", "signatory", "s.patel@example.ac.uk")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-n1")
	endorsedBy := func(email string) map[string]any {
		d := draft(round, 5000)
		d["endorsement"] = map[string]any{"name": "Someone", "email": email}
		return d
	}
	var own string
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/applications", applicant, endorsedBy("Lead@One.ac.uk"))
		if r.Status != http.StatusCreated {
			return fmt.Errorf("endorsed by its own lead: %d %s", r.Status, r.Body)
		}
		own = r.JSON(t)["id"].(string)
		return nil
	})

	// Another organisation's lead (org-n2's) may not endorse org-n1's application.
	r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/applications", applicant, endorsedBy("s.patel@example.ac.uk")))
	if p := r.JSON(t); p["field"] != "endorsement.email" || !strings.Contains(p["detail"].(string), "nominated lead") {
		t.Errorf("refusal %s, want it to name endorsement.email and the nominated lead", r.Body)
	}

	// A partner named as the organisation is recorded is the lead itself, not a partner
	// outside it.
	itself := endorsedBy("lead@one.ac.uk")
	itself["partners"] = []map[string]any{{"name": "Exampleton College"}, {"name": "org ORG-N1"}}
	r = h.Must(http.StatusBadRequest, h.Do("POST", "/v1/applications", applicant, itself))
	if p := r.JSON(t); p["field"] != "partners.1.name" || !strings.Contains(p["detail"].(string), "outside") {
		t.Errorf("a partner named as the lead: %s, want it to name partners.1.name", r.Body)
	}
	// A partner's organisation id is one the Commitment holds, or none (org-n2's is
	// taken below, on the update).
	unknown := endorsedBy("lead@one.ac.uk")
	unknown["partners"] = []map[string]any{{"name": "Exampleton College"}, {"name": "Elsewhere", "organisation_id": "org-nowhere"}}
	r = h.Must(http.StatusBadRequest, h.Do("POST", "/v1/applications", applicant, unknown))
	if p := r.JSON(t); p["field"] != "partners.1.organisation_id" || !strings.Contains(p["detail"].(string), "not an organisation of the Technician Commitment") {
		t.Errorf("a partner's unknown organisation id: %s, want it to name partners.1.organisation_id", r.Body)
	}

	// The organisation names a new lead: the old lead's endorsement no longer stands.
	h.publishSignatory(events.OrganisationContactsChangedV1{OrganisationID: "org-n1",
		NominatedLead: events.Person{Name: "Ada Lovelace", Email: "ada@one.ac.uk"}}, "org-n1")
	testenv.Eventually(t, 10*time.Second, func() error { // the change reaches the fund
		if r := h.Do("POST", "/v1/applications", applicant, endorsedBy("ada@one.ac.uk"), "Idempotency-Key", "probe-ada"); r.Status != http.StatusCreated {
			return fmt.Errorf("endorsed by the new lead: %d %s", r.Status, r.Body)
		}
		return nil
	})
	r = h.Must(http.StatusBadRequest, h.Do("POST", "/v1/applications/"+own+"/submission", applicant, nil))
	if r.JSON(t)["field"] != "endorsement.email" {
		t.Errorf("submitting the former lead's endorsement: %s, want it to name endorsement.email", r.Body)
	}
	h.Must(http.StatusOK, h.Do("PUT", "/v1/applications/"+own, applicant, func() map[string]any {
		d := endorsedBy("ada@one.ac.uk")
		delete(d, "round_id")
		d["partners"] = []map[string]any{{"name": "Org org-n2", "organisation_id": "org-n2"}}
		return d
	}()))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+own+"/submission", applicant, nil))
}

// An organisation whose nominated lead was erased at their request has nobody who may
// endorse its applications until ITSS records a new one: the refusal says so and
// gives the address to write to ITSS at (FUND_CONTACT_EMAIL), since the applicant's
// tool, and the person reading its error, have no other way to find it.
func TestAnOrganisationWithoutANominatedLeadIsToldWhereToWriteToITSS(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announceLed("org-nl", "signatory", "lee@nl.ac.uk")
	h.signatoriesConsumed()
	h.publishSignatory(events.PersonErasedV1{Subject: personal.Subject("lee@nl.ac.uk")}, "person-org-nl")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-nl")
	d := draft(round, 5000)
	d["endorsement"] = map[string]any{"name": "Lee", "email": "lee@nl.ac.uk"}
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/applications", applicant, d)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "holds no nominated lead") {
			return fmt.Errorf("endorsed by the erased lead: %d %s, want 400 saying no nominated lead is held", r.Status, r.Body)
		}
		p := r.JSON(t)
		if detail, _ := p["detail"].(string); p["field"] != "endorsement.email" || !strings.Contains(detail, "ITSS at "+h.cfg.Fund.ContactEmail) {
			t.Errorf("refusal %s, want it to name endorsement.email and give ITSS's address %s", r.Body, h.cfg.Fund.ContactEmail)
		}
		return nil
	})
}

func TestAwardsAndReportsKeepToTheRequestAndTheProject(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-d1", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-d1")
	h.eligible(applicant, round, 1000)
	id := h.submitted(applicant, round, 5000, true)

	r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 6000}))
	if r.JSON(t)["field"] != "amount_pence" {
		t.Errorf("an award over the request: %s, want it to name amount_pence", r.Body)
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 4000}))
	h.Must(http.StatusConflict, h.Do("POST", "/v1/applications/"+id+"/refusal", h.ops, map[string]any{"feedback": "On reflection, no."}))

	// 1 March: the project starts on 1 May.
	r = h.Must(http.StatusConflict, h.Do("POST", "/v1/applications/"+id+"/report", applicant, map[string]any{"summary": "Nothing yet.", "spent_pence": 0}))
	if d := r.JSON(t)["detail"].(string); !strings.Contains(d, "Saturday 1 May 2027") {
		t.Errorf("refusal %q does not say when the report can be sent", d)
	}
	h.clock.Set(time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC))
	r = h.Must(http.StatusBadRequest, h.Do("POST", "/v1/applications/"+id+"/report", applicant, map[string]any{"summary": "Done.", "spent_pence": 4001}))
	if r.JSON(t)["field"] != "spent_pence" {
		t.Errorf("a report spending more than the award: %s, want it to name spent_pence", r.Body)
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/report", applicant, map[string]any{"summary": "Done.", "spent_pence": 4000}))

	// A round whose projects would end by its closing date is refused.
	r = h.Must(http.StatusBadRequest, h.Do("POST", "/v1/rounds", h.ops, map[string]any{
		"name": "Backwards", "opens": "2027-06-01T09:00:00Z", "closes": "2027-09-30T17:00:00+01:00", "budget_pence": 100000,
		"min_award_pence": 1000, "max_award_pence": 10000, "project_start": "2027-06-01", "project_end": "2027-08-31", "themes": []string{"recognition"},
	}))
	if r.JSON(t)["field"] != "project_end" {
		t.Errorf("a project window ending before the round closes: %s, want it to name project_end", r.Body)
	}
}

// A project already over is not funded: an award after the round's projects ended
// (31 December 2027) is refused saying so, draws nothing on the budget, and leaves
// the application to be declined with feedback. Its report, counted from the
// project's end, would have been asked for by a day gone.
func TestAnAwardAfterTheProjectsEndedIsRefused(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-late", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-late")
	h.eligible(applicant, round, 1000)
	id := h.submitted(applicant, round, 5000, true)

	h.clock.Set(time.Date(2028, 1, 1, 10, 0, 0, 0, time.UTC))
	r := h.Must(http.StatusConflict, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 4000}))
	if d, _ := r.JSON(t)["detail"].(string); !strings.Contains(d, "ended on Friday 31 December 2027") {
		t.Errorf("an award after the projects ended: %s, want it refused saying they ended on Friday 31 December 2027", r.Body)
	}
	ledger := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
	if ledger["awarded_pence"] != float64(0) || ledger["remaining_pence"] != float64(100000) {
		t.Errorf("ledger after the refused award: %v, want nothing awarded and 100000 remaining", ledger)
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).JSON(t); got["status"] != "in_assessment" {
		t.Errorf("the application after the refused award: %v, want it still in assessment", got["status"])
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/refusal", h.ops, map[string]any{"feedback": "The project window has passed."}))
}

// Overlapping rounds may award out of their order: when the later round funds the
// organisation first, the earlier round may not fund it too.
func TestAnAwardInTheFollowingRoundStopsTheEarlierRoundsAward(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-o2", "signatory")
	first := h.openRound(100000, 1000, 10000)
	second := h.openRoundFrom("TCF 2027 second call", "2027-03-02T09:00:00Z", "2027-06-30T17:00:00+01:00", "2028-03-31")
	applicant := h.Token(auth.RoleApplicant, "org-o2")
	h.eligible(applicant, first, 1000)
	inFirst := h.submitted(applicant, first, 5000, true)
	h.clock.Set(time.Date(2027, 3, 3, 9, 0, 0, 0, time.UTC))
	inSecond := h.submitted(applicant, second, 5000, true)

	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+inSecond+"/award", h.ops, map[string]any{"amount_pence": 5000}))
	h.awardedIn(second, 1)
	r := h.Do("POST", "/v1/applications/"+inFirst+"/award", h.ops, map[string]any{"amount_pence": 5000})
	if r.Status != http.StatusConflict || !strings.Contains(r.JSON(t)["detail"].(string), "TCF 2027 second call") {
		t.Fatalf("awarding in the earlier round after the later one funded the organisation: %d %s, want 409 naming the later round", r.Status, r.Body)
	}
}

// Two replicas award the same organisations in two overlapping rounds at the same
// moment, the later round excluding the earlier one's grantees: each organisation is
// funded in one of them, never both, and the refused award draws nothing.
func TestConcurrentAwardsInNeighbouringRoundsFundAnOrganisationOnce(t *testing.T) {
	t.Parallel()
	h := start(t)
	first := h.openRound(1000000, 1000, 10000)
	second := h.openRoundFrom("TCF 2027 second call", "2027-03-02T09:00:00Z", "2027-06-30T17:00:00+01:00", "2028-03-31")
	const orgs = 6
	inFirst, inSecond := make([]string, orgs), make([]string, orgs)
	for i := range orgs {
		org := fmt.Sprintf("org-race%d", i)
		h.announce(org, "signatory")
		applicant := h.Token(auth.RoleApplicant, org)
		h.eligible(applicant, first, 1000)
		inFirst[i] = h.submitted(applicant, first, 5000, true)
	}
	h.clock.Set(time.Date(2027, 3, 3, 9, 0, 0, 0, time.UTC))
	for i := range orgs {
		inSecond[i] = h.submitted(h.Token(auth.RoleApplicant, fmt.Sprintf("org-race%d", i)), second, 5000, true)
	}

	replicas := []*testenv.Client{h.Client, h.replica()}
	statuses := make([][2]int, orgs)
	var wg sync.WaitGroup
	for i := range orgs {
		for k, id := range []string{inFirst[i], inSecond[i]} {
			wg.Go(func() {
				statuses[i][k] = replicas[k].Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 5000}).Status
			})
		}
	}
	wg.Wait()
	awarded := 0
	for i, s := range statuses {
		if !(s == [2]int{200, 409} || s == [2]int{409, 200}) {
			t.Errorf("org-race%d: awards answered %v, want one 200 and one 409", i, s)
		}
		for _, st := range s {
			if st == http.StatusOK {
				awarded++
			}
		}
	}
	spent := 0.0
	for _, r := range []string{first, second} {
		spent += h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+r+"/ledger", h.ops, nil)).JSON(t)["awarded_pence"].(float64)
	}
	if spent != float64(awarded*5000) {
		t.Errorf("the ledgers hold %.0f pence for %d awards of 5000", spent, awarded)
	}
}

// A failure of the fund's own (500) asks the caller to quote the request id when
// reporting it, and says to whom and where: an applicant's tool, and whoever reads
// its error, know nobody else to report it to. The signatory record here is one the
// fund cannot read (a day that is no date), as a fault would leave it.
func TestAFailureSaysWhereToReportIt(t *testing.T) {
	t.Parallel()
	h := start(t)
	round := h.openRound(100000, 1000, 10000)
	if _, err := h.svc.DB.Collection("signatories").InsertOne(context.Background(),
		bson.D{{Key: "_id", Value: "org-bad"}, {Key: "name", Value: "Org bad"}, {Key: "kind", Value: "signatory"}, {Key: "announced_on", Value: "no date"}}); err != nil {
		t.Fatal(err)
	}
	r := h.Must(http.StatusInternalServerError, h.Do("POST", "/v1/applications", h.Token(auth.RoleApplicant, "org-bad"), draft(round, 5000)))
	p := r.JSON(t)
	if detail, _ := p["detail"].(string); !strings.Contains(detail, "quote the request id when reporting it to ITSS at "+h.cfg.Fund.ContactEmail) || p["request_id"] == "" {
		t.Errorf("a failure: %s, want it to say to quote the request id to ITSS at %s", r.Body, h.cfg.Fund.ContactEmail)
	}
	if strings.Contains(string(r.Body), "no date") {
		t.Errorf("a failure shows what failed inside: %s", r.Body)
	}
}
