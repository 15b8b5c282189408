package adapters

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// markOf is mark kind of reviewer rv's assignment in round, at the round's version v.
func markOf(round, rv, kind string, v int) app.Mark {
	return app.Mark{Assignment: app.Assignment{RoundID: round, SubmissionID: "sub-" + rv, ReviewerID: rv, OrganisationID: "org-" + rv,
		RoundName: "Winter 2026", OrganisationName: "University of " + rv, Reviewer: mail.Person{Name: "Reviewer " + rv, Email: rv + "@pool.example.ac.uk"},
		Deadline: time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC)}, Kind: kind, Version: v, At: time.Date(2026, 11, 20, 9, 0, v, 0, time.UTC)}
}

// marked is the assignments of a database of the test's own, holding ms.
func marked(t *testing.T, ms ...app.Mark) (*Assignments, *mongo.Database) {
	t.Helper()
	_, db := testenv.Mongo(t)
	assignments := must(NewAssignments(context.Background(), db))
	for _, m := range ms {
		if _, err := assignments.Mark(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	return assignments, db
}

// What a review event costs notify does not grow with the marks of every other
// assignment: an assignment's marks are read by _id (its run, up to the first place
// missing), and a review in reads no collection whole (issue 22's third item, on the embedded store where only _id
// lookups are indexed). Before, each review in and each assignment read the whole
// collection of marks, one document a mark, and the stack's CPU per accept and review
// doubled as a round bench's marks built up.
func TestAReviewEventReadsItsAssignmentsMarksAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, others := range []int{5, 50} {
		db, counted := testenv.MonitoredDB(t, testenv.EveryCollection)
		clk := clock.NewFake(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
		assignments := must(NewAssignments(ctx, db))
		for i := range others {
			rv := fmt.Sprintf("other-%02d", i)
			for v, kind := range []string{app.MarkAssigned, app.MarkAccepted, app.MarkSubmitted} {
				if _, err := assignments.Mark(ctx, markOf("r1", rv, kind, 3*i+v+1)); err != nil {
					t.Fatal(err)
				}
			}
		}
		a, err := app.New(app.Deps{Organisations: must(NewOrganisations(ctx, db)), Reminders: must(NewReminders(ctx, db, clk)), Assignments: assignments,
			Deliveries: must(NewDeliveries(ctx, db)), Calendars: NewCalendarTokens(db), Sender: &counting{}, Clock: clk},
			app.Config{Ladder: ladder.DefaultPolicy, PortalURL: "https://portal.example.org", Contact: "itss@example.org", ReviewDaysBefore: 3})
		if err != nil {
			t.Fatal(err)
		}
		for v, kind := range []string{app.MarkAssigned, app.MarkAccepted} {
			if _, err := assignments.Mark(ctx, markOf("r1", "eve", kind, 1000+v)); err != nil {
				t.Fatal(err)
			}
		}

		before := counted.Now()
		ms, err := assignments.Marks(ctx, markOf("r1", "eve", "", 0).Assignment)
		if err != nil {
			t.Fatal(err)
		}
		read := counted.Now().Sub(before)
		if len(ms) != 2 || ms[0].Kind != app.MarkAssigned || ms[1].Kind != app.MarkAccepted {
			t.Fatalf("with %d other assignments, eve's marks are %+v, want assigned then accepted", others, ms)
		}
		if read.Scans != 0 || read.Finds != 3 || read.Docs != 2 {
			t.Errorf("with %d other assignments, reading eve's marks took %+v, want three finds, two documents and no scan", others, read)
		}

		before = counted.Now()
		if err := a.Record(ctx, markOf("r1", "eve", app.MarkSubmitted, 1002)); err != nil {
			t.Fatal(err)
		}
		if read := counted.Now().Sub(before); read.Scans != 0 {
			t.Errorf("with %d other assignments, a review in read %d collections whole (%+v), want none", others, read.Scans, read)
		}
	}
}

// Marks kept by a version before this one under their own ids are moved into their
// assignments' runs when notify starts, and those such a version writes during
// a rolling upgrade at the next sweep; an assignment's marks read the same before
// and after, each once.
func TestMarksKeptApartAreMovedToTheirAssignments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	old := db.Collection(oldMarksCollection)
	oldDoc := func(m app.Mark) markDoc {
		return markDoc{ID: fmt.Sprintf("%s|%09d|%s", m.Key(), m.Version, m.Kind), Assignment: m.Key(), RoundID: m.RoundID,
			SubmissionID: m.SubmissionID, ReviewerID: m.ReviewerID, OrganisationID: m.OrganisationID, RoundName: m.RoundName,
			OrgName: m.OrganisationName, Reviewer: personDoc(m.Reviewer), Deadline: m.Deadline, Kind: m.Kind, Version: m.Version, At: m.At}
	}
	for _, m := range []app.Mark{markOf("r1", "eve", app.MarkAssigned, 1), markOf("r1", "eve", app.MarkAccepted, 3), markOf("r1", "fay", app.MarkAssigned, 2)} {
		if _, err := old.InsertOne(ctx, oldDoc(m)); err != nil {
			t.Fatal(err)
		}
	}
	assignments := must(NewAssignments(ctx, db))
	kinds := func(rv string) []string {
		t.Helper()
		ms, err := assignments.Marks(ctx, markOf("r1", rv, "", 0).Assignment)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Kind)
		}
		return out
	}
	if got, want := kinds("eve"), []string{app.MarkAssigned, app.MarkAccepted}; !slices.Equal(got, want) {
		t.Errorf("eve's marks after the start: %v, want %v", got, want)
	}
	if n, err := old.CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
		t.Errorf("marks left apart after the start: %d (%v), want 0", n, err)
	}

	// An old replica, mid-upgrade, keeps two more apart: one this replica has too.
	if _, err := assignments.Mark(ctx, markOf("r1", "eve", app.MarkSubmitted, 5)); err != nil {
		t.Fatal(err)
	}
	for _, m := range []app.Mark{markOf("r1", "eve", app.MarkSubmitted, 5), markOf("r1", "fay", app.MarkGone, 4)} {
		if _, err := old.InsertOne(ctx, oldDoc(m)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := assignments.MoveOldMarks(ctx); err != nil || n != 2 {
		t.Fatalf("moved %d (%v), want 2", n, err)
	}
	if got, want := kinds("eve"), []string{app.MarkAssigned, app.MarkAccepted, app.MarkSubmitted}; !slices.Equal(got, want) {
		t.Errorf("eve's marks after the sweep: %v, want %v", got, want)
	}
	if got, want := kinds("fay"), []string{app.MarkAssigned, app.MarkGone}; !slices.Equal(got, want) {
		t.Errorf("fay's marks after the sweep: %v, want %v", got, want)
	}
	round, err := assignments.RoundMarks(ctx, "r1")
	if err != nil || len(round) != 5 {
		t.Errorf("the round's marks: %d (%v), want 5", len(round), err)
	}
	if n, err := assignments.MoveOldMarks(ctx); err != nil || n != 0 {
		t.Errorf("moved again %d (%v), want 0", n, err)
	}
}

// Marks of one new assignment told at once, each twice (a redelivery racing the
// first delivery), by replicas that each find no document and make it: every mark is
// kept, each once.
func TestMarksOfOneNewAssignmentRacing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	assignments := must(NewAssignments(ctx, db))
	const marks = 12
	var wg sync.WaitGroup
	errs := make(chan error, 2*marks)
	for v := range 2 * marks {
		wg.Go(func() {
			if _, err := assignments.Mark(ctx, markOf("r1", "eve", fmt.Sprintf("kind-%02d", v%marks), v%marks+1)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ms, err := assignments.Marks(ctx, markOf("r1", "eve", "", 0).Assignment)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != marks {
		t.Fatalf("%d marks kept, want %d: %+v", len(ms), marks, ms)
	}
	for i, m := range ms {
		if want := fmt.Sprintf("kind-%02d", i); m.Kind != want || m.Version != i+1 {
			t.Errorf("mark %d: %s at %d, want %s at %d", i, m.Kind, m.Version, want, i+1)
		}
	}
}

// A reviewer renamed (ops corrected the pool's record) is named so on every mark of
// theirs made before the correction, and on no one else's.
func TestARenamedReviewerIsNamedSoOnEveryMark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	assignments, _ := marked(t, markOf("r1", "eve", app.MarkAssigned, 1), markOf("r2", "eve", app.MarkAssigned, 1), markOf("r1", "fay", app.MarkAssigned, 2))
	corrected := mail.Person{Name: "Eve Reviewer-Jones", Email: "eve.jones@pool.example.ac.uk"}
	if err := assignments.Rename(ctx, "eve", corrected); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		round, rv string
		want      mail.Person
		marks     int
	}{{"r1", "eve", corrected, 1}, {"r2", "eve", corrected, 1}, {"r1", "fay", markOf("r1", "fay", "", 0).Reviewer, 1}} {
		ms, err := assignments.Marks(ctx, markOf(tc.round, tc.rv, "", 0).Assignment)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != tc.marks {
			t.Errorf("%s in %s: %d marks, want %d", tc.rv, tc.round, len(ms), tc.marks)
		}
		for _, m := range ms {
			if m.Reviewer != tc.want {
				t.Errorf("%s in %s, %s: reviewer %+v, want %+v", tc.rv, tc.round, m.Kind, m.Reviewer, tc.want)
			}
		}
	}
}

// An erased reviewer is forgotten in their marks, those in runs and those a version
// before this one kept apart and not moved yet; another reviewer's stay as they were.
func TestAnErasedReviewerIsForgottenInTheirMarks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	assignments, db := marked(t, markOf("r1", "eve", app.MarkAssigned, 1), markOf("r1", "eve", app.MarkAccepted, 2), markOf("r1", "fay", app.MarkAssigned, 3))
	apart := markOf("r2", "eve", app.MarkAssigned, 1)
	if _, err := db.Collection(oldMarksCollection).InsertOne(ctx, markDoc{ID: apart.Key() + "|000000001|assigned", Assignment: apart.Key(),
		RoundID: apart.RoundID, ReviewerID: apart.ReviewerID, Reviewer: personDoc(apart.Reviewer), Kind: apart.Kind, Version: 1}); err != nil {
		t.Fatal(err)
	}
	eve := markOf("r1", "eve", "", 0).Reviewer
	if err := NewErasure(db).Forget(ctx, personal.Subject(eve.Email)); err != nil {
		t.Fatal(err)
	}
	for _, coll := range []string{markRunsCollection, oldMarksCollection} {
		cur, err := db.Collection(coll).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.M
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		text := strings.ToLower(fmt.Sprint(docs))
		if strings.Contains(text, eve.Email) || strings.Contains(text, strings.ToLower(eve.Name)) {
			t.Errorf("%s still holds the erased reviewer: %s", coll, text)
		}
		if coll == markRunsCollection && !strings.Contains(text, "fay@pool.example.ac.uk") {
			t.Errorf("%s lost the reviewer not erased: %s", coll, text)
		}
	}
	ms, err := assignments.Marks(ctx, markOf("r1", "eve", "", 0).Assignment)
	if err != nil || len(ms) != 2 {
		t.Errorf("the erased reviewer's assignment has %d marks (%v), want its 2 kept without them", len(ms), err)
	}
}
