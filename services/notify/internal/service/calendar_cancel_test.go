package service_test

import (
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// entry is the one event of an email's calendar, as a real iCalendar parser reads it.
type entry struct {
	method, uid, status, organizer string
	sequence                       int
}

func calendarOf(t *testing.T, m received) entry {
	t.Helper()
	if !m.ICS {
		t.Fatalf("email %q carries no calendar", m.Subject)
	}
	c, err := goical.NewDecoder(strings.NewReader(m.ICSBody)).Decode()
	if err != nil {
		t.Fatalf("email %q: its calendar does not parse: %v\n%s", m.Subject, err, m.ICSBody)
	}
	evs := c.Events()
	if len(evs) != 1 {
		t.Fatalf("email %q: %d events, want 1", m.Subject, len(evs))
	}
	var e entry
	e.method, _ = c.Props.Text(goical.PropMethod)
	e.uid, _ = evs[0].Props.Text(goical.PropUID)
	e.status, _ = evs[0].Props.Text(goical.PropStatus)
	if p := evs[0].Props.Get(goical.PropOrganizer); p != nil {
		e.organizer = p.Value
	}
	if p := evs[0].Props.Get(goical.PropSequence); p != nil {
		if e.sequence, err = p.Int(); err != nil {
			t.Fatalf("email %q: SEQUENCE: %v", m.Subject, err)
		}
	}
	return e
}

// A reviewer taken off a submission (by ITSS, or by declining it, or by the round's
// closing before they reviewed it) had its deadline put in their calendar by the
// assignment's email. The email that tells them it is off their list cancels that
// entry as RFC 5546 has it: METHOD:CANCEL, the same UID, a higher SEQUENCE and
// STATUS:CANCELLED. Before, it carried nothing, and the deadline stayed in their
// calendar for good. A declination heard after the reviewer was asked again cancels
// nothing.
func TestAReviewerTakenOffASubmissionHasItsDeadlineCancelledInTheirCalendar(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	r := h.round("r-cal")
	deadline := time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC)
	base := reviewer{round: "r-cal", roundName: "Winter 2026", sub: "s-cal", org: "wn", orgName: "University of Wn", deadline: deadline}
	ray, dee, ann, fay := base.as("ray", "Ray Reviewer"), base.as("dee", "Dee Reviewer"), base.as("ann", "Ann Reviewer"), base.as("fay", "Fay Reviewer")

	r.publish(ray.assigned(), dee.assigned(), ann.assigned(), ann.accepted(), fay.assigned())
	r.publish(events.AssignmentRemovedV1{RoundID: "r-cal", SubmissionID: "s-cal", OrganisationID: "wn", ReviewerID: "ray", Reason: "conflict",
		RoundName: "Winter 2026", OrganisationName: "University of Wn", ReviewerName: ray.name, ReviewerEmail: ray.email})
	r.publish(events.AssignmentDeclinedV1{RoundID: "r-cal", SubmissionID: "s-cal", ReviewerID: "dee", Reason: "leave",
		RoundName: "Winter 2026", OrganisationName: "University of Wn", OrganisationID: "wn", ReviewerName: dee.name, ReviewerEmail: dee.email, ReviewDeadline: deadline})
	// Fay is asked again; her declination of the first request is heard after.
	declined := r.version + 1
	r.version += 2
	r.again(r.version, fay.assigned())
	r.again(declined, events.AssignmentDeclinedV1{RoundID: "r-cal", SubmissionID: "s-cal", ReviewerID: "fay", Reason: "leave"})
	r.publish(events.ReviewRoundClosedV1{RoundID: "r-cal", RoundName: "Winter 2026"})

	for _, c := range []struct {
		who  reviewer
		told string
	}{
		{ray, "is no longer assigned to you"},
		{dee, "you declined to review"},
		{ann, "the round is closed"},
	} {
		got := mailTo(h, c.who.email, 0)
		if len(got) != 2 || !strings.Contains(got[1].Subject, c.told) {
			t.Errorf("%s was sent %q, want the assignment and the email saying %q", c.who.name, subjects(got), c.told)
			continue
		}
		published, cancelled := calendarOf(t, got[0]), calendarOf(t, got[1])
		if published.method != "PUBLISH" || published.status == "CANCELLED" {
			t.Errorf("%s's assignment: METHOD %q, STATUS %q", c.who.name, published.method, published.status)
		}
		if cancelled.method != "CANCEL" || cancelled.status != "CANCELLED" || cancelled.uid != published.uid || cancelled.sequence <= published.sequence {
			t.Errorf("%s's email %q does not cancel the deadline %+v: its calendar is %+v", c.who.name, got[1].Subject, published, cancelled)
		}
		// Both name the address the emails come from as their ORGANIZER (RFC 5546):
		// a calendar application takes a cancellation from the entry's publisher.
		if want := "mailto:technician-commitment@example.org"; published.organizer != want || cancelled.organizer != want {
			t.Errorf("%s's calendars name the organizer %q and %q, want %q", c.who.name, published.organizer, cancelled.organizer, want)
		}
		if !strings.Contains(got[1].Text, "calendar update removes") {
			t.Errorf("%s's email does not say what its calendar update does:\n%s", c.who.name, got[1].Text)
		}
	}
	// Fay, asked again, keeps the deadline: her late declination cancels nothing. The
	// round's close, which she had not accepted, cancels it.
	for _, m := range mailTo(h, fay.email, 0) {
		closure := strings.Contains(m.Subject, "the round is closed; no review")
		if e := calendarOf(t, m); (e.method == "CANCEL") != closure {
			t.Errorf("Fay, asked again, was sent %q with a calendar %+v: only the round's close cancels her deadline", m.Subject, e)
		}
	}
}

