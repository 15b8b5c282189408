package adapters

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/apperr"

	nmail "github.com/itss/techcommit/services/notify/internal/mail"
)

// relay is a real SMTP server in process, reached through a proxy that counts the
// connections made to it and can cut them all, as a relay or a network does.
type relay struct {
	mu sync.Mutex
	// perSession, when set, is how many emails the relay takes on one connection: it
	// refuses the next MAIL, as relays that limit messages per connection do.
	perSession int
	ids        map[string]int         // Message-Id -> times received
	headers    map[string]mail.Header // Message-Id -> the header last received
	sessions   int
	conns      []net.Conn // the proxy's client sides, to cut
	addr       string
	// stalled, when set, has the proxy take connections and never answer on them,
	// as a relay whose process has stopped does (the kernel still accepts).
	stalled bool
}

func (r *relay) NewSession(*smtp.Conn) (smtp.Session, error) {
	r.mu.Lock()
	r.sessions++
	r.mu.Unlock()
	return &relaySession{r: r}, nil
}

type relaySession struct {
	r    *relay
	sent int
}

func (s *relaySession) Mail(string, *smtp.MailOptions) error {
	s.r.mu.Lock()
	limit := s.r.perSession
	s.r.mu.Unlock()
	if limit > 0 && s.sent >= limit {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "too many messages on this connection"}
	}
	return nil
}
func (s *relaySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *relaySession) Reset()                               {}
func (s *relaySession) Logout() error                        { return nil }
func (s *relaySession) Data(rd io.Reader) error {
	msg, err := mail.ReadMessage(rd)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.ids[msg.Header.Get("Message-Id")]++
	s.r.headers[msg.Header.Get("Message-Id")] = msg.Header
	s.r.mu.Unlock()
	s.sent++
	return nil
}

func (r *relay) counts() (sessions, connections int, ids map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.ids {
		out[k] = v
	}
	return r.sessions, len(r.conns), out
}

// arrivedOnce checks that the relay received n distinct emails, each once.
func (r *relay) arrivedOnce(t *testing.T, n int) {
	t.Helper()
	_, _, ids := r.counts()
	if len(ids) != n {
		t.Errorf("the relay received %d distinct emails, want %d", len(ids), n)
	}
	for id, times := range ids {
		if times != 1 {
			t.Errorf("%s arrived %d times", id, times)
		}
	}
}

// cut closes every connection made so far, from the relay's side.
func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		_ = c.Close()
	}
}

