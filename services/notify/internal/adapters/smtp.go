package adapters

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/itss/techcommit/services/notify/internal/app"
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
	// Unsubscribe is the address in List-Unsubscribe on optional mail.
	Unsubscribe string
}

// SMTP sends mail through a relay with go-mail.
type SMTP struct {
	cfg SMTPConfig
}

var _ app.Sender = (*SMTP)(nil)

// NewSMTP checks the configuration.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" || cfg.Port == 0 || cfg.From == "" {
		return nil, errors.New("smtp: host, port and from address are required")
	}
	return &SMTP{cfg: cfg}, nil
}

// Send delivers one message. Errors the relay will never accept (a bad address) are
// marked permanent; others are worth retrying.
func (s *SMTP) Send(ctx context.Context, m mail.Message) error {
	if err := mail.CheckHeaders(m); err != nil {
		return app.Permanent(err)
	}
	msg := gomail.NewMsg()
	if err := msg.FromFormat(s.cfg.FromName, s.cfg.From); err != nil {
		return app.Permanent(fmt.Errorf("from address: %w", err))
	}
	for _, p := range m.To {
		if err := msg.AddToFormat(p.Name, p.Email); err != nil {
			return app.Permanent(fmt.Errorf("recipient %q: %w", p.Email, err))
		}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDate()
	if m.Optional && s.cfg.Unsubscribe != "" {
		msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<mailto:"+s.cfg.Unsubscribe+"?subject=unsubscribe>")
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	if len(m.ICS) > 0 {
		msg.AttachReadSeeker("deadline.ics", bytes.NewReader(m.ICS), gomail.WithFileContentType("text/calendar; charset=utf-8; method=PUBLISH"))
	}
	policy := gomail.TLSMandatory
	switch s.cfg.TLSPolicy {
	case "opportunistic":
		policy = gomail.TLSOpportunistic
	case "none":
		policy = gomail.NoTLS
	}
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTLSPolicy(policy), gomail.WithTimeout(15 * time.Second)}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return app.Permanent(fmt.Errorf("smtp client: %w", err))
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("send %s: dial: %w", m.MessageID, err)
	}
	if err := client.SendWithSMTPClient(conn, msg); err != nil {
		_ = client.CloseWithSMTPClient(conn)
		if isPermanent(err) {
			return app.Permanent(err)
		}
		return fmt.Errorf("send %s: %w", m.MessageID, err)
	}
	// The relay has accepted the message: that is the outcome, and the caller records
	// it at once. Saying goodbye (QUIT) waits until after, and its failure cannot fail
	// the delivery: counting it as one sent the email again (the fault harness saw a
	// copy when notify was killed between the relay's acceptance and the record).
	go func() { _ = client.CloseWithSMTPClient(conn) }()
	return nil
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