// A lead reminded of their organisation's obligation has its due date in their
// calendar (each reminder's .ics). When the organisation withdraws, the lead is told
// once, in the withdrawal's confirmation, that it is no longer due, with the entry's
// cancellation: the same UID, a higher SEQUENCE, STATUS:CANCELLED. Before, nothing
// was sent, and the due date stayed in their calendar. A lead who had no reminder is
// sent the confirmation alone, with no calendar
// (TestAWithdrawalIsConfirmedOnceToTheLeadAndTheHead).
func TestAWithdrawalCancelsTheObligationsDueDateInTheLeadsCalendar(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 19, 8, 0, 0, 0, time.UTC))
	h.onboard("wd", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	h.runUntil(civil.New(2026, 3, 21)) // the window opens: the first reminder
	reminded := mailTo(h, lead.Email, 0)
	if len(reminded) != 1 {
		t.Fatalf("before the withdrawal the lead was sent %q, want the reminder", subjects(reminded))
	}
	h.publish("wd", events.OrganisationWithdrawnV1{OrganisationID: "wd", Reason: "merged", InitiatedBy: "organisation"})
	h.waitFor("wd")
	h.redeliver() // heard twice, told once
	h.runUntil(civil.New(2026, 3, 28))
	got := mailTo(h, lead.Email, 1)
	if want := []string{"Technician Commitment: withdrawal recorded — Uni wd"}; !cmp.Equal(want, subjects(got)) {
		t.Fatalf("after the withdrawal the lead was sent %q, want %q", subjects(got), want)
	}
	checkSays(t, got[0], "Uni wd withdrew from the Technician Commitment, at its own request, and ITSS has recorded the withdrawal.",
		"Its self-assessment and action plan, due on Sunday 20 September 2026, is no longer due, and you will not be reminded of it again.",
		"The attached calendar update removes the due date from your calendar")
	published, cancelled := calendarOf(t, reminded[0]), calendarOf(t, got[0])
	if cancelled.method != "CANCEL" || cancelled.status != "CANCELLED" || cancelled.uid != published.uid || cancelled.sequence <= published.sequence {
		t.Errorf("the withdrawal's email does not cancel the reminder's entry %+v: its calendar is %+v", published, cancelled)
	}

	// Withdrawn before any reminder: nothing to cancel; the lead is sent the
	// confirmation alone, which says nothing of the obligation.
	h.onboard("wn", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	before := len(mailTo(h, lead.Email, 0))
	h.publish("wn", events.OrganisationWithdrawnV1{OrganisationID: "wn", Reason: "merged", InitiatedBy: "organisation"})
	h.waitFor("wn")
	h.runUntil(civil.New(2026, 3, 29))
	if got := mailTo(h, lead.Email, before); len(got) != 1 || got[0].ICS || strings.Contains(got[0].Text, "no longer due") {
		t.Errorf("a withdrawal with no reminder sent the lead %q, want the confirmation alone, with no calendar", subjects(got))
	}
}

// An organisation's withdrawal is confirmed, once, to its nominated lead and to its
// head, whether or not anyone was reminded of an obligation: the day, who asked (and,
// when ITSS withdrew it, the reason recorded), that it is no longer listed and nothing
// more is due, and whom to contact. Before, ITSS withdrawing an organisation nobody
// had been reminded about emailed nobody at all.
func TestAWithdrawalIsConfirmedOnceToTheLeadAndTheHead(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 19, 8, 0, 0, 0, time.UTC))
	h.onboard("wi", civil.New(2027, 3, 20), civil.New(2027, 9, 20)) // no reminder yet
	leadBefore, headBefore := len(mailTo(h, lead.Email, 0)), len(mailTo(h, leader.Email, 0))
	h.publish("wi", events.OrganisationWithdrawnV1{OrganisationID: "wi", WithdrawnOn: civil.New(2026, 3, 19), Reason: "The organisation closed its technical services.", InitiatedBy: "itss"})
	h.waitFor("wi")
	h.redeliver() // heard twice, told once
	h.runUntil(civil.New(2026, 3, 21))
	for _, who := range []struct {
		email  string
		before int
	}{{lead.Email, leadBefore}, {leader.Email, headBefore}} {
		got := mailTo(h, who.email, who.before)
		if want := []string{"Technician Commitment: withdrawal recorded — Uni wi"}; !cmp.Equal(want, subjects(got)) {
			t.Fatalf("after ITSS withdrew the organisation %s was sent %q, want %q", who.email, subjects(got), want)
		}
		checkSays(t, got[0], "ITSS has withdrawn Uni wi from the Technician Commitment on Thursday 19 March 2026. The reason recorded: The organisation closed its technical services.",
			"Uni wi is no longer listed in the Technician Commitment's public directory, and nothing more is due from it for the Commitment.",
			"For anything about the withdrawal, please contact ITSS at itss@example.org.")
		if got[0].ICS {
			t.Errorf("%s's confirmation carries a calendar, though no reminder put one in theirs:\n%s", who.email, got[0].ICSBody)
		}
		if strings.Contains(got[0].Text, "no longer due") || strings.Contains(got[0].Text, "report") {
			t.Errorf("%s's confirmation speaks of what nobody was told of:\n%s", who.email, got[0].Text)
		}
	}

	// Withdrawn at its own request: it says so, and gives no reason of ITSS's.
	h.onboard("wo", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	before := len(mailTo(h, leader.Email, 0))
	h.publish("wo", events.OrganisationWithdrawnV1{OrganisationID: "wo", WithdrawnOn: civil.New(2026, 3, 21), Reason: "merged", InitiatedBy: "organisation"})
	h.waitFor("wo")
	got := mailTo(h, leader.Email, before)
	if len(got) != 1 {
		t.Fatalf("the head was sent %q at the organisation's own withdrawal, want the confirmation", subjects(got))
	}
	checkSays(t, got[0], "Uni wo withdrew from the Technician Commitment on Saturday 21 March 2026, at its own request, and ITSS has recorded the withdrawal.")
	if strings.Contains(got[0].Text, "merged") {
		t.Errorf("the confirmation of the organisation's own withdrawal gives ITSS's reason:\n%s", got[0].Text)
	}
}

