package service

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	libconfig "github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// actedIn lists, from the signatory service's part of a download, each
// organisation the person changed by name, with the actors and types of its events.
func actedIn(t *testing.T, doc map[string]any) map[string][]string {
	t.Helper()
	sig, _ := doc["services"].(map[string]any)["signatory"].(map[string]any)
	list, ok := sig["acted"].([]any)
	if !ok {
		t.Fatalf("the signatory's answer lists no changes the person made: %v", sig)
	}
	out := map[string][]string{}
	for _, o := range list {
		org := o.(map[string]any)
		for _, e := range org["events"].([]any) {
			ev := e.(map[string]any)
			out[org["name"].(string)] = append(out[org["name"].(string)], ev["actor"].(string)+" "+ev["type"].(string))
		}
	}
	return out
}

// The audit trails record who changed what by an actor that holds no address: a lead
// by the portal's pseudonym (the keyed one, or the unkeyed one of changes made before
// it), ITSS staff by their OpenID subject. The console's subject access download
// holds the changes each made: a lead's, found by the address alone; a staff
// member's, given the OpenID subject ITSS's identity provider knows them by, with
// the name the portal keeps for them. Nothing another person did is in either.
func TestOpsPeopleDownloadHoldsTheChangesAPersonMade(t *testing.T) {
	t.Parallel()
	s := startStack(t, true)
	const lead = "lead-a@example.ac.uk"
	org := onboard(t, s.p, s.sig, "University of Actors", lead)

	// The lead changes the point of contact through the portal...
	cookie := s.p.signIn(lead)
	path := "/obligations/" + org + "/contacts"
	form := formIn(t, s.p.do("GET", path, cookie, nil).body, path)
	form.Set("point_of_contact.name", "Poppy Contact")
	form.Set("point_of_contact.email", "poppy@example.ac.uk")
	if r := s.p.do("POST", path, cookie, form); r.status != http.StatusSeeOther {
		t.Fatalf("the lead's change of contacts = %d: %s", r.status, r.body)
	}
	// ...and had changed the plan's page before the upgrade, with a token of the
	// release that named them by the unkeyed pseudonym.
	old, err := s.p.svc.Minter.Mint(auth.Principal{Subject: signin.UnkeyedPseudonym(lead), Role: auth.RoleLead, Org: org}, libconfig.DevAudience("signatory"))
	if err != nil {
		t.Fatal(err)
	}
	s.sig.Must(http.StatusOK, s.sig.Do("PUT", "/v1/organisations/"+org+"/contacts", old, map[string]any{
		"leader":           map[string]any{"name": "Prof. Jane Smith", "title": "Vice-Chancellor", "email": "vc@example.ac.uk"},
		"nominated_lead":   map[string]any{"name": "Sam Patel", "email": lead},
		"point_of_contact": map[string]any{"name": "Poppy Contact", "email": "poppy@example.ac.uk"},
		"plan_page":        "https://www.example.ac.uk/technician-commitment/2025",
	}))

	// An ITSS staff member records an enquiry through the console.
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	opsMustStatus(t, s.p.do("POST", "/ops/organisations", ops, opsEnquiry("Staffton College", "enquiries@staffton.ac.uk")), http.StatusSeeOther, "the enquiry")

	// The lead's download: both changes, by either pseudonym; onboarding, which
	// ITSS did, is not theirs; the point of contact they named is another person.
	doc := opsPeopleDownload(t, s, ops, lead)
	acted := actedIn(t, doc)
	changes := acted["University of Actors"]
	if len(acted) != 1 || len(changes) != 2 || !strings.HasPrefix(changes[0], "lead:pk-") || !strings.HasPrefix(changes[1], "lead:p-") ||
		!strings.Contains(changes[0], "contacts_changed") || !strings.Contains(changes[1], "contacts_changed") {
		t.Errorf("the lead's download lists the changes %v, want their two changes of contacts, after the upgrade and before it", acted)
	}
	if b, _ := json.Marshal(doc); strings.Contains(string(b), "Poppy Contact") || strings.Contains(string(b), "poppy@") {
		t.Errorf("the lead's download names the point of contact they named, another person")
	}

	// The staff member's download, given their OpenID subject: the enquiry they
	// recorded, and the name the portal shows their changes by.
	staff := func(subject string) response {
		return s.p.do("POST", "/ops/people/access", ops, url.Values{"email": {oidcdev.LocalOpsEmail}, "subject": {subject}})
	}
	r := opsMustStatus(t, staff("local-ops"), http.StatusOK, "the staff member's download")
	doc = map[string]any{}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("the download is not JSON: %v", err)
	}
	acted = actedIn(t, doc)
	if got := acted["Staffton College"]; len(acted) != 1 || len(got) != 1 || got[0] != "ops:local-ops tc.signatory.organisation.enquiry_received.v1" {
		t.Errorf("the staff member's download lists the changes %v, want the enquiry they recorded", acted)
	}
	if doc["openid_subject"] != "local-ops" {
		t.Errorf("the download says it is about the subject %v", doc["openid_subject"])
	}
	portal, _ := json.Marshal(doc["services"].(map[string]any)["portal"])
	if !strings.Contains(string(portal), `"collection":"ops_staff"`) || !strings.Contains(string(portal), oidcdev.LocalOpsName) {
		t.Errorf("the portal's part of the staff member's download holds no name it keeps for them: %s", portal)
	}
	// By address alone, the staff member's changes are not found: the services never
	// recorded their address.
	if acted := actedIn(t, opsPeopleDownload(t, s, ops, oidcdev.LocalOpsEmail)); len(acted) != 0 {
		t.Errorf("the staff member's download without their subject lists %v", acted)
	}
	// A subject that cannot be one is refused beside its field, and nothing is downloaded.
	r = opsMustStatus(t, staff("local ops"), http.StatusBadRequest, "a subject with a space")
	if msg := opsFieldMessage(t, r.body, "subject"); !strings.Contains(msg, "OpenID subject") {
		t.Errorf("the subject's field says %q", msg)
	}
}
