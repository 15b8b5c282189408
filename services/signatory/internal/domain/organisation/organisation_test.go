package organisation_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

func date(s string) civil.Date {
	d, err := civil.Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

var contacts = organisation.Contacts{
	Leader:         organisation.Person{Name: "Prof. Jane Smith", Title: "Vice-Chancellor", Email: "vc@example.ac.uk"},
	NominatedLead:  organisation.Person{Name: "Sam Patel", Email: "s.patel@example.ac.uk"},
	PointOfContact: organisation.Person{Name: "Technical Services", Email: "tech@example.ac.uk"},
	PlanPage:       "https://example.ac.uk/tc",
}

// build runs steps on a fresh organisation, applying each step's events as the event
// store would, and returns the organisation after them.
func build(t *testing.T, kind organisation.Kind, steps ...func(*organisation.Organisation) ([]events.Payload, error)) (*organisation.Organisation, []events.Envelope) {
	t.Helper()
	var history []events.Envelope
	all := append([]func(*organisation.Organisation) ([]events.Payload, error){
		func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.ReceiveEnquiry(organisation.Enquiry{Name: "Example University", Kind: kind, Sector: "higher_education", Country: "GB",
				Website: "https://example.ac.uk", Contact: organisation.Person{Name: "Sam Patel", Email: "s.patel@example.ac.uk"}}, today)
		},
	}, steps...)
	for i, step := range all {
		o, err := organisation.Rebuild("org1", history)
		if err != nil {
			t.Fatal(err)
		}
		payloads, err := step(o)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		for _, p := range payloads {
			data, _ := json.Marshal(p)
			history = append(history, events.Envelope{ID: "e", Type: p.EventType(), AggregateID: "org1", Version: len(history) + 1, Time: time.Now(), Data: data})
		}
	}
	o, err := organisation.Rebuild("org1", history)
	if err != nil {
		t.Fatal(err)
	}
	return o, history
}

// today is the day the domain tests are judged on.
var today = date("2026-12-03")

func meeting(o *organisation.Organisation) ([]events.Payload, error) {
	return o.RecordMeeting(date("2025-01-10"), "", today)
}

func form(o *organisation.Organisation) ([]events.Payload, error) {
	return o.ReceiveForm(date("2025-02-01"), contacts, today)
}

func announce(on string) func(*organisation.Organisation) ([]events.Payload, error) {
	return func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.Announce(date(on), organisation.DefaultPolicy, today)
	}
}

