package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itss/techcommit/services/notify/internal/mail"
)

// Kinds of mark: what happened to an assignment after it was made.
const (
	MarkAssigned  = "assigned"  // the reviewer was asked (again, after declining or removal)
	MarkAccepted  = "accepted"  // the reviewer took it on
	MarkSubmitted = "submitted" // the review came in (first time or revised)
	MarkReturned  = "returned"  // ops returned the review for revision
	MarkGone      = "gone"      // the reviewer declined or was taken off it
	MarkWithheld  = "withheld"  // ops held the review back from the feedback
)

// Mark is one event of an assignment's life, with what the event said of the
// assignment (who, which round and institution, the deadline: empty where an older
// event did not say).
type Mark struct {
	Assignment
	Kind string
	// Version is the round's version after the event: the marks' order, whatever
	// order they arrive in.
	Version int
	At      time.Time
	// Reason is why ops returned the review.
	Reason string
}

// SortMarks puts marks in the round's order.
func SortMarks(ms []Mark) {
	slices.SortStableFunc(ms, func(x, y Mark) int { return cmp.Or(cmp.Compare(x.Version, y.Version), x.At.Compare(y.At)) })
}

// reviewState is where an assignment's review stands, read from its marks.
type reviewState struct {
	// assigned says notify heard of the assignment since it kept marks: the marks
	// then say all there is.
	assigned bool
	// assignedIn is the round's version of that assignment (0 when not assigned).
	assignedIn               int
	accepted, gone, reviewed bool
	// returned is the return the reviewer has not yet answered with a revised review.
	returned *Mark
}

func stateOf(ms []Mark) reviewState {
	SortMarks(ms)
	var s reviewState
	for i, m := range ms {
		switch m.Kind {
		case MarkAssigned: // a fresh assignment: what went before is over
			s = reviewState{assigned: true, assignedIn: m.Version}
		case MarkAccepted:
			s.accepted = true
		case MarkGone:
			s.gone, s.returned = true, nil
		case MarkSubmitted:
			s.reviewed, s.returned = true, nil
		case MarkReturned:
			s.reviewed, s.returned = true, &ms[i]
		case MarkWithheld: // held back: no revision of it is wanted any more
			s.returned = nil
		}
	}
	return s
}

// outstanding says whether a review is still wanted from the reviewer: none came in
// (closed says an older submission, declination or removal closed the assignment
// before notify kept marks), or the one that did was returned and not yet revised.
func (s reviewState) outstanding(closed bool) bool {
	return !s.gone && (s.returned != nil || (!s.reviewed && !closed))
}

// review reads where an assignment's review stands now.
func (a *App) review(ctx context.Context, as Assignment) (reviewState, bool, error) {
	ms, err := a.assignments.Marks(ctx, as)
	if err != nil {
		return reviewState{}, false, err
	}
	closed, err := a.assignments.Closed(ctx, Assignment{RoundID: as.RoundID, SubmissionID: as.SubmissionID, ReviewerID: as.ReviewerID})
	if err != nil {
		return reviewState{}, false, err
	}
	s := stateOf(ms)
	if s.assigned {
		closed = false // the flag may be a previous assignment's, and the marks say it all
	}
	return s, s.outstanding(closed), nil
}

// Record keeps what happened to an assignment. A review in, a declination or a
// removal closes it to the reminder before the deadline, as before marks were kept.
func (a *App) Record(ctx context.Context, m Mark) error {
	ms, err := a.assignments.Mark(ctx, m)
	if err != nil {
		return err
	}
	if err := a.forgetIfErased(ctx, m.Reviewer); err != nil {
		return err
	}
	if m.Kind != MarkSubmitted && m.Kind != MarkGone {
		return nil
	}
	// Closed only when this is where the assignment stands: a declination heard after
	// the reviewer was asked again (the events of two rounds' changes overtaking each
	// other) does not close the later assignment's reminder.
	as := Assignment{RoundID: m.RoundID, SubmissionID: m.SubmissionID, ReviewerID: m.ReviewerID}
	if st := stateOf(ms); st.assigned && !st.gone && !st.reviewed {
		return nil
	}
	return a.assignments.Close(ctx, as)
}

