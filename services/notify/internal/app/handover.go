package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/notify/internal/ical"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// The emails of a hand-over of the nominated lead: to the lead named, to the lead
// before them, and to the head of the institution.
const (
	KindLeadNamed    = "lead-named"
	KindLeadReplaced = "lead-replaced"
	KindLeadChanged  = "lead-changed"
)

// Roles of the hand-over's emails. None is RoleLead or RoleHead: a later attempt
// goes to the person it was written to, not to whoever leads, or heads the
// institution, by then (to whom it would be untrue, or news of a change they did not
// see).
const (
	RoleLeadNamed  = "lead-named"
	RoleLeadBefore = "lead-before"
	RoleLeadHead   = "lead-head"
)

// handOver tells the lead now named that they lead the organisation, the lead
// before them (if one was recorded and was not erased) that the role passed on, and
// the head of the institution (see tellHead), by name and address: an address
// mistyped in the portal cuts the organisation off, and the person who typed it is
// the one to notice. Each email is keyed by the event that changed the lead (cause),
// so a redelivery sends none of them again. A lead recorded as the head by the same
// change (headBefore was another address) is told both in the one email naming them
// lead (see headToo); a head before named lead, with another head, that they are no
// longer the head (headNoLonger). A lead before made the head by the same change is
// told the role passed on by the email recording them as the head (madeHead), and a
// head recorded by it of the change of lead (headToTell).
func (a *App) handOver(ctx context.Context, cause string, o Organisation, before, headBefore mail.Person) error {
	if !o.Announced || o.Withdrawn || o.Lead.Email == "" || strings.EqualFold(before.Email, o.Lead.Email) {
		return nil
	}
	tellBefore := before.Email != ""
	if tellBefore {
		gone, err := a.anyErased(ctx, []mail.Person{before})
		if err != nil {
			return err
		}
		tellBefore = gone == ""
	}
	link := a.obligationURL(o.ID)
	head, err := a.headToo(ctx, o, headBefore)
	if err != nil {
		return err
	}
	if tellBefore && personal.SameName(before.Name, o.Lead.Name) {
		return a.addressCorrected(ctx, cause, o, before, head, headBefore, link)
	}
	named := []string{fmt.Sprintf("You are now %s's nominated lead for the Technician Commitment.", o.Name)}
	if tellBefore {
		named[0] = fmt.Sprintf("You are now %s's nominated lead for the Technician Commitment, in place of %s.", o.Name, before.Name)
	}
	named = append(named,
		fmt.Sprintf("As the nominated lead you receive the Technician Commitment's deadline reminders for %s, and you sign in to the Technician Commitment portal with this address, %s, to see its obligations, submit them and read the feedback on them.", o.Name, o.Lead.Email))
	// What is due next is the third paragraph, where recomposeLeadNamed puts it as
	// of the day a later attempt goes.
	if next := a.nextObligation(o); next != "" {
		named = append(named, next)
	}
	subject := fmt.Sprintf("Technician Commitment: you are now %s's nominated lead", o.Name)
	if head != "" {
		named, subject = append(named, head), subject+andHead
	}
	names, people := append(handOverNames(o, before), headBefore.Name), append(handOverPeople(o, before), headBefore)
	if was := headNoLonger(o, headBefore); was != "" {
		named, subject = append(named, was), subject+andNoLongerHead
		names, people = append(names, o.Leader.Name), append(people, o.Leader)
	}
	if tellBefore {
		named = append(named, fmt.Sprintf("%s, the previous nominated lead, is being told by email that the role has passed to you.", upper(before.Name)))
	}
	named = append(named, "Sign in, and see what is due, in the Technician Commitment portal:")
	err = a.tellLeadNamed(ctx, o, Email{Cause: cause, Org: o.ID, Kind: KindLeadNamed, Subject: subject,
		Content: mail.Content{Paragraphs: named, Action: link, Names: names}, Mentions: people})
	if err != nil {
		return err
	}
	// A lead before made the head by the same change is told the lead passed on by the
	// email recording them as the head (headChanged, madeHead).
	if tellBefore && !madeHead(o, before, headBefore) {
		e := Email{Cause: cause, Org: o.ID, Kind: KindLeadReplaced,
			Subject: fmt.Sprintf("Technician Commitment: you are no longer %s's nominated lead", o.Name),
			Content: mail.Content{Paragraphs: passedOn(o, false), Names: handOverNames(o, before)}, Mentions: handOverPeople(o, before)}
		if head, corrected := noLongerHead(o, before, headBefore); head != "" {
			tail := " or recorded as its head"
			if corrected {
				tail = ", and your address as its head has changed"
			}
			e.Subject += tail
			alsoNoLongerHead(&e, o, head)
		}
		if err := a.dueNoLongerYours(ctx, &e, o, before); err != nil {
			return err
		}
		if err = a.Notify(ctx, e, Recipient{before, RoleLeadBefore}); err != nil {
			return err
		}
	}
	return a.tellHead(ctx, cause, o, before, headBefore, tellBefore)
}

// tellLeadNamed sends e, the email naming o's lead (handOver's, addressCorrected's),
// which says what is due next and where it stands that day. For an overdue
// obligation it is that day's reminder to them (tellWhereItStands), with the due date's
// calendar entry the reminder carries: sent beside it, the overdue reminder said the
// same again at once. So it is for one not yet due where that day's reminder is
// still to go (the sweep has not run that day, or notify was down on the step's day):
// the sweep's reminder, or its catch-up, followed it within a minute. Otherwise the
// ladder's next step tells them on its day.
func (a *App) tellLeadNamed(ctx context.Context, o Organisation, e Email) error {
	ob := o.Obligation
	if ob == nil || ob.Met {
		return a.Notify(ctx, e, Recipient{o.Lead, RoleLeadNamed})
	}
	lo := a.ladderOf(&o)
	k := a.dayKey(o.Lead.Email, lo, false)
	if !a.today().After(ob.Due) {
		var err error
		if k, err = a.pendingDayKey(ctx, o.ID, o.Lead.Email, lo, false); err != nil {
			return err
		}
		if k == "" {
			return a.Notify(ctx, e, Recipient{o.Lead, RoleLeadNamed})
		}
	}
	e.ICS, e.Content.Paragraphs = a.withDueEntry(o, e.Content.Paragraphs)
	return a.tellWhereItStands(ctx, e, Recipient{o.Lead, RoleLeadNamed}, k)
}

// withDueEntry is the calendar of o's open obligation's due date, stated now, and
// paras, the paragraphs of an email naming its lead, saying it carries it (before
// the last, which leads to the portal), once.
func (a *App) withDueEntry(o Organisation, paras []string) ([]byte, []string) {
	ob := o.Obligation
	now := a.clock.Now()
	due := dueEntry(o.Name, ob.ID, ob.Kind, ob.Due, now)
	due.URL = a.obligationURL(o.ID)
	ics := ical.Calendar(orgCalendar(o.Name), a.cfg.Organizer, []ical.Event{due}, now)
	says := fmt.Sprintf(carriesDueEntry, what(ob.Kind))
	if slices.Contains(paras, says) {
		return ics, paras
	}
	n := len(paras)
	return ics, append(paras[:n-1:n-1], says, paras[n-1])
}

// sendAsDaysReminder sends d, an email that says where o's open obligation stands
// (saysWhereItStands) recomposed for today, as its recipient's reminder of today,
// under its key k, and counts it among the reminders sent at step (the step still to
// go to them today, "" for none). To the lead, the email naming them (or recording
// them as the head too) carries the due date's calendar entry the reminder would
// have, and is counted among the days the lead was reminded (remindersSent); a
// corrected deadline's carries its own entry of the due date moved, and the head's
// emails none, as their reminders have none. It reports whether it sent it.
func (a *App) sendAsDaysReminder(ctx context.Context, o Organisation, d Delivery, k, step string) (bool, error) {
	day := Delivery{Key: k, OrganisationID: d.OrganisationID, Kind: d.Kind, Step: d.Step, About: d.About, Role: d.Role,
		Content: d.Content, Mentions: d.Mentions}
	to := d.Message.To[0]
	ics := d.Message.ICS
	if lead := strings.EqualFold(to.Email, o.Lead.Email); lead && (d.Kind == KindLeadNamed || d.Kind == KindHeadChanged) {
		ics, day.Content.Paragraphs = a.withDueEntry(o, slices.Clone(d.Content.Paragraphs))
		if d.Kind == KindHeadChanged {
			day.About = leadsDayAbout(*o.Obligation, causeOf(d.About))
		}
	}
	var err error
	if day.Message, err = a.compose(k, to, d.Message.Subject, day.Content, ics); err != nil {
		return false, err
	}
	ok, err := a.deliver(ctx, day, 1)
	if ok && step != "" {
		a.metrics.ReminderSent(step)
	}
	return ok, err
}

