package service_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
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

// A reviewer's subject access answer holds the reviewer and nobody else: two reviewers
// assigned in one commit were both given to each (the commit returned whole), which
// handed one reviewer the other's name and address and told them who else reviewed
// the submission; the lead of the organisation reviewed is not theirs either.
func TestSubjectAccessHoldsNoOtherPerson(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("exampleton")
	sub := h.submitted("exampleton")
	h.reviewer("rev-ann", "otherton", true, 2)
	h.reviewer("rev-bob", "thirdton", true, 2)
	round := h.openRound("Spring", start0.Add(30*24*time.Hour), sub)
	if got := h.autoAssign(round, 2); got.Added != 2 {
		t.Fatalf("automatic assignment added %d reviews, want both reviewers on the one submission", got.Added)
	}
	body := string(h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": "rev-ann@reviewers.example"})).Body)
	if !strings.Contains(body, "Reviewer rev-ann") || !strings.Contains(body, round) {
		t.Fatalf("the reviewer's answer does not hold their registration and assignment: %.600s", body)
	}
	// Nor the co-reviewer's id, which names them to ops and, as ids are often chosen
	// ("rev-alice"), to anyone: the answer said which other reviewer was assigned.
	for _, other := range []string{"rev-bob@reviewers.example", "Reviewer rev-bob", "rev-bob", "lead@exampleton.ac.uk"} {
		if strings.Contains(body, other) {
			t.Errorf("the reviewer's subject access answer holds %q, another person's", other)
		}
	}
}

// A reviewer's identifier is kept after their erasure, in the clear (it is the
// aggregate's id, the subject of their token, the key of their assignments in every
// service): one that was their address kept the address in the review service's
// events, views and stream after the erasure found them. The pool refuses it, naming
// the field; an identifier made of letters and digits is taken.
func TestAReviewerIdentifierIsNeverAnAddress(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("otherton")
	h.reviewer("rev-0142", "otherton", true, 2)
	bad := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/reviewers", h.ops, map[string]any{
		"reviewer_id": "Ann.Erased@Reviewers.example", "name": "Ann Erased", "email": "ann.erased@reviewers.example",
		"organisation_id": "otherton", "trained": true, "capacity": 2, "conflicts": []string{},
	})).JSON(t)
	if bad["field"] != "reviewer_id" || !strings.Contains(fmt.Sprint(bad["detail"]), "address") {
		t.Errorf("a reviewer whose identifier is an address: %v, want 400 naming reviewer_id and saying why", bad)
	}
}
