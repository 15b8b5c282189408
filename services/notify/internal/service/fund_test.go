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

// A fund email resent by ops after what it asks for was done is refused, 409 saying
// why, and sent to nobody: the receipt that says ITSS will write with the decision,
// once the decision is made; the email that asks for the report, once the report is in.
func TestAFundEmailIsNotResentOnceWhatItAsksForIsDone(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("fd", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
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
			e := events.Envelope{ID: fmt.Sprintf("fd-%d", version), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "app-fd",
				Version: version, Time: h.clock.Now(), Data: data}
			if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
				t.Fatal(err)
			}
		}
		h.waitForConsumer(events.StreamFund, "notify-fund")
	}
	publish(events.ApplicationSubmittedV1{ApplicationID: "app-fd", OrganisationID: "fd", Title: "Skills exchange", RequestedAmountPence: 85000, Applicant: applicant, Endorsement: lead})
	ops := h.http.Token(auth.RoleOps, "")
	resend := func(kind, email string) (int, string) {
		t.Helper()
		res := h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "fd", kind, email)+"/resends", ops, nil)
		return res.Status, string(res.Body)
	}
	// Before the decision the receipt is still true, and is resent.
	if status, body := resend("fund-received", applicant.Email); status != http.StatusOK {
		t.Fatalf("the receipt resent before the decision: %d %s", status, body)
	}
	publish(events.ApplicationAwardedV1{ApplicationID: "app-fd", RoundID: "r", OrganisationID: "fd", Title: "Skills exchange", AmountPence: 80000,
		Applicant: applicant, Endorsement: lead, ReportDue: civil.New(2027, 12, 31)},
		events.ReportDueV1{ApplicationID: "app-fd", OrganisationID: "fd", Title: "Skills exchange", Due: civil.New(2027, 12, 31), Applicant: applicant, Endorsement: lead})
	if status, body := resend("fund-report-due", applicant.Email); status != http.StatusOK {
		t.Fatalf("the report's reminder resent before the report is in: %d %s", status, body)
	}
	publish(events.ReportSubmittedV1{ApplicationID: "app-fd", RoundID: "r", OrganisationID: "fd", Title: "Skills exchange", SpentPence: 79000, Applicant: applicant})

	before := len(h.box.all())
	for _, c := range []struct{ kind, email, why string }{
		{"fund-received", applicant.Email, "decided"},
		{"fund-received", lead.Email, "decided"},
		{"fund-report-due", applicant.Email, "report"},
		{"fund-report-due", lead.Email, "report"},
	} {
		if status, body := resend(c.kind, c.email); status != http.StatusConflict || !strings.Contains(body, c.why) {
			t.Errorf("the %s email to %s resent after the report came in: %d %s, want 409 saying %q", c.kind, c.email, status, body, c.why)
		}
	}
	if sent := h.box.all()[before:]; len(sent) != 0 {
		t.Errorf("the refused resends sent %q", subjects(sent))
	}

	// The award email is the record of the award, and is resent: once the report is
	// in, it no longer asks for the report, nor carries its date. It still did.
	for _, to := range []string{applicant.Email, lead.Email} {
		if status, body := resend("fund-awarded", to); status != http.StatusOK {
			t.Fatalf("the award email to %s resent after the report: %d %s", to, status, body)
		}
		got := mailTo(h, to, 0)
		m := got[len(got)-1]
		if !strings.Contains(m.Subject, "funded") || !strings.Contains(m.Text, "Its report is in: thank you.") || strings.Contains(m.Text, "report on the project is due") || m.ICS {
			t.Errorf("the award email to %s, resent after the report came in, reads %q (a calendar entry: %t):\n%s", to, m.Subject, m.ICS, m.Text)
		}
	}
}

// A funded project's report not in by its due day was never chased. The fund's
// ReportOverdueV1 now sends the applicant and the organisation's lead an email that
// gives the day it was due, asks for it now, and links to the application; resent by
// ops once the report is in, it is refused as no longer true.
func TestALateReportIsChased(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2028, 2, 1, 9, 0, 0, 0, time.UTC))
	h.onboard("fl", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
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
			e := events.Envelope{ID: fmt.Sprintf("fl-%d", version), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "app-fl",
				Version: version, Time: h.clock.Now(), Data: data}
			if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
				t.Fatal(err)
			}
		}
		h.waitForConsumer(events.StreamFund, "notify-fund")
	}
	publish(events.ReportOverdueV1{ApplicationID: "app-fl", OrganisationID: "fl", Title: "Skills exchange", Due: civil.New(2028, 1, 31), Applicant: applicant, Endorsement: lead})
	for _, to := range []string{applicant.Email, lead.Email} {
		got := mailTo(h, to, 0)
		if len(got) == 0 {
			t.Fatalf("no email reached %s", to)
		}
		m := got[len(got)-1]
		if m.Subject != "Technician Collaboration Fund: your project report is overdue — Skills exchange" ||
			!strings.Contains(m.Text, "was due by Monday 31 January 2028") || !strings.Contains(m.Text, "Please send it now") ||
			!strings.Contains(m.Text, "/fund/applications/app-fl") {
			t.Errorf("the chase to %s reads %q:\n%s", to, m.Subject, m.Text)
		}
	}
	publish(events.ReportSubmittedV1{ApplicationID: "app-fl", RoundID: "r", OrganisationID: "fl", Title: "Skills exchange", SpentPence: 79000, Applicant: applicant})
	ops := h.http.Token(auth.RoleOps, "")
	res := h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "fl", "fund-report-overdue", applicant.Email)+"/resends", ops, nil)
	if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "report") {
		t.Errorf("the chase resent after the report came in: %d %s, want 409", res.Status, res.Body)
	}
}

