package pages

import (
	"encoding/json"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	fundapi "github.com/itss/techcommit/services/fund/api"
)

// A report the fund marks due when the project ends (a month before it is due by)
// is due, not overdue, until its due day has passed on the London clock; the lead's
// page says of it what the console does (a report past its due day read "Due now" to
// its lead while ITSS staff read "Overdue").
func TestOpsReportState(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	due := &openapi_types.Date{Time: time.Date(2028, 1, 31, 0, 0, 0, 0, time.UTC)}
	received := fundapi.Application{ReportDue: due, ReportIsDue: &yes}
	if err := json.Unmarshal([]byte(`{"report": {"summary": "Done", "spent_pence": 50000}}`), &received); err != nil {
		t.Fatal(err)
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tt := range []struct {
		name             string
		app              fundapi.Application
		today            time.Time
		wantDue, overdue bool
		lead             string
	}{
		{"not awarded", fundapi.Application{}, day(2028, 1, 1), false, false, ""},
		{"before the project ends", fundapi.Application{ReportDue: due, ReportIsDue: &no}, day(2027, 12, 20), false, false, "Not yet due"},
		{"the day after it ends", fundapi.Application{ReportDue: due, ReportIsDue: &yes}, day(2028, 1, 1), true, false, "Due now"},
		{"on its due day", fundapi.Application{ReportDue: due, ReportIsDue: &yes}, day(2028, 1, 31), true, false, "Due now"},
		{"the day after its due day", fundapi.Application{ReportDue: due, ReportIsDue: &yes}, day(2028, 2, 1), false, true, "Overdue"},
		{"past its due day, not yet marked due", fundapi.Application{ReportDue: due}, day(2028, 2, 1), false, true, "Overdue"},
		{"received", received, day(2028, 3, 1), false, false, "Received"},
	} {
		if d, o := opsReportState(tt.app, tt.today); d != tt.wantDue || o != tt.overdue {
			t.Errorf("%s: due %t, overdue %t; want %t, %t", tt.name, d, o, tt.wantDue, tt.overdue)
		}
		if got := reportState(tt.app, tt.today); got != tt.lead {
			t.Errorf("%s: the lead reads %q, want %q", tt.name, got, tt.lead)
		}
	}
}
