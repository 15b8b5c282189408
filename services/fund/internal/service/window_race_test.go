package service_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/domain/window"
)

// A submission racing a correction that narrows the project window, through two
// replicas, with a milestone (15 December) the narrowed window (ending 30 November)
// leaves outside: one of them is refused, never neither. Either the submission is
// recorded and the correction refused with 409 naming project_end, or the correction
// is recorded and the submission refused with 400 naming milestones.0.due; the
// round and the application read afterwards agree with the answers, and an
// application submitted keeps its milestone inside the round's window. Before the
// correction checked the milestones of the applications only as they were when it
// read them, both were recorded now and then.
func TestASubmissionRacingANarrowedWindowIsRefusedOrRefusesIt(t *testing.T) {
	t.Parallel()
	h := start(t)
	replicas := []*testenv.Client{h.Client, h.replica()}
	h.announce("org-wrace", "signatory")
	applicant := h.Token(auth.RoleApplicant, "org-wrace")
	outcomes := map[string]int{}
	for i := range 24 {
		round := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, windowTerms("2027-05-01", "2027-12-31"))).JSON(t)["id"].(string)
		if i == 0 {
			h.eligible(applicant, round, 10000)
		}
		d := draft(round, 85000)
		d["milestones"] = []map[string]any{{"description": "Workshop", "due": "2027-12-15"}}
		id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, d)).JSON(t)["id"].(string)
		etag := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).Header.Get("ETag")

		var submit, correct testenv.Response
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(time.Duration(i%4) * 3 * time.Millisecond)
			submit = replicas[i%2].Do("POST", "/v1/applications/"+id+"/submission", applicant, nil)
		})
		wg.Go(func() {
			correct = replicas[(i+1)%2].Do("PUT", "/v1/rounds/"+round, h.ops, windowTerms("2027-05-01", "2027-11-30"), "If-Match", etag)
		})
		wg.Wait()
		outcomes[fmt.Sprintf("submission %d, correction %d", submit.Status, correct.Status)]++

		switch {
		case submit.Status == http.StatusOK && correct.Status == http.StatusOK:
			t.Errorf("race %d: the submission and the narrowing correction were both recorded", i)
		case submit.Status == http.StatusOK:
			if correct.Status != http.StatusConflict || !strings.Contains(string(correct.Body), "project_end") {
				t.Errorf("race %d: the correction after the submission: %d %s, want 409 naming project_end", i, correct.Status, correct.Body)
			}
		case correct.Status == http.StatusOK:
			if submit.Status != http.StatusBadRequest || !strings.Contains(string(submit.Body), "milestones.0.due") {
				t.Errorf("race %d: the submission after the correction: %d %s, want 400 naming milestones.0.due", i, submit.Status, submit.Body)
			}
		default:
			t.Errorf("race %d: neither was recorded: submission %d %s, correction %d %s", i, submit.Status, submit.Body, correct.Status, correct.Body)
		}

		// What is read afterwards agrees with the answers.
		r := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t)
		app := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, applicant, nil)).JSON(t)
		if (r["project_end"] == "2027-11-30") != (correct.Status == http.StatusOK) {
			t.Errorf("race %d: the round ends its window %v though the correction answered %d", i, r["project_end"], correct.Status)
		}
		if (app["status"] == "submitted") != (submit.Status == http.StatusOK) {
			t.Errorf("race %d: the application stands %v though its submission answered %d", i, app["status"], submit.Status)
		}
		if app["status"] == "submitted" && r["project_end"] != "2027-12-31" {
			t.Errorf("race %d: a submitted application's milestone of 15 December lies outside the round's window, ending %v", i, r["project_end"])
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// A correction refused for a submitted application's milestone holds no submission
// to the window it asked for: a draft whose milestone only that window leaves out is
// submitted at once. A correction whose request stopped after it began on the
// round's window records (its process killed) holds submissions to its window until
// window.Grace has passed, and no longer.
func TestACorrectionRefusedOrStoppedHoldsNoSubmissionToItsWindow(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-wheld", "signatory")
	applicant := h.Token(auth.RoleApplicant, "org-wheld")
	round := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, windowTerms("2027-05-01", "2027-12-31"))).JSON(t)["id"].(string)
	h.eligible(applicant, round, 10000)
	drafted := func(due string) string {
		d := draft(round, 85000)
		d["milestones"] = []map[string]any{{"description": "Workshop", "due": due}}
		return h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, d)).JSON(t)["id"].(string)
	}
	submitted := drafted("2027-12-15")
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+submitted+"/submission", applicant, nil))
	later := drafted("2027-12-20")
	h.Must(http.StatusConflict, h.correctWindow(round, "2027-05-01", "2027-11-30"))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+later+"/submission", applicant, nil))

	// A correction to a window ending 30 November begun on the round's records by a
	// request that then stopped.
	cur, err := h.svc.App.Round(context.Background(), round)
	if err != nil {
		t.Fatal(err)
	}
	held := drafted("2027-12-20")
	end, _ := civil.Parse("2027-11-30")
	begin, _ := civil.Parse("2027-05-01")
	for _, rec := range window.IDs(round) {
		if _, err := h.svc.Events.Execute(context.Background(), store.Command{AggregateType: window.AggregateType, AggregateID: rec, Actor: "ops:k.okafor",
			Decide: func([]events.Envelope) ([]events.Payload, error) {
				return []events.Payload{window.Begin(round, "stopped", cur.Version, begin, end)}, nil
			}}); err != nil {
			t.Fatal(err)
		}
	}
	r := h.Do("POST", "/v1/applications/"+held+"/submission", applicant, nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "milestones.0.due") || !strings.Contains(string(r.Body), "30 November 2027") {
		t.Errorf("a submission while the correction may be under way: %d %s, want 400 naming milestones.0.due and the window's new end", r.Status, r.Body)
	}
	h.clock.Set(h.clock.Now().Add(window.Grace))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+held+"/submission", applicant, nil))
}

