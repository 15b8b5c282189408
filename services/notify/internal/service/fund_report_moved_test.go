package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// A funded project's report moved to another day (ITSS corrected its round's project
// window a year on) is told to its applicant and the organisation's nominated lead
// once, however often the move is heard and by whichever of two replicas: from what day to what, and the window before
// and after, with the calendar entry of the report moved (the award's UID, a higher
// SEQUENCE). The email asking for the report by the old day is not sent again (a
// resend is 409, and the event heard late sends nothing), and the chase of the report
// overdue by the new day is sent, once.
func TestAMovedReportDayIsToldOnceAndMovesItsCalendarEntry(t *testing.T) {
	t.Parallel()
	h := start(t, 2, time.Date(2027, 7, 1, 8, 0, 0, 0, time.UTC)) // two replicas share the durable
	h.onboard("fm", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	version := 0
	publish := func(ps ...events.Payload) {
		t.Helper()
		for _, p := range ps {
			version++
			data, _ := json.Marshal(p)
			e := events.Envelope{ID: fmt.Sprintf("fm-%d", version), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "app-fm",
				Version: version, Time: h.clock.Now(), Data: data}
			if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
				t.Fatal(err)
			}
		}
		h.waitForConsumer(events.StreamFund, "notify-fund")
	}
	shortDue, newDue := civil.New(2027, 7, 30), civil.New(2028, 7, 30)
	publish(events.ApplicationAwardedV1{ApplicationID: "app-fm", RoundID: "r", OrganisationID: "fm", Title: "Skills exchange", AmountPence: 80000,
		Applicant: applicant, Endorsement: lead, ReportDue: shortDue, ProjectStart: civil.New(2027, 5, 1), ProjectEnd: civil.New(2027, 6, 30)})
	askedShort := events.ReportDueV1{ApplicationID: "app-fm", OrganisationID: "fm", Title: "Skills exchange", Due: shortDue, Applicant: applicant, Endorsement: lead}
	publish(askedShort)
	awarded := calendarOf(t, mailTo(h, applicant.Email, 0)[0])

	h.clock.Set(time.Date(2027, 7, 2, 9, 0, 0, 0, time.UTC))
	move := events.ReportDueMovedV1{ApplicationID: "app-fm", RoundID: "r", OrganisationID: "fm", Title: "Skills exchange", Move: 1,
		DueBefore: shortDue, Due: newDue, ProjectStartBefore: civil.New(2027, 5, 1), ProjectEndBefore: civil.New(2027, 6, 30),
		ProjectStart: civil.New(2027, 5, 1), ProjectEnd: civil.New(2028, 6, 30), Applicant: applicant, Endorsement: lead}
	publish(move, move) // heard twice (two events, as a replica racing would record): told once
	for _, to := range []string{applicant.Email, lead.Email} {
		got := mailTo(h, to, 2)
		if len(got) != 1 {
			t.Fatalf("%s was sent %q after the move, want one email", to, subjects(got))
		}
		m := got[0]
		if m.Subject != "Technician Collaboration Fund: your project report is now due by Sunday 30 July 2028 — Skills exchange" ||
			!strings.Contains(m.Text, "now due by Sunday 30 July 2028, not Friday 30 July 2027") ||
			!strings.Contains(m.Text, "must end by Friday 30 June 2028 (it said Saturday 1 May 2027 to Wednesday 30 June 2027)") ||
			!strings.Contains(m.Text, "/fund/applications/app-fm") {
			t.Errorf("the move's email to %s reads %q:\n%s", to, m.Subject, m.Text)
		}
		if c := calendarOf(t, m); c.uid != awarded.uid || c.sequence <= awarded.sequence || !strings.Contains(m.ICSBody, "20280730") {
			t.Errorf("the move's calendar entry to %s is %+v, want the award's UID %s with a SEQUENCE above %d, on 30 July 2028", to, c, awarded.uid, awarded.sequence)
		}
	}
	// The email asking for the report by the old day is no longer true.
	ops := h.http.Token(auth.RoleOps, "")
	if res := h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "fm", "fund-report-due", applicant.Email)+"/resends", ops, nil); res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "moved") {
		t.Errorf("the old day's reminder resent after the move: %d %s, want 409 saying the day moved", res.Status, res.Body)
	}
	// The award email sent again no longer gives the window and day the award had,
	// nor their calendar entry.
	if res := h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "fm", "fund-awarded", applicant.Email)+"/resends", ops, nil); res.Status != http.StatusOK {
		t.Fatalf("the award email resent after the move: %d %s", res.Status, res.Body)
	}
	if got := mailTo(h, applicant.Email, 3); len(got) != 1 || got[0].ICS || strings.Contains(got[0].Text, "30 July 2027") || strings.Contains(got[0].Text, "30 June 2027") || !strings.Contains(got[0].Text, "corrected the project's window") {
		t.Errorf("the award email resent after the move: %q", subjects(got))
		for _, m := range got {
			t.Log(m.Text)
		}
	}
	// Heard late (a replica's sweep recorded it before the move), and its chase the day
	// after the old day: nothing is sent for a day that no longer stands.
	h.clock.Set(time.Date(2027, 7, 31, 9, 0, 0, 0, time.UTC))
	publish(askedShort, events.ReportOverdueV1{ApplicationID: "app-fm", OrganisationID: "fm", Title: "Skills exchange", Due: shortDue, Applicant: applicant, Endorsement: lead})
	if got := mailTo(h, applicant.Email, 4); len(got) != 0 {
		t.Errorf("after the move the old day's events sent %q", subjects(got))
	}
	// The chase by the new day goes, once.
	h.clock.Set(time.Date(2028, 7, 31, 9, 0, 0, 0, time.UTC))
	overdue := events.ReportOverdueV1{ApplicationID: "app-fm", OrganisationID: "fm", Title: "Skills exchange", Due: newDue, Applicant: applicant, Endorsement: lead, DueMoves: 1}
	publish(overdue, overdue)
	for to, from := range map[string]int{applicant.Email: 4, lead.Email: 3} {
		got := mailTo(h, to, from)
		if len(got) != 1 || !strings.Contains(got[0].Text, "was due by Sunday 30 July 2028") {
			t.Errorf("%s was sent %q by the new day, want one chase saying it was due by Sunday 30 July 2028", to, subjects(got))
		}
	}
}

