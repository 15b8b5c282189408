package reliability

import (
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Received is one message as the SMTP server accepted it, once per recipient.
type Received struct {
	To        string
	Subject   string
	MessageID string
	At        time.Time
}

// Mailbox is a real SMTP server in this process that keeps what it receives.
type Mailbox struct {
	Addr string
	srv  *smtp.Server
	mu   sync.Mutex
	msgs []Received
}

// StartMailbox listens on a free local port.
func StartMailbox() (*Mailbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &Mailbox{Addr: ln.Addr().String()}
	m.srv = smtp.NewServer(m)
	m.srv.Domain = "localhost"
	m.srv.AllowInsecureAuth = true
	m.srv.ReadTimeout = 10 * time.Second
	m.srv.WriteTimeout = 10 * time.Second
	go func() { _ = m.srv.Serve(ln) }()
	return m, nil
}

// Close stops the server.
func (m *Mailbox) Close() { _ = m.srv.Close() }

// Messages is a copy of what arrived so far.
func (m *Mailbox) Messages() []Received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Received(nil), m.msgs...)
}

// NewSession implements smtp.Backend.
func (m *Mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{box: m}, nil }

type session struct {
	box *Mailbox
	to  []string
}

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, strings.ToLower(to))
	return nil
}
func (s *session) Reset()        { s.to = nil }
func (s *session) Logout() error { return nil }
func (s *session) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	_, _ = io.Copy(io.Discard, msg.Body)
	now := time.Now()
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	for _, to := range s.to {
		s.box.msgs = append(s.box.msgs, Received{To: to, Subject: subject, MessageID: msg.Header.Get("Message-Id"), At: now})
	}
	return nil
}
