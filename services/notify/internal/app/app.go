// Package app is the notify service's use cases: keep each organisation's contacts
// and open obligation from the signatory service's events, send the reminder ladder
// on time and exactly once, send receipts and decisions from the fund's events, and
// serve calendar feeds and the delivery log.
package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
	"github.com/itss/techcommit/services/notify/internal/ical"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// Sender delivers one email.
type Sender interface {
	Send(ctx context.Context, m mail.Message) error
}

type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent marks a send error no retry can fix (a refused address).
func Permanent(err error) error { return permanent{err} }

// Obligation is an organisation's open obligation, as notify knows it.
type Obligation struct {
	ID          string
	Kind        string
	WindowOpens civil.Date
	Due         civil.Date
	Met         bool
}

// Organisation is notify's read model of one organisation.
type Organisation struct {
	ID            string
	Name          string
	Announced     bool
	Withdrawn     bool
	Lead          mail.Person // the nominated lead
	Leader        mail.Person // the head of the institution
	Obligation    *Obligation
	LastStep      string
	NextAt        civil.Date // when the ladder next needs looking at; zero when nothing is due
	CalendarToken string
}

// Organisations stores the read model.
type Organisations interface {
	Get(ctx context.Context, id string) (Organisation, bool, error)
	Put(ctx context.Context, o Organisation) error
	DueBy(ctx context.Context, day civil.Date, limit int) ([]Organisation, error)
	ByToken(ctx context.Context, token string) (Organisation, bool, error)
	Upcoming(ctx context.Context, limit int) ([]Organisation, error)
	// SetProgress records only where the ladder stands, so that the sweep never
	// overwrites what the signatory events changed meanwhile.
	SetProgress(ctx context.Context, id, lastStep string, nextAt civil.Date) error
}

// Delivery statuses.
const (
	StatusSending = "sending"
	StatusSent    = "sent"
	StatusFailed  = "failed" // will be retried
	StatusGaveUp  = "gave_up"
)

// Delivery is one email to one recipient, with its outcome.
type Delivery struct {
	Key            string
	OrganisationID string
	Kind           string // reminder or the event that caused it
	Step           string
	Status         string
	Attempts       int
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SentAt         time.Time
	NextAttemptAt  time.Time
	Message        mail.Message
}

// DeliveryQuery filters the delivery log.
type DeliveryQuery struct {
	OrganisationID, Status string
	Limit                  int
	Cursor                 string
}

// Deliveries is the delivery log and the exactly-once guard: a delivery attempt is
// claimed by inserting its unique key, so of any number of replicas exactly one sends.
type Deliveries interface {
	Claim(ctx context.Context, d Delivery, attempt int) (bool, error)
	Record(ctx context.Context, d Delivery) error
	Get(ctx context.Context, key string) (Delivery, bool, error)
	List(ctx context.Context, q DeliveryQuery) ([]Delivery, string, error)
	Retryable(ctx context.Context, now time.Time, staleBefore time.Time, limit int) ([]Delivery, error)
}

// Config tunes the app.
type Config struct {
	Ladder      ladder.Policy
	MaxAttempts int
	// PublicURL is where the notify service is reached from outside, for feed links.
	PublicURL string
}

// App is the notify service.
type App struct {
	orgs       Organisations
	deliveries Deliveries
	sender     Sender
	clock      clock.Clock
	cfg        Config
}

