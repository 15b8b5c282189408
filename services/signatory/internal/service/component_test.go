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

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/api"
	"github.com/itss/techcommit/services/signatory/internal/config"
	"github.com/itss/techcommit/services/signatory/internal/service"
)

// harness is one signatory service running in process against its own database and
// NATS server, reached over a real socket.
type harness struct {
	*testenv.Client
	t   testing.TB
	js  jetstream.JetStream
	svc *service.Service
}

func start(t testing.TB) *harness { return startWith(t, service.Options{}) }

// startWith starts the service with options (a fake clock, another policy).
func startWith(t testing.TB, opts service.Options) *harness {
	t.Helper()
	env := testenv.NewEnv(t)
	env.Spec = api.Spec
	cfg := config.Default()
	cfg.Platform = env.Platform(t, cfg.Platform)
	opts.Logger = telemetry.Discard()
	svc, cleanup, err := service.New(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{Client: env.Serve(t, svc.Serve, cleanup), t: t, js: env.JS, svc: svc}
}

var (
	enquiry = map[string]any{
		"name": "University of Exampleton", "kind": "signatory", "sector": "higher_education", "country": "GB",
		"website":         "https://www.exampleton.ac.uk",
		"enquiry_contact": map[string]any{"name": "Sam Patel", "email": "s.patel@exampleton.ac.uk"},
	}
	form = map[string]any{
		"signed_on":        "2025-03-01",
		"leader":           map[string]any{"name": "Prof. Jane Smith", "title": "Vice-Chancellor", "email": "vc@exampleton.ac.uk"},
		"nominated_lead":   map[string]any{"name": "Sam Patel", "email": "s.patel@exampleton.ac.uk"},
		"point_of_contact": map[string]any{"name": "Technical Services Office", "email": "technicians@exampleton.ac.uk"},
		"plan_page":        "https://www.exampleton.ac.uk/technician-commitment",
	}
)

// onboard creates an organisation and takes it as far as the given step.
func (h *harness) onboard(ops string, through string, traceHeaders ...string) string {
	h.t.Helper()
	created := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, enquiry, traceHeaders...)).JSON(h.t)
	id := created["id"].(string)
	steps := []struct {
		name, path string
		body       any
	}{
		{"meeting", "/meeting", map[string]any{"held_on": "2025-02-10"}},
		{"form", "/form", form},
		{"announcement", "/announcement", map[string]any{"announced_on": "2025-03-20"}},
	}
	for _, s := range steps {
		h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+s.path, ops, s.body, traceHeaders...))
		if s.name == through {
			break
		}
	}
	return id
}

// withDate returns a copy of body with one field replaced.
func withDate(body map[string]any, field, value string) map[string]any {
	m := map[string]any{}
	for k, v := range body {
		m[k] = v
	}
	m[field] = value
	return m
}

// eventsOf reads every event about one organisation from the signatory stream.
func (h *harness) eventsOf(id string, want int) []jetstream.Msg {
	h.t.Helper()
	var got []jetstream.Msg
	testenv.Eventually(h.t, 10*time.Second, func() error {
		got = nil
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := h.js.OrderedConsumer(ctx, events.StreamSignatory, jetstream.OrderedConsumerConfig{})
		if err != nil {
			return err
		}
		info, err := c.Info(ctx)
		if err != nil {
			return err
		}
		total := int(info.NumPending)
		for i := 0; i < total; i++ {
			m, err := c.Next(jetstream.FetchMaxWait(time.Second))
			if err != nil {
				return err
			}
			if m.Headers().Get(bus.HeaderSubject) == id {
				got = append(got, m)
			}
		}
		if len(got) < want {
			return fmt.Errorf("%d events about %s, want %d", len(got), id, want)
		}
		return nil
	})
	return got
}

