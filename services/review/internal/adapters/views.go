package adapters

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/review/internal/app"
)

// SubmissionViews is the per-organisation view of submissions: one document per
// organisation, read and written by _id.
type SubmissionViews struct {
	views *store.Views
}

var _ app.SubmissionViews = (*SubmissionViews)(nil)

type submissionViewDoc struct {
	ID          string               `bson:"_id"`
	Submissions []submissionEntryDoc `bson:"submissions"`
}

type submissionEntryDoc struct {
	ID          string    `bson:"id"`
	Submitted   bool      `bson:"submitted"`
	RoundID     string    `bson:"round_id,omitempty"`
	Released    bool      `bson:"released,omitempty"`
	CreatedAt   time.Time `bson:"created_at"`
	SubmittedAt time.Time `bson:"submitted_at,omitempty"`
}

// NewSubmissionViews opens the view.
func NewSubmissionViews(ctx context.Context, db *mongo.Database) (*SubmissionViews, error) {
	v, err := store.NewViews(ctx, db, "submission_views")
	if err != nil {
		return nil, err
	}
	return &SubmissionViews{views: v}, nil
}

// Get returns an organisation's entries.
func (s *SubmissionViews) Get(ctx context.Context, org string) ([]app.SubmissionEntry, error) {
	var d submissionViewDoc
	if _, err := s.views.Get(ctx, org, &d); err != nil {
		return nil, err
	}
	return entriesOf(d), nil
}

// Put replaces an organisation's entries.
func (s *SubmissionViews) Put(ctx context.Context, org string, entries []app.SubmissionEntry) error {
	d := submissionViewDoc{ID: org, Submissions: make([]submissionEntryDoc, len(entries))}
	for i, e := range entries {
		d.Submissions[i] = submissionEntryDoc{ID: e.ID, Submitted: e.Submitted, RoundID: e.RoundID, Released: e.Released, CreatedAt: e.CreatedAt, SubmittedAt: e.SubmittedAt}
	}
	return s.views.Put(ctx, org, d)
}

// All returns every organisation's entries.
func (s *SubmissionViews) All(ctx context.Context) (map[string][]app.SubmissionEntry, error) {
	cur, err := s.views.Collection().Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("list submission views: %w", store.Classify(err))
	}
	var docs []submissionViewDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read submission views: %w", store.Classify(err))
	}
	out := make(map[string][]app.SubmissionEntry, len(docs))
	for _, d := range docs {
		out[d.ID] = entriesOf(d)
	}
	return out, nil
}

func entriesOf(d submissionViewDoc) []app.SubmissionEntry {
	out := make([]app.SubmissionEntry, len(d.Submissions))
	for i, e := range d.Submissions {
		out[i] = app.SubmissionEntry{ID: e.ID, Submitted: e.Submitted, RoundID: e.RoundID, Released: e.Released, CreatedAt: e.CreatedAt.UTC(), SubmittedAt: e.SubmittedAt.UTC()}
	}
	return out
}
