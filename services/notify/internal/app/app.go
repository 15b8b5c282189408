// Package app is the notify service's use cases: keep each organisation's contacts
// and open obligation from the signatory service's events, send the reminder ladder
// on time and exactly once, send receipts and decisions from the fund's events, and
// serve calendar feeds and the delivery log.
package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
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

// stale says an email is no longer true (what it is about was met, moved, replaced or
// settled, or nobody holds the recipient's role now), and why. It is permanent: a
// retry gives it up; and ops' resend refuses it, as there is nothing to resend.
type stale struct{ why string }

func (s stale) Error() string { return s.why }

// noLongerTrue is the error of an email that is no longer true.
func noLongerTrue(format string, args ...any) error {
	return Permanent(stale{"no longer true: " + fmt.Sprintf(format, args...)})
}

// superseded is the error of a reminder whose step a later one replaced.
func superseded(format string, args ...any) error {
	return Permanent(stale{"superseded: " + fmt.Sprintf(format, args...)})
}

// overtaken says err, the end of an email given up, is not a failure: no relay
// refused it, it was no longer true, or another email said it (superseded), or it
// went, or was tried, as that day's reminder, whose own entry counts what the relay
// did (tookDay).
func overtaken(err error) bool {
	return errors.As(err, new(stale)) || errors.As(err, new(tookDay))
}

// Obligation is an organisation's open obligation, as notify knows it.
type Obligation struct {
	ID          string
	Kind        string
	Cycle       int
	WindowOpens civil.Date
	Due         civil.Date
	Met         bool
	// MetOn is the day the submission that met it was received (zero when the event
	// that met it was not kept with it).
	MetOn civil.Date
}

// Organisation is notify's read model of one organisation.
type Organisation struct {
	ID   string
	Name string
	// Kind is "signatory" or "supporter", as its enquiry or announcement said
	// (empty for a record kept before notify kept it: see Supporter).
	Kind      string
	Announced bool
	// AnnouncedOn is the day its announcement is dated, from which the public
	// directory lists it (zero for a record kept before notify kept it).
	AnnouncedOn   civil.Date
	Withdrawn     bool
	Lead          mail.Person // the nominated lead
	Leader        mail.Person // the head of the institution
	Obligation    *Obligation
	CalendarToken string
	// Previous is the obligation the open one replaced, as it stood then: what
	// became of it, for a reminder of it that ops would resend.
	Previous *Obligation
}

// Supporter says the organisation supports the Commitment rather than signing it: the
// fund takes no application from it, so its lead makes no API tokens. A record kept
// before notify kept the kind is told by its obligation (a supporter owes an action
// plan alone).
func (o Organisation) Supporter() bool {
	if o.Kind != "" {
		return o.Kind == "supporter"
	}
	return o.Obligation != nil && o.Obligation.Kind == "action_plan"
}

// state is what the ladder needs to know of the organisation now.
func (o Organisation) state() ladder.State {
	st := ladder.State{Announced: o.Announced, Withdrawn: o.Withdrawn}
	if ob := o.Obligation; ob != nil {
		st.ObligationID, st.Due, st.Met = ob.ID, ob.Due, ob.Met
	}
	return st
}

// Organisations stores the read model. Only the signatory consumer writes it, one
// event at a time, so a plain replace loses nothing.
type Organisations interface {
	Get(ctx context.Context, id string) (Organisation, bool, error)
	Put(ctx context.Context, o Organisation) error
	ByToken(ctx context.Context, token string) (Organisation, bool, error)
	// Forget blanks the person whose address has digest subject wherever an
	// organisation names them. Run again, it finds nothing to do.
	Forget(ctx context.Context, subject string) error
}

// Reminders is the schedule: every step of every obligation's ladder, written when the
// obligation is scheduled and settled once, when its day comes (or earlier, when it
// stops being true). The sweep never writes the read model and the consumer never
// writes a reminder's outcome back to pending, so neither can undo the other's work.
type Reminders interface {
	// Schedule adds reminders; adding one again changes nothing.
	Schedule(ctx context.Context, rs []ladder.Reminder) error
	// DueBy lists pending reminders due on or before day, soonest first.
	DueBy(ctx context.Context, day civil.Date, limit int) ([]ladder.Reminder, error)
	// Due lists an organisation's pending reminders due on or before day.
	Due(ctx context.Context, org string, day civil.Date) ([]ladder.Reminder, error)
	// Pending calls each with the pending reminders after the day on and the
	// organisation org (from the first when org is empty), by day and then
	// organisation, until each returns false.
	Pending(ctx context.Context, on civil.Date, org string, each func(ladder.Reminder) bool) error
	// PendingOf lists an organisation's pending reminders, by day, as of the last
	// Pending.
	PendingOf(ctx context.Context, org string) ([]ladder.Reminder, error)
	// Settle records a reminder's final outcome.
	Settle(ctx context.Context, r ladder.Reminder, outcome ladder.Outcome) error
	// Retire settles an organisation's pending reminders other than those of the
	// obligation keepID due on keepDue (all of them when keepID is empty).
	Retire(ctx context.Context, org, keepID string, keepDue civil.Date, outcome ladder.Outcome) error
}

// Assignment is a reviewer's assignment to a submission, as notify knows it.
type Assignment struct {
	RoundID, SubmissionID, ReviewerID, OrganisationID string
	// RoundName and OrganisationName are what the emails call the round and the
	// submitting institution; empty when an older event did not say.
	RoundName, OrganisationName string
	Reviewer                    mail.Person
	Deadline                    time.Time
	// RemindOn is the day the reviewer is reminded that the review is due soon.
	RemindOn civil.Date
	// Returned is, for the reminder of a review ops returned, the round's version
	// of that return: each return restarts the reminder, under a key of its own. It
	// is 0 for the assignment as it was made.
	Returned int
	// Assigned is the round's version of the assignment this reminder is for: a
	// reviewer asked again after declining is reminded again, under a key of its own
	// (0 for a record made before notify kept it).
	Assigned int
}

// Key names the assignment: one reviewer on one submission in one round.
func (a Assignment) Key() string { return a.RoundID + "|" + a.SubmissionID + "|" + a.ReviewerID }