func startRelay(t *testing.T) *relay {
	t.Helper()
	r := &relay{ids: map[string]int{}, headers: map[string]mail.Header{}}
	srv := smtp.NewServer(r)
	srv.Domain = "localhost"
	back, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(back) }()
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = front.Addr().String()
	go func() {
		for {
			c, err := front.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			stalled := r.stalled
			if stalled {
				r.conns = append(r.conns, c)
			}
			r.mu.Unlock()
			if stalled {
				continue
			}
			s, err := net.Dial("tcp", back.Addr().String())
			if err != nil {
				_ = c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() { _ = front.Close(); _ = srv.Close() })
	return r
}

func relaySender(t *testing.T, r *relay) *SMTP {
	t.Helper()
	return relaySenderFrom(t, r, "")
}

// relaySenderFrom is relaySender with a name in From.
func relaySenderFrom(t *testing.T, r *relay, name string) *SMTP {
	t.Helper()
	host, port, _ := net.SplitHostPort(r.addr)
	p, _ := strconv.Atoi(port)
	s, err := NewSMTP(SMTPConfig{Host: host, Port: p, TLSPolicy: "none", From: "noreply@example.org", FromName: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func message(id string) nmail.Message {
	return nmail.Message{MessageID: id + "@tc.example.org", Subject: "Due", Text: "It is due.", HTML: "<p>It is due.</p>",
		To: []nmail.Person{{Name: "Lead", Email: "lead@example.ac.uk"}}}
}

// sendEach sends n emails one after another, their ids prefix0 onwards.
func sendEach(t *testing.T, s *SMTP, prefix string, n int) {
	t.Helper()
	for i := range n {
		if err := s.Send(context.Background(), message(fmt.Sprint(prefix, i))); err != nil {
			t.Fatalf("email %s%d: %v", prefix, i, err)
		}
	}
}

// Emails one after another go over one connection to the relay, each arriving once.
// When the relay has dropped the kept connection, the next email finds out before
// sending anything and goes over a new one. A relay that takes only two emails on a
// connection refuses the third's MAIL: nothing of it was delivered, so it goes on a
// new connection at once, not back to the log as failed.
func TestEmailsShareAConnectionToTheRelay(t *testing.T) {
	t.Parallel()
	r := startRelay(t)
	s := relaySender(t, r)
	connections := func(want int, after string) {
		t.Helper()
		if _, conns, _ := r.counts(); conns != want {
			t.Errorf("%s: %d connections in all, want %d", after, conns, want)
		}
	}
	sendEach(t, s, "a", 5)
	connections(1, "5 emails one after another")
	r.cut()
	sendEach(t, s, "b", 2)
	connections(2, "2 more after the relay dropped the connection")
	r.mu.Lock()
	r.perSession = 2 // the connection in use has carried 2 already
	r.mu.Unlock()
	sendEach(t, s, "c", 3)
	connections(4, "3 more once the relay took only 2 a connection")
	r.arrivedOnce(t, 10)
}

// Emails sent at once each take a connection of their own or a kept one, never one
// in use; every one arrives once, and no more connections are kept than smtpIdleMax.
func TestEmailsSentAtOnceEachArriveOnce(t *testing.T) {
	t.Parallel()
	r := startRelay(t)
	s := relaySender(t, r)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 8 {
				if err := s.Send(ctx, message(fmt.Sprintf("w%d-%d", w, i))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r.arrivedOnce(t, 64)
	_, conns, _ := r.counts()
	s.mu.Lock()
	kept := len(s.idle)
	s.mu.Unlock()
	if kept > smtpIdleMax || conns > 64 {
		t.Errorf("%d connections kept (at most %d), %d made", kept, smtpIdleMax, conns)
	}
	t.Logf("64 emails from 8 senders at once: %d connections", conns)
}

// A relay that takes the connection and never answers (its process stopped, or a
// load balancer in front of it that accepts for a relay that is gone) fails the
// email within the SMTP timeout, so that it is tried again and counted as failed, and
// the operators' alert on failing sends can fire: it used to wait for the greeting
// for as long as the relay stayed silent, the delivery "sending" all that time with
// no error anywhere. Once the relay answers again, the email goes, once.
func TestAnEmailToARelayThatDoesNotAnswerFailsInsteadOfWaiting(t *testing.T) {
	t.Parallel()
	r := startRelay(t)
	s := relaySender(t, r)
	r.mu.Lock()
	r.stalled = true
	r.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.Send(context.Background(), message("stalled")) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("an email to a relay that never answered counts as sent")
		}
	case <-time.After(4 * smtpTimeout):
		r.cut() // lets the send end, so that the test does
		t.Fatalf("an email to a relay that does not answer was still waiting after %s", 4*smtpTimeout)
	}
	r.mu.Lock()
	r.stalled = false
	r.mu.Unlock()
	sendEach(t, s, "stalled", 1)
	r.arrivedOnce(t, 1)
}

// header is the header of the email with the Message-Id the relay received.
func (r *relay) header(id string) mail.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.headers["<"+id+">"]
}

// A name reaches the relay exactly as written, whatever it holds: quotes, commas, a
// backslash, letters beyond ASCII (a lead's name `Alex "AJ, Technical Lead" Jones`
// once made no address at all, so the lead could never sign in). The same goes for
// the sender's name in From. A name holding a line break, which would start a header
// of its own, is still refused before anything is sent.
func TestRecipientNamesWithQuotesAndBackslashesAreDelivered(t *testing.T) {
	t.Parallel()
	r := startRelay(t)
	s := relaySender(t, r)
	names := []string{
		`Alex "AJ, Technical Lead" Jones`,
		`Sam "Sammy" Patel`,
		`O"Brien`,
		`Jones, Alex`,
		`Alex Jones\`,
		`\"\`,
		`Émilie Łukasz`,
		`Émilie "Émi" Łukasz, Ph.D. (Leeds)`,
		`=?utf-8?q?Mallory?=`,
		`Eve <eve@example.net>, Bcc: eve@example.net`,
		`A name long enough that the header is folded onto more lines than one: "Alex \"AJ, Technical Lead\" Jones"`,
	}
	for i, name := range names {
		m := message(fmt.Sprint("name", i))
		m.To = []nmail.Person{{Name: name, Email: "lead@example.ac.uk"}, {Name: "Second " + name, Email: "second@example.ac.uk"}}
		if err := s.Send(context.Background(), m); err != nil {
			t.Errorf("to %q: %v", name, err)
			continue
		}
		h := r.header(m.MessageID)
		to, err := h.AddressList("To")
		if err != nil {
			t.Errorf("to %q: the relay received To: %s, which is no address list: %v", name, h.Get("To"), err)
			continue
		}
		want := []*mail.Address{{Name: name, Address: "lead@example.ac.uk"}, {Name: "Second " + name, Address: "second@example.ac.uk"}}
		if diff := cmp.Diff(want, to); diff != "" {
			t.Errorf("To: %s arrived other than written (-want +got):\n%s", h.Get("To"), diff)
		}
	}

	from := `Technician "TC" Commitment, Émilie's team \`
	if err := relaySenderFrom(t, r, from).Send(context.Background(), message("from")); err != nil {
		t.Errorf("from %q: %v", from, err)
	} else {
		h := r.header(message("from").MessageID)
		got, err := h.AddressList("From")
		want := []*mail.Address{{Name: from, Address: "noreply@example.org"}}
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("From: %s arrived other than written (%v) (-want +got):\n%s", h.Get("From"), err, diff)
		}
	}
	r.arrivedOnce(t, len(names)+1)

	for _, name := range []string{"Eve\r\nBcc: eve@example.net", "Eve\nBcc: eve@example.net", "Eve\rBcc: eve@example.net"} {
		m := message("injected")
		m.To = []nmail.Person{{Name: name, Email: "lead@example.ac.uk"}}
		if err := s.Send(context.Background(), m); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("to %q: %v, want refused as invalid", name, err)
		}
	}
	r.arrivedOnce(t, len(names)+1)
}

// Text of printable ASCII that a mail reader would take for an encoded-word reaches
// the reader as written, in the subject and in a recipient's name: Mailpit and
// Python's email decode such text even in a quoted name, so an organisation named
// "=?utf-8?q?=E2=80=AE?= Evil College" put a right-to-left override, which the
// services refuse in any name typed, into the subject and turned the rest of it back
// to front.
func TestTextThatLooksEncodedArrivesAsWritten(t *testing.T) {
	t.Parallel()
	r := startRelay(t)
	s := relaySender(t, r)
	const org = "=?utf-8?q?=E2=80=AE?= Evil College"
	name := "=?utf-8?b?4oCu?= Mallory, whose name is long enough to take more than one encoded-word"
	m := message("looks-encoded")
	m.Subject = "Technician Commitment: " + org + "'s self-assessment and action plan window is open"
	m.To = []nmail.Person{{Name: name, Email: "lead@example.ac.uk"}, {Name: "Émilie Łukasz", Email: "second@example.ac.uk"}}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	h := r.header(m.MessageID)
	dec := new(mime.WordDecoder)
	if got, err := dec.DecodeHeader(h.Get("Subject")); err != nil || got != m.Subject {
		t.Errorf("Subject: %s reads %q (%v), want %q", h.Get("Subject"), got, err, m.Subject)
	}
	to, err := h.AddressList("To")
	want := []*mail.Address{{Name: name, Address: "lead@example.ac.uk"}, {Name: "Émilie Łukasz", Address: "second@example.ac.uk"}}
	if diff := cmp.Diff(want, to); err != nil || diff != "" {
		t.Errorf("To: %s arrived other than written (%v) (-want +got):\n%s", h.Get("To"), err, diff)
	}
	// A reader that decodes every encoded-word in the header, quoted or not.
	if got, _ := dec.DecodeHeader(h.Get("To")); !strings.Contains(got, name) || strings.Contains(got, "\u202e") {
		t.Errorf("To: %s reads %q to a reader that decodes every encoded-word, want it to name %q", h.Get("To"), got, name)
	}
	r.arrivedOnce(t, 1)
}