// filled completes what an event said of an assignment with what notify knows: the
// assignment as it was made, then the organisations' read model.
func (a *App) filled(ctx context.Context, as Assignment) (Assignment, error) {
	made, ok, err := a.assignments.Get(ctx, as)
	if err != nil {
		return as, err
	}
	if !ok { // no reminder is kept (NOTIFY_REVIEW_DAYS_BEFORE=0): the assignment's mark says
		ms, err := a.assignments.Marks(ctx, as)
		if err != nil {
			return as, err
		}
		for _, m := range ms {
			if m.Kind == MarkAssigned {
				made, ok = m.Assignment, true
			}
		}
	}
	if ok {
		as.RoundName = cmp.Or(as.RoundName, made.RoundName)
		as.OrganisationID = cmp.Or(as.OrganisationID, made.OrganisationID)
		as.OrganisationName = cmp.Or(as.OrganisationName, made.OrganisationName)
		// The record holds the reviewer as the pool last named them (Rename): an
		// event about an assignment made before ops corrected the address still
		// carries the old one, which no longer signs in.
		if made.Reviewer.Email != "" {
			as.Reviewer = made.Reviewer
		}
		if as.Deadline.IsZero() {
			as.Deadline = made.Deadline
		}
	}
	org, err := a.orgName(ctx, as.OrganisationID, as.OrganisationName)
	if err != nil {
		return as, err
	}
	as.OrganisationName = org
	return as, nil
}

// ReviewReturned tells the reviewer, once, that ops returned their review with the
// reason, and restarts the reminder before the deadline until the revised review is
// in. By the time it is handled the review may already be revised (events handled
// out of order): then it says nothing.
func (a *App) ReviewReturned(ctx context.Context, cause string, m Mark) error {
	m.Kind = MarkReturned
	if _, err := a.assignments.Mark(ctx, m); err != nil {
		return err
	}
	as, err := a.filled(ctx, m.Assignment)
	if err != nil {
		return err
	}
	reviewer := m.Reviewer
	m.Assignment = as
	if err := a.openReturned(ctx, m); err != nil {
		return err
	}
	if err := a.forgetIfErased(ctx, reviewer, as.Reviewer); err != nil {
		return err
	}
	msg, ok, err := a.returnedEmail(ctx, m)
	if err != nil || !ok || as.Reviewer.Email == "" {
		return err
	}
	msg.Cause = cause
	return a.Notify(ctx, msg, Recipient{as.Reviewer, RoleReviewer})
}

// openReturned re-arms the reminder before the deadline for a returned review, on its
// usual day. A review returned on or after that day is not reminded again: the
// email telling of the return gives the deadline itself.
func (a *App) openReturned(ctx context.Context, m Mark) error {
	if a.cfg.ReviewDaysBefore <= 0 || m.Deadline.IsZero() || m.Version <= 0 {
		return nil
	}
	as := m.Assignment
	as.RemindOn = dayOf(as.Deadline).AddDays(-a.cfg.ReviewDaysBefore)
	if !as.RemindOn.After(a.today()) {
		return nil
	}
	as.Returned = m.Version
	return a.assignments.Open(ctx, as)
}

