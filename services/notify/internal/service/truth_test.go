package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
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
			// The lead's email marks the due day in their calendar; the head's, written
			// once it has gone, carries none.
			if head := slices.Contains(m.To, "vc@exampleton.ac.uk"); m.ICS == head {
				t.Errorf("%s: email to %v carries a .ics: %v, want %v", c.day, m.To, m.ICS, !head)
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

// idInWords finds what a service's id looks like in a sentence: a UUID, or one of
// these tests' short submission ids in brackets ("(s1)", "(sub-9)").
var idInWords = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\((s|sub-)\d+\)`)

// link finds a web address in an email's text.
var link = regexp.MustCompile(`https?://\S+`)

// above is an email's text above its foot, which every email ends with alike (who
// runs the Commitment, ITSS's address and the public privacy notice): what the
// email itself says and links to.
func above(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if i := strings.LastIndex(text, "\n--\n"); i >= 0 {
		return text[:i]
	}
	return text
}

// withoutLinks is an email's text less its web addresses, which may name ids.
func withoutLinks(text string) string { return link.ReplaceAllString(text, "") }

// checkSays fails unless the email's text holds every phrase, uses one date style,
// and leaves the feed's secret address out.
func checkSays(t *testing.T, m received, phrases ...string) {
	t.Helper()
	for _, s := range phrases {
		if !strings.Contains(m.Text, s) && !strings.Contains(m.Subject, s) {
			t.Errorf("email %q to %v does not say %q:\n%s", m.Subject, m.To, s, m.Text)
		}
	}
	// Every email says how to write to ITSS (NOTIFY_CONTACT_EMAIL): many ask their
	// reader to tell ITSS something, and none said how.
	if !strings.Contains(m.Text, "To contact ITSS, email itss@example.org.") {
		t.Errorf("email %q does not give ITSS's address at its foot:\n%s", m.Subject, m.Text)
	}
	if m.HTML && !strings.Contains(m.HTMLBody, `<a href="mailto:itss@example.org">itss@example.org</a>`) {
		t.Errorf("email %q's HTML part does not link ITSS's address:\n%s", m.Subject, m.HTMLBody)
	}
	if d := isoDate.FindString(m.Subject + "\n" + m.Text); d != "" {
		t.Errorf("email %q says the date %s the ISO way, not as Europe/London's \"Friday 4 December 2026\"", m.Subject, d)
	}
	if strings.Contains(m.Text, "/v1/calendars/") {
		t.Errorf("email %q carries the calendar feed's secret address", m.Subject)
	}
	if id := idInWords.FindString(withoutLinks(m.Subject + "\n" + m.Text)); id != "" {
		t.Errorf("email %q names something by the id %s, which says nothing to its reader:\n%s", m.Subject, id, m.Text)
	}
}

// A submission received is told to the lead, who was reminded of it until then; a
// head who was told it was overdue is told it came in (without a portal page they do
// not sign in to). One on time is told to the lead alone.
func TestASubmissionReceivedIsToldToTheLeadAndToAHeadToldItWasOverdue(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("rl", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	h.onboard("rt", civil.New(2026, 3, 20), civil.New(2027, 1, 4))
	h.sweepOn(civil.New(2026, 12, 11)) // rl 7 days overdue: its lead and head are told
	before := len(h.box.all())
	h.publish("rl", events.ObligationMetV1{OrganisationID: "rl", ObligationID: "rl-c1", SubmissionID: "s-rl", ReceivedOn: civil.New(2026, 12, 14)})
	h.publish("rt", events.ObligationMetV1{OrganisationID: "rt", ObligationID: "rt-c1", SubmissionID: "s-rt", ReceivedOn: civil.New(2026, 12, 14)})
	h.waitFor("rl")
	var late, onTime []received
	testenv.Eventually(t, 10*time.Second, func() error {
		late, onTime = mailOf(h, "rl", before), mailOf(h, "rt", before)
		if len(late) != 2 || len(onTime) != 1 {
			return fmt.Errorf("receipts: %v and %v, want 2 and 1", subjects(late), subjects(onTime))
		}
		return nil
	})
	for _, m := range late {
		if m.Subject != "Technician Commitment: Uni rl's self-assessment and action plan is received" {
			t.Errorf("receipt subject %q", m.Subject)
		}
		checkSays(t, m, "Uni rl's self-assessment and action plan for the Technician Commitment, due on Friday 4 December 2026, was received on Monday 14 December 2026. Thank you.")
		switch strings.Join(m.To, ",") {
		case lead.Email:
			checkSays(t, m, "Dear Sam Patel,", "you will be emailed when their feedback is ready", "https://portal.example.org/obligations/rl")
		case leader.Email:
			checkSays(t, m, "Dear Prof. Jane Smith,", "You were told as the head of Uni rl that its self-assessment and action plan for the Technician Commitment was overdue.")
			if strings.Contains(above(m.Text), "portal.example.org") {
				t.Errorf("the head's receipt links to the portal, which they do not sign in to:\n%s", m.Text)
			}
		default:
			t.Errorf("a receipt went to %v", m.To)
		}
	}
	if m := onTime[0]; strings.Join(m.To, ",") != lead.Email {
		t.Errorf("the receipt on time went to %v, want the lead alone", m.To)
	} else {
		checkSays(t, m, "Uni rt's self-assessment and action plan for the Technician Commitment was received on Monday 14 December 2026. Thank you.")
	}
}

// The head told a submission was overdue is the one told it came in: not a head
// named since, who was told nothing, nor the head of one received late but before
// any overdue email went to them.
func TestOnlyTheHeadWhoWasToldItWasOverdueIsToldItCameIn(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("hc", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	h.onboard("lv", civil.New(2026, 3, 20), civil.New(2026, 12, 9))
	h.sweepOn(civil.New(2026, 12, 11)) // hc 7 days overdue: its head is told; lv 2 days overdue: its head is not
	newHead := events.Person{Name: "Head Two", Title: "Vice-Chancellor", Email: "head2@hc.ac.uk"}
	h.publish("hc", events.OrganisationContactsChangedV1{OrganisationID: "hc", Leader: newHead, NominatedLead: lead})
	h.waitFor("hc") // the change of head is told (head-changed) before the receipts are counted
	before := len(h.box.all())
	h.publish("hc", events.ObligationMetV1{OrganisationID: "hc", ObligationID: "hc-c1", SubmissionID: "s-hc", ReceivedOn: civil.New(2026, 12, 12)})
	h.publish("lv", events.ObligationMetV1{OrganisationID: "lv", ObligationID: "lv-c1", SubmissionID: "s-lv", ReceivedOn: civil.New(2026, 12, 12)})
	h.waitFor("hc")
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := len(mailOf(h, "hc", before)) + len(mailOf(h, "lv", before)); got < 3 {
			return fmt.Errorf("%d receipts so far", got)
		}
		return nil
	})
	to := func(org string) []string {
		var out []string
		for _, m := range mailOf(h, org, before) {
			out = append(out, strings.Join(m.To, ","))
		}
		sort.Strings(out)
		return out
	}
	if got, want := to("hc"), []string{lead.Email, leader.Email}; !slices.Equal(got, want) {
		t.Errorf("hc's receipts went to %v, want the lead and the head who was told, %v", got, want)
	}
	if got, want := to("lv"), []string{lead.Email}; !slices.Equal(got, want) {
		t.Errorf("lv's receipts went to %v, want the lead alone: its head was never told it was overdue", got)
	}
}

// A lead named for an organisation whose obligation is overdue, past the ladder's
// last step, is told once where it stands: the reminders went to the lead before, and
// no step is left to tell the new one by. The email naming them lead is that one (it
// says how long overdue it is, and is that day's reminder to them): an overdue
// reminder sent beside it said the same again at once. A lead named while it is not
// yet due hears from the ladder as usual, and nothing more.
func TestANewLeadOfAnOverdueOrganisationIsToldOnce(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("nl", civil.New(2026, 3, 20), civil.New(2026, 10, 20))
	h.onboard("nd", civil.New(2026, 3, 20), civil.New(2027, 10, 20))
	h.sweepOn(civil.New(2026, 11, 19)) // 30 days overdue: the last step
	h.clock.Set(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	before := len(h.box.all())
	meg := events.Person{Name: "Meg Newlead", Email: "meg@nl.ac.uk"}
	changed := events.OrganisationContactsChangedV1{OrganisationID: "nl", NominatedLead: meg, Leader: leader}
	h.publish("nl", changed)
	h.publish("nl", changed) // heard twice: told once
	h.publish("nd", events.OrganisationContactsChangedV1{OrganisationID: "nd", NominatedLead: events.Person{Name: "Ned", Email: "ned@nd.ac.uk"}, Leader: leader})
	h.waitFor("nl")
	h.sweep()
	got := mailTo(h, meg.Email, 0)
	if len(got) != 1 || got[0].Subject != "Technician Commitment: you are now Uni nl's nominated lead" {
		t.Fatalf("after naming a new lead of an organisation 46 days overdue, the new lead received %v, want the one email naming them lead", subjects(got))
	}
	checkSays(t, got[0], "Dear Meg Newlead,", "As of today, Saturday 5 December 2026, it is 46 days overdue.", "https://portal.example.org/obligations/nl")
	if got := notHandOvers(mailOf(h, "nd", before)); len(got) != 0 {
		t.Errorf("a new lead of an organisation not yet due was sent %v", subjects(got))
	}
}

// Ops' resend of a reminder after the lead changed goes to the new lead, and the log
// keeps that the first went to the lead before, and when: the entry was rewritten,
// and nothing recorded that the old lead had been told. Their subject access still
// finds it.
func TestAResendToANewLeadKeepsWhomTheEmailWentToBefore(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("rs", civil.New(2026, 3, 20), civil.New(2026, 12, 4))
	h.sweepOn(civil.New(2026, 12, 11)) // 7 days overdue: Sam Patel and the head
	id := deliveryTo(h, "rs", "overdue-7", lead.Email)
	h.publish("rs", events.OrganisationContactsChangedV1{OrganisationID: "rs", Leader: leader, NominatedLead: events.Person{Name: "Ed Newlead", Email: "ed@rs.ac.uk"}})
	h.waitFor("rs")
	h.clock.Set(time.Date(2026, 12, 14, 10, 0, 0, 0, time.UTC))
	ops := h.http.Token(auth.RoleOps, "")
	got := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil)).JSON(t)
	to := got["to"].([]any)
	earlier, _ := got["earlier"].([]any)
	if len(to) != 1 || to[0].(map[string]any)["email"] != "ed@rs.ac.uk" || len(earlier) != 1 {
		t.Fatalf("after the resend the entry reads %v, want it sent to Ed with the earlier sending kept", got)
	}
	before := earlier[0].(map[string]any)
	if fmt.Sprint(before["to"]) != fmt.Sprint([]any{map[string]any{"name": lead.Name, "email": lead.Email}}) || !strings.HasPrefix(before["sent_at"].(string), "2026-12-11") {
		t.Errorf("the earlier sending reads %v, want to Sam Patel on 11 December", before)
	}
	access := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": lead.Email})).JSON(t)
	found := false
	for _, d := range access["deliveries"].([]any) {
		found = found || d.(map[string]any)["id"] == id
	}
	if !found {
		t.Errorf("Sam Patel's subject access does not find the email sent to them: %v", access["deliveries"])
	}
}