// A head told that their organisation's obligation was overdue heard nothing more
// when the organisation then withdrew: the lead was told it was no longer due, the
// head was left with "overdue". They are now told it is no longer due, once, in the
// withdrawal's confirmation, with no calendar (their overdue email carried none); a
// head never told it was overdue is sent the confirmation alone.
func TestAHeadToldOfAnOverdueObligationIsToldItIsNoLongerDueAtAWithdrawal(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("ho", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	h.sweepOn(civil.New(2026, 3, 20))
	h.sweepOn(civil.New(2026, 12, 4))
	h.sweepOn(civil.New(2026, 12, 11)) // 7 days overdue: lead and head
	if told := mailTo(h, leader.Email, 0); len(told) != 1 {
		t.Fatalf("the head was sent %q, want the overdue email", subjects(told))
	}
	h.publish("ho", events.OrganisationWithdrawnV1{OrganisationID: "ho", WithdrawnOn: civil.New(2026, 12, 11), Reason: "merged", InitiatedBy: "organisation"})
	h.waitFor("ho")
	h.redeliver() // heard twice, told once
	h.sweepOn(civil.New(2026, 12, 18))
	got := mailTo(h, leader.Email, 1)
	if want := []string{"Technician Commitment: withdrawal recorded — Uni ho"}; !cmp.Equal(want, subjects(got)) {
		t.Fatalf("after the withdrawal the head was sent %q, want %q", subjects(got), want)
	}
	checkSays(t, got[0], "Uni ho withdrew from the Technician Commitment on Friday 11 December 2026, at its own request, and ITSS has recorded the withdrawal.",
		"You were told as the head of Uni ho that its self-assessment and action plan, due on Friday 4 December 2026, was overdue: it is no longer due.")
	if got[0].ICS {
		t.Errorf("the head's email carries a calendar, though theirs had none:\n%s", got[0].ICSBody)
	}
	if lead := mailTo(h, lead.Email, 3); len(lead) != 1 || !lead[0].ICS {
		t.Errorf("the lead was sent %q after the withdrawal, want the one email with its cancellation", subjects(lead))
	}

	// A head never told it was overdue is sent the confirmation alone.
	h.onboard("hn", civil.New(2026, 12, 1), civil.New(2027, 9, 20))
	h.sweepOn(civil.New(2026, 12, 19))
	before := len(mailTo(h, leader.Email, 0))
	h.publish("hn", events.OrganisationWithdrawnV1{OrganisationID: "hn", WithdrawnOn: civil.New(2026, 12, 19), Reason: "merged", InitiatedBy: "organisation"})
	h.waitFor("hn")
	h.sweepOn(civil.New(2026, 12, 20))
	if got := mailTo(h, leader.Email, before); len(got) != 1 || strings.Contains(got[0].Text, "overdue") || strings.Contains(got[0].Text, "no longer due") {
		t.Errorf("a head never told of an overdue obligation was sent %q at the withdrawal, want the confirmation alone", subjects(got))
	}
}

// A lead replaced by another had the open obligation's due date put in their calendar
// by its reminders; the email telling them the role passed on cancels it (the same
// UID, a higher SEQUENCE, STATUS:CANCELLED). Before, it stayed there, though the
// reminders, and the obligation, were no longer theirs. The new lead's reminders
// give it to them; when the organisation then withdraws, only the new lead, who was
// reminded, is sent its cancellation.
func TestAReplacedLeadHasTheDueDateCancelledInTheirCalendar(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 19, 8, 0, 0, 0, time.UTC))
	h.onboard("hc", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	h.runUntil(civil.New(2026, 3, 21)) // the window opens: the first reminder
	reminded := mailTo(h, lead.Email, 0)
	if len(reminded) != 1 {
		t.Fatalf("the lead was sent %q, want the reminder", subjects(reminded))
	}
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	h.publish("hc", events.OrganisationContactsChangedV1{OrganisationID: "hc", Leader: leader, NominatedLead: chris})
	h.waitFor("hc")
	got := mailTo(h, lead.Email, 1)
	if len(got) != 1 || got[0].Subject != "Technician Commitment: you are no longer Uni hc's nominated lead" {
		t.Fatalf("the lead before was sent %q, want the hand-over", subjects(got))
	}
	checkSays(t, got[0], "The attached calendar update removes Uni hc's self-assessment and action plan, due on Sunday 20 September 2026, from your calendar")
	published, cancelled := calendarOf(t, reminded[0]), calendarOf(t, got[0])
	if cancelled.method != "CANCEL" || cancelled.status != "CANCELLED" || cancelled.uid != published.uid || cancelled.sequence <= published.sequence {
		t.Errorf("the hand-over does not cancel the reminder's entry %+v: its calendar is %+v", published, cancelled)
	}
	for _, m := range mailTo(h, chris.Email, 0) {
		if m.ICS {
			t.Errorf("the new lead's %q carries a calendar", m.Subject)
		}
	}

	h.runUntil(civil.New(2026, 6, 22)) // the new lead's reminder, 90 days before
	h.publish("hc", events.OrganisationWithdrawnV1{OrganisationID: "hc", Reason: "merged", InitiatedBy: "organisation"})
	h.waitFor("hc")
	if got := subjects(mailTo(h, lead.Email, 2)); len(got) != 0 {
		t.Errorf("after the withdrawal the lead before was sent %q", got)
	}
	last := mailTo(h, chris.Email, 0)
	if e := calendarOf(t, last[len(last)-1]); e.method != "CANCEL" || e.uid != published.uid {
		t.Errorf("the new lead's last email %q carries %+v, want the due date's cancellation", last[len(last)-1].Subject, e)
	}
}