func TestOnboardingPublishesEventsCarryingTheRequestTrace(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	const traceID = "4bf92f3577b34e0ea0a1b2c3d4e5f607"
	id := h.onboard(ops, "announcement", "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")

	msgs := h.eventsOf(id, 5)
	var types []string
	for _, m := range msgs {
		types = append(types, m.Headers().Get(bus.HeaderType))
		if tp := m.Headers().Get(bus.HeaderTraceParent); !strings.Contains(tp, traceID) {
			t.Errorf("%s carries traceparent %q, want trace %s", m.Subject(), tp, traceID)
		}
		if m.Headers().Get("Nats-Msg-Id") != m.Headers().Get(bus.HeaderID) {
			t.Errorf("%s: Nats-Msg-Id differs from the event id", m.Subject())
		}
		if got := m.Headers().Get(bus.HeaderActor); got != "ops:ops-user" {
			t.Errorf("%s: actor %q, want ops:ops-user", m.Subject(), got)
		}
	}
	want := []string{
		"tc.signatory.organisation.enquiry_received.v1",
		"tc.signatory.organisation.meeting_held.v1",
		"tc.signatory.organisation.form_received.v1",
		"tc.signatory.organisation.announced.v1",
		"tc.signatory.organisation.obligation_scheduled.v1",
	}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("event types (-want +got):\n%s", diff)
	}
	env, err := bus.Envelope(msgs[4].Subject(), msgs[4].Headers(), msgs[4].Data())
	if err != nil {
		t.Fatal(err)
	}
	scheduled, err := events.Decode[events.ObligationScheduledV1](env)
	if err != nil {
		t.Fatal(err)
	}
	if scheduled.WindowOpens.String() != "2026-03-20" || scheduled.Due.String() != "2026-09-20" {
		t.Errorf("first obligation window %s due %s, want 2026-03-20 and 2026-09-20", scheduled.WindowOpens, scheduled.Due)
	}

	// The lead reads their obligations; the public reads the directory once projected.
	lead := h.Token(auth.RoleLead, id)
	obs := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/obligations", lead, nil)).JSON(t)
	items := obs["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["due"] != "2026-09-20" {
		t.Errorf("obligations = %v, want one due 2026-09-20", items)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		dir := h.Do("GET", "/v1/directory", "", nil)
		if dir.Status != http.StatusOK {
			return fmt.Errorf("directory status %d", dir.Status)
		}
		if !strings.Contains(string(dir.Body), id) {
			return fmt.Errorf("directory does not list %s yet", id)
		}
		for _, private := range []string{"vc@exampleton.ac.uk", "s.patel@exampleton.ac.uk"} {
			if strings.Contains(string(dir.Body), private) {
				t.Errorf("the public directory shows the private address %s", private)
			}
		}
		return nil
	})
}

func TestSubmissionReceivedClosesObligationOnceAndOpensTheNext(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "announcement")

	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.js, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(events.SubmissionReceivedV1{SubmissionID: "sub-1", OrganisationID: id, ObligationID: id + "-c1", Kind: "self_assessment_and_action_plan", ReceivedAt: time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)})
	env := events.Envelope{ID: "evt-sub-1", Source: "/tc/review", Type: events.SubmissionReceivedV1{}.EventType(), AggregateType: "submission", AggregateID: "sub-1", Version: 1, Time: time.Now(), Data: payload}
	// Published twice under different message ids, so JetStream keeps both: the
	// consumer must still close the obligation only once.
	for i := range 2 {
		m := bus.Message(env)
		m.Header.Set("Nats-Msg-Id", fmt.Sprintf("copy-%d", i))
		if _, err := h.js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		obs := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/obligations", ops, nil)).JSON(t)
		items := obs["items"].([]any)
		if len(items) != 2 {
			return fmt.Errorf("%d obligations, want 2", len(items))
		}
		first, next := items[0].(map[string]any), items[1].(map[string]any)
		if first["status"] != "met" || first["met_on"] != "2026-06-15" || next["due"] != "2029-06-15" || next["window_opens"] != "2028-12-15" {
			return fmt.Errorf("obligations %v", items)
		}
		return nil
	})
	msgs := h.eventsOf(id, 7)
	if len(msgs) != 7 {
		t.Errorf("%d events, want 7 (5 onboarding, 1 met, 1 scheduled): a duplicate had a second effect", len(msgs))
	}
}

