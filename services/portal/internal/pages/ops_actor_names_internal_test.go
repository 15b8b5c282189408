package pages

import (
	"net/http/httptest"
	"testing"
)

// An organisation's history says who made each change in words: the services'
// own changes (a submission received closes an obligation as "system:review") and
// ITSS staff whose names the portal does not know showed the identities the
// service recorded, "system:review" and "ops:ops-dev".
func TestOrganisationHistoryNamesEveryActorInWords(t *testing.T) {
	t.Parallel()
	actors := []string{"system:review", "system:erasure-register", "system:scheduler", "ops:ops-dev", "ops:me", "lead:p-1234"}
	who := (&Handler{}).opsActorNames(httptest.NewRequest("GET", "/ops/organisations/org-1", nil), actors, "me")
	for actor, want := range map[string]string{
		"system:review":           "The review service",
		"system:erasure-register": "The erasure register (erased again after a restore)",
		"system:scheduler":        "An automatic process (scheduler)",
		"ops:ops-dev":             "ITSS operations staff (ops-dev)",
		"ops:me":                  "You",
		"lead:p-1234":             "The organisation's lead",
	} {
		if got := who(actor); got != want {
			t.Errorf("%s reads %q, want %q", actor, got, want)
		}
	}
}
