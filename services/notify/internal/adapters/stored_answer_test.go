package adapters

import (
	"context"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// TestAStoredAnswerNamingAPersonErasedIsToldApart: the idempotency store asks
// NamesErased of each resend's answer once it is stored, and forgets one naming a
// person erased (an erasure recorded after the resend's last look at the record, whose
// reading of the stored answers came before this one was written). An answer naming
// only others is kept, and so is one naming a person erased and named again since.
func TestAStoredAnswerNamingAPersonErasedIsToldApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	erasure := NewErasure(db)
	answer := []byte(`{"id":"d1","kind":"reminder","to":[{"name":"Ann Lee","email":"Ann.Lee@Example.org"},{"name":"Bo","email":"bo@example.org"}],"reply_to":"itss@example.org"}`)
	says := func(want bool, when string) {
		t.Helper()
		if got, err := erasure.NamesErased(ctx, answer); err != nil || got != want {
			t.Errorf("%s: NamesErased %v (%v), want %v", when, got, err, want)
		}
	}
	says(false, "nobody erased")
	erased := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	if err := erasure.ForgetAt(ctx, personal.Subject("carl@example.org"), erased); err != nil {
		t.Fatal(err)
	}
	says(false, "another person erased")
	if err := erasure.ForgetAt(ctx, personal.Subject("ann.lee@example.org"), erased); err != nil {
		t.Fatal(err)
	}
	says(true, "a recipient erased (the address written otherwise)")
	if err := erasure.NamedAgain(ctx, erased.Add(time.Minute), "ann.lee@example.org"); err != nil {
		t.Fatal(err)
	}
	says(false, "the recipient named again since")
}
