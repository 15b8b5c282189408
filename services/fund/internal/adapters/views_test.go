package adapters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/adapters"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
)

// reads counts what a client reads: every find, the documents its first batch
// returns, and the finds on the application views that do not look one document up
// by _id (on the embedded store, each of those reads the whole collection).
type reads struct {
	mu          sync.Mutex
	finds, docs int
	scans       int
}

func (r *reads) started(_ context.Context, e *event.CommandStartedEvent) {
	if e.CommandName != "find" {
		return
	}
	var cmd struct {
		Find   string `bson:"find"`
		Filter bson.M `bson:"filter"`
	}
	if err := bson.Unmarshal(e.Command, &cmd); err != nil || cmd.Find != "application_views" {
		return
	}
	if _, one := cmd.Filter["_id"].(string); one && len(cmd.Filter) == 1 {
		return
	}
	r.mu.Lock()
	r.scans++
	r.mu.Unlock()
}

func (r *reads) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
	if e.CommandName != "find" {
		return
	}
	var reply struct {
		Cursor struct {
			FirstBatch []bson.Raw `bson:"firstBatch"`
		} `bson:"cursor"`
	}
	_ = bson.Unmarshal(e.Reply, &reply)
	r.mu.Lock()
	r.finds++
	r.docs += len(reply.Cursor.FirstBatch)
	r.mu.Unlock()
}

func (r *reads) now() (finds, docs, scans int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finds, r.docs, r.scans
}

func monitoredDB(t *testing.T) (*mongo.Database, *reads) {
	t.Helper()
	r := &reads{}
	client, err := mongo.Connect(options.Client().ApplyURI(testenv.MongoURI(t)).
		SetMonitor(&event.CommandMonitor{Started: r.started, Succeeded: r.succeeded}))
	if err != nil {
		t.Fatal(err)
	}
	db := client.Database(testenv.DatabaseName(t))
	t.Cleanup(func() {
		_ = db.Drop(context.Background())
		_ = client.Disconnect(context.Background())
	})
	return db, r
}

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
				db, counted := monitoredDB(t)
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

				finds, docs, scans := counted.now()
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
				f, d, s := counted.now()
				if s != scans {
					t.Errorf("the lists read the view collection through %d times, want none", s-scans)
				}
				mu.Lock()
				cost[size] = [2]int{f - finds, d - docs}
				mu.Unlock()
			})
		}
	})
	t.Logf("reads of the lists (finds, documents): %v", cost)
	if cost[100] != cost[1000] {
		t.Errorf("the lists cost %v reads with 100 applications and %v with 1,000, want the same", cost[100], cost[1000])
	}
}
