package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/adapters"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
)

// sweepOn moves the clock to 08:00 London time on day and sweeps once, as the first
// sweep after notify comes back from being down since the previous call.
func (h *harness) sweepOn(day civil.Date) {
	h.t.Helper()
	h.clock.Set(time.Date(day.Time().Year(), day.Time().Month(), day.Time().Day(), 8, 0, 0, 0, time.UTC))
	for _, s := range h.svcs {
		if _, err := s.App.Sweep(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
}

// mailOf lists the emails about organisation org since the n-th, as subject -> recipients.
func mailOf(h *harness, org string, from int) []received {
	var out []received
	for _, m := range h.box.all()[from:] {
		if strings.Contains(m.Subject, "Uni "+org) {
			out = append(out, m)
		}
	}
	return out
}

// After notify was down across several steps of the ladder, the first sweep sends one
// email per recipient, and it states where the obligation stands on the day it is
// sent, not what the last missed step would have said on its own day.
func TestACatchUpSendsOneEmailStatingThePositionOnTheDayItIsSent(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("t", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	h.sweepOn(civil.New(2026, 3, 20)) // the window opens
	cases := []struct {
		day     civil.Date
		subject string
		text    []string
		to      []string
	}{
		// Down since March: the 90-day and 30-day steps are missed; the 7-day step is the
		// last due, but there are 2 days left.
		{civil.New(2026, 12, 2), "Technician Commitment: Uni t's self-assessment and action plan is due in 2 days (Friday 4 December 2026)",
			[]string{"As of today, Wednesday 2 December 2026, it is due in 2 days.", "https://portal.example.org/obligations/t"}, []string{"lead@exampleton.ac.uk"}},
		// Down again over the last day and the due date: 3 days overdue.
		{civil.New(2026, 12, 7), "Technician Commitment: Uni t's self-assessment and action plan is 3 days overdue (due Friday 4 December 2026)",
			[]string{"As of today, Monday 7 December 2026, it is 3 days overdue."}, []string{"lead@exampleton.ac.uk"}},
		// Down from before the 7-day-overdue step until long after the 30-day one.
		{civil.New(2027, 2, 16), "Technician Commitment: Uni t's self-assessment and action plan is 74 days overdue (due Friday 4 December 2026)",
			[]string{"As of today, Tuesday 16 February 2027, it is 74 days overdue."}, []string{"lead@exampleton.ac.uk", "vc@exampleton.ac.uk"}},
	}
	for _, c := range cases {
		before := len(h.box.all())
		h.sweepOn(c.day)
		h.sweepOn(c.day) // a second sweep on the same day sends nothing more
		got := mailOf(h, "t", before)
		var to []string
		for _, m := range got {
			to = append(to, m.To...)
			if m.Subject != c.subject {
				t.Errorf("%s: subject %q, want %q", c.day, m.Subject, c.subject)
			}
			for _, s := range c.text {
				if !strings.Contains(m.Text, s) {
					t.Errorf("%s: email to %v does not say %q:\n%s", c.day, m.To, s, m.Text)
				}
			}
			if !m.ICS {
				t.Errorf("%s: no .ics", c.day)
			}
			checkSays(t, m)
		}
		if fmt.Sprint(to) != fmt.Sprint(c.to) {
			t.Errorf("%s: emails went to %v, want one each to %v", c.day, to, c.to)
		}
	}
}

// isoDate finds a date written the ISO way, which emails do not use.
var isoDate = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)

// checkSays fails unless the email's text holds every phrase, uses one date style,
// and leaves the feed's secret address out.
func checkSays(t *testing.T, m received, phrases ...string) {
	t.Helper()
	for _, s := range phrases {
		if !strings.Contains(m.Text, s) && !strings.Contains(m.Subject, s) {
			t.Errorf("email %q to %v does not say %q:\n%s", m.Subject, m.To, s, m.Text)
		}
	}
	if d := isoDate.FindString(m.Subject + "\n" + m.Text); d != "" {
		t.Errorf("email %q says the date %s the ISO way, not as Europe/London's \"Friday 4 December 2026\"", m.Subject, d)
	}
	if strings.Contains(m.Text, "/v1/calendars/") {
		t.Errorf("email %q carries the calendar feed's secret address", m.Subject)
	}
}

// The head of the institution is written to at the overdue steps: the email says why
// they receive it, and when the lead was reminded.
func TestTheHeadsOverdueEmailSaysWhyAndWhenTheLeadWasTold(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("hd", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	h.sweepOn(civil.New(2026, 3, 20))
	h.sweepOn(civil.New(2026, 12, 4))
	before := len(h.box.all())
	h.sweepOn(civil.New(2026, 12, 11)) // 7 days overdue: lead and head
	var head *received
	for _, m := range mailOf(h, "hd", before) {
		if strings.Join(m.To, ",") == "vc@exampleton.ac.uk" {
			head = &m
		}
	}
	if head == nil {
		t.Fatal("the head was not written to at 7 days overdue")
	}
	checkSays(t, *head, "Dear Prof. Jane Smith,",
		"You are receiving this email because you are the head of Uni hd, which has signed the Technician Commitment, and Uni hd's self-assessment and action plan is overdue. It was due on Friday 4 December 2026.",
		"As of today, Friday 11 December 2026, it is 7 days overdue.",
		"Its nominated lead for the Technician Commitment, Sam Patel, was reminded of it by email on Friday 20 March 2026, Friday 4 December 2026 and Friday 11 December 2026.",
		"https://portal.example.org/obligations/hd")
	if strings.Contains(head.Text, "Please submit it, or tell ITSS if something stands in the way") {
		t.Error("the head is sent the lead's email")
	}
}

// The head of a supporter is told that their organisation supports the Commitment: a
// supporter backs it, and does not sign it.
func TestTheHeadOfASupporterIsNotToldItSigned(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.publish("sp", events.OrganisationEnquiryReceivedV1{OrganisationID: "sp", Name: "Uni sp", Kind: "supporter"})
	h.publish("sp", events.OrganisationAnnouncedV1{OrganisationID: "sp", Name: "Uni sp", Kind: "supporter", NominatedLead: lead, Leader: leader})
	h.publish("sp", events.ObligationScheduledV1{OrganisationID: "sp", ObligationID: "sp-c1", Kind: "action_plan", Cycle: 1, WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2026, 9, 20)})
	h.waitFor("sp")
	before := len(h.box.all())
	h.sweepOn(civil.New(2026, 9, 27)) // 7 days overdue: lead and head
	var head *received
	for _, m := range mailOf(h, "sp", before) {
		if strings.Join(m.To, ",") == leader.Email {
			head = &m
		}
	}
	if head == nil {
		t.Fatal("the head was not written to at 7 days overdue")
	}
	checkSays(t, *head, "You are receiving this email because you are the head of Uni sp, which supports the Technician Commitment, and Uni sp's action plan is overdue.")
	if strings.Contains(head.Text, "signed") {
		t.Errorf("the head of a supporter is told it signed the Commitment:\n%s", head.Text)
	}
}

// An organisation with no nominated lead (its lead erased at their request, and none
// named since) has nobody reminded but its head: the head's overdue email says so and
// asks for a lead to be named, and claims no reminder that did not go out.
func TestTheHeadsOverdueEmailSaysWhenThereIsNoLeadToRemind(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("nolead", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	h.sweepOn(civil.New(2026, 3, 20)) // the window opens: Sam Patel is told
	h.publish("nolead", events.OrganisationContactsChangedV1{OrganisationID: "nolead", Leader: leader, NominatedLead: events.Person{Erased: true}})
	h.waitFor("nolead")
	before := len(h.box.all())
	h.sweepOn(civil.New(2026, 12, 11)) // 7 days overdue: the head alone
	got := mailOf(h, "nolead", before)
	if len(got) != 1 || strings.Join(got[0].To, ",") != leader.Email {
		t.Fatalf("at 7 days overdue with no lead, emails went to %v, want the head's alone", got)
	}
	checkSays(t, got[0], "Dear Prof. Jane Smith,",
		"Reminders of it went by email on Friday 20 March 2026 to the nominated lead recorded at the time.",
		"Uni nolead has no nominated lead for the Technician Commitment recorded now, so nobody else is being reminded of it.",
		"Please name a new nominated lead by telling ITSS who it is.",
		"Once a lead is named, they submit it")
	for _, claim := range []string{"is being reminded of it by email today", "was reminded of it", "The lead submits it"} {
		if strings.Contains(got[0].Text, claim) {
			t.Errorf("the head's email says %q, with no lead to remind:\n%s", claim, got[0].Text)
		}
	}
}

// deliveryTo is the id of the delivery of org's step (none: "") to email, from the log.
func deliveryTo(h *harness, org, step, email string) string {
	h.t.Helper()
	ops := h.http.Token(auth.RoleOps, "")
	for _, it := range h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id="+org, ops, nil)).JSON(h.t)["items"].([]any) {
		d := it.(map[string]any)
		to, at := d["to"].([]any), d["step"]
		if at == nil {
			at = "" // an email not of a step
		}
		if at == step && len(to) == 1 && to[0].(map[string]any)["email"] == email {
			return d["id"].(string)
		}
	}
	h.t.Fatalf("no delivery of %s's %s step to %s in the log", org, step, email)
	return ""
}

// The head's overdue email says the lead was reminded only on the days a reminder
// went to the lead the organisation has now (by address, in any case): reminders to
// an earlier lead are said to have gone to the lead recorded at the time, whether the
// head's email is resent after the lead changed or the lead changed between steps.
func TestTheHeadsOverdueEmailNamesTheLeadOnlyForTheRemindersThatReachedThem(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("nl2", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	h.sweepOn(civil.New(2026, 3, 20))
	h.sweepOn(civil.New(2026, 12, 11)) // 7 days overdue: Sam Patel and the head
	head := deliveryTo(h, "nl2", "overdue-7", leader.Email)
	ops := h.http.Token(auth.RoleOps, "")
	resend := func(contacts events.Person) received {
		t.Helper()
		h.publish("nl2", events.OrganisationContactsChangedV1{OrganisationID: "nl2", Leader: leader, NominatedLead: contacts})
		h.waitFor("nl2")
		before := len(h.box.all())
		if d := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+head+"/resends", ops, nil)).JSON(t); d["status"] != "sent" {
			t.Fatalf("the resend of the head's email: %v", d)
		}
		got := mailOf(h, "nl2", before)
		if len(got) != 1 {
			t.Fatalf("the resend sent %d emails", len(got))
		}
		return got[0]
	}

	// The same lead at their address in other letters: they were told.
	same := resend(events.Person{Name: "Sam Patel", Email: "Lead@Exampleton.ac.uk"})
	checkSays(t, same, "Its nominated lead for the Technician Commitment, Sam Patel, was reminded of it by email on Friday 20 March 2026 and Friday 11 December 2026.")

	// A new lead, told nothing yet.
	bea := events.Person{Name: "Bea Newlead", Email: "bea@exampleton.ac.uk"}
	got := resend(bea)
	checkSays(t, got,
		"Reminders of it went by email on Friday 20 March 2026 and Friday 11 December 2026 to the nominated lead recorded at the time.",
		"Its nominated lead for the Technician Commitment now, Bea Newlead, has been named since, and has not been sent a reminder of it.")
	for _, claim := range []string{"Bea Newlead, was reminded", "is being reminded of it by email today"} {
		if strings.Contains(got.Text, claim) {
			t.Errorf("the resent head's email says %q, though no email went to Bea Newlead:\n%s", claim, got.Text)
		}
	}

	// The next step reminds the new lead, then the head.
	before := len(h.box.all())
	h.sweepOn(civil.New(2027, 1, 3)) // 30 days overdue
	var toHead *received
	for _, m := range mailOf(h, "nl2", before) {
		if strings.Join(m.To, ",") == leader.Email {
			toHead = &m
		}
	}
	if toHead == nil {
		t.Fatal("the head was not written to at 30 days overdue")
	}
	checkSays(t, *toHead,
		"Reminders of it went by email on Friday 20 March 2026 and Friday 11 December 2026 to the nominated lead recorded at the time.",
		"Its nominated lead for the Technician Commitment, Bea Newlead, was reminded of it by email on Sunday 3 January 2027.")
}

// A reviewer's emails name the round, the institution and the submission, give the
// deadline in London time with its zone, link to the review's page in the portal and
// carry the deadline as an .ics. An older event without the names is told with the
// institution's name from notify's own records.
func TestReviewerEmailsNameRoundInstitutionAndSubmissionLinkAndCarryTheDeadline(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC))
	h.onboard("rv", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Date(2027, 2, 1, 17, 0, 0, 0, time.UTC)
	named := events.ReviewerAssignedV1{RoundID: "r7", RoundName: "Spring 2027", SubmissionID: "sub-9", OrganisationID: "rv", OrganisationName: "University of Rivendell",
		ReviewerID: "rita", ReviewerName: "Rita Reviewer", ReviewerEmail: "rita@othertown.ac.uk", ReviewDeadline: deadline}
	older := named
	older.RoundName, older.OrganisationName, older.ReviewerID, older.ReviewerEmail = "", "", "olga", "olga@othertown.ac.uk"
	for i, p := range []events.Payload{named, older} {
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: fmt.Sprintf("assign-%d", i), Type: p.EventType(), AggregateType: "review_round", AggregateID: "r7", Version: i + 1, Time: time.Now(), Data: data}
		if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitForConsumer(events.StreamReview, "notify-review")
	h.runUntil(civil.New(2027, 1, 25)) // the reminder 7 days before
	byTo := map[string][]received{}
	for _, m := range h.box.all() {
		if strings.Contains(m.Subject, "peer review") {
			byTo[strings.Join(m.To, ",")] = append(byTo[strings.Join(m.To, ",")], m)
		}
	}
	if len(byTo["rita@othertown.ac.uk"]) != 2 || len(byTo["olga@othertown.ac.uk"]) != 2 {
		t.Fatalf("want the assignment and the reminder to each reviewer, got %v", byTo)
	}
	for _, m := range byTo["rita@othertown.ac.uk"] {
		checkSays(t, m, "Spring 2027", "University of Rivendell", "sub-9", "Monday 1 February 2027, 17:00 GMT", "https://portal.example.org/reviews/r7/sub-9")
		if !m.ICS || !strings.Contains(m.ICSBody, "DTSTART:20270201T170000Z") || !strings.Contains(m.ICSBody, "reviews/r7/sub-9") {
			t.Errorf("email %q: no .ics marking the deadline and linking the review:\n%s", m.Subject, m.ICSBody)
		}
	}
	for _, m := range byTo["olga@othertown.ac.uk"] {
		checkSays(t, m, "Uni rv", "round r7", "sub-9", "Monday 1 February 2027, 17:00 GMT", "https://portal.example.org/reviews/r7/sub-9")
		if !m.ICS {
			t.Errorf("email %q: no .ics", m.Subject)
		}
	}
}