// returnedEmail composes the email telling of return m, as things stand now, or
// reports that it is no longer true (the revised review is in, or the reviewer is
// off the assignment).
func (a *App) returnedEmail(ctx context.Context, m Mark) (Email, bool, error) {
	st, _, err := a.review(ctx, m.Assignment)
	if err != nil || st.gone || st.returned == nil || st.returned.Version != m.Version {
		return Email{}, false, err
	}
	closed, err := a.assignments.RoundClosed(ctx, m.RoundID)
	if err != nil {
		return Email{}, false, err
	}
	as := m.Assignment
	round, org := roundName(as.RoundID, as.RoundName), as.OrganisationName
	paras := []string{
		fmt.Sprintf("ITSS has returned your review of %s's submission in the peer review round “%s” to you for revision. Their reason: %s", org, round, m.Reason),
		"Your review does not count towards the feedback to the institution until you revise and resubmit it.",
	}
	e := Email{Org: as.OrganisationID, Kind: "review-returned", About: "assignment:" + as.Key(), Step: returnedStep(m.Version),
		Content: mail.Content{Action: a.reviewURL(as.RoundID, as.SubmissionID)}}
	now := a.clock.Now()
	switch {
	case closed:
		e.Subject = fmt.Sprintf("Technician Commitment peer review (%s): your review of %s's submission is returned for revision", round, org)
		paras = append(paras, fmt.Sprintf("The round is closed to new reviews, but ITSS still takes your revised review until the feedback on %s's submission is released. Please resubmit it as soon as you can.", org))
	case as.Deadline.IsZero():
		e.Subject = fmt.Sprintf("Technician Commitment peer review (%s): your review of %s's submission is returned for revision", round, org)
		paras = append(paras, "Please resubmit it as soon as you can.")
	case now.Before(as.Deadline):
		e.Subject = fmt.Sprintf("Technician Commitment peer review (%s): your review of %s's submission is returned for revision, due %s", round, org, mail.Time(as.Deadline))
		paras = append(paras, fmt.Sprintf("Please resubmit it by the round's deadline, %s. The attached calendar entry marks the deadline.", mail.Time(as.Deadline)))
		e.ICS = a.reviewDeadline(as, round, org, m.Version)
	default:
		e.Subject = fmt.Sprintf("Technician Commitment peer review (%s): your review of %s's submission is returned for revision, and now late", round, org)
		paras = append(paras, fmt.Sprintf("The round's deadline was %s, so the revised review is now late: please resubmit it as soon as you can.", mail.Time(as.Deadline)))
	}
	e.Content.Paragraphs = append(paras, "Revise and resubmit it in the Technician Commitment portal:")
	return e, true, nil
}

// returnedPrefix begins the step of an email about a return of a review: the
// round's version of the return follows it.
const returnedPrefix = "returned@"

func returnedStep(version int) string { return returnedPrefix + strconv.Itoa(version) }

