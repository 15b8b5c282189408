package adapters_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/adapters"
	"github.com/itss/techcommit/services/review/internal/app"
	"github.com/itss/techcommit/services/review/internal/domain/round"
)

// TestASubmissionsTwoHalvesMergeWhateverTheirOrder: a submission's entry is written
// by its own events (the submission's half) and by its round's (the round's half).
// Whichever comes first, and with an older half delivered again after both, every
// replica, this one and one started after, holds both halves and lists the
// submission under its status.
func TestASubmissionsTwoHalvesMergeWhateverTheirOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	writer, err := adapters.NewReadModels(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := adapters.NewReadModels(ctx, db) // another replica, started before
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	draft := app.SubmissionEntry{ID: "s1", Org: "o1", CreatedAt: at, Version: 1}
	received := app.SubmissionEntry{ID: "s1", Org: "o1", Submitted: true, CreatedAt: at, SubmittedAt: at.Add(time.Hour), Version: 2}
	placed := app.SubmissionEntry{ID: "s1", Org: "o1", Submitted: true, RoundID: "r1", RoundVersion: 3}
	released := app.SubmissionEntry{ID: "s1", Org: "o1", Submitted: true, RoundID: "r1", Released: true, RoundVersion: 9,
		Feedback: &round.Feedback{Text: "Well done.", Scores: []events.ThemeScore{{Theme: "visibility", Score: 3}}}}
	for _, c := range []app.SubmissionEntry{placed, received, draft} { // the round's half first; the draft again last
		if err := writer.Save(ctx, app.Changes{Submissions: []app.SubmissionEntry{c}}); err != nil {
			t.Fatal(err)
		}
	}
	later, err := adapters.NewReadModels(ctx, db) // a replica started after
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*adapters.ReadModels{"writer": writer, "reader": reader, "later": later} {
		e, ok, err := m.Submission(ctx, "s1")
		if err != nil || !ok {
			t.Fatalf("%s: s1 held %v (%v)", name, ok, err)
		}
		if e.Status() != "in_review" || e.Version != 2 || e.RoundVersion != 3 || !e.SubmittedAt.Equal(at.Add(time.Hour)) || e.RoundID != "r1" {
			t.Errorf("%s holds %+v, want both halves (submitted, in r1)", name, e)
		}
		page, _, err := m.Submissions(ctx, "o1", "in_review", "", 10)
		if err != nil || len(page) != 1 {
			t.Errorf("%s lists o1's submissions in review as %+v (%v), want s1", name, page, err)
		}
		if drafts, _, _ := m.Submissions(ctx, "", "draft", "", 10); len(drafts) != 0 {
			t.Errorf("%s still lists s1 as a draft: %+v", name, drafts)
		}
	}

	if err := writer.Save(ctx, app.Changes{Submissions: []app.SubmissionEntry{released}}); err != nil {
		t.Fatal(err)
	}
	e, _, err := reader.Submission(ctx, "s1")
	if err != nil || e.Status() != "feedback_released" || e.Version != 2 {
		t.Errorf("after the release the reader holds %+v (%v), want feedback_released with the submission's half kept", e, err)
	}
	f, ok, err := reader.Feedback(ctx, "s1")
	if err != nil || !ok || f.Text != "Well done." || len(f.Scores) != 1 {
		t.Errorf("feedback %+v (%v, %v)", f, ok, err)
	}
}

// TestAReplicaStartedAfterManyChangesListsEachSubmissionWhole: a replica starting
// reads the submissions' stored documents and then only the changes after the last
// mark, so the documents must hold every list field. They held their _id alone: the
// list fields were an embedded struct of an unexported type, which the BSON encoder
// leaves out, inline or not. A replica started after more than a mark's worth of
// changes then listed every submission as a draft of no organisation, and a released
// feedback read as not released.
func TestAReplicaStartedAfterManyChangesListsEachSubmissionWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	writer, err := adapters.NewReadModels(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	const n = 80 // more than a mark's worth of changes (64)
	for i := range n {
		id := fmt.Sprintf("s%02d", i)
		received := app.SubmissionEntry{ID: id, Org: "o1", Submitted: true, CreatedAt: at, SubmittedAt: at.Add(time.Hour), Version: 2}
		released := app.SubmissionEntry{ID: id, Org: "o1", Submitted: true, RoundID: "r1", Released: true, RoundVersion: 9,
			Feedback: &round.Feedback{Text: "Well done.", Scores: []events.ThemeScore{{Theme: "visibility", Score: 3}}}}
		for _, c := range []app.SubmissionEntry{received, released} {
			if err := writer.Save(ctx, app.Changes{Submissions: []app.SubmissionEntry{c}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	later, err := adapters.NewReadModels(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	e, ok, err := later.Submission(ctx, "s00")
	if err != nil || !ok || e.Status() != "feedback_released" || e.Org != "o1" || e.Version != 2 || e.RoundID != "r1" || !e.SubmittedAt.Equal(at.Add(time.Hour)) {
		t.Errorf("a replica started after %d changes holds s00 as %+v (%v, %v), want o1's, submitted, its feedback released in r1", 2*n, e, ok, err)
	}
	page, _, err := later.Submissions(ctx, "o1", "feedback_released", "", 100)
	if err != nil || len(page) != n {
		t.Errorf("it lists %d of o1's %d submissions with feedback released (%v)", len(page), n, err)
	}
	f, ok, err := later.Feedback(ctx, "s00")
	if err != nil || !ok || f.Text != "Well done." {
		t.Errorf("s00's feedback %+v (%v, %v)", f, ok, err)
	}
}
