package app_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/precondition"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/adapters"
	"github.com/itss/techcommit/services/review/internal/app"
	"github.com/itss/techcommit/services/review/internal/domain/round"
	"github.com/itss/techcommit/services/review/internal/domain/submission"
)

// replica is the review app on db, as a process starting on it would build it.
func replica(t *testing.T, db *mongo.Database, clk clock.Clock) (*app.App, *store.EventStore) {
	t.Helper()
	ctx := context.Background()
	es, err := store.NewEventStore(ctx, db, "events", "/tc/review", clk)
	if err != nil {
		t.Fatal(err)
	}
	es.Catalogue(app.ListedTypes...)
	read, err := adapters.NewReadModels(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	orgs := adapters.NewOrganisations(db)
	// The organisation of the tests' reviewers, an announced signatory.
	if err := orgs.Put(ctx, app.Organisation{ID: "pool", Name: "Pool University", Kind: "signatory", Announced: true}); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(es, orgs, read, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SeedViews(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	return a, es
}

var (
	ops = auth.Principal{Subject: "ops", Role: auth.RoleOps}
	me  = auth.Principal{Subject: "me", Role: auth.RoleReviewer, Org: "pool"}
)

func lead(org string) auth.Principal {
	return auth.Principal{Subject: "lead-" + org, Role: auth.RoleLead, Org: org}
}

// projectAll gives the projection every event of the log, as its consumer would.
func projectAll(t *testing.T, writer *app.App, es *store.EventStore) {
	t.Helper()
	all, err := es.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.Project(context.Background(), all); err != nil {
		t.Fatal(err)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func orgName(i int) string { return fmt.Sprintf("org-%03d", i) }

// submitCycle makes n organisations' submissions of cycle c, drafted and submitted,
// and returns them by organisation.
func submitCycle(t *testing.T, a *app.App, db *mongo.Database, n, c int) map[string]string {
	t.Helper()
	ctx := context.Background()
	orgs := adapters.NewOrganisations(db)
	content := events.SubmissionContent{
		ActionPlan:      []events.ActionItem{{Theme: "recognition", Action: "An award", Owner: "HR", SuccessMeasure: "Given", TargetDate: "2027-06-30"}},
		TechnicianVoice: events.TechnicianVoice{HowConsulted: "Survey", Participants: 10}, Webpage: "https://example.ac.uk/tc",
	}
	subs := map[string]string{}
	for i := range n {
		org := orgName(i)
		if err := orgs.Put(ctx, app.Organisation{ID: org, Name: "Org " + org, Announced: true, ObligationID: fmt.Sprintf("%s-c%d", org, c),
			ObligationKind: events.ObligationActionPlan, ObligationCycle: c, WindowOpens: civil.New(2026, 1, 1)}); err != nil {
			t.Fatal(err)
		}
		s := must[*submission.Submission](t)(a.DraftSubmission(ctx, lead(org), "", content))
		must[*submission.Submission](t)(a.Submit(ctx, lead(org), s.ID()))
		subs[org] = s.ID()
	}
	return subs
}

// history makes n organisations' two cycles of submissions: the first reviewed in a
// round now closed, with feedback on org-000's, the second in an open round, where
// the reviewer "me" holds two assignments; and n/5 further rounds.
func history(t *testing.T, a *app.App, db *mongo.Database, clk *clock.Fake, n int) (first, second map[string]string) {
	t.Helper()
	ctx := context.Background()
	cycle := func(c int) map[string]string {
		subs := submitCycle(t, a, db, n, c)
		clk.Advance(time.Hour)
		return subs
	}
	for i := range n/20 + 2 {
		must[any](t)(a.RegisterReviewer(ctx, ops, events.ReviewerRegisteredV1{ReviewerID: fmt.Sprintf("other-%d", i), Name: "Other", Email: fmt.Sprintf("o%d@pool.example", i),
			OrganisationID: "pool", Trained: true, Capacity: 20}))
	}
	// Capacity 0: automatic assignment never picks "me", so they hold what ops give them.
	must[any](t)(a.RegisterReviewer(ctx, ops, events.ReviewerRegisteredV1{ReviewerID: me.Subject, Name: "Me", Email: "me@pool.example",
		OrganisationID: me.Org, Trained: true, Capacity: 0}))
	deadline := clk.Now().Add(30 * 24 * time.Hour)
	fill := func(subs map[string]string, mine ...string) string {
		rid := must[*round.Round](t)(a.OpenRound(ctx, ops, fmt.Sprintf("Round of %d", len(subs)), deadline, 1)).ID()
		var all []string
		for _, s := range subs {
			all = append(all, s)
		}
		slices.Sort(all)
		must[any](t)(a.AddSubmissions(ctx, ops, rid, all))
		for _, org := range mine {
			must[any](t)(a.Assign(ctx, ops, rid, subs[org], me.Subject, "By hand"))
		}
		if _, _, err := a.AutoAssign(ctx, ops, rid, 0); err != nil {
			t.Fatal(err)
		}
		return rid
	}
	first = cycle(1)
	r1 := fill(first, orgName(0))
	must[any](t)(a.Respond(ctx, me, r1, first[orgName(0)], true, ""))
	var themes []events.ThemeReview
	for _, th := range submission.Themes {
		themes = append(themes, events.ThemeReview{Theme: th, Score: 3, Strengths: "Clear", Recommendations: "More"})
	}
	must[any](t)(a.SubmitReview(ctx, me, r1, first[orgName(0)], themes, "A good plan."))
	must[any](t)(a.CloseRound(ctx, ops, r1, "Done"))
	must[any](t)(a.ReleaseFeedback(ctx, ops, r1, first[orgName(0)], "Well done."))
	second = cycle(2)
	fill(second, orgName(0), orgName(1))
	for i := range n / 5 {
		must[any](t)(a.OpenRound(ctx, ops, fmt.Sprintf("Later %d", i), deadline.Add(time.Duration(i+1)*time.Hour), 0))
	}
	return first, second
}

// TestReviewReadsCostTheirPageWhateverTheHistory: after a restart on 10 or on 100
// organisations' two cycles of submissions (reviewed, assigned, feedback released),
// the reads of the submissions list (ops' and a lead's), one submission with its
// previous cycle and status, its feedback, the rounds list and a reviewer's
// assignments cost the same finds and documents, from the first request: each reads
// its page by _id, never every round or submission.
func TestReviewReadsCostTheirPageWhateverTheHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cost := map[int][2]int{}
	var mu sync.Mutex
	t.Run("sizes", func(t *testing.T) {
		for _, n := range []int{10, 100} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				t.Parallel()
				db, counted := testenv.MonitoredDB(t, "events")
				clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
				writer, es := replica(t, db, clk)
				first, second := history(t, writer, db, clk, n)
				// The projection's consumer is not running here: it is given every event.
				projectAll(t, writer, es)

				// Each read is the first request of a replica just started, so that
				// what one read left in the store's memory does not serve another.
				var read testenv.ReadCount
				measure := func(do func(a *app.App)) {
					a, _ := replica(t, db, clk)
					before := counted.Now()
					do(a)
					d := counted.Now().Sub(before)
					read.Finds, read.Docs, read.Scans = read.Finds+d.Finds, read.Docs+d.Docs, read.Scans+d.Scans
				}
				measure(func(a *app.App) {
					page, next, err := a.ListSubmissions(ctx, ops, app.SubmissionQuery{Limit: 5})
					if err != nil {
						t.Fatal(err)
					}
					if len(page) != 5 || next == "" {
						t.Errorf("ops' first page: %d submissions, next %q", len(page), next)
					}
				})
				measure(func(a *app.App) {
					mine, _, err := a.ListSubmissions(ctx, lead(orgName(0)), app.SubmissionQuery{Limit: 50})
					if err != nil {
						t.Fatal(err)
					}
					var statuses []string
					for _, l := range mine {
						statuses = append(statuses, l.Status)
					}
					slices.Sort(statuses)
					if want := []string{"feedback_released", "in_review"}; !slices.Equal(statuses, want) {
						t.Errorf("org-000's submissions are %v, want %v", statuses, want)
					}
				})
				measure(func(a *app.App) {
					s, err := a.Submission(ctx, lead(orgName(0)), second[orgName(0)])
					if err != nil {
						t.Fatal(err)
					}
					if st, err := a.Status(ctx, s); err != nil || st != "in_review" {
						t.Errorf("status %q (%v), want in_review", st, err)
					}
					prev, err := a.PreviousCycle(ctx, s)
					if err != nil {
						t.Fatal(err)
					}
					if prev == nil || prev.Submission.ID() != first[orgName(0)] || prev.Feedback == nil || prev.Feedback.Text != "Well done." {
						t.Errorf("previous cycle %+v, want %s with its feedback", prev, first[orgName(0)])
					}
				})
				measure(func(a *app.App) {
					f, err := a.Feedback(ctx, lead(orgName(0)), first[orgName(0)])
					if err != nil || f.Text != "Well done." || len(f.Scores) != 4 {
						t.Errorf("feedback %+v (%v)", f, err)
					}
				})
				measure(func(a *app.App) {
					rounds, next, err := a.Rounds(ctx, ops, app.Page{Limit: 2})
					if err != nil {
						t.Fatal(err)
					}
					if len(rounds) != 2 || next == "" || !rounds[0].Deadline.After(rounds[1].Deadline) {
						t.Errorf("rounds' first page %+v (next %q), want the 2 latest deadlines first", rounds, next)
					}
				})
				measure(func(a *app.App) {
					as, _, err := a.MyAssignments(ctx, me, app.Page{Limit: 50})
					if err != nil {
						t.Fatal(err)
					}
					var subs []string
					for _, x := range as {
						subs = append(subs, x.SubmissionID)
					}
					slices.Sort(subs)
					want := []string{first[orgName(0)], second[orgName(0)], second[orgName(1)]}
					slices.Sort(want)
					if !slices.Equal(subs, want) {
						t.Errorf("my assignments are on %v, want %v", subs, want)
					}
				})
				if read.Scans != 0 {
					t.Errorf("the reads scanned the event log %d times, want none", read.Scans)
				}
				mu.Lock()
				cost[n] = [2]int{read.Finds, read.Docs}
				mu.Unlock()
			})
		}
	})
	t.Logf("reads (finds, documents) by organisations: %v", cost)
	if cost[10] != cost[100] {
		t.Errorf("the reads cost %v with 10 organisations and %v with 100, want the same", cost[10], cost[100])
	}
}

// TestTheFirstReadsAfterARestartCostWhatTheyDoWarm: a replica just started on a
// history (Warm has run, as the service runs it before it says it is ready) answers
// ops' page of submissions, one submission and its previous cycle, a round's page
// and a reviewer's assignments with the finds and documents it needs when it asks again: the first request
// pays no load of each aggregate's commits. Before, the first page read every commit
// of its 20 submissions and the round read its commits and its head; and a
// reviewer's assignments, answered from the read models' memory, first loaded the
// reviewer's own record (their commits), since reviewers were not preloaded.
func TestTheFirstReadsAfterARestartCostWhatTheyDoWarm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "events")
	clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	writer, es := replica(t, db, clk)
	first, second := history(t, writer, db, clk, 20)
	projectAll(t, writer, es)
	a, _ := replica(t, db, clk) // the restart
	rounds, _, err := a.Rounds(ctx, ops, app.Page{Limit: 50})
	if err != nil || len(rounds) == 0 {
		t.Fatalf("rounds %v (%v)", rounds, err)
	}
	reads := []struct {
		name string
		do   func() error
	}{
		{"ops' page of 20 submissions", func() error {
			page, _, err := a.ListSubmissions(ctx, ops, app.SubmissionQuery{Limit: 20})
			if err == nil && len(page) != 20 {
				err = fmt.Errorf("%d submissions, want 20", len(page))
			}
			return err
		}},
		{"one submission with its previous cycle", func() error {
			s, err := a.Submission(ctx, lead(orgName(3)), second[orgName(3)])
			if err != nil {
				return err
			}
			prev, err := a.PreviousCycle(ctx, s)
			if err == nil && (prev == nil || prev.Submission.ID() != first[orgName(3)]) {
				err = fmt.Errorf("previous cycle %+v, want %s", prev, first[orgName(3)])
			}
			return err
		}},
		{"every round", func() error {
			for _, r := range rounds {
				if _, err := a.Round(ctx, ops, r.ID); err != nil {
					return err
				}
			}
			return nil
		}},
		{"a reviewer's assignments", func() error {
			mine, _, err := a.MyAssignments(ctx, me, app.Page{Limit: 20})
			if err == nil && len(mine) == 0 {
				err = fmt.Errorf("no assignments, want those of the history")
			}
			return err
		}},
	}
	for _, r := range reads {
		var cost [2]testenv.ReadCount
		for i := range cost {
			before := counted.Now()
			if err := r.do(); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			cost[i] = counted.Now().Sub(before)
		}
		if cold, warm := cost[0], cost[1]; cold.Finds != warm.Finds || cold.Docs != warm.Docs || cold.Scans != 0 {
			t.Errorf("%s: the first request after a restart cost %d finds / %d documents / %d scans, the next %d / %d / %d: want the same",
				r.name, cold.Finds, cold.Docs, cold.Scans, warm.Finds, warm.Docs, warm.Scans)
		}
	}
}

