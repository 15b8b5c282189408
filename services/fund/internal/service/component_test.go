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
	"github.com/itss/techcommit/services/fund/api"
	"github.com/itss/techcommit/services/fund/internal/config"
	"github.com/itss/techcommit/services/fund/internal/service"
)

// The fake clock starts here: 10:00 London time on 1 March 2027.
var start0 = time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)

type harness struct {
	*testenv.Client
	t     testing.TB
	env   *testenv.Env
	cfg   config.Config
	js    jetstream.JetStream
	svc   *service.Service
	clock *clock.Fake
	ops   string
}

func start(t testing.TB, tune ...func(*config.Config)) *harness {
	t.Helper()
	return startWith(t, service.Options{}, tune...)
}

// startWith is start with opts (the fake clock and the logger are the harness's).
func startWith(t testing.TB, opts service.Options, tune ...func(*config.Config)) *harness {
	t.Helper()
	env := testenv.NewEnv(t)
	env.Spec = api.Spec
	cfg := config.Default()
	cfg.Platform = env.Platform(t, cfg.Platform)
	cfg.Fund.WriteRate, cfg.Fund.WriteBurst = 10000, 10000
	cfg.Fund.ContactEmail = "itss@example.org"
	for _, f := range tune {
		f(&cfg)
	}
	clk := clock.NewFake(start0)
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, env.JS, bus.StreamSpec{Name: events.StreamSignatory, Subjects: []string{events.SubjectsSignatory}}); err != nil {
		t.Fatal(err)
	}
	opts.Logger, opts.Clock = telemetry.Discard(), clk
	svc, cleanup, err := service.New(ctx, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{Client: env.Serve(t, svc.Serve, cleanup), t: t, env: env, cfg: cfg, js: env.JS, svc: svc, clock: clk}
	h.ops = h.Token(auth.RoleOps, "")
	return h
}

// replica starts another instance of the service on the same database and NATS
// server, as a second pod would run, and returns a client for it.
func (h *harness) replica() *testenv.Client {
	h.t.Helper()
	svc, cleanup, err := service.New(context.Background(), h.cfg, service.Options{Logger: telemetry.Discard(), Clock: h.clock})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.env.Serve(h.t, svc.Serve, cleanup)
}

// announce publishes the signatory service's announcement of org, as it would.
func (h *harness) announce(org, kind string) {
	h.t.Helper()
	h.announceLed(org, kind, "s.patel@example.ac.uk")
}

// announceLed announces org with its nominated lead at leadEmail.
func (h *harness) announceLed(org, kind, leadEmail string) {
	h.t.Helper()
	h.publishSignatory(events.OrganisationAnnouncedV1{OrganisationID: org, Name: "Org " + org, Kind: kind, AnnouncedOn: mustDate("2025-03-20"),
		NominatedLead: events.Person{Name: "Sam Patel", Email: leadEmail}}, org)
}

func (h *harness) publishSignatory(p events.Payload, org string) {
	h.t.Helper()
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: fmt.Sprintf("%s-%s-%d", org, p.EventType(), time.Now().UnixNano()), Source: "/tc/signatory", Type: p.EventType(),
		AggregateType: "organisation", AggregateID: org, Version: 1, Time: time.Now(), Data: data}
	if _, err := h.js.PublishMsg(context.Background(), bus.Message(e)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) openRound(budget, min, max int64) string {
	h.t.Helper()
	r := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, map[string]any{
		"name": "TCF 2027", "opens": start0.Add(-time.Hour).Format(time.RFC3339), "closes": "2027-03-31T17:00:00+01:00",
		"budget_pence": budget, "min_award_pence": min, "max_award_pence": max,
		"project_start": "2027-05-01", "project_end": "2027-12-31", "themes": []string{"visibility", "career_development"},
	}))
	id := r.JSON(h.t)["id"].(string)
	// A create says where its object is (docs/API.md).
	if loc := r.Header.Get("Location"); loc != "/v1/rounds/"+id {
		h.t.Errorf("a round's create has Location %q, want /v1/rounds/%s", loc, id)
	}
	return id
}

func draft(round string, amount int64) map[string]any {
	return map[string]any{
		"round_id": round, "title": "Skills exchange", "summary": "Joint workshops.", "themes": []string{"career_development"},
		"requested_amount_pence": amount, "partners": []map[string]any{{"name": "Exampleton College"}},
		"endorsement":  map[string]any{"name": "Sam Patel", "email": "s.patel@example.ac.uk"},
		"budget_lines": []map[string]any{{"description": "Consumables", "amount_pence": amount}},
		"milestones":   []map[string]any{{"description": "Workshop", "due": "2027-06-15"}},
	}
}

// eligible waits until the fund has seen org's announcement.
func (h *harness) eligible(applicant, round string, amount int64) {
	h.t.Helper()
	testenv.Eventually(h.t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/applications", applicant, draft(round, amount), "Idempotency-Key", "probe")
		if r.Status != http.StatusCreated {
			return fmt.Errorf("status %d: %s", r.Status, r.Body)
		}
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+r.JSON(h.t)["id"].(string)+"/withdrawal", applicant, nil))
		return nil
	})
}

// submitted drafts, submits and (for ops) starts assessing one application.
func (h *harness) submitted(applicant, round string, amount int64, assess bool) string {
	h.t.Helper()
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, draft(round, amount))).JSON(h.t)["id"].(string)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/submission", applicant, nil))
	if assess {
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/assessment", h.ops, nil))
	}
	return id
}

// fundEvents lists the subjects of the events published about one aggregate, in order.
func (h *harness) fundEvents(aggregate string) []string {
	h.t.Helper()
	var subjects []string
	for _, e := range h.fundStream() {
		if e.AggregateID == aggregate {
			subjects = append(subjects, e.Subject())
		}
	}
	return subjects
}