// An application its applicant withdrew after submitting it (from their own tools, or
// a colleague's) is told to the organisation's nominated lead, once however often the
// event comes: the lead endorses the organisation's applications and was told of its
// receipt, which said ITSS would assess it. The email says what was withdrawn, when,
// and that ITSS will not assess it. The applicant is not told (they did it), nor the
// lead of an application they withdrew themselves, nor anyone of a draft, which the
// lead was never told of. Before, the lead heard nothing.
func TestTheLeadIsToldAnApplicationItsApplicantWithdrewAfterSubmittingIt(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("fy", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	submitted := time.Date(2027, 2, 10, 14, 30, 0, 0, time.UTC)
	// The fund's ids are UUIDs, which checkSays finds in an email's words.
	withdrawn, draft, leadsOwn := "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2c01", "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2c02", "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2c03"
	for i, p := range []events.ApplicationWithdrawnV1{
		{ApplicationID: withdrawn, OrganisationID: "fy", RoundID: "fr", Title: "Skills exchange", Reason: "The partner could no longer take part.",
			Applicant: applicant, SubmittedAt: submitted},
		{ApplicationID: draft, OrganisationID: "fy", RoundID: "fr", Title: "Half an idea", Applicant: applicant},
		{ApplicationID: leadsOwn, OrganisationID: "fy", RoundID: "fr", Title: "Lead's own bid", Reason: "Not this year.",
			Applicant: events.Person{Name: lead.Name, Email: strings.ToUpper(lead.Email)}, SubmittedAt: submitted},
	} {
		data, _ := json.Marshal(p)
		// Each published twice, as JetStream redelivers an event whose ack was lost.
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("fy-withdrawn-%d", i), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application",
			AggregateID: p.ApplicationID, Version: 3, Time: time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC), Data: data})
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")

	if got := mailTo(h, applicant.Email, 0); len(got) != 0 {
		t.Errorf("the applicant, who withdrew it, was told: %q", subjects(got))
	}
	got := mailTo(h, lead.Email, 0)
	if len(got) != 1 {
		t.Fatalf("the lead was sent %q, want one email, of the submitted application its applicant withdrew", subjects(got))
	}
	m := got[0]
	checkSays(t, m, "Technician Collaboration Fund: an application is withdrawn — Skills exchange", "Dear Sam Patel,",
		"Uni fy's application “Skills exchange” to the Technician Collaboration Fund, submitted on Wednesday 10 February 2027, 14:30 GMT, was withdrawn by its applicant on Monday 1 March 2027, 08:00 GMT.",
		"Its applicant's reason: The partner could no longer take part.", "ITSS will not assess it", "https://portal.example.org/fund/applications/"+withdrawn)
	if strings.Contains(m.Text, applicant.Name) || strings.Contains(m.Text, applicant.Email) {
		t.Errorf("the lead's copy names the applicant, which an erasure of them would have to find in the lead's email:\n%s", m.Text)
	}
	if id := deliveryOf(h, "fy", "fund-withdrawn", lead.Email); id == "" {
		t.Errorf("the lead's email is not in the delivery log as fund-withdrawn")
	}
}

// A report-due event heard after the report's due day (the fund's sweep ran only
// then, after an outage) said "Please send its short report by" a day gone, and the
// overdue chase followed it. Now it sends the chase itself, which says the report
// was due that day and asks for it now, and the fund's overdue event after it finds
// the chase sent: one true email each for the applicant and the lead, however often
// either event comes. A report-due event heard by its due day still asks for the
// report by then.
func TestAReportDueHeardAfterItsDueDaySaysItIsOverdueOnce(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2028, 2, 5, 9, 0, 0, 0, time.UTC))
	h.onboard("fz", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	late, onTime := "app-fz-late", "app-fz-ontime"
	for i, p := range []events.Payload{
		events.ReportDueV1{ApplicationID: late, OrganisationID: "fz", Title: "Skills exchange", Due: civil.New(2028, 1, 31), Applicant: applicant, Endorsement: lead},
		events.ReportOverdueV1{ApplicationID: late, OrganisationID: "fz", Title: "Skills exchange", Due: civil.New(2028, 1, 31), Applicant: applicant, Endorsement: lead},
		events.ReportDueV1{ApplicationID: onTime, OrganisationID: "fz", Title: "Lab open day", Due: civil.New(2028, 2, 5), Applicant: applicant, Endorsement: lead},
	} {
		data, _ := json.Marshal(p)
		id := late
		if i == 2 {
			id = onTime
		}
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("fz-%d", i), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application",
			AggregateID: id, Version: 5 + i, Time: h.clock.Now(), Data: data})
		h.waitForConsumer(events.StreamFund, "notify-fund")
	}
	for _, to := range []string{applicant.Email, lead.Email} {
		var lateOnes []received
		for _, m := range mailTo(h, to, 0) {
			if strings.Contains(m.Subject+m.Text, "Skills exchange") {
				lateOnes = append(lateOnes, m)
			} else {
				checkSays(t, m, "Technician Collaboration Fund: your project report is due by Saturday 5 February 2028", "Please send its short report by Saturday 5 February 2028")
			}
		}
		if len(lateOnes) != 1 {
			t.Fatalf("%s was sent %q about the late report, want one email", to, subjects(lateOnes))
		}
		m := lateOnes[0]
		checkSays(t, m, "Technician Collaboration Fund: your project report is overdue — Skills exchange", "was due by Monday 31 January 2028", "Please send it now")
		if strings.Contains(m.Subject+m.Text, "Please send its short report by") || m.ICS {
			t.Errorf("the email to %s asks for the report by a day gone (a calendar entry: %t):\n%s", to, m.ICS, m.Text)
		}
	}
	if id := deliveryOf(h, "fz", "fund-report-overdue", applicant.Email); id == "" {
		t.Errorf("the chase is not in the delivery log as fund-report-overdue")
	}
}