// Fund emails go to the applicant the fund holds (whose own sign-in made the
// application) and to the lead the signatory service named for the organisation,
// never to an address typed into the application as its endorsement.
func TestFundEmailsGoToTheContactsTheSuiteHoldsNotTheAddressTypedIntoTheApplication(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("fo", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	typed := events.Person{Name: "Sam Patel", Email: "sam.patel@freemail.example"}
	for i, p := range []events.Payload{
		events.ApplicationSubmittedV1{ApplicationID: "fa1", RoundID: "fr", OrganisationID: "fo", Title: "Skills exchange", RequestedAmountPence: 85000, Applicant: applicant, Endorsement: typed},
		events.ApplicationAwardedV1{ApplicationID: "fa1", RoundID: "fr", OrganisationID: "fo", Title: "Skills exchange", AmountPence: 85000, Applicant: applicant, Endorsement: typed, ReportDue: civil.New(2027, 12, 31)},
	} {
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: fmt.Sprintf("fund-typed-%d", i), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "fa1", Version: i + 1, Time: time.Now(), Data: data}
		if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")
	var got []string
	for _, m := range h.box.all() {
		if strings.Contains(m.Subject, "Fund") {
			got = append(got, strings.Join(m.To, ","))
			// The applicant's tools act through the fund's API (the portal is for the
			// lead), so the email names where each reads the application.
			checkSays(t, m, "https://portal.example.org/fund/applications/fa1", "from the fund's API as application fa1",
				"nominated lead can also read it in the Technician Commitment portal")
			if strings.Contains(m.Subject, "funded") && (!m.ICS || !strings.Contains(m.ICSBody, "DTSTART;VALUE=DATE:20271231")) {
				t.Errorf("the award does not carry the report's due date as an .ics")
			}
		}
	}
	sort.Strings(got)
	want := []string{"ann@exampleton.ac.uk", "ann@exampleton.ac.uk", "lead@exampleton.ac.uk", "lead@exampleton.ac.uk"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fund emails went to (-want +got):\n%s", diff)
	}
}

// A delivery the relay refused for good is listed as given_up with the reason, can be
// filtered so, and ops resend it once the data is fixed: the new attempt goes to the
// lead as the signatory service now names them.
func TestAGivenUpDeliveryIsListedWithItsReasonAndResentOnceTheDataIsFixed(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	broken := events.Person{Name: "Sam Patel\r\nBcc: everyone@example.org", Email: "lead@exampleton.ac.uk"}
	h.publish("g", events.OrganisationAnnouncedV1{OrganisationID: "g", Name: "Uni g", Kind: "signatory", NominatedLead: broken, Leader: leader})
	h.publish("g", events.ObligationScheduledV1{OrganisationID: "g", ObligationID: "g-c1", Kind: "self_assessment_and_action_plan", Cycle: 1, WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2026, 9, 20)})
	h.waitFor("g")
	h.sweepOn(civil.New(2026, 3, 20))
	ops := h.http.Token(auth.RoleOps, "")
	given := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=g&status=given_up", ops, nil)).JSON(t)["items"].([]any)
	if len(given) != 1 {
		t.Fatalf("given up deliveries: %v, want the refused reminder", given)
	}
	d := given[0].(map[string]any)
	if d["status"] != "given_up" || !strings.Contains(d["last_error"].(string), "line break") {
		t.Errorf("the given-up delivery does not say so and why: %v", d)
	}
	if sent := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=g&status=sent", ops, nil)).JSON(t)["items"].([]any); len(sent) != 0 {
		t.Errorf("the refused reminder is listed as sent: %v", sent)
	}

	h.publish("g", events.OrganisationContactsChangedV1{OrganisationID: "g", NominatedLead: lead, Leader: leader})
	h.waitFor("g")
	h.clock.Advance(2 * 24 * time.Hour)
	before := len(h.box.all())
	after := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+d["id"].(string)+"/resends", ops, nil)).JSON(t)
	if after["status"] != "sent" {
		t.Fatalf("after the fix, the resend: %v", after)
	}
	got := mailOf(h, "g", before)
	if len(got) != 1 || strings.Join(got[0].To, ",") != "lead@exampleton.ac.uk" {
		t.Fatalf("the resend delivered %v", got)
	}
	checkSays(t, got[0], "Dear Sam Patel,", "As of today, Sunday 22 March 2026, it is due in 182 days.")
}