// fundStream reads every event the service has published so far.
func (h *harness) fundStream() []events.Envelope {
	h.t.Helper()
	ctx := context.Background()
	c, err := h.js.OrderedConsumer(ctx, events.StreamFund, jetstream.OrderedConsumerConfig{})
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []events.Envelope
	for range info.NumPending {
		m, err := c.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			h.t.Fatal(err)
		}
		e, err := bus.Envelope(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestApplicantSubmitsOpsAwardsApplicantReadsTheDecision(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-a", "signatory")
	round := h.openRound(750000, 10000, 100000)
	applicant := h.Token(auth.RoleApplicant, "org-a")
	h.eligible(applicant, round, 10000)

	open := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds?status=open", "", nil)).JSON(t)["items"].([]any)
	if len(open) != 1 || open[0].(map[string]any)["id"] != round {
		t.Fatalf("open rounds %v, want %s", open, round)
	}
	created := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, draft(round, 85000), "Idempotency-Key", "k1"))
	id := created.JSON(t)["id"].(string)
	if loc := created.Header.Get("Location"); loc != "/v1/applications/"+id {
		t.Errorf("Location %q", loc)
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/submission", applicant, nil))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/assessment", h.ops, nil))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 80000}))

	got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).JSON(t)
	if got["status"] != "awarded" || got["award_pence"] != float64(80000) || got["report_due"] != "2028-01-31" || got["organisation_id"] != "org-a" {
		t.Errorf("the applicant reads %v, want awarded 80000 with the report due 2028-01-31", got)
	}
	ledger := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
	if ledger["remaining_pence"] != float64(670000) || ledger["awarded_pence"] != float64(80000) {
		t.Errorf("ledger %v, want 80000 awarded and 670000 remaining", ledger)
	}

	// After the project window the report falls due, once, and the applicant sends it.
	h.clock.Set(time.Date(2028, 1, 2, 9, 0, 0, 0, time.UTC))
	testenv.Eventually(t, 10*time.Second, func() error {
		n, err := h.svc.App.SweepReports(context.Background())
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("%d reports marked due (the view may lag)", n)
		}
		return nil
	})
	if n, err := h.svc.App.SweepReports(context.Background()); err != nil || n != 0 {
		t.Errorf("second sweep marked %d (%v), want 0", n, err)
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).JSON(t); got["report_is_due"] != true {
		t.Errorf("after the sweep the application reads report_is_due %v, want true", got["report_is_due"])
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/report", applicant, map[string]any{"summary": "Four workshops, 38 technicians.", "spent_pence": 79500}))
	// Once the report is in it is no longer owed: a tool reading report_is_due would
	// otherwise chase a report already sent.
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).JSON(t); got["report_is_due"] != false || got["report"] == nil {
		t.Errorf("after the report the application reads report_is_due %v, report %v; want false, and the report", got["report_is_due"], got["report"])
	}

	want := []string{
		events.SubjectApplicationDrafted, events.SubjectApplicationSubmitted, events.SubjectApplicationAssessmentStarted,
		events.SubjectApplicationAwarded, events.SubjectReportDue, events.SubjectReportSubmitted,
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		got := h.fundEvents(id)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("events %v, want %v", got, want)
		}
		return nil
	})
	// The report names its applicant, as the award does: notify sends them, and the
	// organisation's lead, its receipt.
	var awarded, reported events.Person
	for _, e := range h.fundStream() {
		switch {
		case e.AggregateID != id:
		case e.Type == events.ApplicationAwardedV1{}.EventType():
			p, err := events.Decode[events.ApplicationAwardedV1](e)
			if err != nil {
				t.Fatal(err)
			}
			awarded = p.Applicant
		case e.Type == events.ReportSubmittedV1{}.EventType():
			p, err := events.Decode[events.ReportSubmittedV1](e)
			if err != nil {
				t.Fatal(err)
			}
			reported = p.Applicant
		}
	}
	if reported.Email == "" || reported != awarded {
		t.Errorf("the report's event names the applicant %+v, want %+v as the award does", reported, awarded)
	}
}

func TestLateSubmissionIsRefusedWithTheClosingTime(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-b", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-b")
	h.eligible(applicant, round, 1000)
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, draft(round, 5000))).JSON(t)["id"].(string)
	h.clock.Set(time.Date(2027, 3, 31, 16, 0, 1, 0, time.UTC)) // 17:00:01 BST
	r := h.Must(http.StatusConflict, h.Do("POST", "/v1/applications/"+id+"/submission", applicant, nil))
	if detail := r.JSON(t)["detail"].(string); !strings.Contains(detail, "Wednesday 31 March 2027, 17:00 BST") {
		t.Errorf("refusal %q does not give the closing time", detail)
	}
	if ra := r.Header.Get("Retry-After"); ra != "" {
		t.Errorf("a closed round is no passing refusal, yet it says Retry-After: %s", ra)
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).JSON(t)["status"]; got != "draft" {
		t.Errorf("status %v after a refused submission, want draft", got)
	}
}

// A round that has closed takes no new draft and no change to a draft, since neither
// could ever be submitted: each is refused with the time the round closed.
func TestNoDraftIsStartedOrChangedOnceTheRoundHasClosed(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-c", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-c")
	h.eligible(applicant, round, 1000)
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, draft(round, 5000))).JSON(t)["id"].(string)
	h.clock.Set(start0.Add(24 * time.Hour))
	h.Must(http.StatusOK, h.Do("POST", "/v1/rounds/"+round+"/closure", h.ops, map[string]any{"reason": "budget committed"}))

	update := draft(round, 6000)
	delete(update, "round_id")
	for what, r := range map[string]testenv.Response{
		"a new draft":         h.Do("POST", "/v1/applications", applicant, draft(round, 5000)),
		"a change to a draft": h.Do("PUT", "/v1/applications/"+id, applicant, update),
	} {
		if r.Status != http.StatusConflict || !strings.Contains(r.JSON(t)["detail"].(string), "closed at Tuesday 2 March 2027, 10:00 GMT") {
			t.Errorf("%s for a closed round: %d %s, want 409 giving the time it closed", what, r.Status, r.Body)
		}
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).JSON(t)["requested_amount_pence"]; got != float64(5000) {
		t.Errorf("the draft asks for %v after a refused change, want 5000", got)
	}
}