// The award email says when the project may start and by when it must end, from the
// award's event; it gave the report's due day alone. An award from before the fund
// said the window (an older event) is told as before.
func TestTheAwardEmailGivesTheProjectWindow(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 10, 9, 0, 0, 0, time.UTC))
	h.onboard("fw2", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	for i, p := range []events.ApplicationAwardedV1{
		{ApplicationID: "app-window", RoundID: "r", OrganisationID: "fw2", Title: "Skills exchange", AmountPence: 80000, Applicant: applicant, Endorsement: lead,
			ReportDue: civil.New(2028, 1, 31), ProjectStart: civil.New(2027, 5, 1), ProjectEnd: civil.New(2027, 12, 31)},
		{ApplicationID: "app-older", RoundID: "r", OrganisationID: "fw2", Title: "Lab open day", AmountPence: 20000, Applicant: applicant, Endorsement: lead,
			ReportDue: civil.New(2028, 1, 31)},
	} {
		data, _ := json.Marshal(p)
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("fw2-%d", i), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application",
			AggregateID: p.ApplicationID, Version: 4, Time: h.clock.Now(), Data: data})
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")
	for _, to := range []string{applicant.Email, lead.Email} {
		got := mailTo(h, to, 0)
		if len(got) != 2 {
			t.Fatalf("%s was sent %q, want the two awards", to, subjects(got))
		}
		for _, m := range got {
			if strings.Contains(m.Subject, "Skills exchange") {
				checkSays(t, m, "The project may start on Saturday 1 May 2027 and must end by Friday 31 December 2027.", "A short report on the project is due by Monday 31 January 2028")
			} else if strings.Contains(m.Text, "may start on") {
				t.Errorf("the award from an older event gives a project window it did not carry:\n%s", m.Text)
			}
		}
	}
}

// The email asking for a funded project's report by its due day, resent by ops after
// that day, asked for it by a day gone: it is refused, 409 saying why, and sent to
// nobody (the chase of the overdue report asks for it then). Before its due day it is
// resent.
func TestTheReportDueEmailIsNotResentAfterItsDueDay(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2028, 1, 20, 9, 0, 0, 0, time.UTC))
	h.onboard("fq", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	p := events.ReportDueV1{ApplicationID: "app-fq", OrganisationID: "fq", Title: "Skills exchange", Due: civil.New(2028, 1, 31), Applicant: applicant, Endorsement: lead}
	data, _ := json.Marshal(p)
	if _, err := h.env.JS.PublishMsg(ctx, bus.Message(events.Envelope{ID: "fq-1", Source: "/tc/fund", Type: p.EventType(), AggregateType: "application",
		AggregateID: "app-fq", Version: 5, Time: h.clock.Now(), Data: data})); err != nil {
		t.Fatal(err)
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")
	ops := h.http.Token(auth.RoleOps, "")
	resend := func(email string) (int, string) {
		t.Helper()
		res := h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "fq", "fund-report-due", email)+"/resends", ops, nil)
		return res.Status, string(res.Body)
	}
	if status, body := resend(applicant.Email); status != http.StatusOK {
		t.Fatalf("the report's email resent before its due day: %d %s", status, body)
	}
	h.clock.Set(time.Date(2028, 2, 1, 9, 0, 0, 0, time.UTC))
	before := len(h.box.all())
	for _, to := range []string{applicant.Email, lead.Email} {
		if status, body := resend(to); status != http.StatusConflict || !strings.Contains(body, "Monday 31 January 2028") {
			t.Errorf("the report's email to %s resent after its due day: %d %s, want 409 giving the day", to, status, body)
		}
	}
	if sent := h.box.all()[before:]; len(sent) != 0 {
		t.Errorf("the refused resends sent %q", subjects(sent))
	}
}