func TestAnnouncementSchedulesFirstObligationByPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind      organisation.Kind
		announced string
		want      organisation.Obligation
	}{
		{organisation.Signatory, "2025-03-20", organisation.Obligation{ID: "org1-c1", Kind: "self_assessment_and_action_plan", Cycle: 1, WindowOpens: date("2026-03-20"), Due: date("2026-09-20"), Status: organisation.ObligationOpen}},
		{organisation.Supporter, "2025-03-20", organisation.Obligation{ID: "org1-c1", Kind: "action_plan", Cycle: 1, WindowOpens: date("2025-09-20"), Due: date("2026-03-20"), Status: organisation.ObligationOpen}},
		{organisation.Signatory, "2025-08-31", organisation.Obligation{ID: "org1-c1", Kind: "self_assessment_and_action_plan", Cycle: 1, WindowOpens: date("2026-08-31"), Due: date("2027-02-28"), Status: organisation.ObligationOpen}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+tt.announced, func(t *testing.T) {
			t.Parallel()
			o, _ := build(t, tt.kind, meeting, form, announce(tt.announced))
			got, ok := o.OpenObligation()
			if !ok {
				t.Fatal("no open obligation after announcement")
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(civil.Date{})); diff != "" {
				t.Errorf("obligation (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSubmissionClosesObligationAndOpensNextThreeYearsOn(t *testing.T) {
	t.Parallel()
	o, _ := build(t, organisation.Signatory, meeting, form, announce("2025-03-20"),
		func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.RecordSubmission("org1-c1", "sub1", date("2026-06-15"), organisation.DefaultPolicy)
		})
	obs := o.Obligations()
	if len(obs) != 2 {
		t.Fatalf("%d obligations, want 2", len(obs))
	}
	if obs[0].Status != organisation.ObligationMet || obs[0].MetOn != date("2026-06-15") || obs[0].SubmissionID != "sub1" {
		t.Errorf("first obligation = %+v, want met on 2026-06-15 by sub1", obs[0])
	}
	want := organisation.Obligation{ID: "org1-c2", Kind: "self_assessment_and_action_plan", Cycle: 2, WindowOpens: date("2028-12-15"), Due: date("2029-06-15"), Status: organisation.ObligationOpen}
	if diff := cmp.Diff(want, obs[1], cmp.AllowUnexported(civil.Date{})); diff != "" {
		t.Errorf("next obligation (-want +got):\n%s", diff)
	}
	// The same submission again changes nothing.
	again, err := o.RecordSubmission("org1-c1", "sub1", date("2026-06-15"), organisation.DefaultPolicy)
	if err != nil || len(again) != 0 {
		t.Errorf("repeated submission gave %v, %v; want no events", again, err)
	}
}

// A supporter submits its action plan once (DESIGN.md: window from +6 to +12 months
// after the announcement, and no renewal, which only signatories have): its
// submission meets the obligation and opens none. A second, due three years on, was
// opened, and with it reminders and overdue emails DESIGN never asked for.
func TestASupportersActionPlanIsItsOnlyObligation(t *testing.T) {
	t.Parallel()
	o, history := build(t, organisation.Supporter, meeting, form, announce("2025-03-20"),
		func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.RecordSubmission("org1-c1", "sub1", date("2025-12-01"), organisation.DefaultPolicy)
		})
	obs := o.Obligations()
	if len(obs) != 1 || obs[0].Status != organisation.ObligationMet || obs[0].MetOn != date("2025-12-01") {
		t.Errorf("a supporter's obligations after its action plan: %+v, want the one, met on 2025-12-01", obs)
	}
	if _, open := o.OpenObligation(); open {
		t.Error("a supporter has an open obligation after its action plan")
	}
	if last := history[len(history)-1]; last.Type != (events.ObligationMetV1{}).EventType() {
		t.Errorf("the submission's last event is %s, want the obligation met and nothing after", last.Type)
	}
}

func TestIllegalTransitionsAreConflictsThatSayWhy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []func(*organisation.Organisation) ([]events.Payload, error)
		try   func(*organisation.Organisation) ([]events.Payload, error)
		code  apperr.Code
	}{
		{"announce before form", []func(*organisation.Organisation) ([]events.Payload, error){meeting}, announce("2025-03-01"), apperr.Conflict},
		{"form before meeting", nil, form, apperr.Conflict},
		{"meeting twice", []func(*organisation.Organisation) ([]events.Payload, error){meeting}, meeting, apperr.Conflict},
		{"announce twice", []func(*organisation.Organisation) ([]events.Payload, error){meeting, form, announce("2025-03-01")}, announce("2025-03-02"), apperr.Conflict},
		{"announce before signing", []func(*organisation.Organisation) ([]events.Payload, error){meeting, form}, announce("2025-01-15"), apperr.Invalid},
		{"withdraw twice", []func(*organisation.Organisation) ([]events.Payload, error){func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.Withdraw(date("2025-02-01"), "left", "organisation", today)
		}}, func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.Withdraw(date("2025-02-02"), "left", "organisation", today)
		}, apperr.Conflict},
		{"contacts before form", []func(*organisation.Organisation) ([]events.Payload, error){meeting}, func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.ChangeContacts(contacts)
		}, apperr.Conflict},
		{"bad lead email", []func(*organisation.Organisation) ([]events.Payload, error){meeting}, func(o *organisation.Organisation) ([]events.Payload, error) {
			c := contacts
			c.NominatedLead.Email = "Sam <s@example.ac.uk>"
			return o.ReceiveForm(date("2025-02-01"), c, today)
		}, apperr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := build(t, organisation.Signatory, tt.steps...)
			payloads, err := tt.try(o)
			if apperr.CodeOf(err) != tt.code {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
			if len(payloads) != 0 {
				t.Errorf("refused command still produced %d events", len(payloads))
			}
			if e, _ := apperr.As(err); e.Message == "" {
				t.Error("error has no message for the caller")
			}
		})
	}
}

