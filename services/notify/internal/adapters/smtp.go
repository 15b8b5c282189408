package adapters

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/ical"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// SMTPConfig is how to reach the mail relay.
type SMTPConfig struct {
	Host      string
	Port      int
	Username  string
	Password  string
	TLSPolicy string // mandatory, opportunistic or none
	From      string
	FromName  string
	// ReplyTo is where a reply goes: the address every email gives for writing to
	// ITSS (NOTIFY_CONTACT_EMAIL), which From need not be (SMTP_FROM may be a mailbox
	// nobody reads). Empty: replies go to From.
	ReplyTo string
}

// SMTP sends mail through a relay with go-mail. It keeps a few connections open
// between emails, as a mail server relaying to another does: an email then costs its
// own commands (MAIL, RCPT, DATA), not a connection, greeting, EHLO (and STARTTLS and
// AUTH) and QUIT of its own.
type SMTP struct {
	cfg    SMTPConfig
	client *gomail.Client // how to dial; each connection is a *smtp.Client of its own

	mu     sync.Mutex
	idle   []*relayConn // most recently used last
	closed bool
}

// relayConn is an open connection to the relay.
type relayConn struct {
	c     *smtp.Client
	since time.Time // when it was last used
	sent  int
}

const (
	// smtpTimeout bounds each exchange with the relay.
	smtpTimeout = 15 * time.Second
	// smtpIdleFor is how long a connection may wait unused and still be used: less
	// than smtpTimeout, whose deadline an idle connection would otherwise pass, and
	// well within any relay's idle timeout (RFC 5321 asks at least 5 minutes).
	smtpIdleFor = 10 * time.Second
	// smtpIdleMax bounds the connections kept open between emails.
	smtpIdleMax = 4
	// smtpPerConnection is how many emails one connection carries before it says
	// goodbye: relays limit messages per connection (often to 100).
	smtpPerConnection = 50
)

var _ app.Sender = (*SMTP)(nil)

// NewSMTP checks the configuration.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" || cfg.Port == 0 || cfg.From == "" {
		return nil, errors.New("smtp: host, port and from address are required")
	}
	policy := gomail.TLSMandatory
	switch cfg.TLSPolicy {
	case "opportunistic":
		policy = gomail.TLSOpportunistic
	case "none":
		policy = gomail.NoTLS
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTLSPolicy(policy), gomail.WithTimeout(smtpTimeout),
		gomail.WithDialContextFunc(dialRelay)}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return &SMTP{cfg: cfg, client: client}, nil
}

// dialRelay connects to the relay with a deadline on the connection itself, so that
// the greeting, EHLO, STARTTLS and AUTH that follow are bounded by smtpTimeout as
// every later exchange is (go-mail moves the deadline on before each email). go-mail
// bounds only the dial: a relay that took the connection and then said nothing (its
// process stopped, or a load balancer in front of a relay that is gone) held the
// email "sending", with no error logged or counted, for as long as it stayed silent.
func dialRelay(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(time.Now().Add(smtpTimeout)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("set the relay connection's deadline: %w", err)
	}
	return conn, nil
}

// Close says goodbye on the connections kept open; later emails open their own.
func (s *SMTP) Close() {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	for _, rc := range idle {
		_ = s.client.CloseWithSMTPClient(rc.c)
	}
}

// take returns a kept connection still fit to use, the most recently used, or nil;
// it lets go of those that waited too long (the oldest, first in the list).
func (s *SMTP) take() *relayConn {
	s.mu.Lock()
	fresh := 0
	for fresh < len(s.idle) && time.Since(s.idle[fresh].since) >= smtpIdleFor {
		fresh++
	}
	stale := slices.Clone(s.idle[:fresh])
	s.idle = s.idle[fresh:]
	var rc *relayConn
	if n := len(s.idle); n > 0 {
		rc, s.idle = s.idle[n-1], s.idle[:n-1]
	}
	s.mu.Unlock()
	for _, c := range stale {
		s.drop(c)
	}
	return rc
}

