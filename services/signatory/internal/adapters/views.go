// Package adapters connects the signatory service to MongoDB: the projected views of
// organisations that answer list and directory queries.
package adapters

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/signatory/internal/app"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

// Views is the organisations view collection.
type Views struct {
	views *store.Views
}

var _ app.Views = (*Views)(nil)

// viewDoc is one organisation as projected.
type viewDoc struct {
	ID          string     `bson:"_id"`
	Name        string     `bson:"name"`
	Kind        string     `bson:"kind"`
	Sector      string     `bson:"sector"`
	Country     string     `bson:"country"`
	Website     string     `bson:"website"`
	PlanPage    string     `bson:"plan_page"`
	Status      string     `bson:"status"`
	AnnouncedOn string     `bson:"announced_on"`
	NextDue     string     `bson:"next_due"`
	Contact     contactDoc `bson:"point_of_contact"`
	Version     int        `bson:"version"`
}

type contactDoc struct {
	Name  string `bson:"name"`
	Title string `bson:"title"`
	Email string `bson:"email"`
}

// NewViews opens the view collection and its indexes.
func NewViews(ctx context.Context, db *mongo.Database) (*Views, error) {
	v, err := store.NewViews(ctx, db, "organisation_views",
		mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: "name", Value: 1}, {Key: "_id", Value: 1}}},
	)
	if err != nil {
		return nil, err
	}
	return &Views{views: v}, nil
}

// Save writes the organisation's current view.
func (v *Views) Save(ctx context.Context, o *organisation.Organisation) error {
	q, c := o.Enquiry(), o.Contacts()
	doc := viewDoc{
		ID: o.ID(), Name: q.Name, Kind: string(q.Kind), Sector: q.Sector, Country: q.Country, Website: q.Website,
		PlanPage: c.PlanPage, Status: string(o.Status()), AnnouncedOn: o.AnnouncedOn().String(),
		Contact: contactDoc{Name: c.PointOfContact.Name, Title: c.PointOfContact.Title, Email: c.PointOfContact.Email},
		Version: o.Version(),
	}
	if ob, ok := o.OpenObligation(); ok {
		doc.NextDue = ob.Due.String()
	}
	return v.views.Put(ctx, o.ID(), doc)
}

// List pages through organisations in id order (ids are time-ordered, so oldest first).
func (v *Views) List(ctx context.Context, q app.ListQuery) (app.Page[app.Summary], error) {
	filter := bson.D{}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	if q.Kind != "" {
		filter = append(filter, bson.E{Key: "kind", Value: string(q.Kind)})
	}
	if q.Cursor != "" {
		var c struct{ ID string }
		if err := store.DecodeCursor(q.Cursor, &c); err != nil || c.ID == "" {
			return app.Page[app.Summary]{}, store.BadCursor()
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: c.ID}}})
	}
	docs, err := v.find(ctx, filter, bson.D{{Key: "_id", Value: 1}}, q.Limit)
	if err != nil {
		return app.Page[app.Summary]{}, err
	}
	page := app.Page[app.Summary]{Items: []app.Summary{}}
	for i, d := range docs {
		if i == q.Limit {
			page.NextCursor = store.EncodeCursor(struct{ ID string }{docs[i-1].ID})
			break
		}
		page.Items = append(page.Items, app.Summary{
			ID: d.ID, Name: d.Name, Kind: organisation.Kind(d.Kind), Sector: d.Sector, Country: d.Country,
			Status: organisation.Status(d.Status), AnnouncedOn: parseDate(d.AnnouncedOn), NextDue: parseDate(d.NextDue), Version: d.Version,
		})
	}
	return page, nil
}

// Directory pages through announced organisations by name.
func (v *Views) Directory(ctx context.Context, q app.DirectoryQuery) (app.Page[app.DirectoryEntry], error) {
	// An announcement may be recorded ahead: the organisation is listed from its day.
	// Dates are stored as YYYY-MM-DD, so they compare as strings.
	filter := bson.D{
		{Key: "status", Value: string(organisation.StatusAnnounced)},
		{Key: "announced_on", Value: bson.D{{Key: "$lte", Value: q.Today.String()}}},
	}
	if q.Kind != "" {
		filter = append(filter, bson.E{Key: "kind", Value: string(q.Kind)})
	}
	if q.Cursor != "" {
		var c struct{ Name, ID string }
		if err := store.DecodeCursor(q.Cursor, &c); err != nil || c.ID == "" {
			return app.Page[app.DirectoryEntry]{}, store.BadCursor()
		}
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "name", Value: bson.D{{Key: "$gt", Value: c.Name}}}},
			bson.D{{Key: "name", Value: c.Name}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: c.ID}}}},
		}})
	}
	docs, err := v.find(ctx, filter, bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}, q.Limit)
	if err != nil {
		return app.Page[app.DirectoryEntry]{}, err
	}
	page := app.Page[app.DirectoryEntry]{Items: []app.DirectoryEntry{}}
	for i, d := range docs {
		if i == q.Limit {
			last := docs[i-1]
			page.NextCursor = store.EncodeCursor(struct{ Name, ID string }{last.Name, last.ID})
			break
		}
		page.Items = append(page.Items, app.DirectoryEntry{
			ID: d.ID, Name: d.Name, Kind: organisation.Kind(d.Kind), AnnouncedOn: parseDate(d.AnnouncedOn),
			Website: d.Website, PlanPage: d.PlanPage,
			PointOfContact: organisation.Person{Name: d.Contact.Name, Title: d.Contact.Title, Email: d.Contact.Email},
		})
	}
	return page, nil
}

// find reads one more document than the page holds, to know whether another page follows.
func (v *Views) find(ctx context.Context, filter, sort bson.D, limit int) ([]viewDoc, error) {
	cur, err := v.views.Collection().Find(ctx, filter, options.Find().SetSort(sort).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, fmt.Errorf("query organisations: %w", store.Classify(err))
	}
	var docs []viewDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("query organisations: %w", store.Classify(err))
	}
	return docs, nil
}

func parseDate(s string) civil.Date {
	d, _ := civil.Parse(s)
	return d
}
