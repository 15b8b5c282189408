package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
	"github.com/itss/techcommit/services/notify/internal/ical"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// KindAnnouncementCorrected is the email telling an organisation's nominated lead and
// its head that ITSS corrected the date of its announcement, and so its deadline.
const KindAnnouncementCorrected = "announcement-corrected"

// AnnouncementCorrection is a correction of an organisation's announcement date as
// the signatory service recorded it: the dates before and after, the announcement's
// and its first obligation's.
type AnnouncementCorrection struct {
	AnnouncedOn, PreviousAnnouncedOn civil.Date
	// Obligation is the first obligation as it now stands; PreviousWindowOpens and
	// PreviousDue are its dates before.
	Obligation                       Obligation
	PreviousWindowOpens, PreviousDue civil.Date
}

// CorrectAnnouncement takes in a correction of the organisation's announcement date:
// its first obligation moves to the new dates (its ladder is retired and scheduled
// again, and its calendar feed follows), before the obligation scheduled again that
// follows the correction arrives, so that no reminder of the old date is sent in
// between; its nominated lead and its head are each told once (cause is the event's)
// that the deadline was corrected, from what to what, and where it stands today: to
// each, that is the day's reminder of the moved ladder, whose steps due by today are
// settled as told (one email per recipient states the position on the day). An
// organisation that withdrew, or whose obligation notify holds as met or replaced by
// a later one, is not told: nothing is due from it by that deadline.
func (a *App) CorrectAnnouncement(ctx context.Context, cause, org, name string, c AnnouncementCorrection) error {
	if err := a.Update(ctx, org, func(o *Organisation) { o.AnnouncedOn = c.AnnouncedOn }); err != nil {
		return err
	}
	o, ok, err := a.orgs.Get(ctx, org)
	if err != nil || !ok || o.Withdrawn {
		return err
	}
	if cur := o.Obligation; cur != nil && (cur.ID != c.Obligation.ID || cur.Met) {
		return nil
	}
	// The obligation moves, and its old ladder is retired, before the emails; its new
	// ladder is scheduled after them. So no sweep, on any replica, finds a step of the
	// new ladder due before the emails have taken the day's reminder keys: each says
	// where the obligation stands today, once (tellWhereItStands).
	if kept, err := a.keepObligation(ctx, org, name, c.Obligation); err != nil || !kept {
		return err
	}
	if o, _, err = a.orgs.Get(ctx, org); err != nil {
		return err
	}
	if err := a.announcementCorrected(ctx, cause, o, c); err != nil {
		return err
	}
	if err := a.scheduleLadder(ctx, org, c.Obligation); err != nil {
		return err
	}
	return a.settleTold(ctx, o, ladder.Obligation{ID: c.Obligation.ID, Kind: c.Obligation.Kind, WindowOpens: c.Obligation.WindowOpens, Due: c.Obligation.Due})
}

// announcementCorrected is the email of a correction: the announcement's date from
// what to what, the deadline from what to what, where the obligation stands today,
// and, to the lead, the calendar entry of the due date moved (the same UID as the
// reminders', stated now, so it supersedes theirs) and the portal's page.
func (a *App) announcementCorrected(ctx context.Context, cause string, o Organisation, c AnnouncementCorrection) error {
	today := a.today()
	name := cmp.Or(o.Name, "The organisation")
	ob := c.Obligation
	w := what(ob.Kind)
	announced := fmt.Sprintf("ITSS has corrected the date of the announcement that %s %s: it was made on %s, not on %s as recorded before.",
		name, member(ob.Kind), mail.Day(c.AnnouncedOn), mail.Day(c.PreviousAnnouncedOn))
	if c.AnnouncedOn.After(today) {
		announced = fmt.Sprintf("ITSS has corrected the date of the announcement that %s %s: it is planned for %s, not for %s as recorded before.",
			name, member(ob.Kind), mail.Day(c.AnnouncedOn), mail.Day(c.PreviousAnnouncedOn))
	}
	opens := "Submissions open on %s (not %s)."
	if !ob.WindowOpens.After(today) {
		opens = "Submissions have been open since %s (not %s)."
	}
	// A deadline the correction put in the past is told as past, in the subject and
	// the body (which says how long overdue it is).
	tense := "is now due on"
	if ob.Due.Before(today) {
		tense = "was due on"
	}
	moved := fmt.Sprintf("Its deadlines count from the announcement, so they have moved with it: its %s %s %s, not on %s. "+opens,
		w, tense, mail.Day(ob.Due), mail.Day(c.PreviousDue), mail.Day(ob.WindowOpens), mail.Day(c.PreviousWindowOpens))
	subject := fmt.Sprintf("Technician Commitment: %s's %s %s %s (deadline corrected)", name, w, tense, mail.Day(ob.Due))
	contact := "If the new date is not right, please contact ITSS at " + a.cfg.Contact + "."

	now := a.clock.Now()
	due := dueEntry(o.Name, ob.ID, ob.Kind, ob.Due, now)
	due.URL = a.obligationURL(o.ID)
	// Each says where the obligation stands today, and is the reminder of the day
	// to its recipient when a step of the moved ladder has fallen due by today
	// (tellWhereItStands): the sweep's catch-up of the moved ladder would say the
	// same again a minute later.
	lo := ladder.Obligation{ID: ob.ID, Kind: ob.Kind, WindowOpens: ob.WindowOpens, Due: ob.Due}
	err := a.tellWhereItStands(ctx, Email{Cause: cause, Org: o.ID, Kind: KindAnnouncementCorrected, Subject: subject, About: correctionAbout(ob, cause),
		ICS: ical.Calendar(orgCalendar(o.Name), a.cfg.Organizer, []ical.Event{due}, now),
		Content: mail.Content{Paragraphs: []string{announced, moved, standing(ob.Due, today),
			"Your reminders follow the new date, and the attached calendar entry moves the due date in your calendar, if you added it from a reminder.",
			contact,
			"Submit it, and see your organisation's obligations and its calendar feed, in the Technician Commitment portal:"}, Action: a.obligationURL(o.ID)}},
		Recipient{o.Lead, RoleLead}, a.dayKey(o.Lead.Email, lo, false))
	if err != nil {
		return err
	}
	// The head does not sign in to the portal: their email points them to the lead,
	// and carries no calendar entry (the reminders put none in theirs).
	return a.tellWhereItStands(ctx, Email{Cause: cause, Org: o.ID, Kind: KindAnnouncementCorrected, Subject: subject, About: correctionAbout(ob, cause),
		Content: mail.Content{Paragraphs: []string{announced, moved, standing(ob.Due, today), correctionSubmits(o),
			fmt.Sprintf("You are told as the head of %s.", name), contact}}},
		Recipient{o.Leader, RoleHead}, a.dayKey(o.Leader.Email, lo, true))
}

