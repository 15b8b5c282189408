package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// opsDeadLetters makes two dead letters for the signatory's submission consumer: a
// poison message the real consumer gives up on at once (its payload is not the
// contract), and one kept as the consumer keeps a message whose deliveries ran out
// on a passing failure, whose cause has since gone. It returns their sequences.
func opsDeadLetters(t *testing.T, s *stack, org string) (poison, fixed uint64) {
	t.Helper()
	ctx := context.Background()
	bad := events.Envelope{ID: "evt-poison", Source: "/tc/review", Type: events.SubmissionReceivedV1{}.EventType(), AggregateID: "sub-x",
		Version: 1, Time: time.Now(), Data: []byte(`{"submission_id": 42}`)}
	if _, err := s.env.JS.PublishMsg(ctx, bus.Message(bad)); err != nil {
		t.Fatal(err)
	}
	good, err := json.Marshal(events.SubmissionReceivedV1{SubmissionID: "sub-ok", OrganisationID: org, Kind: "self_assessment_and_action_plan",
		ReceivedAt: time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	m := bus.Message(events.Envelope{ID: "evt-fixed", Source: "/tc/review", Type: events.SubmissionReceivedV1{}.EventType(), AggregateID: "sub-ok",
		Version: 1, Time: time.Now(), Data: good})
	original := m.Subject
	m.Subject = bus.DeadLetterSubject("signatory-submission-received")
	m.Header.Set(jetstream.MsgIDHeader, "signatory-submission-received:TC_REVIEW:999")
	m.Header.Set(bus.HeaderDeadReason, "failed 5 deliveries, last: the event store is unavailable")
	m.Header.Set(bus.HeaderDeadConsumer, "signatory-submission-received")
	m.Header.Set(bus.HeaderDeadSubject, original)
	m.Header.Set(bus.HeaderDeadStream, events.StreamReview)
	m.Header.Set(bus.HeaderDeliveries, "5")
	m.Header.Set(bus.HeaderDeadTime, time.Now().UTC().Format(time.RFC3339Nano))
	ack, err := s.env.JS.PublishMsg(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	fixed = ack.Sequence
	ops := opsToken(t, s.sig, "signatory")
	testenv.Eventually(t, 10*time.Second, func() error {
		page := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/ops/dead-letters", ops, nil)).JSON(t)
		for _, it := range page["items"].([]any) {
			if l := it.(map[string]any); l["event_id"] == "evt-poison" {
				poison = uint64(l["sequence"].(float64))
				return nil
			}
		}
		return fmt.Errorf("the poison message is not dead-lettered yet")
	})
	return poison, fixed
}

// Ops read every service's dead letters with their reasons on the console and
// replay them: one that fails again stays, with the reason on the page; one whose
// cause has gone is handled (the obligation it closes is met) and removed. Leads
// cannot reach the page or replay.
func TestOpsReplaysDeadLetters(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	poison, fixed := opsDeadLetters(t, s, org)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	lead := s.p.signIn("lead-a@example.ac.uk")

	if r := s.p.do("GET", "/ops/dead-letters", lead, nil); r.status != http.StatusNotFound {
		t.Errorf("a lead's GET /ops/dead-letters = %d", r.status)
	}
	if r := s.p.do("POST", "/ops/dead-letters/signatory/"+strconv.FormatUint(fixed, 10)+"/replay", lead, nil); r.status != http.StatusNotFound {
		t.Errorf("a lead's replay = %d", r.status)
	}

	page := opsMustStatus(t, s.p.do("GET", "/ops/dead-letters", ops, nil), http.StatusOK, "the dead letters")
	var reasons []string
	for _, td := range find(parse(t, page.body), func(n *html.Node) bool { return attr(n, "class") == "reason" }) {
		reasons = append(reasons, text(td))
	}
	if len(reasons) != 2 || !strings.Contains(strings.Join(reasons, "|"), "decode") || !strings.Contains(strings.Join(reasons, "|"), "the event store is unavailable") {
		t.Fatalf("the dead letters' reasons: %q", reasons)
	}
	today := opsMustStatus(t, s.p.do("GET", "/ops", ops, nil), http.StatusOK, "Today")
	if !strings.Contains(today.body, "Signatory: 2") {
		t.Errorf("Today does not count the signatory's two dead letters")
	}

	r := opsMustStatus(t, s.p.do("POST", "/ops/dead-letters/signatory/"+strconv.FormatUint(poison, 10)+"/replay", ops, nil), http.StatusConflict, "replaying the poison")
	if msg := text(find(parse(t, r.body), func(n *html.Node) bool { return attr(n, "class") == "error-summary" })[0]); !strings.Contains(msg, "was not replayed") {
		t.Errorf("the failed replay reads %q", msg)
	}
	opsMustStatus(t, s.p.do("POST", "/ops/dead-letters/signatory/"+strconv.FormatUint(fixed, 10)+"/replay", ops, nil), http.StatusSeeOther, "replaying the fixed letter")
	// Its button pressed twice (or by a colleague as well): the second finds it gone,
	// and says so, not that it "was not replayed".
	r = s.p.do("POST", "/ops/dead-letters/signatory/"+strconv.FormatUint(fixed, 10)+"/replay", ops, nil)
	if msg := text(find(parse(t, r.body), func(n *html.Node) bool { return attr(n, "class") == "error-summary" })[0]); strings.Contains(msg, "was not replayed") ||
		!strings.Contains(msg, "is no longer waiting") {
		t.Errorf("the letter replayed again reads %q", msg)
	}
	page = opsMustStatus(t, s.p.do("GET", "/ops/dead-letters", ops, nil), http.StatusOK, "the dead letters after the replays")
	if n := len(find(parse(t, page.body), func(n *html.Node) bool { return attr(n, "class") == "reason" })); n != 1 {
		t.Errorf("after the replays %d letters are listed, want the poison alone", n)
	}
	obs := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+org+"/obligations", opsToken(t, s.sig, "signatory"), nil)).JSON(t)
	if first := obs["items"].([]any)[0].(map[string]any); first["status"] != "met" {
		t.Errorf("the replayed submission did not close the obligation: %v", first)
	}
	if r := s.p.do("POST", "/ops/dead-letters/nowhere/1/replay", ops, nil); r.status != http.StatusNotFound {
		t.Errorf("a replay for no service = %d", r.status)
	}
}

// The delivery log filters by status and refuses a filter it does not offer beside
// its field; the reminders preview answers.
func TestOpsDeliveryLog(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	org := onboardOn(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk", time.Now().AddDate(0, -13, 0))
	// An application's receipt is an email about the organisation.
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", opsToken(t, s.fund, "fund"), map[string]any{
		"name": "TCF 2030", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": "2030-01-31T17:00:00Z",
		"budget_pence": 1000000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": "2030-03-01", "project_end": "2030-12-31", "themes": []string{"career_development"},
	})).JSON(t)["id"].(string)
	opsSubmitApplication(t, s, round, org, "lead-a@example.ac.uk", 2030)
	// A sign-in link is an email notify sends and logs.
	s.p.requestLink("lead-a@example.ac.uk")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	testenv.Eventually(t, 15*time.Second, func() error {
		r := s.p.do("GET", "/ops/email?status=sent", ops, nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, "Resend") {
			return fmt.Errorf("no sent delivery listed yet (%d): %s", r.status, r.body)
		}
		// The sign-in link's email goes by another path: wait for it too.
		if !strings.Contains(r.body, "sign-in link") {
			return fmt.Errorf("the sign-in link's email is not listed yet")
		}
		return nil
	})
	// Each email about an organisation names it (notify's log holds its id alone), and
	// the name leads to the log of that organisation's emails only.
	var about string
	testenv.Eventually(t, 15*time.Second, func() error {
		r := s.p.do("GET", "/ops/email", ops, nil)
		about = linkLabelled(parse(t, r.body), "Only the emails about University of Exampleton")
		if about == "" {
			return fmt.Errorf("no email names University of Exampleton yet: %s", r.body)
		}
		return nil
	})
	if !strings.HasPrefix(about, "/ops/email?organisation=") {
		t.Errorf("the organisation's link goes to %s", about)
	}
	only := opsMustStatus(t, s.p.do("GET", about, ops, nil), http.StatusOK, "one organisation's emails")
	if !strings.Contains(shownText(t, only.body), "Only the emails about University of Exampleton.") || !strings.Contains(only.body, "Resend") ||
		linkLabelled(parse(t, only.body), "Every organisation's emails") != "/ops/email" {
		t.Errorf("the organisation's emails do not say whose they are, or list none: %s", only.body)
	}
	// The filter then holds an identifier, which nobody types: its hint says where it comes from.
	if !strings.Contains(only.body, `aria-describedby="field-organisation-hint"`) || !strings.Contains(only.body, "Emails sent to this organisation") {
		t.Errorf("the organisation filter does not say how it is filled in")
	}
	if r := s.p.do("GET", "/ops/email?status=given_up", ops, nil); r.status != http.StatusOK || strings.Contains(r.body, "Resend") {
		t.Errorf("the given-up filter = %d, listing: %v", r.status, strings.Contains(r.body, "Resend"))
	}
	r := opsMustStatus(t, s.p.do("GET", "/ops/email?status=lost", ops, nil), http.StatusBadRequest, "a status not offered")
	if opsFieldMessage(t, r.body, "status") == "" {
		t.Errorf("no message beside the status")
	}
	r = opsMustStatus(t, s.p.do("GET", "/ops/email?organisation=%3Cscript%3E", ops, nil), http.StatusBadRequest, "an organisation identifier with markup")
	if opsFieldMessage(t, r.body, "organisation") == "" {
		t.Errorf("no message beside the organisation")
	}
	opsMustStatus(t, s.p.do("GET", "/ops/email/reminders", ops, nil), http.StatusOK, "the reminders preview")

	// Resend, as the ops person, the delivery listed. The sign-in link is not offered:
	// the log keeps it without its link, which worked once.
	list := opsMustStatus(t, s.p.do("GET", "/ops/email?status=sent", ops, nil), http.StatusOK, "the sent deliveries")
	for _, row := range find(parse(t, list.body), element("tr")) {
		if cells := text(row); strings.Contains(cells, "sign-in link") &&
			(len(find(row, element("form"))) != 0 || !strings.Contains(cells, "Not resent: the person asks for a new link")) {
			t.Errorf("the sign-in link's row offers a resend: %s", cells)
		}
	}
	if !strings.Contains(list.body, "Not resent: the person asks for a new link") {
		t.Errorf("no sign-in link is listed as not resent: %s", list.body)
	}
	var action, key string
	for _, f := range find(parse(t, list.body), element("form")) {
		if a := attr(f, "action"); strings.HasSuffix(a, "/resend") {
			action = a
			for _, in := range find(f, element("input")) {
				if attr(in, "name") == "key" {
					key = attr(in, "value")
				}
			}
		}
	}
	if action == "" || key == "" {
		t.Fatalf("no resend form with its key on %s", list.body)
	}
	mailed := func() int {
		s.box.mu.Lock()
		defer s.box.mu.Unlock()
		return len(s.box.msgs)
	}
	before := mailed()
	// Pressed twice (a double click): one more email, not two.
	var resent response
	for range 2 {
		resent = opsMustStatus(t, s.p.do("POST", action, ops, url.Values{"key": {key}}), http.StatusSeeOther, "the resend")
	}
	// The log it leads back to says what became of the resend, as a status message
	// (the delivery may be pages down the log, which lists by when it was first made).
	after := opsMustStatus(t, s.p.do("GET", resent.header.Get("Location"), ops, nil), http.StatusOK, "the log after the resend")
	if notice := find(parse(t, after.body), func(n *html.Node) bool { return attr(n, "role") == "status" }); len(notice) != 1 ||
		!strings.Contains(text(notice[0]), "was sent again") {
		t.Errorf("the log after the resend does not say it was sent again: %s", after.body)
	}
	// A resend is sent before its answer: both answers are in, so is every email.
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := mailed() - before; n < 1 {
			return fmt.Errorf("the resend sent no email yet")
		}
		return nil
	})
	if n := mailed() - before; n != 1 {
		t.Errorf("the resend pressed twice sent %d emails, want 1", n)
	}
	r = opsMustStatus(t, s.p.do("POST", "/ops/email/deliveries/not-an-id/resend", ops, nil), http.StatusBadRequest, "a resend of no delivery")
	if !strings.Contains(r.body, "The email was not resent") {
		t.Errorf("the refused resend does not say so: %s", r.body)
	}
}

