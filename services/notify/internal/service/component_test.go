package service_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/api"
	"github.com/itss/techcommit/services/notify/internal/config"
	"github.com/itss/techcommit/services/notify/internal/service"
)

// received is one message the test SMTP server accepted.
type received struct {
	To      []string
	Subject string
	ID      string
	ICS     bool
	ICSBody string
	// ICSParts are the bodies of every calendar attached, in order (ICSBody is the
	// last).
	ICSParts []string
	HTML     bool
	Unsub    bool
	// ReplyTo is the Reply-To header's address, where a reply goes ("" without one).
	ReplyTo string
	Text    string
	// HTMLBody is the HTML part, as Text is the plain text part.
	HTMLBody string
}

// mailbox is a real SMTP server in process that keeps what it is sent.
type mailbox struct {
	mu   sync.Mutex
	msgs []received
	addr string
	// refuse, when set, answers a recipient with an SMTP error instead of taking it.
	refuse func(rcpt string) *smtp.SMTPError
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{box: m}, nil }

type session struct {
	box *mailbox
	to  []string
}

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.box.mu.Lock()
	refuse := s.box.refuse
	s.box.mu.Unlock()
	if refuse != nil {
		if err := refuse(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *session) Reset()        { s.to = nil }
func (s *session) Logout() error { return nil }
func (s *session) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	rec := received{To: append([]string(nil), s.to...), ID: msg.Header.Get("Message-Id"), Unsub: msg.Header.Get("List-Unsubscribe") != ""}
	rec.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if rt, err := msg.Header.AddressList("Reply-To"); err == nil && len(rt) == 1 {
		rec.ReplyTo = rt[0].Address
	}
	body, _ := io.ReadAll(msg.Body)
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if b := params["boundary"]; b != "" {
		walk(multipart.NewReader(bytes.NewReader(body), b), &rec)
	}
	sort.Strings(rec.To)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, rec)
	s.box.mu.Unlock()
	return nil
}

func walk(mr *multipart.Reader, rec *received) {
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		ct, params, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch {
		case strings.HasPrefix(ct, "multipart/"):
			data, _ := io.ReadAll(p)
			walk(multipart.NewReader(bytes.NewReader(data), params["boundary"]), rec)
		case ct == "text/calendar":
			rec.ICS = true
			data, _ := io.ReadAll(p)
			if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
				data, _ = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(data)))
			}
			rec.ICSBody = string(data)
			rec.ICSParts = append(rec.ICSParts, string(data))
		case ct == "text/html":
			rec.HTML = true
			data, _ := io.ReadAll(p)
			rec.HTMLBody = string(data)
		case ct == "text/plain":
			data, _ := io.ReadAll(p)
			rec.Text = string(data)
		}
	}
}

func (m *mailbox) all() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.msgs...)
}

// tryLater has the mailbox answer each of emails with a transient refusal (451, try
// later) until it is called again; called with none, it takes every recipient again.
func (m *mailbox) tryLater(emails ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(emails) == 0 {
		m.refuse = nil
		return
	}
	m.refuse = func(rcpt string) *smtp.SMTPError {
		if slices.Contains(emails, rcpt) {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}
}

// sentTo is how many of the emails received so far were addressed to email.
func (m *mailbox) sentTo(email string) int {
	n := 0
	for _, msg := range m.all() {
		for _, to := range msg.To {
			if to == email {
				n++
			}
		}
	}
	return n
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	box := &mailbox{}
	s := smtp.NewServer(box)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	box.addr = ln.Addr().String()
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return box
}

type harness struct {
	t     *testing.T
	cfg   config.Config
	env   *testenv.Env
	box   *mailbox
	clock *clock.Fake
	svcs  []*service.Service
	http  *testenv.Client
	// clients are each instance's, in the order of svcs (http is the first's).
	clients []*testenv.Client
	last    events.Envelope // the last event published
	// lastSeq and lastSubject are where the last signatory event went, for waitFor.
	lastSeq     uint64
	lastSubject string
}

// start runs `instances` notify services on one database, sharing a fake clock and a
// mailbox, with their schedulers off so the test sweeps as it moves the clock.
func start(t *testing.T, instances int, at time.Time) *harness {
	t.Helper()
	env := testenv.NewEnv(t)
	env.Spec = api.Spec
	box := startMailbox(t)
	cfg := config.Default()
	cfg.Platform = env.Platform(t, cfg.Platform)
	host, port, _ := net.SplitHostPort(box.addr)
	cfg.SMTP.Host, cfg.SMTP.TLSPolicy = host, "none"
	cfg.SMTP.From = "technician-commitment@example.org"
	cfg.Notify.PublicURL, cfg.Notify.PortalURL = "https://notify.example.org", "https://portal.example.org"
	cfg.Notify.ContactEmail = "itss@example.org"
	fmt.Sscanf(port, "%d", &cfg.SMTP.Port)
	if _, err := bus.EnsureStream(context.Background(), env.JS, bus.StreamSpec{Name: events.StreamSignatory, Subjects: []string{events.SubjectsSignatory}}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, cfg: cfg, env: env, box: box, clock: clock.NewFake(at)}
	for i := range instances {
		svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Clock: h.clock, Logger: telemetry.Discard(), NoSweeper: true})
		if err != nil {
			t.Fatal(err)
		}
		c := env.Serve(t, svc.Serve, cleanup)
		if i == 0 {
			h.http = c
		}
		h.svcs, h.clients = append(h.svcs, svc), append(h.clients, c)
	}
	return h
}

