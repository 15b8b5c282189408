package adapters

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// holding lists the documents of the collections that hold text.
func holding(t *testing.T, db *mongo.Database, text string, colls ...string) []string {
	t.Helper()
	var out []string
	for _, c := range colls {
		cur, err := db.Collection(c).Find(context.Background(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(context.Background()) {
			if s := cur.Current.String(); strings.Contains(s, text) {
				out = append(out, c+": "+s)
			}
		}
		cur.Close(context.Background())
	}
	return out
}

// An assignment's record names no reviewer: the reviewer is kept apart, under their
// id, and the reminder, the assignment as made and subject access read them from
// there; ops' correction renames them there, and their erasure deletes them. A record
// an earlier release made names its reviewer itself: it is read, renamed and forgotten
// as before.
func TestAnAssignmentsReviewerIsKeptApartAndAnOlderRecordsIsStillReadAndForgotten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	assignments := must(NewAssignments(ctx, db))
	deadline := time.Date(2027, 4, 30, 16, 0, 0, 0, time.UTC)
	now := time.Date(2027, 4, 25, 9, 0, 0, 0, time.UTC)
	remind := civil.New(2027, 4, 23)

	fresh := app.Assignment{RoundID: "r1", SubmissionID: "s1", ReviewerID: "nia", OrganisationID: "o1", RoundName: "Spring 2027", OrganisationName: "Uni O",
		Reviewer: mail.Person{Name: "Nia New", Email: "nia@pool.example.ac.uk"}, Deadline: deadline, RemindOn: remind, Assigned: 1}
	if err := assignments.Open(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	// As an earlier release wrote it.
	if _, err := db.Collection("assignments").InsertOne(ctx, bson.D{{Key: "_id", Value: "r1|s2|olu"}, {Key: "round_id", Value: "r1"}, {Key: "submission_id", Value: "s2"},
		{Key: "reviewer_id", Value: "olu"}, {Key: "organisation_id", Value: "o1"}, {Key: "reviewer", Value: bson.D{{Key: "name", Value: "Olu Old"}, {Key: "email", Value: "olu@pool.example.ac.uk"}}},
		{Key: "deadline", Value: deadline}, {Key: "remind_on", Value: remind.String()}, {Key: "closed", Value: false}}); err != nil {
		t.Fatal(err)
	}
	if got := holding(t, db, "nia@", "assignments"); len(got) != 0 {
		t.Errorf("the assignment's record names its reviewer: %v", got)
	}
	due := func() map[string]mail.Person {
		t.Helper()
		as, err := assignments.DueForReminder(ctx, civil.Of(now), now, 10)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]mail.Person{}
		for _, a := range as {
			out[a.ReviewerID] = a.Reviewer
		}
		return out
	}
	if got := due(); got["nia"] != fresh.Reviewer || got["olu"].Email != "olu@pool.example.ac.uk" {
		t.Fatalf("due reminders go to %v, want Nia and Olu", got)
	}
	made, ok, err := assignments.Get(ctx, fresh)
	if err != nil || !ok || made.Reviewer != fresh.Reviewer {
		t.Fatalf("the assignment as made: %+v %v %v, want its reviewer %v", made, ok, err, fresh.Reviewer)
	}
	held, err := NewPersonalRecords(db).HeldAbout(ctx, "NIA@pool.example.ac.uk")
	if err != nil || len(held.Assignments) != 1 || held.Assignments[0].Reviewer != fresh.Reviewer {
		t.Fatalf("subject access gives %+v (%v), want the assignment with its reviewer", held.Assignments, err)
	}

	// Ops correct both reviewers' addresses.
	nia, olu := mail.Person{Name: "Nia New", Email: "nia.new@pool.example.ac.uk"}, mail.Person{Name: "Olu Old", Email: "olu.old@pool.example.ac.uk"}
	for id, p := range map[string]mail.Person{"nia": nia, "olu": olu} {
		if err := assignments.Rename(ctx, id, p); err != nil {
			t.Fatal(err)
		}
	}
	if got := due(); got["nia"] != nia || got["olu"] != olu {
		t.Fatalf("after the corrections, due reminders go to %v, want %v and %v", got, nia, olu)
	}
	if got := holding(t, db, "Nia New", "assignments"); len(got) != 0 {
		t.Errorf("the correction named the reviewer in the assignment's record: %v", got)
	}

	// Both are erased.
	erasure := NewErasure(db)
	for _, p := range []mail.Person{nia, olu} {
		if err := erasure.Forget(ctx, personal.Subject(p.Email)); err != nil {
			t.Fatal(err)
		}
	}
	for _, text := range []string{"nia@", "nia.new@", "Nia New", "olu@", "olu.old@", "Olu Old"} {
		if got := holding(t, db, text, "assignments", reviewersCollection); len(got) != 0 {
			t.Errorf("after the erasures, %v", got)
		}
	}
	if got := due(); got["nia"].Email != "" || got["olu"].Email != "" {
		t.Errorf("after the erasures, due reminders go to %v, want nobody", got)
	}
	if made, _, err := assignments.Get(ctx, fresh); err != nil || made.Reviewer.Email != "" {
		t.Errorf("after the erasure, the assignment as made names %v (%v), want nobody", made.Reviewer, err)
	}
}
