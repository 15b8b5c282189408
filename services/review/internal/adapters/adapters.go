// Package adapters connects the review service to MongoDB: its read model of
// organisations, built from the signatory service's events.
package adapters

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/review/internal/app"
)

// Organisations is the review service's read model of organisations.
type Organisations struct {
	coll *mongo.Collection
}

var _ app.Organisations = (*Organisations)(nil)

type organisationDoc struct {
	ID              string `bson:"_id"`
	Name            string `bson:"name"`
	Kind            string `bson:"kind,omitempty"`
	Announced       bool   `bson:"announced"`
	Withdrawn       bool   `bson:"withdrawn"`
	LeadName        string `bson:"lead_name"`
	LeadEmail       string `bson:"lead_email"`
	ObligationID    string `bson:"obligation_id"`
	ObligationKind  string `bson:"obligation_kind"`
	ObligationCycle int    `bson:"obligation_cycle"`
	// WindowOpens is the obligation window's first day, YYYY-MM-DD ("" when unknown).
	WindowOpens string `bson:"window_opens,omitempty"`
	// AnnouncedOn is the announcement's date, YYYY-MM-DD ("" when recorded before it was kept).
	AnnouncedOn string `bson:"announced_on,omitempty"`
	// Succeeds and SucceededBy are the records this one succeeds and is succeeded by
	// (absent for none).
	Succeeds    string `bson:"succeeds,omitempty"`
	SucceededBy string `bson:"succeeded_by,omitempty"`
}

// NewOrganisations opens the read model.
func NewOrganisations(db *mongo.Database) *Organisations {
	return &Organisations{coll: db.Collection("organisations")}
}

// Get returns what is known of an organisation.
func (s *Organisations) Get(ctx context.Context, id string) (app.Organisation, bool, error) {
	var d organisationDoc
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return app.Organisation{}, false, nil
	}
	if err != nil {
		return app.Organisation{}, false, fmt.Errorf("read organisation %s: %w", id, store.Classify(err))
	}
	o := app.Organisation{ID: d.ID, Name: d.Name, Kind: d.Kind, Announced: d.Announced, Withdrawn: d.Withdrawn, LeadName: d.LeadName, LeadEmail: d.LeadEmail,
		ObligationID: d.ObligationID, ObligationKind: d.ObligationKind, ObligationCycle: d.ObligationCycle, Succeeds: d.Succeeds, SucceededBy: d.SucceededBy}
	if d.WindowOpens != "" {
		if o.WindowOpens, err = civil.Parse(d.WindowOpens); err != nil {
			return app.Organisation{}, false, fmt.Errorf("read organisation %s: window_opens: %w", id, err)
		}
	}
	if d.AnnouncedOn != "" {
		if o.AnnouncedOn, err = civil.Parse(d.AnnouncedOn); err != nil {
			return app.Organisation{}, false, fmt.Errorf("read organisation %s: announced_on: %w", id, err)
		}
	}
	return o, true, nil
}

// Withdrawn lists the organisations that have withdrawn from the Commitment, by id:
// a few among the organisations, read in one query rather than one by one.
func (s *Organisations) Withdrawn(ctx context.Context) (map[string]bool, error) {
	cur, err := s.coll.Find(ctx, bson.D{{Key: "withdrawn", Value: true}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("read the withdrawn organisations: %w", store.Classify(err))
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read the withdrawn organisations: %w", store.Classify(err))
	}
	out := make(map[string]bool, len(docs))
	for _, d := range docs {
		out[d.ID] = true
	}
	return out, nil
}

// Names returns every organisation's name, by id, in one query: what a replica
// holds at start to name them (app.Warm).
func (s *Organisations) Names(ctx context.Context) (map[string]string, error) {
	cur, err := s.coll.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "name", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("read the organisations' names: %w", store.Classify(err))
	}
	var docs []struct {
		ID   string `bson:"_id"`
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read the organisations' names: %w", store.Classify(err))
	}
	out := make(map[string]string, len(docs))
	for _, d := range docs {
		out[d.ID] = d.Name
	}
	return out, nil
}

// Forget blanks the person whose address has digest subject in every organisation
// that names them (personal.Forget): a read, then a replace of each, so only the
// read model's one writer, the consumer of the signatory's events, calls it.
func (s *Organisations) Forget(ctx context.Context, subject string) error {
	_, err := personal.Forget(ctx, s.coll, subject, false)
	return err
}

// Put records an organisation. Only the single ordered consumer of signatory events
// writes it, so a plain replace is safe.
func (s *Organisations) Put(ctx context.Context, o app.Organisation) error {
	err := store.Replace(ctx, s.coll, o.ID, organisationDoc{
		ID: o.ID, Name: o.Name, Kind: o.Kind, Announced: o.Announced, Withdrawn: o.Withdrawn, LeadName: o.LeadName, LeadEmail: o.LeadEmail,
		ObligationID: o.ObligationID, ObligationKind: o.ObligationKind, ObligationCycle: o.ObligationCycle, WindowOpens: dateString(o.WindowOpens),
		AnnouncedOn: dateString(o.AnnouncedOn), Succeeds: o.Succeeds, SucceededBy: o.SucceededBy,
	})
	if err != nil {
		return fmt.Errorf("write organisation %s: %w", o.ID, store.Classify(err))
	}
	return nil
}

func dateString(d civil.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}