// New checks its dependencies.
func New(orgs Organisations, deliveries Deliveries, sender Sender, clk clock.Clock, cfg Config) (*App, error) {
	if orgs == nil || deliveries == nil || sender == nil || clk == nil {
		return nil, errors.New("app: organisations, deliveries, sender and clock are required")
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	return &App{orgs: orgs, deliveries: deliveries, sender: sender, clock: clk, cfg: cfg}, nil
}

// london is the calendar the reminders follow.
var london, _ = time.LoadLocation("Europe/London")

func (a *App) today() civil.Date { return civil.Of(a.clock.Now().In(london)) }

// Update changes an organisation's read model with f, creating it if needed, and
// reschedules its ladder.
func (a *App) Update(ctx context.Context, id string, f func(*Organisation)) error {
	o, ok, err := a.orgs.Get(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		o = Organisation{ID: id}
	}
	f(&o)
	if o.CalendarToken == "" {
		o.CalendarToken = newToken()
	}
	a.reschedule(&o)
	return a.orgs.Put(ctx, o)
}

// reschedule sets when the ladder next needs looking at.
func (a *App) reschedule(o *Organisation) {
	o.NextAt = civil.Date{}
	if !o.Announced || o.Withdrawn || o.Obligation == nil || o.Obligation.Met {
		return
	}
	if next, ok := a.cfg.Ladder.Next(a.ladderOf(o), o.LastStep); ok {
		o.NextAt = next
	}
}

func (a *App) ladderOf(o *Organisation) ladder.Obligation {
	return ladder.Obligation{ID: o.Obligation.ID, Kind: o.Obligation.Kind, WindowOpens: o.Obligation.WindowOpens, Due: o.Obligation.Due}
}

// Sweep sends every reminder that has fallen due, and retries failed sends. Running it
// on several replicas at once, or again after a crash, sends nothing twice.
func (a *App) Sweep(ctx context.Context) (int, error) {
	today := a.today()
	sent := 0
	for {
		due, err := a.orgs.DueBy(ctx, today, 200)
		if err != nil {
			return sent, err
		}
		progressed := false
		for _, o := range due {
			n, moved, err := a.remind(ctx, o.ID, today)
			if err != nil {
				return sent, err
			}
			sent += n
			progressed = progressed || moved
		}
		if len(due) < 200 || !progressed {
			break
		}
	}
	n, err := a.retry(ctx)
	return sent + n, err
}

// remind sends an organisation's due step, reading its current state first so that a
// met obligation or a withdrawal stops the ladder at once.
func (a *App) remind(ctx context.Context, id string, today civil.Date) (int, bool, error) {
	o, ok, err := a.orgs.Get(ctx, id)
	if err != nil || !ok || o.NextAt.IsZero() || o.NextAt.After(today) {
		return 0, false, err
	}
	if !o.Announced || o.Withdrawn || o.Obligation == nil || o.Obligation.Met {
		a.reschedule(&o)
		return 0, true, a.orgs.SetProgress(ctx, o.ID, o.LastStep, o.NextAt)
	}
	ob := a.ladderOf(&o)
	step, due := a.cfg.Ladder.Due(ob, o.LastStep, today)
	sent := 0
	if due {
		recipients := []mail.Person{o.Lead}
		if step.Overdue && o.Leader.Email != "" && o.Leader.Email != o.Lead.Email {
			recipients = append(recipients, o.Leader)
		}
		for _, r := range recipients {
			m, err := a.reminder(o, ob, step, r)
			if err != nil {
				return sent, false, err
			}
			d := Delivery{Key: key(r.Email, ob.ID, step.Name), OrganisationID: o.ID, Kind: "reminder", Step: step.Name, Message: m}
			ok, err := a.deliver(ctx, d, 1)
			if err != nil {
				return sent, false, err
			}
			if ok {
				sent++
			}
		}
		o.LastStep = step.Name
	}
	a.reschedule(&o)
	return sent, true, a.orgs.SetProgress(ctx, o.ID, o.LastStep, o.NextAt)
}

func (a *App) reminder(o Organisation, ob ladder.Obligation, step ladder.Step, to mail.Person) (mail.Message, error) {
	m := mail.Message{
		MessageID: key(to.Email, ob.ID, step.Name) + "@technician-commitment.itss.org.uk",
		To:        []mail.Person{to}, Subject: ladder.Subject(o.Name, ob, step),
	}
	what := "self-assessment and action plan"
	if ob.Kind == "action_plan" {
		what = "action plan"
	}
	paras := []string{fmt.Sprintf("%s's %s for the Technician Commitment is due on %s. Submissions can be made from %s.", o.Name, what, ob.Due, ob.WindowOpens)}
	if step.Overdue {
		paras = append(paras, fmt.Sprintf("It is now %d days overdue. Please submit it, or tell ITSS if something stands in the way.", -step.DaysLeft))
	}
	paras = append(paras, "The attached calendar entry marks the date; your organisation's calendar feed always shows its current obligations.")
	if err := mail.Render(&m, mail.Content{Greeting: "Dear " + to.Name + ",", Paragraphs: paras, Action: a.feedURL(o)}); err != nil {
		return m, err
	}
	m.ICS = ical.Calendar(o.Name+" Technician Commitment", []ical.Event{{
		UID: ob.ID + "-due@technician-commitment.itss.org.uk", On: ob.Due,
		Summary: fmt.Sprintf("Technician Commitment %s due (%s)", what, o.Name), URL: a.feedURL(o),
	}}, a.clock.Now())
	return m, nil
}

func (a *App) feedURL(o Organisation) string {
	if a.cfg.PublicURL == "" {
		return ""
	}
	return a.cfg.PublicURL + "/v1/calendars/" + o.CalendarToken
}

// Notify sends an event-driven email (a receipt, a decision) to each recipient, once
// per recipient and cause.
func (a *App) Notify(ctx context.Context, cause, org, kind string, to []mail.Person, subject string, c mail.Content, optional bool) error {
	seen := map[string]bool{}
	for _, r := range to {
		if r.Email == "" || seen[r.Email] {
			continue
		}
		seen[r.Email] = true
		k := key(r.Email, cause, kind)
		m := mail.Message{MessageID: k + "@technician-commitment.itss.org.uk", To: []mail.Person{r}, Subject: subject, Optional: optional}
		cc := c
		cc.Greeting = "Dear " + r.Name + ","
		if err := mail.Render(&m, cc); err != nil {
			return err
		}
		if _, err := a.deliver(ctx, Delivery{Key: k, OrganisationID: org, Kind: kind, Message: m}, 1); err != nil {
			return err
		}
	}
	return nil
}

// NotifyLead sends an event-driven email to an organisation's nominated lead, as the
// read model knows them.
func (a *App) NotifyLead(ctx context.Context, cause, org, kind, subject string, c mail.Content) error {
	o, ok, err := a.orgs.Get(ctx, org)
	if err != nil {
		return err
	}
	if !ok || o.Lead.Email == "" || o.Withdrawn {
		return nil
	}
	return a.Notify(ctx, cause, org, kind, []mail.Person{o.Lead}, subject, c, false)
}

// deliver claims attempt n of d and, if this replica won it, sends and records the
// outcome. It reports whether this call sent the email.
func (a *App) deliver(ctx context.Context, d Delivery, attempt int) (bool, error) {
	now := a.clock.Now()
	d.Attempts, d.Status, d.UpdatedAt = attempt, StatusSending, now
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	won, err := a.deliveries.Claim(ctx, d, attempt)
	if err != nil || !won {
		return false, err
	}
	sendErr := a.sender.Send(ctx, d.Message)
	d.UpdatedAt = a.clock.Now()
	switch {
	case sendErr == nil:
		d.Status, d.SentAt, d.LastError = StatusSent, d.UpdatedAt, ""
	case errors.As(sendErr, new(permanent)) || attempt >= a.cfg.MaxAttempts:
		d.Status, d.LastError = StatusGaveUp, sendErr.Error()
	default:
		d.Status, d.LastError = StatusFailed, sendErr.Error()
		d.NextAttemptAt = d.UpdatedAt.Add(time.Duration(1<<min(attempt, 10)) * time.Minute)
	}
	if err := a.deliveries.Record(context.WithoutCancel(ctx), d); err != nil {
		return sendErr == nil, err
	}
	return sendErr == nil, nil
}

// leaseFor is how long a claimed attempt may stay unrecorded before it is presumed lost
// (its replica died between claiming and recording) and tried again.
const leaseFor = 10 * time.Minute

func (a *App) retry(ctx context.Context) (int, error) {
	now := a.clock.Now()
	due, err := a.deliveries.Retryable(ctx, now, now.Add(-leaseFor), 100)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, d := range due {
		ok, err := a.deliver(ctx, d, d.Attempts+1)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// Deliveries lists the delivery log (ops).
func (a *App) Deliveries(ctx context.Context, by auth.Principal, q DeliveryQuery) ([]Delivery, string, error) {
	if !by.IsOps() {
		return nil, "", apperr.New(apperr.Forbidden, "only ITSS operations staff read the delivery log")
	}
	return a.deliveries.List(ctx, q)
}

// Resend sends a logged email again, as a new attempt (ops).
func (a *App) Resend(ctx context.Context, by auth.Principal, key string) (Delivery, error) {
	if !by.IsOps() {
		return Delivery{}, apperr.New(apperr.Forbidden, "only ITSS operations staff resend email")
	}
	d, ok, err := a.deliveries.Get(ctx, key)
	if err != nil {
		return Delivery{}, err
	}
	if !ok {
		return Delivery{}, apperr.New(apperr.NotFound, "delivery %s not found", key)
	}
	if _, err := a.deliver(ctx, d, d.Attempts+1); err != nil {
		return Delivery{}, err
	}
	d, _, err = a.deliveries.Get(ctx, key)
	return d, err
}

// Reminder is a reminder the ladder will send next.
type Reminder struct {
	OrganisationID, OrganisationName, ObligationID, Step, Subject string
	On                                                            civil.Date
	To                                                            []mail.Person
}

// Preview lists the next reminder of each organisation, soonest first (ops).
func (a *App) Preview(ctx context.Context, by auth.Principal, limit int) ([]Reminder, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff preview reminders")
	}
	orgs, err := a.orgs.Upcoming(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := []Reminder{}
	for _, o := range orgs {
		if o.Obligation == nil {
			continue
		}
		ob := a.ladderOf(&o)
		step, ok := a.cfg.Ladder.Due(ob, o.LastStep, o.NextAt)
		if !ok {
			continue
		}
		r := Reminder{OrganisationID: o.ID, OrganisationName: o.Name, ObligationID: ob.ID, Step: step.Name, On: step.On,
			Subject: ladder.Subject(o.Name, ob, step), To: []mail.Person{o.Lead}}
		if step.Overdue && o.Leader.Email != "" {
			r.To = append(r.To, o.Leader)
		}
		out = append(out, r)
	}
	return out, nil
}

// CalendarURL returns an organisation's feed address (ops, or its lead).
func (a *App) CalendarURL(ctx context.Context, by auth.Principal, org string) (string, error) {
	if !by.IsOps() && !(by.Role == auth.RoleLead && by.Org == org) {
		return "", apperr.New(apperr.Forbidden, "only ITSS operations staff and the organisation's lead read its feed address")
	}
	o, ok, err := a.orgs.Get(ctx, org)
	if err != nil {
		return "", err
	}
	if !ok || !o.Announced {
		return "", apperr.New(apperr.NotFound, "no calendar for organisation %s", org)
	}
	return "/v1/calendars/" + o.CalendarToken, nil
}

// Calendar renders the feed behind a token: the organisation's current obligation.
func (a *App) Calendar(ctx context.Context, token string) ([]byte, error) {
	o, ok, err := a.orgs.ByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if !ok || len(token) < 20 {
		return nil, apperr.New(apperr.NotFound, "no such calendar")
	}
	var evs []ical.Event
	if ob := o.Obligation; ob != nil && !ob.Met && !o.Withdrawn {
		what := "self-assessment and action plan"
		if ob.Kind == "action_plan" {
			what = "action plan"
		}
		evs = append(evs,
			ical.Event{UID: ob.ID + "-window@technician-commitment.itss.org.uk", On: ob.WindowOpens, Summary: "Technician Commitment " + what + " window opens"},
			ical.Event{UID: ob.ID + "-due@technician-commitment.itss.org.uk", On: ob.Due, Summary: "Technician Commitment " + what + " due"},
		)
	}
	return ical.Calendar(o.Name+" Technician Commitment", evs, a.clock.Now()), nil
}

// key is the exactly-once key of one email: recipient, what it is about, which step.
func key(recipient, subject, step string) string {
	sum := sha256.Sum256([]byte(recipient + "|" + subject + "|" + step))
	return hex.EncodeToString(sum[:16])
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