func TestOpsCorrectAndCloseRounds(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-r", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-r")
	h.eligible(applicant, round, 1000)
	terms := func(edit func(map[string]any)) map[string]any {
		body := map[string]any{
			"name": "TCF 2027", "opens": start0.Add(-time.Hour).Format(time.RFC3339), "closes": "2027-03-31T17:00:00+01:00",
			"budget_pence": 100000, "min_award_pence": 1000, "max_award_pence": 10000,
			"project_start": "2027-05-01", "project_end": "2027-12-31", "themes": []string{"visibility", "career_development"},
		}
		edit(body)
		return body
	}

	// Open: the themes are a set, so the same ones in another order change nothing.
	same := h.Must(http.StatusOK, h.Do("PUT", "/v1/rounds/"+round, h.ops, terms(func(b map[string]any) {
		b["themes"] = []string{"career_development", "visibility"}
	}))).JSON(t)
	if same["version"] != float64(1) || fmt.Sprint(same["themes"]) != "[visibility career_development]" {
		t.Errorf("after resending its themes in another order the round reads %v, want version 1 and its themes as they were", same)
	}

	// Open: the budget is never lowered below its largest award (lowered above it,
	// no less than is awarded: TestARoundsBudgetTypedTooHighIsLoweredToNoLessThanIsAwarded),
	// the closing time moves.
	r := h.Must(http.StatusBadRequest, h.Do("PUT", "/v1/rounds/"+round, h.ops, terms(func(b map[string]any) { b["budget_pence"] = 5000 })))
	if r.JSON(t)["field"] != "max_award_pence" {
		t.Errorf("refusal names %v, want max_award_pence", r.JSON(t)["field"])
	}
	got := h.Must(http.StatusOK, h.Do("PUT", "/v1/rounds/"+round, h.ops, terms(func(b map[string]any) {
		b["name"], b["closes"] = "TCF 2027 (extended)", "2027-04-07T17:00:00+01:00"
	}))).JSON(t)
	if got["name"] != "TCF 2027 (extended)" || got["closes_london"] != "2027-04-07 17:00 BST" || got["version"] != float64(2) {
		t.Errorf("after the extension the round reads %v", got)
	}

	// Ops close it early: it takes no more submissions, and says when it closed.
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, draft(round, 5000))).JSON(t)["id"].(string)
	h.clock.Set(start0.Add(24 * time.Hour))
	closed := h.Must(http.StatusOK, h.Do("POST", "/v1/rounds/"+round+"/closure", h.ops, map[string]any{"reason": "budget committed"})).JSON(t)
	if closed["status"] != "closed" || closed["closed_early"] != true {
		t.Errorf("closed round reads %v", closed)
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/rounds/"+round+"/closure", h.ops, nil)) // closing again changes nothing
	refusal := h.Must(http.StatusConflict, h.Do("POST", "/v1/applications/"+id+"/submission", applicant, nil)).JSON(t)["detail"].(string)
	if !strings.Contains(refusal, "Tuesday 2 March 2027, 10:00 GMT") {
		t.Errorf("refusal %q does not give the time it closed", refusal)
	}
	h.Must(http.StatusConflict, h.Do("PUT", "/v1/rounds/"+round, h.ops, terms(func(map[string]any) {})))
	if open := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds?status=open", "", nil)).JSON(t)["items"].([]any); len(open) != 0 {
		t.Errorf("open rounds %v after the only one closed", open)
	}

	// A round that reaches its closing time is recorded closed by the sweep, once.
	other := h.openRound(100000, 1000, 10000)
	h.clock.Set(time.Date(2027, 3, 31, 16, 0, 0, 0, time.UTC))
	for want := 1; want >= 0; want-- {
		if n, err := h.svc.App.SweepRounds(context.Background()); err != nil || n != want {
			t.Errorf("sweep closed %d (%v), want %d", n, err, want)
		}
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+other, "", nil)).JSON(t); got["closed_early"] != false || got["closed_at"] != "2027-03-31T16:00:00Z" {
		t.Errorf("swept round reads %v", got)
	}

	testenv.Eventually(t, 10*time.Second, func() error {
		want := events.SubjectRoundOpened + "," + events.SubjectRoundUpdated + "," + events.SubjectRoundClosed
		for _, rid := range []string{round, other} {
			got := strings.Join(h.fundEvents(rid), ",")
			if rid == other {
				want = events.SubjectRoundOpened + "," + events.SubjectRoundClosed
			}
			if got != want {
				return fmt.Errorf("round %s events %s, want %s", rid, got, want)
			}
		}
		return nil
	})
}

// exclude_previously_funded defaults to true when a round is opened; a correction
// that leaves it out keeps what the round has, and one that gives it changes it.
func TestACorrectionLeavingTheExclusionOutKeepsIt(t *testing.T) {
	t.Parallel()
	h := start(t)
	terms := func(exclude any) map[string]any {
		body := map[string]any{
			"name": "TCF 2027c", "opens": "2027-04-01T09:00:00+01:00", "closes": "2027-06-30T17:00:00+01:00",
			"budget_pence": 100000, "min_award_pence": 1000, "max_award_pence": 10000,
			"project_start": "2027-05-01", "project_end": "2028-03-31", "themes": []string{"visibility"},
		}
		if exclude != nil {
			body["exclude_previously_funded"] = exclude
		}
		return body
	}
	lenient := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, terms(false))).JSON(t)["id"].(string)
	strict := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, terms(nil))).JSON(t)["id"].(string)
	for _, step := range []struct {
		round   string
		exclude any
		want    bool
	}{
		{lenient, nil, false},
		{strict, nil, true},
		{lenient, true, true},
		{strict, false, false},
		{strict, nil, false},
	} {
		body := terms(step.exclude)
		body["name"] = fmt.Sprintf("TCF 2027c (exclusion %v)", step.exclude)
		got := h.Must(http.StatusOK, h.Do("PUT", "/v1/rounds/"+step.round, h.ops, body)).JSON(t)
		if got["exclude_previously_funded"] != step.want {
			t.Errorf("a correction giving exclude_previously_funded %v: the round reads %v, want %v", step.exclude, got["exclude_previously_funded"], step.want)
		}
	}
	h.Must(http.StatusNotFound, h.Do("PUT", "/v1/rounds/01a20e6d-6c22-7e4a-ad42-f3118735db1e", h.ops, terms(nil)))
	h.Must(http.StatusForbidden, h.Do("PUT", "/v1/rounds/"+strict, h.Token(auth.RoleApplicant, "org-x"), terms(nil)))
}

