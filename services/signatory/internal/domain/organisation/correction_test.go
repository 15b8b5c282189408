package organisation_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

func correct(on string) func(*organisation.Organisation) ([]events.Payload, error) {
	return func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.CorrectAnnouncement(date(on), organisation.DefaultPolicy, today)
	}
}

// TestACorrectedAnnouncementDateMovesTheFirstObligation: ITSS typed the announcement
// date wrong (2025-03-02 for 2025-02-03). Corrected before anything was received
// against the first obligation, the announcement and that obligation take the new
// dates by the policy, recorded by a correction that says both and a scheduling of
// the same obligation again (which a consumer that does not know the correction
// follows). The same date again records nothing.
func TestACorrectedAnnouncementDateMovesTheFirstObligation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		kind                      organisation.Kind
		obligation                string
		was, opens, due, oldOpens string
		oldDue                    string
	}{
		{organisation.Signatory, events.ObligationSelfAssessmentAndActionPlan, "2025-03-02", "2026-02-03", "2026-08-03", "2026-03-02", "2026-09-02"},
		{organisation.Supporter, events.ObligationActionPlan, "2025-03-02", "2025-08-03", "2026-02-03", "2025-09-02", "2026-03-02"},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			o, history := build(t, tt.kind, meeting, form, announce(tt.was), correct("2025-02-03"))
			if o.AnnouncedOn() != date("2025-02-03") {
				t.Errorf("announced on %s, want 2025-02-03", o.AnnouncedOn())
			}
			want := []organisation.Obligation{{ID: "org1-c1", Kind: tt.obligation, Cycle: 1, WindowOpens: date(tt.opens), Due: date(tt.due), Status: organisation.ObligationOpen}}
			if diff := cmp.Diff(want, o.Obligations(), cmp.AllowUnexported(civil.Date{})); diff != "" {
				t.Errorf("obligations (-want +got):\n%s", diff)
			}
			last := history[len(history)-2:]
			if last[0].Type != (events.OrganisationAnnouncementCorrectedV1{}).EventType() || last[1].Type != (events.ObligationScheduledV1{}).EventType() {
				t.Fatalf("last events %s, %s; want the correction, then the obligation scheduled again", last[0].Type, last[1].Type)
			}
			var corrected events.OrganisationAnnouncementCorrectedV1
			if err := json.Unmarshal(last[0].Data, &corrected); err != nil {
				t.Fatal(err)
			}
			wantCorrected := events.OrganisationAnnouncementCorrectedV1{OrganisationID: "org1", OrganisationName: "Example University",
				AnnouncedOn: date("2025-02-03"), PreviousAnnouncedOn: date(tt.was), ObligationID: "org1-c1", ObligationKind: tt.obligation,
				WindowOpens: date(tt.opens), Due: date(tt.due), PreviousWindowOpens: date(tt.oldOpens), PreviousDue: date(tt.oldDue)}
			if diff := cmp.Diff(wantCorrected, corrected, cmp.AllowUnexported(civil.Date{})); diff != "" {
				t.Errorf("the correction (-want +got):\n%s", diff)
			}
			var scheduled events.ObligationScheduledV1
			if err := json.Unmarshal(last[1].Data, &scheduled); err != nil {
				t.Fatal(err)
			}
			wantScheduled := events.ObligationScheduledV1{OrganisationID: "org1", OrganisationName: "Example University", ObligationID: "org1-c1",
				Kind: tt.obligation, Cycle: 1, WindowOpens: date(tt.opens), Due: date(tt.due)}
			if diff := cmp.Diff(wantScheduled, scheduled, cmp.AllowUnexported(civil.Date{})); diff != "" {
				t.Errorf("the scheduling (-want +got):\n%s", diff)
			}
			if again, err := o.CorrectAnnouncement(date("2025-02-03"), organisation.DefaultPolicy, today); err != nil || len(again) != 0 {
				t.Errorf("the same date again gave %v, %v; want no event", again, err)
			}
		})
	}
}

// TestACorrectionKeepsToTheAnnouncementsRulesAndTheFirstCycle: the corrected date is
// held to the rules of the announcement (400 naming announced_on), and only an
// announced organisation that has not withdrawn, with nothing received against its
// first obligation, takes it (409): once a submission is in, the next deadline
// counts from its receipt, not from the announcement.
func TestACorrectionKeepsToTheAnnouncementsRulesAndTheFirstCycle(t *testing.T) {
	t.Parallel()
	submit := func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.RecordSubmission("org1-c1", "sub1", date("2026-06-15"), organisation.DefaultPolicy)
	}
	withdraw := func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.Withdraw(date("2026-06-01"), "merged", "organisation", today)
	}
	steps := func(s ...func(*organisation.Organisation) ([]events.Payload, error)) []func(*organisation.Organisation) ([]events.Payload, error) {
		return s
	}
	for _, tt := range []struct {
		name  string
		steps []func(*organisation.Organisation) ([]events.Payload, error)
		on    string
		code  apperr.Code
		field string
		says  string
	}{
		{"not announced", steps(meeting, form), "2025-02-03", apperr.Conflict, "", "it has not been announced"},
		{"withdrawn", steps(meeting, form, announce("2025-03-02"), withdraw), "2025-02-03", apperr.Conflict, "", "it has withdrawn"},
		{"submission in", steps(meeting, form, announce("2025-03-02"), submit), "2025-02-03", apperr.Conflict, "", "received on Monday 15 June 2026"},
		{"before the form", steps(meeting, form, announce("2025-03-02")), "2025-01-31", apperr.Invalid, "announced_on", "before the form was signed"},
		{"too far ahead", steps(meeting, form, announce("2025-03-02")), "2027-06-04", apperr.Invalid, "announced_on", "more than 6 months ahead"},
		{"before the Commitment", steps(meeting, form, announce("2025-03-02")), "2016-02-03", apperr.Invalid, "announced_on", "before the Technician Commitment began"},
		{"no date", steps(meeting, form, announce("2025-03-02")), "", apperr.Invalid, "announced_on", "is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := build(t, organisation.Signatory, tt.steps...)
			var on civil.Date
			if tt.on != "" {
				on = date(tt.on)
			}
			_, err := o.CorrectAnnouncement(on, organisation.DefaultPolicy, today)
			ae, ok := apperr.As(err)
			if !ok || ae.Code != tt.code || ae.Field != tt.field || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("got %v, want %s on %q saying %q", err, tt.code, tt.field, tt.says)
			}
		})
	}
}