// CloseRound records that a round takes no more reviews, so no reminder or chase of
// a review not in is sent from now on, and tells each reviewer who accepted an
// assignment in it and had not reviewed it, once, that the review is no longer
// needed. A review ops returned is still taken until the feedback is released, so
// its reviewer is not told that.
//
// A reviewer asked who had neither accepted nor declined is told too, once per
// assignment, with the cancellation of the deadline its email put in their
// calendar: nothing else would take it back, since no chase follows a closed round.
// That email is the one the chase of such an assignment sends once its deadline
// has passed (see notAccepted), so whichever comes first is the only one they get.
//
// version is the round's, of its closure: the emails cancel the reviews' calendar
// entries as of it.
func (a *App) CloseRound(ctx context.Context, round, name string, at time.Time, version int) error {
	if err := a.assignments.CloseRound(ctx, round); err != nil {
		return err
	}
	ms, err := a.assignments.RoundMarks(ctx, round)
	if err != nil {
		return err
	}
	byKey := map[string][]Mark{}
	var keys []string
	for _, m := range ms {
		if byKey[m.Key()] == nil {
			keys = append(keys, m.Key())
		}
		byKey[m.Key()] = append(byKey[m.Key()], m)
	}
	type owed struct {
		who  mail.Person
		what []Assignment
	}
	var order []string
	to := map[string]*owed{}
	var unaccepted []Assignment
	for _, k := range keys {
		ms := byKey[k]
		st := stateOf(ms)
		if !st.accepted && !st.assigned || st.gone || st.reviewed {
			continue
		}
		as := ms[0].Assignment
		if !st.assigned { // assigned before notify kept marks: a review may have closed it
			if closed, err := a.assignments.Closed(ctx, as); err != nil || closed {
				if err != nil {
					return err
				}
				continue
			}
		}
		for _, m := range ms { // the fullest account the events gave
			if m.Reviewer.Email != "" {
				as.Reviewer = m.Reviewer
			}
			as.RoundName = cmp.Or(m.RoundName, as.RoundName)
			as.OrganisationName = cmp.Or(m.OrganisationName, as.OrganisationName)
			as.OrganisationID = cmp.Or(m.OrganisationID, as.OrganisationID)
		}
		if as, err = a.filled(ctx, as); err != nil {
			return err
		}
		if as.Reviewer.Email == "" {
			continue // nobody to tell: neither the events nor the assignment said
		}
		if !st.accepted {
			as.Assigned = st.assignedIn
			unaccepted = append(unaccepted, as)
			continue
		}
		o := to[as.Reviewer.Email]
		if o == nil {
			o = &owed{who: as.Reviewer}
			to[as.Reviewer.Email] = o
			order = append(order, as.Reviewer.Email)
		}
		o.what = append(o.what, as)
	}
	if at.IsZero() {
		at = a.clock.Now()
	}
	for _, email := range order {
		o := to[email]
		r := roundName(round, cmp.Or(name, o.what[0].RoundName))
		subs := submissionsInWords(o.what)
		link, where := a.cfg.PortalURL+"/reviews", "Your assignments are in the Technician Commitment portal:"
		if len(o.what) == 1 {
			link, where = a.reviewURL(round, o.what[0].SubmissionID), "The assignment is in the Technician Commitment portal:"
		}
		your, review, it := "your review of "+subs[0]+" is", "your review is", "it"
		if len(o.what) > 1 {
			your, review, it = "your reviews of "+mail.List(subs)+" are", "your reviews are", "them"
		}
		if err := a.Notify(ctx, Email{Cause: "round-closed:" + round, Org: o.what[0].OrganisationID, Kind: "review-not-needed",
			Subject: fmt.Sprintf("Technician Commitment peer review (%s): the round is closed; %s no longer needed", r, review),
			Content: mail.Content{Paragraphs: []string{
				fmt.Sprintf("ITSS closed the peer review round “%s” on %s. It takes no new reviews, so %s no longer needed, and you will not be reminded of %s again.", r, mail.Day(dayOf(at)), your, it),
				"Thank you for being ready to give your time to the Commitment community.",
				cancelledEntries(len(o.what)),
				where,
			}, Action: link}, ICS: a.reviewsCancelled(r, version, o.what...)}, Recipient{o.who, RoleReviewer}); err != nil {
			return err
		}
	}
	for _, as := range unaccepted {
		r := roundName(round, cmp.Or(name, as.RoundName))
		org := cmp.Or(as.OrganisationName, "an institution")
		if err := a.notAccepted(ctx, as, fmt.Sprintf("Technician Commitment peer review (%s): the round is closed; no review of %s's submission is needed from you", r, org),
			fmt.Sprintf("ITSS closed the peer review round “%s” on %s, and it takes no new reviews. You had not accepted the assignment to review %s's submission, "+
				"so no review of it is needed from you: there is nothing left to accept or decline, and you will not be reminded of it again.", r, mail.Day(dayOf(at)), org),
			r, version); err != nil {
			return err
		}
	}
	return nil
}

// notAccepted tells a reviewer, in first, that the assignment as they had not
// accepted is over (its round closed, or its deadline passed, after which the review
// service takes no acceptance), and cancels the deadline the assignment's email put
// in their calendar. It is sent once per assignment whichever of the two tells it:
// the cause names the assignment as made (a reviewer asked again after declining is
// told again of the new one), not the event, so the round's closure after the chase
// of its deadline, or the chase after the closure, or either delivered again, finds
// it sent. version is the round's, of the event that tells it.
func (a *App) notAccepted(ctx context.Context, as Assignment, subject, first, round string, version int) error {
	return a.Notify(ctx, Email{Cause: "not-accepted:" + as.Key() + "@" + strconv.Itoa(as.Assigned), Org: as.OrganisationID, Kind: "review-not-needed", About: "assignment:" + as.Key(),
		Subject: subject,
		Content: mail.Content{Paragraphs: []string{
			first,
			"ITSS may ask another reviewer to review it. Thank you for being ready to give your time to the Commitment community.",
			cancelledEntry,
			"Your assignments are in the Technician Commitment portal:",
		}, Action: a.cfg.PortalURL + "/reviews"},
		ICS: a.reviewsCancelled(round, version, as)}, Recipient{as.Reviewer, RoleReviewer})
}