// causeOf is the event that caused an email, from its About: the cause itself (the
// email naming a lead, recording a head), or after the last "|" (leadsDayAbout,
// correctionAbout).
func causeOf(about string) string {
	return about[strings.LastIndex(about, "|")+1:]
}

// carriesDueEntry is the paragraph of an email naming a lead that is their reminder
// of the day: it carries the due date's calendar entry.
const carriesDueEntry = "The attached calendar entry marks the %s's due date."

// asDaysReminder is d, a later attempt of an email that says where the obligation
// stands (saysWhereItStands; recomposed for the day it goes, to the person it goes to
// now), as it goes that day, never sent before, and whether this call sent it as that
// day's reminder. Written on an earlier day, it went beside the reminder of the day
// it was retried on: two emails to them at once, each saying where it stands. Where
// a reminder of that day to them is still to go (or, the obligation overdue, the
// email to its lead is the day's overdue email, as tellLeadNamed has it), it is sent
// as that reminder, under its key (sendAsDaysReminder), and d is given up as
// superseded by it: of it and the sweep's reminder, on whichever replica, one goes.
// Where the day's reminder to them went already (the key is another email's), d
// goes without saying again where it stands, and without the due date's calendar
// entry where it carried it as the reminder does: the reminder said it.
func (a *App) asDaysReminder(ctx context.Context, d Delivery) (Delivery, bool, error) {
	o, ok, err := a.orgs.Get(ctx, d.OrganisationID)
	if err != nil || !ok || o.Obligation == nil || o.Obligation.Met || len(d.Message.To) != 1 || len(d.Content.Paragraphs) < 2 {
		return d, false, err
	}
	k, step, is, err := a.daysReminder(ctx, o, d.Message.To[0].Email)
	if err != nil || k == "" || k == d.Key {
		return d, false, err // no step has fallen due, or it is the day's reminder already
	}
	sent := false
	if is {
		if sent, err = a.sendAsDaysReminder(ctx, o, d, k, step); err != nil {
			return d, sent, err
		}
	}
	held, ok, err := a.deliveries.Get(ctx, k)
	if err == nil && ok && !sent {
		held, err = a.outcomeOf(ctx, held)
	}
	switch {
	case err != nil || !ok:
		return d, sent, err
	case held.Kind == d.Kind && causeOf(held.About) == causeOf(d.About) && (sent || d.SentAt.IsZero()):
		// Ops' resend of one sent before (d.SentAt) that an earlier call sent as the
		// day's reminder goes again, as one after the day's reminder: what ops asked.
		return d, sent, tookTheDay(held)
	case held.Status != StatusSent:
		return d, sent, nil // the day's reminder has said nothing yet
	}
	// The day's reminder to them went already, as another email: this one no longer
	// says where it stands, nor carries the due date's entry where that is what it
	// carries (a corrected deadline's entry moves the due date, and stays with it).
	c, ics := d.Content, d.Message.ICS
	if d.Kind == KindLeadNamed {
		ics = nil
	}
	c.Paragraphs = nil
	for _, p := range d.Content.Paragraphs {
		switch {
		case p == fmt.Sprintf(carriesDueEntry, what(o.Obligation.Kind)):
			ics = nil
			continue
		case strings.HasPrefix(p, "As of today,"):
			p = toldToday
		case strings.Contains(p, nextObligationIs):
			if i := strings.Index(p, " As of today,"); i >= 0 {
				p = p[:i] + " " + toldToday
			}
		}
		c.Paragraphs = append(c.Paragraphs, p)
	}
	d, err = a.composedAgain(d, d.Message.To[0], d.Message.Subject, c, ics)
	return d, sent, err
}

// outcomeWait bounds how long a replica waits for another's attempt at the day's
// reminder (outcomeOf): longer than the relay takes to answer (smtpTimeout, 15s, each
// exchange), and short enough that the attempt waiting, claimed itself, is recorded
// well within leaseFor, before any replica may take it over.
const outcomeWait = leaseFor / 3

// outcomePoll is how often outcomeOf reads the day's entry again.
const outcomePoll = 50 * time.Millisecond

// outcomeOf is held, the entry under the key of the day's reminder, once the attempt
// being sent by another replica is recorded: the email tried again (asDaysReminder) is
// logged by that outcome, or goes by it. Read while being sent, the email's entry was
// logged for good as going as that day's reminder, and a moment later the relay
// refused that for good, the log saying the person was being sent what never went.
// An attempt whose lease ran out (its replica died) is not waited for, and one still
// being sent after outcomeWait (or half what is left of a request) is taken as it
// stands, as before.
func (a *App) outcomeOf(ctx context.Context, held Delivery) (Delivery, error) {
	if held.Status != StatusSending || a.clock.Now().Sub(held.UpdatedAt) >= leaseFor {
		return held, nil
	}
	// The wait is in real time: the other replica's send takes it whatever the clock
	// the app is given says. Within a request (ops' resend), it leaves half of what is
	// left of it to answer.
	within := outcomeWait
	if dl, ok := ctx.Deadline(); ok {
		within = min(within, time.Until(dl)/2)
	}
	wait := time.NewTimer(within)
	defer wait.Stop()
	poll := time.NewTicker(outcomePoll)
	defer poll.Stop()
	for held.Status == StatusSending {
		select {
		case <-ctx.Done():
			return held, nil
		case <-wait.C:
			return held, nil
		case <-poll.C:
		}
		again, ok, err := a.deliveries.Get(ctx, held.Key)
		if err != nil || !ok {
			return held, err
		}
		held = again
	}
	return held, nil
}

// toldToday is what an email that says where the obligation stands says in place of
// it, going on a day the day's reminder went to its recipient already.
const toldToday = "The reminder of it sent to you today says where it stands."

// tookTheDay is the end of an email's own attempt once day, the same email sent under
// the key of the day's reminder to its recipient (asDaysReminder), holds that key, as
// the delivery log says it: superseded by it once sent, or while it waits to be tried
// again (or is still being sent on another replica after outcomeOf's wait); given up
// with it, and why, once it was (the relay refused it for good, say), so that the log
// does not say the person was sent what they were not: with the day's key taken, that
// day's reminder to them was not sent either.
//
// None of these is an email that failed: the day's entry logs and counts what the
// relay did with it (tookDay, overtaken).
func tookTheDay(day Delivery) error {
	switch day.Status {
	case StatusSent:
		return Permanent(tookDay{stale{fmt.Sprintf("superseded: sent on %s as that day's reminder to them, delivery %s", mail.Day(civil.Of(day.SentAt.In(london))), day.Key)}, day.Key, false})
	case StatusGivenUp, statusGaveUpBefore:
		return Permanent(tookDay{fmt.Errorf("given up: tried as that day's reminder to them, delivery %s, which was not sent (%s), nor was the reminder", day.Key, day.LastError), day.Key, false})
	}
	return Permanent(tookDay{stale{fmt.Sprintf("superseded: it goes as that day's reminder to them, delivery %s, being sent or to be tried again", day.Key)}, day.Key, true})
}

// tookDay is the end tookTheDay gives an email's own attempt: day is the key of the
// day's reminder it went, or was tried, as; pending, that that attempt had no outcome
// yet when this one was logged.
type tookDay struct {
	error
	day     string
	pending bool
}

func (t tookDay) Unwrap() error { return t.error }

// endsOfTheDay logs, once day, an entry under the key of the day's reminder to its
// recipient, has its outcome (sent, or given up), that outcome in the entries of the
// emails that went as it (asDaysReminder) and were logged, while it was refused for
// now or being sent, as going as it ("being sent or to be tried again"): they were
// logged so for good, and a day's reminder given up later left them saying the
// person was being sent what never went. Either side logs it: the day's attempt once
// recorded, and the email's own attempt after it recorded going as the day's
// (settledAsTheDays), so that whichever is logged second sees the other.
func (a *App) endsOfTheDay(ctx context.Context, day Delivery) error {
	if day.Status != StatusSent && day.Status != StatusGivenUp {
		return nil
	}
	goes := tookTheDay(Delivery{Key: day.Key}).Error()
	ds, _, err := a.deliveries.List(ctx, DeliveryQuery{OrganisationID: day.OrganisationID, Status: StatusGivenUp, Limit: 200})
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.Key == day.Key || d.LastError != goes {
			continue
		}
		full, ok, err := a.deliveries.Get(ctx, d.Key)
		if err != nil {
			return err
		}
		if !ok || full.LastError != goes {
			continue
		}
		full.LastError, full.UpdatedAt = tookTheDay(day).Error(), a.clock.Now()
		if err := a.deliveries.Record(ctx, full); err != nil {
			return err
		}
	}
	return nil
}

