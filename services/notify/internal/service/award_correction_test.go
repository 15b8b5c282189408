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
	"github.com/itss/techcommit/libs/testenv"
)

// An award ITSS corrected (£50 typed for £500) is told once, however often the event
// comes and across two instances, to the applicant and to the organisation's nominated
// lead: from what to what in pounds, ITSS's reason, the report still due on its day,
// and whom to write to. The award email, which said the wrong sum, is not resent from
// then on (409 saying why); the correction's, resent once the report is in, says so.
// The correction is one a fund that did not number its corrections recorded.
func TestAnAwardCorrectedIsToldOnceToTheApplicantAndTheLead(t *testing.T) {
	t.Parallel()
	h := start(t, 2, time.Date(2027, 4, 10, 8, 0, 0, 0, time.UTC))
	h.onboard("fc", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	id := "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2c01"
	for i, p := range []events.Payload{
		events.ApplicationAwardedV1{ApplicationID: id, RoundID: "fr", OrganisationID: "fc", Title: "Skills exchange", AmountPence: 5000,
			Applicant: applicant, Endorsement: lead, ReportDue: civil.New(2028, 1, 31)},
		events.AwardCorrectedV1{ApplicationID: id, RoundID: "fr", OrganisationID: "fc", Title: "Skills exchange", FromPence: 5000, ToPence: 50000,
			Reason: "£50 was typed for £500.", Applicant: applicant, Endorsement: lead, ReportDue: civil.New(2028, 1, 31)},
	} {
		data, _ := json.Marshal(p)
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("fund-correction-%d", i), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application",
			AggregateID: id, Version: 4 + i, Time: time.Now(), Actor: "ops:k.okafor", Data: data})
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")
	h.waitForConsumer(events.StreamFund, "notify-fund-corrections")

	var corrections []received
	for _, m := range h.box.all() {
		if strings.Contains(m.Subject, "corrected") {
			corrections = append(corrections, m)
		}
	}
	if len(corrections) != 2 {
		t.Fatalf("the correction was told in %d emails (%q), want one to the applicant and one to the lead", len(corrections), subjects(corrections))
	}
	to := map[string]received{}
	for _, m := range corrections {
		to[strings.Join(m.To, ",")] = m
		checkSays(t, m, "Technician Collaboration Fund: the amount awarded is corrected — Skills exchange",
			"it is £500, not the £50 we wrote before", "ITSS's reason: £50 was typed for £500.",
			"A short report on the project is due by Monday 31 January 2028, as before", "what the grant of £500 paid for",
			"please write to ITSS at itss@example.org")
		if strings.Contains(m.Text, id) && !strings.Contains(m.Text, "/fund/applications/"+id) {
			t.Errorf("the correction to %v names the application by its id", m.To)
		}
		if m.ICS {
			t.Errorf("the correction to %v carries a calendar entry: the report's day did not move", m.To)
		}
	}
	if m, ok := to[applicant.Email]; !ok {
		t.Errorf("the applicant was not told: %v", subjects(corrections))
	} else {
		checkSays(t, m, "Dear Ann Applicant,")
	}
	if m, ok := to[lead.Email]; !ok {
		t.Errorf("the lead was not told: %v", subjects(corrections))
	} else {
		checkSays(t, m, "Dear Sam Patel,", "Read the application in the Technician Commitment portal")
		if !strings.Contains(m.Text, "https://portal.example.org/fund/applications/"+id) {
			t.Errorf("the lead's copy does not link to the application's page:\n%s", m.Text)
		}
	}

	ops := h.http.Token(auth.RoleOps, "")
	resend := func(kind, email string) (int, string) {
		t.Helper()
		res := h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "fc", kind, email)+"/resends", ops, nil)
		return res.Status, string(res.Body)
	}
	before := len(h.box.all())
	for _, email := range []string{applicant.Email, lead.Email} {
		if status, body := resend("fund-awarded", email); status != http.StatusConflict || !strings.Contains(body, "corrected") {
			t.Errorf("the award email to %s resent after the correction: %d %s, want 409 saying the award was corrected", email, status, body)
		}
	}
	if sent := h.box.all()[before:]; len(sent) != 0 {
		t.Errorf("the refused resends sent %q", subjects(sent))
	}

	data, _ := json.Marshal(events.ReportSubmittedV1{ApplicationID: id, RoundID: "fr", OrganisationID: "fc", Title: "Skills exchange", SpentPence: 48000, Applicant: applicant})
	h.publishTwice(events.Envelope{ID: "fund-correction-report", Source: "/tc/fund", Type: events.ReportSubmittedV1{}.EventType(), AggregateType: "application",
		AggregateID: id, Version: 6, Time: time.Now(), Data: data})
	h.waitForConsumer(events.StreamFund, "notify-fund")
	if status, body := resend("fund-award-corrected", applicant.Email); status != http.StatusOK {
		t.Fatalf("the correction resent after the report: %d %s", status, body)
	}
	got := mailTo(h, applicant.Email, 0)
	m := got[len(got)-1]
	if !strings.Contains(m.Subject, "corrected") || !strings.Contains(m.Text, "Its report is in: thank you.") || strings.Contains(m.Text, "is due by") {
		t.Errorf("the correction resent after the report came in reads %q:\n%s", m.Subject, m.Text)
	}
}

