package adapters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/adapters"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
)

// built is an application rebuilt from the given events (the first is its draft).
func built(t *testing.T, id string, payloads ...events.Payload) *application.Application {
	t.Helper()
	var history []events.Envelope
	for i, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, events.Envelope{ID: fmt.Sprintf("%s-%d", id, i), Type: p.EventType(), AggregateType: application.AggregateType,
			AggregateID: id, Version: i + 1, Time: time.Now(), Data: data})
	}
	a, err := application.Rebuild(id, history)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func drafted(id, round, org string) events.ApplicationDraftedV1 {
	return events.ApplicationDraftedV1{ApplicationID: id, RoundID: round, OrganisationID: org,
		Content: events.FundApplication{Title: "Project " + id}}
}

// TestListsReadTheSameWhateverHowManyApplicationsThereAre: a replica answers every
// list of applications (all, one organisation's, one status, the next page) and the
// funded organisations of a round from memory, following other replicas' changes
// by _id, so the reads they cost are the same with 100 applications as with 1,000,
// and none reads the view collection through.
func TestListsReadTheSameWhateverHowManyApplicationsThereAre(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cost := map[int][2]int{}
	var mu sync.Mutex
	t.Run("sizes", func(t *testing.T) {
		for _, size := range []int{100, 1000} {
			t.Run(fmt.Sprint(size), func(t *testing.T) {
				t.Parallel()
				db, counted := testenv.MonitoredDB(t, "application_views")
				writer, err := adapters.NewViews(ctx, db)
				if err != nil {
					t.Fatal(err)
				}
				var apps []*application.Application
				for i := range size {
					id := fmt.Sprintf("app-%05d", i)
					apps = append(apps, built(t, id, drafted(id, fmt.Sprintf("round-%d", i%2), fmt.Sprintf("org-%02d", i%10))))
				}
				if err := writer.Save(ctx, apps...); err != nil {
					t.Fatal(err)
				}
				reader, err := adapters.NewViews(ctx, db) // another replica, or a restart
				if err != nil {
					t.Fatal(err)
				}
				// One change from the writer, which the reader must see.
				id := "app-00003"
				awarded := built(t, id, drafted(id, "round-1", "org-03"),
					events.ApplicationSubmittedV1{ApplicationID: id}, events.ApplicationAwardedV1{ApplicationID: id, AmountPence: 100})
				if err := writer.Save(ctx, awarded); err != nil {
					t.Fatal(err)
				}

				before := counted.Now()
				page, err := reader.List(ctx, app.ListQuery{Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.IDs) != 50 || page.IDs[0] != "app-00000" || page.IDs[49] != "app-00049" || page.NextCursor == "" {
					t.Fatalf("first page: %d ids from %v, next %q", len(page.IDs), page.IDs[:1], page.NextCursor)
				}
				next, err := reader.List(ctx, app.ListQuery{Limit: 50, Cursor: page.NextCursor})
				if err != nil {
					t.Fatal(err)
				}
				if next.IDs[0] != "app-00050" {
					t.Errorf("second page starts at %s, want app-00050", next.IDs[0])
				}
				org, err := reader.List(ctx, app.ListQuery{Limit: 5, Org: "org-07", RoundID: "round-1"})
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{"app-00007", "app-00017", "app-00027", "app-00037", "app-00047"}; !slices.Equal(org.IDs, want) {
					t.Errorf("org-07's applications in round-1: %v, want %v", org.IDs, want)
				}
				status, err := reader.List(ctx, app.ListQuery{Limit: 50, Status: application.StatusAwarded})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(status.IDs, []string{id}) || status.NextCursor != "" {
					t.Errorf("awarded: %v (next %q), want only %s", status.IDs, status.NextCursor, id)
				}
				funded, err := reader.FundedOrganisations(ctx, "round-1")
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(funded, []string{"org-03"}) {
					t.Errorf("funded in round-1: %v, want org-03", funded)
				}
				read := counted.Now().Sub(before)
				if read.Scans != 0 {
					t.Errorf("the lists read the view collection through %d times, want none", read.Scans)
				}
				mu.Lock()
				cost[size] = [2]int{read.Finds, read.Docs}
				mu.Unlock()
			})
		}
	})
	t.Logf("reads of the lists (finds, documents): %v", cost)
	if cost[100] != cost[1000] {
		t.Errorf("the lists cost %v reads with 100 applications and %v with 1,000, want the same", cost[100], cost[1000])
	}
}
