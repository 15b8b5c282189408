package service_test

import (
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/google/go-cmp/cmp"

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
	// Fay, asked again, keeps the deadline: nothing cancels it.
	for _, m := range mailTo(h, fay.email, 0) {
		if e := calendarOf(t, m); e.method == "CANCEL" {
			t.Errorf("Fay, asked again, was sent a cancellation in %q", m.Subject)
		}
	}
}

// A lead reminded of their organisation's obligation has its due date in their
// calendar (each reminder's .ics). When the organisation withdraws, the lead is told
// once that it is no longer due, with the entry's cancellation: the same UID, a
// higher SEQUENCE, STATUS:CANCELLED. Before, nothing was sent, and the due date stayed
// in their calendar. An organisation whose lead had no reminder is sent nothing.
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
	if want := []string{"Technician Commitment: Uni wd's self-assessment and action plan is no longer due"}; !cmp.Equal(want, subjects(got)) {
		t.Fatalf("after the withdrawal the lead was sent %q, want %q", subjects(got), want)
	}
	checkSays(t, got[0], "Uni wd has withdrawn from the Technician Commitment, so its self-assessment and action plan, due on Sunday 20 September 2026, is no longer due",
		"The attached calendar update removes the due date from your calendar")
	published, cancelled := calendarOf(t, reminded[0]), calendarOf(t, got[0])
	if cancelled.method != "CANCEL" || cancelled.status != "CANCELLED" || cancelled.uid != published.uid || cancelled.sequence <= published.sequence {
		t.Errorf("the withdrawal's email does not cancel the reminder's entry %+v: its calendar is %+v", published, cancelled)
	}

	// Withdrawn before any reminder: nothing to cancel, nothing sent.
	h.onboard("wn", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	before := len(h.box.all())
	h.publish("wn", events.OrganisationWithdrawnV1{OrganisationID: "wn", Reason: "merged", InitiatedBy: "organisation"})
	h.waitFor("wn")
	h.runUntil(civil.New(2026, 3, 29))
	if n := len(h.box.all()); n != before {
		t.Errorf("a withdrawal with no reminder sent sent %d emails", n-before)
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
	if len(got) != 1 || got[0].Subject != "Technician Commitment: Uni hc's nominated lead is now Chris Lee" {
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
