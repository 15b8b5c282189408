package pages

import (
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	sigapi "github.com/itss/techcommit/services/signatory/api"
)

// An obligation's status reads as words on the lead's page and the console's, for
// every status signatory answers: a withdrawn organisation's lapsed obligation
// showed the code word "lapsed" beside "Met on Sunday 6 December 2026".
func TestEveryObligationStatusReadsAsWords(t *testing.T) {
	three, met := 3, openapi_types.Date{Time: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		ob   sigapi.Obligation
		want string
	}{
		{sigapi.Obligation{Status: sigapi.Open, DaysLeft: &three}, "3 days left"},
		{sigapi.Obligation{Status: sigapi.Overdue, DaysOverdue: &three}, "3 days overdue"},
		{sigapi.Obligation{Status: sigapi.Met, MetOn: &met}, "Met on Sunday 6 December 2026"},
		{sigapi.Obligation{Status: sigapi.Lapsed}, "Lapsed when the organisation withdrew"},
		// Without the counts the API gives with them, still words.
		{sigapi.Obligation{Status: sigapi.Open}, "Open"},
		{sigapi.Obligation{Status: sigapi.Overdue}, "Overdue"},
		{sigapi.Obligation{Status: sigapi.Met}, "Met"},
	} {
		if got := obligationStatus(c.ob); got != c.want {
			t.Errorf("%s reads %q, want %q", c.ob.Status, got, c.want)
		}
	}
}