func TestOrganisationsFundedInThePreviousRoundMayNotApply(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-p", "signatory")
	h.announce("org-q", "signatory")
	last := h.openRound(100000, 1000, 10000)
	funded, unfunded := h.Token(auth.RoleApplicant, "org-p"), h.Token(auth.RoleApplicant, "org-q")
	h.eligible(funded, last, 1000)
	id := h.submitted(funded, last, 5000, true)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 5000}))

	next := func(exclude bool) string {
		return h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, map[string]any{
			"name": "TCF 2027b", "opens": "2027-04-01T09:00:00+01:00", "closes": "2027-06-30T17:00:00+01:00",
			"budget_pence": 100000, "min_award_pence": 1000, "max_award_pence": 10000, "project_start": "2027-05-01", "project_end": "2028-03-31",
			"themes": []string{"career_development"}, "exclude_previously_funded": exclude,
		})).JSON(t)["id"].(string)
	}
	strict, lenient := next(true), next(false)
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/applications", funded, draft(strict, 5000))
		if r.Status != http.StatusConflict || !strings.Contains(r.JSON(t)["detail"].(string), "funded in the previous round") {
			return fmt.Errorf("last round's grantee applying: %d %s", r.Status, r.Body)
		}
		return nil
	})
	h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", unfunded, draft(strict, 5000)))
	h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", funded, draft(lenient, 5000)))
}

func TestConcurrentAwardsNeverExceedTheBudget(t *testing.T) {
	t.Parallel()
	// A hundred awards at once queue on one ledger, and the embedded store serialises
	// writes: on a loaded 2-core machine the last of them can wait longer than the
	// default request deadline. This test is about the guarantee, not the speed (see
	// make bench), so it gives them time.
	h := start(t, func(c *config.Config) { c.HTTP.RequestTimeout = 2 * time.Minute })
	h.announce("org-c", "signatory")
	const award, covers, contenders = 1000, 33, 100
	round := h.openRound(award*covers, 100, award)
	applicant := h.Token(auth.RoleApplicant, "org-c")
	h.eligible(applicant, round, award)
	ids := make([]string, contenders)
	var setup sync.WaitGroup
	for w := range 8 {
		setup.Add(1)
		go func() {
			defer setup.Done()
			for i := w; i < contenders; i += 8 {
				ids[i] = h.submitted(applicant, round, award, true)
			}
		}()
	}
	setup.Wait()

	// Three replicas take the awards, so that they race each other on the ledger's
	// unique index and not only queue within one process.
	replicas := []*testenv.Client{h.Client, h.replica(), h.replica()}
	var wg sync.WaitGroup
	statuses := make([]int, contenders)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := replicas[i%len(replicas)].Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": award})
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusOK] != covers || count[http.StatusConflict] != contenders-covers {
		t.Errorf("outcomes %v, want %d awards and %d refusals", count, covers, contenders-covers)
	}
	ledger := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
	if ledger["awarded_pence"] != float64(award*covers) || ledger["remaining_pence"] != float64(0) || ledger["entries"] != float64(covers) {
		t.Errorf("ledger %v, want %d awarded in %d entries and nothing left", ledger, award*covers, covers)
	}
	// Every award that was answered is recorded on its application and published once.
	testenv.Eventually(t, 20*time.Second, func() error {
		awarded := map[string]int{}
		for _, e := range h.fundStream() {
			if e.Subject() == events.SubjectApplicationAwarded {
				awarded[e.AggregateID]++
			}
		}
		for i, id := range ids {
			if want := map[bool]int{true: 1}[statuses[i] == http.StatusOK]; awarded[id] != want {
				return fmt.Errorf("application %s (answered %d) has %d award events, want %d", id, statuses[i], awarded[id], want)
			}
		}
		return nil
	})
}

func TestTwentyConcurrentRetriesCreateOneApplication(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-d", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-d")
	h.eligible(applicant, round, 1000)
	body, _ := json.Marshal(draft(round, 5000))

	const retries = 20
	var wg sync.WaitGroup
	results := make([]testenv.Response, retries)
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.Do("POST", "/v1/applications", applicant, string(body), "Idempotency-Key", "same-key")
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, r := range results {
		if r.Status != http.StatusCreated {
			t.Fatalf("a retry got %d: %s", r.Status, r.Body)
		}
		ids[r.JSON(t)["id"].(string)] = true
	}
	if len(ids) != 1 {
		t.Fatalf("%d distinct applications from one key, want 1", len(ids))
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		items := h.Must(http.StatusOK, h.Do("GET", "/v1/applications?round_id="+round+"&status=draft", applicant, nil)).JSON(t)["items"].([]any)
		if len(items) != 1 {
			return fmt.Errorf("%d drafts listed, want 1", len(items))
		}
		return nil
	})
	other := draft(round, 6000)
	other["budget_lines"] = []map[string]any{{"description": "Travel", "amount_pence": 6000}}
	h.Must(http.StatusUnprocessableEntity, h.Do("POST", "/v1/applications", applicant, other, "Idempotency-Key", "same-key"))
}