// settledAsTheDays is endsOfTheDay from the side of d, an email's own attempt just
// logged as going as the day's reminder, delivery day: where that entry has had its
// outcome since d's attempt read it, d's entry says it.
func (a *App) settledAsTheDays(ctx context.Context, d Delivery, day string) error {
	held, ok, err := a.deliveries.Get(ctx, day)
	if err != nil || !ok || held.Status != StatusSent && held.Status != StatusGivenUp {
		return err
	}
	d.LastError, d.UpdatedAt = tookTheDay(held).Error(), a.clock.Now()
	return a.deliveries.Record(ctx, d)
}

// addressCorrected is handOver's emails when the lead named has the name of the lead
// before them, at another address: the lead's address was corrected (the records take
// it as a new lead, as the portal does), and the emails say so. Told as a hand-over,
// the lead read that they were now the lead "in place of" themselves and that the
// role "has passed to you", and the head that the lead was now Sam Patel in place of
// Sam Patel. The new address is told what it now receives, what is due next (which
// recomposeLeadNamed keeps current, as handOver's), and that the API tokens made
// with the earlier address stopped (the portal revokes them, since each carried that
// address); the earlier address that it no longer signs in; and the head, as of every
// change of lead, both addresses. Each keeps its hand-over's kind and role, so a
// later attempt is checked as theirs is.
//
// asHead, when not "", is the paragraph saying they are recorded as the head too, by
// the same change, in place of headBefore (headToo).
func (a *App) addressCorrected(ctx context.Context, cause string, o Organisation, before mail.Person, asHead string, headBefore mail.Person, link string) error {
	named := []string{
		fmt.Sprintf("The address the Technician Commitment holds for you as %s's nominated lead is now this one, %s, in place of %s.", o.Name, o.Lead.Email, before.Email),
		fmt.Sprintf("The deadline reminders for %s now come to this address, and you sign in to the Technician Commitment portal with it, to see its obligations, submit them and read the feedback on them.", o.Name),
	}
	if next := a.nextObligation(o); next != "" {
		named = append(named, next)
	}
	if !o.Supporter() {
		// A supporter's lead makes no API tokens: the fund takes no application
		// from a supporter, and the portal offers it none.
		named = append(named, fmt.Sprintf("Any API token you made for %s's tools with your earlier address has stopped working, since it carried that address: make a new one on the portal's API tokens page.", o.Name))
	}
	subject := fmt.Sprintf("Technician Commitment: you are now %s's nominated lead", o.Name)
	if asHead != "" {
		named, subject = append(named, asHead), subject+andHead
	}
	subject += " at this address"
	names, people := append(handOverNames(o, before), headBefore.Name), append(handOverPeople(o, before), headBefore)
	if was := headNoLonger(o, headBefore); was != "" {
		named, subject = append(named, was), subject+andNoLongerHead
		names, people = append(names, o.Leader.Name), append(people, o.Leader)
	}
	named = append(named,
		"We have written to your earlier address to say so.",
		"Sign in, and see what is due, in the Technician Commitment portal:")
	err := a.tellLeadNamed(ctx, o, Email{Cause: cause, Org: o.ID, Kind: KindLeadNamed, Subject: subject,
		Content: mail.Content{Paragraphs: named, Action: link, Names: names}, Mentions: people})
	if err != nil {
		return err
	}
	if madeHead(o, before, headBefore) {
		// Told the address changed by the email recording them as the head.
		return nil
	}
	e := Email{Cause: cause, Org: o.ID, Kind: KindLeadReplaced,
		Subject: fmt.Sprintf("Technician Commitment: your address as %s's nominated lead has changed", o.Name),
		Content: mail.Content{Paragraphs: passedOn(o, true), Names: handOverNames(o, before)}, Mentions: handOverPeople(o, before)}
	if head, corrected := noLongerHead(o, before, headBefore); head != "" {
		e.Subject = fmt.Sprintf("Technician Commitment: your address as %s's nominated lead has changed, and you are no longer recorded as its head", o.Name)
		if corrected {
			e.Subject = fmt.Sprintf("Technician Commitment: your address as %s's nominated lead and head has changed", o.Name)
		}
		alsoNoLongerHead(&e, o, head)
	}
	if err := a.dueNoLongerYours(ctx, &e, o, before); err != nil {
		return err
	}
	if err := a.Notify(ctx, e, Recipient{before, RoleLeadBefore}); err != nil {
		return err
	}
	head, ok, err := a.headToTell(ctx, o, before, headBefore)
	if err != nil || !ok {
		return err
	}
	return a.Notify(ctx, Email{Cause: cause, Org: o.ID, Kind: KindLeadChanged,
		Subject: fmt.Sprintf("Technician Commitment: %s's nominated lead has a new address", o.Name),
		Content: mail.Content{Paragraphs: []string{
			fmt.Sprintf("%s's nominated lead for the Technician Commitment, %s, now has the address %s, in place of %s.", o.Name, o.Lead.Name, o.Lead.Email, before.Email),
			fmt.Sprintf("The deadline reminders for %s now go to that address, and they sign in to the Technician Commitment portal with it. We have emailed both addresses to tell them.", o.Name),
			fmt.Sprintf("You are told as the head of %s. If this was not meant, or that address is not theirs, please tell ITSS.", o.Name),
		}, Names: handOverNames(o, before)}, Mentions: handOverPeople(o, before)}, Recipient{head, RoleLeadHead})
}

// alsoHead begins the paragraph of the email naming a lead that says they are
// recorded as the head too (headToo), and andHead ends its subject's naming.
const (
	alsoHead = "You are also recorded as the head of "
	andHead  = " and recorded as its head"
)

// noLongerHeadOf begins the paragraph of the email naming a lead that says they are
// no longer recorded as the head (headNoLonger), and andNoLongerHead ends its subject.
const (
	noLongerHeadOf  = "You are no longer recorded as the head of "
	andNoLongerHead = ", and are no longer recorded as its head"
)

// headNoLonger is the paragraph of the email naming o's lead that says they are no
// longer recorded as its head, by the same change that named them lead (they were its
// head, headBefore, and another is now): who is in their place, and that ITSS writes
// to them as its head; "" when they were not. Sent the email to the head before as
// well (headChanged), they had two emails at once, one per role, the second saying
// they remained the lead, which they had not been.
func headNoLonger(o Organisation, headBefore mail.Person) string {
	if headBefore.Email == "" || !strings.EqualFold(o.Lead.Email, headBefore.Email) || o.Leader.Email == "" || strings.EqualFold(o.Leader.Email, headBefore.Email) {
		return ""
	}
	head, sent := o.Leader, whatTheHeadIsSent(o.Name)
	if personal.SameName(headBefore.Name, head.Name) {
		return fmt.Sprintf("%s%s is now %s, in place of this one: ITSS writes to that address as its head %s.", headAddressNow, o.Name, head.Email, sent)
	}
	return fmt.Sprintf("%s%s: %s, at %s, is recorded as its head in place of you. ITSS now writes to them as its head %s.", noLongerHeadOf, o.Name, head.Name, head.Email, sent)
}

// madeHead says the change that made o's lead and head what they are now recorded
// the lead before it (before) as the head, in place of another (headBefore), and
// named another lead: the email recording them as the head tells them the lead
// passed on (headChanged), and they are sent no email of the hand-over's.
func madeHead(o Organisation, before, headBefore mail.Person) bool {
	return before.Email != "" && strings.EqualFold(o.Leader.Email, before.Email) && !strings.EqualFold(headBefore.Email, before.Email) &&
		o.Lead.Email != "" && !strings.EqualFold(o.Lead.Email, before.Email)
}

