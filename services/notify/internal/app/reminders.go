package app

import (
	"context"
	"fmt"
	"strings"

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
	if step.Overdue && o.Leader.Email != "" && o.Leader.Email != o.Lead.Email {
		to = append(to, Recipient{o.Leader, RoleHead})
	}
	return to
}

func (a *App) sendReminder(ctx context.Context, o Organisation, r ladder.Reminder) (int, error) {
	ob := a.ladderOf(&o)
	today := a.today()
	sent := 0
	for _, to := range recipients(o, r.Step) {
		k := reminderKey(to.Email, r, today)
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
		act := fmt.Sprintf("Please make sure it is submitted, or tell ITSS what stands in the way. The lead submits it, and you can see %s's obligations, in the Technician Commitment portal:", o.Name)
		if o.Lead.Email == "" {
			act = fmt.Sprintf("Please make sure it is submitted, or tell ITSS what stands in the way. Once a lead is named, they submit it; you can see %s's obligations in the Technician Commitment portal:", o.Name)
		}
		c = mail.Content{Paragraphs: []string{
			fmt.Sprintf("You are receiving this email because you are the head of %s, which %s, and %s's %s is overdue. It was due on %s.", o.Name, member(ob.Kind), o.Name, w, mail.Day(ob.Due)),
			standing(ob.Due, today),
			leadTold(o, now, before, leadToday),
			act,
		}, Action: link}
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
	if err := mail.Render(&m, c); err != nil {
		return m, err
	}
	m.ICS = ical.Calendar(o.Name+" Technician Commitment", []ical.Event{{
		UID: ob.ID + "-due@technician-commitment.itss.org.uk", On: ob.Due,
		Summary: fmt.Sprintf("Technician Commitment %s due (%s)", w, o.Name), URL: link,
	}}, a.clock.Now())
	return m, nil
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// leadTold is the head's paragraph on the nominated lead: whom the reminders of the
// obligation went to and when, or that the organisation has no lead to remind.
// Reminders that went to an earlier lead (or to the lead's earlier address) are not
// said to have reached the lead the organisation has now.
func leadTold(o Organisation, now, before []string, leadToday bool) string {
	var says []string
	if len(before) > 0 {
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
	ds, _, err := a.deliveries.List(ctx, DeliveryQuery{OrganisationID: o.ID, Status: StatusSent, Limit: 200})
	if err != nil {
		return nil, nil, err
	}
	toNow, toBefore := map[string]bool{}, map[string]bool{}
	var days []string
	for i := len(ds) - 1; i >= 0; i-- { // the log is newest first
		d := ds[i]
		if d.Kind != "reminder" || d.Role != RoleLead || d.About != about(ob.ID, ob.Due) {
			continue
		}
		day := mail.Day(civil.Of(d.SentAt.In(london)))
		if !toNow[day] && !toBefore[day] {
			days = append(days, day)
		}
		if o.Lead.Email != "" && len(d.Message.To) > 0 && strings.EqualFold(d.Message.To[0].Email, o.Lead.Email) {
			toNow[day] = true
		} else {
			toBefore[day] = true
		}
	}
	for _, day := range days {
		if toNow[day] {
			now = append(now, day)
		} else {
			before = append(before, day)
		}
	}
	return now, before, nil
}

// becameOf says what became of the obligation a reminder was about (as scheduled,
// "<obligation>@<due>"), now that the organisation's open one is another.
func becameOf(o Organisation, was string) string {
	id, _, _ := strings.Cut(was, "@")
	if p := o.Previous; p != nil && p.Met && about(p.ID, p.Due) == was {
		return metSays(p)
	}
	if o.Obligation.ID == id {
		return fmt.Sprintf("the obligation %s is now due on %s", id, mail.Day(o.Obligation.Due))
	}
	return fmt.Sprintf("the obligation %s is no longer open (the open one is %s, due on %s)", id, o.Obligation.ID, mail.Day(o.Obligation.Due))
}

// metSays says an obligation was met, and when, where notify knows.
func metSays(ob *Obligation) string {
	if ob.MetOn.IsZero() {
		return fmt.Sprintf("the obligation %s was met", ob.ID)
	}
	return fmt.Sprintf("the obligation %s was met on %s", ob.ID, mail.Day(ob.MetOn))
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
		return d, noLongerTrue("%s has no open obligation", d.OrganisationID)
	case o.Withdrawn:
		return d, noLongerTrue("%s withdrew", d.OrganisationID)
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
		return d, noLongerTrue("%s has no %s recorded now", d.OrganisationID, who)
	}
	m, err := a.reminder(ctx, o, ob, step, to, d.Key, false)
	if err != nil {
		return d, err
	}
	d.Message = m
	return d, nil
}