// Ops resending a reminder whose obligation has since been met, or replaced by the
// next, are refused with 409 saying what became of it, before any attempt: the log
// entry stays as it was, nothing is sent, and nothing is counted or listed as given
// up (which says the relay refused an email).
func TestAResendOfAReminderNoLongerTrueIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("mr", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	h.sweepOn(civil.New(2026, 3, 20)) // the window opens: the lead is told
	id := deliveryTo(h, "mr", "window-open", lead.Email)
	ops := h.http.Token(auth.RoleOps, "")
	entry := func() map[string]any {
		for _, it := range h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=mr", ops, nil)).JSON(t)["items"].([]any) {
			if d := it.(map[string]any); d["id"] == id {
				return d
			}
		}
		t.Fatalf("delivery %s is not in the log", id)
		return nil
	}
	was := entry()
	before := len(h.box.all())
	refused := func(why string) {
		t.Helper()
		r := h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil)
		if r.Status != http.StatusConflict || r.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(r.Body), why) {
			t.Errorf("the resend of a reminder no longer true: %d %s %s, want 409 saying %q", r.Status, r.Header.Get("Content-Type"), r.Body, why)
		}
	}

	h.publish("mr", events.ObligationMetV1{OrganisationID: "mr", ObligationID: "mr-c1", SubmissionID: "sub-mr", ReceivedOn: civil.New(2026, 4, 2)})
	h.waitFor("mr")
	h.clock.Set(time.Date(2026, 4, 3, 9, 0, 0, 0, time.UTC))
	refused("the obligation mr-c1 was met on Thursday 2 April 2026")
	// The next cycle's obligation opens: the reminder is of the one met.
	h.publish("mr", events.ObligationScheduledV1{OrganisationID: "mr", ObligationID: "mr-c2", Kind: "self_assessment_and_action_plan", Cycle: 2,
		WindowOpens: civil.New(2028, 10, 2), Due: civil.New(2029, 4, 2)})
	h.waitFor("mr")
	refused("the obligation mr-c1 was met on Thursday 2 April 2026")

	if diff := cmp.Diff(was, entry()); diff != "" {
		t.Errorf("the refused resends changed the log entry (-before +after):\n%s", diff)
	}
	if got := mailOf(h, "mr", before); len(got) != 0 {
		t.Errorf("the refused resends sent %v", subjects(got))
	}
	if given := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?status=given_up", ops, nil)).JSON(t)["items"].([]any); len(given) != 0 {
		t.Errorf("the refused resends are listed as given up: %v", given)
	}
	if n, err := h.http.Metric("tc_notify_emails_given_up_total", "kind", "reminder"); err != nil || n != 0 {
		t.Errorf("tc_notify_emails_given_up_total{kind=reminder} = %v (%v), want 0", n, err)
	}
}

