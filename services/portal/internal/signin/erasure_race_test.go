package signin_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// An organisation's lead hands over, and a reviewer's address is corrected, as the
// person before (the outgoing lead, the reviewer's old address) is erased: the
// portal's consumers of the signatory's and the review service's events write the
// organisation's lead and the reviewer's record with the new address while its
// consumer of erasures deletes every record holding the old one (as
// service.forgetErased does). Each round checks that the new lead and the reviewer,
// at the corrected address, can still sign in, and that the old address finds nothing.
//
// The erasure read every record and then deleted those holding the old address by
// _id: a record written anew in between went (10 to 15 rounds of 40 on the old code).
// The writers now write again after any erasure that overlapped their write.
func TestANewAddressWrittenAsTheOldOneIsErasedStillSignsIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	people, err := signin.NewPeople(ctx, db, testPseudonyms(t))
	if err != nil {
		t.Fatal(err)
	}
	erase := func(email string) (err error) {
		sub := personal.Subject(email)
		done, err := personal.Forgetting(ctx, db.Collection(personal.UnderWayCollection))
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, done()) }()
		if err := people.Forget(ctx, sub); err != nil {
			return err
		}
		for _, name := range []string{"leads", "reviewers", "applicants", "sessions", "signin_links"} {
			if _, err := personal.Forget(ctx, db.Collection(name), sub, true); err != nil {
				return err
			}
		}
		return nil
	}
	// Other people make the erasure's reading of the records take a while.
	for i := range 40 {
		if err := people.SetLead(ctx, fmt.Sprintf("org-o-%d", i), signin.Lead{Name: "Olu Other"}, fmt.Sprintf("olu.%d@exampleton.ac.uk", i)); err != nil {
			t.Fatal(err)
		}
		if err := people.SetReviewer(ctx, signin.Reviewer{ID: fmt.Sprintf("rev-o-%d", i), Name: "Ola Other"}, fmt.Sprintf("ola.%d@othertown.ac.uk", i)); err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 40
	lost := 0
	for n := range rounds {
		org, rev := fmt.Sprintf("org-%02d", n), fmt.Sprintf("rev-%02d", n)
		outgoing, incoming := fmt.Sprintf("olwen.%02d@exampleton.ac.uk", n), fmt.Sprintf("ifan.%02d@exampleton.ac.uk", n)
		typo, corrected := fmt.Sprintf("tomos.%02d@othertwon.ac.uk", n), fmt.Sprintf("tomos.%02d@othertown.ac.uk", n)
		if err := people.SetLead(ctx, org, signin.Lead{Name: "Olwen Outgoing"}, outgoing); err != nil {
			t.Fatal(err)
		}
		if err := people.SetReviewer(ctx, signin.Reviewer{ID: rev, Name: "Tomos Typo"}, typo); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, email := range []string{outgoing, typo} {
			wg.Go(func() {
				time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
				if err := erase(email); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
			if err := people.SetLead(ctx, org, signin.Lead{Name: "Ifan Incoming"}, incoming); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
			if err := people.SetReviewer(ctx, signin.Reviewer{ID: rev, Name: "Tomos Typo"}, corrected); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		var why []string
		if p, err := people.Lookup(ctx, incoming); err != nil || len(p.Leads) != 1 {
			why = append(why, fmt.Sprintf("the new lead is lead of %v (%v)", p.Leads, err))
		}
		if p, err := people.Lookup(ctx, corrected); err != nil || p.Reviewer == nil {
			why = append(why, fmt.Sprintf("the corrected reviewer is %v (%v)", p.Reviewer, err))
		}
		for _, email := range []string{outgoing, typo} {
			if p, err := people.Lookup(ctx, email); err != nil || p.Known() {
				why = append(why, fmt.Sprintf("the erased %s still finds %+v (%v)", email, p, err))
			}
		}
		if len(why) > 0 {
			lost++
			t.Logf("round %d: %v", n, why)
		}
	}
	if lost > 0 {
		t.Errorf("of %d rounds, %d lost the new address or kept the erased one", rounds, lost)
	}
}
