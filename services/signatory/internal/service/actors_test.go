package service_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/auth"
)

// The audit trail records who changed an organisation by an actor that holds no
// address: a lead acting through the portal by the portal's pseudonym, ITSS staff by
// their OpenID subject. Subject access given those actors (which the portal knows)
// lists the organisations each changed with the events of those changes, and
// nothing another actor did; the people those events name are another person's.
func TestSubjectAccessFindsTheChangesMadeByTheActorsAsked(t *testing.T) {
	t.Parallel()
	h := start(t)
	staff := h.TokenFor(auth.Principal{Subject: "ann-ops", Role: auth.RoleOps, Name: "Ann Ops"})
	other := h.TokenFor(auth.Principal{Subject: "ann-ops-2", Role: auth.RoleOps, Name: "Another Ops"})
	id := h.onboard(staff, "announcement")
	h.onboard(other, "meeting")
	lead := h.TokenFor(auth.Principal{Subject: "pk-0123456789abcdef01234567", Role: auth.RoleLead, Org: id})
	contacts := map[string]any{}
	for k, v := range form {
		contacts[k] = v
	}
	delete(contacts, "signed_on")
	contacts["point_of_contact"] = map[string]any{"name": "Dee Contact", "email": "dee@exampleton.ac.uk"}
	h.Must(http.StatusOK, h.Do("PUT", "/v1/organisations/"+id+"/contacts", lead, contacts))

	acted := func(email string, actors ...string) []any {
		t.Helper()
		body := map[string]any{"email": email}
		if actors != nil {
			body["actors"] = actors
		}
		got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", other, body)).JSON(t)
		list, ok := got["acted"].([]any)
		if !ok {
			t.Fatalf("the answer has no acted: %v", got)
		}
		return list
	}
	eventsOf := func(list []any) (ids []string, types []string, text string) {
		for _, o := range list {
			org := o.(map[string]any)
			ids = append(ids, org["id"].(string))
			for _, e := range org["events"].([]any) {
				types = append(types, e.(map[string]any)["type"].(string))
			}
		}
		b, _ := json.Marshal(list)
		return ids, types, string(b)
	}

	// The staff member: the organisation they took through onboarding, not the one
	// another made; the people its events name (the lead, the head) are not theirs.
	ids, types, text := eventsOf(acted("ann.ops@itss.example", "ops:ann-ops"))
	if len(ids) != 1 || ids[0] != id || len(types) != 5 || strings.Contains(text, "ann-ops-2") {
		t.Errorf("the staff member acted in %v with %v, want %s with its enquiry, meeting, form, announcement and first obligation:\n%s", ids, types, id, text)
	}
	for _, person := range []string{"s.patel@", "Sam Patel", "vc@exampleton", "Jane Smith"} {
		if strings.Contains(text, person) {
			t.Errorf("the staff member's answer names %q, another person", person)
		}
	}
	// The lead, by both pseudonyms the portal may have recorded them by: their
	// contacts change, and them in it (the point of contact they named is another).
	ids, types, text = eventsOf(acted("s.patel@exampleton.ac.uk", "lead:p-000000000000000000000000", "lead:pk-0123456789abcdef01234567"))
	if len(ids) != 1 || len(types) != 1 || !strings.Contains(types[0], "contacts_changed") || !strings.Contains(text, "Sam Patel") ||
		strings.Contains(text, "Dee Contact") {
		t.Errorf("the lead acted in %v with %v, want the contacts change naming them and no one else:\n%s", ids, types, text)
	}
	// No actors, none acted; an actor that is not one is refused, naming it.
	if list := acted("s.patel@exampleton.ac.uk"); len(list) != 0 {
		t.Errorf("without actors the answer lists %v", list)
	}
	for _, bad := range []string{"ann-ops", "reviewer:rev-1", "ops:"} {
		r := h.Do("POST", "/v1/ops/subject-access", other, map[string]any{"email": "a@example.ac.uk", "actors": []string{bad}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "actors") {
			t.Errorf("actor %q: %d %s, want 400 naming actors", bad, r.Status, r.Body)
		}
	}
}
