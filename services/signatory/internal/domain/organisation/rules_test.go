package organisation_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

// fieldOf is the field an error names, if any.
func fieldOf(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Field
	}
	return ""
}

// envelope wraps a payload as the event store would, at a version.
func envelope(t *testing.T, p events.Payload, version int) events.Envelope {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return events.Envelope{ID: "e", Type: p.EventType(), AggregateID: "org1", Version: version, Time: time.Now(), Data: data}
}

type step = func(*organisation.Organisation) ([]events.Payload, error)

func enquiredOn(on string) step {
	return func(o *organisation.Organisation) ([]events.Payload, error) {
		q := organisation.Enquiry{Name: "Example University", Kind: organisation.Signatory, Sector: "higher_education", Country: "GB",
			Website: "https://example.ac.uk", Contact: organisation.Person{Name: "Sam Patel", Email: "s.patel@example.ac.uk"}}
		if on != "" {
			q.EnquiredOn = date(on)
		}
		return o.ReceiveEnquiry(q, today)
	}
}

func meetingOn(on string) step {
	return func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.RecordMeeting(date(on), "", today)
	}
}

func formOn(on string) step {
	return func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.ReceiveForm(date(on), contacts, today)
	}
}

func withdrawOn(on string) step {
	return func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.Withdraw(date(on), "merged with another signatory", "organisation", today)
	}
}

// replay builds an organisation from steps that start with the enquiry itself.
func replay(t *testing.T, steps ...step) *organisation.Organisation {
	t.Helper()
	var history []events.Envelope
	for i, s := range steps {
		o, err := organisation.Rebuild("org1", history)
		if err != nil {
			t.Fatal(err)
		}
		payloads, err := s(o)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		for _, p := range payloads {
			history = append(history, envelope(t, p, len(history)+1))
		}
	}
	o, err := organisation.Rebuild("org1", history)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// isoDate is a date as the code writes it (2027-06-04), not as a person reads it.
var isoDate = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)

