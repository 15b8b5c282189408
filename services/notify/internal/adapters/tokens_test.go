package adapters

import (
	"context"
	"fmt"
	"testing"

	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
)

// TestACalendarIsFoundByItsTokenWithoutReadingEveryOrganisation: a calendar feed's
// organisation is found by _id (the token's document), never by a query on the
// token, which reads every organisation on the embedded store; organisations
// recorded before tokens had documents are found too, and a replaced token is not.
func TestACalendarIsFoundByItsTokenWithoutReadingEveryOrganisation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "organisations")
	// One organisation recorded before tokens had documents of their own.
	if _, err := db.Collection("organisations").InsertOne(ctx, orgDoc{ID: "old", Name: "Old", Announced: true, CalendarToken: "old-token-0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	orgs, err := NewOrganisations(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := orgs.Put(ctx, app.Organisation{ID: fmt.Sprintf("o%d", i), Name: "Uni", Announced: true, CalendarToken: fmt.Sprintf("token-%d-0123456789abcdef", i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := counted.Now()
	for _, c := range []struct{ token, org string }{{"old-token-0123456789abcdef", "old"}, {"token-7-0123456789abcdef", "o7"}} {
		o, ok, err := orgs.ByToken(ctx, c.token)
		if err != nil || !ok || o.ID != c.org {
			t.Errorf("ByToken(%s) = %s, %v, %v; want %s", c.token, o.ID, ok, err, c.org)
		}
	}
	if err := orgs.Put(ctx, app.Organisation{ID: "o7", Name: "Uni", Announced: true, CalendarToken: "rotated-0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	if o, ok, err := orgs.ByToken(ctx, "token-7-0123456789abcdef"); err != nil || ok {
		t.Errorf("a replaced token found %s, %v, %v; want nothing", o.ID, ok, err)
	}
	if o, ok, err := orgs.ByToken(ctx, "rotated-0123456789abcdef"); err != nil || !ok || o.ID != "o7" {
		t.Errorf("the new token found %s, %v, %v; want o7", o.ID, ok, err)
	}
	if _, ok, err := orgs.ByToken(ctx, "no-such-token-0123456789"); err != nil || ok {
		t.Errorf("an unknown token: %v, %v", ok, err)
	}
	if s := counted.Now().Sub(before).Scans; s != 0 {
		t.Errorf("finding organisations by token read the collection through %d times, want none", s)
	}
}
