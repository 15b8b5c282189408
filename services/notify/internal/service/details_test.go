package service_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// TestNotifyNamesAnOrganisationByItsCorrectedName: once ITSS corrects an
// organisation's name (OrganisationDetailsCorrectedV1), notify's organisations hold
// the new one, so its calendar feed and the emails it sends from then on name the
// organisation by it; a redelivery changes nothing more.
func TestNotifyNamesAnOrganisationByItsCorrectedName(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("c", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	lead := h.http.Token(auth.RoleLead, "c")
	url := strings.TrimPrefix(h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/organisations/c/calendar", lead, nil)).JSON(t)["url"].(string), "https://notify.example.org")
	if feed := string(h.http.Must(http.StatusOK, h.http.Do("GET", url, "", nil)).Body); !strings.Contains(feed, "Uni c") {
		t.Fatalf("the feed does not name the organisation: %s", feed)
	}

	h.publish("c", events.OrganisationDetailsCorrectedV1{OrganisationID: "c", Name: "University of Exampleton",
		Sector: "higher_education", Country: "GB", Website: "https://www.exampleton.ac.uk"})
	h.waitFor("c")
	h.redeliver()
	feed := string(h.http.Must(http.StatusOK, h.http.Do("GET", url, "", nil)).Body)
	if strings.Contains(feed, "Uni c") || !strings.Contains(feed, "University of Exampleton") {
		t.Errorf("the feed does not follow the corrected name: %s", feed)
	}
}