// restartable runs one more instance on the same database, with its own scheduler on
// (it sweeps as soon as it starts, then every second), and returns how to stop it.
func (h *harness) restartable() (*service.Service, func()) {
	h.t.Helper()
	cfg := h.cfg
	cfg.Notify.SweepInterval = time.Second
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Clock: h.clock, Logger: telemetry.Discard()})
	if err != nil {
		h.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln, admin) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("service stopped with: %v", err)
			}
			cleanup()
		})
	}
	h.t.Cleanup(stop)
	return svc, stop
}

// seq numbers the events the tests publish. The tests run in parallel: a plain
// counter raced, and two events of one organisation could get one version, the
// later then read as already applied (a withdrawal the feed did not show, a review
// mark read out of order).
var seq atomic.Int64

// publish sends a signatory event as the signatory service would.
func (h *harness) publish(org string, p events.Payload) {
	h.t.Helper()
	h.publishAt(org, p, time.Now())
}

// publishAt sends a signatory event the signatory service recorded at `at`: one taken
// in late, say.
func (h *harness) publishAt(org string, p events.Payload, at time.Time) {
	h.t.Helper()
	n := seq.Add(1)
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: fmt.Sprintf("%s-%d-%d", org, n, time.Now().UnixNano()), Source: "/tc/signatory", Type: p.EventType(),
		AggregateType: "organisation", AggregateID: org, Version: int(n), Time: at, Data: data}
	m := bus.Message(e)
	ack, err := h.env.JS.PublishMsg(context.Background(), m)
	if err != nil {
		h.t.Fatal(err)
	}
	h.last, h.lastSeq, h.lastSubject = e, ack.Sequence, m.Subject
}

// redeliver publishes the last event again under its own id, as JetStream would
// after a lost ack (with a fresh Nats-Msg-Id, so the stream keeps the copy), and waits
// until it has been taken in.
func (h *harness) redeliver() {
	h.t.Helper()
	m := bus.Message(h.last)
	m.Header.Set("Nats-Msg-Id", fmt.Sprintf("%s-again-%d", h.last.ID, time.Now().UnixNano()))
	if _, err := h.env.JS.PublishMsg(context.Background(), m); err != nil {
		h.t.Fatal(err)
	}
	h.waitFor(h.last.AggregateID)
}

var (
	lead   = events.Person{Name: "Sam Patel", Email: "lead@exampleton.ac.uk"}
	leader = events.Person{Name: "Prof. Jane Smith", Title: "Vice-Chancellor", Email: "vc@exampleton.ac.uk"}
)

// onboard publishes an organisation's journey through announcement and its first obligation.
func (h *harness) onboard(org string, opens, due civil.Date) {
	h.t.Helper()
	h.onboardAs(org, "Uni "+org, opens, due)
}

// onboardAs is onboard with the organisation's name: the one the review service's
// events give it too, as both have it from the signatory service.
func (h *harness) onboardAs(org, name string, opens, due civil.Date) {
	h.t.Helper()
	h.publish(org, events.OrganisationEnquiryReceivedV1{OrganisationID: org, Name: name, Kind: "signatory"})
	h.publish(org, events.OrganisationFormReceivedV1{OrganisationID: org, Leader: leader, NominatedLead: lead})
	h.publish(org, events.OrganisationAnnouncedV1{OrganisationID: org, Name: name, Kind: "signatory", NominatedLead: lead, Leader: leader})
	h.publish(org, events.ObligationScheduledV1{OrganisationID: org, ObligationID: org + "-c1", Kind: "self_assessment_and_action_plan", Cycle: 1, WindowOpens: opens, Due: due})
	h.waitFor(org)
}

// waitFor waits until every signatory event published so far has been taken in.
func (h *harness) waitFor(string) {
	h.t.Helper()
	testenv.ConsumedThrough(h.t, h.env.JS, events.StreamSignatory, "notify-organisations", h.lastSubject, h.lastSeq)
}

// waitErased waits until notify has recorded the erasure of each of emails.
func (h *harness) waitErased(emails ...string) {
	h.t.Helper()
	testenv.Eventually(h.t, 10*time.Second, func() error {
		for _, email := range emails {
			n, err := h.svcs[0].DB.Collection("erased_people").CountDocuments(context.Background(), bson.D{{Key: "_id", Value: personal.Subject(email)}})
			if err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("the erasure of %s is not recorded yet", email)
			}
		}
		return nil
	})
}