// A submission checked on the round's window record and not yet recorded (its
// request between the check and its event) refuses a correction that would leave
// its milestone outside, with 409 naming it as being submitted: its submission may
// be recorded the instant after the correction read it. Once window.Grace has
// passed with the draft unchanged, the submission has stopped: the correction is
// recorded, and the draft is told on its next submission.
func TestASubmissionUnderWayRefusesANarrowingCorrection(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-wway", "signatory")
	applicant := h.Token(auth.RoleApplicant, "org-wway")
	round := h.Must(http.StatusCreated, h.Do("POST", "/v1/rounds", h.ops, windowTerms("2027-05-01", "2027-12-31"))).JSON(t)["id"].(string)
	h.eligible(applicant, round, 10000)
	d := draft(round, 85000)
	d["milestones"] = []map[string]any{{"description": "Workshop", "due": "2027-12-15"}}
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, d)).JSON(t)["id"].(string)
	ctx := context.Background()
	cur, err := h.svc.App.Round(ctx, round)
	if err != nil {
		t.Fatal(err)
	}
	due, _ := civil.Parse("2027-12-15")
	if _, err := h.svc.Events.Execute(ctx, store.Command{AggregateType: window.AggregateType, AggregateID: window.Of(round, id), Actor: "applicant:org-wway",
		Decide: func([]events.Envelope) ([]events.Payload, error) {
			return []events.Payload{window.Checked(round, id, 1, cur.Version, due, due)}, nil
		}}); err != nil {
		t.Fatal(err)
	}
	refused := h.Must(http.StatusConflict, h.correctWindow(round, "2027-05-01", "2027-11-30")).JSON(t)
	if msg, _ := refused["detail"].(string); refused["field"] != "project_end" || !strings.Contains(msg, id) || !strings.Contains(msg, "being submitted") {
		t.Errorf("the correction while a submission is under way: %v, want 409 naming project_end and the application being submitted", refused)
	}
	h.clock.Set(h.clock.Now().Add(window.Grace))
	h.Must(http.StatusOK, h.correctWindow(round, "2027-05-01", "2027-11-30"))
	if r := h.Do("POST", "/v1/applications/"+id+"/submission", applicant, nil); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "milestones.0.due") {
		t.Errorf("the draft's submission after the correction: %d %s, want 400 naming milestones.0.due", r.Status, r.Body)
	}
}
