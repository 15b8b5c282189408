package pages

import (
	"testing"

	"github.com/itss/techcommit/libs/events"
)

// An organisation's history says what a correction changed, from what to what, and
// the dates of an obligation scheduled (which a corrected announcement moves): it
// said "Organisation announcement corrected" alone, so ITSS could not see from the
// console what had been corrected. An event of another kind, or a field of another
// shape, adds nothing.
func TestTheHistorySaysWhatACorrectionChanged(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		typ  string
		data map[string]any
		want string
	}{
		{events.OrganisationAnnouncementCorrectedV1{}.EventType(),
			map[string]any{"announced_on": "2026-02-03", "previous_announced_on": "2026-03-02", "due": "2027-08-03", "previous_due": "2027-09-02"},
			"Organisation announcement corrected: announced on Tuesday 3 February 2026, not Monday 2 March 2026; due on Tuesday 3 August 2027, not Thursday 2 September 2027"},
		{events.OrganisationDetailsCorrectedV1{}.EventType(),
			map[string]any{"name": "University of Aberdare", "website": "https://aberdare.ac.uk", "sector": "higher_education"},
			"Organisation details corrected: named University of Aberdare; website https://aberdare.ac.uk"},
		// A record the page does not know by name is named by its identifier.
		{events.OrganisationSuccessionRecordedV1{}.EventType(), map[string]any{"succeeds": "org-7"},
			"Organisation succession recorded: succeeds organisation org-7"},
		{events.ObligationScheduledV1{}.EventType(), map[string]any{"window_opens": "2027-02-03", "due": "2027-08-03"},
			"Organisation obligation scheduled: window opens Wednesday 3 February 2027, due on Tuesday 3 August 2027"},
		{events.ObligationScheduledV1{}.EventType(), map[string]any{"window_opens": 20270203, "due": "soon"},
			"Organisation obligation scheduled"},
		{events.OrganisationContactsChangedV1{}.EventType(), map[string]any{"plan_page": "https://example.org"},
			"Organisation contacts changed"},
	} {
		if got := opsEventText(tt.typ) + opsEventDetail(tt.typ, tt.data, func(string) string { return "" }); got != tt.want {
			t.Errorf("%s reads %q, want %q", tt.typ, got, tt.want)
		}
	}
}