// Assignments is the read model of reviewers' assignments. An assignment is opened
// once and closed once (reviewed, declined or removed), in whichever order the events
// arrive, so writers never contend over what it says. What happens to it after it
// was made (accepted, reviewed, returned, resubmitted, declined, removed) is kept as
// marks, one per event, inserted and never changed: a review can be returned and
// resubmitted more than once, and the marks' order (the round's versions) says where
// it stands whatever order notify heard of them in.
type Assignments interface {
	Open(ctx context.Context, a Assignment) error
	// Reopen opens again an assignment that a declination or removal closed before
	// the reviewer was asked again (a.Assigned, later than the assignment it held).
	Reopen(ctx context.Context, a Assignment) error
	// Rename records a reviewer's name and address as the pool now holds them on
	// every assignment and mark of theirs, so that what is sent about an assignment
	// made before ops corrected the record goes to the corrected address.
	Rename(ctx context.Context, reviewerID string, p mail.Person) error
	Close(ctx context.Context, a Assignment) error
	// Closed says whether the assignment is done (reviewed, declined or removed).
	Closed(ctx context.Context, a Assignment) (bool, error)
	// DueForReminder lists open assignments reminded on or before today whose
	// deadline is after now.
	DueForReminder(ctx context.Context, today civil.Date, now time.Time, limit int) ([]Assignment, error)
	// Get reads the assignment as it was made: the reviewer, names and deadline its
	// assignment event gave.
	Get(ctx context.Context, a Assignment) (Assignment, bool, error)
	// Mark records one event of an assignment's life, and returns the assignment's
	// marks in the round's order; recording it again changes nothing.
	Mark(ctx context.Context, m Mark) ([]Mark, error)
	// Marks lists an assignment's marks in the round's order.
	Marks(ctx context.Context, a Assignment) ([]Mark, error)
	// RoundMarks lists the marks of every assignment of a round, in the round's order.
	RoundMarks(ctx context.Context, round string) ([]Mark, error)
	// CloseRound records that a round takes no more reviews; RoundClosed says so.
	CloseRound(ctx context.Context, round string) error
	RoundClosed(ctx context.Context, round string) (bool, error)
}

// Delivery statuses.
const (
	StatusSending = "sending"
	StatusSent    = "sent"
	StatusFailed  = "failed" // will be retried
	// StatusGivenUp is final: no retry can fix it (a refused address or header). Ops
	// see the reason, fix the data and resend.
	StatusGivenUp = "given_up"
	// statusGaveUpBefore is how the log spelt given_up before; entries already
	// written so read as given_up.
	statusGaveUpBefore = "gave_up"
)

// Recipient roles: who an email is for, so that a resend can address the person who
// holds that role now (a lead whose address was wrong and is corrected).
const (
	RoleLead      = "lead"
	RoleHead      = "head"
	RoleReviewer  = "reviewer"
	RoleApplicant = "applicant"
	// RoleHeadTold is a head written to because they were told something before
	// (a receipt of what they were told was overdue): a resend goes to them, not to
	// whoever holds the role by then.
	RoleHeadTold = "head-told"
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
	// About names what the email is about (for a reminder: the obligation as
	// scheduled, "<obligation>@<due>"), Role whom it is for, and Content what its
	// body says before the greeting, so that a retry or a resend can compose it again
	// from the facts as they stand then.
	About   string
	Role    string
	Content mail.Content
	// Mentions are the digests of the addresses (personal.Subject) of the people the
	// email names besides its recipient (a hand-over's email to the head names the
	// lead before and the lead after), so that an erasure of one of them finds it and
	// drops what it said, as it does for an email written to them.
	Mentions []string
	// Earlier are the recipients the email went to before a resend sent it to
	// someone else (the role passed to another person), and when: the log keeps who
	// was told what, and when, though the entry now names the latest.
	Earlier []Sent
}

// Sent is an email sent to its recipients at a time.
type Sent struct {
	To []mail.Person
	At time.Time
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
	// Record writes an attempt's outcome (its log entry); the body stays as written.
	Record(ctx context.Context, d Delivery) error
	// PutBody writes the body of an attempt composed afresh (a later one).
	PutBody(ctx context.Context, d Delivery) error
	Get(ctx context.Context, key string) (Delivery, bool, error)
	List(ctx context.Context, q DeliveryQuery) ([]Delivery, string, error)
	Retryable(ctx context.Context, now time.Time, staleBefore time.Time, limit int) ([]Delivery, error)
	// DropBodies deletes the body (text, HTML, attachment, paragraphs) of every
	// delivery settled (sent or given up) at or before `before`, keeps its log entry,
	// and returns how many bodies it deleted.
	DropBodies(ctx context.Context, before time.Time) (int, error)
	// ForgetRecipients removes the recipients (names and addresses), the last error
	// and any body of every delivery settled at or before `before`, keeps the rest of
	// its log entry, and returns how many entries it changed.
	ForgetRecipients(ctx context.Context, before time.Time) (int, error)
}

// Config tunes the app.
type Config struct {
	Ladder ladder.Policy
	// ReviewDaysBefore is how many days before a review's deadline the reviewer is
	// reminded (0: no reminder).
	ReviewDaysBefore int
	MaxAttempts      int
	// PublicURL is where the notify service is reached from outside, for feed links.
	PublicURL string
	// Organizer publishes the calendars the emails attach and the feeds serve: the
	// address and name the emails come from (SMTP_FROM, SMTP_FROM_NAME).
	Organizer ical.Organizer
	// PortalURL is the portal's address: every email links to the page where its
	// reader acts.
	PortalURL string
	// Contact is ITSS's address for people to write to (NOTIFY_CONTACT_EMAIL): every
	// email gives it at its foot, and where it asks its reader to contact ITSS.
	Contact string
	// BodyRetention is how long an email's body is kept after it was sent or given
	// up on (DefaultBodyRetention when zero); its log entry stays.
	BodyRetention time.Duration
	// LogRetention is how long a log entry names its recipients after the email was
	// sent or given up on (DefaultLogRetention when zero); the entry itself stays.
	LogRetention time.Duration
}

// DefaultBodyRetention keeps a settled email's body for 90 days: long enough for ops
// to answer "what did you tell us?" about a round or a deadline, no longer.
const DefaultBodyRetention = 90 * 24 * time.Hour

// DefaultLogRetention keeps the recipients of a settled email in its log entry for
// two years (730 days): long enough to answer "were we told?" about a whole cycle of
// the Commitment's deadlines (docs/PRIVACY.md).
const DefaultLogRetention = 730 * 24 * time.Hour

// CalendarTokens are the secret addresses of organisations' feeds. A token is
// replaced (rotated) when the organisation's lead changes or when ops or the lead
// ask; the replaced one stops answering at once. The read model of organisations has
// one writer (the signatory consumer), so rotations, which HTTP requests make too,
// are kept apart from it.
type CalendarTokens interface {
	// Current is the organisation's live token; initial is the one it was given
	// before any rotation.
	Current(ctx context.Context, org, initial string) (string, error)
	// Rotate replaces the live token and returns the new one. Of rotations racing,
	// each returns the token live once it is done.
	Rotate(ctx context.Context, org string) (string, error)
	// Owner is the organisation a rotated-in token was issued to, live or not.
	Owner(ctx context.Context, token string) (string, bool, error)
}