func TestWithdrawalLapsesOpenObligationAndIgnoresLaterSubmissions(t *testing.T) {
	t.Parallel()
	o, _ := build(t, organisation.Supporter, meeting, form, announce("2025-03-20"),
		func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.Withdraw(date("2025-06-01"), "merged", "itss", today)
		})
	if o.Status() != organisation.StatusWithdrawn {
		t.Fatalf("status %s, want withdrawn", o.Status())
	}
	if _, ok := o.OpenObligation(); ok {
		t.Error("withdrawn organisation still has an open obligation")
	}
	if got := o.Obligations()[0].Status; got != organisation.ObligationLapsed {
		t.Errorf("obligation status %s, want lapsed", got)
	}
	payloads, err := o.RecordSubmission("", "late", date("2025-07-01"), organisation.DefaultPolicy)
	if err != nil || len(payloads) != 0 {
		t.Errorf("submission after withdrawal gave %v, %v; want nothing", payloads, err)
	}
}

func TestUnchangedContactsRecordNothing(t *testing.T) {
	t.Parallel()
	o, _ := build(t, organisation.Signatory, meeting, form)
	payloads, err := o.ChangeContacts(contacts)
	if err != nil || len(payloads) != 0 {
		t.Errorf("same contacts gave %v, %v; want no event", payloads, err)
	}
}

// TestAnOrganisationThatSignsAgainSucceedsTheOneThatWithdrew: an organisation that
// withdrew and signed again is a new record, which its announcement names as the
// successor of the old one, so that the rules that follow the organisation follow it;
// only another record, withdrawn and succeeded by no other, can be succeeded.
func TestAnOrganisationThatSignsAgainSucceedsTheOneThatWithdrew(t *testing.T) {
	t.Parallel()
	withdraw := func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.Withdraw(date("2026-06-01"), "signing again", "organisation", today)
	}
	_, history := build(t, organisation.Signatory, meeting, form, announce("2025-03-20"), withdraw)
	withdrawn, err := organisation.Rebuild("old", history)
	if err != nil {
		t.Fatal(err)
	}
	_, history = build(t, organisation.Signatory, meeting, form, announce("2025-03-20"))
	active, err := organisation.Rebuild("active", history)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := build(t, organisation.Signatory, meeting, form)
	none, err := organisation.Rebuild("nothing", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		predecessor *organisation.Organisation
		succeededBy string
		want        string // the refusal's words, or "" for none
	}{
		{"withdrawn", withdrawn, "", ""},
		{"already this one's", withdrawn, "org1", ""},
		{"not withdrawn", active, "", "which has not withdrawn"},
		{"none", none, "", "names no organisation"},
		{"itself", self, "", "is this organisation itself"},
		{"succeeded by another", withdrawn, "other", "already succeeded by organisation other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := build(t, organisation.Signatory, meeting, form)
			payloads, err := o.AnnounceSucceeding(date("2026-07-01"), tt.predecessor, tt.succeededBy, organisation.DefaultPolicy, today)
			if tt.want != "" {
				var ae *apperr.Error
				if !errors.As(err, &ae) || ae.Field != "succeeds" || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want a refusal of succeeds saying %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := payloads[0].(events.OrganisationAnnouncedV1).Succeeds; got != "old" {
				t.Errorf("announcement succeeds %q, want old", got)
			}
		})
	}
}