// Feedback released while the organisation has no lead (erased at their request,
// nobody named yet) is listed for ops as waiting, and goes to the lead named next;
// it went to nobody, and was logged nowhere.
func TestFeedbackReleasedWithNoLeadWaitsForTheNextLead(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("gb", civil.New(2026, 3, 20), civil.New(2027, 9, 20))
	h.publish("gb", events.OrganisationContactsChangedV1{OrganisationID: "gb", Leader: leader, NominatedLead: events.Person{Erased: true}})
	h.waitFor("gb")
	r := h.round("r-gb")
	r.publish(events.FeedbackReleasedV1{RoundID: "r-gb", RoundName: "Spring 2027", SubmissionID: "s-gb", OrganisationID: "gb", OrganisationName: "Uni gb", Feedback: "Commended."})
	ops := h.http.Token(auth.RoleOps, "")
	var waiting map[string]any
	for _, it := range h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=gb&status=given_up", ops, nil)).JSON(t)["items"].([]any) {
		if d := it.(map[string]any); d["kind"] == "review-feedback" {
			waiting = d
		}
	}
	if waiting == nil || !strings.Contains(waiting["last_error"].(string), "no nominated lead") {
		t.Fatalf("the feedback email with nobody to go to is not listed for ops: %v", waiting)
	}
	before := len(h.box.all())
	nina := events.Person{Name: "Nina New", Email: "nina@gb.ac.uk"}
	h.publish("gb", events.OrganisationContactsChangedV1{OrganisationID: "gb", Leader: leader, NominatedLead: nina})
	h.waitFor("gb")
	got := notHandOvers(mailOf(h, "gb", before))
	if len(got) != 1 || strings.Join(got[0].To, ",") != nina.Email || !strings.Contains(got[0].Subject, "feedback") {
		t.Fatalf("the lead named next got %v, want the feedback email", subjects(got))
	}
	checkSays(t, got[0], "Dear Nina New,", "consolidated feedback on Uni gb's submission", "https://portal.example.org/")
}

