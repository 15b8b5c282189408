// Package adapters connects the signatory service to MongoDB: the projected views of
// organisations that answer list and directory queries.
package adapters

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/signatory/internal/app"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

// Views is the organisations view collection.
//
// The list and the directory are answered from a copy of the whole collection held
// in memory, read again only when a view has changed since. The embedded store
// (FerretDB on SQLite) answers no query from an index but a lookup by _id: every
// filtered, sorted page read and sorted the whole collection, on every request. The
// Commitment has a few hundred organisations, so the copy is small, and it changes
// only when an organisation does. Whether it is current is one lookup by _id: every
// Save writes a new random stamp after the view, and a read whose stamp differs
// from the copy's reads the collection again. Replicas share the stamp, so a view
// projected by one is seen by all.
type Views struct {
	views  *store.Views
	stamps *store.Views
	// successions holds, by the id of a record that withdrew, the record claimed as
	// its successor (ClaimSuccession).
	successions *mongo.Collection

	mu     sync.Mutex
	cached *snapshot
}

var _ app.Views = (*Views)(nil)

// snapshot is the view collection as read at one stamp. It is never changed once
// built, so readers share it without a lock.
type snapshot struct {
	stamp  string
	byID   []viewDoc // in id order: the ops list
	byName []viewDoc // announced organisations in name, id order: the directory
}

// stampID is the one document of the stamp collection.
const stampID = "organisation_views"

type stampDoc struct {
	ID    string `bson:"_id"`
	Stamp string `bson:"stamp"`
}

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
	// Succeeds is the organisation this one succeeds (absent from earlier views).
	Succeeds string `bson:"succeeds,omitempty"`
	// folded is the name folded to lower case, for the name filter (the copy's, made
	// when it is read).
	folded string `bson:"-"`
	// order is the name's key in the directory's alphabetical order (see sortKey).
	order []byte `bson:"-"`
}

// The directory is in alphabetical order as a reader of British English expects it:
// "aardvark Institute" before "Window University", "Éire Tech" among the Es, where
// comparing the names' bytes put lower case and accented letters after every capital.
var (
	collatorMu sync.Mutex
	collator   = collate.New(language.BritishEnglish)
	collateBuf collate.Buffer
)

// sortKey is name's key in the directory's order; keys compare as bytes.
func sortKey(name string) []byte {
	collatorMu.Lock()
	defer collatorMu.Unlock()
	collateBuf.Reset()
	return bytes.Clone(collator.KeyFromString(&collateBuf, name))
}

// byOrder compares two entries of the directory: by name's key, then name, then id.
func byOrder(aKey []byte, aName, aID string, bKey []byte, bName, bID string) int {
	return cmp.Or(bytes.Compare(aKey, bKey), cmp.Compare(aName, bName), cmp.Compare(aID, bID))
}

// matchesName says whether the organisation's name contains folded (a lower-case
// filter; "" matches every name).
func (d viewDoc) matchesName(folded string) bool {
	return folded == "" || strings.Contains(d.folded, folded)
}

type contactDoc struct {
	Name  string `bson:"name"`
	Title string `bson:"title"`
	Email string `bson:"email"`
}

// NewViews opens the view collection and its stamp.
func NewViews(ctx context.Context, db *mongo.Database) (*Views, error) {
	v, err := store.NewViews(ctx, db, "organisation_views")
	if err != nil {
		return nil, err
	}
	stamps, err := store.NewViews(ctx, db, "organisation_views_stamp")
	if err != nil {
		return nil, err
	}
	out := &Views{views: v, stamps: stamps, successions: db.Collection("successions")}
	// Read the copy at start, so that the first list after a restart costs what
	// the next ones do.
	if _, err := out.current(ctx); err != nil {
		return nil, fmt.Errorf("read organisation views: %w", err)
	}
	return out, nil
}

// Save writes the organisation's current view, then a new stamp so that every
// replica reads the collection again.
func (v *Views) Save(ctx context.Context, o *organisation.Organisation) error {
	q, c := o.Enquiry(), o.Contacts()
	doc := viewDoc{
		ID: o.ID(), Name: q.Name, Kind: string(q.Kind), Sector: q.Sector, Country: q.Country, Website: q.Website,
		PlanPage: c.PlanPage, Status: string(o.Status()), AnnouncedOn: o.AnnouncedOn().String(),
		Contact: contactDoc{Name: c.PointOfContact.Name, Title: c.PointOfContact.Title, Email: c.PointOfContact.Email},
		Version: o.Version(), Succeeds: o.Succeeds(),
	}
	if ob, ok := o.OpenObligation(); ok {
		doc.NextDue = ob.Due.String()
	}
	if err := v.views.Put(ctx, o.ID(), doc); err != nil {
		return err
	}
	return v.stamps.Put(ctx, stampID, stampDoc{ID: stampID, Stamp: rand.Text()})
}

