package adapters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/internal/adapters"
	"github.com/itss/techcommit/services/signatory/internal/app"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

var today = civil.New(2026, 12, 3)

// announced builds an organisation announced on the given day.
func announced(tb testing.TB, id, name string, kind organisation.Kind, on civil.Date) *organisation.Organisation {
	tb.Helper()
	steps := []func(*organisation.Organisation) ([]events.Payload, error){
		func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.ReceiveEnquiry(organisation.Enquiry{Name: name, Kind: kind, Sector: "higher_education", Country: "GB",
				Website: "https://example.ac.uk", Contact: organisation.Person{Name: "Sam", Email: "s@example.ac.uk"}}, today)
		},
		func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.RecordMeeting(civil.New(2025, 1, 10), "", today)
		},
		func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.ReceiveForm(civil.New(2025, 2, 1), organisation.Contacts{
				Leader:         organisation.Person{Name: "VC", Email: "vc@example.ac.uk"},
				NominatedLead:  organisation.Person{Name: "Lead", Email: "lead@example.ac.uk"},
				PointOfContact: organisation.Person{Name: "Office"},
			}, today)
		},
		func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.Announce(on, organisation.DefaultPolicy, today)
		},
	}
	var history []events.Envelope
	for _, step := range steps {
		o, err := organisation.Rebuild(id, history)
		if err != nil {
			tb.Fatal(err)
		}
		payloads, err := step(o)
		if err != nil {
			tb.Fatal(err)
		}
		for _, p := range payloads {
			data, _ := json.Marshal(p)
			history = append(history, events.Envelope{ID: fmt.Sprint(len(history)), Type: p.EventType(), AggregateID: id, Version: len(history) + 1, Time: time.Now(), Data: data})
		}
	}
	o, err := organisation.Rebuild(id, history)
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

// TestDirectoryAndListReadTheCollectionOnlyWhenItChanged: on the embedded store every
// query but a lookup by _id reads the whole view collection, so the directory and the
// ops list are answered from a copy in memory that is read again only after a view
// changed.
func TestDirectoryAndListReadTheCollectionOnlyWhenItChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Finds on the view collection that do not look one document up by _id read the
	// whole collection on a server that answers only _id from an index.
	db, counted := testenv.MonitoredDB(t, "organisation_views")
	views, err := adapters.NewViews(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"Delta University", "Alpha Institute", "Charlie College", "Bravo Society", "Echo Network"}
	for i, name := range names {
		kind := organisation.Signatory
		if i%2 == 1 {
			kind = organisation.Supporter
		}
		if err := views.Save(ctx, announced(t, fmt.Sprintf("org-%d", i), name, kind, civil.New(2025, 3, 20))); err != nil {
			t.Fatal(err)
		}
	}
	ahead := announced(t, "org-ahead", "Aardvark Academy", organisation.Signatory, civil.New(2026, 12, 10))
	if err := views.Save(ctx, ahead); err != nil {
		t.Fatal(err)
	}

	directory := func(q app.DirectoryQuery) []string { t.Helper(); return directoryNames(t, views, q) }
	want := "[Alpha Institute Bravo Society Charlie College Delta University Echo Network]"
	if got := fmt.Sprint(directory(app.DirectoryQuery{Limit: 2, Today: today})); got != want {
		t.Errorf("directory in pages of 2 = %s, want %s", got, want)
	}
	before := counted.Now()
	for range 5 {
		directory(app.DirectoryQuery{Limit: 2, Today: today})
		if _, err := views.List(ctx, app.ListQuery{Limit: 50}); err != nil {
			t.Fatal(err)
		}
	}
	if n := counted.Now().Sub(before).Scans; n != 0 {
		t.Errorf("unchanged views were read with %d queries over the whole collection, want none", n)
	}
	if got := fmt.Sprint(directory(app.DirectoryQuery{Limit: 50, Kind: organisation.Supporter, Today: today})); got != "[Alpha Institute Bravo Society]" {
		t.Errorf("supporters = %s", got)
	}
	if got := fmt.Sprint(directory(app.DirectoryQuery{Limit: 50, Today: civil.New(2026, 12, 10)})); got != "[Aardvark Academy "+want[1:] {
		t.Errorf("directory on 2026-12-10 = %s, want Aardvark Academy first", got)
	}

	// A change is seen at the next read.
	if err := views.Save(ctx, announced(t, "org-new", "Foxtrot Labs", organisation.Signatory, civil.New(2025, 4, 1))); err != nil {
		t.Fatal(err)
	}
	if got := directory(app.DirectoryQuery{Limit: 50, Today: today}); len(got) != 6 || got[5] != "Foxtrot Labs" {
		t.Errorf("after a new view the directory is %v, want Foxtrot Labs last of 6", got)
	}
	page, err := views.List(ctx, app.ListQuery{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	rest, err := views.List(ctx, app.ListQuery{Limit: 50, Cursor: page.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 || len(rest.Items) != 4 || rest.NextCursor != "" {
		t.Errorf("ops list pages of %d and %d (next %q), want 3 and 4 and no cursor", len(page.Items), len(rest.Items), rest.NextCursor)
	}
}

// TestAStartReadsTheViewsSoTheFirstListDoesNot: a replica that starts on existing
// views reads them while starting, so its first list after a restart reads nothing
// through.
func TestAStartReadsTheViewsSoTheFirstListDoesNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Finds on the view collection that do not look one document up by _id read the
	// whole collection on a server that answers only _id from an index.
	db, counted := testenv.MonitoredDB(t, "organisation_views")
	first, err := adapters.NewViews(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := first.Save(ctx, announced(t, fmt.Sprintf("org-%d", i), fmt.Sprintf("Uni %d", i), organisation.Signatory, civil.New(2025, 3, 20))); err != nil {
			t.Fatal(err)
		}
	}
	restarted, err := adapters.NewViews(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	before := counted.Now()
	page, err := restarted.List(ctx, app.ListQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 {
		t.Errorf("the first list after a restart has %d organisations, want 3", len(page.Items))
	}
	if n := counted.Now().Sub(before).Scans; n != 0 {
		t.Errorf("the first list after a restart read the collection through %d times, want none", n)
	}
}

// The directory is in the alphabetical order a reader expects, not the names' bytes:
// a name in lower case or with an accented capital sits among its letter, and paging
// one at a time walks that order once.
func TestTheDirectoryIsInAlphabeticalOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testenv.MonitoredDB(t, "organisation_views")
	views, err := adapters.NewViews(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"Window University", "aardvark Institute", "Éire Tech", "Bravo College", "eastern Institute", "Zeta Network", "Exampleton"} {
		if err := views.Save(ctx, announced(t, fmt.Sprintf("org-%d", i), name, organisation.Signatory, civil.New(2025, 3, 20))); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"aardvark Institute", "Bravo College", "eastern Institute", "Éire Tech", "Exampleton", "Window University", "Zeta Network"}
	for _, limit := range []int{50, 1, 2} {
		if got := directoryNames(t, views, app.DirectoryQuery{Today: today, Limit: limit}); !slices.Equal(got, want) {
			t.Errorf("pages of %d: %q, want %q", limit, got, want)
		}
	}
}

// directoryNames pages through the directory from q, and returns the names in order.
func directoryNames(t *testing.T, views *adapters.Views, q app.DirectoryQuery) []string {
	t.Helper()
	var got []string
	for {
		page, err := views.Directory(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			got = append(got, e.Name)
		}
		if page.NextCursor == "" {
			return got
		}
		q.Cursor = page.NextCursor
	}
}