// An award corrected twice (£50 typed for £500, then £500 for £450) has each
// correction told, but the first correction's email, which says the award is £500,
// is not sent again once the second is heard: ops' resend is 409 saying a later
// correction gives the amount, and sends nothing, and its retry after the relay
// refused it is given up. The second's is still resent. A correction heard after a
// later one is not told at all.
func TestAnAwardCorrectedTwiceIsNotToldTheFirstCorrectionAgain(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 10, 8, 0, 0, 0, time.UTC))
	h.onboard("f2", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	id := "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2c02"
	version := 3
	publish := func(p events.Payload) {
		t.Helper()
		version++
		data, _ := json.Marshal(p)
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("fund-twice-%d", version), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application",
			AggregateID: id, Version: version, Time: time.Now(), Actor: "ops:k.okafor", Data: data})
		h.waitForConsumer(events.StreamFund, "notify-fund")
		h.waitForConsumer(events.StreamFund, "notify-fund-corrections")
	}
	corrected := func(from, to int64, n int) events.AwardCorrectedV1 {
		return events.AwardCorrectedV1{ApplicationID: id, RoundID: "fr", OrganisationID: "f2", Title: "Skills exchange", FromPence: from, ToPence: to,
			Reason: "typed wrong", Applicant: applicant, Endorsement: lead, ReportDue: civil.New(2028, 1, 31), Correction: n}
	}
	publish(events.ApplicationAwardedV1{ApplicationID: id, RoundID: "fr", OrganisationID: "f2", Title: "Skills exchange", AmountPence: 5000,
		Applicant: applicant, Endorsement: lead, ReportDue: civil.New(2028, 1, 31)})
	ops := h.http.Token(auth.RoleOps, "")
	h.box.tryLater(lead.Email) // the lead's copy of the first is refused, to be retried
	publish(corrected(5000, 50000, 1))
	testenv.Eventually(t, 10*time.Second, func() error {
		failed := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=f2&status=failed", ops, nil)).JSON(t)["items"].([]any)
		if len(failed) != 1 {
			return fmt.Errorf("the lead's refused attempt is not recorded yet: %v", failed)
		}
		return nil
	})
	h.box.tryLater()
	first := map[string]string{}
	for _, email := range []string{applicant.Email, lead.Email} {
		first[email] = deliveryOf(h, "f2", "fund-award-corrected", email)
	}
	publish(corrected(50000, 45000, 2))
	h.clock.Advance(time.Hour)
	h.runUntil(civil.New(2027, 4, 11)) // the lead's refused copy of the first is retried
	second := map[string]string{}
	for email, from := range map[string]int{applicant.Email: 1, lead.Email: 0} { // the corrections told before
		var got []received
		for _, m := range mailTo(h, email, 0) {
			if strings.Contains(m.Subject, "corrected") {
				got = append(got, m)
			}
		}
		got = got[from:]
		if len(got) != 1 || !strings.Contains(got[0].Text, "it is £450, not the £500 we wrote before") {
			t.Fatalf("after the first correction %s was sent %q, want the second's alone, saying it is £450, not £500", email, subjects(got))
		}
		second[email] = otherDelivery(h, "f2", "fund-award-corrected", email, first[email])
	}
	given := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=f2&status=given_up", ops, nil)).JSON(t)["items"].([]any)
	if len(given) != 1 || given[0].(map[string]any)["id"] != first[lead.Email] || !strings.Contains(given[0].(map[string]any)["last_error"].(string), "later correction") {
		t.Errorf("given up: %v, want the lead's copy of the first correction, as a later correction gives the amount", given)
	}

	before := len(h.box.all())
	for email, d := range first {
		res := h.http.Do("POST", "/v1/deliveries/"+d+"/resends", ops, nil)
		if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "later correction") {
			t.Errorf("the first correction's email to %s resent after the second: %d %s, want 409 saying a later correction gives the amount", email, res.Status, res.Body)
		}
	}
	if sent := h.box.all()[before:]; len(sent) != 0 {
		t.Errorf("the refused resends sent %q", subjects(sent))
	}
	for email, d := range second {
		if res := h.http.Do("POST", "/v1/deliveries/"+d+"/resends", ops, nil); res.Status != http.StatusOK {
			t.Errorf("the second correction's email to %s resent: %d %s, want 200", email, res.Status, res.Body)
		}
		if got := mailTo(h, email, 0); !strings.Contains(got[len(got)-1].Text, "it is £450, not the £500") {
			t.Errorf("the second correction resent to %s reads:\n%s", email, got[len(got)-1].Text)
		}
	}

	// A third and a fourth heard in the reverse order (redelivered, or taken by two
	// workers): the third, heard after the fourth, is not sent.
	before = len(h.box.all())
	publish(corrected(40000, 42000, 4))
	publish(corrected(45000, 40000, 3))
	if sent := h.box.all()[before:]; len(sent) != 2 || !strings.Contains(sent[0].Text, "it is £420") || !strings.Contains(sent[1].Text, "it is £420") {
		t.Errorf("the fourth correction heard before the third sent %q, want the fourth's alone, to the applicant and the lead", subjects(sent))
	}
}

