package service_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/auth"
)

// Subject access finds every document the fund holds about an address, in any case:
// the application that names the applicant and its endorsing lead, and the read model
// of signatories that holds the lead's address; an address it holds nothing about
// gets none; only ops may ask.
func TestSubjectAccessFindsEveryRecordOfAnAddress(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-sar", "signatory")
	round := h.openRound(500000, 10000, 100000)
	applicant := h.Token(auth.RoleApplicant, "org-sar")
	h.eligible(applicant, round, 10000)
	id := h.submitted(applicant, round, 10000, false)

	collections := func(email string) []string {
		t.Helper()
		got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": email})).JSON(t)
		var out []string
		for _, r := range got["records"].([]any) {
			out = append(out, r.(map[string]any)["collection"].(string))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	lead := collections("S.Patel@Example.ac.uk")
	if !slices.Contains(lead, "events") || !slices.Contains(lead, "signatories") {
		t.Errorf("the endorsing lead's records are in %v, want the events and the signatories", lead)
	}
	got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": "applicant@example.ac.uk"}))
	if !strings.Contains(string(got.Body), id) {
		t.Errorf("the applicant's records do not include their application %s: %s", id, got.Body)
	}
	if none := collections("nobody@example.ac.uk"); len(none) != 0 {
		t.Errorf("an address the fund holds nothing about: %v", none)
	}
	h.Must(http.StatusForbidden, h.Do("POST", "/v1/ops/subject-access", applicant, map[string]any{"email": "applicant@example.ac.uk"}))
}
