package app

import (
	"context"
	"fmt"
	"time"

	"github.com/itss/techcommit/services/notify/internal/mail"
)

// KindSigninLink is the delivery log's kind of a sign-in link email.
const KindSigninLink = "signin-link"

// redactedLink stands in the delivery log for a sign-in link: the log is kept for
// months, the link is a credential for 15 minutes, and nobody reading the log (ops,
// a backup) should be able to sign in as the person it went to.
const redactedLink = "[sign-in link removed from the log]"

// SigninLink is a portal sign-in link to email.
type SigninLink struct {
	To      mail.Person
	Link    string
	Expires time.Time
}

// SendSigninLink emails a sign-in link once per request (the event's id). The log
// keeps the email with the link removed; the email itself is composed only to be
// sent. It is never retried from the log (which has no link to send): a link whose
// sending fails is given up and the person asks for another, which the portal's page
// invites. A link that expired before it could be sent is not sent.
func (a *App) SendSigninLink(ctx context.Context, cause string, l SigninLink) error {
	if l.To.Email == "" || l.Link == "" || !a.clock.Now().Before(l.Expires) {
		return nil
	}
	k := key(l.To.Email, cause, KindSigninLink)
	content := func(link string) mail.Content {
		return mail.Content{
			Paragraphs: []string{
				"Use this link to sign in to the Technician Commitment portal. It works once, until " + mail.Time(l.Expires) + ".",
			},
			Action: link,
			Footer: "If you did not ask to sign in, you can ignore this email: nobody can sign in without the link.",
		}
	}
	const subject = "Your sign-in link for the Technician Commitment"
	real, err := a.compose(k, l.To, subject, content(l.Link), nil)
	if err != nil {
		return err
	}
	logged, err := a.compose(k, l.To, subject, content(redactedLink), nil)
	if err != nil {
		return err
	}
	if gone, err := a.anyErased(ctx, []mail.Person{l.To}); err != nil || gone != "" {
		return err // a link asked for just before the person was erased: not sent
	}
	now := a.clock.Now()
	d := Delivery{Key: k, Kind: KindSigninLink, Message: logged, About: cause, Content: content(redactedLink),
		Attempts: 1, Status: StatusSending, CreatedAt: now, UpdatedAt: now}
	won, err := a.deliveries.Claim(ctx, d, 1)
	if err != nil || !won {
		return err
	}
	sendErr := a.sender.Send(ctx, real)
	d.UpdatedAt = a.clock.Now()
	if sendErr == nil {
		d.Status, d.SentAt = StatusSent, d.UpdatedAt
	} else {
		d.Status, d.LastError = StatusGivenUp, fmt.Sprintf("sign-in links are not retried (the person asks for another): %v", sendErr)
	}
	// Counted as deliver counts every other email: a link refused is an email given
	// up, which TCEmailsGivenUp tells ops of.
	a.metrics.Delivered(d.Kind, d.Status)
	if err := a.deliveries.Record(context.WithoutCancel(ctx), d); err != nil {
		return err
	}
	if sendErr == nil && a.sent != nil {
		// As deliver enters every email: a restore's log says it was sent.
		a.sent.Email(context.WithoutCancel(ctx), d)
	}
	// Erased while the link was being sent: as deliver, the entry just recorded is
	// forgotten now (the erasure leaves an entry being sent to its sender).
	return a.forgetIfErased(context.WithoutCancel(ctx), l.To)
}