// headToo is the paragraph of the email naming o's lead that says they are recorded
// as its head too, by the same change (headBefore, the head before it, had another
// address): in place of whom, and what the head is sent; "" when they are not. Sent
// the email recording them as the head as well (headChanged), they had two emails at
// once, one per role, the first saying where the obligation stands.
func (a *App) headToo(ctx context.Context, o Organisation, headBefore mail.Person) (string, error) {
	if o.Leader.Email == "" || !strings.EqualFold(o.Leader.Email, o.Lead.Email) || strings.EqualFold(headBefore.Email, o.Leader.Email) {
		return "", nil
	}
	told, err := a.notErased(ctx, headBefore)
	if err != nil {
		return "", err
	}
	sent := whatTheHeadIsSent(o.Name)
	switch {
	case told && personal.SameName(headBefore.Name, o.Leader.Name):
		return fmt.Sprintf("%s%s for the Technician Commitment at this address, in place of %s: ITSS writes to you here, as its head, %s.", alsoHead, o.Name, headBefore.Email, sent), nil
	case told:
		return fmt.Sprintf("%s%s for the Technician Commitment, in place of %s: ITSS writes to you, as its head, %s.", alsoHead, o.Name, headBefore.Name, sent), nil
	}
	return fmt.Sprintf("%s%s for the Technician Commitment: ITSS writes to you, as its head, %s.", alsoHead, o.Name, sent), nil
}

// replacedAsBoth says the change that made o's lead and head what they are now
// replaced, in both roles, the person who was both before (leadBefore and headBefore,
// one address): the lead and the head each have another address now.
func replacedAsBoth(o Organisation, leadBefore, headBefore mail.Person) bool {
	return leadBefore.Email != "" && strings.EqualFold(leadBefore.Email, headBefore.Email) &&
		o.Lead.Email != "" && !strings.EqualFold(leadBefore.Email, o.Lead.Email) &&
		o.Leader.Email != "" && !strings.EqualFold(headBefore.Email, o.Leader.Email)
}

// noLongerHead is the paragraph of the email telling the lead before that the role
// passed on (handOver's, addressCorrected's) that says they are no longer recorded as
// o's head either, by the same change (replacedAsBoth): who is in their place, and
// that ITSS no longer writes to them as its head; and whether it is their address as
// the head that was corrected (the head named has their name). "" when they were not
// replaced as both. Sent the email to the head before as well (headChanged), they had
// two emails at once, one per role.
func noLongerHead(o Organisation, before, headBefore mail.Person) (string, bool) {
	if !replacedAsBoth(o, before, headBefore) {
		return "", false
	}
	return headNow(o, headBefore)
}

// alsoNoLongerHeadOf begins noLongerHead's paragraph, unless it tells of an address
// corrected.
const alsoNoLongerHeadOf = "You are also no longer recorded as the head of "

// headNow is noLongerHead's paragraph to headBefore, who is not o's head (o.Leader),
// and whether it tells of their address corrected.
func headNow(o Organisation, headBefore mail.Person) (string, bool) {
	head, sent := o.Leader, whatTheHeadIsSent(o.Name)
	if personal.SameName(headBefore.Name, head.Name) {
		too := ""
		if strings.EqualFold(head.Email, o.Lead.Email) {
			too = " too"
		}
		return fmt.Sprintf("%s%s is now %s%s, in place of this one: ITSS now writes to that address, not this one, %s.", headAddressNow, o.Name, head.Email, too, sent), true
	}
	return fmt.Sprintf("%s%s: %s, at %s, is recorded as its head in place of you. ITSS now writes to them, not to you, %s.", alsoNoLongerHeadOf, o.Name, head.Name, head.Email, sent), false
}

// alsoNoLongerHead puts para (noLongerHead) in e, the email telling the lead before
// that the role passed on, before its last paragraph, and has it name the head now.
func alsoNoLongerHead(e *Email, o Organisation, para string) {
	n := len(e.Content.Paragraphs)
	e.Content.Paragraphs = append(e.Content.Paragraphs[:n-1:n-1], para, e.Content.Paragraphs[n-1])
	e.Content.Names = append(e.Content.Names, o.Leader.Name)
	e.Mentions = append(e.Mentions, o.Leader)
}

// tellHead tells the head of the institution, who signed the Commitment, that its
// nominated lead changed: the lead acts for the institution with ITSS (receives the
// deadline reminders, signs in, makes the fund's API tokens), and if the change was
// not meant (a session misused, an address mistyped) the head is the one with the
// authority to notice. It names the lead before only when they were told (named
// is false for none recorded, or one erased). A head erased, or with no address, is
// not written to; nor is a head who is the new or the old lead, who has one of the
// other two emails already.
func (a *App) tellHead(ctx context.Context, cause string, o Organisation, before, headBefore mail.Person, named bool) error {
	head, ok, err := a.headToTell(ctx, o, before, headBefore)
	if err != nil || !ok {
		return err
	}
	first := fmt.Sprintf("%s's nominated lead for the Technician Commitment is now %s, at %s.", o.Name, o.Lead.Name, o.Lead.Email)
	told := "We have emailed them to tell them."
	if named {
		first = fmt.Sprintf("%s's nominated lead for the Technician Commitment is now %s, at %s, in place of %s.", o.Name, o.Lead.Name, o.Lead.Email, before.Name)
		told = fmt.Sprintf("We have emailed them, and %s, to tell them.", before.Name)
	}
	acts := fmt.Sprintf("The nominated lead acts for %s with ITSS: the deadline reminders for %s now go to them, and they sign in to the Technician Commitment portal with that address to submit its obligations and to make its tokens for the Technician Collaboration Fund's API. %s", o.Name, o.Name, told)
	if o.Supporter() {
		// The fund takes no application from a supporter: its lead makes no tokens.
		acts = fmt.Sprintf("The nominated lead acts for %s with ITSS: the deadline reminders for %s now go to them, and they sign in to the Technician Commitment portal with that address to submit its obligations. %s", o.Name, o.Name, told)
	}
	return a.Notify(ctx, Email{Cause: cause, Org: o.ID, Kind: KindLeadChanged,
		Subject: fmt.Sprintf("Technician Commitment: %s has a new nominated lead", o.Name),
		Content: mail.Content{Paragraphs: []string{
			first,
			acts,
			fmt.Sprintf("You are told as the head of %s. If this was not meant, or that address is not theirs, please tell ITSS.", o.Name),
		}, Names: handOverNames(o, before)}, Mentions: handOverPeople(o, before)}, Recipient{head, RoleLeadHead})
}

// headToTell is the head of the institution to tell of a change of its lead from
// before: none when it has no head, when the head is the lead now or was the lead
// before (told as such already), was erased, or is recorded as the head by the same
// change (headBefore had another address): the email recording them as the head
// tells them of the change of lead too (headChanged, leadChangedToo). Sent this one
// as well, they had two emails at once, one per role.
func (a *App) headToTell(ctx context.Context, o Organisation, before, headBefore mail.Person) (mail.Person, bool, error) {
	head := o.Leader
	if head.Email == "" || strings.EqualFold(head.Email, o.Lead.Email) || strings.EqualFold(head.Email, before.Email) || !strings.EqualFold(head.Email, headBefore.Email) {
		return mail.Person{}, false, nil
	}
	if gone, err := a.anyErased(ctx, []mail.Person{head}); err != nil || gone != "" {
		return mail.Person{}, false, err
	}
	return head, true, nil
}

// handOverNames are the names a hand-over's emails hold: notify's records still name
// the lead before when they are sent (see mail.Content.Names), not the lead named.
func handOverNames(o Organisation, before mail.Person) []string {
	return []string{o.Name, o.Lead.Name, before.Name}
}

// handOverPeople are the people a hand-over's emails may name besides their
// recipient (Email.Mentions): the lead before and the lead named. The emails are sent
// before notify keeps the new contacts (ChangeContacts), so named, which adds the lead
// notify holds, adds the lead before, not the lead named: the emails to the lead
// before and to the head, which name the new lead by name and address, did not keep
// their digest, and neither their subject access nor their erasure found them.
func handOverPeople(o Organisation, before mail.Person) []mail.Person {
	return []mail.Person{before, o.Lead}
}

// nextObligationIs is what the paragraph of nextObligation says after the
// organisation's name, by which a later attempt finds it.
const nextObligationIs = "'s next obligation is "

