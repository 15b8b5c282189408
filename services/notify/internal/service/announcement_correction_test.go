package service_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// TestACorrectedAnnouncementDateMovesTheRemindersAndSaysSo: ITSS typed an
// announcement's date wrong (2025-03-20 for 2025-03-02) and corrects it. The
// reminders follow the new dates (none is sent for the old ones after the correction,
// none is lost for the new), the calendar feed moves the entries, and the lead and the
// head are each told once that the deadline was corrected, from what to what, the lead
// with the portal's page and the calendar entry of the due date moved (the reminders'
// UID, stated now). A redelivered correction sends nothing again.
func TestACorrectedAnnouncementDateMovesTheRemindersAndSaysSo(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC))
	oldOpens, oldDue := civil.New(2026, 3, 20), civil.New(2026, 9, 20)
	opens, due := civil.New(2026, 3, 2), civil.New(2026, 9, 2)
	h.onboard("ac", oldOpens, oldDue)
	url := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/organisations/ac/calendar", h.http.Token(auth.RoleLead, "ac"), nil)).JSON(t)["url"].(string)
	url = strings.TrimPrefix(url, "https://notify.example.org")

	h.publish("ac", events.OrganisationAnnouncementCorrectedV1{OrganisationID: "ac", OrganisationName: "Uni ac",
		AnnouncedOn: civil.New(2025, 3, 2), PreviousAnnouncedOn: civil.New(2025, 3, 20),
		ObligationID: "ac-c1", ObligationKind: events.ObligationSelfAssessmentAndActionPlan,
		WindowOpens: opens, Due: due, PreviousWindowOpens: oldOpens, PreviousDue: oldDue})
	correction := h.last
	h.publish("ac", events.ObligationScheduledV1{OrganisationID: "ac", OrganisationName: "Uni ac", ObligationID: "ac-c1",
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: opens, Due: due})
	h.waitFor("ac")

	subject := "Technician Commitment: Uni ac's self-assessment and action plan is now due on " + due.InWords() + " (deadline corrected)"
	waitForMail(t, h.box, "ac", []string{
		subject + " -> " + lead.Email + " (ics true)",
		subject + " -> " + leader.Email + " (ics false)",
	})
	for _, m := range h.box.all() {
		if m.Subject != subject {
			continue
		}
		text := strings.Join(strings.Fields(m.Text), " ")
		for _, want := range []string{
			"it was made on " + civil.New(2025, 3, 2).InWords() + ", not on " + civil.New(2025, 3, 20).InWords(),
			"is now due on " + due.InWords() + ", not on " + oldDue.InWords(),
			"Submissions open on " + opens.InWords() + " (not " + oldOpens.InWords() + ")",
			"As of today, " + civil.New(2026, 1, 10).InWords(),
			"itss@example.org",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("the email to %v does not say %q:\n%s", m.To, want, m.Text)
			}
		}
		switch m.To[0] {
		case lead.Email:
			if !strings.Contains(m.Text, "https://portal.example.org/obligations/ac") {
				t.Errorf("the lead's email does not link to the obligation's page:\n%s", m.Text)
			}
			c := calendarOf(t, m)
			if c.uid != "ac-c1-due@technician-commitment.itss.org.uk" || !strings.Contains(m.ICSBody, "DTSTART;VALUE=DATE:20260902") {
				t.Errorf("the lead's calendar entry is %+v:\n%s\nwant the due date's UID on 2026-09-02", c, m.ICSBody)
			}
		case leader.Email:
			if strings.Contains(m.Text, "https://portal.example.org/obligations") || !strings.Contains(text, "You are told as the head of Uni ac") {
				t.Errorf("the head's email:\n%s\nwant it to point to the lead, not to pages the head cannot open", m.Text)
			}
		}
	}

	feed := string(h.http.Must(http.StatusOK, h.http.Do("GET", url, "", nil)).Body)
	if strings.Contains(feed, "20260920") || strings.Contains(feed, "20260320") || !strings.Contains(feed, "DTSTART;VALUE=DATE:20260902") || !strings.Contains(feed, "DTSTART;VALUE=DATE:20260302") {
		t.Errorf("the feed does not follow the corrected dates:\n%s", feed)
	}
	preview := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/reminders/preview", h.http.Token(auth.RoleOps, ""), nil)).JSON(t)["items"].([]any)
	if len(preview) != 1 || preview[0].(map[string]any)["on"] != "2026-03-02" {
		t.Errorf("the next reminder %v, want the window's opening on 2026-03-02", preview)
	}

	// The correction redelivered (a lost ack) sends nothing again.
	m := bus.Message(correction)
	m.Header.Set("Nats-Msg-Id", fmt.Sprintf("%s-again", correction.ID))
	ack, err := h.env.JS.PublishMsg(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	h.lastSeq, h.lastSubject = ack.Sequence, m.Subject
	h.waitFor("ac")

	// The window opens on the corrected day, and nothing is sent on the old one.
	h.runUntil(civil.New(2026, 3, 21))
	opened := fmt.Sprintf("Technician Commitment: Uni ac's self-assessment and action plan window is open: due in %d days (%s)", opens.DaysUntil(due), due.InWords())
	waitForMail(t, h.box, "ac", []string{
		subject + " -> " + lead.Email + " (ics true)",
		subject + " -> " + leader.Email + " (ics false)",
		opened + " -> " + lead.Email + " (ics true)",
	})
	for _, m := range h.box.all() {
		if m.Subject != subject && strings.Contains(m.Text, oldDue.InWords()) {
			t.Errorf("an email after the correction names the old due date: %s\n%s", m.Subject, m.Text)
		}
	}
}