func TestRacingCommandsOnOneOrganisationLoseNothing(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "form")

	const n = 50
	var wg sync.WaitGroup
	statuses := make([]int, n)
	versions := make([]float64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r testenv.Response
			if i%5 == 0 {
				// Only one announcement can ever be applied.
				r = h.Do("POST", "/v1/organisations/"+id+"/announcement", ops, map[string]any{"announced_on": "2025-03-20"})
			} else {
				c := map[string]any{}
				for k, v := range form {
					c[k] = v
				}
				delete(c, "signed_on")
				c["nominated_lead"] = map[string]any{"name": fmt.Sprintf("Lead %d", i), "email": fmt.Sprintf("lead%d@exampleton.ac.uk", i)}
				r = h.Do("PUT", "/v1/organisations/"+id+"/contacts", ops, c)
			}
			statuses[i] = r.Status
			if r.Status == http.StatusOK {
				versions[i] = r.JSON(t)["version"].(float64)
			}
		}()
	}
	wg.Wait()

	applied := map[string]int{}
	seenVersion := map[float64]int{}
	for i, s := range statuses {
		kind := "contacts"
		if i%5 == 0 {
			kind = "announce"
		}
		switch s {
		case http.StatusOK:
			applied[kind]++
			if prev, dup := seenVersion[versions[i]]; dup {
				t.Errorf("commands %d and %d both answered version %v", prev, i, versions[i])
			}
			seenVersion[versions[i]] = i
		case http.StatusConflict:
		default:
			t.Errorf("command %d: status %d, want 200 or 409", i, s)
		}
	}
	if applied["announce"] != 1 {
		t.Errorf("%d announcements applied, want exactly 1", applied["announce"])
	}
	history := h.all("/v1/organisations/"+id+"/history", ops)
	counts := map[string]int{}
	for i, e := range history {
		entry := e.(map[string]any)
		counts[entry["type"].(string)]++
		if int(entry["version"].(float64)) != i+1 {
			t.Errorf("history entry %d has version %v", i, entry["version"])
		}
	}
	if got := counts["tc.signatory.organisation.contacts_changed.v1"]; got != applied["contacts"] {
		t.Errorf("%d contact changes stored, %d answered as applied", got, applied["contacts"])
	}
	if got := counts["tc.signatory.organisation.announced.v1"]; got != 1 {
		t.Errorf("%d announcements stored, want 1", got)
	}
	t.Logf("applied %v of %d", applied, n)
}

