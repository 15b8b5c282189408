package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// TestTheFundNamesAnOrganisationByItsCorrectedName: once ITSS corrects an
// organisation's name (OrganisationDetailsCorrectedV1), the fund knows it by the new
// one: an application naming it as its own partner under that name is refused as
// the lead organisation itself, as under the name it was announced with.
func TestTheFundNamesAnOrganisationByItsCorrectedName(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-renamed", "signatory")
	r := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-renamed")
	h.eligible(applicant, r, 1000)

	h.publishSignatory(events.OrganisationDetailsCorrectedV1{OrganisationID: "org-renamed", Name: "Exampleton College",
		Sector: "higher_education", Country: "GB", Website: "https://www.exampleton.ac.uk"}, "org-renamed")
	testenv.Eventually(t, 10*time.Second, func() error {
		resp := h.Do("POST", "/v1/applications", applicant, draft(r, 5000)) // its partner is "Exampleton College"
		if resp.Status == http.StatusCreated {
			h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+resp.JSON(t)["id"].(string)+"/withdrawal", applicant, nil))
			return fmt.Errorf("the draft naming the organisation under its corrected name as its partner was taken")
		}
		if resp.Status != http.StatusBadRequest || resp.JSON(t)["field"] != "partners.0.name" || !strings.Contains(string(resp.Body), "lead organisation itself") {
			t.Fatalf("the draft answered %d %s, want 400 naming partners.0.name", resp.Status, resp.Body)
		}
		return nil
	})
}