// correctionSubmits is the head's paragraph on who submits the obligation and is
// reminded of the new date: the nominated lead as notify holds them now, or, when
// none is recorded (erased at their request, and nobody named since), that nobody is
// reminded until ITSS is told who it is.
func correctionSubmits(o Organisation) string {
	switch {
	case o.Lead.Email == "":
		return fmt.Sprintf("%s has no nominated lead for the Technician Commitment recorded now, so nobody is being reminded of the new date. "+
			"Please name a new nominated lead by telling ITSS who it is; they submit it in the Technician Commitment portal.", cmp.Or(o.Name, "The organisation"))
	case o.Lead.Name == "":
		return "The nominated lead submits it in the Technician Commitment portal and is reminded of the new date."
	}
	return fmt.Sprintf("%s, the nominated lead, submits it in the Technician Commitment portal and is reminded of the new date.", upper(o.Lead.Name))
}

// isCorrectionSubmits says whether p is a paragraph correctionSubmits wrote, for a
// later attempt to say it again as of then.
func isCorrectionSubmits(p string) bool {
	return strings.HasSuffix(p, "and is reminded of the new date.") || strings.HasSuffix(p, "they submit it in the Technician Commitment portal.")
}

// correctionAbout names the obligation as a correction moved it, for a later attempt
// of its email to check it still stands so, and the correction (its event, cause),
// by which the email is found told whichever key it went under (tellWhereItStands).
func correctionAbout(ob Obligation, cause string) string {
	return KindAnnouncementCorrected + ":" + about(ob.ID, ob.Due) + "|" + cause
}

// correctedObligation is the obligation as scheduled ("<obligation>@<due>") that a
// correction's email is about (its About; one logged before the About named the
// correction has no "|<cause>").
func correctedObligation(about string) string {
	s, _ := strings.CutPrefix(about, KindAnnouncementCorrected+":")
	if i := strings.LastIndex(s, "|"); i >= 0 {
		s = s[:i]
	}
	return s
}

// recomposeCorrection makes a later attempt of a correction's email (a retry after the
// relay refused it, a resend by ops) say what is true when it goes: refused once the
// organisation withdrew, its obligation is in, or its deadline moved again; otherwise
// its window, where it stands and, to the head, who submits it are said as of that
// day.
func (a *App) recomposeCorrection(ctx context.Context, d Delivery) (Delivery, error) {
	o, ok, err := a.orgs.Get(ctx, d.OrganisationID)
	if err != nil || !ok {
		return d, err
	}
	name, ob := cmp.Or(o.Name, "the organisation"), o.Obligation
	switch {
	case o.Withdrawn:
		return d, noLongerTrue("%s withdrew from the Technician Commitment", name)
	case ob == nil || ob.Met:
		return d, noLongerTrue("%s's submission is in", name)
	case about(ob.ID, ob.Due) != correctedObligation(d.About):
		return d, noLongerTrue("%s's %s is now due on %s", name, what(ob.Kind), mail.Day(ob.Due))
	}
	today := a.today()
	paras := slices.Clone(d.Content.Paragraphs)
	for i, p := range paras {
		switch {
		case strings.HasPrefix(p, "As of today,"):
			paras[i] = standing(ob.Due, today)
		case isCorrectionSubmits(p):
			paras[i] = correctionSubmits(o)
		case !ob.WindowOpens.After(today):
			paras[i] = strings.Replace(p, "Submissions open on "+mail.Day(ob.WindowOpens), "Submissions have been open since "+mail.Day(ob.WindowOpens), 1)
		}
		if !o.AnnouncedOn.IsZero() && !o.AnnouncedOn.After(today) {
			paras[i] = strings.Replace(paras[i], "it is planned for "+mail.Day(o.AnnouncedOn)+", not for", "it was made on "+mail.Day(o.AnnouncedOn)+", not on", 1)
		}
	}
	d.Content.Paragraphs = paras
	return d, nil
}
