package app

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/money"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/notify/internal/ical"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// The portal's pages that emails link to: where the reader acts. The portal serves
// them; they are named here once.
func (a *App) obligationURL(org string) string {
	return a.cfg.PortalURL + "/obligations/" + url.PathEscape(org)
}

func (a *App) reviewURL(round, submission string) string {
	return a.cfg.PortalURL + "/reviews/" + url.PathEscape(round) + "/" + url.PathEscape(submission)
}

func (a *App) feedbackURL(org, submission string) string {
	return a.obligationURL(org) + "/feedback/" + url.PathEscape(submission)
}

func (a *App) applicationURL(id string) string {
	return a.cfg.PortalURL + "/fund/applications/" + url.PathEscape(id)
}

// Email is an event-driven email (a receipt, a decision, an assignment): the same
// content to each recipient, greeted by name.
type Email struct {
	Cause, Org, Kind string
	Subject          string
	Content          mail.Content
	ICS              []byte
	// About and Step, when set, say what the email is about for a later attempt to
	// check it is still true (an assignment: "assignment:<key>"); About is the cause
	// otherwise.
	About, Step string
	// Mentions are people the email may name who are not among its organisation's
	// lead and head as notify holds them now (a lead replaced): named adds those.
	// Each recipient's delivery keeps the digests of the others it names
	// (Delivery.Mentions, see mentions).
	Mentions []mail.Person
}

// Notify sends e to each recipient, once per recipient and cause.
func (a *App) Notify(ctx context.Context, e Email, to ...Recipient) error {
	e, err := a.named(ctx, e)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, r := range to {
		if r.Email == "" || seen[strings.ToLower(r.Email)] {
			continue
		}
		seen[strings.ToLower(r.Email)] = true
		if err := a.notifyUnder(ctx, key(r.Email, e.Cause, e.Kind), e, r); err != nil {
			return err
		}
	}
	return nil
}

// notifyUnder sends e (named already) to r under the exactly-once key k.
func (a *App) notifyUnder(ctx context.Context, k string, e Email, r Recipient) error {
	m, err := a.compose(k, r.Person, e.Subject, e.Content, e.ICS)
	if err != nil {
		return err
	}
	about := e.About
	if about == "" {
		about = e.Cause
	}
	d := Delivery{Key: k, OrganisationID: e.Org, Kind: e.Kind, Step: e.Step, Message: m, About: about, Role: r.Role, Content: e.Content,
		Mentions: mentions(e.Mentions, r.Person, e.Subject, e.Content.Paragraphs)}
	_, err = a.deliver(ctx, d, 1)
	return err
}

// named is e with the names notify holds of its organisation (its own, its lead's and
// its head's) among those its HTML isolates (mail.Content.Names), where its
// paragraphs hold them. A name the text does not hold is not kept with it: the
// content is stored with the delivery, addressed to someone else, and an erasure of
// the lead or head, which drops the bodies of their own emails, would not find it
// there.
func (a *App) named(ctx context.Context, e Email) (Email, error) {
	if e.Org == "" {
		return e, nil
	}
	o, ok, err := a.orgs.Get(ctx, e.Org)
	if err != nil || !ok {
		return e, err
	}
	e.Content.Names = mail.Mentioned(append(slices.Clone(e.Content.Names), o.Name, o.Lead.Name, o.Leader.Name), e.Content.Paragraphs)
	e.Mentions = append(slices.Clone(e.Mentions), o.Lead, o.Leader) // where it names them: see mentions
	return e, nil
}