// current returns the copy of the collection, reading it again if a view changed
// since it was taken. The stamp is read before the collection: a Save in between
// leaves a newer stamp, and the next read takes a new copy.
func (v *Views) current(ctx context.Context) (*snapshot, error) {
	var st stampDoc
	if _, err := v.stamps.Get(ctx, stampID, &st); err != nil {
		return nil, err
	}
	v.mu.Lock()
	cached := v.cached
	v.mu.Unlock()
	if cached != nil && cached.stamp == st.Stamp {
		return cached, nil
	}
	cur, err := v.views.Collection().Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("read organisation views: %w", store.Classify(err))
	}
	var docs []viewDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read organisation views: %w", store.Classify(err))
	}
	for i := range docs {
		docs[i].folded = strings.ToLower(docs[i].Name)
		docs[i].order = sortKey(docs[i].Name)
	}
	s := &snapshot{stamp: st.Stamp, byID: docs}
	slices.SortFunc(s.byID, func(a, b viewDoc) int { return cmp.Compare(a.ID, b.ID) })
	for _, d := range s.byID {
		if d.Status == string(organisation.StatusAnnounced) {
			s.byName = append(s.byName, d)
		}
	}
	slices.SortFunc(s.byName, func(a, b viewDoc) int { return byOrder(a.order, a.Name, a.ID, b.order, b.Name, b.ID) })
	v.mu.Lock()
	v.cached = s
	v.mu.Unlock()
	return s, nil
}

// List pages through organisations in id order (ids are time-ordered, so oldest first).
func (v *Views) List(ctx context.Context, q app.ListQuery) (app.Page[app.Summary], error) {
	var after struct{ ID string }
	if q.Cursor != "" {
		if err := store.DecodeCursor(q.Cursor, &after); err != nil || after.ID == "" {
			return app.Page[app.Summary]{}, store.BadCursor()
		}
	}
	s, err := v.current(ctx)
	if err != nil {
		return app.Page[app.Summary]{}, err
	}
	start, _ := slices.BinarySearchFunc(s.byID, after.ID, func(d viewDoc, id string) int {
		if d.ID <= id {
			return -1
		}
		return 1
	})
	name := strings.ToLower(q.Name)
	match := func(d viewDoc) bool {
		return (q.Status == "" || d.Status == string(q.Status)) && (q.Kind == "" || d.Kind == string(q.Kind)) && d.matchesName(name)
	}
	// The total walks the whole copy: a few hundred organisations in memory.
	page := app.Page[app.Summary]{Items: []app.Summary{}, Total: countFunc(s.byID, match)}
	for _, d := range s.byID[start:] {
		if !match(d) {
			continue
		}
		if len(page.Items) == q.Limit {
			last := page.Items[len(page.Items)-1]
			page.NextCursor = store.EncodeCursor(struct{ ID string }{last.ID})
			break
		}
		page.Items = append(page.Items, app.Summary{
			ID: d.ID, Name: d.Name, Kind: organisation.Kind(d.Kind), Sector: d.Sector, Country: d.Country,
			Status: organisation.Status(d.Status), AnnouncedOn: parseDate(d.AnnouncedOn), NextDue: parseDate(d.NextDue), Version: d.Version,
		})
	}
	return page, nil
}

// Directory pages through announced organisations by name: those announced on or
// before q.Today, since an announcement may be recorded ahead. Dates are kept as
// YYYY-MM-DD, so they compare as strings.
func (v *Views) Directory(ctx context.Context, q app.DirectoryQuery) (app.Page[app.DirectoryEntry], error) {
	var after struct{ Name, ID string }
	if q.Cursor != "" {
		if err := store.DecodeCursor(q.Cursor, &after); err != nil || after.ID == "" {
			return app.Page[app.DirectoryEntry]{}, store.BadCursor()
		}
	}
	s, err := v.current(ctx)
	if err != nil {
		return app.Page[app.DirectoryEntry]{}, err
	}
	start := 0
	if q.Cursor != "" {
		key := sortKey(after.Name)
		start, _ = slices.BinarySearchFunc(s.byName, after, func(d viewDoc, c struct{ Name, ID string }) int {
			if byOrder(d.order, d.Name, d.ID, key, c.Name, c.ID) <= 0 {
				return -1
			}
			return 1
		})
	}
	today, name := q.Today.String(), strings.ToLower(q.Name)
	page := app.Page[app.DirectoryEntry]{Items: []app.DirectoryEntry{}}
	for _, d := range s.byName[start:] {
		if d.AnnouncedOn > today || (q.Kind != "" && d.Kind != string(q.Kind)) || !d.matchesName(name) {
			continue
		}
		if len(page.Items) == q.Limit {
			last := page.Items[len(page.Items)-1]
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

// countFunc is how many of ds match.
func countFunc(ds []viewDoc, match func(viewDoc) bool) int {
	n := 0
	for _, d := range ds {
		if match(d) {
			n++
		}
	}
	return n
}

// Overdue counts the organisations whose open obligation was due before today (a
// London date): overdue from the day after its due date. A withdrawal lapses the
// open obligation, so only organisations still in the Commitment count. It reads the
// copy held in memory (one lookup by _id when nothing changed), so it is cheap
// enough for every scrape.
func (v *Views) Overdue(ctx context.Context, today civil.Date) (int, error) {
	s, err := v.current(ctx)
	if err != nil {
		return 0, err
	}
	day, n := today.String(), 0
	for _, d := range s.byID {
		if d.NextDue != "" && d.NextDue < day {
			n++
		}
	}
	return n, nil
}

// Newest returns the ids of up to n organisations, the newest first: ids are
// time-ordered, so they are the end of the copy's id order.
func (v *Views) Newest(ctx context.Context, n int) ([]string, error) {
	s, err := v.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, min(n, len(s.byID)))
	for i := len(s.byID) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, s.byID[i].ID)
	}
	return out, nil
}