// nextObligation says what the organisation owes next and when it is due, as of
// today, where notify knows it: once its window is open, how long is left today, or
// how long overdue it is, as the reminder of that day would.
func (a *App) nextObligation(o Organisation) string {
	ob := o.Obligation
	if ob == nil || ob.Met {
		return ""
	}
	today := a.today()
	switch {
	case today.After(ob.Due):
		return fmt.Sprintf("%s%s%s, which was due on %s and is overdue. %s", o.Name, nextObligationIs, obligationInWords(ob), mail.Day(ob.Due), standing(ob.Due, today))
	case ob.WindowOpens.After(today):
		return fmt.Sprintf("%s%s%s, due on %s. Submissions open on %s.", o.Name, nextObligationIs, obligationInWords(ob), mail.Day(ob.Due), mail.Day(ob.WindowOpens))
	}
	return fmt.Sprintf("%s%s%s, due on %s. Submissions are open now. %s", o.Name, nextObligationIs, obligationInWords(ob), mail.Day(ob.Due), standing(ob.Due, today))
}

// dueNextAsOfToday is paras, the paragraphs of an email naming someone to a role
// (handOver's to the lead named, headChanged's to the head named), with what o owes
// next as of today in place of what they said of it when written: the two paragraphs
// of who they are first, then what is due next (if anything is), then the rest.
func (a *App) dueNextAsOfToday(o Organisation, paras []string) []string {
	out := slices.Clone(paras[:2])
	if next := a.nextObligation(o); next != "" {
		out = append(out, next)
	}
	for _, p := range paras[2:] {
		if !strings.Contains(p, nextObligationIs) {
			out = append(out, p)
		}
	}
	return out
}

// recomposeLeadNamed makes a later attempt of the email to a new lead say what is
// true when it goes: what the organisation owes next as of that day (the window
// may have opened, the obligation fallen overdue or been met since), to the same
// person. Once they no longer lead the organisation, or it withdrew, it is given
// up: it would tell them they lead it.
func (a *App) recomposeLeadNamed(ctx context.Context, d Delivery) (Delivery, error) {
	if len(d.Message.To) != 1 || len(d.Content.Paragraphs) < 2 {
		return d, nil // logged before its content was kept
	}
	o, ok, err := a.orgs.Get(ctx, d.OrganisationID)
	if err != nil || !ok {
		return d, err
	}
	to := d.Message.To[0]
	switch {
	case o.Withdrawn:
		return d, noLongerTrue("%s withdrew from the Technician Commitment", cmp.Or(o.Name, "the organisation"))
	case !strings.EqualFold(o.Lead.Email, to.Email):
		return d, noLongerTrue("%s is no longer %s's nominated lead", cmp.Or(to.Name, "the recipient"), cmp.Or(o.Name, "the organisation"))
	}
	c := d.Content
	c.Paragraphs = a.dueNextAsOfToday(o, c.Paragraphs)
	subject := d.Message.Subject
	if !strings.EqualFold(o.Leader.Email, to.Email) {
		// Named the head too, and no longer: it no longer says they are.
		c.Paragraphs = slices.DeleteFunc(c.Paragraphs, func(p string) bool { return strings.HasPrefix(p, alsoHead) })
		subject = strings.Replace(subject, andHead, "", 1)
	}
	// Told they are no longer the head, in place of whom: as the head stands now
	// (headNoLonger), or nothing of it once they are the head again (or none is
	// recorded), as the email recording them as the head again tells them.
	if i := slices.IndexFunc(c.Paragraphs, isHeadNoLonger); i >= 0 {
		now := headNoLonger(Organisation{Name: o.Name, Lead: to, Leader: o.Leader}, to)
		if now == "" {
			c.Paragraphs = slices.Delete(c.Paragraphs, i, i+1)
			subject = strings.Replace(subject, andNoLongerHead, "", 1)
		} else {
			c.Paragraphs[i] = now
			naming(&d, &c, o.Leader)
		}
	}
	return a.composedAgain(d, o.Lead, subject, c, d.Message.ICS)
}

// isHeadNoLonger says p is headNoLonger's paragraph, either way it is worded.
func isHeadNoLonger(p string) bool {
	return strings.HasPrefix(p, noLongerHeadOf) || strings.HasPrefix(p, headAddressNow)
}

// headAddressNow begins the paragraphs that tell a person the address held for them
// as the head is another now (headNoLonger's, noLongerHead's, corrected).
const headAddressNow = "The address the Technician Commitment holds for you as the head of "

// naming has d, recomposed to say c, name people besides those it named: c's HTML
// isolates their names, and d's mentions keep their digests, so that an erasure of
// one of them finds it (see mentions).
func naming(d *Delivery, c *mail.Content, people ...mail.Person) {
	to := ""
	if len(d.Message.To) == 1 {
		to = d.Message.To[0].Email
	}
	for _, p := range people {
		if p.Name != "" && !slices.Contains(c.Names, p.Name) {
			c.Names = append(slices.Clone(c.Names), p.Name)
		}
		if p.Email == "" || strings.EqualFold(p.Email, to) {
			continue
		}
		if s := personal.Subject(p.Email); !slices.Contains(d.Mentions, s) {
			d.Mentions = append(slices.Clone(d.Mentions), s)
		}
	}
}

// The first paragraph of the email telling a lead the role passed on (handOver) is
// the organisation's name, leadIsNow, the lead's name and address, and inPlaceOfYou;
// their address corrected (addressCorrected), leadAddressWas, the organisation's
// name, addressIsNow, the address and inPlaceOfThisOne; with no lead recorded when
// it goes, noLongerLeadOf, the organisation's name and noLeadRecorded.
const (
	leadIsNow        = "'s nominated lead for the Technician Commitment is now "
	inPlaceOfYou     = ", in place of you."
	addressIsNow     = "'s nominated lead is now "
	inPlaceOfThisOne = ", in place of this one."
	noLeadRecorded   = "'s nominated lead for the Technician Commitment, and it has no nominated lead recorded now."
	// remindersFor begins the second paragraph, which says where the reminders go.
	remindersFor = "The deadline reminders for "
	// notMeant begins the last paragraph, which asks them to tell ITSS.
	notMeant = "If this was not meant"
)

// passedOn is what the email telling o's lead before that the role passed on says of
// it first (who leads now, where the reminders go, and to tell ITSS if it was not
// meant), as it stands: another lead named, or the lead's address corrected when
// corrected, or no lead recorded (erased at their request, none named since).
func passedOn(o Organisation, corrected bool) []string {
	switch {
	case o.Lead.Email == "":
		return []string{
			noLongerLeadOf + o.Name + noLeadRecorded,
			fmt.Sprintf("%s%s no longer go to you, and you no longer sign in to the Technician Commitment portal for it.", remindersFor, o.Name),
			notMeant + ", please tell ITSS.",
		}
	case corrected:
		return []string{
			fmt.Sprintf("%s%s%s%s%s", leadAddressWas, o.Name, addressIsNow, o.Lead.Email, inPlaceOfThisOne),
			fmt.Sprintf("%s%s now go to that address, and you sign in to the Technician Commitment portal with it; this address no longer does. We have emailed that address to tell you there.", remindersFor, o.Name),
			notMeant + ", or that address is not yours, please tell ITSS.",
		}
	}
	return []string{
		fmt.Sprintf("%s%s%s, at %s%s", o.Name, leadIsNow, o.Lead.Name, o.Lead.Email, inPlaceOfYou),
		fmt.Sprintf("%s%s now go to them, and they sign in to the Technician Commitment portal for it; you no longer do. We have emailed them to tell them.", remindersFor, o.Name),
		notMeant + ", or that address is not theirs, please tell ITSS.",
	}
}

// saysWhoLeads finds the paragraph of passedOn that says who leads now, however it
// was written.
func saysWhoLeads(p string) bool {
	return strings.Contains(p, leadIsNow) && strings.HasSuffix(p, inPlaceOfYou) ||
		strings.HasPrefix(p, leadAddressWas) && strings.Contains(p, addressIsNow) && strings.HasSuffix(p, inPlaceOfThisOne) ||
		strings.HasPrefix(p, noLongerLeadOf) && strings.HasSuffix(p, noLeadRecorded)
}

// asNoLongerLead is the subject of the email telling a lead their address changed
// (addressCorrected) once it says they no longer lead (another lead, or none): as
// handOver's subject, with what it says of the head.
func asNoLongerLead(subject string) string {
	for _, r := range [][2]string{
		{"'s nominated lead has changed, and you are no longer recorded as its head", "'s nominated lead or recorded as its head"},
		{"'s nominated lead and head has changed", "'s nominated lead, and your address as its head has changed"},
		{"'s nominated lead has changed", "'s nominated lead"},
	} {
		if strings.Contains(subject, r[0]) {
			subject = strings.Replace(subject, r[0], r[1], 1)
			break
		}
	}
	return strings.Replace(subject, "your address as ", "you are no longer ", 1)
}

