// Package adapters connects the fund service to MongoDB: the read model of
// signatories and the projected views of applications.
package adapters

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unique"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
)

// Signatories is the fund's read model of organisations.
type Signatories struct {
	coll   *mongo.Collection
	mu     sync.Mutex
	recent map[string]recentSignatory
}

var _ app.Signatories = (*Signatories)(nil)

type signatoryDoc struct {
	ID        string `bson:"_id"`
	Name      string `bson:"name"`
	Kind      string `bson:"kind"`
	Withdrawn bool   `bson:"withdrawn"`
	LeadEmail string `bson:"nominated_lead_email,omitempty"`
	// AnnouncedOn is YYYY-MM-DD, absent when recorded before it was kept.
	AnnouncedOn string `bson:"announced_on,omitempty"`
	// WithdrawnOn is YYYY-MM-DD, absent when not withdrawn or recorded before it
	// was kept.
	WithdrawnOn string `bson:"withdrawn_on,omitempty"`
	// Succeeds is the organisation this one succeeds, absent for none.
	Succeeds string `bson:"succeeds,omitempty"`
}

// NewSignatories opens the read model.
func NewSignatories(db *mongo.Database) *Signatories {
	return &Signatories{coll: db.Collection("signatories"), recent: map[string]recentSignatory{}}
}

// recentSignatory is an organisation as read at a time.
type recentSignatory struct {
	sig app.Signatory
	at  time.Time
}

// recentLimit bounds how many organisations Recent keeps in memory.
const recentLimit = 4096

// Recent is Get, but it may answer from what this process read or wrote within
// maxAge (0: it reads). The read model follows the signatory service's events
// anyway, so this adds at most maxAge to a lag that is already there.
func (s *Signatories) Recent(ctx context.Context, org string, maxAge time.Duration) (app.Signatory, bool, error) {
	s.mu.Lock()
	r, ok := s.recent[org]
	s.mu.Unlock()
	if ok && maxAge > 0 && time.Since(r.at) <= maxAge {
		return r.sig, true, nil
	}
	began := time.Now()
	sig, found, err := s.Get(ctx, org)
	if err == nil && found {
		s.keep(sig, began)
	}
	return sig, found, err
}

// keep remembers sig as it was at a time, unless something newer is remembered.
func (s *Signatories) keep(sig app.Signatory, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.recent[sig.ID]; ok && r.at.After(at) {
		return
	}
	if _, ok := s.recent[sig.ID]; !ok && len(s.recent) >= recentLimit {
		for id := range s.recent { // forget one at random
			delete(s.recent, id)
			break
		}
	}
	s.recent[sig.ID] = recentSignatory{sig: sig, at: at}
}

// Get returns what is known of an organisation.
func (s *Signatories) Get(ctx context.Context, org string) (app.Signatory, bool, error) {
	var d signatoryDoc
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: org}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return app.Signatory{}, false, nil
	}
	if err != nil {
		return app.Signatory{}, false, fmt.Errorf("read signatory %s: %w", org, store.Classify(err))
	}
	sig := app.Signatory{ID: d.ID, Name: d.Name, Kind: d.Kind, Withdrawn: d.Withdrawn, NominatedLeadEmail: d.LeadEmail, Succeeds: d.Succeeds}
	if d.AnnouncedOn != "" {
		if sig.AnnouncedOn, err = civil.Parse(d.AnnouncedOn); err != nil {
			return app.Signatory{}, false, fmt.Errorf("read signatory %s: announced_on: %w", org, err)
		}
	}
	if d.WithdrawnOn != "" {
		if sig.WithdrawnOn, err = civil.Parse(d.WithdrawnOn); err != nil {
			return app.Signatory{}, false, fmt.Errorf("read signatory %s: withdrawn_on: %w", org, err)
		}
	}
	return sig, true, nil
}

// Put records an organisation.
func (s *Signatories) Put(ctx context.Context, sig app.Signatory) error {
	began := time.Now()
	err := store.Replace(ctx, s.coll, sig.ID,
		signatoryDoc{ID: sig.ID, Name: sig.Name, Kind: sig.Kind, Withdrawn: sig.Withdrawn, LeadEmail: sig.NominatedLeadEmail,
			AnnouncedOn: dateOrNone(sig.AnnouncedOn), WithdrawnOn: dateOrNone(sig.WithdrawnOn), Succeeds: sig.Succeeds})
	if err != nil {
		return fmt.Errorf("write signatory %s: %w", sig.ID, store.Classify(err))
	}
	s.keep(sig, began)
	return nil
}