// A reviewer with two reviews outstanding when the round closes is told so in one
// email, which cancels both deadlines: a calendar for each, attached apart, since an
// iTIP message speaks of one UID.
func TestARoundClosedCancelsEachOutstandingReviewsDeadline(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	r := h.round("r-two")
	deadline := time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC)
	kit := reviewer{round: "r-two", roundName: "Winter 2026", sub: "s-one", org: "wn", orgName: "University of Wn", deadline: deadline}.as("kit", "Kit Reviewer")
	r.publish(kit.assigned(), kit.accepted(), kit.on("s-two").assigned(), kit.on("s-two").accepted())
	r.publish(events.ReviewRoundClosedV1{RoundID: "r-two", RoundName: "Winter 2026"})
	got := mailTo(h, kit.email, 0)
	if len(got) != 3 || !strings.Contains(got[2].Subject, "the round is closed") {
		t.Fatalf("Kit was sent %q, want two assignments and the round's closing", subjects(got))
	}
	if n := len(got[2].ICSParts); n != 2 {
		t.Fatalf("the closing's email attaches %d calendars, want one for each review", n)
	}
	for i, body := range got[2].ICSParts {
		published := calendarOf(t, got[i])
		cancelled := calendarOf(t, received{Subject: got[2].Subject, ICS: true, ICSBody: body})
		if cancelled.method != "CANCEL" || cancelled.status != "CANCELLED" || cancelled.uid != published.uid || cancelled.sequence <= published.sequence {
			t.Errorf("calendar %d of the closing's email does not cancel %+v: it is %+v", i, published, cancelled)
		}
	}
	checkSays(t, got[2], "The attached calendar update removes the reviews' deadlines from your calendar")
}