// recomposeLeadReplaced makes a later attempt of the email telling a lead the role
// passed on (lead-replaced) say what stands when it goes. Once they lead the
// organisation again it is given up: it would tell them they no longer do. It names
// the lead as it stands then: written with the change it tells of, it named the lead
// that change made, who might no longer lead, or lead at another address. Told, by
// the same email, that they are no longer the head (noLongerHead), it says so of the
// head as it stands now, or nothing of it once they are the head again (or none is
// recorded): sent as written, it named as the head someone who might no longer be,
// or told a person the head again that they were not.
func (a *App) recomposeLeadReplaced(ctx context.Context, d Delivery) (Delivery, error) {
	if len(d.Message.To) != 1 || len(d.Content.Paragraphs) < 2 {
		return d, nil
	}
	o, ok, err := a.orgs.Get(ctx, d.OrganisationID)
	if err != nil || !ok || o.Withdrawn {
		return d, err
	}
	to := d.Message.To[0]
	if strings.EqualFold(o.Lead.Email, to.Email) {
		return d, noLongerTrue("%s is %s's nominated lead again", cmp.Or(to.Name, "the recipient"), cmp.Or(o.Name, "the organisation"))
	}
	c := d.Content
	c.Paragraphs = slices.Clone(c.Paragraphs)
	subject := d.Message.Subject
	// Who leads now: a change of lead since the one it tells of (another lead, the
	// lead's address corrected, or none recorded) left it naming someone who no
	// longer led, or an address no longer theirs. Their own address corrected, it
	// says the address held for them now, while they lead.
	if l := slices.IndexFunc(c.Paragraphs, saysWhoLeads); l >= 0 {
		wasCorrected := strings.HasPrefix(c.Paragraphs[l], leadAddressWas)
		corrected := wasCorrected && o.Lead.Email != "" && personal.SameName(to.Name, o.Lead.Name)
		if now := passedOn(o, corrected); now[0] != c.Paragraphs[l] {
			c.Paragraphs[l] = now[0]
			if r := slices.IndexFunc(c.Paragraphs, func(p string) bool { return strings.HasPrefix(p, remindersFor) }); r >= 0 {
				c.Paragraphs[r] = now[1]
			}
			if m := slices.IndexFunc(c.Paragraphs, func(p string) bool { return strings.HasPrefix(p, notMeant) }); m >= 0 {
				c.Paragraphs[m] = now[2]
			}
			if o.Lead.Email != "" {
				naming(&d, &c, o.Lead)
			}
			if wasCorrected && !corrected {
				subject = asNoLongerLead(subject)
			}
		}
	}
	i := slices.IndexFunc(c.Paragraphs, func(p string) bool {
		return strings.HasPrefix(p, alsoNoLongerHeadOf) || strings.HasPrefix(p, headAddressNow)
	})
	if i < 0 {
		if slices.Equal(c.Paragraphs, d.Content.Paragraphs) {
			return d, nil
		}
		return a.composedAgain(d, to, subject, c, d.Message.ICS)
	}
	if o.Leader.Email == "" || strings.EqualFold(o.Leader.Email, to.Email) {
		c.Paragraphs = slices.Delete(c.Paragraphs, i, i+1)
		for _, tail := range []string{" or recorded as its head", ", and your address as its head has changed", ", and you are no longer recorded as its head"} {
			subject = strings.Replace(subject, tail, "", 1)
		}
		subject = strings.Replace(subject, "nominated lead and head has changed", "nominated lead has changed", 1)
	} else {
		c.Paragraphs[i], _ = headNow(Organisation{Name: o.Name, Lead: o.Lead, Leader: o.Leader}, to)
		naming(&d, &c, o.Leader)
	}
	return a.composedAgain(d, to, subject, c, d.Message.ICS)
}

// recomposeLeadChanged makes a later attempt of the email telling the head of a
// change of lead (tellHead's, or addressCorrected's lead-changed) say what stands when
// it goes. Written with the change it tells of, it named the lead that change made:
// tried again after another change of lead, which its own email tells them, it went
// beside that email, naming as the lead someone who no longer was, and it is given
// up; with no lead recorded then (erased at their request, none named since), which
// no email tells, it says there is none.
func (a *App) recomposeLeadChanged(ctx context.Context, d Delivery) (Delivery, error) {
	if len(d.Message.To) != 1 || len(d.Content.Paragraphs) < 2 {
		return d, nil
	}
	o, ok, err := a.orgs.Get(ctx, d.OrganisationID)
	if err != nil || !ok || o.Withdrawn {
		return d, err
	}
	first := d.Content.Paragraphs[0]
	if o.Lead.Email == "" {
		if strings.HasSuffix(first, noLeadNow) {
			return d, nil
		}
		c := d.Content
		c.Paragraphs = []string{o.Name + noLeadNow, fmt.Sprintf("You are told as the head of %s. If this was not meant, please tell ITSS.", o.Name)}
		return a.composedAgain(d, d.Message.To[0], fmt.Sprintf("Technician Commitment: %s has no nominated lead", o.Name), c, d.Message.ICS)
	}
	said, now := strings.ToLower(first), strings.ToLower(o.Lead.Email)
	if strings.Contains(said, ", at "+now+",") || strings.Contains(said, ", at "+now+".") || strings.Contains(said, " now has the address "+now+",") {
		return d, nil
	}
	return d, superseded("%s's nominated lead has changed since; the email of that change tells them who it is", cmp.Or(o.Name, "the organisation"))
}

// dueNoLongerYours has e, which tells the lead before that the role passed on, carry
// the cancellation of the open obligation's due date, which the reminders they were
// sent put in their calendar, and say so. Their calendar feed's address stops
// answering with the hand-over; an entry imported from a reminder stayed.
func (a *App) dueNoLongerYours(ctx context.Context, e *Email, o Organisation, before mail.Person) error {
	ob := o.Obligation
	if ob == nil || ob.Met {
		return nil
	}
	if reminded, err := a.remindedOf(ctx, o, before); err != nil || !reminded {
		return err // not reminded of it: nothing in their calendar to take back
	}
	now := a.clock.Now()
	e.ICS = ical.Cancel(orgCalendar(o.Name), a.cfg.Organizer, []ical.Event{dueEntry(o.Name, ob.ID, ob.Kind, ob.Due, now)}, now)
	n := len(e.Content.Paragraphs)
	e.Content.Paragraphs = append(e.Content.Paragraphs[:n-1:n-1],
		fmt.Sprintf("The attached calendar update removes %s's %s, due on %s, from your calendar, if you added it from a reminder.", o.Name, what(ob.Kind), mail.Day(ob.Due)),
		e.Content.Paragraphs[n-1])
	return nil
}

// remindedOf says a reminder of the organisation's open obligation, as it is
// scheduled now, went to p as its lead: each put the due date in their calendar.
func (a *App) remindedOf(ctx context.Context, o Organisation, p mail.Person) (bool, error) {
	ob := o.Obligation
	if ob == nil || p.Email == "" {
		return false, nil
	}
	sent, err := a.remindersSent(ctx, o.ID, about(ob.ID, ob.Due), RoleLead)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(sent, func(s Sent) bool {
		return slices.ContainsFunc(s.To, func(q mail.Person) bool { return strings.EqualFold(q.Email, p.Email) })
	}), nil
}

// KindHeadChanged is the email of a change of the head of the institution, to the
// head before (RoleHeadBefore) and to the head named (RoleHeadNamed): each goes to
// the person it was written to, as a hand-over's does.
const KindHeadChanged = "head-changed"

// Roles of a change of head's emails.
const (
	RoleHeadBefore = "head-before"
	RoleHeadNamed  = "head-named"
)

// whatTheHeadIsSent says when the suite writes to an organisation's head.
func whatTheHeadIsSent(org string) string {
	return fmt.Sprintf("when %s's obligations fall overdue, when its nominated lead changes and if it withdraws", org)
}