// A head who is the lead too, their address written in other capitals on the form,
// is one mailbox: they get the overdue email once, as the lead, not a second telling
// them about themselves.
func TestAHeadWhoIsTheLeadInOtherCapitalsIsWrittenToOnce(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	director := events.Person{Name: "Lee Director", Email: "Lee.Director@lakeside.ac.uk"}
	head := events.Person{Name: "Lee Director", Title: "Director", Email: "lee.director@lakeside.ac.uk"}
	h.publish("lk", events.OrganisationEnquiryReceivedV1{OrganisationID: "lk", Name: "Uni lk", Kind: "signatory"})
	h.publish("lk", events.OrganisationFormReceivedV1{OrganisationID: "lk", Leader: head, NominatedLead: director})
	h.publish("lk", events.OrganisationAnnouncedV1{OrganisationID: "lk", Name: "Uni lk", Kind: "signatory", NominatedLead: director, Leader: head})
	h.publish("lk", events.ObligationScheduledV1{OrganisationID: "lk", ObligationID: "lk-c1", Kind: "self_assessment_and_action_plan", Cycle: 1,
		WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2026, 12, 4)})
	h.waitFor("lk")
	h.sweepOn(civil.New(2026, 12, 4))
	before := len(h.box.all())
	h.sweepOn(civil.New(2026, 12, 11)) // 7 days overdue: the lead, and the head were they another
	got := mailOf(h, "lk", before)
	if len(got) != 1 || !strings.EqualFold(strings.Join(got[0].To, ","), "lee.director@lakeside.ac.uk") || strings.Contains(got[0].Text, "because you are the head") {
		var to []string
		for _, m := range got {
			to = append(to, strings.Join(m.To, ",")+": "+m.Subject)
		}
		t.Errorf("at 7 days overdue the mailbox got %v, want the lead's email once", to)
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
		"Sam Patel submits it in the Technician Commitment portal, where they can see Uni hd's obligations.")
	if strings.Contains(head.Text, "Please submit it, or tell ITSS if something stands in the way") {
		t.Error("the head is sent the lead's email")
	}
	// The head does not sign in to the portal: no link leads them to a sign-in that
	// never sends them one.
	if strings.Contains(above(head.Text), "https://portal.example.org") {
		t.Errorf("the head's email links to portal pages they cannot open:\n%s", head.Text)
	}
	// Nor does it carry a calendar entry: the day it marks is gone, and nothing in
	// the email says why it is there.
	if head.ICS {
		t.Errorf("the head's overdue email carries a calendar entry its text never mentions, for a day gone:\n%s", head.ICSBody)
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
		"A reminder of it went by email on Friday 20 March 2026 to the nominated lead recorded at the time.",
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

	// A new lead, named while the obligation is overdue, is told where it stands at
	// once (TestANewLeadOfAnOverdueOrganisationIsToldOnce); the head's email says
	// the earlier reminders went to the lead before, and that one to Bea.
	bea := events.Person{Name: "Bea Newlead", Email: "bea@exampleton.ac.uk"}
	got := resend(bea)
	checkSays(t, got,
		"Reminders of it went by email on Friday 20 March 2026 and Friday 11 December 2026 to the nominated lead recorded at the time.",
		"Its nominated lead for the Technician Commitment, Bea Newlead, was reminded of it by email on Friday 11 December 2026.")
	if strings.Contains(got.Text, "is being reminded of it by email today") {
		t.Errorf("the resent head's email says the lead is being reminded today, though the resend goes alone:\n%s", got.Text)
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
		"Its nominated lead for the Technician Commitment, Bea Newlead, was reminded of it by email on Friday 11 December 2026 and Sunday 3 January 2027.")
}