// cancelledEntries is what an email carrying the cancellation of n reviews' deadlines
// says of it.
func cancelledEntries(n int) string {
	if n == 1 {
		return cancelledEntry
	}
	return "The attached calendar update removes the reviews' deadlines from your calendar, if you added them from earlier emails."
}

// recomposeReview makes a later attempt of an email about a review say what is true
// when it is sent: a reminder or chase of a review that is in, or of a round now
// closed, is given up, as is an assignment's email once its deadline has passed; a
// reminder still true is composed again as of the day it goes; a return already answered is given up, and one still open is told as things
// stand now.
func (a *App) recomposeReview(ctx context.Context, d Delivery) (Delivery, error) {
	parts := strings.SplitN(strings.TrimPrefix(d.About, "assignment:"), "|", 3)
	if len(parts) != 3 {
		return d, nil
	}
	as := Assignment{RoundID: parts[0], SubmissionID: parts[1], ReviewerID: parts[2]}
	switch d.Kind {
	case "review-assigned", "review-due-soon", "review-overdue":
	case "review-returned":
		ms, err := a.assignments.Marks(ctx, as)
		if err != nil {
			return d, err
		}
		for _, m := range ms {
			if m.Kind != MarkReturned || returnedStep(m.Version) != d.Step {
				continue
			}
			filled, err := a.filled(ctx, m.Assignment)
			if err != nil {
				return d, err
			}
			m.Assignment = filled
			e, ok, err := a.returnedEmail(ctx, m)
			if err != nil {
				return d, err
			}
			if !ok {
				return d, noLongerTrue("%s's returned review of %s's submission is revised, or they are off it", cmp.Or(filled.Reviewer.Name, "the reviewer"), cmp.Or(filled.OrganisationName, "an institution"))
			}
			to := d.Message.To[0]
			if filled.Reviewer.Email != "" {
				to = filled.Reviewer // as the pool names them now
			}
			return a.composedAgain(d, to, e.Subject, e.Content, e.ICS)
		}
		return d, nil
	default:
		return d, nil
	}
	closed, err := a.assignments.RoundClosed(ctx, as.RoundID)
	if err != nil {
		return d, err
	}
	named, err := a.filled(ctx, as)
	if err != nil {
		return d, err
	}
	if closed {
		return d, noLongerTrue("the round %s is closed and takes no new reviews", roundName(as.RoundID, named.RoundName))
	}
	state, outstanding, err := a.review(ctx, as)
	if err != nil {
		return d, err
	}
	if !outstanding {
		return d, noLongerTrue("%s's review of %s's submission is in, or they are off it", cmp.Or(named.Reviewer.Name, "the reviewer"), cmp.Or(named.OrganisationName, "an institution"))
	}
	if d.Kind == "review-due-soon" {
		return a.recomposeReviewReminder(ctx, d, as)
	}
	// The email of an assignment asks the reviewer to accept it and review by the
	// deadline; the review service takes no acceptance after it, and the chase of
	// an overdue review tells a reviewer who accepted what they owe.
	if d.Kind == "review-assigned" && !named.Deadline.IsZero() && !a.clock.Now().Before(named.Deadline) {
		return d, noLongerTrue("the deadline for reviews of %s's submission, %s, has passed: the assignment can no longer be accepted", cmp.Or(named.OrganisationName, "an institution"), mail.Time(named.Deadline))
	}
	// Once the reviewer has accepted, the email sent again no longer asks them to
	// accept or decline: it says what they owe.
	rewrite := false
	if d.Kind == "review-assigned" && state.accepted && len(d.Content.Paragraphs) == 2 && !named.Deadline.IsZero() {
		org, round := cmp.Or(named.OrganisationName, "an institution"), roundName(as.RoundID, named.RoundName)
		d.Content.Paragraphs, rewrite = assignedParagraphs(org, round, named.Deadline, true), true
	}
	// Sent again to the reviewer as the pool names them now: ops may have corrected
	// the address the first went to.
	to := d.Message.To
	if n := named.Reviewer; n.Email != "" && len(to) == 1 && !strings.EqualFold(n.Email, to[0].Email) && len(d.Content.Paragraphs) > 0 {
		to, rewrite = []mail.Person{n}, true
	}
	if rewrite && len(to) == 1 {
		return a.composedAgain(d, to[0], d.Message.Subject, d.Content, d.Message.ICS)
	}
	return d, nil
}