// Metrics counts what happens to emails, for the service's /metrics. Kinds and
// ladder steps are names the code or the ladder's configuration gives, never a
// person's or an organisation's.
type Metrics interface {
	// Delivered counts one attempt's outcome: sent, failed (to be retried) or given up.
	Delivered(kind, status string)
	// Overtaken counts an email given up that no relay refused (overtaken): not
	// among those given up, which failed.
	Overtaken(kind string)
	// ReminderSent counts a reminder email sent, by its ladder step.
	ReminderSent(step string)
}

type noMetrics struct{}

func (noMetrics) Delivered(string, string) {}
func (noMetrics) Overtaken(string)         {}
func (noMetrics) ReminderSent(string)      {}

// Deps are the app's stores and services.
type Deps struct {
	Organisations Organisations
	Reminders     Reminders
	Assignments   Assignments
	Deliveries    Deliveries
	Calendars     CalendarTokens
	Sender        Sender
	Clock         clock.Clock
	// Metrics, when set, counts sends (nothing is counted without it).
	Metrics Metrics
}

// App is the notify service.
type App struct {
	erasures    Erasures
	orgs        Organisations
	reminders   Reminders
	assignments Assignments
	deliveries  Deliveries
	calendars   CalendarTokens
	sender      Sender
	clock       clock.Clock
	metrics     Metrics
	cfg         Config
	personal    PersonalRecords // see UsePersonalRecords
	sent        SentRegister    // see UseSentRegister
	fund        FundProgress    // see UseFundProgress
}

// SentRegister keeps, outside notify's database, what notify sent: a backup of the
// database restored is told from it what was sent since the backup was taken, so
// that nothing the sweep finds due in the restored database goes a second time
// (adapters.MendSent).
//
// Entering is not allowed to hold up or undo a send: an entry the register cannot
// take now (NATS away) is kept and entered later by the register itself, and only a
// restore before then could send that email again.
type SentRegister interface {
	// Email enters an email sent: its key and what the log says of it, but whom it
	// went to and what it said.
	Email(ctx context.Context, d Delivery)
	// Reminder enters a step of an obligation's ladder the sweep settled as sent.
	Reminder(ctx context.Context, r ladder.Reminder)
}

// UseSentRegister makes every email sent, and every reminder the sweep settles as
// sent, entered in r. Without it nothing is entered (the app's own tests).
func (a *App) UseSentRegister(r SentRegister) error {
	if r == nil {
		return errors.New("app: the register of what was sent is nil")
	}
	a.sent = r
	return nil
}

