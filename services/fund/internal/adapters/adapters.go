// Package adapters connects the fund service to MongoDB: the read model of
// signatories and the projected views of applications.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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
	return app.Signatory{ID: d.ID, Name: d.Name, Kind: d.Kind, Withdrawn: d.Withdrawn,
		NominatedLeadEmail: d.LeadEmail}, true, nil
}

// Put records an organisation.
func (s *Signatories) Put(ctx context.Context, sig app.Signatory) error {
	began := time.Now()
	_, err := s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: sig.ID}},
		signatoryDoc{ID: sig.ID, Name: sig.Name, Kind: sig.Kind, Withdrawn: sig.Withdrawn, LeadEmail: sig.NominatedLeadEmail},
		options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("write signatory %s: %w", sig.ID, store.Classify(err))
	}
	s.keep(sig, began)
	return nil
}

// Views is the applications view.
type Views struct {
	views *store.Views
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

// NewViews opens the view and its indexes.
func NewViews(ctx context.Context, db *mongo.Database) (*Views, error) {
	v, err := store.NewViews(ctx, db, "application_views",
		mongo.IndexModel{Keys: bson.D{{Key: "organisation_id", Value: 1}, {Key: "_id", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "round_id", Value: 1}, {Key: "status", Value: 1}}},
	)
	if err != nil {
		return nil, err
	}
	return &Views{views: v}, nil
}

// Save writes applications' views, each as of its version, in one round trip for
// new ones and one for the rest.
func (v *Views) Save(ctx context.Context, apps ...*application.Application) error {
	views := make([]store.View, len(apps))
	for i, a := range apps {
		views[i] = store.View{ID: a.ID(), Version: a.Version(), Doc: viewDoc{
			ID: a.ID(), RoundID: a.RoundID(), Org: a.OrganisationID(), Status: string(a.Status()), Title: a.Content().Title,
			ReportDue: a.ReportIsDue(), HasReport: a.Report() != nil, AwardPence: a.AwardPence(), Version: a.Version(),
			RequestedPc: a.Content().RequestedAmountPence,
		}}
	}
	return v.views.PutMany(ctx, views)
}

// List pages through applications in id order.
func (v *Views) List(ctx context.Context, q app.ListQuery) (app.Page, error) {
	filter := bson.D{}
	if q.Org != "" {
		filter = append(filter, bson.E{Key: "organisation_id", Value: q.Org})
	}
	if q.RoundID != "" {
		filter = append(filter, bson.E{Key: "round_id", Value: q.RoundID})
	}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	if q.Cursor != "" {
		var c cursor
		if err := store.DecodeCursor(q.Cursor, &c); err != nil || c.ID == "" {
			return app.Page{}, store.BadCursor()
		}
		id := c.ID
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: id}}})
	}
	docs, err := v.find(ctx, filter, q.Limit+1)
	if err != nil {
		return app.Page{}, err
	}
	page := app.Page{IDs: []string{}}
	for i, d := range docs {
		if i == q.Limit {
			page.NextCursor = store.EncodeCursor(cursor{ID: docs[i-1].ID})
			break
		}
		page.IDs = append(page.IDs, d.ID)
	}
	return page, nil
}

// FundedOrganisations lists the organisations awarded a grant in a round.
func (v *Views) FundedOrganisations(ctx context.Context, roundID string) ([]string, error) {
	docs, err := v.find(ctx, bson.D{{Key: "round_id", Value: roundID}, {Key: "status", Value: string(application.StatusAwarded)}}, 0)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.Org)
	}
	return out, nil
}

// AwaitingReport lists awarded applications of a round not yet told their report is due.
func (v *Views) AwaitingReport(ctx context.Context, roundID string) ([]string, error) {
	docs, err := v.find(ctx, bson.D{{Key: "round_id", Value: roundID}, {Key: "status", Value: string(application.StatusAwarded)},
		{Key: "report_due", Value: false}, {Key: "has_report", Value: false}}, 0)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.ID)
	}
	return out, nil
}

func (v *Views) find(ctx context.Context, filter bson.D, limit int) ([]viewDoc, error) {
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := v.views.Collection().Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("query applications: %w", store.Classify(err))
	}
	var docs []viewDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("query applications: %w", store.Classify(err))
	}
	return docs, nil
}

// cursor is the position after a page of applications.
type cursor struct {
	ID string `json:"id"`
}