// runUntil moves the clock a day at a time to `until`, sweeping every instance at
// once each day, as replicas would.
func (h *harness) runUntil(until civil.Date) {
	h.t.Helper()
	for {
		var wg sync.WaitGroup
		for _, s := range h.svcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.App.Sweep(context.Background()); err != nil {
					h.t.Errorf("sweep: %v", err)
				}
			}()
		}
		wg.Wait()
		today := civil.Of(h.clock.Now())
		if !today.Before(until) {
			return
		}
		h.clock.Advance(24 * time.Hour)
	}
}

// summary lists an organisation's emails in the order they arrived, except that the
// emails of one step (one subject) are ordered by recipient: two instances sweeping at
// once may send the lead's and the head's copy in either order.
func summary(msgs []received, org string) []string {
	var out, subjects []string
	for _, m := range msgs {
		if strings.Contains(m.Subject, "Uni "+org) {
			out = append(out, fmt.Sprintf("%s -> %s (ics %v)", m.Subject, strings.Join(m.To, ","), m.ICS))
			subjects = append(subjects, m.Subject)
		}
	}
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && subjects[j] == subjects[i] {
			j++
		}
		sort.Strings(out[i:j])
		i = j
	}
	return out
}

func TestTheLadderArrivesExactlyOnceFromTwoInstancesAndStopsWhenMet(t *testing.T) {
	t.Parallel()
	h := start(t, 2, time.Date(2025, 3, 20, 8, 0, 0, 0, time.UTC))
	opens, due := civil.New(2026, 3, 20), civil.New(2026, 9, 20)
	h.onboard("a", opens, due) // never submits
	h.onboard("b", opens, due) // submits after the 30-day reminder
	h.onboard("w", opens, due) // withdraws after the window opens

	// Repeated events change nothing: the same obligation again, as a new event and as
	// a redelivery of one already handled.
	h.publish("a", events.ObligationScheduledV1{OrganisationID: "a", ObligationID: "a-c1", Kind: "self_assessment_and_action_plan", Cycle: 1, WindowOpens: opens, Due: due})
	h.waitFor("a")
	h.redeliver()

	h.runUntil(civil.New(2026, 3, 25))
	h.publish("w", events.OrganisationWithdrawnV1{OrganisationID: "w", Reason: "merged", InitiatedBy: "organisation"})
	// Its email to the lead sent before the clock moves on: a day's jump in the middle
	// of the send would make it look abandoned, and a sweep would retry it.
	h.waitFor("w")
	h.runUntil(civil.New(2026, 8, 25))
	h.publish("b", events.ObligationMetV1{OrganisationID: "b", ObligationID: "b-c1", SubmissionID: "s1", ReceivedOn: civil.New(2026, 8, 25)})
	h.waitFor("b")
	h.redeliver()                       // b's submission, again
	h.runUntil(civil.New(2026, 11, 30)) // eighteen months and more after the announcement

	msgs := h.box.all()
	ladder := []string{
		"Technician Commitment: Uni a's self-assessment and action plan window is open: due in 184 days (Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)",
		"Technician Commitment: Uni a's self-assessment and action plan is due in 90 days (Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)",
		"Technician Commitment: Uni a's self-assessment and action plan is due in 30 days (Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)",
		"Technician Commitment: Uni a's self-assessment and action plan is due in 7 days (Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)",
		"Technician Commitment: Uni a's self-assessment and action plan is due tomorrow (Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)",
		"Technician Commitment: Uni a's self-assessment and action plan is due today (Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)",
		"Technician Commitment: Uni a's self-assessment and action plan is 7 days overdue (due Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)",
		"Technician Commitment: Uni a's self-assessment and action plan is 7 days overdue (due Sunday 20 September 2026) -> vc@exampleton.ac.uk (ics false)",
		"Technician Commitment: Uni a's self-assessment and action plan is 30 days overdue (due Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)",
		"Technician Commitment: Uni a's self-assessment and action plan is 30 days overdue (due Sunday 20 September 2026) -> vc@exampleton.ac.uk (ics false)",
	}
	if got := summary(msgs, "a"); strings.Join(got, "\n") != strings.Join(ladder, "\n") {
		t.Errorf("organisation a received:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(ladder, "\n"))
	}
	// b's lead is told its submission was received, once though the event came twice.
	if got := summary(msgs, "b"); len(got) != 4 || got[3] != "Technician Commitment: Uni b's self-assessment and action plan is received -> lead@exampleton.ac.uk (ics false)" {
		t.Errorf("organisation b, which submitted after the 30-day reminder, received %d emails, want 3 and the receipt:\n%s", len(got), strings.Join(got, "\n"))
	}
	// w's lead is reminded once, then told (once, from two instances) that the
	// withdrawal is recorded and the obligation no longer due, with its due date's
	// cancellation; its head is told the withdrawal is recorded too, in one email,
	// without a calendar; nothing after.
	if got := summary(msgs, "w"); len(got) != 3 || got[1] != "Technician Commitment: withdrawal recorded — Uni w -> lead@exampleton.ac.uk (ics true)" ||
		got[2] != "Technician Commitment: withdrawal recorded — Uni w -> vc@exampleton.ac.uk (ics false)" {
		t.Errorf("organisation w, which withdrew after its window opened, received %d emails, want the first reminder and the withdrawal's confirmation to its lead and head:\n%s", len(got), strings.Join(got, "\n"))
	}
	for _, m := range msgs {
		if !m.HTML || !strings.Contains(m.Text, "Dear ") {
			t.Errorf("email %q lacks its plain text or HTML body", m.Subject)
		}
		if m.ICS && (!strings.Contains(m.ICSBody, "BEGIN:VEVENT\r\n") || !strings.Contains(m.ICSBody, "DTSTART;VALUE=DATE:20260920\r\n")) {
			t.Errorf("email %q: its .ics does not mark the due date in RFC 5545 lines:\n%q", m.Subject, m.ICSBody)
		}
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		if ids[m.ID+strings.Join(m.To, ",")] {
			t.Errorf("duplicate email %s to %v", m.ID, m.To)
		}
		ids[m.ID+strings.Join(m.To, ",")] = true
		if m.ID == "" {
			t.Error("an email without a Message-ID")
		}
	}

	// The delivery log shows them to ops, and nobody else.
	ops := h.http.Token(auth.RoleOps, "")
	log := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=a&status=sent&limit=200", ops, nil)).JSON(t)["items"].([]any)
	if len(log) != len(ladder) {
		t.Errorf("delivery log lists %d sent to a, want %d", len(log), len(ladder))
	}
	h.http.Must(http.StatusForbidden, h.http.Do("GET", "/v1/deliveries", h.http.Token(auth.RoleLead, "a"), nil))
	// The log pages with a cursor, and refuses what is not a page it can serve.
	seen := map[string]bool{}
	for cursor, pages := "", 0; ; pages++ {
		page := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=a&limit=3"+cursor, ops, nil)).JSON(t)
		for _, item := range page["items"].([]any) {
			seen[item.(map[string]any)["id"].(string)] = true
		}
		next, ok := page["next_cursor"].(string)
		if !ok || pages > 10 {
			break
		}
		cursor = "&cursor=" + next
	}
	if len(seen) != len(ladder) {
		t.Errorf("paging found %d deliveries, want %d", len(seen), len(ladder))
	}
	for _, bad := range []string{"limit=0", "limit=201", "status=lost", "cursor=notacursor", "organisation_id=a%0d%0a"} {
		if r := h.http.Do("GET", "/v1/deliveries?"+bad, ops, nil); r.Status != http.StatusBadRequest || !strings.Contains(r.Header.Get("Content-Type"), "problem+json") {
			t.Errorf("GET /v1/deliveries?%s: %d %s, want a 400 problem", bad, r.Status, r.Body)
		}
	}
	h.http.Must(http.StatusNotFound, h.http.Do("POST", "/v1/deliveries/"+strings.Repeat("0", 32)+"/resends", ops, nil))

	// A resend is a new, recorded attempt of the same email, with a Message-ID of its
	// own: mail systems drop or fold a copy whose Message-ID they hold already.
	id := log[0].(map[string]any)["id"].(string)
	before := len(h.box.all())
	resent := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil))
	after := resent.JSON(t)
	if after["attempts"] != float64(2) || after["status"] != "sent" {
		t.Errorf("after a resend: %v", after)
	}
	if all := h.box.all(); len(all) != before+1 || !strings.HasPrefix(all[len(all)-1].ID, "<"+id+".resent-2@") {
		t.Errorf("the resent email is not the logged one again, under a Message-ID of its own: %+v", all[len(all)-1])
	}
	// The deprecated path, a verb, resends alike (one attempt more) until its sunset,
	// and says so in its headers.
	older := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+id+"/resend", ops, nil))
	testenv.SameAnswerDeprecated(t, resent, older, "/v1/deliveries/"+id+"/resends", "attempts", "sent_at")
	if got := older.JSON(t)["attempts"]; got != float64(3) || len(h.box.all()) != before+2 {
		t.Errorf("after a resend at the deprecated path: %v attempts, %d emails, want 3 and %d", got, len(h.box.all()), before+2)
	}
	missing := "/v1/deliveries/" + strings.Repeat("0", 32)
	testenv.SameAnswerDeprecated(t, h.http.Must(http.StatusNotFound, h.http.Do("POST", missing+"/resends", ops, nil)),
		h.http.Must(http.StatusNotFound, h.http.Do("POST", missing+"/resend", ops, nil)), missing+"/resends")
	testenv.SameAnswerDeprecated(t, h.http.Must(http.StatusNotFound, h.http.Do("POST", "/v1/ops/dead-letters/999999/replays", ops, nil)),
		h.http.Must(http.StatusNotFound, h.http.Do("POST", "/v1/ops/dead-letters/999999/replay", ops, nil)), "/v1/ops/dead-letters/999999/replays")
}

