package signin_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

func newPeople(tb testing.TB) *signin.People {
	tb.Helper()
	_, db := testenv.Mongo(tb)
	p, err := signin.NewPeople(context.Background(), db, testPseudonyms(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Every signed-in request looks its person up. On the embedded store a query on
// the records' email read every lead, reviewer and applicant (a scan of each
// collection); the lookup now reads the person's own records by _id, so that it
// costs the same with 10 people and with 100.
func TestLookupCostsThePersonWhateverHowManyPeople(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const email = "Pat.Lead@Example.ac.uk"
	cost := map[int]testenv.ReadCount{}
	var mu sync.Mutex
	t.Run("sizes", func(t *testing.T) {
		for _, n := range []int{10, 100} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				t.Parallel()
				db, counted := testenv.MonitoredDB(t, testenv.EveryCollection)
				p, err := signin.NewPeople(ctx, db, testPseudonyms(t))
				if err != nil {
					t.Fatal(err)
				}
				for i := range n {
					org := fmt.Sprintf("org-%03d", i)
					if err := p.SetLead(ctx, org, signin.Lead{OrgName: "Org " + org, Name: "Lead " + org}, fmt.Sprintf("lead%03d@example.ac.uk", i)); err != nil {
						t.Fatal(err)
					}
					if err := p.SetReviewer(ctx, signin.Reviewer{ID: fmt.Sprintf("rev-%03d", i), OrgID: org, Name: "Reviewer"}, fmt.Sprintf("rev%03d@example.ac.uk", i)); err != nil {
						t.Fatal(err)
					}
					if i%10 == 0 {
						if err := p.AddApplicant(ctx, signin.Applicant{OrgID: org, Name: "App", Email: fmt.Sprintf("app%03d@example.ac.uk", i)}, "p-lead", time.Now()); err != nil {
							t.Fatal(err)
						}
					}
				}
				// Pat leads two organisations, is a reviewer and may make tokens for a third.
				for _, org := range []string{"org-007", "org-003"} {
					if err := p.SetLead(ctx, org, signin.Lead{OrgName: "Org " + org, Name: "Pat"}, email); err != nil {
						t.Fatal(err)
					}
				}
				if err := p.SetReviewer(ctx, signin.Reviewer{ID: "rev-pat", OrgID: "org-001", Name: "Pat"}, email); err != nil {
					t.Fatal(err)
				}
				if err := p.AddApplicant(ctx, signin.Applicant{OrgID: "org-005", OrgName: "Org org-005", Name: "Pat", Email: email}, "p-lead", time.Now()); err != nil {
					t.Fatal(err)
				}

				before := counted.Now()
				got, err := p.Lookup(ctx, " pat.lead@example.AC.uk")
				if err != nil {
					t.Fatal(err)
				}
				read := counted.Now().Sub(before)
				want := signin.Person{Email: "pat.lead@example.ac.uk",
					Leads:     []signin.Lead{{OrgID: "org-003", OrgName: "Org org-003", Name: "Pat"}, {OrgID: "org-007", OrgName: "Org org-007", Name: "Pat"}},
					Reviewer:  &signin.Reviewer{ID: "rev-pat", OrgID: "org-001", Name: "Pat"},
					Applicant: []signin.Applicant{{OrgID: "org-005", OrgName: "Org org-005", Name: "Pat", Email: "pat.lead@example.ac.uk"}},
					Pseudonym: testPseudonyms(t).Of("pat.lead@example.ac.uk")}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("the person (-want +got):\n%s", d)
				}
				if read.Scans != 0 {
					t.Errorf("the lookup scanned a collection %d times", read.Scans)
				}
				mu.Lock()
				cost[n] = read
				mu.Unlock()
			})
		}
	})
	small, large := cost[10], cost[100]
	t.Logf("a lookup with 10 people: %d finds / %d documents / %d scans; with 100: %d / %d / %d", small.Finds, small.Docs, small.Scans, large.Finds, large.Docs, large.Scans)
	if large.Finds != small.Finds || large.Docs != small.Docs {
		t.Errorf("a lookup costs %d finds / %d documents with 100 people, %d / %d with 10", large.Finds, large.Docs, small.Finds, small.Docs)
	}
}