// A reminder resent after its recipient's role was left empty (the lead erased at
// their request, and none named since) has nobody to go to: 409 saying so, and no
// attempt at an empty address.
func TestAResendToALeadNobodyHoldsIsRefused(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("gone", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	h.sweepOn(civil.New(2026, 3, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	p := events.ApplicationSubmittedV1{ApplicationID: "app-gone", OrganisationID: "gone", Title: "Skills exchange", RequestedAmountPence: 85000,
		Applicant: events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}}
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: "evt-gone", Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "app-gone", Version: 1, Time: time.Now(), Data: data}
	if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
		t.Fatal(err)
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")
	reminder, receipt := deliveryTo(h, "gone", "window-open", lead.Email), deliveryTo(h, "gone", "", lead.Email)
	h.publish("gone", events.OrganisationContactsChangedV1{OrganisationID: "gone", Leader: leader, NominatedLead: events.Person{Erased: true}})
	h.waitFor("gone")
	ops := h.http.Token(auth.RoleOps, "")
	before := len(h.box.all())
	for _, id := range []string{reminder, receipt} {
		r := h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil)
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "gone has no nominated lead recorded now") {
			t.Errorf("the resend to a lead nobody holds: %d %s, want 409 saying there is no lead", r.Status, r.Body)
		}
	}
	if sent := h.box.all()[before:]; len(sent) != 0 {
		t.Errorf("the refused resends sent %q to %v", sent[0].Subject, sent[0].To)
	}
	if given := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?status=given_up", ops, nil)).JSON(t)["items"].([]any); len(given) != 0 {
		t.Errorf("the refused resend is listed as given up: %v", given)
	}
}