// The reminders to come are shown 50 at a time, the soonest first, with a link to the
// later ones; every reminder is on one page or the other; a page nobody could have
// been given is refused.
func TestOpsRemindersArePaged(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	// The preview shows each organisation's next reminder: 56 organisations make more
	// than a page.
	const orgs = 56
	for i := range orgs {
		onboardOn(t, s.p, s.sig, fmt.Sprintf("University of Pageton %d", i), fmt.Sprintf("lead-%d@pageton.ac.uk", i), time.Now())
	}
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	rows := func(body string) []string {
		var out []string
		for _, tr := range find(parse(t, body), element("tr")) {
			if cells := find(tr, element("td")); len(cells) > 0 {
				var row []string
				for _, c := range cells {
					row = append(row, text(c))
				}
				out = append(out, strings.Join(row, " | "))
			}
		}
		return out
	}
	later := func(body string) string {
		for _, a := range find(parse(t, body), element("a")) {
			if text(a) == "Later reminders" {
				return attr(a, "href")
			}
		}
		return ""
	}
	var first, second []string
	// Notify takes the 56 organisations' events one at a time, in order, sending their
	// emails as it goes: on a test machine busy with the other stacks that took more
	// than 20 s (32 of the 56 in, once), so the wait is longer; alone it is 2-3 s.
	testenv.Eventually(t, time.Minute, func() error {
		page := opsMustStatus(t, s.p.do("GET", "/ops/email/reminders", ops, nil), http.StatusOK, "the reminders")
		first = rows(page.body)
		next := later(page.body)
		if len(first) != 50 || next == "" {
			return fmt.Errorf("the first page shows %d reminders, link to later ones %q", len(first), next)
		}
		second = rows(opsMustStatus(t, s.p.do("GET", next, ops, nil), http.StatusOK, "the later reminders").body)
		if len(second) != orgs-50 {
			return fmt.Errorf("the later page shows %d reminders, want the %d left", len(second), orgs-50)
		}
		return nil
	})
	seen := map[string]bool{}
	for _, r := range append(first, second...) {
		if seen[r] {
			t.Errorf("%q is on both pages", r)
		}
		seen[r] = true
	}
	if r := s.p.do("GET", "/ops/email/reminders?cursor=not-a-cursor", ops, nil); r.status != http.StatusBadRequest {
		t.Errorf("a made-up page of reminders = %d, want 400", r.status)
	}
}

