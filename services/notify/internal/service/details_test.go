package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
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

// TestReviewEmailsNameAnOrganisationByItsCorrectedName: a submission added to a
// review round before ITSS corrected its organisation's name keeps, in the round's
// events, the name it was added with; the emails notify sends from them afterwards
// (the reviewer's assignment, reminder and chase, the lead's feedback) name the
// organisation as ITSS corrected it, from notify's organisations.
func TestReviewEmailsNameAnOrganisationByItsCorrectedName(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("w", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	h.publish("w", events.OrganisationDetailsCorrectedV1{OrganisationID: "w", Name: "Wexford University",
		Sector: "higher_education", Country: "GB", Website: "https://www.wexford.ac.uk"})
	h.waitFor("w")
	if _, err := bus.EnsureStream(context.Background(), h.env.JS, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)
	assigned := events.ReviewerAssignedV1{RoundID: "rw", SubmissionID: "sw", OrganisationID: "w", OrganisationName: "Uni w", RoundName: "Spring 2027",
		ReviewerID: "rita", ReviewerName: "Rita Reviewer", ReviewerEmail: "rita@othertown.ac.uk", ReviewDeadline: deadline}
	overdue := events.ReviewOverdueV1{RoundID: "rw", SubmissionID: "sw", OrganisationID: "w", OrganisationName: "Uni w", RoundName: "Spring 2027",
		ReviewerID: "rita", ReviewerName: "Rita Reviewer", ReviewerEmail: "rita@othertown.ac.uk", ReviewDeadline: deadline}
	feedback := events.FeedbackReleasedV1{RoundID: "rw", SubmissionID: "sw", OrganisationID: "w", OrganisationName: "Uni w", RoundName: "Spring 2027", Feedback: "Good."}
	publish := func(i int, p events.Payload) {
		data, _ := json.Marshal(p)
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("rw-evt-%d", i), Type: p.EventType(), AggregateType: "review_round", AggregateID: "rw", Version: i, Time: time.Now(), Data: data})
		h.waitForConsumer(events.StreamReview, "notify-review")
	}
	publish(1, assigned)
	h.runUntil(civil.New(2027, 5, 30)) // the reminder before the deadline
	publish(2, overdue)
	publish(3, feedback)

	var got []string
	for _, m := range h.box.all() {
		if strings.Contains(m.Subject, "review") {
			if strings.Contains(m.Subject+m.Text, "Uni w") || !strings.Contains(m.Subject, "Wexford University") {
				got = append(got, strings.Join(m.To, ",")+": "+m.Subject)
			}
		}
	}
	if len(got) > 0 || h.box.sentTo("rita@othertown.ac.uk") < 3 {
		t.Errorf("emails naming the organisation as it was before its name was corrected, of %d to the reviewer: %q", h.box.sentTo("rita@othertown.ac.uk"), got)
	}
}