// Rounds get fresh ids, so only the key's claim keeps concurrent retries of one
// request from opening a round each: the retries that arrive while the first runs
// wait for its answer.
func TestConcurrentRetriesOfARoundWaitForTheFirst(t *testing.T) {
	t.Parallel()
	h := start(t)
	body := `{"name":"TCF 2028","opens":"2027-04-01T09:00:00Z","closes":"2027-06-30T17:00:00+01:00","budget_pence":500000,` +
		`"min_award_pence":10000,"max_award_pence":100000,"project_start":"2027-09-01","project_end":"2028-06-30","themes":["recognition"]}`
	const retries = 20
	var wg sync.WaitGroup
	results := make([]testenv.Response, retries)
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.Do("POST", "/v1/rounds", h.ops, body, "Idempotency-Key", "round-2028")
		}()
	}
	wg.Wait()
	ids, replayed := map[string]bool{}, 0
	for _, r := range results {
		if r.Status != http.StatusCreated {
			t.Fatalf("a retry got %d: %s", r.Status, r.Body)
		}
		ids[r.JSON(t)["id"].(string)] = true
		if r.Header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	all := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds", "", nil)).JSON(t)["items"].([]any)
	if len(ids) != 1 || len(all) != 1 || replayed != retries-1 {
		t.Fatalf("%d ids answered, %d rounds exist, %d answers replayed; want 1, 1 and %d", len(ids), len(all), replayed, retries-1)
	}
	// A failed request gives its key up: the corrected retry runs.
	h.Must(http.StatusBadRequest, h.Do("POST", "/v1/rounds", h.ops, strings.Replace(body, `"budget_pence":500000`, `"budget_pence":50000`, 1), "Idempotency-Key", "round-2029"))
	h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, strings.Replace(body, "TCF 2028", "TCF 2029", 1), "Idempotency-Key", "round-2029"))
}

func TestApplicantsAreConfinedToTheirOwnOrganisation(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-e", "signatory")
	h.announce("org-f", "signatory")
	h.announce("org-s", "supporter")
	round := h.openRound(100000, 1000, 10000)
	mine, theirs := h.Token(auth.RoleApplicant, "org-e"), h.Token(auth.RoleApplicant, "org-f")
	h.eligible(mine, round, 1000)
	h.eligible(theirs, round, 1000)
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", mine, draft(round, 5000))).JSON(t)["id"].(string)

	h.Must(http.StatusNotFound, h.Do("GET", "/v1/applications/"+id, theirs, nil))
	// An id of another kind names nothing, whoever asks.
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/applications/"+round, h.ops, nil))
	h.Must(http.StatusNotFound, h.Do("POST", "/v1/applications/"+round+"-ledger/assessment", h.ops, nil))
	h.Must(http.StatusNotFound, h.Do("POST", "/v1/rounds/"+id+"/closure", h.ops, nil))
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/rounds/"+id, "", nil))
	h.Must(http.StatusNotFound, h.Do("POST", "/v1/applications/"+id+"/submission", theirs, nil))
	h.Must(http.StatusNotFound, h.Do("POST", "/v1/applications/"+id+"/withdrawal", theirs, nil))
	list := h.Must(http.StatusOK, h.Do("GET", "/v1/applications", theirs, nil)).JSON(t)["items"].([]any)
	for _, a := range list {
		if a.(map[string]any)["id"] == id {
			t.Error("another organisation's applicant lists the application")
		}
	}
	// Ops page through everyone's, one at a time: each once, in order.
	testenv.Eventually(t, 10*time.Second, func() error {
		var seen []string
		for cursor := ""; ; {
			page := h.Must(http.StatusOK, h.Do("GET", "/v1/applications?limit=1"+cursor, h.ops, nil)).JSON(t)
			for _, a := range page["items"].([]any) {
				seen = append(seen, a.(map[string]any)["id"].(string))
			}
			next, ok := page["next_cursor"].(string)
			if !ok {
				break
			}
			cursor = "&cursor=" + next
		}
		// Each organisation's eligibility probe, and the draft.
		if len(seen) != 3 || !slices.IsSorted(seen) || !slices.Contains(seen, id) {
			return fmt.Errorf("ops paged through %v, want 3 applications in id order including %s", seen, id)
		}
		return nil
	})
	for field, value := range map[string]any{"status": "awarded", "award_pence": 100000, "organisation_id": "org-f", "id": "mine"} {
		body := draft(round, 5000)
		body[field] = value
		r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/applications", mine, body))
		if r.JSON(t)["field"] != field {
			t.Errorf("setting %s: problem names %v", field, r.JSON(t)["field"])
		}
	}
	// A supporter, and an organisation that withdrew, may not apply; nor may one that
	// withdrew change a draft it made before, which it could never submit.
	h.Must(http.StatusForbidden, h.Do("POST", "/v1/applications", h.Token(auth.RoleApplicant, "org-s"), draft(round, 5000)))
	before := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", theirs, draft(round, 5000))).JSON(t)["id"].(string)
	h.publishSignatory(events.OrganisationWithdrawnV1{OrganisationID: "org-f", Reason: "left", InitiatedBy: "organisation"}, "org-f")
	testenv.Eventually(t, 10*time.Second, func() error {
		if s := h.Do("POST", "/v1/applications", theirs, draft(round, 5000)).Status; s != http.StatusForbidden {
			return fmt.Errorf("withdrawn organisation's draft got %d", s)
		}
		return nil
	})
	update := draft(round, 6000)
	delete(update, "round_id")
	r := h.Must(http.StatusForbidden, h.Do("PUT", "/v1/applications/"+before, theirs, update))
	if !strings.Contains(string(r.Body), "have not withdrawn") {
		t.Errorf("a withdrawn organisation's change of its draft: %s", r.Body)
	}
}

func TestBadInputIsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-g", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-g")
	h.eligible(applicant, round, 1000)
	with := func(k string, v any) map[string]any {
		d := draft(round, 5000)
		d[k] = v
		return d
	}
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"budget lines do not add up", with("budget_lines", []map[string]any{{"description": "x", "amount_pence": 4000}}), 400, "budget_lines"},
		{"amount over the round's maximum", with("requested_amount_pence", 20000), 400, "requested_amount_pence"},
		{"milestone outside the window", with("milestones", []map[string]any{{"description": "x", "due": "2028-06-01"}}), 400, "milestones.0.due"},
		{"no partner", with("partners", []map[string]any{}), 400, "partners"},
		{"partner is the lead", with("partners", []map[string]any{{"name": "Us", "organisation_id": "org-g"}}), 400, "partners.0.organisation_id"},
		{"theme outside the round", with("themes", []string{"sustainability"}), 400, "themes.0"},
		{"pence as a string", with("requested_amount_pence", "5000"), 400, "requested_amount_pence"},
		{"fractional pence", with("requested_amount_pence", 50.5), 400, "requested_amount_pence"},
		{"endorsement email with a header", with("endorsement", map[string]any{"name": "x", "email": "a@b.c\r\nBcc: all@x.y"}), 400, "endorsement.email"},
		{"operator injection", with("round_id", map[string]any{"$ne": nil}), 400, "round_id"},
		{"unknown round", with("round_id", "nope"), 400, "round_id"},
		{"deep nesting", `{"round_id":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`, 400, ""},
		{"oversized", with("summary", strings.Repeat("x", 300<<10)), 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			began := time.Now()
			r := h.Do("POST", "/v1/applications", applicant, tt.body)
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("refusing took %s: a bad body must be cheap to refuse", took)
			}
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.field != "" && r.JSON(t)["field"] != tt.field {
				t.Errorf("problem names %v, want %s: %s", r.JSON(t)["field"], tt.field, r.Body)
			}
		})
	}
	// Every rule the application breaks is named in one answer, not one a round trip.
	several := draft(round, 500)
	several["budget_lines"] = []map[string]any{{"description": "Consumables", "amount_pence": 30000}, {"description": "Travel", "amount_pence": 30000}}
	several["milestones"] = []map[string]any{{"description": "First workshop", "due": "2030-01-01"}}
	several["endorsement"] = map[string]any{"name": "Someone", "email": "someone@elsewhere.ac.uk"}
	named := map[string]bool{}
	for _, e := range h.Must(http.StatusBadRequest, h.Do("POST", "/v1/applications", applicant, several)).JSON(t)["errors"].([]any) {
		named[e.(map[string]any)["field"].(string)] = true
	}
	for _, field := range []string{"requested_amount_pence", "budget_lines", "milestones.0.due", "endorsement.email"} {
		if !named[field] {
			t.Errorf("an application breaking four rules is refused naming %v, not %s", named, field)
		}
	}
	// An empty title is one fault, told once (it was told "must not be empty" and
	// "must not be blank").
	r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/applications", applicant, with("title", "")))
	if errs := r.JSON(t)["errors"].([]any); len(errs) != 1 || r.JSON(t)["detail"] != "must not be empty" {
		t.Errorf("an empty title is told %s, want once: must not be empty", r.Body)
	}
	// The view may still show the eligibility probe as a draft until its withdrawal is
	// projected; a draft left by a refused request would stay.
	testenv.Eventually(t, 10*time.Second, func() error {
		list := h.Must(http.StatusOK, h.Do("GET", "/v1/applications?status=draft", applicant, nil)).JSON(t)["items"].([]any)
		if len(list) != 0 {
			return fmt.Errorf("refused requests left %d drafts", len(list))
		}
		return nil
	})
}

// A refused amount is told what is expected in words: bounds in digits (never
// 1e+08) with their unit, and a number the document allows but not as a whole number
// is written (1e4) how to write it, never a Go type.
func TestRefusedAmountsSayWhatIsExpectedInWords(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-w", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-w")
	h.eligible(applicant, round, 1000)
	raw, err := json.Marshal(draft(round, 5000))
	if err != nil {
		t.Fatal(err)
	}
	exponent := strings.Replace(string(raw), `"requested_amount_pence":5000`, `"requested_amount_pence":5e3`, 1)
	tooBig := map[string]any{
		"name": "TCF huge", "opens": "2027-04-01T09:00:00+01:00", "closes": "2027-06-30T17:00:00+01:00",
		"budget_pence": 100000001, "min_award_pence": 1000, "max_award_pence": 10000,
		"project_start": "2027-05-01", "project_end": "2028-03-31", "themes": []string{"visibility"},
	}
	for _, tt := range []struct {
		name, path, token string
		body              any
		field, message    string
	}{
		{"pence in exponent notation", "/v1/applications", applicant, exponent, "requested_amount_pence",
			"must be a whole number written in digits alone, such as 10000, without an exponent or a decimal point"},
		{"pence over the cap", "/v1/rounds", h.ops, tooBig, "budget_pence", "must be at most 100000000 pence"},
	} {
		p := h.Must(http.StatusBadRequest, h.Do("POST", tt.path, tt.token, tt.body)).JSON(t)
		errs, _ := p["errors"].([]any)
		if p["field"] != tt.field || len(errs) != 1 || errs[0].(map[string]any)["message"] != tt.message {
			t.Errorf("%s: the problem reads %v, want %s: %q", tt.name, p, tt.field, tt.message)
		}
	}
}

// A step that takes no body refuses one, naming it, rather than ignore what the
// caller meant by it; no body, or an empty JSON object, is fine.
func TestABodySentToAStepThatTakesNoneIsRefused(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-n", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-n")
	h.eligible(applicant, round, 1000)
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, draft(round, 5000))).JSON(t)["id"].(string)
	for what, r := range map[string]testenv.Response{
		"a submission with a field":   h.Do("POST", "/v1/applications/"+id+"/submission", applicant, `{"confirm":true}`),
		"an assessment with its text": h.Do("POST", "/v1/applications/"+id+"/assessment", h.ops, "start now", "Content-Type", "text/plain"),
	} {
		if r.Status != http.StatusBadRequest || r.JSON(t)["field"] != "body" || !strings.Contains(r.JSON(t)["detail"].(string), "this operation takes no body") {
			t.Errorf("%s: %d %s, want 400 naming body", what, r.Status, r.Body)
		}
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).JSON(t)["status"]; got != "draft" {
		t.Errorf("status %v after the refused submission, want draft", got)
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/submission", applicant, "{}"))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/assessment", h.ops, nil))
}

