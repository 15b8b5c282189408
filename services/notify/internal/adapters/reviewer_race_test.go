package adapters

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// Ops correct a reviewer's address (review's ReviewerUpdatedV1, which notify's review
// consumer takes in as Rename: the reviewer's own document, and their marks, with the
// new address) as the old address is erased at the request of the person it was
// (the erasure reads what names the old address and deletes or blanks it). Each
// round checks that the old address is gone and that the reviewer is still kept,
// under the new address, for their reminders and their marks.
//
// On the embedded store a write is a read then a replace, and the erasure reads a
// whole collection before it writes: its blanking of the marks it read, and its
// deletion of the reviewer's document, landed after the correction and undid it
// (17 to 28 rounds of 40 on the old code). The correction is now written again once
// an erasure under way as it was written is done.
func TestAReviewersAddressCorrectedAsTheOldOneIsErasedKeepsTheNewOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	assignments := must(NewAssignments(ctx, db))
	erasure := NewErasure(db)
	deadline := time.Date(2027, 4, 30, 16, 0, 0, 0, time.UTC)
	assign := func(round, id string, p mail.Person) app.Assignment {
		t.Helper()
		a := app.Assignment{RoundID: round, SubmissionID: "s1", ReviewerID: id, OrganisationID: "o1", RoundName: "Spring 2027", OrganisationName: "Uni O",
			Reviewer: p, Deadline: deadline, RemindOn: civil.New(2027, 4, 23), Assigned: 1}
		if err := assignments.Open(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := assignments.Mark(ctx, app.Mark{Assignment: a, Kind: "assigned", Version: 1, At: deadline.Add(-30 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	// Other reviewers make the erasure's reading of the read models take a while.
	for i := range 40 {
		assign("r-others", fmt.Sprintf("other-%d", i), mail.Person{Name: "Olu Other", Email: fmt.Sprintf("olu.%d@othertown.ac.uk", i)})
	}
	const rounds = 40
	failed := 0
	for n := range rounds {
		id := fmt.Sprintf("rev-%02d", n)
		old := mail.Person{Name: fmt.Sprintf("Cai Corrected%02d", n), Email: fmt.Sprintf("typo.%02d@othertown.ac.uk", n)}
		corrected := mail.Person{Name: old.Name, Email: fmt.Sprintf("cai.%02d@othertown.ac.uk", n)}
		a := assign(fmt.Sprintf("r-%02d", n), id, old)
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
			if err := erasure.ForgetAt(ctx, personal.Subject(old.Email), time.Now()); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(12000)) * time.Microsecond)
			if err := assignments.Rename(ctx, id, corrected); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		var why []string
		if got := holding(t, db, old.Email, "assignments", reviewersCollection, markRunsCollection); len(got) > 0 {
			why = append(why, fmt.Sprintf("the erased address is kept: %.300s", got[0]))
		}
		if made, ok, err := assignments.Get(ctx, a); err != nil || !ok || made.Reviewer != corrected {
			why = append(why, fmt.Sprintf("the assignment's reviewer is %+v (%v %v), want %v", made.Reviewer, ok, err, corrected))
		}
		marks, err := assignments.Marks(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range marks {
			if m.Reviewer != corrected {
				why = append(why, fmt.Sprintf("a mark names %+v, want %v", m.Reviewer, corrected))
			}
		}
		if len(why) > 0 {
			failed++
			t.Logf("round %d: %v", n, why)
		}
	}
	if failed > 0 {
		t.Errorf("of %d rounds, %d lost the corrected address or kept the erased one", rounds, failed)
	}
}
