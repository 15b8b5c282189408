package service_test

import (
	"maps"
	"net/http"
	"testing"

	"github.com/itss/techcommit/libs/auth"
)

// A web address's scheme and host are read in any case (RFC 3986, 3.1 and 3.2.2): a
// website or plan page pasted as "Https://WWW.Exampleton.ac.uk/..." (a word
// processor capitalises a sentence's first word) was refused as not starting
// https://, which the caller could not see it did not; only the portal lower-cased
// it. Every web address the service takes is kept with its scheme and host in lower
// case, so that what the directory shows and the emails link to is one usable
// address; its path keeps its case.
func TestWebAddressesAreTakenInAnyCaseAndKeptInLowerCase(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	e := maps.Clone(enquiry)
	e["website"] = "HTTPS://WWW.Exampleton.AC.UK/Technicians"
	created := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, e)).JSON(t)
	id := created["id"].(string)
	if got := created["website"]; got != "https://www.exampleton.ac.uk/Technicians" {
		t.Errorf("the website is kept as %v", got)
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/meeting", ops, map[string]any{"held_on": "2025-02-10"}))
	f := maps.Clone(form)
	f["plan_page"] = "Http://Www.Exampleton.ac.uk/TC-Plan"
	if got := h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/form", ops, f)).JSON(t)["plan_page"]; got != "http://www.exampleton.ac.uk/TC-Plan" {
		t.Errorf("the form's plan page is kept as %v", got)
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/organisations/"+id+"/announcement", ops, map[string]any{"announced_on": "2025-03-20"}))
	lead := h.Token(auth.RoleLead, id)
	if got := h.Must(http.StatusOK, h.Do("PUT", "/v1/organisations/"+id+"/contacts", lead, contactsWith("Prof. Jane Smith", "hTTpS://user@Exampleton.AC.UK:8443/Plan?Year=2026"))).JSON(t)["plan_page"]; got != "https://user@exampleton.ac.uk:8443/Plan?Year=2026" {
		t.Errorf("the contacts' plan page is kept as %v", got)
	}
	for _, bad := range []string{"Ftp://www.exampleton.ac.uk", "https//www.exampleton.ac.uk", "https://www.exampleton.ac.uk/\u202egpj.exe"} {
		f := maps.Clone(enquiry)
		f["website"] = bad
		if r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/organisations", ops, f)); r.JSON(t)["field"] != "website" {
			t.Errorf("website %q is refused naming %v", bad, r.JSON(t)["field"])
		}
	}
}