func TestWritesAreRateLimitedPerCaller(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *config.Config) { c.Fund.WriteRate, c.Fund.WriteBurst = 0.1, 3 })
	round := h.openRound(100000, 1000, 10000)
	someone := h.Token(auth.RoleApplicant, "org-h")
	var last testenv.Response
	for range 4 {
		last = h.Do("POST", "/v1/applications", someone, draft(round, 5000))
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth write: %d with Retry-After %q, want 429 with a delay", last.Status, last.Header.Get("Retry-After"))
	}
	// Another caller is not held back, and reads never are.
	if s := h.Do("POST", "/v1/applications", h.Token(auth.RoleApplicant, "org-i"), draft(round, 5000)).Status; s == http.StatusTooManyRequests {
		t.Error("another caller was limited")
	}
	h.Must(http.StatusOK, h.Do("GET", "/v1/applications", someone, nil))
}

func TestAuthorisationMatrix(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-own", "signatory")
	h.announce("org-other", "signatory")
	round := h.openRound(100000, 1000, 10000)
	ownApplicant, otherApplicant := h.Token(auth.RoleApplicant, "org-own"), h.Token(auth.RoleApplicant, "org-other")
	h.eligible(ownApplicant, round, 1000)
	h.eligible(otherApplicant, round, 1000)
	ownApp := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", ownApplicant, draft(round, 5000))).JSON(t)["id"].(string)
	otherApp := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", otherApplicant, draft(round, 5000))).JSON(t)["id"].(string)
	testenv.AuthzMatrix(t, testenv.AuthzTarget{
		Spec: api.Spec,
		PathParams: func(name string, own bool) string {
			if name == "sequence" {
				return "1"
			}
			if own {
				return ownApp
			}
			return otherApp
		},
		// Rounds are not any organisation's: everything under /v1/rounds/{id} is public or ops.
		Owned: nil,
		Do: func(r testenv.Request) int {
			tok := ""
			if r.Caller.Role != "" {
				tok = h.Token(r.Caller.Role, "org-own")
			}
			var body any
			if r.Body != nil {
				body = strings.ReplaceAll(string(r.Body), "01a20e6d-6c22-7e4a-ad42-f3118735db1e", round)
			}
			return h.Do(r.Method, r.Path, tok, body).Status
		},
	})
}

func mustDate(s string) (d civil.Date) {
	if err := d.UnmarshalJSON([]byte(`"` + s + `"`)); err != nil {
		panic(err)
	}
	return d
}

// A rush of drafts, submissions and withdrawals through three replicas: the list,
// written by the projection many events at a time, ends with every application at its
// last state, never an earlier one.
func TestTheListCatchesUpWithARushThroughThreeReplicas(t *testing.T) {
	t.Parallel()
	h := start(t)
	replicas := []*testenv.Client{h.Client, h.replica(), h.replica()}
	orgs := []string{"org-r1", "org-r2", "org-r3"}
	applicants := make([]string, len(orgs))
	for i, org := range orgs {
		h.announce(org, "signatory")
		applicants[i] = h.Token(auth.RoleApplicant, org)
	}
	round := h.openRound(10000000, 1000, 10000)
	for _, a := range applicants {
		h.eligible(a, round, 1000)
	}
	const n = 150
	want := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			applicant := applicants[i%len(applicants)]
			on := func(step int) *testenv.Client { return replicas[(i+step)%len(replicas)] }
			id := on(0).Must(http.StatusCreated, on(0).Do("POST", "/v1/applications", applicant, draft(round, 5000))).JSON(t)["id"].(string)
			status := "draft"
			if i%2 == 0 {
				on(1).Must(http.StatusOK, on(1).Do("POST", "/v1/applications/"+id+"/submission", applicant, nil))
				status = "submitted"
			}
			if i%3 == 0 {
				on(2).Must(http.StatusOK, on(2).Do("POST", "/v1/applications/"+id+"/withdrawal", applicant, map[string]any{"reason": "changed our plans"}))
				status = "withdrawn"
			}
			mu.Lock()
			want[id] = status
			mu.Unlock()
		})
	}
	wg.Wait()
	testenv.Eventually(t, 30*time.Second, func() error {
		got := map[string]string{}
		for cursor := ""; ; {
			page := h.Must(http.StatusOK, h.Do("GET", "/v1/applications?limit=100&round_id="+round+cursor, h.ops, nil)).JSON(t)
			for _, a := range page["items"].([]any) {
				app := a.(map[string]any)
				if _, ours := want[app["id"].(string)]; ours {
					got[app["id"].(string)] = app["status"].(string)
				}
			}
			next, ok := page["next_cursor"].(string)
			if !ok {
				break
			}
			cursor = "&cursor=" + next
		}
		wrong := 0
		for id, status := range want {
			if got[id] != status {
				wrong++
			}
		}
		if wrong > 0 {
			return fmt.Errorf("%d of %d applications listed at another state than their last", wrong, n)
		}
		return nil
	})
}

