package service_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
	// collections lists where the answer found the address: "events" for the events
	// of the log, and the collection of each other record.
	collections := func(email string) []string {
		t.Helper()
		got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": email})).JSON(t)
		var out []string
		if len(got["events"].([]any)) > 0 {
			out = append(out, "events")
		}
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

// storeWords lists the keys, at any depth of v, that are the store's and not the
// person's: a document's key, extended JSON's wrappers ("$date"), and the commit's
// own fields (its id, source and the trace of the request that wrote it).
func storeWords(v any, at string, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.HasPrefix(k, "$") || slices.Contains([]string{"_id", "commit_id", "traceparent", "source"}, k) {
				*out = append(*out, at+"."+k)
			}
			storeWords(e, at+"."+k, out)
		}
	case []any:
		for i, e := range x {
			storeWords(e, fmt.Sprintf("%s[%d]", at, i), out)
		}
	}
}

// A subject access answer is read by the person it is about. It gave the review
// service's documents as stored: the commits of its log with their keys, commit ids
// and traces, each time as {"$date": …}, the read models with their "_id". It now
// gives the events that name the person, each as what happened, to what, when and by
// whom, with its payload, and the other documents as plain JSON, as signatory's
// answer gives its events: the same data, and nobody else's.
func TestSubjectAccessAnswersWithEventsAndPlainDocuments(t *testing.T) {
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
	answer := func(email string) map[string]any {
		t.Helper()
		got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": email})).JSON(t)
		var bad []string
		storeWords(got, "answer", &bad)
		if len(bad) > 0 {
			t.Errorf("%s's answer holds the store's own fields %v", email, bad)
		}
		return got
	}

	ann := answer("rev-ann@reviewers.example")
	type event struct{ Type, AggregateType, AggregateID, Actor, Email, ReviewerID string }
	var got []event
	evs, _ := ann["events"].([]any)
	for _, e := range evs {
		ev := e.(map[string]any)
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(ev["time"])); err != nil {
			t.Errorf("event %v: time %v", ev["id"], ev["time"])
		}
		if v, ok := ev["version"].(float64); !ok || v < 1 {
			t.Errorf("event %v: version %v", ev["id"], ev["version"])
		}
		data, _ := ev["data"].(map[string]any)
		email, _ := data["email"].(string)
		if email == "" {
			email, _ = data["reviewer_email"].(string)
		}
		id, _ := data["reviewer_id"].(string)
		got = append(got, event{fmt.Sprint(ev["type"]), fmt.Sprint(ev["aggregate_type"]), fmt.Sprint(ev["aggregate_id"]), fmt.Sprint(ev["actor"]), email, id})
	}
	want := []event{
		{"tc.review.reviewer.registered.v1", "reviewer", "reviewer-rev-ann", "ops:ops-user", "rev-ann@reviewers.example", "rev-ann"},
		{"tc.review.round.reviewer_assigned.v1", "review_round", round, "ops:ops-user", "rev-ann@reviewers.example", "rev-ann"},
		// Assigned in the same commit: the co-reviewer is another person.
		{"tc.review.round.reviewer_assigned.v1", "review_round", round, "ops:ops-user", "[another person]", "[another person]"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the reviewer's events (-want +got):\n%s", diff)
	}
	if recs, _ := ann["records"].([]any); len(recs) != 0 {
		t.Errorf("the reviewer's other records: %v, want none (their registration and assignment are events)", recs)
	}

	var lead map[string]any
	testenv.Eventually(t, 10*time.Second, func() error {
		if lead = answer("lead@exampleton.ac.uk"); fmt.Sprint(lead["records"]) == "[]" {
			return fmt.Errorf("the lead's answer holds no records yet: %v", lead)
		}
		return nil
	})
	recs := lead["records"].([]any)
	org := recs[0].(map[string]any)
	doc, _ := org["document"].(map[string]any)
	if len(recs) != 1 || org["collection"] != "organisations" || org["id"] != "exampleton" || doc["lead_email"] != "lead@exampleton.ac.uk" || doc["name"] != "University of exampleton" {
		t.Errorf("the lead's records: %v, want the organisation whose lead they are", recs)
	}
	if evs, _ := lead["events"].([]any); len(evs) != 0 {
		t.Errorf("the lead's events: %v, want none", evs)
	}
}
