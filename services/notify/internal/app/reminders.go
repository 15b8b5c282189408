package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
	"github.com/itss/techcommit/services/notify/internal/ical"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// Recipient is a person and the role in which they are written to.
type Recipient struct {
	mail.Person
	Role string
}

func people(rs []Recipient) []mail.Person {
	out := make([]mail.Person, len(rs))
	for i, r := range rs {
		out[i] = r.Person
	}
	return out
}

// recipients are who a reminder goes to: the nominated lead, and the head of the
// institution too at the ladder's overdue steps. The lead comes first, so that the
// head's email can say when the lead was told, today included. An organisation
// whose lead was erased at their request has none until it names another: no email
// goes to no one (the head is still told at the overdue steps).
func recipients(o Organisation, step ladder.Step) []Recipient {
	var to []Recipient
	if o.Lead.Email != "" {
		to = append(to, Recipient{o.Lead, RoleLead})
	}
	// One mailbox, written in other capitals on the form, is one person: the head
	// who is the lead too is written to once, as the lead.
	if step.Overdue && o.Leader.Email != "" && !strings.EqualFold(o.Leader.Email, o.Lead.Email) {
		to = append(to, Recipient{o.Leader, RoleHead})
	}
	return to
}

func (a *App) sendReminder(ctx context.Context, o Organisation, r ladder.Reminder) (int, error) {
	ob := a.ladderOf(&o)
	today := a.today()
	sent := 0
	waiting, err := a.waitingToBeTold(ctx, o.ID)
	if err != nil {
		return 0, err
	}
	for _, to := range recipients(o, r.Step) {
		k := reminderKey(to.Email, r, today)
		told, err := a.toldFirst(ctx, o, waiting, to.Email, k, r.Step.Name)
		if told {
			sent++
		}
		if err != nil {
			return sent, err
		}
		// The lead comes first in recipients: by the head's email, the lead's of
		// today is sent, or being retried.
		m, err := a.reminder(ctx, o, ob, r.Step, to, k, o.Lead.Email != "")
		if err != nil {
			return sent, err
		}
		ok, err := a.deliver(ctx, Delivery{Key: k, OrganisationID: o.ID, Kind: "reminder", Step: r.Step.Name, Message: m,
			About: about(r.ObligationID, r.Due), Role: to.Role}, 1)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// saysWhereItStands says d is an email that says where its organisation's open
// obligation stands on the day it goes, to one person who is reminded of it: the
// email naming a lead (handOver), a corrected deadline's to the lead or the head
// (announcementCorrected), and the email recording a head (headChanged). Tried again
// on a later day, each is that day's reminder to them where one is still to go
// (toldFirst, asDaysReminder): left to the sweep's retries, which come after the
// reminders, it went beside the reminder, both saying where it stands.
func saysWhereItStands(d Delivery) bool {
	switch d.Kind {
	case KindLeadNamed:
		return true
	case KindAnnouncementCorrected:
		return strings.HasPrefix(d.About, KindAnnouncementCorrected+":") && (d.Role == RoleLead || d.Role == RoleHead)
	case KindHeadChanged:
		return d.Role == RoleHeadNamed
	}
	return false
}

// waitingToBeTold lists the organisation's emails that say where its obligation
// stands (saysWhereItStands) and wait to be tried again, or are being tried again.
func (a *App) waitingToBeTold(ctx context.Context, org string) ([]Delivery, error) {
	failed, _, err := a.deliveries.List(ctx, DeliveryQuery{OrganisationID: org, Status: StatusFailed, Limit: 200})
	if err != nil {
		return nil, err
	}
	sending, _, err := a.deliveries.List(ctx, DeliveryQuery{OrganisationID: org, Status: StatusSending, Limit: 200})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(append(failed, sending...), func(d Delivery) bool { return !saysWhereItStands(d) }), nil
}

// toldFirst sends, as the day's reminder to the address email (under its key k, of
// the ladder's step named step), one of waiting (waitingToBeTold) to them that the
// relay refused and that waits to be tried again: left to the sweep's retries, which
// come after the reminders, it went beside the reminder, saying where it stands
// again. Its own attempt, on whichever replica, then finds it sent so and gives it
// up (asDaysReminder); of the two, and the reminder, one goes under k. So is one
// being tried again on another replica now (a later attempt being sent, which goes
// under k too), lest the reminder take k first and the two go; not a first attempt
// being sent, which goes under its own key whatever this sweep does. It reports
// whether it sent one.
func (a *App) toldFirst(ctx context.Context, o Organisation, waiting []Delivery, email, k, step string) (bool, error) {
	for _, d := range waiting {
		if d.Key == k || len(d.Message.To) != 1 || !strings.EqualFold(d.Message.To[0].Email, email) ||
			d.Status == StatusSending && d.Attempts < 2 || !d.SentAt.IsZero() {
			continue
		}
		full, ok, err := a.deliveries.Get(ctx, d.Key)
		if err != nil || !ok {
			return false, err
		}
		// As its next attempt would go: to them now, saying where it stands as of
		// today; one no longer true is left to that attempt to give up.
		again, err := a.recompose(ctx, full)
		if err != nil {
			if errors.As(err, new(permanent)) {
				continue
			}
			return false, err
		}
		if len(again.Message.To) != 1 || !strings.EqualFold(again.Message.To[0].Email, email) || len(again.Content.Paragraphs) < 2 {
			continue // to whoever holds the role now, who is not reminded under k
		}
		return a.sendAsDaysReminder(ctx, o, again, k, step)
	}
	return false, nil
}

// tellWhereItStands sends e, an email that says where an obligation stands today, to
// r, once however often it is tried. Where it is that day's reminder to r (dayKey
// is that reminder's key, reminderKey; "" where it is not), it goes under that key,
// so that of the two, whichever replica sends either, only one goes. A key held
// already by the sweep's reminder (the sweep came first), or by another email, leaves
// e to go under its own key (its cause and kind), since it says what the reminder did
// not; the sweep finds the day's key taken and sends nothing after it. A person
// erased gets neither.
func (a *App) tellWhereItStands(ctx context.Context, e Email, r Recipient, dayKey string) error {
	if r.Email == "" {
		return nil
	}
	e.About = cmp.Or(e.About, e.Cause)
	e, err := a.named(ctx, e)
	if err != nil {
		return err
	}
	// Told already under either key, on this day or an earlier one (an event handled
	// again after a failure, a lead who is the head too): not again.
	if told, err := a.toldAlready(ctx, e, r.Email); err != nil || told {
		return err
	}
	if dayKey != "" {
		if err := a.notifyUnder(ctx, dayKey, e, r); err != nil {
			return err
		}
		held, ok, err := a.deliveries.Get(ctx, dayKey)
		if err != nil || !ok || (held.Kind == e.Kind && held.About == e.About) {
			return err // sent as the day's reminder, or not at all to a person erased
		}
	}
	return a.notifyUnder(ctx, key(r.Email, e.Cause, e.Kind), e, r)
}

// dayKey is the key of the day's reminder of ob to the address email, where a step of
// ob's ladder (an overdue one, when overdueOnly: the head's) has fallen due by today,
// or "".
func (a *App) dayKey(email string, ob ladder.Obligation, overdueOnly bool) string {
	today := a.today()
	if !slices.ContainsFunc(a.cfg.Ladder.Steps(ob), func(s ladder.Step) bool { return !s.On.After(today) && (s.Overdue || !overdueOnly) }) {
		return ""
	}
	return reminderKey(email, ladder.Reminder{ObligationID: ob.ID, Due: ob.Due}, today)
}

// pendingDayKey is dayKey where a step of ob's ladder (an overdue one, when
// overdueOnly) due by today is still to be sent by the sweep, or "".
func (a *App) pendingDayKey(ctx context.Context, org, email string, ob ladder.Obligation, overdueOnly bool) (string, error) {
	due, err := a.reminders.Due(ctx, org, a.today())
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(due, func(r ladder.Reminder) bool {
		return r.ObligationID == ob.ID && r.Due == ob.Due && (r.Step.Overdue || !overdueOnly)
	}) {
		return "", nil
	}
	return a.dayKey(email, ob, overdueOnly), nil
}

// daysReminder is, for an email that says where o's open obligation stands
// (saysWhereItStands) going today to the address email: the key of that day's
// reminder to them (as its lead, of any step; as its head and not its lead, of an
// overdue one), "" where no such step has fallen due by today or they are neither;
// the latest such step still to be sent to them today, "" for none; and whether the
// email is that day's reminder: one is still to go, or, to the lead, it is overdue
// (tellLeadNamed).
func (a *App) daysReminder(ctx context.Context, o Organisation, email string) (k, step string, is bool, err error) {
	ob := o.Obligation
	if ob == nil || ob.Met || email == "" {
		return "", "", false, nil
	}
	lead := strings.EqualFold(email, o.Lead.Email)
	if !lead && !strings.EqualFold(email, o.Leader.Email) {
		return "", "", false, nil
	}
	addr := email
	if lead {
		addr = o.Lead.Email // the sweep's key, in the capitals the lead's address has
	}
	lo := a.ladderOf(&o)
	if k = a.dayKey(addr, lo, !lead); k == "" {
		return "", "", false, nil
	}
	due, err := a.reminders.Due(ctx, o.ID, a.today())
	if err != nil {
		return "", "", false, err
	}
	var latest ladder.Step
	for _, r := range due {
		if r.ObligationID == lo.ID && r.Due == lo.Due && (lead || r.Step.Overdue) && (latest.Name == "" || r.Step.On.After(latest.On)) {
			latest = r.Step
		}
	}
	return k, latest.Name, latest.Name != "" || lead && a.today().After(ob.Due), nil
}

// toldAlready says whether e was sent (or is being sent) to the address email, under
// whichever key: its log entry has its kind and what it is about.
func (a *App) toldAlready(ctx context.Context, e Email, email string) (bool, error) {
	ds, _, err := a.deliveries.List(ctx, DeliveryQuery{OrganisationID: e.Org, Limit: 200})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ds, func(d Delivery) bool {
		return d.Kind == e.Kind && d.About == e.About && len(d.Message.To) > 0 && strings.EqualFold(d.Message.To[0].Email, email)
	}), nil
}

// settleTold settles the steps of ob's ladder that have fallen due by today, now that
// an email to each of their recipients said where it stands today
// (tellWhereItStands): as the sweep would have, the latest as sent (entered in the
// register of what was sent, so that a restore does not make it due again) and those
// before it as superseded. The sweep, which may have listed them already, finds the
// day's keys taken and sends nothing; tomorrow's finds them settled.
func (a *App) settleTold(ctx context.Context, o Organisation, ob ladder.Obligation) error {
	due, err := a.reminders.Due(ctx, o.ID, a.today())
	if err != nil {
		return err
	}
	var told []ladder.Reminder
	for _, r := range due {
		if r.ObligationID == ob.ID && r.Due == ob.Due {
			told = append(told, r)
		}
	}
	outcomes := ladder.Decide(o.state(), told)
	for i, r := range told {
		if err := a.reminders.Settle(ctx, r, outcomes[i]); err != nil {
			return err
		}
		if outcomes[i] == ladder.Send && a.sent != nil {
			a.sent.Reminder(ctx, r)
		}
	}
	return nil
}

// about names an obligation as scheduled: a moved due date is something else.
func about(obligation string, due civil.Date) string { return obligation + "@" + due.String() }

// reminderKey is the exactly-once key of a reminder: its recipient, the obligation as
// scheduled (a moved due date is a new subject), and the day it is sent on. Not the
// step: an email says where the obligation stands on the day it is sent, whichever
// step made it due, so two steps due the same day (a ladder a sweep saw half listed,
// then the rest) would send one email twice.
func reminderKey(recipient string, r ladder.Reminder, on civil.Date) string {
	return key(recipient, about(r.ObligationID, r.Due), "day:"+on.String())
}

func (a *App) ladderOf(o *Organisation) ladder.Obligation {
	return ladder.Obligation{ID: o.Obligation.ID, Kind: o.Obligation.Kind, WindowOpens: o.Obligation.WindowOpens, Due: o.Obligation.Due}
}

func what(kind string) string {
	if kind == "action_plan" {
		return "action plan"
	}
	return "self-assessment and action plan"
}

// member says how an organisation is in the Commitment, by its obligation: a
// signatory signs it and owes a self-assessment and action plan; a supporter, whose
// obligation is an action plan alone, supports it without signing.
func member(kind string) string {
	if kind == "action_plan" {
		return "supports the Technician Commitment"
	}
	return "has signed the Technician Commitment"
}

// reminderSubject says where the obligation stands on the day the email is sent. The
// step only decides that an email is due; what it says is the position that day, so
// that an email sent late (after downtime, or for an obligation scheduled late) tells
// the truth rather than what its step would have said on its own day.
func reminderSubject(org string, ob ladder.Obligation, step ladder.Step, on civil.Date) string {
	w, due := what(ob.Kind), mail.Day(ob.Due)
	left := on.DaysUntil(ob.Due)
	switch {
	case left < 0:
		return fmt.Sprintf("Technician Commitment: %s's %s is %s overdue (due %s)", org, w, mail.Days(-left), due)
	case left == 0:
		return fmt.Sprintf("Technician Commitment: %s's %s is due today (%s)", org, w, due)
	case left == 1:
		return fmt.Sprintf("Technician Commitment: %s's %s is due tomorrow (%s)", org, w, due)
	case step.Name == "window-open":
		return fmt.Sprintf("Technician Commitment: %s's %s window is open: due in %s (%s)", org, w, mail.Days(left), due)
	default:
		return fmt.Sprintf("Technician Commitment: %s's %s is due in %s (%s)", org, w, mail.Days(left), due)
	}
}

// standing is the sentence that says where the obligation stands today.
func standing(due, today civil.Date) string {
	left := today.DaysUntil(due)
	var where string
	switch {
	case left < 0:
		where = "it is " + mail.Days(-left) + " overdue"
	case left == 0:
		where = "it is due today"
	case left == 1:
		where = "it is due tomorrow"
	default:
		where = "it is due in " + mail.Days(left)
	}
	return fmt.Sprintf("As of today, %s, %s.", mail.Day(today), where)
}

// reminder composes the reminder to one recipient, as of today. leadToday says that
// the lead's reminder of today goes with it (the sweep's first attempt), so the
// head's email may say the lead is being reminded today; a later attempt, sent on
// its own, may not.
func (a *App) reminder(ctx context.Context, o Organisation, ob ladder.Obligation, step ladder.Step, to Recipient, k string, leadToday bool) (mail.Message, error) {
	today := a.today()
	w := what(ob.Kind)
	m := mail.Message{
		MessageID: k + "@technician-commitment.itss.org.uk",
		To:        []mail.Person{to.Person}, Subject: reminderSubject(o.Name, ob, step, today),
	}
	link := a.obligationURL(o.ID)
	var c mail.Content
	if to.Role == RoleHead {
		now, before, err := a.leadToldOn(ctx, o, ob)
		if err != nil {
			return m, err
		}
		// The head does not sign in to the portal (it knows leads, reviewers and
		// applicants): the email points them to the lead, who does, not to pages
		// they could never open.
		act := fmt.Sprintf("Please make sure it is submitted, or tell ITSS what stands in the way. %s submits it in the Technician Commitment portal, where they can see %s's obligations.", upper(o.Lead.Name), o.Name)
		if o.Lead.Name == "" {
			act = fmt.Sprintf("Please make sure it is submitted, or tell ITSS what stands in the way. The nominated lead submits it in the Technician Commitment portal, where they can see %s's obligations.", o.Name)
		}
		if o.Lead.Email == "" {
			act = "Please make sure it is submitted, or tell ITSS what stands in the way. Once a lead is named, they submit it in the Technician Commitment portal."
		}
		c = mail.Content{Paragraphs: []string{
			fmt.Sprintf("You are receiving this email because you are the head of %s, which %s, and %s's %s is overdue. It was due on %s.", o.Name, member(ob.Kind), o.Name, w, mail.Day(ob.Due)),
			standing(ob.Due, today),
			leadTold(o, now, before, leadToday),
			act,
		}}
		link = ""
	} else {
		opens := "Submissions have been open since %s."
		if ob.WindowOpens.After(today) {
			opens = "Submissions open on %s."
		}
		is := "is"
		if today.After(ob.Due) {
			is = "was"
		}
		paras := []string{
			fmt.Sprintf("%s's %s for the Technician Commitment %s due on %s. "+opens, o.Name, w, is, mail.Day(ob.Due), mail.Day(ob.WindowOpens)),
			standing(ob.Due, today),
		}
		if today.After(ob.Due) {
			paras = append(paras, "Please submit it, or tell ITSS if something stands in the way.")
		}
		paras = append(paras, "The attached calendar entry marks the due date. Submit it, and see your organisation's obligations and its calendar feed, in the Technician Commitment portal:")
		c = mail.Content{Paragraphs: paras, Action: link}
	}
	c.Greeting = "Dear " + to.Name + ","
	c.Names = []string{o.Name, to.Name, o.Lead.Name} // see mail.Content.Names
	if err := a.render(&m, c); err != nil {
		return m, err
	}
	if to.Role == RoleHead {
		// The head is written to once the day has gone: an entry marking it would be
		// for a day past, and their email says nothing of one.
		return m, nil
	}
	now := a.clock.Now()
	due := dueEntry(o.Name, ob.ID, ob.Kind, ob.Due, now)
	due.URL = link
	m.ICS = ical.Calendar(orgCalendar(o.Name), a.cfg.Organizer, []ical.Event{due}, now)
	return m, nil
}

// orgCalendar names the calendar of an organisation's obligations, in its emails and
// its feed.
func orgCalendar(org string) string { return org + " Technician Commitment" }

// dueUID is the UID of an obligation's due date in every calendar: the reminders'
// entries, the feed's, and the cancellations that take them back.
func dueUID(obligation string) string { return obligation + "-due@technician-commitment.itss.org.uk" }

// dueEntry is the entry of an organisation's obligation's due date as the reminders
// put it in the lead's calendar, stated at now (ical.SequenceAt): a later one, a
// cancellation included, supersedes it.
func dueEntry(org, obligation, kind string, due civil.Date, now time.Time) ical.Event {
	return ical.Event{UID: dueUID(obligation), On: due, Sequence: ical.SequenceAt(now),
		Summary: fmt.Sprintf("Technician Commitment %s due (%s)", what(kind), org)}
}

// upper begins a sentence with s: its first letter in capitals, whatever its script
// ("émilie Laurent" reads "Émilie Laurent"; capitalising the first byte cut the é in
// two, and the head of institution read "\ufffd\ufffdmilie").
func upper(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || r == utf8.RuneError {
		return s
	}
	return string(unicode.ToTitle(r)) + s[n:]
}

// leadTold is the head's paragraph on the nominated lead: whom the reminders of the
// obligation went to and when, or that the organisation has no lead to remind.
// Reminders that went to an earlier lead (or to the lead's earlier address) are not
// said to have reached the lead the organisation has now.
func leadTold(o Organisation, now, before []string, leadToday bool) string {
	var says []string
	switch len(before) {
	case 0:
	case 1:
		says = append(says, fmt.Sprintf("A reminder of it went by email on %s to the nominated lead recorded at the time.", before[0]))
	default:
		says = append(says, fmt.Sprintf("Reminders of it went by email on %s to the nominated lead recorded at the time.", mail.List(before)))
	}
	if o.Lead.Email == "" {
		says = append(says, fmt.Sprintf("%s has no nominated lead for the Technician Commitment recorded now, so nobody else is being reminded of it. "+
			"Please name a new nominated lead by telling ITSS who it is.", o.Name))
		return strings.Join(says, " ")
	}
	lead := "its nominated lead for the Technician Commitment"
	if len(before) > 0 && len(now) == 0 {
		lead += " now"
	}
	if o.Lead.Name != "" {
		lead += ", " + o.Lead.Name + ","
	}
	switch {
	case len(now) > 0:
		says = append(says, fmt.Sprintf("%s was reminded of it by email on %s.", upper(lead), mail.List(now)))
	case leadToday:
		says = append(says, fmt.Sprintf("%s is being reminded of it by email today.", upper(lead)))
	case len(before) > 0:
		says = append(says, fmt.Sprintf("%s has been named since, and has not been sent a reminder of it.", upper(lead)))
	default:
		says = append(says, fmt.Sprintf("%s has not been sent a reminder of it.", upper(lead)))
	}
	return strings.Join(says, " ")
}

// leadToldOn lists the days a reminder of this obligation went to the organisation's
// nominated lead, oldest first, from the delivery log: now, to the lead it has now
// (by address, in any case); before, to anyone else (an earlier lead, one since
// erased, or the lead at an earlier address), on days the lead it has now was not
// reminded.
func (a *App) leadToldOn(ctx context.Context, o Organisation, ob ladder.Obligation) (now, before []string, err error) {
	sends, err := a.remindersSent(ctx, o.ID, about(ob.ID, ob.Due), RoleLead)
	if err != nil {
		return nil, nil, err
	}
	toNow, toBefore := map[civil.Date]bool{}, map[civil.Date]bool{}
	for _, sent := range sends {
		day := civil.Of(sent.At.In(london))
		if o.Lead.Email != "" && len(sent.To) > 0 && strings.EqualFold(sent.To[0].Email, o.Lead.Email) {
			toNow[day] = true
		} else {
			toBefore[day] = true
		}
	}
	// A day can be both: a lead named that day is told where things stand, after
	// the lead before them was reminded.
	days := slices.SortedFunc(maps.Keys(mergeDays(toNow, toBefore)), func(x, y civil.Date) int { return x.Time().Compare(y.Time()) })
	for _, day := range days {
		if toNow[day] {
			now = append(now, mail.Day(day))
		}
		if toBefore[day] {
			before = append(before, mail.Day(day))
		}
	}
	return now, before, nil
}

// remindersSent is every sending of the reminders of the obligation as scheduled
// (about) to the role: each entry's latest, and those before a resend re-addressed
// it (Earlier).
func (a *App) remindersSent(ctx context.Context, org, about, role string) ([]Sent, error) {
	ds, _, err := a.deliveries.List(ctx, DeliveryQuery{OrganisationID: org, Status: StatusSent, Limit: 200})
	if err != nil {
		return nil, err
	}
	var out []Sent
	for _, d := range ds {
		switch {
		case d.Kind == "reminder" && d.Role == role && d.About == about:
		case (d.Kind == KindLeadNamed && role == RoleLead || d.Kind == KindHeadChanged && d.Role == RoleHeadNamed && role == RoleHead) &&
			len(d.Message.To) == 1 && d.Key == key(d.Message.To[0].Email, about, "day:"+civil.Of(d.CreatedAt.In(london)).String()):
			// The email naming a lead, or recording a head, is their reminder of that
			// day, under its key (tellLeadNamed, headChanged); to the head it told of
			// an overdue obligation only when sent after the due day (a head who is the
			// lead too takes the lead's reminder of any day).
			if role == RoleHead && !civil.Of(d.CreatedAt.In(london)).After(dueOf(about)) {
				continue
			}
		case d.Kind == KindHeadChanged && d.Role == RoleHeadNamed && role == RoleLead && strings.HasPrefix(d.About, leadsDay+about+"|") &&
			len(d.Message.To) == 1 && d.Key != key(d.Message.To[0].Email, strings.TrimPrefix(d.About, leadsDay+about+"|"), KindHeadChanged):
			// The email recording a head who is the lead too, under the key of the
			// lead's reminder of its day (headChanged), not its own (the key was held):
			// the lead's reminder, with the due date's calendar entry.
		case d.Kind == KindAnnouncementCorrected && d.Role == role && correctedObligation(d.About) == about:
			// A correction's email says where the obligation stands, with the due
			// date's calendar entry to the lead, and is the reminder of its day
			// (tellWhereItStands); to the head it told of an overdue obligation only
			// when sent after the due day.
			if role == RoleHead && !civil.Of(d.SentAt.In(london)).After(dueOf(about)) {
				continue
			}
		default:
			continue
		}
		out = append(append(out, d.Earlier...), Sent{To: d.Message.To, At: d.SentAt})
	}
	return out, nil
}

// dueOf is the due date of an obligation as scheduled (about).
func dueOf(scheduled string) civil.Date {
	due, _ := civil.Parse(scheduled[strings.LastIndex(scheduled, "@")+1:])
	return due
}

func mergeDays(a, b map[civil.Date]bool) map[civil.Date]bool {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// becameOf says what became of the obligation a reminder was about (as scheduled,
// "<obligation>@<due>"), now that the organisation's open one is another. It names
// obligations as people know them (by kind and cycle), not by the service's id.
func becameOf(o Organisation, was string) string {
	id, _, _ := strings.Cut(was, "@")
	if p := o.Previous; p != nil && p.Met && about(p.ID, p.Due) == was {
		return metSays(p)
	}
	if o.Obligation.ID == id {
		return fmt.Sprintf("%s is now due on %s", obligationInWords(o.Obligation), mail.Day(o.Obligation.Due))
	}
	return fmt.Sprintf("the obligation it reminded of is no longer open (the open one is %s, due on %s)", obligationInWords(o.Obligation), mail.Day(o.Obligation.Due))
}

// metSays says an obligation was met, and when, where notify knows.
func metSays(ob *Obligation) string {
	if ob.MetOn.IsZero() {
		return obligationInWords(ob) + " was met"
	}
	return fmt.Sprintf("%s was met on %s", obligationInWords(ob), mail.Day(ob.MetOn))
}

// obligationInWords names an obligation as its organisation's people and ITSS know
// it: "the self-assessment and action plan of cycle 2", "the action plan".
func obligationInWords(ob *Obligation) string {
	if ob.Kind != "action_plan" && ob.Cycle > 0 {
		return fmt.Sprintf("the %s of cycle %d", what(ob.Kind), ob.Cycle)
	}
	return "the " + what(ob.Kind)
}

// recomposeReminder composes a reminder again for a later attempt: as of today, to
// whoever holds the recipient's role now. A reminder that is no longer true (the
// obligation was met, moved or replaced, or the organisation withdrew) is given up.
func (a *App) recomposeReminder(ctx context.Context, d Delivery) (Delivery, error) {
	o, ok, err := a.orgs.Get(ctx, d.OrganisationID)
	if err != nil {
		return d, err
	}
	switch {
	case !ok || o.Obligation == nil:
		return d, noLongerTrue("%s has no open obligation", cmp.Or(o.Name, "the organisation"))
	case o.Withdrawn:
		return d, noLongerTrue("%s withdrew", cmp.Or(o.Name, "the organisation"))
	case about(o.Obligation.ID, o.Obligation.Due) != d.About:
		return d, noLongerTrue("%s", becameOf(o, d.About))
	case o.Obligation.Met:
		return d, noLongerTrue("%s", metSays(o.Obligation))
	}
	ob := a.ladderOf(&o)
	// Only the latest step due today is worth sending: the sweep has sent it (or
	// will retry it), and older steps retried now would say the same thing again,
	// one email each, after an outage of the relay.
	var step, latest ladder.Step
	today := a.today()
	for _, s := range a.cfg.Ladder.Steps(ob) {
		if s.Name == d.Step {
			step = s
		}
		if !s.On.After(today) {
			latest = s
		}
	}
	if latest.Name != d.Step {
		return d, superseded("the %s reminder is the one that is true today", latest.Name)
	}
	to, who := Recipient{o.Lead, RoleLead}, "nominated lead"
	if d.Role == RoleHead {
		to, who = Recipient{o.Leader, RoleHead}, "head"
	}
	if to.Email == "" { // erased at their request, and nobody named since
		return d, noLongerTrue("%s has no %s recorded now", cmp.Or(o.Name, "the organisation"), who)
	}
	m, err := a.reminder(ctx, o, ob, step, to, d.Key, false)
	if err != nil {
		return d, err
	}
	d.Message = m
	return d, nil
}