// A reviewer's emails name the round, the institution and the submission, give the
// deadline in London time with its zone, link to the review's page in the portal and
// carry the deadline as an .ics. An older event without the names is told with the
// institution's name from notify's own records.
func TestReviewerEmailsNameRoundInstitutionAndSubmissionLinkAndCarryTheDeadline(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC))
	h.onboardAs("rv", "University of Rivendell", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
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
		checkSays(t, m, "Spring 2027", "University of Rivendell's submission in the peer review round “Spring 2027”", "Monday 1 February 2027, 17:00 GMT", "https://portal.example.org/reviews/r7/sub-9")
		if !m.ICS || !strings.Contains(m.ICSBody, "DTSTART:20270201T170000Z") || !strings.Contains(m.ICSBody, "reviews/r7/sub-9") {
			t.Errorf("email %q: no .ics marking the deadline and linking the review:\n%s", m.Subject, m.ICSBody)
		}
	}
	for _, m := range byTo["olga@othertown.ac.uk"] {
		checkSays(t, m, "University of Rivendell's submission in the peer review round “round r7”", "Monday 1 February 2027, 17:00 GMT", "https://portal.example.org/reviews/r7/sub-9")
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
			// lead), so the email names where each reads the application; the lead's
			// says the portal alone.
			if strings.Join(m.To, ",") == applicant.Email {
				checkSays(t, m, "https://portal.example.org/fund/applications/fa1", "from the fund's API as application fa1",
					"nominated lead can also read it in the Technician Commitment portal")
			} else if strings.Contains(m.Subject, "funded") {
				checkSays(t, m, "https://portal.example.org/fund/applications/fa1", "Read the application, and what is needed next, in the Technician Commitment portal:")
			} else {
				// A receipt asks nothing more of anyone: ITSS assesses.
				checkSays(t, m, "https://portal.example.org/fund/applications/fa1", "Read the application in the Technician Commitment portal:")
			}
			if strings.Join(m.To, ",") != applicant.Email {
				if strings.Contains(m.Text, "fund's API") {
					t.Errorf("the lead's copy speaks of the applicant's tools:\n%s", m.Text)
				}
			}
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

// An application the fund withdrew because its organisation withdrew from the
// Technician Commitment is told to its applicant, once however often the event comes:
// what was withdrawn, why in words, that nothing more is needed and whom to ask, with
// no id in the text. An application its applicant withdrew themselves is not told to
// them: they did it (its lead is told, while the organisation is in the Commitment:
// TestTheLeadIsToldAnApplicationItsApplicantWithdrewAfterSubmittingIt).
func TestAnApplicantIsToldTheFundWithdrewTheirApplicationBecauseTheOrganisationWithdrew(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("fw", civil.New(2027, 9, 20), civil.New(2028, 3, 20))
	h.publish("fw", events.OrganisationWithdrawnV1{OrganisationID: "fw", WithdrawnOn: civil.New(2027, 3, 1), Reason: "merged", InitiatedBy: "organisation"})
	h.waitFor("fw")
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	reason := "Uni fw withdrew from the Technician Commitment on Monday 1 March 2027"
	// The fund's ids are UUIDs, which checkSays finds in an email's words.
	byTheFund, byTheApplicant, leadsOwn := "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2a47", "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2a48", "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2a49"
	for i, p := range []events.Payload{
		events.ApplicationWithdrawnV1{ApplicationID: byTheApplicant, OrganisationID: "fw", RoundID: "fr", Title: "Our own idea",
			Reason: "The partner could no longer take part.", Applicant: applicant, SubmittedAt: time.Date(2027, 2, 10, 14, 30, 0, 0, time.UTC)},
		events.ApplicationWithdrawnV1{ApplicationID: byTheFund, OrganisationID: "fw", RoundID: "fr", Title: "Skills exchange",
			Reason: reason, OrganisationWithdrew: true, Applicant: applicant},
		// The lead's own application, in another case: not told to ask themselves.
		events.ApplicationWithdrawnV1{ApplicationID: leadsOwn, OrganisationID: "fw", RoundID: "fr", Title: "Lead's own bid",
			Reason: reason, OrganisationWithdrew: true, Applicant: events.Person{Name: lead.Name, Email: strings.ToUpper(lead.Email)}},
	} {
		data, _ := json.Marshal(p)
		id := p.(events.ApplicationWithdrawnV1).ApplicationID
		// Each published twice, as JetStream redelivers an event whose ack was lost.
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("fund-withdrawn-%d", i), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application",
			AggregateID: id, Version: 3, Time: time.Now(), Data: data})
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")

	var got []received
	var toLead *received
	for _, m := range h.box.all() {
		switch {
		case strings.Contains(m.Subject, "Lead's own bid"):
			toLead = &m
		case strings.Contains(m.Subject, "Fund"):
			got = append(got, m)
		}
	}
	if toLead == nil || !strings.Contains(toLead.Text, "For anything about the fund, please contact ITSS at itss@example.org.") || strings.Contains(toLead.Text, "can tell you more") {
		t.Errorf("the lead, whose own application was withdrawn, is told (or not): %+v", toLead)
	}
	if len(got) != 1 {
		t.Fatalf("%d fund emails, want one, to the applicant whose application the fund withdrew: %+v", len(got), got)
	}
	m := got[0]
	if diff := cmp.Diff([]string{applicant.Email}, m.To); diff != "" {
		t.Errorf("the withdrawal went to (-want +got):\n%s", diff)
	}
	checkSays(t, m, "Technician Collaboration Fund: your application is withdrawn — Skills exchange", "Dear Ann Applicant,",
		`Your application “Skills exchange” to the Technician Collaboration Fund was withdrawn: `+reason+".",
		"Nothing more is needed from you", "Sam Patel, Uni fw's nominated lead for the Technician Commitment, can tell you more", "For anything about the fund, please contact ITSS at itss@example.org.")
	if strings.Contains(m.Subject+m.Text, "Our own idea") {
		t.Errorf("the applicant was told of the application they withdrew themselves:\n%s", m.Text)
	}
	if link.MatchString(above(m.Text)) {
		t.Errorf("the withdrawal links to a page, though there is nothing left to do with the application:\n%s", m.Text)
	}

	// The delivery log records it as its own kind.
	ops := h.http.Token(auth.RoleOps, "")
	var kinds []string
	for _, d := range h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=fw&limit=200", ops, nil)).JSON(t)["items"].([]any) {
		if k := d.(map[string]any)["kind"].(string); strings.HasPrefix(k, "fund-") {
			kinds = append(kinds, k)
		}
	}
	if diff := cmp.Diff([]string{"fund-withdrawn", "fund-withdrawn"}, kinds); diff != "" {
		t.Errorf("the delivery log's fund emails (-want +got):\n%s", diff)
	}
}