func TestARestartedSchedulerSendsWhatFellDueOnceWithoutFlooding(t *testing.T) {
	t.Parallel()
	h := start(t, 0, time.Date(2026, 9, 11, 8, 0, 0, 0, time.UTC))
	_, stop := h.restartable()
	h.onboard("r", civil.New(2026, 3, 20), civil.New(2026, 9, 20)) // announced late: the window is already open
	want := []string{
		"Technician Commitment: Uni r's self-assessment and action plan is due in 9 days (Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)",
	}
	// The running scheduler sends one email, saying where things stand today (9 days
	// left), not the window-open, 90-day and 30-day steps it was too late for; then the
	// next one when its day comes.
	waitForMail(t, h.box, "r", want)
	h.clock.Set(time.Date(2026, 9, 13, 8, 0, 0, 0, time.UTC))
	want = append(want, "Technician Commitment: Uni r's self-assessment and action plan is due in 7 days (Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)")
	waitForMail(t, h.box, "r", want)

	// The service is down from the 18th to the 20th: the 1-day reminder falls due while
	// nothing runs. On restart, on the day itself, exactly one email goes out: today's.
	stop()
	h.clock.Set(time.Date(2026, 9, 20, 7, 0, 0, 0, time.UTC))
	restarted, _ := h.restartable()
	want = append(want, "Technician Commitment: Uni r's self-assessment and action plan is due today (Sunday 20 September 2026) -> lead@exampleton.ac.uk (ics true)")
	waitForMail(t, h.box, "r", want)
	for range 3 {
		if _, err := restarted.App.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := summary(h.box.all(), "r"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after the restart:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// waitForMail waits until org's emails are exactly want.
func waitForMail(t *testing.T, box *mailbox, org string, want []string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := summary(box.all(), org); strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("emails so far:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		return nil
	})
}

func TestCalendarFeedShowsCurrentObligations(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("c", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	lead := h.http.Token(auth.RoleLead, "c")
	url := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/organisations/c/calendar", lead, nil)).JSON(t)["url"].(string)
	// Another organisation's feed is 404, as a feed that does not exist (docs/API.md).
	h.http.Must(http.StatusNotFound, h.http.Do("GET", "/v1/organisations/c/calendar", h.http.Token(auth.RoleLead, "other"), nil))
	if !strings.HasPrefix(url, "https://notify.example.org/v1/calendars/") || !strings.HasSuffix(url, ".ics") {
		t.Fatalf("feed address %q: want NOTIFY_PUBLIC_URL/v1/calendars/<token>.ics", url)
	}
	url = strings.TrimPrefix(url, "https://notify.example.org")
	feed := h.http.Must(http.StatusOK, h.http.Do("GET", url, "", nil))
	if token := strings.TrimSuffix(strings.TrimPrefix(url, "/v1/calendars/"), ".ics"); len(token) < 32 {
		t.Errorf("token %q is short enough to guess", token)
	}
	h.http.Must(http.StatusOK, h.http.Do("GET", strings.TrimSuffix(url, ".ics"), "", nil))
	h.http.Must(http.StatusBadRequest, h.http.Do("GET", "/v1/calendars/short.ics", "", nil))
	if !strings.Contains(string(feed.Body), "DTSTART;VALUE=DATE:20260920") || !strings.Contains(feed.Header.Get("Content-Type"), "text/calendar") {
		t.Errorf("feed lacks the due date: %s", feed.Body)
	}
	// RFC 5545's text/calendar: the method parameter and the METHOD property are both
	// present, with one value, or neither is; the feed says METHOD:PUBLISH, as the
	// emails' attachments do.
	if ct, params, err := mime.ParseMediaType(feed.Header.Get("Content-Type")); err != nil || ct != "text/calendar" || params["method"] != "PUBLISH" || !strings.Contains(string(feed.Body), "\r\nMETHOD:PUBLISH\r\n") {
		t.Errorf("feed's Content-Type %q does not carry the METHOD its body gives (%v)", feed.Header.Get("Content-Type"), err)
	}
	h.http.Must(http.StatusNotFound, h.http.Do("GET", "/v1/calendars/"+strings.Repeat("A", 32)+".ics", "", nil))
	preview := func() []any {
		t.Helper()
		return h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/reminders/preview", h.http.Token(auth.RoleOps, ""), nil)).JSON(t)["items"].([]any)
	}
	if p := preview(); len(p) != 1 || p[0].(map[string]any)["step"] != "window-open" || p[0].(map[string]any)["on"] != "2026-03-20" {
		t.Errorf("preview before the window opens: %v", p)
	}
	h.http.Must(http.StatusForbidden, h.http.Do("GET", "/v1/reminders/preview", lead, nil))
	h.publish("c", events.ObligationMetV1{OrganisationID: "c", ObligationID: "c-c1", SubmissionID: "s", ReceivedOn: civil.New(2026, 5, 1)})
	h.publish("c", events.ObligationScheduledV1{OrganisationID: "c", ObligationID: "c-c2", Kind: "self_assessment_and_action_plan", Cycle: 2, WindowOpens: civil.New(2028, 11, 1), Due: civil.New(2029, 5, 1)})
	h.waitFor("c")
	feed = h.http.Must(http.StatusOK, h.http.Do("GET", url, "", nil))
	if strings.Contains(string(feed.Body), "20260920") || !strings.Contains(string(feed.Body), "DTSTART;VALUE=DATE:20290501") {
		t.Errorf("feed does not follow the new obligation: %s", feed.Body)
	}
	if p := preview(); len(p) != 1 || p[0].(map[string]any)["obligation_id"] != "c-c2" || p[0].(map[string]any)["on"] != "2028-11-01" {
		t.Errorf("preview after the submission: %v", p)
	}
	h.publish("c", events.OrganisationWithdrawnV1{OrganisationID: "c", Reason: "left", InitiatedBy: "organisation"})
	h.waitFor("c")
	feed = h.http.Must(http.StatusOK, h.http.Do("GET", url, "", nil))
	if strings.Contains(string(feed.Body), "BEGIN:VEVENT") || !strings.HasSuffix(string(feed.Body), "END:VCALENDAR\r\n") {
		t.Errorf("a withdrawn organisation's feed still shows deadlines: %s", feed.Body)
	}
	if p := preview(); len(p) != 0 {
		t.Errorf("preview after the withdrawal: %v", p)
	}
}

func TestAuthorisationMatrix(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("own", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	h.onboard("other", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	testenv.AuthzMatrix(t, testenv.AuthzTarget{
		Spec: api.Spec,
		PathParams: func(name string, own bool) string {
			switch name {
			case "sequence":
				return "1"
			case "token":
				return strings.Repeat("x", 32)
			case "id":
				if own {
					return "own"
				}
				return "other"
			}
			return ""
		},
		Owned: nil,
		Do: func(r testenv.Request) int {
			tok := ""
			if r.Caller.Role != "" {
				tok = h.http.Token(r.Caller.Role, "own")
			}
			path := r.Path
			if strings.HasPrefix(path, "/v1/deliveries/") {
				path = "/v1/deliveries/" + strings.Repeat("0", 32) + "/resends"
			}
			return h.http.Do(r.Method, path, tok, nil).Status
		},
	})
}

func TestFundEventsSendReceiptsOnceAndRefuseHeaderInjection(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("o1", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	send := func(id string, p events.Payload) {
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: id, Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "app1", Version: 1, Time: time.Now(), Data: data}
		m := bus.Message(e)
		m.Header.Set("Nats-Msg-Id", fmt.Sprintf("%s-%d", id, time.Now().UnixNano())) // a redelivery JetStream keeps
		if _, err := h.env.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	submitted := events.ApplicationSubmittedV1{ApplicationID: "app1", OrganisationID: "o1", Title: "Skills exchange", RequestedAmountPence: 85000,
		Applicant: events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}, Endorsement: events.Person{Name: "Sam Patel", Email: "lead@exampleton.ac.uk"}}
	send("evt-1", submitted)
	send("evt-1", submitted)
	evil := events.ApplicationDeclinedV1{ApplicationID: "app1", OrganisationID: "o1", Title: "x", Feedback: "no",
		Applicant: events.Person{Name: "Eve\r\nBcc: everyone@example.org", Email: "eve@exampleton.ac.uk"}}
	send("evt-2", evil)

	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(h.box.all()); n != 3 {
			return fmt.Errorf("%d emails, want 2 receipts and the lead's copy of the decision", n)
		}
		ops := h.http.Token(auth.RoleOps, "")
		gaveUp := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?status=given_up", ops, nil)).JSON(t)["items"].([]any)
		if len(gaveUp) != 1 || !strings.Contains(gaveUp[0].(map[string]any)["last_error"].(string), "line break") {
			return fmt.Errorf("the injected header is not recorded as refused: %v", gaveUp)
		}
		return nil
	})
	for _, m := range h.box.all() {
		if strings.Contains(m.Subject, "decision on") {
			if strings.Join(m.To, ",") != "lead@exampleton.ac.uk" {
				t.Errorf("the decision went to %v, want only the lead (the applicant's header was refused)", m.To)
			}
			continue
		}
		// A service message about the recipient's own application: no List-Unsubscribe,
		// which nothing in the suite would act on (docs/PRIVACY.md).
		if !strings.Contains(m.Subject, "application received") || m.Unsub || !strings.Contains(m.Text, "£850") {
			t.Errorf("receipt %+v: want the subject and the amount, and no List-Unsubscribe", m)
		}
		if strings.Contains(strings.Join(m.To, ","), "everyone@") {
			t.Error("an injected Bcc reached the relay")
		}
	}
}

func TestFundDecisionsAndReportRemindersReachApplicantAndLead(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("o1", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	// A title with quotation marks in it reads in the email as it was written (the
	// emails once quoted it as Go source: "The \"Tech Fair\" exchange").
	const title = `The "Tech Fair" exchange`
	for i, p := range []events.Payload{
		events.ApplicationAwardedV1{ApplicationID: "app1", RoundID: "r", OrganisationID: "o1", Title: title, AmountPence: 125050,
			Applicant: applicant, Endorsement: lead, ReportDue: civil.New(2027, 12, 31)},
		events.ReportDueV1{ApplicationID: "app1", OrganisationID: "o1", Title: title, Due: civil.New(2027, 12, 31), Applicant: applicant, Endorsement: lead},
	} {
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: fmt.Sprintf("fund-%d", i), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "app1", Version: i + 1, Time: time.Now(), Data: data}
		if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")
	var got []string
	for _, m := range h.box.all() {
		got = append(got, strings.Join(m.To, ",")+": "+m.Subject)
		// The sum reads as the portal's page for the application writes it.
		if strings.Contains(m.Subject, "funded") && !strings.Contains(m.Text, "is awarded £1,250.50.") {
			t.Errorf("the award email does not give the sum as £1,250.50:\n%s", m.Text)
		}
		if !strings.Contains(m.Text, "“"+title+"”") || strings.Contains(m.Text, `\"`) {
			t.Errorf("the email %q does not name the project as written (“%s”):\n%s", m.Subject, title, m.Text)
		}
		// The title, which an applicant may write in any script, stands in its HTML
		// as the names do (TestNamesInEmailsAreIsolatedInTheirHTML).
		if !strings.Contains(m.HTMLBody, "“<bdi>"+html.EscapeString(title)+"</bdi>”") {
			t.Errorf("the HTML of %q does not isolate the project's title:\n%s", m.Subject, m.HTMLBody)
		}
	}
	sort.Strings(got)
	want := []string{
		"ann@exampleton.ac.uk: Technician Collaboration Fund: your application is funded — " + title,
		"ann@exampleton.ac.uk: Technician Collaboration Fund: your project report is due by Friday 31 December 2027",
		"lead@exampleton.ac.uk: Technician Collaboration Fund: your application is funded — " + title,
		"lead@exampleton.ac.uk: Technician Collaboration Fund: your project report is due by Friday 31 December 2027",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fund emails (-want +got):\n%s", diff)
	}
}

// The fund may accept an application before notify has taken in the organisation's
// contacts (its consumer of the signatory's events lags behind after a restart). The
// lead's receipt then waits for them instead of being skipped, and nobody gets two.
func TestAFundReceiptWaitsForALeadNotifyDoesNotKnowYet(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	submitted := events.ApplicationSubmittedV1{ApplicationID: "app9", OrganisationID: "late", Title: "Skills exchange", RequestedAmountPence: 85000,
		Applicant: events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}}
	data, _ := json.Marshal(submitted)
	e := events.Envelope{ID: "fund-late-1", Source: "/tc/fund", Type: submitted.EventType(), AggregateType: "application", AggregateID: "app9", Version: 1, Time: time.Now(), Data: data}
	if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
		t.Fatal(err)
	}
	receipts := func() []string {
		var got []string
		for _, m := range h.box.all() {
			got = append(got, strings.Join(m.To, ",")+": "+m.Subject)
		}
		sort.Strings(got)
		return got
	}
	// The applicant's copy goes at once: the event has been handled while notify knew
	// nothing of the organisation.
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := receipts(); len(got) == 0 {
			return fmt.Errorf("no receipt yet")
		}
		return nil
	})
	h.onboard("late", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	want := []string{
		"ann@exampleton.ac.uk: Technician Collaboration Fund: application received — Skills exchange",
		"lead@exampleton.ac.uk: Technician Collaboration Fund: application received — Skills exchange",
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if diff := cmp.Diff(want, receipts()); diff != "" {
			return fmt.Errorf("receipts (-want +got):\n%s", diff)
		}
		return nil
	})
	h.waitForConsumer(events.StreamFund, "notify-fund")
	if diff := cmp.Diff(want, receipts()); diff != "" {
		t.Errorf("receipts once the event is settled (-want +got):\n%s", diff)
	}
}