func TestBadRequestsGetProblemDetails(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	id := h.onboard(ops, "meeting")
	other := h.onboard(ops, "meeting")

	forger, err := auth.NewDevIssuer(h.Issuer.Issuer, h.Issuer.Audience)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := forger.Mint(auth.Principal{Subject: "x", Role: auth.RoleOps}, time.Hour)
	expired, _ := h.Issuer.MintClaims(h.Issuer.TokenClaims(auth.Principal{Subject: "x", Role: auth.RoleOps}, -time.Hour))
	withField := func(k string, v any) map[string]any {
		m := map[string]any{}
		for key, val := range enquiry {
			m[key] = val
		}
		m[k] = v
		return m
	}

	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
		field                     string
	}{
		{"malformed JSON", "POST", "/v1/organisations", ops, `{"name": "x",`, 400, "body"},
		{"unknown field", "POST", "/v1/organisations", ops, withField("status", "announced"), 400, "status"},
		{"wrong type", "POST", "/v1/organisations", ops, withField("name", 42), 400, "name"},
		{"bad enum", "POST", "/v1/organisations", ops, withField("kind", "sponsor"), 400, "kind"},
		{"no such country", "POST", "/v1/organisations", ops, withField("country", "XX"), 400, "country"},
		{"UK for GB", "POST", "/v1/organisations", ops, withField("country", "UK"), 400, "country"},
		{"bad email", "POST", "/v1/organisations", ops, withField("enquiry_contact", map[string]any{"name": "x", "email": "not-an-email"}), 400, "enquiry_contact.email"},
		{"operator injection", "POST", "/v1/organisations", ops, withField("name", map[string]any{"$ne": nil}), 400, "name"},
		{"oversized body", "POST", "/v1/organisations", ops, withField("name", strings.Repeat("x", 300<<10)), 413, ""},
		{"huge page", "GET", "/v1/organisations?limit=100000", ops, nil, 400, "limit"},
		{"forged cursor", "GET", "/v1/organisations?cursor=eyIkbmUiOm51bGx9", ops, nil, 400, "cursor"},
		{"no token", "GET", "/v1/organisations/" + id, "", nil, 401, ""},
		{"forged token", "GET", "/v1/organisations/" + id, forged, nil, 401, ""},
		{"expired token", "GET", "/v1/organisations/" + id, expired, nil, 401, ""},
		{"malformed token", "GET", "/v1/organisations/" + id, "not.a.jwt", nil, 401, ""},
		{"another organisation's lead", "GET", "/v1/organisations/" + other, h.Token(auth.RoleLead, id), nil, 404, ""},
		{"another organisation's obligations", "GET", "/v1/organisations/" + other + "/obligations", h.Token(auth.RoleLead, id), nil, 404, ""},
		{"bidirectional override in the website", "POST", "/v1/organisations", ops, withField("website", "https://www.example.ac.uk/\u202egpj.exe\u200b"), 400, "website"},
		{"website without its scheme", "POST", "/v1/organisations", ops, withField("website", "www.example.ac.uk/plan"), 400, "website"},
		{"doubled dot in an email", "POST", "/v1/organisations", ops, withField("enquiry_contact", map[string]any{"name": "x", "email": "a..b@x.ac.uk"}), 400, "enquiry_contact.email"},
		{"lead on an ops step", "POST", "/v1/organisations/" + id + "/announcement", h.Token(auth.RoleLead, id), map[string]any{"announced_on": "2025-03-20"}, 403, ""},
		{"applicant reads organisation", "GET", "/v1/organisations/" + id, h.Token(auth.RoleApplicant, id), nil, 403, ""},
		{"no such organisation", "GET", "/v1/organisations/nope", ops, nil, 404, ""},
		{"illegal transition", "POST", "/v1/organisations/" + id + "/announcement", ops, map[string]any{"announced_on": "2025-03-20"}, 409, ""},
		{"meeting twice", "POST", "/v1/organisations/" + id + "/meeting", ops, map[string]any{"held_on": "2025-02-10"}, 409, ""},
		{"header injection in the name", "POST", "/v1/organisations", ops, withField("name", "Evil\r\nBcc: victim@example.com"), 400, "name"},
		{"invisible characters in a contact name", "POST", "/v1/organisations", ops, withField("enquiry_contact", map[string]any{"name": "Sam\u202ePatel", "email": "s@example.ac.uk"}), 400, "enquiry_contact.name"},
		{"line break in the withdrawal reason", "POST", "/v1/organisations/" + id + "/withdrawal", ops, map[string]any{"withdrawn_on": "2025-03-01", "reason": "merged\r\nBcc: x@example.com", "initiated_by": "itss"}, 400, "reason"},
		{"withdrawal before the meeting", "POST", "/v1/organisations/" + id + "/withdrawal", ops, map[string]any{"withdrawn_on": "2025-01-01", "reason": "merged", "initiated_by": "itss"}, 400, "withdrawn_on"},
		{"withdrawal in the future", "POST", "/v1/organisations/" + id + "/withdrawal", ops, map[string]any{"withdrawn_on": "2099-01-01", "reason": "merged", "initiated_by": "itss"}, 400, "withdrawn_on"},
		{"form signed in the future", "POST", "/v1/organisations/" + id + "/form", ops, withDate(form, "signed_on", "2099-01-01"), 400, "signed_on"},
		{"form signed before the meeting", "POST", "/v1/organisations/" + id + "/form", ops, withDate(form, "signed_on", "2025-02-01"), 400, "signed_on"},
		{"history page too large", "GET", "/v1/organisations/" + id + "/history?limit=201", ops, nil, 400, "limit"},
		{"obligations page too large", "GET", "/v1/organisations/" + id + "/obligations?limit=201", ops, nil, 400, "limit"},
		{"directory page too large", "GET", "/v1/directory?limit=201", "", nil, 400, "limit"},
		{"forged history cursor", "GET", "/v1/organisations/" + id + "/history?cursor=eyIkbmUiOm51bGx9", ops, nil, 400, "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/history", ops, nil)).JSON(t)["items"].([]any)
			r := h.Do(tt.method, tt.path, tt.token, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			p := r.JSON(t)
			if p["status"].(float64) != float64(tt.status) || p["title"] == "" || p["detail"] == "" {
				t.Errorf("problem body %s lacks status, title or detail", r.Body)
			}
			if tt.field != "" && p["field"] != tt.field {
				t.Errorf("problem names field %v, want %s: %s", p["field"], tt.field, r.Body)
			}
			after := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/history", ops, nil)).JSON(t)["items"].([]any)
			if len(after) != len(before) {
				t.Errorf("a refused request changed the organisation: %d events, then %d", len(before), len(after))
			}
		})
	}
}