// The calendar feed's address is replaced when the signatory service names a new
// lead, and when ops or the lead ask; the old address then answers 404. Rotations
// racing leave exactly one address answering.
func TestTheCalendarFeedRotatesOnANewLeadAndOnRequest(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("k", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	leadTok, ops := h.http.Token(auth.RoleLead, "k"), h.http.Token(auth.RoleOps, "")
	feedURL := func() string {
		return h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/organisations/k/calendar", leadTok, nil)).JSON(t)["url"].(string)
	}
	serves := func(u string) int {
		return h.http.Do("GET", strings.TrimPrefix(u, "https://notify.example.org"), "", nil).Status
	}
	first := feedURL()
	if serves(first) != http.StatusOK {
		t.Fatal("the feed does not answer")
	}

	rotated := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/organisations/k/calendar/rotation", leadTok, nil)).JSON(t)["url"].(string)
	h.http.Must(http.StatusNotFound, h.http.Do("POST", "/v1/organisations/k/calendar/rotation", h.http.Token(auth.RoleLead, "other"), nil))
	if rotated == first || feedURL() != rotated || serves(first) != http.StatusNotFound || serves(rotated) != http.StatusOK {
		t.Errorf("after the lead's rotation: old %s answers %d, new %s answers %d", first, serves(first), rotated, serves(rotated))
	}

	// A change of head only: the address stays.
	h.publish("k", events.OrganisationContactsChangedV1{OrganisationID: "k", NominatedLead: lead, Leader: events.Person{Name: "Prof. New Head", Email: "head@exampleton.ac.uk"}})
	h.waitFor("k")
	if feedURL() != rotated {
		t.Error("a new head changed the feed address")
	}
	// A new lead: the previous lead's address stops answering.
	h.publish("k", events.OrganisationContactsChangedV1{OrganisationID: "k", NominatedLead: events.Person{Name: "Lee New", Email: "lee@exampleton.ac.uk"}, Leader: leader})
	h.waitFor("k")
	newLead := feedURL()
	if newLead == rotated || serves(rotated) != http.StatusNotFound || serves(newLead) != http.StatusOK {
		t.Errorf("after a new lead: old %s answers %d, new %s answers %d", rotated, serves(rotated), newLead, serves(newLead))
	}

	// Ops rotate, many times at once: one address answers, the one the service gives.
	urls := make([]string, 8)
	var wg sync.WaitGroup
	for i := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			urls[i] = h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/organisations/k/calendar/rotation", ops, nil)).JSON(t)["url"].(string)
		}()
	}
	wg.Wait()
	live := feedURL()
	for _, u := range append(urls, newLead) {
		if want := map[bool]int{true: http.StatusOK, false: http.StatusNotFound}[u == live]; serves(u) != want {
			t.Errorf("after racing rotations %s answers %d, want %d (live: %s)", u, serves(u), want, live)
		}
	}
}