// htmlText is the text a reader sees of an email's HTML part, as a real HTML parser
// reads it: its blocks apart, and its runs of white space made one space.
func htmlText(t *testing.T, m received) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(m.HTMLBody))
	if err != nil {
		t.Fatalf("the HTML of %q does not parse: %v", m.Subject, err)
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "head") {
			return
		}
		block := n.Type == html.ElementNode && strings.Contains(" p div br li td tr h1 h2 h3 table ", " "+n.Data+" ")
		if block {
			b.WriteString(" ")
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if block {
			b.WriteString(" ")
		}
	}
	walk(doc)
	return strings.Join(strings.Fields(b.String()), " ")
}

// A reviewer asked to review a submission, who had neither accepted nor declined it
// when ITSS closed the round before its deadline, is told the round is closed and no
// review is wanted from them, with the cancellation of the deadline the assignment's
// email put in their calendar. Before, they were sent nothing: the chase after the
// deadline, which would have cancelled it, is not sent for a closed round, so the
// deadline stayed in their calendar for good. They are told once: not again when the
// closure is delivered twice, nor by the chase after the deadline; and a reviewer
// whose deadline passed before the round closed, told so by the chase, is not told
// again by the closure.
func TestAReviewerWhoNeverAcceptedIsToldOnceTheRoundClosedAndHasTheirDeadlineCancelled(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	deadline := time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC)
	r := h.round("r-na")
	base := reviewer{round: "r-na", roundName: "Winter 2026", sub: "s-na", org: "wn", orgName: "University of Wn", deadline: deadline}
	kim, lee := base.as("kim", "Kim Reviewer"), base.as("lee", "Lee Reviewer")
	r.publish(kim.assigned(), lee.assigned(), lee.accepted())
	h.clock.Set(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	closed := events.ReviewRoundClosedV1{RoundID: "r-na", RoundName: "Winter 2026", ReviewDeadline: deadline}
	r.publish(closed)
	r.again(r.version, closed)

	got := mailTo(h, kim.email, 0)
	want := []string{
		"Technician Commitment peer review (Winter 2026): University of Wn's submission is assigned to you, due Friday 11 December 2026, 17:00 GMT",
		"Technician Commitment peer review (Winter 2026): the round is closed; no review of University of Wn's submission is needed from you",
	}
	if diff := cmp.Diff(want, subjects(got)); diff != "" {
		t.Fatalf("kim's emails (-want +got):\n%s", diff)
	}
	told := got[1]
	says := []string{
		"Dear Kim Reviewer,",
		"ITSS closed the peer review round “Winter 2026” on Friday 20 November 2026, and it takes no new reviews. You had not accepted the assignment to review University of Wn's submission, so no review of it is needed from you: there is nothing left to accept or decline, and you will not be reminded of it again.",
		"ITSS may ask another reviewer to review it.",
		"The attached calendar update removes the review's deadline from your calendar, if you added it from an earlier email.",
		"https://portal.example.org/reviews",
	}
	checkSays(t, told, says...)
	if page := htmlText(t, told); !told.HTML {
		t.Errorf("%q has no HTML part", told.Subject)
	} else {
		for _, s := range says[:4] {
			if !strings.Contains(page, s) {
				t.Errorf("the HTML of %q does not say %q:\n%s", told.Subject, s, page)
			}
		}
		if !strings.Contains(told.HTMLBody, `href="https://portal.example.org/reviews"`) {
			t.Errorf("the HTML of %q does not link to the reviews:\n%s", told.Subject, told.HTMLBody)
		}
	}
	if strings.Contains(told.Text, "reviews/r-na/s-na") {
		t.Errorf("kim, who can no longer accept, is sent to the review's page:\n%s", told.Text)
	}
	published, cancelled := calendarOf(t, got[0]), calendarOf(t, told)
	if published.method != "PUBLISH" || cancelled.method != "CANCEL" || cancelled.status != "CANCELLED" || cancelled.uid != published.uid || cancelled.sequence <= published.sequence {
		t.Errorf("the closure's email to kim does not cancel the deadline %+v: its calendar is %+v", published, cancelled)
	}
	// Lee, who accepted, is told as before, in the email of the reviews no longer needed.
	if got := subjects(mailTo(h, lee.email, 1)); !cmp.Equal(got, []string{"Technician Commitment peer review (Winter 2026): the round is closed; your review is no longer needed"}) {
		t.Errorf("lee was sent %q after the closure", got)
	}

	// The deadline passes: no chase, and nothing else, for the closed round.
	h.runUntil(civil.New(2026, 12, 14))
	h.clock.Set(time.Date(2026, 12, 14, 9, 0, 0, 0, time.UTC))
	r.publish(kim.overdue())
	if got := subjects(mailTo(h, kim.email, 2)); len(got) != 0 {
		t.Errorf("after the closure kim was sent %q", got)
	}

	// Another round: the chase after the deadline tells kim first; its closure then
	// tells her nothing more, however often it is heard.
	r2 := h.round("r-nb")
	late := base
	late.round, late.sub, late.deadline = "r-nb", "s-nb", time.Date(2027, 1, 8, 17, 0, 0, 0, time.UTC)
	kim2 := late.as("kim", "Kim Reviewer")
	r2.publish(kim2.assigned())
	h.clock.Set(time.Date(2027, 1, 9, 9, 0, 0, 0, time.UTC))
	r2.publish(kim2.overdue())
	r2.publish(events.ReviewRoundClosedV1{RoundID: "r-nb", RoundName: "Winter 2026", ReviewDeadline: late.deadline})
	r2.again(r2.version-1, kim2.overdue())
	r2.again(r2.version, events.ReviewRoundClosedV1{RoundID: "r-nb", RoundName: "Winter 2026", ReviewDeadline: late.deadline})
	want = []string{
		"Technician Commitment peer review (Winter 2026): University of Wn's submission is assigned to you, due Friday 8 January 2027, 17:00 GMT",
		"Technician Commitment peer review (Winter 2026): the deadline for University of Wn's submission passed before you accepted it",
	}
	if diff := cmp.Diff(want, subjects(mailTo(h, kim.email, 2))); diff != "" {
		t.Errorf("kim's emails of the second round (-want +got):\n%s", diff)
	}
}