func TestReviewersAreToldRemindedOnlyWhileTheirReviewIsOutstandingAndChased(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("v", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)
	rita := events.ReviewerAssignedV1{RoundID: "r1", SubmissionID: "s1", OrganisationID: "v", ReviewerID: "rita", ReviewerName: "Rita Reviewer", ReviewerEmail: "rita@othertown.ac.uk", ReviewDeadline: deadline}
	rob, ray, dee := rita, rita, rita
	rob.ReviewerID, rob.ReviewerName, rob.ReviewerEmail = "rob", "Rob Reviewer", "rob@othertown.ac.uk"
	ray.ReviewerID, ray.ReviewerName, ray.ReviewerEmail = "ray", "Ray Reviewer", "ray@othertown.ac.uk"
	dee.ReviewerID, dee.ReviewerName, dee.ReviewerEmail = "dee", "Dee Reviewer", "dee@othertown.ac.uk"
	for i, p := range []events.Payload{
		rita, rob, ray, dee,
		// Rob takes his on: a reviewer who never accepted is not chased to submit.
		events.AssignmentAcceptedV1{RoundID: "r1", SubmissionID: "s1", OrganisationID: "v", ReviewerID: "rob", ReviewerName: rob.ReviewerName, ReviewerEmail: rob.ReviewerEmail, ReviewDeadline: deadline},
		events.ReviewSubmittedV1{RoundID: "r1", SubmissionID: "s1", ReviewerID: "rita", Summary: "Clear plan."},
		events.AssignmentRemovedV1{RoundID: "r1", SubmissionID: "s1", OrganisationID: "v", ReviewerID: "ray", Reason: "conflict", ReviewerName: ray.ReviewerName, ReviewerEmail: ray.ReviewerEmail},
		events.AssignmentDeclinedV1{RoundID: "r1", SubmissionID: "s1", ReviewerID: "dee", Reason: "leave"},
	} {
		data, _ := json.Marshal(p)
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("rev-evt-%d", i), Type: p.EventType(), AggregateType: "review_round", AggregateID: "r1", Version: i + 1, Time: time.Now(), Data: data})
	}
	h.waitForConsumer(events.StreamReview, "notify-review")
	// Seven days before the deadline, only Rob's review is still outstanding.
	h.runUntil(civil.New(2027, 5, 30))
	overdue := events.ReviewOverdueV1{RoundID: "r1", SubmissionID: "s1", OrganisationID: "v", ReviewerID: "rob", ReviewerName: rob.ReviewerName, ReviewerEmail: rob.ReviewerEmail, ReviewDeadline: deadline}
	feedback := events.FeedbackReleasedV1{RoundID: "r1", SubmissionID: "s1", OrganisationID: "v", Feedback: "Good."}
	for i, p := range []events.Payload{overdue, feedback} {
		data, _ := json.Marshal(p)
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("rev-late-%d", i), Type: p.EventType(), AggregateType: "review_round", AggregateID: "r1", Version: 10 + i, Time: time.Now(), Data: data})
	}
	h.waitForConsumer(events.StreamReview, "notify-review")
	h.runUntil(civil.New(2027, 6, 30))

	var got []string
	for _, m := range h.box.all() {
		if strings.Contains(m.Subject, "review") {
			got = append(got, fmt.Sprintf("%s: %s (ics %v)", strings.Join(m.To, ","), m.Subject, m.ICS))
		}
	}
	sort.Strings(got)
	want := []string{
		"dee@othertown.ac.uk: Technician Commitment peer review (round r1): Uni v's submission is assigned to you, due Monday 31 May 2027, 17:00 BST (ics true)",
		// Its calendar update cancels the deadline the assignment's put in her calendar.
		"dee@othertown.ac.uk: Technician Commitment peer review (round r1): you declined to review Uni v's submission (ics true)",
		"lead@exampleton.ac.uk: Technician Commitment: the peer-review feedback on Uni v's submission is ready (ics false)",
		"ray@othertown.ac.uk: Technician Commitment peer review (round r1): Uni v's submission is assigned to you, due Monday 31 May 2027, 17:00 BST (ics true)",
		"ray@othertown.ac.uk: Technician Commitment peer review (round r1): Uni v's submission is no longer assigned to you (ics true)",
		"rita@othertown.ac.uk: Technician Commitment peer review (round r1): Uni v's submission is assigned to you, due Monday 31 May 2027, 17:00 BST (ics true)",
		"rob@othertown.ac.uk: Technician Commitment peer review (round r1): Uni v's submission is assigned to you, due Monday 31 May 2027, 17:00 BST (ics true)",
		"rob@othertown.ac.uk: Technician Commitment peer review (round r1): your review of Uni v's submission is due in 7 days (Monday 31 May 2027, 17:00 BST) (ics true)",
		"rob@othertown.ac.uk: Technician Commitment peer review (round r1): your review of Uni v's submission is overdue (ics true)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("review emails (-want +got):\n%s", diff)
	}
	// Every review event was handled twice and said nothing twice, with no record of
	// which were handled: each effect (a mark, a closed assignment, an email) is keyed
	// by the event, so the consumer spends no read and write per event on such records.
	if n := h.processed("notify-review:"); n != 0 {
		t.Errorf("%d review events are recorded as processed, want none", n)
	}
}

// publishTwice publishes e, and again under another Nats-Msg-Id as JetStream
// redelivers an event whose ack was lost.
func (h *harness) publishTwice(e events.Envelope) {
	h.t.Helper()
	for i := range 2 {
		m := bus.Message(e)
		m.Header.Set("Nats-Msg-Id", fmt.Sprintf("%s-%d", e.ID, i))
		if _, err := h.env.JS.PublishMsg(context.Background(), m); err != nil {
			h.t.Fatal(err)
		}
	}
}

// processed counts the records of processed messages whose key starts with prefix
// (a consumer's durable name and a colon).
func (h *harness) processed(prefix string) int64 {
	h.t.Helper()
	n, err := h.svcs[0].DB.Collection("processed_messages").CountDocuments(context.Background(),
		bson.D{{Key: "_id", Value: bson.D{{Key: "$regex", Value: "^" + regexp.QuoteMeta(prefix)}}}})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// waitForConsumer waits until a durable consumer has taken in everything published.
func (h *harness) waitForConsumer(stream, durable string) {
	h.t.Helper()
	testenv.Consumed(h.t, h.env.JS, stream, durable)
}