// A lead their organisation replaced, a reviewer whose address changed and an
// applicant the lead removed lose access at once: the address still points at the
// records, but they no longer hold it.
func TestLookupFollowsTheRecordsNotTheAddresses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeople(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.SetLead(ctx, "org-1", signin.Lead{OrgName: "Org One", Name: "Ann"}, "ann@example.ac.uk"))
	must(p.SetReviewer(ctx, signin.Reviewer{ID: "rev-1", OrgID: "org-1", Name: "Ann"}, "ann@example.ac.uk"))
	must(p.AddApplicant(ctx, signin.Applicant{OrgID: "org-2", Name: "Ann", Email: "ann@example.ac.uk"}, "p-x", time.Now()))
	if ann, err := p.Lookup(ctx, "ann@example.ac.uk"); err != nil || len(ann.Leads) != 1 || ann.Reviewer == nil || len(ann.Applicant) != 1 {
		t.Fatalf("Ann before the changes: %+v (%v)", ann, err)
	}

	must(p.SetLead(ctx, "org-1", signin.Lead{Name: "Bob"}, "bob@example.ac.uk"))
	must(p.SetReviewer(ctx, signin.Reviewer{ID: "rev-1", OrgID: "org-1", Name: "Ann"}, "ann@elsewhere.ac.uk"))
	must(p.RemoveApplicant(ctx, "org-2", "ANN@example.ac.uk"))
	ann, err := p.Lookup(ctx, "ann@example.ac.uk")
	must(err)
	if ann.Known() {
		t.Errorf("Ann still has access: %+v", ann)
	}
	bob, err := p.Lookup(ctx, "bob@example.ac.uk")
	must(err)
	if d := cmp.Diff([]signin.Lead{{OrgID: "org-1", OrgName: "Org One", Name: "Bob"}}, bob.Leads); d != "" {
		t.Errorf("Bob's leads (-want +got):\n%s", d)
	}
	moved, err := p.Lookup(ctx, "ann@elsewhere.ac.uk")
	must(err)
	if moved.Reviewer == nil || moved.Reviewer.ID != "rev-1" {
		t.Errorf("the reviewer at the new address: %+v", moved)
	}

	// Given back, the records are found again through the addresses' old slots.
	must(p.SetLead(ctx, "org-1", signin.Lead{Name: "Ann"}, "ann@example.ac.uk"))
	must(p.AddApplicant(ctx, signin.Applicant{OrgID: "org-2", Name: "Ann", Email: "ann@example.ac.uk"}, "p-x", time.Now()))
	ann, err = p.Lookup(ctx, "ann@example.ac.uk")
	must(err)
	if len(ann.Leads) != 1 || len(ann.Applicant) != 1 || ann.Reviewer != nil {
		t.Errorf("Ann given back her records: %+v", ann)
	}
	if bob, _ := p.Lookup(ctx, "bob@example.ac.uk"); bob.Known() {
		t.Errorf("Bob, replaced, still has access: %+v", bob)
	}
}

// The leads consumer, the reviewers consumer and leads naming applicants on several
// replicas may record one address at the same moment; each record must still be
// found (the addresses are inserted under their unique _id, never updated).
func TestRecordsOfOneAddressRacing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	const email = "busy@example.ac.uk"
	const n = 8
	// Two replicas of the portal, each with its own read model over one database.
	var replicas [2]*signin.People
	for i := range replicas {
		p, err := signin.NewPeople(ctx, db, testPseudonyms(t))
		if err != nil {
			t.Fatal(err)
		}
		replicas[i] = p
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range n {
		p := replicas[i%2]
		wg.Add(3)
		go func() {
			defer wg.Done()
			errs <- p.SetLead(ctx, fmt.Sprintf("lead-org-%d", i), signin.Lead{Name: "Busy"}, email)
		}()
		go func() {
			defer wg.Done()
			errs <- p.AddApplicant(ctx, signin.Applicant{OrgID: fmt.Sprintf("app-org-%d", i), Name: "Busy", Email: email}, "p-x", time.Now())
		}()
		go func() {
			defer wg.Done()
			// The same record twice at once: recorded once.
			errs <- p.AddApplicant(ctx, signin.Applicant{OrgID: "app-org-0", Name: "Busy", Email: email}, "p-y", time.Now())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := replicas[0].Lookup(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Leads) != n || len(got.Applicant) != n {
		t.Errorf("after racing, %d of %d leads and %d of %d applicant records are found: %+v", len(got.Leads), n, len(got.Applicant), n, got)
	}
}

// Records kept before the addresses existed (an earlier version of the portal) are
// given their addresses when the read model opens, once: a later start reads no
// collection whole.
func TestRecordsKeptBeforeTheAddressesAreFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, testenv.EveryCollection)
	for _, ins := range []struct {
		coll string
		doc  bson.D
	}{
		{"leads", bson.D{{Key: "_id", Value: "org-1"}, {Key: "org_name", Value: "Org One"}, {Key: "email", Value: "old@example.ac.uk"}, {Key: "name", Value: "Old"}}},
		{"reviewers", bson.D{{Key: "_id", Value: "rev-1"}, {Key: "org_id", Value: "org-1"}, {Key: "email", Value: "old@example.ac.uk"}, {Key: "name", Value: "Old"}}},
		{"applicants", bson.D{{Key: "_id", Value: "org-2|old@example.ac.uk"}, {Key: "org", Value: "org-2"}, {Key: "email", Value: "old@example.ac.uk"}, {Key: "name", Value: "Old"}}},
	} {
		if _, err := db.Collection(ins.coll).InsertOne(ctx, ins.doc); err != nil {
			t.Fatal(err)
		}
	}
	p, err := signin.NewPeople(ctx, db, testPseudonyms(t))
	if err != nil {
		t.Fatal(err)
	}
	old, err := p.Lookup(ctx, "old@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	if len(old.Leads) != 1 || old.Reviewer == nil || len(old.Applicant) != 1 {
		t.Errorf("the records kept before: %+v", old)
	}
	before := counted.Now()
	if _, err := signin.NewPeople(ctx, db, testPseudonyms(t)); err != nil {
		t.Fatal(err)
	}
	if scans := counted.Now().Sub(before).Scans; scans != 0 {
		t.Errorf("a later start scanned %d collections", scans)
	}
}