// recomposeReviewReminder composes the reminder before a review's deadline again as
// of today, as the sweep would compose it today (the days left, and whether the
// reviewer has still to accept), to the reviewer as the pool names them now. Once
// the deadline has passed it is given up: the chase of an overdue review says so.
func (a *App) recomposeReviewReminder(ctx context.Context, d Delivery, as Assignment) (Delivery, error) {
	made, ok, err := a.assignments.Get(ctx, as)
	if err != nil || !ok {
		return d, err // no record to compose it from: sent as it was
	}
	if !a.clock.Now().Before(made.Deadline) {
		return d, noLongerTrue("the deadline of %s passed; the chase of an overdue review says so", as.Key())
	}
	if v, ok := strings.CutPrefix(d.Step, returnedPrefix); ok {
		if made.Returned, err = strconv.Atoi(v); err != nil {
			return d, fmt.Errorf("review reminder %s: step %q: %w", d.Key, d.Step, err)
		}
	}
	to := made.Reviewer
	if to.Email == "" && len(d.Message.To) == 1 {
		to = d.Message.To[0]
	}
	subject, c, ics, err := a.reviewReminder(ctx, made, a.today())
	if err != nil {
		return d, err
	}
	return a.composedAgain(d, to, subject, c, ics)
}

// submissionsInWords names a reviewer's submissions as the emails do, by whose they
// are ("University of Aberwen's submission"), never by the review service's ids,
// which say nothing to a person; an organisation with more than one among them is
// named once, with their number ("University of Aberwen's 2 submissions").
func submissionsInWords(what []Assignment) []string {
	count := map[string]int{}
	var names []string
	for _, as := range what {
		name := cmp.Or(as.OrganisationName, "an institution")
		if count[name] == 0 {
			names = append(names, name)
		}
		count[name]++
	}
	out := make([]string, 0, len(names))
	for _, name := range names {
		if n := count[name]; n > 1 {
			out = append(out, fmt.Sprintf("%s's %d submissions", name, n))
		} else {
			out = append(out, name+"'s submission")
		}
	}
	return out
}

// Withheld records that ops held a review back from the feedback. A reviewer whose
// review was returned for revision is told that no revision is needed, and is
// reminded no more: the review service takes no revision of a withheld review, and
// they were being asked for one it would refuse. A review withheld that was not
// awaiting revision is told to nobody.
func (a *App) Withheld(ctx context.Context, cause string, m Mark, reason string) error {
	before, _, err := a.review(ctx, m.Assignment)
	if err != nil {
		return err
	}
	m.Kind = MarkWithheld
	if _, err := a.assignments.Mark(ctx, m); err != nil {
		return err
	}
	if err := a.forgetIfErased(ctx, m.Reviewer); err != nil {
		return err
	}
	if before.returned == nil {
		return nil
	}
	as, err := a.filled(ctx, m.Assignment)
	if err != nil || as.Reviewer.Email == "" {
		return err
	}
	org, err := a.orgName(ctx, as.OrganisationID, as.OrganisationName)
	if err != nil {
		return err
	}
	round := roundName(as.RoundID, as.RoundName)
	return a.Notify(ctx, Email{Cause: cause, Org: as.OrganisationID, Kind: "review-not-needed", About: "assignment:" + as.Key(),
		Subject: fmt.Sprintf("Technician Commitment peer review (%s): no revision of your review of %s's submission is needed", round, org),
		Content: mail.Content{Paragraphs: []string{
			fmt.Sprintf("ITSS returned your review of %s's submission in the peer review round “%s” for revision, and has now held it back from the feedback to the institution instead, so no revision of it is needed, and you will not be reminded of it again. Their reason: %s", org, round, reason),
			"Thank you for the time you gave it.",
		}}}, Recipient{as.Reviewer, RoleReviewer})
}