func TestPoisonMessagesAreDeadLetteredAndVisibleToOps(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.js, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		t.Fatal(err)
	}
	// A submission-received event whose payload is not the contract: it can never be
	// handled, so it is dead-lettered at once, and a good one behind it still flows.
	bad := events.Envelope{ID: "evt-poison", Source: "/tc/review", Type: events.SubmissionReceivedV1{}.EventType(), AggregateID: "sub-x", Version: 1, Time: time.Now(), Data: []byte(`{"submission_id": 42}`)}
	if _, err := h.js.PublishMsg(ctx, bus.Message(bad)); err != nil {
		t.Fatal(err)
	}
	id := h.onboard(ops, "announcement")
	good, _ := json.Marshal(events.SubmissionReceivedV1{SubmissionID: "sub-ok", OrganisationID: id, ReceivedAt: time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)})
	if _, err := h.js.PublishMsg(ctx, bus.Message(events.Envelope{ID: "evt-good", Source: "/tc/review", Type: events.SubmissionReceivedV1{}.EventType(), AggregateID: "sub-ok", Version: 1, Time: time.Now(), Data: good})); err != nil {
		t.Fatal(err)
	}

	var letters []any
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("GET", "/v1/ops/dead-letters", ops, nil)
		if r.Status != http.StatusOK {
			return fmt.Errorf("status %d: %s", r.Status, r.Body)
		}
		letters = r.JSON(t)["items"].([]any)
		if len(letters) != 1 {
			return fmt.Errorf("%d dead letters, want 1", len(letters))
		}
		return nil
	})
	l := letters[0].(map[string]any)
	if l["event_id"] != "evt-poison" || l["consumer"] != "signatory-submission-received" || !strings.Contains(l["reason"].(string), "decode") {
		t.Errorf("dead letter %v: want the poison event, its consumer and a decode reason", l)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		obs := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id+"/obligations", ops, nil)).JSON(t)
		if n := len(obs["items"].([]any)); n != 2 {
			return fmt.Errorf("the good message behind the poison one was not handled: %d obligations", n)
		}
		return nil
	})
	seq := fmt.Sprint(l["sequence"])
	h.Must(http.StatusForbidden, h.Do("GET", "/v1/ops/dead-letters", h.Token(auth.RoleLead, id), nil))
	// The replay under its noun and under its deprecated verb answer alike; only the
	// old path says it is going.
	newer := h.Must(http.StatusConflict, h.Do("POST", "/v1/ops/dead-letters/"+seq+"/replays", ops, nil))
	older := h.Must(http.StatusConflict, h.Do("POST", "/v1/ops/dead-letters/"+seq+"/replay", ops, nil))
	testenv.SameAnswerDeprecated(t, newer, older, "/v1/ops/dead-letters/"+seq+"/replays")
	h.Must(http.StatusNotFound, h.Do("POST", "/v1/ops/dead-letters/999999/replays", ops, nil))
	h.Must(http.StatusBadRequest, h.Do("POST", "/v1/ops/dead-letters/abc/replays", ops, nil))
}