// A colleague named by the lead as the role is handed on does not keep the power: the
// handover drops the outgoing lead's colleagues, and one written just after that
// (the lead's check having come before the handover) is taken off again, the lead
// told they no longer lead. It survived until the next handover.
func TestAColleagueNamedAsTheLeadIsHandedOnDoesNotKeepThePower(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeople(t)
	for i := range 40 {
		org := fmt.Sprintf("org-h%d", i)
		old, next, dev := fmt.Sprintf("old%d@example.ac.uk", i), fmt.Sprintf("new%d@example.ac.uk", i), fmt.Sprintf("dev%d@example.ac.uk", i)
		if err := p.SetLead(ctx, org, signin.Lead{Name: "Old"}, old); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var added, handed error
		wg.Go(func() {
			added = p.AddApplicantAsLead(ctx, signin.Applicant{OrgID: org, Name: "Dev", Email: dev}, old, time.Now())
		})
		wg.Go(func() {
			time.Sleep(time.Duration(i%8) * 250 * time.Microsecond)
			handed = p.SetLead(ctx, org, signin.Lead{Name: "New"}, next)
		})
		wg.Wait()
		if handed != nil || (added != nil && !errors.Is(added, signin.ErrNotTheLead)) {
			t.Fatalf("the handover: %v; the colleague: %v", handed, added)
		}
		if d, err := p.Lookup(ctx, dev); err != nil {
			t.Fatal(err)
		} else if _, ok := d.ApplicantOf(org); ok {
			t.Errorf("round %d: the outgoing lead's colleague keeps the power after the handover (named: %v)", i, added)
		}
	}
	// Named by the lead who is still the lead, the colleague stays.
	if err := p.AddApplicantAsLead(ctx, signin.Applicant{OrgID: "org-h0", Name: "Dev", Email: "kept@example.ac.uk"}, "new0@example.ac.uk", time.Now()); err != nil {
		t.Fatal(err)
	}
	if d, _ := p.Lookup(ctx, "kept@example.ac.uk"); len(d.Applicant) != 1 {
		t.Errorf("the lead's own colleague: %+v", d)
	}
}

// A colleague a lead named before pseudonyms were keyed is recorded as added by the
// lead's unkeyed pseudonym. After the upgrade the lead's announcement, replayed (a
// rebuild, a redelivery), must not take the colleague's power away as if another
// lead had named them; a new lead still does.
func TestAColleagueNamedUnderTheUnkeyedPseudonymOutlivesTheUpgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeople(t)
	const lead, colleague = "lead@example.ac.uk", "dev@example.ac.uk"
	if err := p.SetLead(ctx, "org-u", signin.Lead{Name: "Lee"}, lead); err != nil {
		t.Fatal(err)
	}
	if err := p.AddApplicant(ctx, signin.Applicant{OrgID: "org-u", Name: "Dev", Email: colleague}, signin.UnkeyedPseudonym(lead), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := p.SetLead(ctx, "org-u", signin.Lead{Name: "Lee"}, "LEAD@example.ac.uk"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Applicants(ctx, "org-u"); err != nil || len(got) != 1 {
		t.Fatalf("the colleague after the lead's announcement came again: %+v (%v); want them kept", got, err)
	}
	if err := p.SetLead(ctx, "org-u", signin.Lead{Name: "Nia"}, "new-lead@example.ac.uk"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Applicants(ctx, "org-u"); err != nil || len(got) != 0 {
		t.Errorf("the colleague after a new lead: %+v (%v); want them dropped", got, err)
	}
}

// The person Lookup finds carries their keyed pseudonym, which the tokens the portal
// signs for them as a lead take as their subject.
func TestAPersonIsFoundWithTheirKeyedPseudonym(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeople(t)
	const lead = "lead@example.ac.uk"
	if err := p.SetLead(ctx, "org-k", signin.Lead{Name: "Lee"}, lead); err != nil {
		t.Fatal(err)
	}
	person, err := p.Lookup(ctx, " Lead@Example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	want := testPseudonyms(t).Of(lead)
	if person.Pseudonym != want || person.AsLead("org-k").Subject != want {
		t.Errorf("pseudonym %q, token subject %q; want %q", person.Pseudonym, person.AsLead("org-k").Subject, want)
	}
}