// TestTheLedgerCountsARoundsApplicationsAndAListSaysItsTotal: the console shows each
// round's applications by status from its ledger, and a list's page says how many
// match over every page, so neither reads every application.
func TestTheLedgerCountsARoundsApplicationsAndAListSaysItsTotal(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-a", "signatory")
	h.announce("org-b", "signatory")
	round := h.openRound(750000, 1000, 100000)
	other := h.openRound(750000, 1000, 100000)
	a, b := h.Token(auth.RoleApplicant, "org-a"), h.Token(auth.RoleApplicant, "org-b")
	h.eligible(a, round, 10000) // each leaves a withdrawn probe
	h.eligible(b, round, 10000)
	h.drafted(a, round)
	h.submitted(a, round, 20000, true)
	h.submitted(b, round, 30000, false)
	h.drafted(a, other)

	want := map[string]any{"draft": 1.0, "submitted": 1.0, "withdrawn": 2.0, "in_assessment": 1.0, "awarded": 0.0, "declined": 0.0}
	testenv.Eventually(t, 10*time.Second, func() error {
		got := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)["applications"]
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("the round's applications by status %v, want %v (the view may lag)", got, want)
		}
		return nil
	})
	// The other round's draft was made last: the view may not hold it yet when the
	// first round's figures are right.
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+other+"/ledger", h.ops, nil)).JSON(t)["applications"].(map[string]any); got["draft"] != 1.0 || got["withdrawn"] != 0.0 {
			return fmt.Errorf("the other round's applications %v, want its one draft (the view may lag)", got)
		}
		return nil
	})
	for _, c := range []struct {
		who, query string
		total      float64
		items      int
	}{
		{h.ops, "round_id=" + round + "&limit=2", 5, 2},
		{h.ops, "round_id=" + round + "&status=withdrawn", 2, 2},
		{h.ops, "status=draft", 2, 2},
		{h.ops, "", 6, 6},
		{b, "", 2, 2},
		{b, "status=withdrawn&limit=1", 1, 1},
		{a, "round_id=" + other, 1, 1},
		{h.ops, "round_id=nobody", 0, 0},
	} {
		page := h.Must(http.StatusOK, h.Do("GET", "/v1/applications?"+c.query, c.who, nil)).JSON(t)
		if page["total"] != c.total || len(page["items"].([]any)) != c.items {
			t.Errorf("?%s: total %v with %d items, want %v with %d", c.query, page["total"], len(page["items"].([]any)), c.total, c.items)
		}
	}
}

// An announcement dated ahead (the signatory service takes one up to six months
// ahead) makes a signatory on its day, as the public directory lists it then: before
// that day the organisation may not apply.
func TestAnOrganisationAnnouncedAheadAppliesFromItsDay(t *testing.T) {
	t.Parallel()
	h := start(t)
	day := civil.Of(start0).AddDays(10) // start0 is GMT: its UTC day is the London day
	h.publishSignatory(events.OrganisationAnnouncedV1{OrganisationID: "org-ahead", Name: "Org ahead", Kind: "signatory", AnnouncedOn: day,
		NominatedLead: events.Person{Name: "Sam Patel", Email: "s.patel@example.ac.uk"}}, "org-ahead")
	h.announce("org-now", "signatory")
	rnd := h.openRound(100000, 1000, 10000)
	h.eligible(h.Token(auth.RoleApplicant, "org-now"), rnd, 1000) // both announcements are recorded
	ahead := h.Token(auth.RoleApplicant, "org-ahead")
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/applications", ahead, draft(rnd, 5000))
		if r.Status != http.StatusForbidden || !strings.Contains(r.JSON(t)["detail"].(string), day.Time().Format("Monday 2 January 2006")) {
			return fmt.Errorf("a draft before the announcement's day: %d %s, want 403 naming %s", r.Status, r.Body, day)
		}
		return nil
	})
	h.clock.Set(day.Time().Add(9 * time.Hour)) // 09:00 (GMT) on the day
	h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", ahead, draft(rnd, 5000)))
}

// A funded project's report that was not in by its due day was never chased: the
// applicant was told once, as the project ended, and nothing more was said. The day
// after it was due the fund marks it overdue, once (ReportOverdueV1, from which notify
// chases the applicant and the lead); a report already in, or still within its month,
// is not chased, and the report is taken late.
func TestAReportNotInByItsDueDayIsMarkedOverdueOnce(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-a", "signatory")
	h.announce("org-b", "signatory")
	round := h.openRound(750000, 10000, 100000)
	late, prompt := h.Token(auth.RoleApplicant, "org-a"), h.Token(auth.RoleApplicant, "org-b")
	h.eligible(late, round, 10000)
	h.eligible(prompt, round, 10000)
	var ids []string
	for _, tok := range []string{late, prompt} {
		id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", tok, draft(round, 85000))).JSON(t)["id"].(string)
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/submission", tok, nil))
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/assessment", h.ops, nil))
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 80000}))
		ids = append(ids, id)
	}
	sweepUntil := func(want int) {
		t.Helper()
		marked := 0
		testenv.Eventually(t, 10*time.Second, func() error {
			n, err := h.svc.App.SweepReports(context.Background())
			if err != nil {
				return err
			}
			if marked += n; marked != want {
				return fmt.Errorf("%d reports marked (the view may lag), want %d", marked, want)
			}
			return nil
		})
	}
	// The projects end on 31 December 2027; their reports are due by 31 January 2028.
	h.clock.Set(time.Date(2028, 1, 2, 9, 0, 0, 0, time.UTC))
	sweepUntil(2)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+ids[1]+"/report", prompt, map[string]any{"summary": "Four workshops.", "spent_pence": 80000}))
	// On the due day itself nothing is overdue.
	h.clock.Set(time.Date(2028, 1, 31, 23, 30, 0, 0, time.UTC))
	if n, err := h.svc.App.SweepReports(context.Background()); err != nil || n != 0 {
		t.Errorf("a sweep on the due day marked %d (%v), want 0", n, err)
	}
	h.clock.Set(time.Date(2028, 2, 1, 9, 0, 0, 0, time.UTC))
	sweepUntil(1)
	if n, err := h.svc.App.SweepReports(context.Background()); err != nil || n != 0 {
		t.Errorf("a second sweep after the due day marked %d (%v), want 0", n, err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := h.fundEvents(ids[0]); !slices.Contains(got, events.SubjectReportOverdue) {
			return fmt.Errorf("the late report's events %v have no %s", got, events.SubjectReportOverdue)
		}
		if got := h.fundEvents(ids[1]); slices.Contains(got, events.SubjectReportOverdue) {
			return fmt.Errorf("the report sent in time was marked overdue: %v", got)
		}
		return nil
	})
	// The late report is taken, and is then owed no more.
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+ids[0]+"/report", late, map[string]any{"summary": "Three workshops.", "spent_pence": 70000}))
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+ids[0], late, nil)).JSON(t); got["report_is_due"] != false || got["report"] == nil {
		t.Errorf("after the late report the application reads report_is_due %v, report %v", got["report_is_due"], got["report"])
	}
}