// The email saying a report's day moved asks for the report by the new day: once the
// report is in, it is not sent again (ops' resend is 409 saying the report is in).
func TestAMovedReportDayIsNotResentOnceTheReportIsIn(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 7, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("fi", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	version := 0
	publish := func(p events.Payload) {
		t.Helper()
		version++
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: fmt.Sprintf("fi-%d", version), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "app-fi",
			Version: version, Time: h.clock.Now(), Data: data}
		if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
			t.Fatal(err)
		}
		h.waitForConsumer(events.StreamFund, "notify-fund")
	}
	shortDue, newDue := civil.New(2027, 7, 30), civil.New(2028, 7, 30)
	publish(events.ApplicationAwardedV1{ApplicationID: "app-fi", RoundID: "r", OrganisationID: "fi", Title: "Skills exchange", AmountPence: 80000,
		Applicant: applicant, Endorsement: lead, ReportDue: shortDue, ProjectStart: civil.New(2027, 5, 1), ProjectEnd: civil.New(2027, 6, 30)})
	publish(events.ReportDueMovedV1{ApplicationID: "app-fi", RoundID: "r", OrganisationID: "fi", Title: "Skills exchange", Move: 1,
		DueBefore: shortDue, Due: newDue, ProjectStart: civil.New(2027, 5, 1), ProjectEnd: civil.New(2028, 6, 30), Applicant: applicant, Endorsement: lead})
	moved := deliveryOf(h, "fi", "fund-report-due-moved", applicant.Email)
	publish(events.ReportSubmittedV1{ApplicationID: "app-fi", RoundID: "r", OrganisationID: "fi", Title: "Skills exchange", SpentPence: 60000, Applicant: applicant})
	before := len(h.box.all())
	ops := h.http.Token(auth.RoleOps, "")
	if res := h.http.Do("POST", "/v1/deliveries/"+moved+"/resends", ops, nil); res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "report on the project is in") {
		t.Errorf("the moved day's email resent once the report is in: %d %s, want 409 saying the report is in", res.Status, res.Body)
	}
	if sent := h.box.all()[before:]; len(sent) != 0 {
		t.Errorf("the refused resend sent %q", subjects(sent))
	}
}
