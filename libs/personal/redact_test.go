package personal

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// One person's answer shows everyone else a record names as another person: in a
// nested person, in a flat pair of fields, in an event's payload kept as JSON text, in
// a stored answer kept as bytes, and among several addresses in one text; the
// person's own name and address, and text that names no one, stay as they are.
func TestRedactOthersLeavesOnlyThePerson(t *testing.T) {
	t.Parallel()
	payload := `{"reviewer_name":"Bob Other","reviewer_email":"bob@other.ac.uk","lead":{"name":"Ann Own","email":"Ann@Own.ac.uk"}}`
	stored := `{"endorsement":{"name":"Bob Other","email":"bob@other.ac.uk"}}`
	doc := map[string]any{
		"_id":      "x",
		"leader":   map[string]any{"name": "Prof. Bob", "title": "Vice-Chancellor", "email": "bob@other.ac.uk"},
		"lead":     map[string]any{"name": "Ann Own", "email": "ann@own.ac.uk"},
		"data":     payload,
		"answer":   map[string]any{"$binary": map[string]any{"base64": base64.StdEncoding.EncodeToString([]byte(stored)), "subType": "00"}},
		"to":       []any{"ann@own.ac.uk, bob@other.ac.uk"},
		"summary":  "Joint workshops.",
		"reviewer": map[string]any{"reviewer_name": "Bob Other", "reviewer_email": "bob@other.ac.uk"},
	}
	got := RedactOthers(doc, "ANN@own.ac.uk").(map[string]any)
	text, _ := json.Marshal(got)
	for _, other := range []string{"bob@other.ac.uk", "Bob Other", "Prof. Bob", "Vice-Chancellor"} {
		if strings.Contains(string(text), other) {
			t.Errorf("the answer still holds %q: %s", other, text)
		}
	}
	for _, own := range []string{"Ann Own", "ann@own.ac.uk", "Ann@Own.ac.uk", "Joint workshops.", AnotherPerson} {
		if !strings.Contains(string(text), own) {
			t.Errorf("the answer lost %q: %s", own, text)
		}
	}
	if got["answer"] == nil || !strings.Contains(got["answer"].(string), `"endorsement"`) {
		t.Errorf("the stored answer is not shown as its text: %v", got["answer"])
	}
	if strings.Contains(doc["data"].(string), AnotherPerson) {
		t.Error("RedactOthers changed the document it was given")
	}
}