// The preview pages like every list: limit (1-200) and an opaque cursor.
func TestThePreviewPagesWithLimitAndCursor(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	for _, org := range []string{"p1", "p2", "p3"} {
		h.onboard(org, civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	}
	ops := h.http.Token(auth.RoleOps, "")
	var seen []string
	cursor := ""
	for range 5 {
		page := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/reminders/preview?limit=2"+cursor, ops, nil)).JSON(t)
		for _, it := range page["items"].([]any) {
			seen = append(seen, it.(map[string]any)["organisation_id"].(string))
		}
		next, ok := page["next_cursor"].(string)
		if !ok {
			break
		}
		cursor = "&cursor=" + next
	}
	if diff := cmp.Diff([]string{"p1", "p2", "p3"}, seen); diff != "" {
		t.Errorf("pages of the preview (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"limit=0", "limit=201", "cursor=not*a*cursor"} {
		if r := h.http.Do("GET", "/v1/reminders/preview?"+bad, ops, nil); r.Status != http.StatusBadRequest {
			t.Errorf("GET /v1/reminders/preview?%s: %d, want 400", bad, r.Status)
		}
	}
}

// The relay refuses mail for days while steps of the ladder fall due. When it takes
// mail again, one email arrives, saying where things stand that day: the retries of
// the earlier steps are given up as superseded, not sent one after another.
func TestARelayOutageEndsWithOneEmailForTheCurrentPosition(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 9, 10, 8, 0, 0, 0, time.UTC))
	h.onboard("ro", civil.New(2026, 9, 10), civil.New(2026, 9, 20))
	h.sweepOn(civil.New(2026, 9, 10)) // the window opens; this one arrives
	h.box.mu.Lock()
	h.box.refuse = func(string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	}
	h.box.mu.Unlock()
	before := len(h.box.all())
	for _, day := range []civil.Date{civil.New(2026, 9, 13), civil.New(2026, 9, 14), civil.New(2026, 9, 19)} {
		h.sweepOn(day) // the 7-day and 1-day steps fail, and their retries too
	}
	h.box.mu.Lock()
	h.box.refuse = nil
	h.box.mu.Unlock()
	h.sweepOn(civil.New(2026, 9, 20))
	h.sweepOn(civil.New(2026, 9, 20))
	got := mailOf(h, "ro", before)
	if len(got) != 1 {
		var subjects []string
		for _, m := range got {
			subjects = append(subjects, m.Subject)
		}
		t.Fatalf("after the outage %d emails arrived, want 1:\n%s", len(got), strings.Join(subjects, "\n"))
	}
	checkSays(t, got[0], "Technician Commitment: Uni ro's self-assessment and action plan is due today (Sunday 20 September 2026)",
		"As of today, Sunday 20 September 2026, it is due today.")
	ops := h.http.Token(auth.RoleOps, "")
	given := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=ro&status=given_up", ops, nil)).JSON(t)["items"].([]any)
	if len(given) != 2 || !strings.Contains(given[0].(map[string]any)["last_error"].(string), "superseded") {
		t.Errorf("the earlier steps' deliveries: %v, want 2 given up as superseded", given)
	}
}