// TestASuccessionIsRecordedAfterTheAnnouncement: an organisation announced without
// naming the record it succeeds (ITSS forgot, or it was announced before a record
// could name one) is given it later, by the same rules as at the announcement, so
// that the rules that follow the organisation follow it. Only an announced record
// that has not withdrawn takes it (409 otherwise: a record not yet announced names it
// in its announcement), and a record succeeds one other: the same again records
// nothing, another is 409.
func TestASuccessionIsRecordedAfterTheAnnouncement(t *testing.T) {
	t.Parallel()
	withdraw := func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.Withdraw(date("2026-06-01"), "signing again", "organisation", today)
	}
	_, history := build(t, organisation.Signatory, meeting, form, announce("2025-03-20"), withdraw)
	withdrawn, err := organisation.Rebuild("old", history)
	if err != nil {
		t.Fatal(err)
	}
	_, history = build(t, organisation.Signatory, meeting, form, announce("2025-03-20"))
	active, err := organisation.Rebuild("active", history)
	if err != nil {
		t.Fatal(err)
	}
	succeed := func(p *organisation.Organisation, by string) func(*organisation.Organisation) ([]events.Payload, error) {
		return func(o *organisation.Organisation) ([]events.Payload, error) { return o.RecordSuccession(p, by) }
	}

	t.Run("recorded", func(t *testing.T) {
		t.Parallel()
		o, history := build(t, organisation.Signatory, meeting, form, announce("2026-07-01"), succeed(withdrawn, ""))
		if o.Succeeds() != "old" {
			t.Errorf("succeeds %q, want old", o.Succeeds())
		}
		last := history[len(history)-1]
		if last.Type != (events.OrganisationSuccessionRecordedV1{}).EventType() {
			t.Fatalf("last event %s, want the succession recorded", last.Type)
		}
		// The same again (a form pressed twice, a retry) records nothing.
		if payloads, err := o.RecordSuccession(withdrawn, "org1"); err != nil || len(payloads) != 0 {
			t.Errorf("the same succession again gave %v, %v; want no event", payloads, err)
		}
		// Another is refused: a record succeeds one other.
		_, history2 := build(t, organisation.Signatory, meeting, form, announce("2025-03-20"), withdraw)
		second, err := organisation.Rebuild("second", history2)
		if err != nil {
			t.Fatal(err)
		}
		_, err = o.RecordSuccession(second, "")
		if ae, ok := apperr.As(err); !ok || ae.Code != apperr.Conflict || !strings.Contains(err.Error(), "already succeeds organisation old") {
			t.Errorf("a second predecessor gave %v, want 409 saying it already succeeds old", err)
		}
	})

	for _, tt := range []struct {
		name        string
		steps       []func(*organisation.Organisation) ([]events.Payload, error)
		predecessor *organisation.Organisation
		succeededBy string
		code        apperr.Code
		field, want string
	}{
		{"not announced", []func(*organisation.Organisation) ([]events.Payload, error){meeting, form}, withdrawn, "", apperr.Conflict, "", "name it as succeeds in its announcement"},
		{"withdrawn", []func(*organisation.Organisation) ([]events.Payload, error){meeting, form, announce("2025-03-20"), withdraw}, withdrawn, "", apperr.Conflict, "", "it has withdrawn"},
		{"not withdrawn", []func(*organisation.Organisation) ([]events.Payload, error){meeting, form, announce("2025-03-20")}, active, "", apperr.Invalid, "succeeds", "which has not withdrawn"},
		{"succeeded by another", []func(*organisation.Organisation) ([]events.Payload, error){meeting, form, announce("2025-03-20")}, withdrawn, "other", apperr.Invalid, "succeeds", "already succeeded by organisation other"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := build(t, organisation.Signatory, tt.steps...)
			_, err := o.RecordSuccession(tt.predecessor, tt.succeededBy)
			ae, ok := apperr.As(err)
			if !ok || ae.Code != tt.code || ae.Field != tt.field || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %s on %q saying %q", err, tt.code, tt.field, tt.want)
			}
		})
	}
}