// Forget blanks the person whose address has digest subject in every organisation
// that names them (personal.Forget), and drops those organisations from this
// process's memory of recent reads: a read, then a replace of each, so only the
// read model's one writer, the consumer of the signatory's events, calls it.
func (s *Signatories) Forget(ctx context.Context, subject string) error {
	ids, err := personal.Forget(ctx, s.coll, subject, false)
	s.mu.Lock()
	for _, id := range ids {
		if org, ok := id.(string); ok {
			delete(s.recent, org)
		}
	}
	s.mu.Unlock()
	return err
}

// dateOrNone is d as YYYY-MM-DD, or "" for no date.
func dateOrNone(d civil.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// Views is the applications view.
//
// Lists are answered from a Mirror of the view collection's list fields, held in
// memory by every replica and kept in id order overall, per organisation, per round
// and per status. On the embedded store a filtered, sorted query read and sorted every
// application on every page (2.5-3 s with 60,000 of them in a burst); from memory a
// page costs its own entries, and keeping up with other replicas' changes is a lookup
// by _id. The page's applications themselves are then loaded from the event store.
// The secondary indexes serve operational queries on MongoDB.
type Views struct {
	views  *store.Views
	mirror *store.Mirror[entry]

	lists *store.Lists[entry]
}

var _ app.Views = (*Views)(nil)

type viewDoc struct {
	ID          string `bson:"_id"`
	RoundID     string `bson:"round_id"`
	Org         string `bson:"organisation_id"`
	Status      string `bson:"status"`
	Title       string `bson:"title"`
	ReportDue   bool   `bson:"report_due"`
	HasReport   bool   `bson:"has_report"`
	AwardPence  int64  `bson:"award_pence"`
	Version     int    `bson:"version"`
	RequestedPc int64  `bson:"requested_pence"`
}

// entry is what the lists filter on: the view's fields of the same names.
type entry struct {
	ID        string `bson:"_id"`
	RoundID   string `bson:"round_id"`
	Org       string `bson:"organisation_id"`
	Status    string `bson:"status"`
	ReportDue bool   `bson:"report_due"`
	HasReport bool   `bson:"has_report"`
	Version   int    `bson:"version"`
}

// NewViews opens the view and its indexes, and reads the list fields of every view
// into memory.
func NewViews(ctx context.Context, db *mongo.Database) (*Views, error) {
	v, err := store.NewViews(ctx, db, "application_views",
		mongo.IndexModel{Keys: bson.D{{Key: "organisation_id", Value: 1}, {Key: "_id", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "round_id", Value: 1}, {Key: "status", Value: 1}}},
	)
	if err != nil {
		return nil, err
	}
	out := &Views{views: v, lists: store.NewLists(
		func(e entry) string { return e.ID },
		func(e entry) []string { return []string{"org=" + e.Org, "round=" + e.RoundID, "status=" + e.Status} },
		func(a, b entry) int { return cmp.Compare(a.ID, b.ID) },
		func(held, given entry) bool { return given.Version > held.Version },
	)}
	project := bson.D{}
	for _, f := range []string{"round_id", "organisation_id", "status", "report_due", "has_report", "version"} {
		project = append(project, bson.E{Key: f, Value: 1})
	}
	if out.mirror, err = store.NewMirror(v.Collection(), "application_views_changes", project, out.apply); err != nil {
		return nil, err
	}
	if err := out.mirror.Sync(ctx); err != nil {
		return nil, fmt.Errorf("read application views: %w", err)
	}
	return out, nil
}

// Save writes applications' views, each as of its version, in one round trip for
// new ones and one for the rest, then records them for every replica's lists. A
// failure is redelivered to the projection, which saves again.
func (v *Views) Save(ctx context.Context, apps ...*application.Application) error {
	views := make([]store.View, len(apps))
	entries := make([]entry, len(apps))
	for i, a := range apps {
		d := viewDoc{
			ID: a.ID(), RoundID: a.RoundID(), Org: a.OrganisationID(), Status: string(a.Status()), Title: a.Content().Title,
			ReportDue: a.ReportIsDue(), HasReport: a.Report() != nil, AwardPence: a.AwardPence(), Version: a.Version(),
			RequestedPc: a.Content().RequestedAmountPence,
		}
		views[i] = store.View{ID: a.ID(), Version: a.Version(), Doc: d}
		entries[i] = entry{ID: d.ID, RoundID: d.RoundID, Org: d.Org, Status: d.Status, ReportDue: d.ReportDue, HasReport: d.HasReport, Version: d.Version}
	}
	if err := v.views.PutMany(ctx, views); err != nil {
		return err
	}
	return v.mirror.Record(ctx, entries...)
}

// apply takes entries into memory, keeping the newer version of each.
func (v *Views) apply(entries []entry) {
	for i, e := range entries {
		// Tens of thousands of entries share a few rounds, statuses and organisations.
		entries[i].RoundID, entries[i].Org, entries[i].Status = unique.Make(e.RoundID).Value(), unique.Make(e.Org).Value(), unique.Make(e.Status).Value()
	}
	v.lists.Apply(entries)
}

// List pages through applications in id order.
func (v *Views) List(ctx context.Context, q app.ListQuery) (app.Page, error) {
	var from *entry // the last entry of the page before
	if q.Cursor != "" {
		var c cursor
		if err := store.DecodeCursor(q.Cursor, &c); err != nil || c.ID == "" {
			return app.Page{}, store.BadCursor()
		}
		from = &entry{ID: c.ID}
	}
	if err := v.mirror.Sync(ctx); err != nil {
		return app.Page{}, err
	}
	var names []string
	for _, name := range []string{"org=" + q.Org, "round=" + q.RoundID, "status=" + string(q.Status)} {
		if !strings.HasSuffix(name, "=") {
			names = append(names, name)
		}
	}
	match := func(e entry) bool {
		return (q.Org == "" || e.Org == q.Org) && (q.RoundID == "" || e.RoundID == q.RoundID) && (q.Status == "" || e.Status == string(q.Status))
	}
	entries, more := v.lists.Page(names, from, match, q.Limit)
	page := app.Page{IDs: make([]string, 0, len(entries)), Versions: make(map[string]int, len(entries))}
	if len(names) <= 1 {
		// One list holds exactly what matches: its length is the count.
		page.Total = v.lists.Count(names, nil)
	} else {
		page.Total = v.lists.Count(names, match)
	}
	for _, e := range entries {
		page.IDs = append(page.IDs, e.ID)
		page.Versions[e.ID] = e.Version
	}
	if more && len(entries) > 0 {
		page.NextCursor = store.EncodeCursor(cursor{ID: entries[len(entries)-1].ID})
	}
	return page, nil
}

// Newest returns the ids of up to n applications, the newest first: ids are
// time-ordered, so they are the end of the mirror's id order.
func (v *Views) Newest(ctx context.Context, n int) ([]string, error) {
	if err := v.mirror.Sync(ctx); err != nil {
		return nil, err
	}
	entries := v.lists.Last(n)
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out, nil
}

// inRound returns the entries of a round that match.
func (v *Views) inRound(ctx context.Context, roundID string, match func(entry) bool) ([]entry, error) {
	if err := v.mirror.Sync(ctx); err != nil {
		return nil, err
	}
	out, _ := v.lists.Page([]string{"round=" + roundID}, nil, func(e entry) bool { return e.RoundID == roundID && match(e) }, math.MaxInt)
	return out, nil
}

// Counts is how many of a round's applications stand in each status, from memory.
func (v *Views) Counts(ctx context.Context, roundID string) (map[application.Status]int, error) {
	if err := v.mirror.Sync(ctx); err != nil {
		return nil, err
	}
	out := map[application.Status]int{}
	v.lists.Each("round="+roundID, func(e entry) { out[application.Status(e.Status)]++ })
	return out, nil
}

// FundedOrganisations lists the organisations awarded a grant in a round.
func (v *Views) FundedOrganisations(ctx context.Context, roundID string) ([]string, error) {
	es, err := v.inRound(ctx, roundID, func(e entry) bool { return e.Status == string(application.StatusAwarded) })
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Org)
	}
	return out, nil
}

// InRound lists every application of a round, whatever its status.
func (v *Views) InRound(ctx context.Context, roundID string) ([]string, error) {
	return v.idsInRound(ctx, roundID, func(entry) bool { return true })
}

// AwaitingReport lists awarded applications of a round not yet told their report is due.
func (v *Views) AwaitingReport(ctx context.Context, roundID string) ([]string, error) {
	return v.idsInRound(ctx, roundID, func(e entry) bool {
		return e.Status == string(application.StatusAwarded) && !e.ReportDue && !e.HasReport
	})
}

// ReportOutstanding lists awarded applications of a round told their report is due
// whose report is not in.
func (v *Views) ReportOutstanding(ctx context.Context, roundID string) ([]string, error) {
	return v.idsInRound(ctx, roundID, func(e entry) bool {
		return e.Status == string(application.StatusAwarded) && e.ReportDue && !e.HasReport
	})
}

// idsInRound lists the ids of a round's applications that keep holds for.
func (v *Views) idsInRound(ctx context.Context, roundID string, keep func(entry) bool) ([]string, error) {
	es, err := v.inRound(ctx, roundID, keep)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out, nil
}

// cursor is the position after a page of applications.
type cursor struct {
	ID string `json:"id"`
}