// headChanged tells of a change of the head of the institution (another address, in
// any capitals), as handOver tells of a change of lead: the head is the one the
// suite tells of a change of lead, so that a change not meant reaches someone with
// the authority to notice it, and the head could be replaced (by the lead, on the
// portal's contacts page) with nobody told. The head before, unless erased, is told
// who is recorded in their place and at which address, with the change of lead made
// with it, if any; the head named that they are recorded as the head, what that
// brings them, and who the lead is, with the change of lead made with it, if any (the
// head is sent no lead-changed beside it): to the lead before, now the head, that
// they no longer lead (madeHead). A head named by the name of the head before is
// their address corrected, and both emails say that. Keyed by cause, as handOver's.
func (a *App) headChanged(ctx context.Context, cause string, o Organisation, before, leadBefore mail.Person) error {
	head := o.Leader
	if !o.Announced || o.Withdrawn || head.Email == "" || strings.EqualFold(before.Email, head.Email) {
		return nil
	}
	tellBefore, err := a.notErased(ctx, before)
	if err != nil {
		return err
	}
	corrected := tellBefore && personal.SameName(before.Name, head.Name)
	names := []string{o.Name, head.Name, before.Name, o.Lead.Name, leadBefore.Name}
	// The people these emails may name besides their recipient (Email.Mentions): the
	// heads and the leads before and after. They are sent before notify keeps the new
	// contacts, so named, which adds the lead and head notify holds, adds those before.
	mentions := []mail.Person{before, leadBefore, head, o.Lead}
	sent := whatTheHeadIsSent(o.Name)
	// The change of lead made with it, if any, which the head named is told here
	// (headToTell): as the lead before it made the head (madeHead), that it passed on
	// from them; as someone else, who the lead became.
	wasLead := madeHead(o, leadBefore, before)
	also, err := a.leadChangedToo(ctx, o, leadBefore)
	if err != nil {
		return err
	}

	var named []string
	subject := fmt.Sprintf("Technician Commitment: you are now recorded as the head of %s", o.Name)
	switch {
	case corrected:
		subject += " at this address"
		named = []string{
			fmt.Sprintf("The address the Technician Commitment holds for you as the head of %s is now this one, %s, in place of %s.", o.Name, head.Email, before.Email),
			fmt.Sprintf("ITSS now writes to you at this address %s. You do not need to sign in anywhere.", sent),
		}
		if next := a.nextObligation(o); next != "" {
			named = append(named, next)
		}
		if also != "" && !wasLead {
			named = append(named, also)
		}
	default:
		first := fmt.Sprintf("You are now recorded as the head of %s for the Technician Commitment.", o.Name)
		if tellBefore {
			first = fmt.Sprintf("You are now recorded as the head of %s for the Technician Commitment, in place of %s.", o.Name, before.Name)
		}
		named = []string{first, fmt.Sprintf("ITSS writes to you, as its head, %s. You do not need to sign in anywhere.", sent)}
		// What is owed next, overdue included: the ladder's overdue steps may all
		// have gone to the head before. recomposeHeadNamed keeps it current.
		if next := a.nextObligation(o); next != "" {
			named = append(named, next)
		}
		switch {
		case o.Lead.Email == "" || strings.EqualFold(o.Lead.Email, head.Email):
			named = append(named, leadStatement(o, head))
		case wasLead:
		default:
			named = append(named, leadStatement(o, head))
			if also != "" {
				named = append(named, also)
			}
		}
	}
	if wasLead {
		// Sent the email telling them the lead passed on as well (handOver), they had
		// two emails at once, one per role.
		if personal.SameName(leadBefore.Name, o.Lead.Name) {
			subject += ", and your address as its nominated lead has changed"
			named = append(named, fmt.Sprintf("The address the Technician Commitment holds for you as %s's nominated lead is now %s, in place of this one: the deadline reminders for %s now go to that address, and you sign in to the Technician Commitment portal with it; this address no longer does. We have emailed that address to tell you there.", o.Name, o.Lead.Email, o.Name))
		} else {
			subject += ", and are no longer its nominated lead"
			named = append(named, fmt.Sprintf("You are no longer %s's nominated lead: %s, at %s, is its nominated lead in place of you. The deadline reminders for %s now go to them, and they sign in to the Technician Commitment portal for it; you no longer do. We have emailed them to tell them.", o.Name, o.Lead.Name, o.Lead.Email, o.Name))
		}
	}
	e := Email{Cause: cause, Org: o.ID, Kind: KindHeadChanged, Subject: subject, Content: mail.Content{Names: names}, Mentions: mentions}
	ob := o.Obligation
	overdue := ob != nil && !ob.Met && a.today().After(ob.Due)
	// It says what is owed next and where it stands today. Where an overdue step is
	// still to go today (notify back from being down), it is that day's overdue email
	// to them, which the sweep would otherwise send beside it; one gone already went
	// to the head before, and the head named was told nothing by it. A head who is
	// the lead (one address) is sent the lead's reminders, of every step: where one
	// is still to go today, it is that reminder, with the due date's calendar entry
	// it carries, under the key of the lead's (whose reminder followed it, or, overdue,
	// was not sent at all, and they went without the calendar entry). A head named the
	// lead by the same change is told both, and where it stands, by the email naming
	// them lead (handOver, headToo), and sent no email of this one's.
	leadToo := strings.EqualFold(head.Email, o.Lead.Email) && strings.EqualFold(leadBefore.Email, o.Lead.Email)
	to := head.Email
	if leadToo {
		to = o.Lead.Email // the sweep's key, in the capitals the lead's address has
	}
	var k string
	if ob != nil && !ob.Met && (overdue || leadToo) {
		if k, err = a.pendingDayKey(ctx, o.ID, to, a.ladderOf(&o), !leadToo); err != nil {
			return err
		}
	}
	if k != "" && leadToo {
		now := a.clock.Now()
		due := dueEntry(o.Name, ob.ID, ob.Kind, ob.Due, now)
		due.URL = a.obligationURL(o.ID)
		e.ICS = ical.Calendar(orgCalendar(o.Name), a.cfg.Organizer, []ical.Event{due}, now)
		e.About = leadsDayAbout(*ob, cause)
		named = append(named, fmt.Sprintf("The attached calendar entry marks the %s's due date.", what(ob.Kind)))
	}
	e.Content.Paragraphs = append(named, "If this is not right, please tell ITSS.")
	if wasLead {
		if err := a.dueNoLongerYours(ctx, &e, o, leadBefore); err != nil {
			return err
		}
	}
	switch {
	case strings.EqualFold(head.Email, o.Lead.Email) && !strings.EqualFold(leadBefore.Email, o.Lead.Email):
	case overdue || k != "":
		err = a.tellWhereItStands(ctx, e, Recipient{head, RoleHeadNamed}, k)
	default:
		err = a.Notify(ctx, e, Recipient{head, RoleHeadNamed})
	}
	if err != nil {
		return err
	}
	// A head before who was the lead too, replaced in both roles, is told both in the
	// email telling them the lead passed on (handOver, noLongerHead), and one made the
	// lead by the same change in the email naming them lead (handOver, headNoLonger):
	// neither is sent this one's.
	if !tellBefore || replacedAsBoth(o, leadBefore, before) || (!strings.EqualFold(leadBefore.Email, o.Lead.Email) && headNoLonger(o, before) != "") {
		return nil
	}

	paras := []string{fmt.Sprintf("%s's head of institution for the Technician Commitment is now recorded as %s, at %s, in place of you.", o.Name, head.Name, head.Email)}
	subject = fmt.Sprintf("Technician Commitment: you are no longer recorded as the head of %s", o.Name)
	if corrected {
		paras[0] = fmt.Sprintf("The address the Technician Commitment holds for you as the head of %s is now %s, in place of this one.", o.Name, head.Email)
		subject = fmt.Sprintf("Technician Commitment: your address as the head of %s has changed", o.Name)
	}
	if also != "" {
		paras = append(paras, also)
	}
	if corrected {
		paras = append(paras, fmt.Sprintf("ITSS now writes to that address, not this one, %s.", sent),
			"If this was not meant, or that address is not yours, please tell ITSS.")
	} else if strings.EqualFold(before.Email, o.Lead.Email) {
		// Still the lead: still reminded, overdue steps included.
		paras = append(paras, fmt.Sprintf("ITSS now writes to them as its head %s. You remain %s's nominated lead, and receive its deadline reminders as before.", sent, o.Name),
			"If this was not meant, or that address is not theirs, please tell ITSS.")
	} else {
		paras = append(paras, fmt.Sprintf("ITSS now writes to them, not to you, %s.", sent),
			"If this was not meant, or that address is not theirs, please tell ITSS.")
	}
	return a.Notify(ctx, Email{Cause: cause, Org: o.ID, Kind: KindHeadChanged, Subject: subject,
		Content: mail.Content{Paragraphs: paras, Names: names}, Mentions: mentions}, Recipient{before, RoleHeadBefore})
}