// TestOnboardingDatesFollowEachOtherAndHaveHappened is every date rule of the
// onboarding, judged on today (2026-12-03): each step is dated on or after the one
// before it, what has happened is not dated in the future, and an announcement is
// dated at most AnnouncementLead months ahead.
func TestOnboardingDatesFollowEachOtherAndHaveHappened(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before []step
		try    step
		field  string // the field refused, or "" when accepted
		says   string // what the refusal says
	}{
		{"enquiry dated today", nil, enquiredOn("2026-12-03"), "", ""},
		{"enquiry dated tomorrow", nil, enquiredOn("2026-12-04"), "enquired_on", "future"},
		{"meeting on the enquiry day", []step{enquiredOn("2025-01-10")}, meetingOn("2025-01-10"), "", ""},
		{"meeting before the enquiry", []step{enquiredOn("2025-01-10")}, meetingOn("2025-01-09"), "held_on", "before the enquiry"},
		{"meeting of an enquiry with no date", []step{enquiredOn("")}, meetingOn("2019-05-01"), "", ""},
		{"meeting today", []step{enquiredOn("")}, meetingOn("2026-12-03"), "", ""},
		{"meeting next year", []step{enquiredOn("")}, meetingOn("2027-12-03"), "held_on", "future"},
		{"form signed on the meeting day", []step{enquiredOn(""), meetingOn("2025-01-10")}, formOn("2025-01-10"), "", ""},
		{"form signed before the meeting", []step{enquiredOn(""), meetingOn("2025-01-10")}, formOn("2025-01-09"), "signed_on", "before the meeting"},
		{"form signed tomorrow", []step{enquiredOn(""), meetingOn("2025-01-10")}, formOn("2026-12-04"), "signed_on", "future"},
		{"announced on the signing day", []step{enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01")}, announce("2025-02-01"), "", ""},
		{"announced before signing", []step{enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01")}, announce("2025-01-31"), "announced_on", "before the form was signed"},
		{"announced six months ahead", []step{enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01")}, announce("2027-06-03"), "", ""},
		{"announced more than six months ahead", []step{enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01")}, announce("2027-06-04"), "announced_on", "Friday 4 June 2027 is more than 6 months ahead (the latest is Thursday 3 June 2027)"},
		{"withdrawn on the announcement day", []step{enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01"), announce("2025-03-20")}, withdrawOn("2025-03-20"), "", ""},
		{"withdrawn before the announcement", []step{enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01"), announce("2025-03-20")}, withdrawOn("2025-03-19"), "withdrawn_on", "before the announcement on Thursday 20 March 2025"},
		{"withdrawn before the form was signed", []step{enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01")}, withdrawOn("2025-01-31"), "withdrawn_on", "before the form was signed"},
		{"withdrawn before the meeting", []step{enquiredOn(""), meetingOn("2025-01-10")}, withdrawOn("2025-01-09"), "withdrawn_on", "before the meeting"},
		{"withdrawn before the enquiry", []step{enquiredOn("2025-01-05")}, withdrawOn("2025-01-04"), "withdrawn_on", "before the enquiry"},
		{"withdrawn tomorrow", []step{enquiredOn(""), meetingOn("2025-01-10")}, withdrawOn("2026-12-04"), "withdrawn_on", "future"},
		// Nothing is dated before the Commitment began (2017): a slip of the year.
		{"enquiry dated in 1900", nil, enquiredOn("1900-01-01"), "enquired_on", "Monday 1 January 1900 is before the Technician Commitment began in 2017"},
		{"meeting dated in 2016", []step{enquiredOn("")}, meetingOn("2016-12-31"), "held_on", "before the Technician Commitment began"},
		{"meeting on the first day of 2017", []step{enquiredOn("")}, meetingOn("2017-01-01"), "", ""},
		{"form signed in 1900", []step{enquiredOn(""), meetingOn("2025-01-10")}, formOn("1900-01-02"), "signed_on", "before the Technician Commitment began"},
		{"announced in 1901", []step{enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01")}, announce("1901-01-03"), "announced_on", "before the Technician Commitment began"},
		{"withdrawn in 1900", []step{enquiredOn("")}, withdrawOn("1900-01-02"), "withdrawn_on", "before the Technician Commitment began"},
		{"announcement ahead called off by a withdrawal today", []step{enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01"), announce("2026-12-10")}, withdrawOn("2026-12-03"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var o *organisation.Organisation
			if len(tt.before) == 0 {
				o = replay(t)
			} else {
				o = replay(t, tt.before...)
			}
			payloads, err := tt.try(o)
			if tt.field == "" {
				if err != nil || len(payloads) == 0 {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Invalid || e.Field != tt.field {
				t.Fatalf("err = %v, want invalid %s", err, tt.field)
			}
			if !strings.Contains(e.Message, tt.says) {
				t.Errorf("message %q does not say %q", e.Message, tt.says)
			}
			// A person reads the refusal: dates in words, as every other says them.
			if isoDate.MatchString(e.Message) {
				t.Errorf("message %q gives a date as the code writes it, not in words", e.Message)
			}
			if len(payloads) != 0 {
				t.Errorf("refused command still produced %d events", len(payloads))
			}
		})
	}
}

func TestObligationStandsOpenThenOverdueByLondonDay(t *testing.T) {
	t.Parallel()
	ob := organisation.Obligation{ID: "org1-c1", WindowOpens: date("2026-03-20"), Due: date("2026-09-20"), Status: organisation.ObligationOpen}
	tests := []struct {
		today string
		ob    organisation.Obligation
		want  organisation.Standing
	}{
		{"2026-01-01", ob, organisation.Standing{Status: organisation.ObligationOpen, DaysLeft: 262}},
		{"2026-09-10", ob, organisation.Standing{Status: organisation.ObligationOpen, DaysLeft: 10}},
		{"2026-09-20", ob, organisation.Standing{Status: organisation.ObligationOpen, DaysLeft: 0}},
		{"2026-09-21", ob, organisation.Standing{Status: organisation.ObligationOverdue, DaysOverdue: 1}},
		{"2026-09-23", ob, organisation.Standing{Status: organisation.ObligationOverdue, DaysOverdue: 3}},
		{"2026-10-26", ob, organisation.Standing{Status: organisation.ObligationOverdue, DaysOverdue: 36}}, // across the clocks going back
		{"2026-09-23", organisation.Obligation{Due: date("2026-09-20"), Status: organisation.ObligationMet}, organisation.Standing{Status: organisation.ObligationMet}},
		{"2026-09-23", organisation.Obligation{Due: date("2026-09-20"), Status: organisation.ObligationLapsed}, organisation.Standing{Status: organisation.ObligationLapsed}},
	}
	for _, tt := range tests {
		if got := tt.ob.On(date(tt.today)); got != tt.want {
			t.Errorf("%s obligation due %s on %s = %+v, want %+v", tt.ob.Status, tt.ob.Due, tt.today, got, tt.want)
		}
	}
}

func TestDateOfIsTheLondonDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 6, 14, 23, 30, 0, 0, time.UTC), "2026-06-15"}, // BST: 00:30 on the 15th
		{time.Date(2026, 6, 14, 22, 59, 0, 0, time.UTC), "2026-06-14"},
		{time.Date(2026, 12, 9, 23, 59, 0, 0, time.UTC), "2026-12-09"}, // GMT
		{time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC), "2026-12-10"},
	}
	for _, tt := range tests {
		if got := organisation.DateOf(tt.at).String(); got != tt.want {
			t.Errorf("DateOf(%s) = %s, want %s", tt.at, got, tt.want)
		}
	}
}

func TestListedFromTheAnnouncementDayUntilWithdrawal(t *testing.T) {
	t.Parallel()
	o := replay(t, enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01"), announce("2026-12-10"))
	for day, want := range map[string]bool{"2026-12-03": false, "2026-12-09": false, "2026-12-10": true, "2027-01-01": true} {
		if got := o.ListedOn(date(day)); got != want {
			t.Errorf("announced for 2026-12-10: listed on %s = %v, want %v", day, got, want)
		}
	}
	gone := replay(t, enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01"), announce("2025-03-20"), withdrawOn("2026-01-05"))
	if gone.ListedOn(today) {
		t.Error("a withdrawn organisation is still listed")
	}
}

func TestSubmissionBeforeTheWindowOpensDoesNotMeetTheObligation(t *testing.T) {
	t.Parallel()
	submit := func(obligation, submission, on string) step {
		return func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.RecordSubmission(obligation, submission, date(on), organisation.DefaultPolicy)
		}
	}
	signatory := []step{enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01"), announce("2025-03-20")} // first window 2026-03-20, due 2026-09-20
	tests := []struct {
		name     string
		before   []step
		try      step
		refused  bool
		nextDue  string
		nextOpen string
	}{
		{"first cycle on the day its window opens", signatory, submit("org1-c1", "s1", "2026-03-20"), false, "2029-03-20", "2028-09-20"},
		{"first cycle the day before its window", signatory, submit("org1-c1", "s1", "2026-03-19"), true, "", ""},
		{"first cycle late still meets it", signatory, submit("org1-c1", "s1", "2026-11-01"), false, "2029-11-01", "2029-05-01"},
		{"next cycle two and a half years early", append(append([]step{}, signatory...), submit("org1-c1", "s1", "2026-06-15")), submit("org1-c2", "s2", "2026-06-20"), true, "", ""},
		{"next cycle in its window, 36 months after the previous receipt", append(append([]step{}, signatory...), submit("org1-c1", "s1", "2026-06-15")), submit("org1-c2", "s2", "2028-12-15"), false, "2031-12-15", "2031-06-15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := replay(t, tt.before...)
			payloads, err := tt.try(o)
			if tt.refused {
				if apperr.CodeOf(err) != apperr.Conflict || len(payloads) != 0 {
					t.Fatalf("got %v, %v; want a conflict and no events", payloads, err)
				}
				if e, _ := apperr.As(err); !strings.Contains(e.Message, "before the window") || isoDate.MatchString(e.Message) {
					t.Errorf("message %q does not say the window has not opened, with dates in words", e.Message)
				}
				return
			}
			if err != nil || len(payloads) != 2 {
				t.Fatalf("got %v, %v; want the obligation met and the next scheduled", payloads, err)
			}
			next := payloads[1].(events.ObligationScheduledV1)
			if next.Due.String() != tt.nextDue || next.WindowOpens.String() != tt.nextOpen {
				t.Errorf("next obligation window %s due %s, want %s and %s", next.WindowOpens, next.Due, tt.nextOpen, tt.nextDue)
			}
		})
	}
}

func TestFirstCycleFollowsThePolicy(t *testing.T) {
	t.Parallel()
	// One policy value holds every number: signatories' window opens 12 months after
	// the announcement and the obligation is due at 18; supporters' at 6 and 12.
	p := organisation.DefaultPolicy
	if s := p.For(organisation.Signatory); s.Obligation != events.ObligationSelfAssessmentAndActionPlan || s.WindowOpens != 12 || s.Due != 18 || s.RepeatEvery != 36 {
		t.Errorf("signatory schedule %+v", s)
	}
	if s := p.For(organisation.Supporter); s.Obligation != events.ObligationActionPlan || s.WindowOpens != 6 || s.Due != 12 {
		t.Errorf("supporter schedule %+v", s)
	}
	// A policy with other numbers moves the clock: nothing else holds them.
	p.Signatory.WindowOpens, p.Signatory.Due = 1, 2
	o := replay(t, enquiredOn(""), meetingOn("2025-01-10"), formOn("2025-02-01"))
	payloads, err := o.Announce(date("2025-03-20"), p, today)
	if err != nil {
		t.Fatal(err)
	}
	if s := payloads[1].(events.ObligationScheduledV1); s.WindowOpens != civil.New(2025, 4, 20) || s.Due != civil.New(2025, 5, 20) {
		t.Errorf("with a 1 and 2 month policy the first obligation opens %s and is due %s", s.WindowOpens, s.Due)
	}
}

func TestControlCharactersAreRefusedInNamesAndReasons(t *testing.T) {
	t.Parallel()
	q := organisation.Enquiry{Name: "Evil\r\nBcc: victim@example.com", Kind: organisation.Signatory, Sector: "higher_education", Country: "GB",
		Website: "https://example.ac.uk", Contact: organisation.Person{Name: "Sam", Email: "s@example.ac.uk"}}
	if _, err := replay(t).ReceiveEnquiry(q, today); fieldOf(err) != "name" {
		t.Errorf("name with CR LF: %v, want refused naming name", err)
	}
	o := replay(t, enquiredOn(""), meetingOn("2025-01-10"))
	c := contacts
	c.Leader.Title = "VC\nBcc: x@example.com"
	if _, err := o.ReceiveForm(date("2025-02-01"), c, today); fieldOf(err) != "leader.title" {
		t.Errorf("title with a line break: %v, want refused naming leader.title", err)
	}
	if _, err := o.Withdraw(date("2025-02-01"), "merged\r\nBcc: x@example.com", "itss", today); fieldOf(err) != "reason" {
		t.Errorf("reason with CR LF: %v, want refused naming reason", err)
	}
}

// A withdrawal is not dated before a submission the organisation made: the record
// would say it met an obligation after it had left (a withdrawal lapses the open
// obligation and ignores later submissions), and the reminders and overdue emails it
// was sent in between would have gone to an organisation that had already withdrawn.
// The day of the submission itself, or later, is taken.
func TestAWithdrawalIsNotDatedBeforeASubmissionTheOrganisationMade(t *testing.T) {
	t.Parallel()
	submitted := func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.RecordSubmission("org1-c1", "sub1", date("2026-06-15"), organisation.DefaultPolicy)
	}
	o, _ := build(t, organisation.Signatory, meeting, form, announce("2025-03-20"), submitted)
	_, err := o.Withdraw(date("2026-05-01"), "merged with another signatory", "organisation", today)
	if e, ok := apperr.As(err); !ok || e.Field != "withdrawn_on" || !strings.Contains(e.Message, "Monday 15 June 2026") {
		t.Errorf("a withdrawal dated before the submission received on 15 June 2026: %v, want 400 withdrawn_on naming that day", err)
	}
	if _, err := o.Withdraw(date("2026-06-15"), "merged with another signatory", "organisation", today); err != nil {
		t.Errorf("a withdrawal on the day of the submission: %v", err)
	}
}