// keep puts a connection that carried an email back for the next, or lets it go
// when enough are kept or it has carried its share.
func (s *SMTP) keep(rc *relayConn) {
	rc.sent++
	s.mu.Lock()
	if !s.closed && len(s.idle) < smtpIdleMax && rc.sent < smtpPerConnection {
		rc.since = time.Now() // under the lock: the list stays in the order of use
		s.idle = append(s.idle, rc)
		rc = nil
	}
	s.mu.Unlock()
	if rc != nil {
		s.drop(rc)
	}
}

// drop says goodbye (QUIT) on a connection no longer kept, without waiting for it.
func (s *SMTP) drop(rc *relayConn) {
	go func() { _ = s.client.CloseWithSMTPClient(rc.c) }()
}

// Send delivers one message. Errors the relay will never accept (a bad address) are
// marked permanent; others are worth retrying.
func (s *SMTP) Send(ctx context.Context, m mail.Message) error {
	if err := mail.CheckHeaders(m); err != nil {
		return app.Permanent(err)
	}
	msg := gomail.NewMsg()
	from, err := address(s.cfg.FromName, s.cfg.From)
	if err != nil {
		return app.Permanent(fmt.Errorf("from address: %w", err))
	}
	msg.FromMailAddress(from)
	if s.cfg.ReplyTo != "" {
		if err := msg.ReplyTo(s.cfg.ReplyTo); err != nil {
			return app.Permanent(fmt.Errorf("reply-to address: %w", err))
		}
	}
	// go-mail writes a name of printable ASCII as a quoted-string, in which mail
	// readers decode encoded-words all the same: a name that holds what they would
	// decode (looksEncoded) is written here, in the To header, and go-mail is given
	// the recipients for the envelope alone (as Bcc, which it never writes).
	preformatted := slices.ContainsFunc(m.To, func(p mail.Person) bool { return looksEncoded(p.Name) })
	var written []string
	for _, p := range m.To {
		to, err := address(p.Name, p.Email)
		if err != nil {
			return app.Permanent(fmt.Errorf("recipient %q: %w", p.Email, err))
		}
		if preformatted {
			written = append(written, addressHeader(to))
			msg.AddBccMailAddress(to)
			continue
		}
		msg.AddToMailAddress(to)
	}
	if preformatted {
		msg.SetGenHeaderPreformatted(gomail.Header(gomail.HeaderTo), strings.Join(written, ",\r\n "))
	}
	msg.Subject(headerText(m.Subject))
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	if len(m.ICS) > 0 {
		// One attachment a calendar: a cancellation of several deadlines is one
		// calendar each (ical.Cancel).
		cals := ical.Calendars(m.ICS)
		for i, cal := range cals {
			name := "deadline.ics"
			if len(cals) > 1 {
				name = fmt.Sprintf("deadline-%d.ics", i+1)
			}
			msg.AttachReadSeeker(name, bytes.NewReader(cal), gomail.WithFileContentType(gomail.ContentType(ical.ContentTypeOf(cal))))
		}
	}
	rc := s.take()
	if rc != nil {
		err := s.client.SendWithSMTPClient(rc.c, msg)
		if err == nil || msg.IsDelivered() {
			return s.outcome(rc, msg, m.MessageID, err)
		}
		// Nothing was delivered on the kept connection: it may have gone (the relay
		// closed it, or the network did: its NOOP fails), or the relay takes only so
		// many emails on one connection (it refuses the next MAIL). A new connection
		// tries once more, and its answer is the outcome.
		s.drop(rc)
	}
	conn, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("send %s: dial: %w", m.MessageID, err)
	}
	rc = &relayConn{c: conn}
	return s.outcome(rc, msg, m.MessageID, s.client.SendWithSMTPClient(conn, msg))
}