// leadChangedToo is the paragraph of a change of head's emails that tells of the
// change of lead made with it (o's lead now, leadBefore before it): who the lead
// became, in place of whom (unless erased), or the lead's address corrected; "" when
// the lead did not change, or none is recorded now.
func (a *App) leadChangedToo(ctx context.Context, o Organisation, leadBefore mail.Person) (string, error) {
	if o.Lead.Email == "" || strings.EqualFold(leadBefore.Email, o.Lead.Email) {
		return "", nil
	}
	named, err := a.notErased(ctx, leadBefore)
	switch {
	case err != nil:
		return "", err
	case named && personal.SameName(leadBefore.Name, o.Lead.Name):
		return fmt.Sprintf("With the same change, the address of %s's nominated lead, %s, became %s, in place of %s.", o.Name, o.Lead.Name, o.Lead.Email, leadBefore.Email), nil
	case named:
		return fmt.Sprintf("With the same change, %s's nominated lead became %s, at %s, in place of %s.", o.Name, o.Lead.Name, o.Lead.Email, leadBefore.Name), nil
	}
	return fmt.Sprintf("With the same change, %s's nominated lead became %s, at %s.", o.Name, o.Lead.Name, o.Lead.Email), nil
}

// leadsDay marks the About of an email recording a head who is the lead too that is
// the lead's reminder of its day (headChanged): the days the lead was reminded count it.
const leadsDay = "leads-day:"

// leadsDayAbout is the About of such an email: the obligation as scheduled, and the
// change of head (its event, cause), by which it is found told (tellWhereItStands).
func leadsDayAbout(ob Obligation, cause string) string {
	return leadsDay + about(ob.ID, ob.Due) + "|" + cause
}

// notErased says p has an address and was not erased: someone an email may name.
func (a *App) notErased(ctx context.Context, p mail.Person) (bool, error) {
	if p.Email == "" {
		return false, nil
	}
	gone, err := a.anyErased(ctx, []mail.Person{p})
	return gone == "", err
}

// recomposeHeadNamed makes a later attempt of the email to a head named say what the
// organisation owes next as of the day it goes, and gives it up once they are no
// longer the organisation's head, or it withdrew: it would tell them they are.
func (a *App) recomposeHeadNamed(ctx context.Context, d Delivery) (Delivery, error) {
	if len(d.Message.To) != 1 {
		return d, nil
	}
	o, ok, err := a.orgs.Get(ctx, d.OrganisationID)
	if err != nil || !ok {
		return d, err
	}
	to := d.Message.To[0]
	switch {
	case o.Withdrawn:
		return d, noLongerTrue("%s withdrew from the Technician Commitment", cmp.Or(o.Name, "the organisation"))
	case !strings.EqualFold(o.Leader.Email, to.Email):
		return d, noLongerTrue("%s is no longer recorded as the head of %s", cmp.Or(to.Name, "the recipient"), cmp.Or(o.Name, "the organisation"))
	}
	if len(d.Content.Paragraphs) < 2 {
		return d, nil // logged before its content was kept
	}
	c := d.Content
	c.Paragraphs = a.dueNextAsOfToday(o, c.Paragraphs)
	subject, ics := d.Message.Subject, d.Message.ICS
	c.Paragraphs, subject, ics = a.leadAsItStands(&d, &c, o, to, subject, ics)
	return a.composedAgain(d, o.Leader, subject, c, ics)
}

// Paragraphs of the email recording a head that speak of the lead (headChanged), by
// which a later attempt finds them (leadAsItStands).
const (
	noLeadNow       = " has no nominated lead recorded now: please name one by telling ITSS who it is."
	actsForIt       = ", acts for it with ITSS: they receive the deadline reminders and submit its obligations in the Technician Commitment portal."
	alsoLeadOf      = "You are also %s's nominated lead: you receive the deadline reminders and submit its obligations in the Technician Commitment portal."
	sameChange      = "With the same change, "
	noLongerLeadOf  = "You are no longer "
	leadAddressWas  = "The address the Technician Commitment holds for you as "
	andNoLongerLead = ", and are no longer its nominated lead"
	andLeadAddress  = ", and your address as its nominated lead has changed"
)

// leadStatement is what the email recording to as o's head says of its lead now: that
// there is none, that it is them, or who it is.
func leadStatement(o Organisation, to mail.Person) string {
	switch {
	case o.Lead.Email == "":
		return o.Name + noLeadNow
	case strings.EqualFold(o.Lead.Email, to.Email):
		return fmt.Sprintf(alsoLeadOf, o.Name)
	}
	return fmt.Sprintf("%s's nominated lead, %s, at %s%s", o.Name, o.Lead.Name, o.Lead.Email, actsForIt)
}

// leadAsItStands is paras, the paragraphs of a later attempt of the email recording
// to as o's head, with subject and its calendar ics, saying of o's lead what stands
// when it goes. Written with a change of lead, it named the lead that change made,
// and told a lead made the head that they no longer led, with the cancellation of the
// due date in their calendar: a change of lead since (which the head is told of by its
// own email) left it naming as the lead someone who no longer was, or telling a
// person the lead again that they were not. It now says who the lead is (the change
// made with it, no longer what stands, left out); to a lead made the head, the lead
// again, that they are the lead too, without the cancellation; to one who still is
// not, who leads in their place now.
func (a *App) leadAsItStands(d *Delivery, c *mail.Content, o Organisation, to mail.Person, subject string, ics []byte) ([]string, string, []byte) {
	paras := slices.Clone(c.Paragraphs)
	names := func(p string) bool {
		e := strings.ToLower(o.Lead.Email)
		return e != "" && (strings.Contains(strings.ToLower(p), " "+e+",") || strings.Contains(strings.ToLower(p), " "+e+"."))
	}
	wasLead := slices.IndexFunc(paras, func(p string) bool {
		return strings.HasPrefix(p, noLongerLeadOf) && strings.Contains(p, "'s nominated lead: ") ||
			strings.HasPrefix(p, leadAddressWas) && strings.Contains(p, addressIsNow)
	})
	if wasLead >= 0 {
		switch {
		case names(paras[wasLead]):
			return paras, subject, ics // as it was
		case strings.EqualFold(o.Lead.Email, to.Email):
			// The lead again: told so, and nothing taken from their calendar.
			paras[wasLead] = leadStatement(o, to)
			paras = slices.DeleteFunc(paras, func(p string) bool { return strings.HasPrefix(p, "The attached calendar update removes ") })
			subject = strings.Replace(strings.Replace(subject, andNoLongerLead, "", 1), andLeadAddress, "", 1)
			return paras, subject, nil
		case o.Lead.Email == "":
			paras[wasLead] = fmt.Sprintf("You are no longer %s's nominated lead, and %s", o.Name, o.Name+noLeadNow)
		default:
			paras[wasLead] = fmt.Sprintf("You are no longer %s's nominated lead: %s, at %s, is its nominated lead now. The deadline reminders for %s go to them, and they sign in to the Technician Commitment portal for it; you no longer do.", o.Name, o.Lead.Name, o.Lead.Email, o.Name)
			naming(d, c, o.Lead)
		}
		subject = strings.Replace(subject, andLeadAddress, andNoLongerLead, 1)
		return paras, subject, ics
	}
	said := slices.IndexFunc(paras, func(p string) bool {
		return strings.HasSuffix(p, noLeadNow) || strings.HasSuffix(p, actsForIt) ||
			strings.HasPrefix(p, "You are also ") && strings.HasSuffix(p, "'s nominated lead: you receive the deadline reminders and submit its obligations in the Technician Commitment portal.")
	})
	now := leadStatement(o, to)
	if said >= 0 && paras[said] == now {
		return paras, subject, ics // as it was
	}
	// The change of lead it told is no longer what stands.
	paras = slices.DeleteFunc(paras, func(p string) bool { return strings.HasPrefix(p, sameChange) && !names(p) })
	if said < 0 {
		return paras, subject, ics // their address as the head corrected: it said no more of the lead
	}
	wasAlso := strings.HasPrefix(paras[said], "You are also ")
	paras[said] = now
	naming(d, c, o.Lead)
	if wasAlso && !strings.EqualFold(o.Lead.Email, to.Email) {
		// No longer the lead: the due date's entry it carried as their reminder is not theirs.
		paras = slices.DeleteFunc(paras, func(p string) bool { return strings.HasPrefix(p, "The attached calendar entry marks the ") })
		ics = nil
	}
	return paras, subject, ics
}