// The portal's own consumers give up on messages too (its people, reviewers' saved
// copies, erasures), and TCDeadLetters, which reads the whole stream, fires for
// them: the console lists them beside the services' and offers their replay. It
// listed the four services' alone, so the on-call found nothing to act on.
func TestOpsSeesAndReplaysThePortalsOwnDeadLetters(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	// An announcement no consumer can read: no event envelope, no JSON.
	msg := nats.NewMsg(events.SubjectOrganisationAnnounced)
	msg.Data = []byte("not an event")
	if _, err := s.env.JS.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	portalRows := func(body string) []*html.Node {
		return find(parse(t, body), func(n *html.Node) bool {
			return n.Data == "form" && strings.HasPrefix(attr(n, "action"), "/ops/dead-letters/portal/")
		})
	}
	var action string
	testenv.Eventually(t, 20*time.Second, func() error {
		page := opsMustStatus(t, s.p.do("GET", "/ops/dead-letters", ops, nil), http.StatusOK, "the dead letters")
		rows := portalRows(page.body)
		if len(rows) != 1 || !strings.Contains(page.body, signin.DurableLeads) {
			return fmt.Errorf("the console lists %d of the portal's dead letters, want the announcement its leads' consumer gave up on", len(rows))
		}
		action = attr(rows[0], "action")
		return nil
	})
	// Today counts them as it counts the services', so the on-call sees them there too.
	if today := opsMustStatus(t, s.p.do("GET", "/ops", ops, nil), http.StatusOK, "Today"); !strings.Contains(today.body, "Portal: 1") {
		t.Errorf("Today does not count the portal's dead letter")
	}
	r := opsMustStatus(t, s.p.do("POST", action, ops, nil), http.StatusConflict, "replaying the portal's letter")
	if msg := text(find(parse(t, r.body), func(n *html.Node) bool { return attr(n, "class") == "error-summary" })[0]); !strings.Contains(msg, "was not replayed") ||
		!strings.Contains(msg, "not an event") {
		t.Errorf("the portal's letter, replayed, reads %q; want it not replayed, saying why", msg)
	}
	if n := len(portalRows(r.body)); n != 1 {
		t.Errorf("after its failed replay the console lists %d of the portal's letters, want it still there", n)
	}
}