// address is a person as an address header holds them. go-mail writes it with
// net/mail, which puts the name in a quoted-string with its quotes and backslashes
// escaped (RFC 5322), or in encoded-words when it is not all printable ASCII (RFC
// 2047), so that the name arrives as written. go-mail's *Format methods put the name
// between quotes unescaped, and then parse the result: a name with a lone quote or a
// trailing backslash made no address at all, and one with quotes in pairs lost them.
func address(name, email string) (*netmail.Address, error) {
	a, err := netmail.ParseAddress(email)
	if err != nil {
		return nil, err
	}
	if a.Name != "" {
		return nil, fmt.Errorf("%q is more than an address", email)
	}
	a.Name = name
	return a, nil
}

// looksEncoded says that s holds what a mail reader would take for an RFC 2047
// encoded-word ("=?charset?q?...?="), which it would decode rather than show as
// written: a name or title of printable ASCII can hold one, and encoders (go-mail's,
// net/mail's) leave such text as it is.
func looksEncoded(s string) bool { return strings.Contains(s, "=?") }

// headerText is s for an unstructured header (Subject): as it is, for go-mail to
// encode where it needs to, or, when it holds what a reader would decode
// (looksEncoded), all in encoded-words of its own. An organisation named
// "=?utf-8?q?=E2=80=AE?= College" once reached the reader as a right-to-left
// override that turned the rest of the subject back to front, a character the
// services refuse in any name typed.
func headerText(s string) string {
	if !looksEncoded(s) {
		return s
	}
	return strings.Join(encodedWords(s), " ")
}

// addressHeader is a as an address header holds it: net/mail's form, or, for a name
// a reader would decode (looksEncoded), the name in encoded-words, each line of the
// header within RFC 2047's 76 characters.
func addressHeader(a *netmail.Address) string {
	if !looksEncoded(a.Name) {
		return a.String()
	}
	return strings.Join(encodedWords(a.Name), "\r\n ") + "\r\n " + (&netmail.Address{Address: a.Address}).String()
}

// encodedWords is s as RFC 2047 encoded-words in base64 (whose alphabet holds no
// character that a phrase or a quoted-string treats specially), each at most 75
// characters long and holding whole UTF-8 characters.
func encodedWords(s string) []string {
	const most = 45 // octets: 60 in base64, 72 with "=?UTF-8?b?" and "?="
	var words []string
	for s != "" {
		cut := min(len(s), most)
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut--
		}
		words = append(words, "=?UTF-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:cut]))+"?=")
		s = s[cut:]
	}
	return words
}

// outcome is what sending msg on rc came to, and keeps rc for the next email when
// it is still sound. The relay's acceptance of the message is the outcome, and the
// caller records it at once: a failure after it (the RSET that readies the
// connection for the next) fails nothing, as counting it sent the email again (the
// fault harness saw a copy when notify was killed between the relay's acceptance and
// the record, back when saying goodbye could fail a delivery).
func (s *SMTP) outcome(rc *relayConn, msg *gomail.Msg, id string, err error) error {
	if err == nil {
		s.keep(rc)
		return nil
	}
	s.drop(rc)
	if msg.IsDelivered() {
		return nil
	}
	if isPermanent(err) {
		return app.Permanent(err)
	}
	return fmt.Errorf("send %s: %w", id, err)
}

// isPermanent recognises SMTP 5xx replies, which a retry cannot fix. Anything else (a
// 4xx reply, a refused connection, a timeout) is worth another attempt.
func isPermanent(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() {
		return false
	}
	if code := se.ErrorCode(); code != 0 {
		return code >= 500 && code < 600
	}
	msg := " " + err.Error() + " "
	for _, code := range []string{" 550 ", " 551 ", " 552 ", " 553 ", " 554 ", " 501 "} {
		if strings.Contains(msg, code) {
			return true
		}
	}
	return false
}
