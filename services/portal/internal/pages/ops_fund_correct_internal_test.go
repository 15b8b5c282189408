package pages

import (
	"net/url"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	fundapi "github.com/itss/techcommit/services/fund/api"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
)

// A correction that changes only a round's name sends its times as the round has
// them: with seconds, and in the hour the clocks go back (01:30 happens twice on
// the London clock), as the same instant, not the hour after. A time typed anew
// is sent as typed.
func TestRoundCorrectionKeepsTheTimesNotTyped(t *testing.T) {
	t.Parallel()
	day := func(s string) openapi_types.Date {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return openapi_types.Date{Time: d}
	}
	for _, rd := range []fundapi.Round{
		{Opens: time.Date(2027, 9, 1, 8, 0, 17, 0, time.UTC), Closes: time.Date(2027, 10, 31, 0, 30, 0, 0, time.UTC)},
		{Opens: time.Date(2027, 9, 1, 8, 0, 0, 0, time.UTC), Closes: time.Date(2027, 10, 31, 1, 30, 42, 0, time.UTC)},
		{Opens: time.Date(2027, 3, 28, 0, 59, 0, 0, time.UTC), Closes: time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC)},
	} {
		rd.Name, rd.BudgetPence, rd.MinAwardPence, rd.MaxAwardPence = "TCF 2027", 750000, 10000, 100000
		rd.ProjectStart, rd.ProjectEnd, rd.Themes = day("2027-11-01"), day("2028-06-30"), []fundapi.Theme{"visibility"}
		form := url.Values{}
		for k, v := range opsRoundValues(rd) {
			form[k] = v
		}
		form.Set("name", "TCF 2027 (renamed)")
		typed, body, errs := opsform.FundRound.Parse(form, london)
		if len(errs) > 0 {
			t.Fatalf("the round's own form, renamed, is refused: %v", errs)
		}
		keepUntypedTimes(body, typed, rd)
		for name, want := range map[string]time.Time{"opens": rd.Opens, "closes": rd.Closes} {
			if got, _ := time.Parse(time.RFC3339Nano, body[name].(string)); !got.Equal(want) {
				t.Errorf("a rename sends %s %s (%s), shown as %q; want it as it was, %s", name, body[name], longTime(got), form.Get(name), longTime(want))
			}
		}
	}

	rd := fundapi.Round{Opens: time.Date(2027, 9, 1, 8, 0, 0, 0, time.UTC), Closes: time.Date(2027, 10, 31, 0, 30, 0, 0, time.UTC)}
	typed := opsform.Values{"opens": {"2027-09-01 09:00"}, "closes": {"2027-10-31 01:30 GMT"}}
	body := map[string]any{"opens": "2027-09-01T08:00:00Z", "closes": "2027-10-31T01:30:00Z"}
	keepUntypedTimes(body, typed, rd)
	if body["closes"] != "2027-10-31T01:30:00Z" {
		t.Errorf("a closing time typed anew (the second 01:30) is sent as %v", body["closes"])
	}
}