// TestITSSCorrectsTheDetails: the details an enquiry recorded (name, website, sector,
// country) are corrected by ITSS at any step, withdrawn too (a slip in the name, an
// institution renamed, a website moved), by the enquiry's rules, in an event naming
// no one; the kind, which set the obligation clocks, is not among them. The same
// details again record nothing.
func TestITSSCorrectsTheDetails(t *testing.T) {
	t.Parallel()
	corrected := organisation.Details{Name: "  University of Exampleton  ", Sector: "research_institute", Country: "IE", Website: "https://www.exampleton.ac.uk/"}
	correct := func(d organisation.Details) func(*organisation.Organisation) ([]events.Payload, error) {
		return func(o *organisation.Organisation) ([]events.Payload, error) { return o.CorrectDetails(d) }
	}
	withdraw := func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.Withdraw(date("2026-06-01"), "left", "organisation", today)
	}
	for name, steps := range map[string][]func(*organisation.Organisation) ([]events.Payload, error){
		"enquiry":   nil,
		"announced": {meeting, form, announce("2025-03-20")},
		"withdrawn": {meeting, form, announce("2025-03-20"), withdraw},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o, history := build(t, organisation.Supporter, append(steps, correct(corrected))...)
			want := organisation.Details{Name: "University of Exampleton", Sector: "research_institute", Country: "IE", Website: "https://www.exampleton.ac.uk/"}
			if diff := cmp.Diff(want, o.Details()); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
			if q := o.Enquiry(); q.Name != want.Name || q.Website != want.Website || q.Kind != organisation.Supporter {
				t.Errorf("enquiry reads %+v after the correction", q)
			}
			last := history[len(history)-1]
			if last.Type != (events.OrganisationDetailsCorrectedV1{}).EventType() {
				t.Fatalf("last event %s, want the details corrected", last.Type)
			}
			if strings.Contains(string(last.Data), "@") {
				t.Errorf("the event names someone: %s", last.Data)
			}
			if payloads, err := o.CorrectDetails(want); err != nil || len(payloads) != 0 {
				t.Errorf("the same details again gave %v, %v; want no event", payloads, err)
			}
		})
	}

	for _, tt := range []struct {
		name  string
		d     organisation.Details
		field string
	}{
		{"no name", organisation.Details{Name: "  ", Sector: "other", Country: "GB", Website: "https://example.ac.uk"}, "name"},
		{"a line break in the name", organisation.Details{Name: "Example\nUniversity", Sector: "other", Country: "GB", Website: "https://example.ac.uk"}, "name"},
		{"no sector", organisation.Details{Name: "Example", Country: "GB", Website: "https://example.ac.uk"}, "sector"},
		{"UK", organisation.Details{Name: "Example", Sector: "other", Country: "UK", Website: "https://example.ac.uk"}, "country"},
		{"no website", organisation.Details{Name: "Example", Sector: "other", Country: "GB"}, "website"},
		{"not a web address", organisation.Details{Name: "Example", Sector: "other", Country: "GB", Website: "ftp://example.ac.uk"}, "website"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := build(t, organisation.Signatory, meeting)
			_, err := o.CorrectDetails(tt.d)
			if ae, ok := apperr.As(err); !ok || ae.Code != apperr.Invalid || ae.Field != tt.field {
				t.Errorf("got %v, want 400 naming %s", err, tt.field)
			}
		})
	}

	t.Run("no organisation", func(t *testing.T) {
		t.Parallel()
		o, err := organisation.Rebuild("none", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = o.CorrectDetails(corrected)
		if ae, ok := apperr.As(err); !ok || ae.Code != apperr.NotFound {
			t.Errorf("got %v, want 404", err)
		}
	})
}