// SucceededBy returns the id of the organisation that succeeds id, or "": the first
// in id order, should two have been announced as its successor at once.
func (v *Views) SucceededBy(ctx context.Context, id string) (string, error) {
	s, err := v.current(ctx)
	if err != nil {
		return "", err
	}
	for _, d := range s.byID {
		if d.Succeeds == id {
			return d.ID, nil
		}
	}
	return "", nil
}

// successionDoc is a claim of a record to succeed predecessor. The first claim's _id
// is the predecessor's id; a claim taken over is followed by <predecessor>#1, #2, ...:
// each is inserted once and never changed, so the unique _id is the only guard
// its writers need on both stores, and a claim taken over by two records at once is
// taken by one.
type successionDoc struct {
	ID        string    `bson:"_id"`
	Successor string    `bson:"successor"`
	At        time.Time `bson:"at,omitempty"` // absent in claims made before they were dated
}

func (v *Views) successionRun(predecessor string) store.Run[successionDoc] {
	return store.Run[successionDoc]{Coll: v.successions, Max: 1000, ID: func(n int) string {
		if n == 0 {
			return predecessor
		}
		return fmt.Sprintf("%s#%d", predecessor, n)
	}}
}

// ClaimSuccession claims successor as the one record to succeed predecessor, by
// inserting the first claim under predecessor's id: the unique _id, the one guard that
// holds on both stores, lets one of two announcements made at once through. It
// returns the claim that stands, the last of the run: successor's when it won, or
// claimed it before (a command decided again), or the other record's.
func (v *Views) ClaimSuccession(ctx context.Context, predecessor, successor string, now time.Time) (app.SuccessionClaim, error) {
	run, err := v.successionRun(predecessor).Add(ctx, func(successionDoc) bool { return true },
		func(id string) successionDoc { return successionDoc{ID: id, Successor: successor, At: now.UTC()} })
	if err != nil {
		return app.SuccessionClaim{}, fmt.Errorf("claim the succession of %s: %w", predecessor, store.Classify(err))
	}
	return lastClaim(run), nil
}

// TakeOverSuccession claims successor in place of the abandoned claim from, by
// inserting the claim that follows it: of two records taking it over at once, one
// inserts it and the other reads it. It returns the claim that stands.
func (v *Views) TakeOverSuccession(ctx context.Context, predecessor string, from app.SuccessionClaim, successor string, now time.Time) (app.SuccessionClaim, error) {
	r := v.successionRun(predecessor)
	id := r.ID(from.N + 1)
	doc := successionDoc{ID: id, Successor: successor, At: now.UTC()}
	if _, err := v.successions.InsertOne(ctx, doc); err != nil && !mongo.IsDuplicateKeyError(err) {
		return app.SuccessionClaim{}, fmt.Errorf("claim the succession of %s: %w", predecessor, store.Classify(err))
	}
	run, err := r.Read(ctx)
	if err != nil {
		return app.SuccessionClaim{}, fmt.Errorf("read the succession of %s: %w", predecessor, store.Classify(err))
	}
	return lastClaim(run), nil
}

// lastClaim is the claim that stands: the last of the run (which Add never returns
// empty).
func lastClaim(run []successionDoc) app.SuccessionClaim {
	d := run[len(run)-1]
	return app.SuccessionClaim{Successor: d.Successor, At: d.At, N: len(run) - 1}
}

func parseDate(s string) civil.Date {
	d, _ := civil.Parse(s)
	return d
}
