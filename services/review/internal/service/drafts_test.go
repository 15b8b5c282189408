package service_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// missingFields are the fields a submission's answer lists under missing, in order.
func missingFields(t testing.TB, got map[string]any) []string {
	t.Helper()
	list, ok := got["missing"].([]any)
	if !ok {
		t.Fatalf("the answer has no missing list: %v", got)
	}
	out := []string{}
	for _, m := range list {
		out = append(out, m.(map[string]any)["field"].(string))
	}
	return out
}

// TestAnIncompleteDraftIsKeptAndSaysWhatIsMissing: a lead saves whatever they have
// written so far (a theme with only its narrative, nothing yet on how technicians
// were consulted); every answer says what is still missing; submitting it then is
// refused naming each missing field, storing nothing; once complete it is received.
func TestAnIncompleteDraftIsKeptAndSaysWhatIsMissing(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	lead := h.Token(auth.RoleLead, "a")

	first := map[string]any{
		"self_assessment":  []map[string]any{{"theme": "recognition", "narrative": "An annual award started in 2025."}},
		"action_plan":      []map[string]any{},
		"technician_voice": map[string]any{"participants": 0},
		"webpage":          "",
	}
	id := h.drafted("a", first)
	wantFirst := []string{
		"self_assessment.visibility.narrative", "self_assessment.visibility.rating",
		"self_assessment.recognition.rating",
		"self_assessment.career_development.narrative", "self_assessment.career_development.rating",
		"self_assessment.sustainability.narrative", "self_assessment.sustainability.rating",
		"action_plan", "technician_voice.how_consulted", "technician_voice.participants", "webpage",
	}
	got := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+id, lead, nil)).JSON(t)
	if diff := cmp.Diff(wantFirst, missingFields(t, got)); diff != "" {
		t.Errorf("missing after the first save (-want +got):\n%s", diff)
	}
	sa := got["content"].(map[string]any)["self_assessment"].([]any)
	if len(sa) != 1 || sa[0].(map[string]any)["narrative"] != "An annual award started in 2025." || sa[0].(map[string]any)["rating"] != nil {
		t.Errorf("the narrative without a rating is kept as %v", sa)
	}

	// An update may be as incomplete, and its answer says what is missing too.
	second := complete("Start an award")
	second["technician_voice"] = map[string]any{"participants": 0}
	second["self_assessment"].([]map[string]any)[3] = map[string]any{"theme": "sustainability", "narrative": "Succession plans for specialist roles."}
	got = h.Must(http.StatusOK, h.Do("PUT", "/v1/submissions/"+id, lead, second)).JSON(t)
	wantSecond := []string{"self_assessment.sustainability.rating", "technician_voice.how_consulted", "technician_voice.participants"}
	if diff := cmp.Diff(wantSecond, missingFields(t, got)); diff != "" {
		t.Errorf("missing after the update (-want +got):\n%s", diff)
	}

	// What is sent still keeps its bounds.
	blank := complete("Start an award")
	blank["technician_voice"] = map[string]any{"how_consulted": "   ", "participants": 3}
	if f := h.Must(http.StatusBadRequest, h.Do("PUT", "/v1/submissions/"+id, lead, blank)).JSON(t)["field"]; f != "technician_voice.how_consulted" {
		t.Errorf("a blank account of the consultation is refused naming %v", f)
	}

	// Submitting it is refused, naming every missing field, and nothing changes.
	r := h.Must(http.StatusConflict, h.Do("POST", "/v1/submissions/"+id+"/submission", lead, nil)).JSON(t)
	var named []string
	for _, e := range r["errors"].([]any) {
		named = append(named, e.(map[string]any)["field"].(string))
	}
	if diff := cmp.Diff(wantSecond, named); diff != "" {
		t.Errorf("the refusal names (-want +got):\n%s", diff)
	}
	got = h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+id, lead, nil)).JSON(t)
	if got["status"] != "draft" || got["version"] != float64(2) {
		t.Errorf("after a refused submission: status %v version %v, want draft at 2", got["status"], got["version"])
	}

	// Completed, it has nothing missing and is received.
	got = h.Must(http.StatusOK, h.Do("PUT", "/v1/submissions/"+id, lead, complete("Start an award"))).JSON(t)
	if m := missingFields(t, got); len(m) != 0 {
		t.Errorf("a complete draft misses %v", m)
	}
	got = h.Must(http.StatusOK, h.Do("POST", "/v1/submissions/"+id+"/submission", lead, nil)).JSON(t)
	if got["status"] != "submitted" || len(missingFields(t, got)) != 0 {
		t.Errorf("after submitting: status %v, missing %v", got["status"], got["missing"])
	}
	// The list carries missing too (the view may lag the submission a moment).
	testenv.Eventually(t, 10*time.Second, func() error {
		items := h.Must(http.StatusOK, h.Do("GET", "/v1/submissions", lead, nil)).JSON(t)["items"].([]any)
		if !slices.ContainsFunc(items, func(it any) bool { m, ok := it.(map[string]any)["missing"].([]any); return ok && len(m) == 0 }) {
			return fmt.Errorf("no listed submission carries an empty missing: %v", items)
		}
		return nil
	})
}
