package service_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
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
		if len(got["events"].([]any)) > 0 { // the events of the log
			out = append(out, "events")
		}
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
	// The answer to a draft sent with an Idempotency-Key (eligible's), kept as bytes
	// for its retry, names the endorsing lead too.
	if !slices.Contains(lead, platform.IdempotencyCollection) {
		t.Errorf("the endorsing lead's records are in %v, want the stored answer of the draft that named them (%s)", lead, platform.IdempotencyCollection)
	}
	got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": "applicant@example.ac.uk"}))
	if !strings.Contains(string(got.Body), id) {
		t.Errorf("the applicant's records do not include their application %s: %s", id, got.Body)
	}
	// Each is given what is theirs: the application names both, and each one's answer
	// shows the other as another person.
	leads := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": "s.patel@example.ac.uk"}))
	for _, c := range []struct{ whose, body, other string }{
		{"the applicant's", string(got.Body), "s.patel@example.ac.uk"}, {"the applicant's", string(got.Body), "Sam Patel"},
		{"the lead's", string(leads.Body), "applicant@example.ac.uk"},
	} {
		if strings.Contains(strings.ToLower(c.body), strings.ToLower(c.other)) {
			t.Errorf("%s subject access answer holds %q, another person's", c.whose, c.other)
		}
	}
	if !strings.Contains(string(got.Body), personal.AnotherPerson) {
		t.Errorf("the applicant's answer does not say another person is named beside them: %.600s", got.Body)
	}
	if none := collections("nobody@example.ac.uk"); len(none) != 0 {
		t.Errorf("an address the fund holds nothing about: %v", none)
	}
	h.Must(http.StatusForbidden, h.Do("POST", "/v1/ops/subject-access", applicant, map[string]any{"email": "applicant@example.ac.uk"}))
}

// ITSS staff are recorded by their OpenID subject as the actor of what they changed,
// never by their address: subject access given that actor ("ops:<subject>") finds
// the commits they made, compared whole, and refuses an actor that is not one.
func TestSubjectAccessFindsTheCommitsOfTheActorsAsked(t *testing.T) {
	t.Parallel()
	h := start(t)
	round := h.openRound(500000, 10000, 100000) // by h.ops, whose subject is ops-user
	ids := func(actors ...string) string {
		t.Helper()
		got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": "ops.user@itss.example", "actors": actors})).JSON(t)
		var out []string
		for _, e := range got["events"].([]any) {
			ev := e.(map[string]any)
			out = append(out, "events/"+ev["aggregate_id"].(string))
		}
		for _, r := range got["records"].([]any) {
			rec := r.(map[string]any)
			out = append(out, rec["collection"].(string)+"/"+rec["id"].(string))
		}
		return strings.Join(out, " ")
	}
	if got := ids("ops:ops-user"); !strings.Contains(got, "events/"+round) {
		t.Errorf("the staff member's records are %q, want the round they opened", got)
	}
	if got := ids("ops:ops-use", "lead:pk-0123456789abcdef01234567"); got != "" {
		t.Errorf("other actors' records are %q, want none", got)
	}
	r := h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": "ops.user@itss.example", "actors": []string{"ops-user"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "actors") {
		t.Errorf("an actor without its role = %d %s, want 400 naming actors", r.Status, r.Body)
	}
}