// otherDelivery is the id of the email of kind to email in org's delivery log other
// than the one not: the later of two of one kind.
func otherDelivery(h *harness, org, kind, email, not string) string {
	h.t.Helper()
	ops := h.http.Token(auth.RoleOps, "")
	for _, it := range h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id="+org, ops, nil)).JSON(h.t)["items"].([]any) {
		d := it.(map[string]any)
		to, _ := d["to"].([]any)
		if d["kind"] == kind && d["id"] != not && len(to) == 1 && to[0].(map[string]any)["email"] == email {
			return d["id"].(string)
		}
	}
	h.t.Fatalf("no second %s email to %s in the log", kind, email)
	return ""
}

// A correction's email says the report is still due on its day only while that day
// stands: the email of a correction made after ITSS moved the report's day gives the
// moved day, and says so again when resent, until the day moves once more; a
// correction heard only after a later move (out of order) does not give the day it
// was recorded with, and one heard once the report is in says the report is in.
func TestACorrectionsEmailGivesTheReportsDayOnlyWhileItStands(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 7, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("fd", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	id := "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2c03"
	version := 0
	publish := func(p events.Payload) {
		t.Helper()
		version++
		data, _ := json.Marshal(p)
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("fund-day-%d", version), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application",
			AggregateID: id, Version: version, Time: h.clock.Now(), Actor: "ops:k.okafor", Data: data})
		h.waitForConsumer(events.StreamFund, "notify-fund")
		h.waitForConsumer(events.StreamFund, "notify-fund-corrections")
	}
	shortDue, newDue, laterDue := civil.New(2027, 7, 30), civil.New(2028, 7, 30), civil.New(2028, 8, 30)
	moved := func(move int, before, due civil.Date, end civil.Date) events.ReportDueMovedV1 {
		return events.ReportDueMovedV1{ApplicationID: id, RoundID: "r", OrganisationID: "fd", Title: "Skills exchange", Move: move,
			DueBefore: before, Due: due, ProjectStart: civil.New(2027, 5, 1), ProjectEnd: end, Applicant: applicant, Endorsement: lead}
	}
	corrected := func(n int, from, to int64, due civil.Date, moves int) events.AwardCorrectedV1 {
		return events.AwardCorrectedV1{ApplicationID: id, RoundID: "r", OrganisationID: "fd", Title: "Skills exchange", FromPence: from, ToPence: to,
			Reason: "typed wrong", Applicant: applicant, Endorsement: lead, ReportDue: due, Correction: n, DueMoves: moves}
	}
	last := func() received {
		t.Helper()
		got := mailTo(h, applicant.Email, 0)
		return got[len(got)-1]
	}
	const since = "ITSS has since corrected the project's window"

	publish(events.ApplicationAwardedV1{ApplicationID: id, RoundID: "r", OrganisationID: "fd", Title: "Skills exchange", AmountPence: 80000,
		Applicant: applicant, Endorsement: lead, ReportDue: shortDue, ProjectStart: civil.New(2027, 5, 1), ProjectEnd: civil.New(2027, 6, 30)})
	publish(moved(1, shortDue, newDue, civil.New(2028, 6, 30)))
	publish(corrected(1, 80000, 70000, newDue, 1))
	if m := last(); !strings.Contains(m.Text, "it is £700") || !strings.Contains(m.Text, "due by Sunday 30 July 2028, as before") {
		t.Fatalf("the correction made after the move reads %q:\n%s", m.Subject, m.Text)
	}
	ops := h.http.Token(auth.RoleOps, "")
	d := deliveryOf(h, "fd", "fund-award-corrected", applicant.Email)
	if res := h.http.Do("POST", "/v1/deliveries/"+d+"/resends", ops, nil); res.Status != http.StatusOK {
		t.Fatalf("the correction resent: %d %s", res.Status, res.Body)
	}
	if m := last(); !strings.Contains(m.Text, "due by Sunday 30 July 2028, as before") || strings.Contains(m.Text, since) {
		t.Errorf("the correction made after the move, resent with the day unmoved since, reads:\n%s", m.Text)
	}

	publish(moved(2, newDue, laterDue, civil.New(2028, 7, 30)))
	if res := h.http.Do("POST", "/v1/deliveries/"+d+"/resends", ops, nil); res.Status != http.StatusOK {
		t.Fatalf("the correction resent after the second move: %d %s", res.Status, res.Body)
	}
	if m := last(); strings.Contains(m.Text, "30 July 2028") || !strings.Contains(m.Text, since) {
		t.Errorf("the correction resent after the day moved again reads:\n%s", m.Text)
	}

	// Recorded before the second move, heard after it.
	publish(corrected(2, 70000, 75000, newDue, 1))
	if m := last(); !strings.Contains(m.Text, "it is £750") || strings.Contains(m.Text, "30 July 2028") || !strings.Contains(m.Text, since) {
		t.Errorf("a correction heard after a later move reads %q:\n%s", m.Subject, m.Text)
	}

	data, _ := json.Marshal(events.ReportSubmittedV1{ApplicationID: id, RoundID: "r", OrganisationID: "fd", Title: "Skills exchange", SpentPence: 60000, Applicant: applicant})
	version++
	h.publishTwice(events.Envelope{ID: "fund-day-report", Source: "/tc/fund", Type: events.ReportSubmittedV1{}.EventType(), AggregateType: "application",
		AggregateID: id, Version: version, Time: h.clock.Now(), Data: data})
	h.waitForConsumer(events.StreamFund, "notify-fund")
	publish(corrected(3, 75000, 65000, laterDue, 2))
	if m := last(); !strings.Contains(m.Text, "it is £650") || strings.Contains(m.Text, "is due by") || !strings.Contains(m.Text, "Its report is in") {
		t.Errorf("a correction made once the report is in reads %q:\n%s", m.Subject, m.Text)
	}
}