// The chase of an overdue review is not sent to a reviewer whose review is in by the
// time notify handles it (late, after downtime).
func TestAnOverdueChaseIsNotSentForAReviewAlreadyIn(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 6, 2, 8, 0, 0, 0, time.UTC))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)
	publish := func(id string, p events.Payload) {
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: id, Type: p.EventType(), AggregateType: "review_round", AggregateID: "r9", Version: 1, Time: time.Now(), Data: data}
		if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
			t.Fatal(err)
		}
		h.waitForConsumer(events.StreamReview, "notify-review")
	}
	publish("in", events.ReviewSubmittedV1{RoundID: "r9", SubmissionID: "s9", ReviewerID: "rob", Summary: "Late but in."})
	publish("chase", events.ReviewOverdueV1{RoundID: "r9", SubmissionID: "s9", OrganisationID: "x", ReviewerID: "rob", ReviewerName: "Rob Reviewer",
		ReviewerEmail: "rob@othertown.ac.uk", ReviewDeadline: deadline})
	publish("chase-other", events.ReviewOverdueV1{RoundID: "r9", SubmissionID: "s9", OrganisationID: "x", ReviewerID: "ray", ReviewerName: "Ray Reviewer",
		ReviewerEmail: "ray@othertown.ac.uk", ReviewDeadline: deadline})
	var to []string
	for _, m := range h.box.all() {
		to = append(to, strings.Join(m.To, ","))
	}
	if diff := cmp.Diff([]string{"ray@othertown.ac.uk"}, to); diff != "" {
		t.Errorf("overdue chases went to (-want +got):\n%s", diff)
	}
}

// The review service takes no acceptance after the deadline, so a reviewer who had
// not accepted by then can never submit: their chase says the deadline passed before
// they accepted and no review is needed from them, carries no deadline to act on, and
// links to their assignments. A reviewer who accepted is chased to submit, as before.
func TestAnOverdueChaseToAReviewerWhoNeverAcceptedSaysNoReviewIsNeeded(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 5, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("na", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	base := reviewer{round: "r10", roundName: "Spring 2027", sub: "s10", org: "na", orgName: "University of Na", deadline: time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)}
	kim, lee := base.as("kim", "Kim Reviewer"), base.as("lee", "Lee Reviewer")
	r := h.round("r10")
	r.publish(kim.assigned(), lee.assigned(), lee.accepted())
	h.runUntil(civil.New(2027, 6, 1))
	before := len(h.box.all())
	r.publish(kim.overdue(), lee.overdue())
	chases := map[string]received{}
	testenv.Eventually(t, 20*time.Second, func() error {
		for _, m := range h.box.all()[before:] {
			chases[strings.Join(m.To, ",")] = m
		}
		if len(chases) != 2 {
			return fmt.Errorf("chases went to %v, want one each to kim and lee", chases)
		}
		return nil
	})

	never := chases[kim.email]
	if want := "Technician Commitment peer review (Spring 2027): the deadline for University of Na's submission passed before you accepted it"; never.Subject != want {
		t.Errorf("the chase of an assignment never accepted: subject %q, want %q", never.Subject, want)
	}
	checkSays(t, never, "Dear Kim Reviewer,",
		"The deadline for reviews of University of Na's submission (s10) in the peer review round Spring 2027 was Monday 31 May 2027, 17:00 BST, and it passed before you accepted the assignment.",
		"no review of it is needed from you", "ITSS may ask another reviewer to review it.", "https://portal.example.org/reviews")
	if strings.Contains(never.Text, "Please submit it") || strings.Contains(never.Text, "reviews/r10/s10") || never.ICS {
		t.Errorf("kim, who can no longer accept, is asked to submit, sent to the review's page or given a deadline (ics %v):\n%s", never.ICS, never.Text)
	}

	accepted := chases[lee.email]
	if want := "Technician Commitment peer review (Spring 2027): your review of University of Na's submission is overdue"; accepted.Subject != want {
		t.Errorf("the chase of an accepted assignment: subject %q, want %q", accepted.Subject, want)
	}
	checkSays(t, accepted, "Dear Lee Reviewer,", "the review is still outstanding",
		"Please submit it in the Technician Commitment portal, or tell ITSS if you cannot:", "https://portal.example.org/reviews/r10/s10")
	if !accepted.ICS {
		t.Error("the chase of an accepted review carries no .ics of its deadline")
	}
}

