package adapters

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// During a rolling upgrade a notify of the release before keeps marks apart, each
// under its own id; this release's sweep moves them into their assignments' runs
// (MoveOldMarks: insert in the run, then delete the old one) as the reviewer they
// name is erased (the erasure reads the runs, then the marks kept apart). Each round
// checks that no mark names the erased reviewer afterwards.
//
// The erasure looked for the reviewer in the runs before a mark reached them and
// among the marks kept apart after it had left: 27 to 30 rounds of 40 left the
// erased reviewer named in a run on the old code. The move now looks at notify's
// record of erasures, written before the erasure reads, once it has moved the marks.
func TestOldMarksMovedAsTheirReviewerIsErasedNameThemNoLonger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	assignments := must(NewAssignments(ctx, db))
	erasure := NewErasure(db)
	deadline := time.Date(2027, 4, 30, 16, 0, 0, 0, time.UTC)
	// Other reviewers' marks make the erasure's reading of the runs take a while.
	for i := range 40 {
		a := app.Assignment{RoundID: "r-others", SubmissionID: "s1", ReviewerID: fmt.Sprintf("other-%d", i), OrganisationID: "o1",
			Reviewer: mail.Person{Name: "Olu Other", Email: fmt.Sprintf("olu.%d@othertown.ac.uk", i)}, Deadline: deadline}
		if _, err := assignments.Mark(ctx, app.Mark{Assignment: a, Kind: app.MarkAssigned, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 40
	named := 0
	for n := range rounds {
		p := mail.Person{Name: fmt.Sprintf("Osian Oldmark%02d", n), Email: fmt.Sprintf("osian.%02d@othertown.ac.uk", n)}
		var docs []any
		for s := range 3 {
			a := app.Assignment{RoundID: fmt.Sprintf("r-%02d", n), SubmissionID: fmt.Sprintf("s%d", s), ReviewerID: fmt.Sprintf("osian-%02d", n), Reviewer: p, Deadline: deadline}
			docs = append(docs, markDoc{ID: a.Key() + "|000000001|assigned", Assignment: a.Key(), RoundID: a.RoundID, SubmissionID: a.SubmissionID,
				ReviewerID: a.ReviewerID, Reviewer: personDoc(p), Deadline: deadline, Kind: app.MarkAssigned, Version: 1})
		}
		if _, err := db.Collection(oldMarksCollection).InsertMany(ctx, docs); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
			if err := erasure.ForgetAt(ctx, personal.Subject(p.Email), time.Now()); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
			if _, err := assignments.MoveOldMarks(ctx); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		if got := holding(t, db, p.Email, markRunsCollection, oldMarksCollection); len(got) > 0 {
			named++
			t.Logf("round %d: %d marks name the erased reviewer, as %.300s", n, len(got), got[0])
		}
	}
	if named > 0 {
		t.Errorf("of %d rounds, %d left marks naming the erased reviewer", rounds, named)
	}
}