// mentions are the digests of the addresses of the people of among that the email
// names (their name or their address is in its subject or paragraphs), but to, each
// once.
func mentions(among []mail.Person, to mail.Person, subject string, paragraphs []string) []string {
	text := subject + "\n" + strings.Join(paragraphs, "\n")
	var out []string
	for _, p := range among {
		if p.Email == "" || strings.EqualFold(p.Email, to.Email) {
			continue
		}
		named := p.Name != "" && strings.Contains(text, p.Name) || strings.Contains(strings.ToLower(text), strings.ToLower(p.Email))
		if d := personal.Subject(p.Email); named && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func (a *App) compose(k string, to mail.Person, subject string, c mail.Content, ics []byte) (mail.Message, error) {
	m := mail.Message{MessageID: k + "@technician-commitment.itss.org.uk", To: []mail.Person{to}, Subject: subject, ICS: ics}
	c.Greeting = "Dear " + to.Name + ","
	c.Names = append(slices.Clone(c.Names), to.Name)
	if err := a.render(&m, c); err != nil {
		return m, err
	}
	return m, nil
}

// render fills m's bodies from c, with the foot every email has: how to write to
// ITSS, and where the portal's privacy notice says what ITSS holds and why.
func (a *App) render(m *mail.Message, c mail.Content) error {
	c.Contact, c.Privacy = a.cfg.Contact, a.cfg.PortalURL+"/privacy"
	return mail.Render(m, c)
}

// recompose makes a later attempt of d say what is true when it is sent, to whoever
// holds the recipient's role then: the lead or head the signatory service last named
// (a wrong address or name that made the relay refuse it may have been corrected).
func (a *App) recompose(ctx context.Context, d Delivery) (Delivery, error) {
	if d.Kind == "reminder" && d.About != "" {
		return a.recomposeReminder(ctx, d)
	}
	if d.Role == RoleReviewer && strings.HasPrefix(d.About, "assignment:") {
		return a.recomposeReview(ctx, d)
	}
	if d.Kind == KindLeadNamed {
		return a.recomposeLeadNamed(ctx, d)
	}
	if d.Kind == KindLeadReplaced && d.Role == RoleLeadBefore {
		return a.recomposeLeadReplaced(ctx, d)
	}
	if d.Kind == KindHeadChanged && d.Role == RoleHeadNamed {
		return a.recomposeHeadNamed(ctx, d)
	}
	if d.Kind == KindLeadChanged && d.Role == RoleLeadHead {
		return a.recomposeLeadChanged(ctx, d)
	}
	if d.Kind == KindAnnouncementCorrected && strings.HasPrefix(d.About, KindAnnouncementCorrected+":") {
		var err error
		if d, err = a.recomposeCorrection(ctx, d); err != nil {
			return d, err
		}
	}
	if application, ok := strings.CutPrefix(d.About, fundAbout("")); ok {
		if err := a.fundStillTrue(ctx, d.Kind, application, d.Step); err != nil {
			return d, err
		}
		var err error
		if d, err = a.awardAfterReport(ctx, d, application); err != nil {
			return d, err
		}
	}
	if (d.Role != RoleLead && d.Role != RoleHead) || len(d.Content.Paragraphs) == 0 {
		return d, nil // for someone else, or logged before its content was kept
	}
	o, ok, err := a.orgs.Get(ctx, d.OrganisationID)
	if err != nil || !ok {
		return d, err
	}
	to, who := o.Lead, "nominated lead"
	if d.Role == RoleHead {
		to, who = o.Leader, "head"
	}
	if to.Email == "" { // erased at their request, and nobody named since
		return d, noLongerTrue("%s has no %s recorded now", cmp.Or(o.Name, "the organisation"), who)
	}
	return a.composedAgain(d, to, d.Message.Subject, d.Content, d.Message.ICS)
}

// composedAgain is d as a later attempt sends it: to to, saying c, its message
// composed again under its key.
func (a *App) composedAgain(d Delivery, to mail.Person, subject string, c mail.Content, ics []byte) (Delivery, error) {
	m, err := a.compose(d.Key, to, subject, c, ics)
	if err != nil {
		return d, err
	}
	d.Message, d.Content = m, c
	return d, nil
}

// lead is the organisation's nominated lead as the signatory service last named them,
// and whether the organisation is still in the Commitment.
func (a *App) lead(ctx context.Context, org string) (mail.Person, bool, error) {
	o, ok, err := a.orgs.Get(ctx, org)
	if err != nil || !ok {
		return mail.Person{}, true, err
	}
	return o.Lead, !o.Withdrawn, nil
}

// orgName is what an email calls an organisation: the name the read model holds, as
// the signatory service last gave it, else the one the event gave, else its id. A
// review round's events name a submission's organisation as it was when the
// submission was added, which ITSS may have corrected since
// (OrganisationDetailsCorrectedV1): the round keeps it, so that its events read the
// same to every release, and the email takes the name as it stands.
func (a *App) orgName(ctx context.Context, org, named string) (string, error) {
	if org != "" {
		o, ok, err := a.orgs.Get(ctx, org)
		if err != nil {
			return "", err
		}
		if ok && o.Name != "" {
			return o.Name, nil
		}
	}
	if named != "" {
		return named, nil
	}
	if org == "" {
		return "an institution", nil
	}
	return "organisation " + org, nil
}

func roundName(id, named string) string {
	if named != "" {
		return named
	}
	return "round " + id
}

// reviewCalendar names the calendars of reviews' deadlines.
const reviewCalendar = "Technician Commitment peer review"

// reviewEvent is the calendar entry of a review's deadline: one UID per reviewer and
// submission in a round, whichever email carries it. Its revision is the round's
// version of the event that made the email true (the assignment, a return, a
// chase, the removal), which grows with every event of the round.
func (a *App) reviewEvent(as Assignment, round, org string, version int) ical.Event {
	return ical.Event{
		Sequence: version,
		UID:      as.RoundID + "-" + as.SubmissionID + "-" + as.ReviewerID + "-review@technician-commitment.itss.org.uk", At: as.Deadline,
		Summary:     fmt.Sprintf("Peer review due: %s's submission (%s)", org, round),
		Description: "Submit the review in the Technician Commitment portal.",
		URL:         a.reviewURL(as.RoundID, as.SubmissionID),
	}
}

// reviewDeadline is the calendar entry of a review's deadline, as of the round's
// version.
func (a *App) reviewDeadline(as Assignment, round, org string, version int) []byte {
	return ical.Calendar(reviewCalendar, a.cfg.Organizer, []ical.Event{a.reviewEvent(as, round, org, version)}, a.clock.Now())
}

// reviewsCancelled withdraws the calendar entries of reviews no longer asked of their
// reviewer (each as reviewEvent wrote it), for the email that tells them so: a
// calendar application that took an entry from the assignment's email, or a
// reminder's, removes it. version is the round's, of the event that took them off.
func (a *App) reviewsCancelled(round string, version int, ass ...Assignment) []byte {
	evs := make([]ical.Event, 0, len(ass))
	for _, as := range ass {
		evs = append(evs, a.reviewEvent(as, roundName(as.RoundID, cmp.Or(round, as.RoundName)), as.OrganisationName, version))
	}
	return ical.Cancel(reviewCalendar, a.cfg.Organizer, evs, a.clock.Now())
}

// stillOff says the reviewer is off the assignment as its marks stand now: a removal
// or declination heard after they were asked again (events overtaking each other) is
// not, and cancels nothing in their calendar.
func (a *App) stillOff(ctx context.Context, as Assignment) (bool, error) {
	ms, err := a.assignments.Marks(ctx, as)
	if err != nil {
		return false, err
	}
	return stateOf(ms).gone, nil
}

// Assign records a reviewer's assignment (version is the round's, after it) and tells
// them of it; the reminder before the deadline follows from the sweep.
func (a *App) Assign(ctx context.Context, cause string, version int, as Assignment) error {
	org, err := a.orgName(ctx, as.OrganisationID, as.OrganisationName)
	if err != nil {
		return err
	}
	as.OrganisationName = org
	ms, err := a.assignments.Mark(ctx, Mark{Assignment: as, Kind: MarkAssigned, Version: version, At: a.clock.Now()})
	if err != nil {
		return err
	}
	as.Assigned = version
	if err := a.openAssigned(ctx, as, ms); err != nil {
		return err
	}
	if err := a.forgetIfErased(ctx, as.Reviewer); err != nil {
		return err
	}
	round := roundName(as.RoundID, as.RoundName)
	return a.Notify(ctx, Email{Cause: cause, Org: as.OrganisationID, Kind: "review-assigned", About: "assignment:" + as.Key(),
		Subject: fmt.Sprintf("Technician Commitment peer review (%s): %s's submission is assigned to you, due %s", round, org, mail.Time(as.Deadline)),
		Content: mail.Content{Paragraphs: assignedParagraphs(org, round, as.Deadline, false), Action: a.reviewURL(as.RoundID, as.SubmissionID)},
		ICS:     a.reviewDeadline(as, round, org, version)}, Recipient{as.Reviewer, RoleReviewer})
}

// assignedParagraphs are what the email of an assignment says: that the reviewer is
// asked, and, until they accept it, to accept or decline it; sent again once they
// have accepted, only what they owe.
func assignedParagraphs(org, round string, deadline time.Time, accepted bool) []string {
	ask := fmt.Sprintf("Please accept or decline it, and submit your review by %s.", mail.Time(deadline))
	if accepted {
		ask = fmt.Sprintf("You have accepted it: please submit your review by %s.", mail.Time(deadline))
	}
	return []string{
		fmt.Sprintf("You have been asked to review %s's submission in the peer review round “%s”.", org, round),
		ask + " The attached calendar entry marks the deadline. Read the submission and give your review in the Technician Commitment portal:",
	}
}

// openAssigned arms the reminder before the deadline for an assignment, on its usual
// day. An assignment made on or after that day is not reminded: the email telling of
// it gives the deadline itself, and a reminder at the next sweep would repeat it
// minutes later. (Its reviewer's other facts are kept by its mark, as when no
// reminders are kept at all.)
func (a *App) openAssigned(ctx context.Context, as Assignment, ms []Mark) error {
	if a.cfg.ReviewDaysBefore <= 0 || as.Deadline.IsZero() {
		return nil
	}
	as.RemindOn = dayOf(as.Deadline).AddDays(-a.cfg.ReviewDaysBefore)
	if !as.RemindOn.After(a.today()) {
		return nil
	}
	if err := a.assignments.Open(ctx, as); err != nil {
		return err
	}
	// Asked again after declining or being taken off it: the record the declination
	// closed is opened again for this assignment, if the marks say it is the one in
	// force (a declination heard later, but made after, keeps it closed): ms, the
	// marks as its own was recorded.
	if st := stateOf(ms); !st.assigned || st.gone || st.reviewed {
		return nil
	}
	return a.assignments.Reopen(ctx, as)
}

// remindReviewers sends the reminder before each open review's deadline. The
// assignment is read as it stands now, so a review already in, or one whose round is
// closed, is not chased, and the reminder's key makes it once per assignment (and
// once more per return of its review) however many replicas sweep.
func (a *App) remindReviewers(ctx context.Context, today civil.Date) (int, error) {
	due, err := a.assignments.DueForReminder(ctx, today, a.clock.Now(), 500)
	if err != nil {
		return 0, err
	}
	sent := 0
	closedRounds := map[string]bool{}
	for _, as := range due {
		closed, known := closedRounds[as.RoundID]
		if !known {
			if closed, err = a.assignments.RoundClosed(ctx, as.RoundID); err != nil {
				return sent, err
			}
			closedRounds[as.RoundID] = closed
		}
		if closed {
			continue // the round takes no new reviews
		}
		about, step, cause := "assignment:"+as.Key(), "", "assignment:"+as.Key()
		if as.Assigned > 0 {
			cause += fmt.Sprintf("@%d", as.Assigned) // each time the reviewer is asked
		}
		if as.Returned > 0 {
			st, _, err := a.review(ctx, as)
			if err != nil {
				return sent, err
			}
			if st.gone || st.returned == nil || st.returned.Version != as.Returned {
				// Revised, returned again (that return has its own reminder), or the
				// reviewer is off it.
				if err := a.assignments.Close(ctx, as); err != nil {
					return sent, err
				}
				continue
			}
			step = returnedStep(as.Returned)
			cause += "|" + step
		}
		k := key(as.Reviewer.Email, cause, "review-due-soon")
		if _, done, err := a.deliveries.Get(ctx, k); err != nil || done {
			if err != nil {
				return sent, err
			}
			continue
		}
		subject, c, ics, err := a.reviewReminder(ctx, as, today)
		if err != nil {
			return sent, err
		}
		m, err := a.compose(k, as.Reviewer, subject, c, ics)
		if err != nil {
			return sent, err
		}
		ok, err := a.deliver(ctx, Delivery{Key: k, OrganisationID: as.OrganisationID, Kind: "review-due-soon", Step: step, Message: m, About: about, Role: RoleReviewer, Content: c}, 1)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// reviewReminder composes the reminder before a review's deadline as of today: the
// days left then, and what the reviewer has to do then (accept first, if notify's
// marks say they have not). A retry or a resend on a later day is composed again by
// it, so that it never counts down from the day the reminder was first made. as is
// the assignment's reminder record: Returned says which return of the review it is
// for.
func (a *App) reviewReminder(ctx context.Context, as Assignment, today civil.Date) (string, mail.Content, []byte, error) {
	org, err := a.orgName(ctx, as.OrganisationID, as.OrganisationName)
	if err != nil {
		return "", mail.Content{}, nil, err
	}
	round := roundName(as.RoundID, as.RoundName)
	left := today.DaysUntil(dayOf(as.Deadline))
	when := "in " + mail.Days(left)
	switch left {
	case 0:
		when = "today"
	case 1:
		when = "tomorrow"
	}
	first := fmt.Sprintf("A reminder that your review of %s's submission in the peer review round “%s” is due %s: by %s.", org, round, when, mail.Time(as.Deadline))
	subject := fmt.Sprintf("Technician Commitment peer review (%s): your review of %s's submission is due %s (%s)", round, org, when, mail.Time(as.Deadline))
	then := "The attached calendar entry marks the deadline. Submit it in the Technician Commitment portal. Thank you for giving your time to the Commitment community."
	if as.Returned > 0 {
		first = fmt.Sprintf("A reminder that ITSS returned your review of %s's submission in the peer review round “%s” for revision, and that the revised review is due %s: by %s. Until you resubmit it, it does not count towards the feedback.", org, round, when, mail.Time(as.Deadline))
		subject = fmt.Sprintf("Technician Commitment peer review (%s): your revised review of %s's submission is due %s (%s)", round, org, when, mail.Time(as.Deadline))
	} else {
		// Not accepted yet: the portal takes an acceptance only until the deadline,
		// so the reminder says to accept first (notify's marks say; an assignment
		// made before marks were kept is told as before).
		st, _, err := a.review(ctx, as)
		if err != nil {
			return "", mail.Content{}, nil, err
		}
		if st.assigned && !st.accepted {
			first = fmt.Sprintf("A reminder that you were asked to review %s's submission in the peer review round “%s”, and have not yet accepted it. Reviews are due %s: by %s. An assignment can be accepted only until then.", org, round, when, mail.Time(as.Deadline))
			subject = fmt.Sprintf("Technician Commitment peer review (%s): accept and review %s's submission by %s", round, org, mail.Time(as.Deadline))
			then = "The attached calendar entry marks the deadline. Accept the assignment and submit your review in the Technician Commitment portal, or decline it there if you cannot, so that ITSS can ask someone else. Thank you for giving your time to the Commitment community."
		}
	}
	c := mail.Content{Paragraphs: []string{first, then}, Action: a.reviewURL(as.RoundID, as.SubmissionID), Names: []string{org}}
	return subject, c, a.reviewDeadline(as, round, org, max(as.Assigned, as.Returned)), nil
}

func dayOf(t time.Time) civil.Date { return civil.Of(t.In(london)) }

// ReviewOverdue chases a review still outstanding after the round's deadline, unless
// by the time the chase is sent (late, after downtime) the review is in, the
// reviewer declined or was taken off it, or the round is closed and takes no new
// reviews. A review ops returned and not yet revised is outstanding again. A reviewer
// who had not accepted the assignment by the deadline cannot any more: they are told
// that no review is needed from them, not asked to submit one. (An assignment made
// before notify kept marks says nothing of acceptance, and is chased as before.)
//
// version is the round's, of the event that says the review is overdue.
func (a *App) ReviewOverdue(ctx context.Context, cause string, version int, as Assignment) error {
	if closed, err := a.assignments.RoundClosed(ctx, as.RoundID); err != nil || closed {
		return err
	}
	st, outstanding, err := a.review(ctx, as)
	if err != nil || !outstanding {
		return err
	}
	if as, err = a.filled(ctx, as); err != nil {
		return err
	}
	org := as.OrganisationName
	round := roundName(as.RoundID, as.RoundName)
	if st.assigned && !st.accepted && !st.reviewed {
		// The review service takes no acceptance after the deadline: the reviewer can
		// no longer take the assignment on, so there is nothing to submit, and no
		// deadline left to mark.
		as.Assigned = st.assignedIn
		return a.notAccepted(ctx, as, fmt.Sprintf("Technician Commitment peer review (%s): the deadline for %s's submission passed before you accepted it", round, org),
			fmt.Sprintf("The deadline for reviews of %s's submission in the peer review round “%s” was %s, and it passed before you accepted the assignment. "+
				"An assignment can no longer be taken on once its deadline has passed, so no review of it is needed from you, and you will not be reminded of it again.",
				org, round, mail.Time(as.Deadline)), round, version)
	}
	first := fmt.Sprintf("The deadline for your review of %s's submission in the peer review round “%s” was %s, and the review is still outstanding.", org, round, mail.Time(as.Deadline))
	if st.returned != nil {
		first = fmt.Sprintf("The deadline for your review of %s's submission in the peer review round “%s” was %s. ITSS returned your review to you for revision, and the revised review is still outstanding: until you resubmit it, it does not count towards the feedback.", org, round, mail.Time(as.Deadline))
	}
	return a.Notify(ctx, Email{Cause: cause, Org: as.OrganisationID, Kind: "review-overdue", About: "assignment:" + as.Key(),
		Subject: fmt.Sprintf("Technician Commitment peer review (%s): your review of %s's submission is overdue", round, org),
		Content: mail.Content{Paragraphs: []string{
			first,
			"Please submit it in the Technician Commitment portal, or tell ITSS if you cannot:",
		}, Action: a.reviewURL(as.RoundID, as.SubmissionID)},
		ICS: a.reviewDeadline(as, round, org, version)}, Recipient{as.Reviewer, RoleReviewer})
}

// Unassign tells a reviewer that a submission was taken off their list.
//
// removal is the event's Cause: when the service took the reviewer off (an
// organisation withdrew), the email says why in words, since neither ITSS nor the
// reviewer did it by hand; otherwise ITSS did, for a reason kept for ops.
//
// version is the round's, of the removal.
func (a *App) Unassign(ctx context.Context, cause string, version int, as Assignment, removal string) error {
	as, err := a.filled(ctx, as)
	if err != nil {
		return err
	}
	org, err := a.orgName(ctx, as.OrganisationID, as.OrganisationName)
	if err != nil {
		return err
	}
	round := roundName(as.RoundID, as.RoundName)
	why := fmt.Sprintf("ITSS has taken %s's submission in the peer review round “%s” off your list, so no review of it is needed from you.", org, round)
	switch removal {
	case events.RemovalOrganisationWithdrew:
		why = fmt.Sprintf("%s has withdrawn from the Technician Commitment, so its submission in the peer review round “%s” is no longer reviewed: it is off your list, and no review of it is needed from you.", org, round)
	case events.RemovalReviewerOrganisationWithdrew:
		why = fmt.Sprintf("Your organisation has withdrawn from the Technician Commitment, and the Commitment's reviewers are technicians of its signatories, so %s's submission in the peer review round “%s” is off your list: no review of it is needed from you.", org, round)
	}
	e := Email{Cause: cause, Org: as.OrganisationID, Kind: "review-unassigned",
		Subject: fmt.Sprintf("Technician Commitment peer review (%s): %s's submission is no longer assigned to you", round, org),
		Content: mail.Content{Paragraphs: []string{
			why + " Thank you for being ready to help.",
			"Your remaining assignments are in the Technician Commitment portal:",
		}, Action: a.cfg.PortalURL + "/reviews"}}
	if err := a.withCancellation(ctx, &e, as, version); err != nil {
		return err
	}
	return a.Notify(ctx, e, Recipient{as.Reviewer, RoleReviewer})
}

// withCancellation has e, which tells a reviewer that as is no longer theirs, carry
// the cancellation of its deadline's calendar entry, and say so, unless they were
// asked again since.
func (a *App) withCancellation(ctx context.Context, e *Email, as Assignment, version int) error {
	off, err := a.stillOff(ctx, as)
	if err != nil || !off {
		return err
	}
	e.ICS = a.reviewsCancelled(as.RoundName, version, as)
	n := len(e.Content.Paragraphs)
	e.Content.Paragraphs = append(e.Content.Paragraphs[:n-1:n-1], cancelledEntry, e.Content.Paragraphs[n-1])
	return nil
}

// cancelledEntry is what an email carrying a cancellation says of it.
const cancelledEntry = "The attached calendar update removes the review's deadline from your calendar, if you added it from an earlier email."

// Declined tells a reviewer who declined an assignment that it is off their list, with
// the cancellation of its deadline's calendar entry, which the assignment's email
// carried. A declination heard after they were asked again tells nothing.
func (a *App) Declined(ctx context.Context, cause string, m Mark) error {
	if err := a.Record(ctx, m); err != nil {
		return err
	}
	as, err := a.filled(ctx, m.Assignment)
	if err != nil || as.Reviewer.Email == "" {
		return err
	}
	if off, err := a.stillOff(ctx, as); err != nil || !off {
		return err
	}
	round := roundName(as.RoundID, as.RoundName)
	return a.Notify(ctx, Email{Cause: cause, Org: as.OrganisationID, Kind: "review-declined",
		Subject: fmt.Sprintf("Technician Commitment peer review (%s): you declined to review %s's submission", round, as.OrganisationName),
		Content: mail.Content{Paragraphs: []string{
			fmt.Sprintf("You declined to review %s's submission in the peer review round “%s”, so it is off your list and no review of it is needed from you. ITSS may ask another reviewer.", as.OrganisationName, round),
			"The attached calendar update removes the review's deadline from your calendar, if you added it from the assignment's email.",
			"Your remaining assignments are in the Technician Commitment portal:",
		}, Action: a.cfg.PortalURL + "/reviews"},
		ICS: a.reviewsCancelled(round, m.Version, as)}, Recipient{as.Reviewer, RoleReviewer})
}

// ReviewerChanged records that ops corrected a reviewer's record: later emails about
// their assignments, and resends of earlier ones, go to them as the pool now names
// them.
func (a *App) ReviewerChanged(ctx context.Context, reviewerID string, p mail.Person) error {
	if reviewerID == "" || p.Email == "" {
		return nil
	}
	if err := a.assignments.Rename(ctx, reviewerID, p); err != nil {
		return err
	}
	return a.forgetIfErased(ctx, p)
}

// FeedbackReleased tells an institution's lead, as the signatory service last named
// them (or, failing that, as the event names them), that its feedback is ready.
func (a *App) FeedbackReleased(ctx context.Context, cause, org, orgName, round, roundID, submission string, named mail.Person) error {
	lead, active, err := a.lead(ctx, org)
	if err != nil || !active {
		return err
	}
	if lead.Email == "" {
		lead = named
	}
	name, err := a.orgName(ctx, org, orgName)
	if err != nil {
		return err
	}
	e := Email{Cause: cause, Org: org, Kind: "review-feedback",
		Subject: fmt.Sprintf("Technician Commitment: the peer-review feedback on %s's submission is ready", name),
		Content: mail.Content{Paragraphs: []string{
			fmt.Sprintf("The peer reviewers' consolidated feedback on %s's submission, from the review round “%s”, is released.", name, roundName(roundID, round)),
			"Read it, with the scores per theme, in the Technician Commitment portal:",
		}, Action: a.feedbackURL(org, submission)}}
	if lead.Email == "" {
		// The lead was erased at their request and nobody is named yet: the email
		// waits, listed for ops, and goes to the lead named next (sendWaiting).
		return a.waiting(ctx, e, RoleLead, fmt.Sprintf("%s has no nominated lead recorded: it goes to the lead named next", name))
	}
	return a.Notify(ctx, e, Recipient{lead, RoleLead})
}

// waiting logs an email that has nobody to go to yet as given up, saying why: ops
// see it, and it is sent (recomposed to whoever then holds role) when someone does.
func (a *App) waiting(ctx context.Context, e Email, role, why string) error {
	e, err := a.named(ctx, e)
	if err != nil {
		return err
	}
	k := key("role:"+role, e.Cause, e.Kind)
	m, err := a.compose(k, mail.Person{}, e.Subject, e.Content, e.ICS)
	if err != nil {
		return err
	}
	m.To = nil
	now := a.clock.Now()
	if _, found, err := a.deliveries.Get(ctx, k); err != nil || found {
		return err // logged already: an event heard twice
	}
	d := Delivery{Key: k, OrganisationID: e.Org, Kind: e.Kind, Step: e.Step, Status: StatusGivenUp, Attempts: 1,
		LastError: why, CreatedAt: now, UpdatedAt: now, Message: m, About: cmp.Or(e.About, e.Cause), Role: role, Content: e.Content}
	// The body first, as a claim writes it: what is sent later is composed from it.
	if err := a.deliveries.PutBody(ctx, d); err != nil {
		return err
	}
	return a.deliveries.Record(ctx, d)
}

// sendWaiting sends the emails that waited for the organisation's lead (see waiting)
// to the lead now named.
func (a *App) sendWaiting(ctx context.Context, org string) error {
	ds, _, err := a.deliveries.List(ctx, DeliveryQuery{OrganisationID: org, Status: StatusGivenUp, Limit: 200})
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.Role != RoleLead || d.Kind == "reminder" || len(d.Message.To) > 0 {
			continue // one refused by the relay, or a reminder (the email naming the lead tells where things stand)
		}
		full, ok, err := a.deliveries.Get(ctx, d.Key)
		if err != nil || !ok {
			return err
		}
		if _, err := a.deliver(ctx, full, full.Attempts+1); err != nil {
			return err
		}
	}
	return nil
}

// Application is what the fund's events say of an application.
type Application struct {
	ID, OrganisationID, Title string
	Applicant                 mail.Person
	// DueMoves is how many times the fund had moved the report's due day when the
	// event was recorded (ReportDueMovedV1): an email about the report by a day since
	// moved is no longer true.
	DueMoves int
}

// FundEmail sends a fund email about an application to the applicant, as the fund
// service holds them (the person whose own sign-in made the application), and to the
// organisation's nominated lead as the signatory service last named them. It never
// goes to an address typed into the application (its endorsement), which nobody has
// checked belongs to the organisation.
//
// The fund accepts an application once its own copy of the signatory's events says the
// organisation is announced; notify's copy may not have caught up yet (its consumer of
// those events takes them one at a time, and lags most after a restart). A lead it does
// not know yet is not a lead to skip: the applicant's copy goes now, and the lead's
// waits, the event held as for a dependency that is down, until the organisation's
// contacts have arrived. The applicant's copy is claimed, so it is not sent again.
func (a *App) FundEmail(ctx context.Context, cause, kind string, app Application, subject string, paras []string, due civil.Date) error {
	if kind == "fund-awarded" || kind == "fund-declined" {
		// Kept before the emails go, so that a receipt retried from now on is not.
		if err := a.FundProgressed(ctx, app.ID, FundStepDecided); err != nil {
			return err
		}
	}
	// Only an award and its report ask anything more of the applicant: after a
	// receipt ITSS assesses, and a decline, a withdrawal or a report received ends it.
	read := "the application"
	if kind == "fund-awarded" || kind == "fund-report-due" || kind == KindFundReportOverdue || kind == KindFundReportDueMoved {
		read = "the application, and what is needed next,"
	}
	e := Email{Cause: cause, Org: app.OrganisationID, Kind: kind, Subject: subject, About: fundAbout(app.ID),
		Content: mail.Content{Paragraphs: append(paras, "Your tools read "+read+" from the fund's API as application "+app.ID+
			". The organisation's nominated lead can also read it in the Technician Commitment portal:"), Action: a.applicationURL(app.ID), Names: []string{app.Title}}}
	e.Step = reportStep(kind, due, app.DueMoves)
	if !due.IsZero() {
		e.ICS = ical.Calendar("Technician Collaboration Fund", a.cfg.Organizer, []ical.Event{{
			UID: app.ID + "-report@technician-commitment.itss.org.uk", On: due, Sequence: ical.SequenceAt(a.clock.Now()), Summary: "Technician Collaboration Fund report due: " + app.Title,
			URL: a.applicationURL(app.ID),
		}}, a.clock.Now())
	}
	if err := a.Notify(ctx, e, Recipient{app.Applicant, RoleApplicant}); err != nil {
		return err
	}
	lead, _, err := a.fundLead(ctx, app.OrganisationID, kind)
	if err != nil || lead.Email == "" {
		return err
	}
	// The lead reads it in the portal: the paragraph about the applicant's tools and
	// the fund's id for the application is not theirs.
	e.Content.Paragraphs = append(slices.Clone(paras), "Read "+read+" in the Technician Commitment portal:")
	return a.Notify(ctx, e, Recipient{lead, RoleLead})
}

// fundLead is whom a fund email's copy for the organisation goes to: its nominated
// lead in notify's records. None (and no error) when the lead was erased at their
// request: the organisation was announced with a lead and now has none, and must name
// another; until then its copy goes to no one, rather than holding every later fund
// email behind it. An organisation not yet known with a lead is an Unavailable error,
// so that the email waits for the signatory's events.
//
// name is the organisation's name in notify's records ("" when it has none).
func (a *App) fundLead(ctx context.Context, org, kind string) (lead mail.Person, name string, err error) {
	o, found, err := a.orgs.Get(ctx, org)
	if err != nil {
		return mail.Person{}, "", err
	}
	if o.Lead.Email == "" && !(found && o.Announced) {
		return mail.Person{}, "", apperr.New(apperr.Unavailable, "organisation %s has no nominated lead in notify's records yet; the %s email to its lead waits for the signatory's events", org, kind)
	}
	return o.Lead, o.Name, nil
}

// FundWithdrawn tells an application's applicant that the fund withdrew it because
// its organisation withdrew from the Technician Commitment; reason is the fund's, in
// words. It goes to the applicant alone, who did not take the step: the organisation
// did, through its lead. Unlike FundEmail it names no application id and links to no
// page: the application is closed, and there is nothing left for anyone to do with it.
func (a *App) FundWithdrawn(ctx context.Context, cause string, app Application, reason string) error {
	o, _, err := a.orgs.Get(ctx, app.OrganisationID)
	if err != nil {
		return err
	}
	subject, what := "Technician Collaboration Fund: your application is withdrawn", "Your application to the Technician Collaboration Fund"
	if app.Title != "" {
		subject += " — " + app.Title
		what = fmt.Sprintf("Your application “%s” to the Technician Collaboration Fund", app.Title)
	}
	// The fund withdraws only for a reason it words itself; an empty one would be a
	// producer's fault, and the applicant still needs to hear why in general terms.
	reason = cmp.Or(strings.TrimSuffix(strings.TrimSpace(reason), "."), "your organisation withdrew from the Technician Commitment")
	ask := "Your organisation's nominated lead for the Technician Commitment can tell you more about its withdrawal. For anything about the fund, please contact ITSS at " + a.cfg.Contact + "."
	switch {
	case o.Lead.Email != "" && strings.EqualFold(o.Lead.Email, app.Applicant.Email):
		// The applicant is the lead: not sent to ask themselves.
		ask = "For anything about the fund, please contact ITSS at " + a.cfg.Contact + "."
	case o.Lead.Name != "":
		ask = fmt.Sprintf("%s, %s's nominated lead for the Technician Commitment, can tell you more about its withdrawal. For anything about the fund, please contact ITSS at %s.",
			o.Lead.Name, cmp.Or(o.Name, "your organisation"), a.cfg.Contact)
	}
	return a.Notify(ctx, Email{Cause: cause, Org: app.OrganisationID, Kind: "fund-withdrawn", Subject: subject,
		Content: mail.Content{Paragraphs: []string{
			fmt.Sprintf("%s was withdrawn: %s.", what, reason),
			"Only organisations in the Technician Commitment can be funded, so the fund withdrew it for you. Nothing more is needed from you: it will not be assessed, and it can no longer be changed or submitted.",
			ask,
		}, Names: []string{app.Title, o.Lead.Name}}}, Recipient{app.Applicant, RoleApplicant})
}

// FundWithdrawnByApplicant tells an organisation's nominated lead that an application
// its applicant withdrew after submitting it is withdrawn: what it was, when it was
// submitted and withdrawn, the applicant's reason, and that ITSS will not assess it.
// The lead endorses the organisation's applications and was sent its receipt, which
// said ITSS would assess it. The applicant is not told: they did it. Nor is a lead
// told of an application they withdrew themselves, nor of a draft (submitted is zero),
// which nobody told them of, nor once the organisation has left the Commitment, when
// the fund withdraws what is left and the lead knows why. The lead is found and waited
// for as FundEmail finds them; their copy does not name the applicant, as
// FundReportReceived's does not.
func (a *App) FundWithdrawnByApplicant(ctx context.Context, cause string, app Application, reason string, submitted, withdrawn time.Time) error {
	if submitted.IsZero() {
		return nil // a draft, or an event from before the fund said whether it was submitted
	}
	lead, name, err := a.fundLead(ctx, app.OrganisationID, "fund-withdrawn")
	if err != nil || lead.Email == "" || strings.EqualFold(lead.Email, app.Applicant.Email) {
		return err
	}
	if _, active, err := a.lead(ctx, app.OrganisationID); err != nil || !active {
		return err
	}
	subject, what := "Technician Collaboration Fund: an application is withdrawn", "application"
	if app.Title != "" {
		subject += " — " + app.Title
		what = fmt.Sprintf("application “%s”", app.Title)
	}
	paras := []string{fmt.Sprintf("%s's %s to the Technician Collaboration Fund, submitted on %s, was withdrawn by its applicant on %s.",
		cmp.Or(name, "Your organisation"), what, mail.Time(submitted), mail.Time(withdrawn))}
	if r := strings.TrimSuffix(strings.TrimSpace(reason), "."); r != "" {
		paras = append(paras, "Its applicant's reason: "+r+".")
	}
	paras = append(paras, "ITSS will not assess it, and it can no longer be changed or submitted. Nothing is needed from you.",
		"Read the application in the Technician Commitment portal:")
	return a.Notify(ctx, Email{Cause: cause, Org: app.OrganisationID, Kind: "fund-withdrawn", Subject: subject, About: fundAbout(app.ID),
		Content: mail.Content{Paragraphs: paras, Action: a.applicationURL(app.ID), Names: []string{app.Title}}}, Recipient{lead, RoleLead})
}

// KindFundReportReceived is the receipt for a funded project's report.
const KindFundReportReceived = "fund-report-received"

// FundReportReceived acknowledges a funded project's report: to its applicant, and a
// copy to the organisation's nominated lead, who was told of the award and of the
// report falling due. The lead is found and waited for as FundEmail finds them. Neither
// copy names the fund's id for the application: the applicant has no more to do with
// the report unless ITSS asks, and the lead's copy links to the portal's page. The
// lead's copy does not name the applicant either, so that it keeps nothing of them an
// erasure would have to find in another person's email.
func (a *App) FundReportReceived(ctx context.Context, cause string, app Application, spentPence int64) error {
	if err := a.FundProgressed(ctx, app.ID, FundStepReported); err != nil {
		return err
	}
	project := fmt.Sprintf("the project “%s”", app.Title)
	if app.Title == "" {
		project = "the funded project" // the fund names it on every event that names the applicant
	}
	subject := "Technician Collaboration Fund: report received"
	if app.Title != "" {
		subject += " — " + app.Title
	}
	next := "ITSS will read it. Nothing more is needed unless ITSS asks."
	e := Email{Cause: cause, Org: app.OrganisationID, Kind: KindFundReportReceived, Subject: subject,
		Content: mail.Content{Paragraphs: []string{
			fmt.Sprintf("We have received your report on %s, funded by the Technician Collaboration Fund, with %s of the grant spent. Thank you.", project, money.Pounds(spentPence)),
			next,
			"For anything about the report or the fund, please contact ITSS at " + a.cfg.Contact + ".",
		}, Names: []string{app.Title}}}
	if err := a.Notify(ctx, e, Recipient{app.Applicant, RoleApplicant}); err != nil {
		return err
	}
	lead, name, err := a.fundLead(ctx, app.OrganisationID, KindFundReportReceived)
	if err != nil || lead.Email == "" {
		return err
	}
	e.Content = mail.Content{Paragraphs: []string{
		fmt.Sprintf("%s's report on %s, funded by the Technician Collaboration Fund, was received, with %s of the grant spent.", cmp.Or(name, "Your organisation"), project, money.Pounds(spentPence)),
		next,
		"Read the application and its report in the Technician Commitment portal:",
	}, Action: a.applicationURL(app.ID), Names: []string{app.Title}}
	return a.Notify(ctx, e, Recipient{lead, RoleLead})
}