// TestAPageOfSubmissionsHeldInMemoryReadsNoCommit: ops' page of submissions loads each
// submission through the version its list entry names, so that a replica holding
// them (after Warm, or having written them) reads none of their commits: a page of
// 20 costs the finds a page of 5 does. Before, each submission was loaded afresh, one
// find of the log per submission to learn there was nothing after what was held.
// A submission another replica changed since is listed as the list has it.
func TestAPageOfSubmissionsHeldInMemoryReadsNoCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "events")
	clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	writer, es := replica(t, db, clk)
	history(t, writer, db, clk, 20)
	// A third cycle's draft for one organisation, which the other replica will change.
	org := orgName(0)
	if err := adapters.NewOrganisations(db).Put(ctx, app.Organisation{ID: org, Name: "Org " + org, Announced: true, ObligationID: org + "-c3",
		ObligationKind: events.ObligationActionPlan, ObligationCycle: 3, WindowOpens: civil.New(2026, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	content := events.SubmissionContent{TechnicianVoice: events.TechnicianVoice{HowConsulted: "Survey", Participants: 10}}
	draft := must[*submission.Submission](t)(writer.DraftSubmission(ctx, lead(org), "", content))
	projectAll(t, writer, es)
	a, _ := replica(t, db, clk) // a restart: Warm holds the submissions
	finds := map[int]int{}
	for _, limit := range []int{5, 20, 5, 20} {
		before := counted.Now()
		page, _, err := a.ListSubmissions(ctx, ops, app.SubmissionQuery{Limit: limit})
		if err != nil || len(page) != limit {
			t.Fatalf("a page of %d: %d submissions (%v)", limit, len(page), err)
		}
		finds[limit] = counted.Now().Sub(before).Finds
	}
	if finds[20] != finds[5] {
		t.Errorf("a page of 20 submissions held in memory cost %d finds and a page of 5 %d: want the same (no commit read)", finds[20], finds[5])
	}

	mine, _, err := a.ListSubmissions(ctx, ops, app.SubmissionQuery{Org: org, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	held := slices.IndexFunc(mine, func(l app.Listed) bool { return l.Submission.ID() == draft.ID() })
	if held < 0 || mine[held].Submission.Version() != draft.Version() {
		t.Fatalf("the draft is not listed at version %d: %+v", draft.Version(), mine)
	}
	content.Webpage = "https://example.ac.uk/tc"
	changed := must[*submission.Submission](t)(writer.UpdateSubmission(ctx, lead(org), draft.ID(), precondition.At(draft.Version()), content))
	projectAll(t, writer, es)
	mine, _, err = a.ListSubmissions(ctx, ops, app.SubmissionQuery{Org: org, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(mine, func(l app.Listed) bool { return l.Submission.ID() == draft.ID() })
	if i < 0 || mine[i].Submission.Version() != changed.Version() || mine[i].Submission.Content().Webpage != content.Webpage {
		t.Errorf("after another replica changed the draft to version %d, this one lists it as %+v", changed.Version(), mine)
	}
}

// TestAStartRepairsTheSubmissionDocumentsAnEarlierVersionWrote: versions before
// 2026-12-06 stored each submission's list document with its _id (and feedback)
// alone. A replica starting on them after more than a mark's worth of changes read
// every submission back as a draft of no organisation; SeedViews now finds that and
// writes the documents again from the event store, so that the lists are right from
// the first request.
func TestAStartRepairsTheSubmissionDocumentsAnEarlierVersionWrote(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	writer, es := replica(t, db, clk)
	first, _ := history(t, writer, db, clk, 40)
	all, err := es.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An event at a time, as the projection's consumer may: many changes, so that a
	// start reads the documents and only the changes after the last mark.
	for _, e := range all {
		if err := writer.Project(ctx, []events.Envelope{e}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.Collection(adapters.SubmissionsCollection+"_changes").CountDocuments(ctx, bson.D{}); err != nil || n < 130 {
		t.Fatalf("%d changes (%v), want more than two marks' worth", n, err)
	}
	// statuses is how ops' list and org-000's lead's list show every submission.
	statuses := func(a *app.App) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, by := range []auth.Principal{ops, lead(orgName(0))} {
			page, _, err := a.ListSubmissions(ctx, by, app.SubmissionQuery{Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page {
				out[by.Subject+" "+l.Submission.ID()] = l.Status + " " + l.Submission.OrganisationID()
			}
		}
		return out
	}
	want := statuses(writer)
	if len(want) != 2*40+2 || want["ops "+first[orgName(0)]] != "feedback_released "+orgName(0) {
		t.Fatalf("before: %d listed, org-000's first as %q", len(want), want["ops "+first[orgName(0)]])
	}
	// What the earlier version left: each document its _id and feedback alone.
	coll := db.Collection(adapters.SubmissionsCollection)
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		old := bson.M{"_id": d["_id"]}
		if f, ok := d["feedback"]; ok {
			old["feedback"] = f
		}
		if _, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d["_id"]}}, old); err != nil {
			t.Fatal(err)
		}
	}

	a, _ := replica(t, db, clk) // the start of this version
	got := statuses(a)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("after the start, %s is listed as %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("after the start %d are listed, want %d", len(got), len(want))
	}
	if _, err := a.Feedback(ctx, lead(orgName(0)), first[orgName(0)]); err != nil {
		t.Errorf("org-000's released feedback: %v", err)
	}
}