// TestAuthorisationMatrix calls every operation in the OpenAPI document as every role,
// for its own organisation and for another.
func TestAuthorisationMatrix(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	own := h.onboard(ops, "form")
	other := h.onboard(ops, "form")
	testenv.AuthzMatrix(t, testenv.AuthzTarget{
		Spec: api.Spec,
		PathParams: func(name string, isOwn bool) string {
			if name == "sequence" {
				return "1"
			}
			if isOwn {
				return own
			}
			return other
		},
		Do: func(r testenv.Request) int {
			tok := ""
			if r.Caller.Role != "" {
				tok = h.Token(r.Caller.Role, own)
			}
			var body any
			if r.Body != nil {
				body = string(r.Body)
			}
			return h.Do(r.Method, r.Path, tok, body).Status
		},
	})
}

// TestListsFindANameAndSayTheirTotal: the operations list and the public directory
// find organisations by a part of their name, without regard to case, a page at a
// time (the console and the directory's search read every page and searched them
// themselves); the operations list says how many match over every page.
func TestListsFindANameAndSayTheirTotal(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	named := func(name, through string) string {
		h.t.Helper()
		id := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, withDate(enquiry, "name", name))).JSON(t)["id"].(string)
		for _, s := range []struct {
			name, path string
			body       any
		}{{"meeting", "/meeting", map[string]any{"held_on": "2025-02-10"}}, {"form", "/form", form}, {"announcement", "/announcement", map[string]any{"announced_on": "2025-03-20"}}} {
			if through == "" {
				break
			}
			h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+s.path, ops, s.body))
			if s.name == through {
				break
			}
		}
		return id
	}
	named("University of Exampleton", "announcement")
	named("Exampleton College", "announcement")
	named("EXAMPLETON Institute of Technology", "")
	named("Othertown Institute", "announcement")
	named("Sökborg Högskola", "announcement")
	names := func(page map[string]any) []string {
		var out []string
		for _, it := range page["items"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return out
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := names(h.Must(http.StatusOK, h.Do("GET", "/v1/directory?name=o", "", nil)).JSON(t)); len(got) != 4 {
			return fmt.Errorf("the directory lists %q (the view may lag)", got)
		}
		return nil
	})
	for _, c := range []struct {
		query string
		total float64
		want  string
	}{
		{"name=exampleton&limit=2", 3, "[University of Exampleton Exampleton College]"},
		{"name=ExampleTon&status=enquiry", 1, "[EXAMPLETON Institute of Technology]"},
		{"name=institute", 2, "[EXAMPLETON Institute of Technology Othertown Institute]"},
		{"name=HÖG", 1, "[Sökborg Högskola]"},
		{"name=nowhere", 0, "[]"},
		{"status=announced", 4, "[University of Exampleton Exampleton College Othertown Institute Sökborg Högskola]"},
	} {
		page := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations?"+c.query, ops, nil)).JSON(t)
		if got := fmt.Sprint(names(page)); page["total"] != c.total || got != c.want {
			t.Errorf("?%s: %s, total %v; want %s, total %v", c.query, got, page["total"], c.want, c.total)
		}
	}
	first := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations?name=exampleton&limit=2", ops, nil)).JSON(t)
	rest := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations?name=exampleton&limit=2&cursor="+first["next_cursor"].(string), ops, nil)).JSON(t)
	if got := fmt.Sprint(names(rest)); got != "[EXAMPLETON Institute of Technology]" || rest["total"] != 3.0 || rest["next_cursor"] != nil {
		t.Errorf("the second page of ?name=exampleton: %s, total %v, next %v", got, rest["total"], rest["next_cursor"])
	}
	if got := fmt.Sprint(names(h.Must(http.StatusOK, h.Do("GET", "/v1/directory?name=COLLEGE", "", nil)).JSON(t))); got != "[Exampleton College]" {
		t.Errorf("the directory's ?name=COLLEGE lists %s", got)
	}
	for _, bad := range []string{"name=", "name=%20padded", "name=" + strings.Repeat("x", 201)} {
		if r := h.Do("GET", "/v1/directory?"+bad, "", nil); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"name"`) {
			t.Errorf("the directory's ?%.30s: %d %s, want 400 naming name", bad, r.Status, r.Body)
		}
	}
}