// A funded project's report is acknowledged once however often the event comes: to
// its applicant, and a copy to the organisation's nominated lead (who was told of the
// award and of the report falling due), each naming the project and what it spent in
// pounds, what happens next and whom to ask, with no id in the text. A report whose
// event names no applicant (a token that named nobody) is still told to the lead.
func TestAFundedProjectsReportIsAcknowledgedToItsApplicantAndTheLead(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("fp", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	typed := events.Person{Name: "Sam Patel", Email: "sam.patel@freemail.example"}
	// The fund's ids are UUIDs, which checkSays finds in an email's words.
	funded, older := "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2b01", "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2b02"
	for i, p := range []events.Payload{
		events.ApplicationAwardedV1{ApplicationID: funded, RoundID: "fr", OrganisationID: "fp", Title: "Skills exchange", AmountPence: 85000,
			Applicant: applicant, Endorsement: typed, ReportDue: civil.New(2027, 12, 31)},
		events.ReportSubmittedV1{ApplicationID: funded, RoundID: "fr", OrganisationID: "fp", Title: "Skills exchange",
			Summary: "Twelve technicians swapped labs for a week.", SpentPence: 81250, Applicant: applicant},
		// Submitted with a token that named nobody.
		events.ReportSubmittedV1{ApplicationID: older, RoundID: "fr", OrganisationID: "fp", Title: "Older project",
			Summary: "It went well.", SpentPence: 10000},
	} {
		data, _ := json.Marshal(p)
		id := funded
		if r, ok := p.(events.ReportSubmittedV1); ok {
			id = r.ApplicationID
		}
		// Each published twice, as JetStream redelivers an event whose ack was lost.
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("fund-report-%d", i), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application",
			AggregateID: id, Version: 4 + i, Time: time.Now(), Data: data})
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")

	var got, unnamed []received
	for _, m := range h.box.all() {
		switch {
		case strings.Contains(m.Subject, "Older project"):
			unnamed = append(unnamed, m)
		case strings.Contains(m.Subject, "Fund") && !strings.Contains(m.Subject, "funded"):
			got = append(got, m)
		}
	}
	if len(unnamed) != 1 || strings.Join(unnamed[0].To, ",") != lead.Email {
		t.Errorf("the report whose applicant is not named went to %d people, want the lead alone: %+v", len(unnamed), unnamed)
	} else {
		checkSays(t, unnamed[0], "Dear Sam Patel,", `Uni fp's report on the project “Older project”`, "£100")
	}
	var to []string
	for _, m := range got {
		to = append(to, strings.Join(m.To, ","))
		checkSays(t, m, "Technician Collaboration Fund: report received — Skills exchange", `“Skills exchange”`, "£812.50",
			"ITSS will read it", "unless ITSS asks")
		// A service message about the recipient's own project: it offers no
		// unsubscribe, which nothing in the suite would act on (docs/PRIVACY.md).
		if m.Unsub {
			t.Errorf("the report's receipt to %v carries List-Unsubscribe", m.To)
		}
		if strings.Join(m.To, ",") == applicant.Email {
			checkSays(t, m, "Dear Ann Applicant,", "We have received your report on", "For anything about the report or the fund, please contact ITSS at itss@example.org.")
		} else {
			checkSays(t, m, "Dear Sam Patel,", "Uni fp's report on", "https://portal.example.org/fund/applications/"+funded)
		}
	}
	sort.Strings(to)
	if diff := cmp.Diff([]string{applicant.Email, lead.Email}, to); diff != "" {
		t.Errorf("the report's receipts went to (-want +got):\n%s", diff)
	}

	// The delivery log records them as their own kind.
	ops := h.http.Token(auth.RoleOps, "")
	var kinds []string
	for _, d := range h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=fp&limit=200", ops, nil)).JSON(t)["items"].([]any) {
		if k := d.(map[string]any)["kind"].(string); strings.HasPrefix(k, "fund-") {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	if diff := cmp.Diff([]string{"fund-awarded", "fund-awarded", "fund-report-received", "fund-report-received", "fund-report-received"}, kinds); diff != "" {
		t.Errorf("the delivery log's fund emails (-want +got):\n%s", diff)
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
		if strings.Contains(string(r.Body), "mr-c") {
			t.Errorf("the refusal names the obligation by its id: %s", r.Body)
		}
	}

	h.publish("mr", events.ObligationMetV1{OrganisationID: "mr", ObligationID: "mr-c1", SubmissionID: "sub-mr", ReceivedOn: civil.New(2026, 4, 2)})
	h.waitFor("mr")
	h.clock.Set(time.Date(2026, 4, 3, 9, 0, 0, 0, time.UTC))
	refused("the self-assessment and action plan of cycle 1 was met on Thursday 2 April 2026")
	// The next cycle's obligation opens: the reminder is of the one met.
	h.publish("mr", events.ObligationScheduledV1{OrganisationID: "mr", ObligationID: "mr-c2", Kind: "self_assessment_and_action_plan", Cycle: 2,
		WindowOpens: civil.New(2028, 10, 2), Due: civil.New(2029, 4, 2)})
	h.waitFor("mr")
	refused("the self-assessment and action plan of cycle 1 was met on Thursday 2 April 2026")

	if diff := cmp.Diff(was, entry()); diff != "" {
		t.Errorf("the refused resends changed the log entry (-before +after):\n%s", diff)
	}
	if got := slices.DeleteFunc(mailOf(h, "mr", before), func(m received) bool { return strings.HasSuffix(m.Subject, " is received") }); len(got) != 0 {
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
	h.onboardAs("na", "University of Na", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
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
		"The deadline for reviews of University of Na's submission in the peer review round “Spring 2027” was Monday 31 May 2027, 17:00 BST, and it passed before you accepted the assignment.",
		"no review of it is needed from you", "ITSS may ask another reviewer to review it.", "https://portal.example.org/reviews")
	if strings.Contains(never.Text, "Please submit it") || strings.Contains(never.Text, "reviews/r10/s10") {
		t.Errorf("kim, who can no longer accept, is asked to submit or sent to the review's page:\n%s", never.Text)
	}
	// The deadline no longer applies to kim: the calendar entry the assignment's
	// email gave is cancelled, not given again.
	if e := calendarOf(t, never); e.method != "CANCEL" || e.status != "CANCELLED" {
		t.Errorf("kim's chase carries a calendar %+v, want the deadline's cancellation", e)
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
	for _, m := range notHandOvers(mailOf(h, "nl", before)) {
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
		handOver := strings.Contains(b.Text, "nominated lead for the Technician Commitment") // the hand-over's own emails
		if strings.Contains(b.Text, "Uni nl") && strings.Contains(b.Text, "Nia") && !handOver {
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

// A reviewer taken off a submission is told why in words when the service did it:
// the submitting organisation withdrew, or the reviewer's own did; a removal by ITSS
// keeps its reason for ops and says ITSS took it off. None names an id.
func TestAReviewerTakenOffIsToldWhyWhenAnOrganisationWithdrew(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("rw", civil.New(2027, 9, 20), civil.New(2028, 3, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)
	round := "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2c01"
	removal := func(reviewer, cause string) events.AssignmentRemovedV1 {
		return events.AssignmentRemovedV1{RoundID: round, SubmissionID: "0192f1c4-5d7e-7b61-9a0e-3c5e8f1d2c02", OrganisationID: "rw",
			ReviewerID: reviewer, ReviewerName: "Reviewer " + reviewer, ReviewerEmail: reviewer + "@reviewers.example", Reason: "written for ops",
			RoundName: "Spring 2027", OrganisationName: "Uni rw", ReviewDeadline: deadline, Cause: cause}
	}
	for i, p := range []events.Payload{
		removal("sub", events.RemovalOrganisationWithdrew),
		removal("own", events.RemovalReviewerOrganisationWithdrew),
		removal("ops", ""),
	} {
		data, _ := json.Marshal(p)
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("removal-%d", i), Source: "/tc/review", Type: p.EventType(), AggregateType: "review_round",
			AggregateID: round, Version: i + 1, Time: time.Now(), Data: data})
	}
	h.waitForConsumer(events.StreamReview, "notify-review")

	told := map[string]received{}
	for _, m := range h.box.all() {
		if strings.Contains(m.Subject, "no longer assigned to you") {
			told[strings.Join(m.To, ",")] = m
		}
	}
	if len(told) != 3 {
		t.Fatalf("%d reviewers told, want 3: %+v", len(told), told)
	}
	checkSays(t, told["sub@reviewers.example"], "Uni rw has withdrawn from the Technician Commitment, so its submission in the peer review round “Spring 2027” is no longer reviewed",
		"no review of it is needed from you")
	checkSays(t, told["own@reviewers.example"], "Your organisation has withdrawn from the Technician Commitment",
		"Uni rw's submission in the peer review round “Spring 2027” is off your list", "no review of it is needed from you")
	checkSays(t, told["ops@reviewers.example"], "ITSS has taken Uni rw's submission in the peer review round “Spring 2027” off your list")
	for to, m := range told {
		if strings.Contains(m.Text, "written for ops") {
			t.Errorf("the email to %s gives the reason written for ops:\n%s", to, m.Text)
		}
	}
}

// A decline ends the application: its email said "Your tools read the application,
// and what is needed next", and the lead's "Read the application, and what is
// needed next", though nothing is needed after it. Only an award and its report ask
// for more.
func TestADeclineSaysNothingMoreIsNeeded(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("fd", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}
	for i, p := range []events.Payload{
		events.ApplicationSubmittedV1{ApplicationID: "fd1", RoundID: "fr", OrganisationID: "fd", Title: "Skills exchange", RequestedAmountPence: 85000, Applicant: applicant, Endorsement: lead},
		events.ApplicationDeclinedV1{ApplicationID: "fd1", RoundID: "fr", OrganisationID: "fd", Title: "Skills exchange", Feedback: "A second partner would help.", Applicant: applicant, Endorsement: lead},
	} {
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: fmt.Sprintf("fund-declined-%d", i), Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "fd1", Version: i + 1, Time: time.Now(), Data: data}
		if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")
	n := 0
	for _, m := range h.box.all() {
		if !strings.Contains(m.Subject, "decision on") {
			continue
		}
		n++
		if strings.Contains(m.Text, "what is needed next") {
			t.Errorf("the decline to %s says something is needed next:\n%s", strings.Join(m.To, ","), m.Text)
		}
		checkSays(t, m, "A second partner would help.", "https://portal.example.org/fund/applications/fd1")
	}
	if n != 2 {
		t.Errorf("%d declines sent, want the applicant's and the lead's", n)
	}
}
