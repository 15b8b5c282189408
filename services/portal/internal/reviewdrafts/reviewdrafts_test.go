package reviewdrafts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

func testPseudonyms(tb testing.TB) signin.Pseudonyms {
	tb.Helper()
	ps, err := signin.NewPseudonyms([]byte("the portal's pseudonym secret, for the tests"))
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

// Many saves from pages opened on the same version race: the unique _id of the next
// version takes exactly one; every other is ErrSavedElsewhere with the copy that
// stands, which is the one taken.
func TestConcurrentSavesOfOneVersionTakeExactlyOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	s, err := New(context.Background(), db, clock.System{}, testPseudonyms(t))
	if err != nil {
		t.Fatal(err)
	}
	k := Key{Email: "rita@reviewers.example", Round: "r1", Submission: "s1"}
	const n = 8
	saved := make([]Draft, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { saved[i], errs[i] = s.Save(ctx, k, Draft{Summary: fmt.Sprintf("tab %d", i)}) })
	}
	wg.Wait()
	taken := ""
	for i, err := range errs {
		switch {
		case err == nil && taken == "":
			taken = saved[i].Summary
		case err == nil:
			t.Fatalf("two saves of version 0 were taken: %q and %q", taken, saved[i].Summary)
		case !errors.Is(err, ErrSavedElsewhere):
			t.Fatalf("save %d: %v", i, err)
		}
	}
	latest, found, err := s.Latest(ctx, k)
	if err != nil || !found || latest.Summary != taken || latest.Version != 1 {
		t.Fatalf("latest = %+v, %v, %v; want the taken save %q at version 1", latest, found, err, taken)
	}
	for i, err := range errs {
		if err != nil && saved[i].Summary != taken {
			t.Errorf("a refused save was told of %q, not the copy that stands", saved[i].Summary)
		}
	}
}

// A part-way review is saved as it is; one with a text the review service would
// refuse for its size, or a score it does not take, is refused whole.
func TestSaveChecksSizesNotCompleteness(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	s, err := New(context.Background(), db, clock.NewFake(time.Now()), testPseudonyms(t))
	if err != nil {
		t.Fatal(err)
	}
	k := Key{Email: "rita@reviewers.example", Round: "r1", Submission: "s1"}
	if _, err := s.Save(ctx, k, Draft{Themes: []Theme{{ID: "visibility", Score: "2"}}}); err != nil {
		t.Fatalf("a part-way review: %v", err)
	}
	for name, d := range map[string]Draft{
		"too long":  {Version: 1, Themes: []Theme{{ID: "visibility", Strengths: strings.Repeat("x", maxText+1)}}},
		"bad score": {Version: 1, Themes: []Theme{{ID: "visibility", Score: "5"}}},
	} {
		if _, err := s.Save(ctx, k, d); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
	if latest, _, _ := s.Latest(ctx, k); latest.Version != 1 || latest.Themes[0].Score != "2" {
		t.Errorf("a refused save changed the copy: %+v", latest)
	}
}
