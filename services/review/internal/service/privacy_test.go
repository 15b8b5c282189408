package service_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// Subject access finds what the review service holds about an address, in any case:
// a reviewer's registration in the event log, and an organisation's lead in the read
// model of signatories; an unknown address finds nothing; only ops may ask.
func TestSubjectAccessFindsAReviewerAndALead(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("exampleton")
	h.reviewer("rev-sar", "otherton", true, 2)
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
	if got := collections("REV-SAR@reviewers.example"); !slices.Contains(got, "events") {
		t.Errorf("the reviewer's records are in %v, want their registration in the events", got)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := collections("lead@exampleton.ac.uk"); !slices.Contains(got, "organisations") {
			return fmt.Errorf("the lead's records are in %v, want the organisations read model", got)
		}
		return nil
	})
	if got := collections("nobody@example.ac.uk"); len(got) != 0 {
		t.Errorf("an unknown address: %v", got)
	}
	h.Must(http.StatusForbidden, h.Do("POST", "/v1/ops/subject-access", h.Token(auth.RoleLead, "exampleton"), map[string]any{"email": "lead@exampleton.ac.uk"}))
}