// A sweep that runs while an obligation's ladder is being listed sees part of it: it
// sends the latest step it sees, and the next sweep finds a later step of the same
// ladder listed since. Each email says where the obligation stands that day, so the
// second was the first again, word for word (found in Mailpit on a stack whose sweep
// ran every 2 s while organisations were announced late: three leads got the same
// overdue email twice, 0.2 s apart). One email a day per recipient and obligation,
// whichever steps fall due that day.
func TestALadderListedAcrossTwoSweepsSendsOneEmailThatDay(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("s", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	day := civil.New(2026, 3, 20) // the window opens: its step is due today
	before := len(h.box.all())
	h.sweepOn(day)
	if got := mailOf(h, "s", before); len(got) != 1 {
		t.Fatalf("the window opening: %d emails, want 1", len(got))
	}
	// A later step of the same ladder, listed after that sweep: its day has passed, so
	// it is listed today, as a schedule in progress lists it.
	rem, err := adapters.NewReminders(context.Background(), h.svcs[0].DB, h.clock)
	if err != nil {
		t.Fatal(err)
	}
	later := ladder.Reminder{OrganisationID: "s", ObligationID: "s-c1", Due: civil.New(2026, 12, 4),
		Step: ladder.Step{Name: "due-in-259", On: day.AddDays(-1), DaysLeft: 259}}
	if err := rem.Schedule(context.Background(), []ladder.Reminder{later}); err != nil {
		t.Fatal(err)
	}
	h.sweepOn(day)
	if got := mailOf(h, "s", before); len(got) != 1 {
		var subjects []string
		for _, m := range got {
			subjects = append(subjects, fmt.Sprintf("%q to %v", m.Subject, m.To))
		}
		t.Errorf("the same day, a later step listed after the first sweep: %d emails, want 1:\n%s", len(got), strings.Join(subjects, "\n"))
	}
	// The next step's own day still gets its email.
	h.sweepOn(civil.New(2026, 9, 5))
	if got := mailOf(h, "s", before); len(got) != 2 {
		t.Errorf("the 90-day step's day: %d emails in all, want 2", len(got))
	}
}

// A retry is composed afresh for whoever holds the recipient's role when it is sent,
// and the delivery log keeps what that email said, not the failed attempt's text.
func TestARetryToANewLeadIsLoggedAsItWasSent(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("nl", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	h.box.mu.Lock()
	h.box.refuse = func(string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	}
	h.box.mu.Unlock()
	before := len(h.box.all())
	h.sweep() // the window opens: its email to Sam Patel fails for now
	nia := events.Person{Name: "Nia Newlead", Email: "nia@exampleton.ac.uk"}
	h.publish("nl", events.OrganisationContactsChangedV1{OrganisationID: "nl", Leader: leader, NominatedLead: nia})
	h.waitFor("nl")
	h.box.mu.Lock()
	h.box.refuse = nil
	h.box.mu.Unlock()
	h.clock.Advance(3 * time.Minute) // past the first retry's wait
	h.sweep()
	var sent []received
	for _, m := range mailOf(h, "nl", before) {
		if strings.Join(m.To, ",") == nia.Email {
			sent = append(sent, m)
		}
	}
	if len(sent) != 1 || !strings.Contains(sent[0].Text, "Nia") {
		t.Fatalf("the retry reached the new lead %d times (%v), want once, greeting her", len(sent), subjects(sent))
	}
	cur, err := h.svcs[0].DB.Collection("delivery_bodies").Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var bodies []struct {
		Text string `bson:"text"`
	}
	if err := cur.All(context.Background(), &bodies); err != nil {
		t.Fatal(err)
	}
	logged := 0
	for _, b := range bodies {
		if strings.Contains(b.Text, "Uni nl") && strings.Contains(b.Text, "Nia") {
			logged++
			if strings.Contains(b.Text, "Sam") {
				t.Errorf("the logged email greets the lead it was first written for:\n%s", b.Text)
			}
		}
	}
	if logged != 1 {
		t.Errorf("%d logged bodies greet the new lead, want the retry's", logged)
	}
}

// The reminder before a review's deadline tells a reviewer who has not accepted the
// assignment to accept it (an acceptance is taken only until the deadline), not only
// to submit a review they cannot yet write; one who accepted is told the review is due.
func TestTheReminderBeforeTheDeadlineTellsWhoHasNotAcceptedToAccept(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("v", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)
	amy := events.ReviewerAssignedV1{RoundID: "r1", SubmissionID: "s1", OrganisationID: "v", ReviewerID: "amy", ReviewerName: "Amy Reviewer", ReviewerEmail: "amy@othertown.ac.uk", ReviewDeadline: deadline}
	ben := amy
	ben.ReviewerID, ben.ReviewerName, ben.ReviewerEmail = "ben", "Ben Reviewer", "ben@othertown.ac.uk"
	for i, p := range []events.Payload{amy, ben,
		events.AssignmentAcceptedV1{RoundID: "r1", SubmissionID: "s1", OrganisationID: "v", ReviewerID: "ben", ReviewerName: ben.ReviewerName, ReviewerEmail: ben.ReviewerEmail, ReviewDeadline: deadline},
	} {
		data, _ := json.Marshal(p)
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("accept-evt-%d", i), Type: p.EventType(), AggregateType: "review_round", AggregateID: "r1", Version: i + 1, Time: time.Now(), Data: data})
	}
	h.waitForConsumer(events.StreamReview, "notify-review")
	h.runUntil(civil.New(2027, 5, 30))
	reminders := map[string]string{}
	for _, m := range h.box.all() {
		if !strings.Contains(m.Subject, "assigned to you") {
			reminders[strings.Join(m.To, ",")] = m.Subject + "\n" + m.Text
		}
	}
	if got := reminders["amy@othertown.ac.uk"]; !strings.Contains(got, "accept and review Uni v's submission by Monday 31 May 2027, 17:00 BST") ||
		!strings.Contains(got, "have not yet accepted it") || !strings.Contains(got, "can be accepted only until then") {
		t.Errorf("the reminder to Amy, who has not accepted:\n%s", got)
	}
	if got := reminders["ben@othertown.ac.uk"]; !strings.Contains(got, "your review of Uni v's submission is due in 7 days") || strings.Contains(got, "not yet accepted") {
		t.Errorf("the reminder to Ben, who accepted:\n%s", got)
	}
}