// A correction's email says what is true on the day it goes: retried after the relay
// refused it, it says the submissions are open once they are and where the
// obligation stands that day; once the deadline was corrected again, ops' resend of
// it is refused saying why, and the new correction's email says the new deadline.
func TestACorrectionsEmailSaysWhatIsTrueWhenItGoes(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC))
	ops := h.http.Token(auth.RoleOps, "")
	oldOpens, oldDue := civil.New(2026, 3, 20), civil.New(2026, 9, 20)
	opens, due := civil.New(2026, 3, 2), civil.New(2026, 9, 2)
	h.onboard("ar", oldOpens, oldDue)
	correct := func(announced, previous, opens, due, oldOpens, oldDue civil.Date) {
		h.publish("ar", events.OrganisationAnnouncementCorrectedV1{OrganisationID: "ar", OrganisationName: "Uni ar",
			AnnouncedOn: announced, PreviousAnnouncedOn: previous, ObligationID: "ar-c1", ObligationKind: events.ObligationSelfAssessmentAndActionPlan,
			WindowOpens: opens, Due: due, PreviousWindowOpens: oldOpens, PreviousDue: oldDue})
		h.publish("ar", events.ObligationScheduledV1{OrganisationID: "ar", OrganisationName: "Uni ar", ObligationID: "ar-c1",
			Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: opens, Due: due})
		h.waitFor("ar")
	}
	h.box.tryLater(lead.Email)
	correct(civil.New(2025, 3, 2), civil.New(2025, 3, 20), opens, due, oldOpens, oldDue)
	testenv.Eventually(t, 10*time.Second, func() error {
		failed := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=ar&status=failed", ops, nil)).JSON(t)["items"].([]any)
		if len(failed) != 1 {
			return fmt.Errorf("the lead's refused attempt is not recorded yet: %v", failed)
		}
		return nil
	})
	h.box.tryLater()

	subject := "Technician Commitment: Uni ar's self-assessment and action plan is now due on " + due.InWords() + " (deadline corrected)"
	h.sweepOn(civil.New(2026, 3, 5))
	var retried []received
	for _, m := range mailTo(h, lead.Email, 0) {
		if m.Subject == subject {
			retried = append(retried, m)
		}
	}
	if len(retried) != 1 {
		t.Fatalf("the lead received %v, want the retried correction once", subjects(mailTo(h, lead.Email, 0)))
	}
	checkSays(t, retried[0], "Submissions have been open since "+opens.InWords()+" (not "+oldOpens.InWords()+")",
		"As of today, "+civil.New(2026, 3, 5).InWords()+", it is due in")

	id := deliveryOf(h, "ar", "announcement-corrected", lead.Email)
	correct(civil.New(2025, 3, 3), civil.New(2025, 3, 2), civil.New(2026, 3, 3), civil.New(2026, 9, 3), opens, due)
	again := "Technician Commitment: Uni ar's self-assessment and action plan is now due on " + civil.New(2026, 9, 3).InWords() + " (deadline corrected)"
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := subjects(mailTo(h, lead.Email, 0)); !slices.Contains(got, again) {
			return fmt.Errorf("the lead received %v, want the second correction", got)
		}
		return nil
	})
	before := len(h.box.all())
	res := h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil)
	if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "now due on "+civil.New(2026, 9, 3).InWords()) {
		t.Errorf("the resend of the first correction: %d %s, want 409 saying the deadline is now another", res.Status, res.Body)
	}
	if sent := h.box.all()[before:]; len(sent) != 0 {
		t.Errorf("the refused resend sent %q", subjects(sent))
	}
}