// New checks its dependencies.
func New(d Deps, cfg Config) (*App, error) {
	if d.Organisations == nil || d.Reminders == nil || d.Assignments == nil || d.Deliveries == nil || d.Calendars == nil || d.Sender == nil || d.Clock == nil {
		return nil, errors.New("app: organisations, reminders, assignments, deliveries, calendars, sender and clock are required")
	}
	if cfg.PortalURL == "" {
		return nil, errors.New("app: the portal's address is required: every email links to it")
	}
	if cfg.Contact == "" {
		return nil, errors.New("app: ITSS's contact address is required: every email gives it")
	}
	if cfg.BodyRetention <= 0 {
		cfg.BodyRetention = DefaultBodyRetention
	}
	if cfg.LogRetention <= 0 {
		cfg.LogRetention = DefaultLogRetention
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if d.Metrics == nil {
		d.Metrics = noMetrics{}
	}
	return &App{orgs: d.Organisations, reminders: d.Reminders, assignments: d.Assignments, deliveries: d.Deliveries, calendars: d.Calendars,
		sender: d.Sender, clock: d.Clock, metrics: d.Metrics, cfg: cfg}, nil
}

// london is the calendar the reminders follow.
var london = mail.London

func (a *App) today() civil.Date { return civil.Of(a.clock.Now().In(london)) }

// ForgetInOrganisations blanks an erased person (by the digest of their address)
// in the organisations that name them. Only the consumer of the signatory service's
// events calls it, in the order of those events: it is the read model's one writer,
// and the erasure is one more of its events. A separate writer, reading and
// replacing the same documents beside it, lost the contacts changes it raced (a
// new lead) or wrote the erased person back.
func (a *App) ForgetInOrganisations(ctx context.Context, subject string) error {
	return a.orgs.Forget(ctx, subject)
}

// Update changes an organisation's read model with f, creating it if needed.
func (a *App) Update(ctx context.Context, id string, f func(*Organisation)) error {
	o, ok, err := a.get(ctx, id)
	if err != nil || !ok {
		return err
	}
	f(&o)
	return a.orgs.Put(ctx, o)
}

func (a *App) get(ctx context.Context, id string) (Organisation, bool, error) {
	o, ok, err := a.orgs.Get(ctx, id)
	if err != nil {
		return o, false, err
	}
	if !ok {
		o = Organisation{ID: id, CalendarToken: newToken()}
	}
	return o, true, nil
}

// ScheduleObligation makes obligation ob the organisation's open one and schedules its
// ladder. The same obligation with the same dates again (a redelivery, a replay)
// changes nothing; new dates or a new obligation retire the old ladder.
func (a *App) ScheduleObligation(ctx context.Context, org, name string, ob Obligation) error {
	if kept, err := a.keepObligation(ctx, org, name, ob); err != nil || !kept {
		return err
	}
	return a.scheduleLadder(ctx, org, ob)
}

// keepObligation is ScheduleObligation's first half: ob becomes the organisation's
// open one and the ladder of any other (or of its other dates) is retired. It says
// whether ob was kept (an earlier cycle's, replayed late, is not).
func (a *App) keepObligation(ctx context.Context, org, name string, ob Obligation) (bool, error) {
	o, _, err := a.get(ctx, org)
	if err != nil {
		return false, err
	}
	if name != "" {
		o.Name = name
	}
	cur := o.Obligation
	if cur != nil && ob.Cycle < cur.Cycle {
		return false, nil // an earlier cycle's schedule, replayed late: the current one stands
	}
	if cur == nil || cur.ID != ob.ID || cur.Due != ob.Due || cur.WindowOpens != ob.WindowOpens {
		o.Obligation = &Obligation{ID: ob.ID, Kind: ob.Kind, Cycle: ob.Cycle, WindowOpens: ob.WindowOpens, Due: ob.Due}
		if cur != nil {
			o.Previous = cur
		}
	}
	if err := a.orgs.Put(ctx, o); err != nil {
		return false, err
	}
	return true, a.reminders.Retire(ctx, org, ob.ID, ob.Due, ladder.Rescheduled)
}

// scheduleLadder is ScheduleObligation's second half: every step of ob's ladder is
// scheduled (again: a step scheduled already changes nothing).
func (a *App) scheduleLadder(ctx context.Context, org string, ob Obligation) error {
	lo := ladder.Obligation{ID: ob.ID, Kind: ob.Kind, WindowOpens: ob.WindowOpens, Due: ob.Due}
	var rs []ladder.Reminder
	for _, step := range a.cfg.Ladder.Steps(lo) {
		rs = append(rs, ladder.Reminder{OrganisationID: org, ObligationID: ob.ID, Due: ob.Due, Step: step})
	}
	return a.reminders.Schedule(ctx, rs)
}

// MeetObligation closes the organisation's obligation, met by a submission received
// on the day on: its ladder stops.
func (a *App) MeetObligation(ctx context.Context, cause, org, obligationID string, on civil.Date) error {
	o, ok, err := a.orgs.Get(ctx, org)
	if err != nil || !ok || o.Obligation == nil || o.Obligation.ID != obligationID {
		return err
	}
	o.Obligation.Met, o.Obligation.MetOn = true, on
	if err := a.orgs.Put(ctx, o); err != nil {
		return err
	}
	if err := a.reminders.Retire(ctx, org, "", civil.Date{}, ladder.Met); err != nil {
		return err
	}
	return a.receipt(ctx, cause, o, *o.Obligation)
}

// receipt tells the lead that the obligation's submission was received: reminded
// until then, and perhaps told it was overdue, they heard nothing once it was in. A
// head who was told it was overdue is told it came in. Handled again (a redelivery),
// the receipt is not sent twice: its cause is the event's.
func (a *App) receipt(ctx context.Context, cause string, o Organisation, ob Obligation) error {
	if o.Withdrawn {
		return nil
	}
	w := what(ob.Kind)
	when := "on " + mail.Day(ob.MetOn)
	if ob.MetOn.IsZero() {
		when = "today"
	}
	first := fmt.Sprintf("%s's %s for the Technician Commitment was received %s. Thank you.", o.Name, w, when)
	late := !ob.MetOn.IsZero() && ob.MetOn.After(ob.Due)
	if late {
		first = fmt.Sprintf("%s's %s for the Technician Commitment, due on %s, was received %s. Thank you.", o.Name, w, mail.Day(ob.Due), when)
	}
	paras := []string{first, "Peer reviewers from other institutions review it; you will be emailed when their feedback is ready.",
		"Your organisation's obligations, and what is due next, are in the Technician Commitment portal:"}
	if ob.Kind == "action_plan" {
		// A supporter's action plan is peer-reviewed as a signatory's submission is (the
		// review service takes it into a round, and its feedback is emailed), and it is
		// the supporter's only submission: nothing follows it.
		paras = []string{first, "Peer reviewers from other organisations review it; you will be emailed when their feedback is ready.",
			fmt.Sprintf("Nothing more is due from %s: as a supporter, its action plan is its only submission.", o.Name),
			"Your organisation's obligations are in the Technician Commitment portal:"}
	}
	subject := fmt.Sprintf("Technician Commitment: %s's %s is received", o.Name, w)
	err := a.Notify(ctx, Email{Cause: cause, Org: o.ID, Kind: KindReceived, Subject: subject, Content: mail.Content{Paragraphs: paras,
		Action: a.obligationURL(o.ID)}}, Recipient{o.Lead, RoleLead})
	if err != nil || !late {
		return err
	}
	// The heads who were sent an overdue email of this obligation are told it came
	// in: the one who was told, at the address they were told at, whoever holds the
	// role now (a head named since was told nothing, and a head of an obligation in
	// before its first overdue step to them was never written to). Not a portal page,
	// which they do not sign in to.
	told, err := a.headsToldOf(ctx, o, ob)
	if err != nil {
		return err
	}
	var to []Recipient
	for _, h := range told {
		if !strings.EqualFold(h.Email, o.Lead.Email) {
			to = append(to, Recipient{h, RoleHeadTold})
		}
	}
	return a.Notify(ctx, Email{Cause: cause, Org: o.ID, Kind: KindReceived, Subject: subject, Content: mail.Content{Paragraphs: []string{
		fmt.Sprintf("You were told as the head of %s that its %s for the Technician Commitment was overdue.", o.Name, w),
		first,
	}}}, to...)
}

// headsToldOf are the heads an overdue email of the obligation was sent to, each once,
// as the log names them.
func (a *App) headsToldOf(ctx context.Context, o Organisation, ob Obligation) ([]mail.Person, error) {
	sends, err := a.remindersSent(ctx, o.ID, about(ob.ID, ob.Due), RoleHead)
	if err != nil {
		return nil, err
	}
	var out []mail.Person
	for _, sent := range sends {
		for _, p := range sent.To {
			if p.Email != "" && !slices.ContainsFunc(out, func(q mail.Person) bool { return strings.EqualFold(q.Email, p.Email) }) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// KindReceived is the kind of the receipt of an obligation's submission.
const KindReceived = "obligation-received"

// KindObligationWithdrawn is the email telling an organisation's nominated lead and
// its head that its withdrawal from the Commitment is recorded (and, to whoever was
// reminded of it or told it was overdue, that its open obligation is no longer due).
const KindObligationWithdrawn = "obligation-withdrawn"

// Withdrawal is an organisation's withdrawal as the signatory service recorded it.
type Withdrawal struct {
	On     civil.Date
	Reason string
	// InitiatedBy is who asked: "organisation" or "itss".
	InitiatedBy string
}

// Withdraw records that the organisation left: no more reminders are sent to it. Its
// nominated lead and its head are each told once (cause is the event's) that the
// withdrawal is recorded (withdrawn).
func (a *App) Withdraw(ctx context.Context, cause, org string, w Withdrawal) error {
	before, _, err := a.get(ctx, org)
	if err != nil {
		return err
	}
	if err := a.Update(ctx, org, func(o *Organisation) { o.Withdrawn = true }); err != nil {
		return err
	}
	if err := a.reminders.Retire(ctx, org, "", civil.Date{}, ladder.Withdrawn); err != nil {
		return err
	}
	return a.withdrawn(ctx, cause, before, w)
}

// withdrawn tells the organisation's nominated lead and its head, one email each,
// that its withdrawal is recorded: the day, who asked (and the reason ITSS recorded,
// when ITSS withdrew it), that it is no longer listed in the public directory and that
// nothing more is due, and whom to contact. A lead reminded of its open obligation,
// whose reminders put its due date in their calendar, is told it is no longer due,
// with that entry's cancellation; a head who was told it was overdue (at the address
// they were told at: see receipt) is told it is no longer due, as a receipt would tell
// them it came in. Notify does not know whether the Collaboration Fund awarded the
// organisation a project, so the email does not speak of a project's report.
func (a *App) withdrawn(ctx context.Context, cause string, o Organisation, w Withdrawal) error {
	name := cmp.Or(o.Name, "The organisation")
	day := ""
	if !w.On.IsZero() {
		day = " on " + mail.Day(w.On)
	}
	var first string
	if w.InitiatedBy == "itss" {
		first = fmt.Sprintf("ITSS has withdrawn %s from the Technician Commitment%s.", name, day)
		if r := strings.TrimSuffix(strings.TrimSpace(w.Reason), "."); r != "" {
			first += " The reason recorded: " + r + "."
		}
	} else {
		first = fmt.Sprintf("%s withdrew from the Technician Commitment%s, at its own request, and ITSS has recorded the withdrawal.", name, day)
	}
	subject := "Technician Commitment: withdrawal recorded"
	if o.Name != "" {
		subject += " — " + o.Name
	}
	listed := fmt.Sprintf("%s is no longer listed in the Technician Commitment's public directory, and nothing more is due from it for the Commitment.", name)
	// The directory lists an organisation from its announcement's day: one withdrawn
	// before it was announced, or while its announcement was still ahead (a
	// withdrawal today calls it off), never was.
	on := w.On
	if on.IsZero() {
		on = a.today()
	}
	switch {
	case !o.Announced:
		listed = fmt.Sprintf("%s was not announced, and will not be listed in the Technician Commitment's public directory. Nothing is due from it for the Commitment.", name)
	case !o.AnnouncedOn.IsZero() && o.AnnouncedOn.After(on):
		listed = fmt.Sprintf("Its announcement, planned for %s, will not take place, and %s will not be listed in the Technician Commitment's public directory. Nothing is due from it for the Commitment.", mail.Day(o.AnnouncedOn), name)
	}
	contact := "For anything about the withdrawal, please contact ITSS at " + a.cfg.Contact + "."

	ob := o.Obligation
	open := ob != nil && !ob.Met
	type reader struct {
		to       mail.Person
		role     string
		reminded bool // a lead whose reminders put the due date in their calendar
		toldLate bool // a head told the obligation was overdue
	}
	var readers []*reader
	find := func(p mail.Person) *reader {
		for _, r := range readers {
			if strings.EqualFold(r.to.Email, p.Email) {
				return r
			}
		}
		return nil
	}
	if o.Lead.Email != "" {
		r := &reader{to: o.Lead, role: RoleLead}
		if open {
			reminded, err := a.remindedOf(ctx, o, o.Lead)
			if err != nil {
				return err
			}
			r.reminded = reminded
		}
		readers = append(readers, r)
	}
	if o.Leader.Email != "" && find(o.Leader) == nil {
		readers = append(readers, &reader{to: o.Leader, role: RoleHead})
	}
	if open {
		told, err := a.headsToldOf(ctx, o, *ob)
		if err != nil {
			return err
		}
		for _, h := range told {
			if r := find(h); r != nil {
				r.toldLate = true
				continue
			}
			readers = append(readers, &reader{to: h, role: RoleHeadTold, toldLate: true})
		}
	}
	now := a.clock.Now()
	for _, r := range readers {
		paras := []string{first, listed}
		e := Email{Cause: cause, Org: o.ID, Kind: KindObligationWithdrawn, Subject: subject}
		if open && (r.reminded || r.toldLate) {
			kind := what(ob.Kind)
			due := fmt.Sprintf("Its %s, due on %s, is no longer due, and you will not be reminded of it again.", kind, mail.Day(ob.Due))
			if r.toldLate {
				due = fmt.Sprintf("You were told as the head of %s that its %s, due on %s, was overdue: it is no longer due.", name, kind, mail.Day(ob.Due))
			}
			paras = append(paras, due)
			if r.reminded {
				paras = append(paras, "The attached calendar update removes the due date from your calendar, if you added it from a reminder.")
				e.ICS = ical.Cancel(orgCalendar(o.Name), a.cfg.Organizer, []ical.Event{dueEntry(o.Name, ob.ID, ob.Kind, ob.Due, now)}, now)
			}
		}
		if r.role == RoleHead && !r.toldLate {
			// The head never signs in, and hears from the suite only as the head:
			// their email says so (one told it was overdue is told as whom above).
			paras = append(paras, fmt.Sprintf("You are told as the head of %s.", name))
		}
		e.Content = mail.Content{Paragraphs: append(paras, contact)}
		if err := a.Notify(ctx, e, Recipient{r.to, r.role}); err != nil {
			return err
		}
	}
	return nil
}

// remindersDueScan bounds how many due reminders RemindersDue counts: past it, the
// gauge says at least this many, which is all an alert needs.
const remindersDueScan = sweepBatch

// RemindersDue counts the reminders whose day has come and that are still pending,
// for the tc_notify_reminders_due gauge: a number that stays above zero says the
// sweep is not keeping up. It reads what a sweep's pass reads (the days' lists from
// the sweep's cursor to today, by _id), so its cost follows what is due, not how
// many reminders there are.
func (a *App) RemindersDue(ctx context.Context) (int, error) {
	due, err := a.reminders.DueBy(ctx, a.today(), remindersDueScan)
	return len(due), err
}

// sweepPasses bounds one sweep, so that a store that never settles what it is told to
// cannot keep it busy for ever; what is left waits for the next tick.
const sweepPasses = 50

// sweepBatch is how many due reminders one pass of a sweep reads.
const sweepBatch = 500

// Sweep sends every reminder that has fallen due, and retries failed sends. Running it
// on several replicas at once, or again after a crash, sends nothing twice.
func (a *App) Sweep(ctx context.Context) (int, error) {
	today := a.today()
	sent := 0
	for range sweepPasses {
		due, err := a.reminders.DueBy(ctx, today, sweepBatch)
		if err != nil {
			return sent, err
		}
		if len(due) == 0 {
			break
		}
		byOrg := map[string][]ladder.Reminder{}
		var orgs []string
		for _, r := range due {
			if byOrg[r.OrganisationID] == nil {
				orgs = append(orgs, r.OrganisationID)
			}
			byOrg[r.OrganisationID] = append(byOrg[r.OrganisationID], r)
		}
		for _, id := range orgs {
			rs := byOrg[id]
			if len(due) == sweepBatch {
				// The batch may have cut this organisation's reminders short, and only
				// all of them together say which one is the latest.
				if rs, err = a.reminders.Due(ctx, id, today); err != nil {
					return sent, err
				}
			}
			n, err := a.remind(ctx, id, rs)
			sent += n
			if err != nil {
				return sent, err
			}
		}
	}
	n, err := a.remindReviewers(ctx, today)
	sent += n
	if err != nil {
		return sent, err
	}
	n, err = a.retry(ctx)
	return sent + n, err
}

// remind settles an organisation's due reminders against its state read now, so that
// a met obligation, a new schedule or a withdrawal stops the ladder at once, and sends
// the one that is still true.
func (a *App) remind(ctx context.Context, id string, due []ladder.Reminder) (int, error) {
	o, _, err := a.orgs.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	// Only those still to be sent, read after the organisation: a sweep on another
	// replica may have sent and settled one since this sweep listed it, to the lead
	// or head of the time, and the organisation read now may name another, who is
	// told where it stands by the email naming them (tellLeadNamed, headChanged) and
	// was reminded a minute later all the same.
	if due, err = a.stillDue(ctx, id, due); err != nil || len(due) == 0 {
		return 0, err
	}
	outcomes := ladder.Decide(o.state(), due)
	sent := 0
	for i, r := range due {
		if outcomes[i] == ladder.Send {
			n, err := a.sendReminder(ctx, o, r)
			sent += n
			if err != nil {
				return sent, err
			}
		}
		if err := a.reminders.Settle(ctx, r, outcomes[i]); err != nil {
			return sent, err
		}
		if outcomes[i] == ladder.Send && a.sent != nil {
			a.sent.Reminder(ctx, r)
		}
	}
	return sent, nil
}

// stillDue is those of due, an organisation's reminders listed by a sweep, that are
// still pending.
func (a *App) stillDue(ctx context.Context, org string, due []ladder.Reminder) ([]ladder.Reminder, error) {
	pending, err := a.reminders.Due(ctx, org, a.today())
	if err != nil {
		return nil, err
	}
	id := func(r ladder.Reminder) string { return r.ObligationID + "@" + r.Due.String() + "/" + r.Step.Name }
	still := map[string]bool{}
	for _, r := range pending {
		still[id(r)] = true
	}
	return slices.DeleteFunc(slices.Clone(due), func(r ladder.Reminder) bool { return !still[id(r)] }), nil
}

// deliver claims attempt n of d and, if this replica won it, sends and records the
// outcome. It reports whether this call sent the email.
func (a *App) deliver(ctx context.Context, d Delivery, attempt int) (bool, error) {
	// Nothing is sent to a person erased, whatever event caused the email: events of
	// other services are not ordered with the erasure.
	if gone, err := a.anyErased(ctx, d.Message.To); err != nil || gone != "" {
		if err != nil || attempt == 1 || d.Status != StatusSending {
			return false, err
		}
		// Taken over from a sender that died mid-send: the erasure left the entry
		// to it. It is given up and forgotten now.
		d.Status, d.LastError, d.UpdatedAt = StatusGivenUp, "the recipient was erased at their request", a.clock.Now()
		if err := a.deliveries.Record(ctx, d); err != nil {
			return false, err
		}
		return false, a.erasures.Forget(ctx, personal.Subject(gone))
	}
	now := a.clock.Now()
	d.Attempts, d.Status, d.UpdatedAt = attempt, StatusSending, now
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	won, err := a.deliveries.Claim(ctx, d, attempt)
	if err != nil || !won {
		return false, err
	}
	var sendErr error
	// sentAsDays says this call sent d as the day's reminder to its recipient, under
	// that reminder's key, in place of this attempt (asDaysReminder): it sent the
	// email, and reports so.
	sentAsDays := false
	wasSent := d.SentAt
	if attempt > 1 {
		wasTo, wasAt := d.Message.To, d.SentAt
		// A later attempt is sent when it is sent: it says what is true then, to
		// whoever holds the recipient's role then, and the log keeps what it says.
		if d, sendErr = a.recompose(ctx, d); sendErr == nil {
			// Composed for whoever holds the role now, who may have been erased: the
			// erasure is recorded before the organisations forget them, which their
			// own consumer does in the signatory stream's order.
			if gone, err := a.anyErased(ctx, d.Message.To); err != nil || gone != "" {
				if err != nil {
					return false, err // claimed and not sent: retried after the lease
				}
				d.Status, d.LastError, d.UpdatedAt = StatusGivenUp, "the recipient was erased at their request", a.clock.Now()
				if err := a.deliveries.Record(context.WithoutCancel(ctx), d); err != nil {
					return false, err
				}
				return false, a.erasures.Forget(context.WithoutCancel(ctx), personal.Subject(gone))
			}
			if saysWhereItStands(d) {
				// Going on a later day than it was written (a retry, or ops' resend of
				// one sent or given up): it is that day's reminder to them, where one is
				// still to go, and says no more where it stands where it went already.
				d, sentAsDays, sendErr = a.asDaysReminder(ctx, d)
			}
		}
		if sendErr == nil {
			if !wasAt.IsZero() && !sameRecipients(wasTo, d.Message.To) {
				d.Earlier = append(d.Earlier, Sent{To: wasTo, At: wasAt})
			}
			if err := a.deliveries.PutBody(ctx, d); err != nil {
				return false, err // claimed and not sent: retried after the lease
			}
		}
	}
	if sendErr == nil {
		msg := d.Message
		if !d.SentAt.IsZero() {
			// Sent before (this is ops' resend): a message of its own. Mail systems
			// take a Message-ID they hold already for the message they hold, and drop
			// or fold the copy, so the resend most needed, to the same person, could
			// vanish. A retry of an email not yet sent keeps the ID, so that a relay's
			// doubtful first attempt and its retry are one message to the recipient.
			msg.MessageID = resentID(msg.MessageID, attempt)
		}
		sendErr = a.sender.Send(ctx, msg)
	}
	d.UpdatedAt = a.clock.Now()
	// Ops' resend of an email sent before, sent as the day's reminder under that
	// reminder's key (whose own entry logs and counts it): this entry stays as it was,
	// sent when it was.
	resentAsDays := sentAsDays && !wasSent.IsZero()
	switch {
	case resentAsDays:
		d.Status, d.SentAt, d.LastError = StatusSent, wasSent, ""
	case sendErr == nil:
		d.Status, d.SentAt, d.LastError = StatusSent, d.UpdatedAt, ""
	case errors.As(sendErr, new(permanent)) || attempt >= a.cfg.MaxAttempts:
		d.Status, d.LastError = StatusGivenUp, sendErr.Error()
	default:
		d.Status, d.LastError = StatusFailed, sendErr.Error()
		d.NextAttemptAt = d.UpdatedAt.Add(time.Duration(1<<min(attempt, 10)) * time.Minute)
	}
	switch {
	case resentAsDays:
	case d.Status == StatusGivenUp && overtaken(sendErr):
		// Not sent because it need not be: no relay refused it, and the alert on
		// emails given up (TCEmailsGivenUp) says one failed for good.
		a.metrics.Overtaken(d.Kind)
	default:
		a.metrics.Delivered(d.Kind, d.Status)
	}
	if d.Status == StatusSent && d.Kind == "reminder" {
		a.metrics.ReminderSent(d.Step)
	}
	if err := a.deliveries.Record(context.WithoutCancel(ctx), d); err != nil {
		return sendErr == nil || sentAsDays, err
	}
	// The day's reminder had no outcome when this email was logged as going as it,
	// or this is the day's reminder, now settled, that emails went as.
	var took tookDay
	switch {
	case errors.As(sendErr, &took) && took.pending:
		if err := a.settledAsTheDays(context.WithoutCancel(ctx), d, took.day); err != nil {
			return sentAsDays, err
		}
	case !resentAsDays && saysWhereItStands(d) && !overtaken(sendErr):
		if err := a.endsOfTheDay(context.WithoutCancel(ctx), d); err != nil {
			return sendErr == nil || sentAsDays, err
		}
	}
	if sendErr == nil && a.sent != nil {
		// Sent and logged: entered in the register too, so that a restore of the log
		// from a backup does not make it due again.
		a.sent.Email(context.WithoutCancel(ctx), d)
	}
	// Erased while the email was being sent: the record just written names them, and
	// the erasure's own sweep may have run before it; it is forgotten again.
	if gone, err := a.anyErased(context.WithoutCancel(ctx), d.Message.To); err != nil || gone != "" {
		if err == nil {
			err = a.erasures.Forget(context.WithoutCancel(ctx), personal.Subject(gone))
		}
		return sendErr == nil || sentAsDays, err
	}
	return sendErr == nil || sentAsDays, nil
}

// Erasures is notify's record of the people erased (by their address's digest) and
// the forgetting of one in everything notify holds.
type Erasures interface {
	Erased(ctx context.Context, email string) (bool, error)
	Forget(ctx context.Context, subject string) error
	NamedAgain(ctx context.Context, at time.Time, emails ...string) error
}

// NamedAgain says that an event of time `at` named these people anew (the signatory
// service an organisation's lead and head, ops a pool member, an applicant their own
// application): anyone of them erased before then gets emails again.
func (a *App) NamedAgain(ctx context.Context, at time.Time, people ...mail.Person) error {
	if a.erasures == nil {
		return nil
	}
	emails := make([]string, 0, len(people))
	for _, p := range people {
		emails = append(emails, p.Email)
	}
	return a.erasures.NamedAgain(ctx, at, emails...)
}

// UseErasures gives the app notify's record of erasures: no email is then sent to a
// person erased, and one sent while they were being erased is forgotten once
// recorded.
func (a *App) UseErasures(e Erasures) error {
	if e == nil {
		return errors.New("app: erasures are required")
	}
	a.erasures = e
	return nil
}

// forgetIfErased forgets, wherever notify holds them, whichever of people was erased
// (and not named again since). The review consumer calls it after each write of its
// that names a reviewer (an assignment's record, a mark, a corrected record): an
// event made before the erasure and taken in after it names them again, in a
// document the erasure's forgetting may already have passed. That forgetting starts
// after the record of the erasure is written, so a write it did not see is followed
// by a look that sees the record.
func (a *App) forgetIfErased(ctx context.Context, people ...mail.Person) error {
	for _, p := range people {
		gone, err := a.anyErased(ctx, []mail.Person{p})
		if err != nil {
			return err
		}
		if gone != "" {
			if err := a.erasures.Forget(ctx, personal.Subject(gone)); err != nil {
				return err
			}
		}
	}
	return nil
}

// anyErased is the address of the first of to who was erased, or "".
func (a *App) anyErased(ctx context.Context, to []mail.Person) (string, error) {
	if a.erasures == nil {
		return "", nil
	}
	for _, p := range to {
		if p.Email == "" {
			continue
		}
		gone, err := a.erasures.Erased(ctx, p.Email)
		if err != nil || gone {
			return p.Email, err
		}
	}
	return "", nil
}

// leaseFor is how long a claimed attempt may stay unrecorded before it is presumed lost
// (its replica died between claiming and recording) and tried again, as the next
// attempt under a key of its own. It is four times the SMTP client's timeout (15s), so
// a replica that is alive always records its outcome before anyone else may take the
// email over, and short enough that a receipt whose sender was killed still arrives
// within a minute or so (the reliability harness measured a 10-minute lease as the
// one email that did not arrive while notify was being killed). The one case this cannot settle is a replica dying after the
// relay accepted the message and before recording it: the email then goes out a
// second time, with the same Message-ID, so mail clients show it once. We prefer that
// to the alternative, never sending a deadline email whose sender crashed.
const leaseFor = time.Minute

func (a *App) retry(ctx context.Context) (int, error) {
	now := a.clock.Now()
	due, err := a.deliveries.Retryable(ctx, now, now.Add(-leaseFor), 100)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, d := range due {
		if d.Kind == KindSigninLink {
			// Its log entry has no link to send (see SendSigninLink); a sender that
			// died mid-send leaves the person to ask for another link.
			d.Status, d.LastError, d.UpdatedAt = StatusGivenUp, "sign-in links are not retried", now
			if err := a.deliveries.Record(ctx, d); err != nil {
				return sent, err
			}
			// The erasure left the entry, being sent, to its sender.
			if err := a.forgetIfErased(ctx, d.Message.To...); err != nil {
				return sent, err
			}
			continue
		}
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
	ds, next, err := a.deliveries.List(ctx, q)
	for i := range ds {
		if ds[i].Status == statusGaveUpBefore {
			ds[i].Status = StatusGivenUp
		}
	}
	return ds, next, err
}

// DropExpiredBodies deletes the bodies of the emails settled more than the body
// retention period ago, keeping their log entries (who, what subject, when, outcome).
// The service runs it on a schedule.
func (a *App) DropExpiredBodies(ctx context.Context) (int, error) {
	return a.deliveries.DropBodies(ctx, a.clock.Now().Add(-a.cfg.BodyRetention))
}

// ForgetOldRecipients removes the recipients of the emails settled more than the log
// retention period ago from their log entries, which keep the rest (organisation,
// kind, subject, outcome, times). The service runs it on a schedule.
func (a *App) ForgetOldRecipients(ctx context.Context) (int, error) {
	return a.deliveries.ForgetRecipients(ctx, a.clock.Now().Add(-a.cfg.LogRetention))
}

// bodyDropped reports whether a settled delivery's body was deleted for its age:
// nothing is left to compose it again from.
func (d Delivery) bodyDropped() bool {
	return (d.Status == StatusSent || d.Status == StatusGivenUp || d.Status == statusGaveUpBefore) &&
		d.Message.Text == "" && d.Message.HTML == "" && len(d.Content.Paragraphs) == 0
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
	// An erasure blanks the person in the entry and deletes the text: the email is not
	// sent again, and the refusal says why (no retention period has passed).
	for _, p := range d.Message.To {
		if p.Email == "" {
			return Delivery{}, apperr.New(apperr.Conflict, "a recipient of this email was erased at their request: its text is deleted and it is not sent again")
		}
	}
	if d.bodyDropped() {
		return Delivery{}, apperr.New(apperr.Conflict, "this email is past its retention period and its text is deleted; it cannot be sent again")
	}
	// The log keeps a sign-in email without its link (which works once, for minutes):
	// sent again, it would say "use this link" with none.
	if d.Kind == KindSigninLink {
		return Delivery{}, apperr.New(apperr.Conflict, "this email is a sign-in link, which works once and is not kept: it is not resent; the person asks for another at the portal's sign-in page")
	}
	// An email that is no longer true is refused before an attempt is claimed: its log
	// entry stays as it was, and nothing is counted as given up (which says the relay
	// refused an email). Any other trouble composing it is the attempt's to record.
	if again, err := a.recompose(ctx, d); err != nil {
		var s stale
		if errors.As(err, &s) {
			return Delivery{}, apperr.New(apperr.Conflict, "this email is not resent (%s): there is nothing to resend", s.why)
		}
		if !errors.As(err, new(permanent)) {
			return Delivery{}, err
		}
	} else if gone, err := a.anyErased(ctx, again.Message.To); err != nil || gone != "" {
		// Sent again, it would go to whoever holds the role now: someone erased, whom
		// the organisations are about to forget.
		if err != nil {
			return Delivery{}, err
		}
		return Delivery{}, apperr.New(apperr.Conflict, "this email would now go to a person erased at their request: it is not sent again")
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

// previewBatch is the most organisations a preview reads at once.
const previewBatch = 16

// previewCursor is where a page of the preview ends: its last organisation's next
// reminder, in the preview's order (day, then organisation).
type previewCursor struct {
	On  string `json:"on"`
	Org string `json:"org"`
}

// Preview lists the next reminder of each organisation, soonest first, with the
// subject it would have on its day and the recipients it would have today (ops), a
// page at a time.
//
// It walks the pending reminders from the cursor, and takes each organisation once,
// at the first of them: the organisation's next reminder is its first pending one
// the ladder would still send, which is never before this one (an organisation's
// every pending reminder after the cursor comes at or after its first). So a page
// reads the organisations it shows, and those whose reminders the ladder would no
// longer send, whatever the number of reminders made over the years.
func (a *App) Preview(ctx context.Context, by auth.Principal, limit int, cursor string) ([]Reminder, string, error) {
	if !by.IsOps() {
		return nil, "", apperr.New(apperr.Forbidden, "only ITSS operations staff preview reminders")
	}
	var after previewCursor
	var afterOn civil.Date
	if cursor != "" {
		var err error
		if err = store.DecodeCursor(cursor, &after); err == nil && after.Org != "" {
			afterOn, err = civil.Parse(after.On)
		}
		if err != nil || after.Org == "" {
			return nil, "", store.BadCursor()
		}
	}
	today := a.today()
	var found []Reminder // in the preview's order
	seen := map[string]bool{}
	var failed error
	full := func(at ladder.Reminder) bool {
		// Every organisation not met yet has its next reminder at or after at.
		return len(found) > limit && !previewBefore(at.Step.On, at.OrganisationID, found[limit].On, found[limit].OrganisationID)
	}
	// The organisations met are read in batches, concurrently: each is a read of the
	// database, and a page of 50 read one after another cost the console's reminders
	// page most of its 50 ms. Until a batch is read, full sees fewer organisations
	// than were met, which can only make it stop later, never too soon (more items
	// can only bring found[limit] earlier). A batch is no larger than the items the
	// page still lacks (at most previewBatch, at least one): a batch of 16 when the
	// page lacked one read up to 15 organisations past its end, so that a page cost
	// more where there were more organisations to walk past (issue 22).
	var batch []string
	read := func() {
		if len(batch) == 0 || failed != nil {
			return
		}
		items := make([]Reminder, len(batch))
		oks := make([]bool, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, org := range batch {
			wg.Go(func() { items[i], oks[i], errs[i] = a.nextReminder(ctx, org, today) })
		}
		wg.Wait()
		batch = batch[:0]
		if failed = errors.Join(errs...); failed != nil {
			return
		}
		for i, item := range items {
			if !oks[i] || (cursor != "" && !previewBefore(afterOn, after.Org, item.On, item.OrganisationID)) {
				continue // nothing to send, or shown on an earlier page
			}
			at, _ := slices.BinarySearchFunc(found, item, func(x, y Reminder) int {
				return cmp.Or(cmp.Compare(x.On.String(), y.On.String()), cmp.Compare(x.OrganisationID, y.OrganisationID))
			})
			found = slices.Insert(found, at, item)
		}
	}
	err := a.reminders.Pending(ctx, afterOn, after.Org, func(r ladder.Reminder) bool {
		if full(r) {
			return false
		}
		if seen[r.OrganisationID] {
			return true
		}
		if len(batch) >= max(1, min(previewBatch, limit+1-len(found))) {
			if read(); failed != nil || full(r) {
				return false
			}
		}
		seen[r.OrganisationID] = true
		batch = append(batch, r.OrganisationID)
		return true
	})
	if err == nil {
		read()
		err = failed
	}
	if err != nil {
		return nil, "", err
	}
	if len(found) > limit {
		last := found[limit-1]
		return found[:limit], store.EncodeCursor(previewCursor{On: last.On.String(), Org: last.OrganisationID}), nil
	}
	return append([]Reminder{}, found...), "", nil
}

// previewBefore says whether (aOn, aOrg) comes before (bOn, bOrg) in the preview.
func previewBefore(aOn civil.Date, aOrg string, bOn civil.Date, bOrg string) bool {
	if aOn != bOn {
		return aOn.Before(bOn)
	}
	return aOrg < bOrg
}

// nextReminder is the organisation's first pending reminder that the ladder would
// send, as the preview shows it; false when there is none.
func (a *App) nextReminder(ctx context.Context, org string, today civil.Date) (Reminder, bool, error) {
	o, ok, err := a.orgs.Get(ctx, org)
	if err != nil || !ok {
		return Reminder{}, false, err
	}
	pending, err := a.reminders.PendingOf(ctx, org)
	if err != nil {
		return Reminder{}, false, err
	}
	for _, r := range pending {
		if ladder.Decide(o.state(), []ladder.Reminder{r})[0] != ladder.Send {
			continue
		}
		ob := a.ladderOf(&o)
		on := r.Step.On
		if on.Before(today) {
			on = today // a step missed is sent, as it stands, by the next sweep
		}
		return Reminder{OrganisationID: o.ID, OrganisationName: o.Name, ObligationID: ob.ID, Step: r.Step.Name, On: r.Step.On,
			Subject: reminderSubject(o.Name, ob, r.Step, on), To: people(recipients(o, r.Step))}, true, nil
	}
	return Reminder{}, false, nil
}

// key is the exactly-once key of one email: recipient, what it is about, which step.
func key(recipient, subject, step string) string {
	sum := sha256.Sum256([]byte(recipient + "|" + subject + "|" + step))
	return hex.EncodeToString(sum[:16])
}

// newToken is a calendar feed's secret: 192 random bits.
func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// resentID is the Message-ID of attempt n of an email sent before under id.
func resentID(id string, n int) string {
	local, domain, ok := strings.Cut(id, "@")
	if !ok {
		return fmt.Sprintf("%s.resent-%d", id, n)
	}
	return fmt.Sprintf("%s.resent-%d@%s", local, n, domain)
}

// sameRecipients says two lists name the same mailboxes.
func sameRecipients(a, b []mail.Person) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i].Email, b[i].Email) {
			return false
		}
	}
	return true
}