// TestACorrectionToAnOrganisationWithoutALeadTellsTheHeadThereIsNone: the nominated
// lead was erased and none is named yet. The head is told of the corrected deadline,
// and that nobody is being reminded of it until a lead is named, not that the
// nominated lead submits it and is reminded; nobody else is written to.
func TestACorrectionToAnOrganisationWithoutALeadTellsTheHeadThereIsNone(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC))
	oldOpens, oldDue := civil.New(2026, 3, 20), civil.New(2026, 9, 20)
	opens, due := civil.New(2026, 3, 2), civil.New(2026, 9, 2)
	h.onboard("nl", oldOpens, oldDue)
	h.publish("person-lead", events.PersonErasedV1{Subject: personal.Subject(lead.Email)})
	h.waitErased(lead.Email)
	h.publish("nl", events.OrganisationAnnouncementCorrectedV1{OrganisationID: "nl", OrganisationName: "Uni nl",
		AnnouncedOn: civil.New(2025, 3, 2), PreviousAnnouncedOn: civil.New(2025, 3, 20),
		ObligationID: "nl-c1", ObligationKind: events.ObligationSelfAssessmentAndActionPlan,
		WindowOpens: opens, Due: due, PreviousWindowOpens: oldOpens, PreviousDue: oldDue})
	h.publish("nl", events.ObligationScheduledV1{OrganisationID: "nl", OrganisationName: "Uni nl", ObligationID: "nl-c1",
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: opens, Due: due})
	h.waitFor("nl")

	subject := "Technician Commitment: Uni nl's self-assessment and action plan is now due on " + due.InWords() + " (deadline corrected)"
	waitForMail(t, h.box, "nl", []string{subject + " -> " + leader.Email + " (ics false)"})
	for _, m := range h.box.all() {
		text := strings.Join(strings.Fields(m.Text), " ")
		if m.Subject == subject && (strings.Contains(text, "nominated lead submits it") ||
			!strings.Contains(text, "Uni nl has no nominated lead for the Technician Commitment recorded now, so nobody is being reminded of the new date.")) {
			t.Errorf("the head's email, with no lead recorded, says:\n%s", m.Text)
		}
	}
}

// TestACorrectionThatMakesTheObligationOverdueSaysItWasDue: a corrected date that
// puts the deadline in the past is told as past in the subject too ("was due on"),
// not as a deadline still to come that is already gone (the audit's run: "is now due
// on Saturday 7 November 2026" on 7 December).
func TestACorrectionThatMakesTheObligationOverdueSaysItWasDue(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	oldOpens, oldDue := civil.New(2027, 5, 7), civil.New(2027, 11, 7)
	opens, due := civil.New(2026, 5, 7), civil.New(2026, 11, 7)
	h.onboard("od", oldOpens, oldDue)
	h.publish("od", events.OrganisationAnnouncementCorrectedV1{OrganisationID: "od", OrganisationName: "Uni od",
		AnnouncedOn: civil.New(2025, 5, 7), PreviousAnnouncedOn: civil.New(2026, 5, 7),
		ObligationID: "od-c1", ObligationKind: events.ObligationSelfAssessmentAndActionPlan,
		WindowOpens: opens, Due: due, PreviousWindowOpens: oldOpens, PreviousDue: oldDue})
	h.publish("od", events.ObligationScheduledV1{OrganisationID: "od", OrganisationName: "Uni od", ObligationID: "od-c1",
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: opens, Due: due})
	h.waitFor("od")
	subject := "Technician Commitment: Uni od's self-assessment and action plan was due on " + due.InWords() + " (deadline corrected)"
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, to := range []string{lead.Email, leader.Email} {
			if got := subjects(mailTo(h, to, 0)); !slices.Contains(got, subject) {
				return fmt.Errorf("%s received %q, want %q", to, got, subject)
			}
		}
		return nil
	})
	// The body too: the deadline the correction put in the past was due then.
	for _, to := range []string{lead.Email, leader.Email} {
		for _, m := range mailTo(h, to, 0) {
			if m.Subject == subject {
				checkSays(t, m, "its self-assessment and action plan was due on "+due.InWords()+", not on "+oldDue.InWords())
			}
		}
	}
}
