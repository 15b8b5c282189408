// Package adapters connects the notify service to MongoDB (its read model of
// organisations and the delivery log) and to the SMTP relay.
package adapters

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// Organisations is the read model collection.
//
// A calendar feed finds its organisation by token: a query on calendar_token read
// every organisation on the embedded store, at every subscriber's poll. So each token
// is also the _id of a small document naming its organisation (written by Put), and
// ByToken reads that by _id, then the organisation, whose current token it must be.
type Organisations struct {
	coll   *mongo.Collection
	tokens *mongo.Collection
}

type tokenDoc struct {
	ID  string `bson:"_id"` // the token
	Org string `bson:"organisation_id"`
}

// tokensFilled is the _id of the document that says every organisation's token has
// its document (organisations put before tokens had them are filled in at start).
const tokensFilled = "filled"

var _ app.Organisations = (*Organisations)(nil)

type personDoc struct {
	Name  string `bson:"name"`
	Email string `bson:"email"`
}

type obligationDoc struct {
	ID          string `bson:"id"`
	Kind        string `bson:"kind"`
	Cycle       int    `bson:"cycle"`
	WindowOpens string `bson:"window_opens"`
	Due         string `bson:"due"`
	Met         bool   `bson:"met"`
	MetOn       string `bson:"met_on,omitempty"`
}

type orgDoc struct {
	ID            string         `bson:"_id"`
	Name          string         `bson:"name"`
	Kind          string         `bson:"kind,omitempty"`
	Announced     bool           `bson:"announced"`
	AnnouncedOn   string         `bson:"announced_on,omitempty"`
	Withdrawn     bool           `bson:"withdrawn"`
	Lead          personDoc      `bson:"lead"`
	Leader        personDoc      `bson:"leader"`
	Obligation    *obligationDoc `bson:"obligation,omitempty"`
	Previous      *obligationDoc `bson:"previous_obligation,omitempty"`
	CalendarToken string         `bson:"calendar_token"`
}

// NewOrganisations opens the collection and its indexes.
func NewOrganisations(ctx context.Context, db *mongo.Database) (*Organisations, error) {
	coll := db.Collection(organisationsCollection)
	if err := store.CreateIndexes(ctx, coll, []mongo.IndexModel{
		{Keys: bson.D{{Key: "calendar_token", Value: 1}}},
	}); err != nil {
		return nil, fmt.Errorf("create organisation indexes: %w", store.Classify(err))
	}
	o := &Organisations{coll: coll, tokens: db.Collection("organisation_tokens")}
	return o, o.fillTokens(ctx)
}

// fillTokens writes the token documents of organisations put before there were any,
// once: a read of every organisation at one start.
func (o *Organisations) fillTokens(ctx context.Context) error {
	var marker tokenDoc
	err := o.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: tokensFilled}}).Decode(&marker)
	if err == nil {
		return nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("read the calendar tokens: %w", store.Classify(err))
	}
	cur, err := o.coll.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "calendar_token", Value: 1}}))
	if err != nil {
		return fmt.Errorf("fill the calendar tokens: %w", store.Classify(err))
	}
	var docs []orgDoc
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("fill the calendar tokens: %w", store.Classify(err))
	}
	for _, d := range docs {
		if err := o.putToken(ctx, d.ID, d.CalendarToken); err != nil {
			return err
		}
	}
	err = store.Replace(ctx, o.tokens, tokensFilled, tokenDoc{ID: tokensFilled})
	if err != nil {
		return fmt.Errorf("fill the calendar tokens: %w", store.Classify(err))
	}
	return nil
}

func (o *Organisations) putToken(ctx context.Context, org, token string) error {
	if token == "" || token == tokensFilled {
		return nil
	}
	err := store.Replace(ctx, o.tokens, token, tokenDoc{ID: token, Org: org})
	if err != nil {
		return fmt.Errorf("write the calendar token of %s: %w", org, store.Classify(err))
	}
	return nil
}

// Get reads one organisation.
func (o *Organisations) Get(ctx context.Context, id string) (app.Organisation, bool, error) {
	return o.one(ctx, bson.D{{Key: "_id", Value: id}})
}

// ByToken finds the organisation whose calendar token this is.
func (o *Organisations) ByToken(ctx context.Context, token string) (app.Organisation, bool, error) {
	var t tokenDoc
	err := o.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: token}}).Decode(&t)
	if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && t.Org == "") {
		return app.Organisation{}, false, nil
	}
	if err != nil {
		return app.Organisation{}, false, fmt.Errorf("read calendar token: %w", store.Classify(err))
	}
	org, ok, err := o.Get(ctx, t.Org)
	if err != nil || !ok || org.CalendarToken != token { // a token since replaced
		return app.Organisation{}, false, err
	}
	return org, true, nil
}

func (o *Organisations) one(ctx context.Context, filter bson.D) (app.Organisation, bool, error) {
	var d orgDoc
	err := o.coll.FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return app.Organisation{}, false, nil
	}
	if err != nil {
		return app.Organisation{}, false, fmt.Errorf("read organisation: %w", store.Classify(err))
	}
	return fromOrgDoc(d), true, nil
}

// Put writes one organisation. The read model has a single writer at a time (an
// ordered consumer, or the sweep after claiming), so a plain replace is enough.
func (o *Organisations) Put(ctx context.Context, org app.Organisation) error {
	// The token's document first: an organisation is never found without it.
	if err := o.putToken(ctx, org.ID, org.CalendarToken); err != nil {
		return err
	}
	err := store.Replace(ctx, o.coll, org.ID, toOrgDoc(org))
	if err != nil {
		return fmt.Errorf("write organisation %s: %w", org.ID, store.Classify(err))
	}
	return nil
}

// Forget blanks the person whose address has digest subject in every organisation
// that names them (personal.Forget): a read, then a replace of each, so only the
// read model's one writer, the consumer of the signatory's events, calls it.
func (o *Organisations) Forget(ctx context.Context, subject string) error {
	_, err := personal.Forget(ctx, o.coll, subject, false)
	return err
}

func toOrgDoc(o app.Organisation) orgDoc {
	d := orgDoc{ID: o.ID, Name: o.Name, Kind: o.Kind, Announced: o.Announced, Withdrawn: o.Withdrawn,
		Lead: personDoc(o.Lead), Leader: personDoc(o.Leader), CalendarToken: o.CalendarToken}
	if !o.AnnouncedOn.IsZero() {
		d.AnnouncedOn = o.AnnouncedOn.String()
	}
	d.Obligation, d.Previous = toObligationDoc(o.Obligation), toObligationDoc(o.Previous)
	return d
}

func toObligationDoc(ob *app.Obligation) *obligationDoc {
	if ob == nil {
		return nil
	}
	d := &obligationDoc{ID: ob.ID, Kind: ob.Kind, Cycle: ob.Cycle, WindowOpens: ob.WindowOpens.String(), Due: ob.Due.String(), Met: ob.Met}
	if !ob.MetOn.IsZero() {
		d.MetOn = ob.MetOn.String()
	}
	return d
}

func fromObligationDoc(d *obligationDoc) *app.Obligation {
	if d == nil {
		return nil
	}
	opens, _ := civil.Parse(d.WindowOpens)
	due, _ := civil.Parse(d.Due)
	ob := &app.Obligation{ID: d.ID, Kind: d.Kind, Cycle: d.Cycle, WindowOpens: opens, Due: due, Met: d.Met}
	if d.MetOn != "" {
		ob.MetOn, _ = civil.Parse(d.MetOn)
	}
	return ob
}

func fromOrgDoc(d orgDoc) app.Organisation {
	o := app.Organisation{ID: d.ID, Name: d.Name, Kind: d.Kind, Announced: d.Announced, Withdrawn: d.Withdrawn,
		Lead: mail.Person(d.Lead), Leader: mail.Person(d.Leader), CalendarToken: d.CalendarToken}
	if d.AnnouncedOn != "" {
		o.AnnouncedOn, _ = civil.Parse(d.AnnouncedOn)
	}
	o.Obligation, o.Previous = fromObligationDoc(d.Obligation), fromObligationDoc(d.Previous)
	return o
}

// Deliveries is the delivery log and its attempt claims.
//
// The log is listed newest first, and swept for retries, from the list fields of
// every delivery held in memory by every replica (ordered overall, per organisation
// and per status), fed by a change log read by _id (store.Mirror); the page's
// deliveries are then read by _id. On the embedded store a filtered query sorted by
// created_at read and sorted the whole log on every page. The secondary indexes
// serve operational queries on MongoDB.
type Deliveries struct {
	log      *mongo.Collection
	bodies   *mongo.Collection
	attempts *mongo.Collection
	mirror   *store.Mirror[deliveryEntry]
	lists    *store.Lists[deliveryEntry]

	mu        sync.Mutex
	dropped   map[string]bool // deliveries whose bodies this replica has deleted
	forgotten map[string]bool // deliveries whose recipients this replica has blanked
}

// deliveryEntry is what the log's lists filter and sort on: the delivery's fields of
// the same names.
type deliveryEntry struct {
	ID            string     `bson:"_id"`
	Org           string     `bson:"organisation_id"`
	Status        string     `bson:"status"`
	Attempts      int        `bson:"attempts"`
	CreatedAt     time.Time  `bson:"created_at"`
	UpdatedAt     time.Time  `bson:"updated_at"`
	NextAttemptAt *time.Time `bson:"next_attempt_at,omitempty"`
}

// entryOf is d's entry in the lists, its times to the millisecond as the store keeps
// them: an entry made in this process and one read back from the store (by another
// replica, or after a restart) sort alike, two deliveries of one millisecond by id.
func entryOf(d deliveryDoc) deliveryEntry {
	next := d.NextAttemptAt
	if next != nil {
		t := next.Truncate(time.Millisecond)
		next = &t
	}
	return deliveryEntry{ID: d.ID, Org: d.OrganisationID, Status: d.Status, Attempts: d.Attempts,
		CreatedAt: d.CreatedAt.Truncate(time.Millisecond), UpdatedAt: d.UpdatedAt.Truncate(time.Millisecond), NextAttemptAt: next}
}

// statusOf is the status a list filters on, as the log spells it now.
func statusOf(e deliveryEntry) string {
	if e.Status == "gave_up" {
		return app.StatusGivenUp
	}
	return e.Status
}

func newDeliveryLists() *store.Lists[deliveryEntry] {
	return store.NewLists(
		func(e deliveryEntry) string { return e.ID },
		func(e deliveryEntry) []string { return []string{"org=" + e.Org, "status=" + statusOf(e)} },
		func(a, b deliveryEntry) int { // newest first, then by key
			return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
		},
		// Only the holder of the latest attempt records, so the later attempt, or the
		// later record of one attempt, is the newer.
		func(held, given deliveryEntry) bool {
			return given.Attempts > held.Attempts || given.Attempts == held.Attempts && !given.UpdatedAt.Before(held.UpdatedAt)
		})
}

var _ app.Deliveries = (*Deliveries)(nil)

// messageDoc is an email as logged. Its text, HTML and attachment are kept apart in
// a bodyDoc (entries logged before that carry them here).
type messageDoc struct {
	MessageID string      `bson:"message_id"`
	To        []personDoc `bson:"to"`
	Subject   string      `bson:"subject"`
	Text      string      `bson:"text,omitempty"`
	HTML      string      `bson:"html,omitempty"`
	// Entries logged before no email offered an unsubscribe hold "optional" too,
	// which a read ignores.
	ICS []byte `bson:"ics,omitempty"`
}

// bodyDoc is what a delivery's email says, by the delivery's key: most of its bytes,
// which only a send reads. Kept out of the log entry so that a page of the log reads
// small documents (FerretDB reads and decodes a document whole, whatever it projects).
type bodyDoc struct {
	ID      string     `bson:"_id"`
	Text    string     `bson:"text"`
	HTML    string     `bson:"html"`
	ICS     []byte     `bson:"ics,omitempty"`
	Content contentDoc `bson:"content"`
}

type deliveryDoc struct {
	ID             string     `bson:"_id"`
	OrganisationID string     `bson:"organisation_id"`
	Kind           string     `bson:"kind"`
	Step           string     `bson:"step"`
	Status         string     `bson:"status"`
	Attempts       int        `bson:"attempts"`
	LastError      string     `bson:"last_error"`
	CreatedAt      time.Time  `bson:"created_at"`
	UpdatedAt      time.Time  `bson:"updated_at"`
	SentAt         *time.Time `bson:"sent_at,omitempty"`
	NextAttemptAt  *time.Time `bson:"next_attempt_at,omitempty"`
	Message        messageDoc `bson:"message"`
	About          string     `bson:"about,omitempty"`
	Role           string     `bson:"role,omitempty"`
	Content        contentDoc `bson:"content,omitempty"`
	Earlier        []sentDoc  `bson:"earlier,omitempty"`
	// Mentions are the digests of the addresses of the people the email names
	// besides its recipient (app.Delivery.Mentions), by which an erasure finds it.
	Mentions []string `bson:"mentions,omitempty"`
}

// sentDoc is an email sent before a resend re-addressed it.
type sentDoc struct {
	To []personDoc `bson:"to"`
	At time.Time   `bson:"at"`
}

// contentDoc is what an email's body says, kept so that a later attempt can greet
// whoever holds the recipient's role then.
type contentDoc struct {
	Paragraphs []string `bson:"paragraphs,omitempty"`
	Action     string   `bson:"action,omitempty"`
	Footer     string   `bson:"footer,omitempty"`
	Names      []string `bson:"names,omitempty"`
}

// NewDeliveries opens the log and its indexes.
func NewDeliveries(ctx context.Context, db *mongo.Database) (*Deliveries, error) {
	d := &Deliveries{log: db.Collection("deliveries"), bodies: db.Collection("delivery_bodies"), attempts: db.Collection("delivery_attempts"), lists: newDeliveryLists(),
		dropped: map[string]bool{}, forgotten: map[string]bool{}}
	if err := store.CreateIndexes(ctx, d.log, []mongo.IndexModel{
		{Keys: bson.D{{Key: "organisation_id", Value: 1}, {Key: "created_at", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "next_attempt_at", Value: 1}}},
	}); err != nil {
		return nil, fmt.Errorf("create delivery indexes: %w", store.Classify(err))
	}
	project := bson.D{}
	for _, f := range []string{"organisation_id", "status", "attempts", "created_at", "updated_at", "next_attempt_at"} {
		project = append(project, bson.E{Key: f, Value: 1})
	}
	var err error
	if d.mirror, err = store.NewMirror(d.log, "deliveries_changes", project, d.lists.Apply); err != nil {
		return nil, err
	}
	if err := d.mirror.Sync(ctx); err != nil {
		return nil, fmt.Errorf("read the delivery log: %w", err)
	}
	return d, nil
}

// Claim inserts the unique key of attempt n; only the replica whose insert succeeds
// may send. The first attempt's key is the log entry itself (its _id is the email's
// key), so an email is never claimed without being logged: if the claimer dies before
// recording the outcome, the entry stays "sending" and a later sweep takes it over as
// the next attempt, whose key is "<key>#<n>" in the attempts collection.
func (d *Deliveries) Claim(ctx context.Context, del app.Delivery, attempt int) (bool, error) {
	var err error
	if attempt == 1 {
		// An email claimed already keeps its body: two emails may be claimed under
		// one key (a correction of a deadline takes the key of the day's reminder to
		// its recipient, which the sweep then claims in vain), and the loser's body
		// written over the winner's made the log keep the reminder's text as the
		// correction's, for a resend or a retry to send.
		switch n, err := d.log.CountDocuments(ctx, bson.D{{Key: "_id", Value: del.Key}}); {
		case err != nil:
			return false, fmt.Errorf("claim delivery %s: %w", del.Key, store.Classify(err))
		case n > 0:
			return false, nil
		}
		// The body first: a claimed delivery always has it. A claimer that loses
		// the race below wrote the same email's body, unless two emails are claimed
		// under one key at the same instant, which a correction's order keeps from
		// its normal course (app.CorrectAnnouncement schedules the moved ladder only
		// once its emails are claimed).
		doc, body := toDeliveryDoc(del)
		if err := d.newBody(ctx, body); err != nil {
			return false, fmt.Errorf("claim delivery %s: %w", del.Key, err)
		}
		if _, err = d.log.InsertOne(ctx, doc); err == nil {
			if err := d.mirror.Record(ctx, entryOf(doc)); err != nil {
				return false, fmt.Errorf("claim delivery %s: %w", del.Key, err)
			}
		}
	} else {
		_, err = d.attempts.InsertOne(ctx, bson.D{{Key: "_id", Value: del.Key + "#" + strconv.Itoa(attempt)}, {Key: "at", Value: del.UpdatedAt}})
	}
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim delivery %s attempt %d: %w", del.Key, attempt, store.Classify(err))
	}
	if attempt == 1 {
		return true, nil
	}
	return true, d.Record(ctx, del)
}

// Record writes a delivery's outcome: its log entry, not its body, which the first
// claim wrote and PutBody rewrites. Only the holder of the latest attempt writes it.
func (d *Deliveries) Record(ctx context.Context, del app.Delivery) error {
	doc, _ := toDeliveryDoc(del)
	err := store.Replace(ctx, d.log, del.Key, doc)
	if err != nil {
		return fmt.Errorf("record delivery %s: %w", del.Key, store.Classify(err))
	}
	if err := d.mirror.Record(ctx, entryOf(doc)); err != nil {
		return fmt.Errorf("record delivery %s: %w", del.Key, err)
	}
	return nil
}

// PutBody writes the body of a delivery composed afresh for a later attempt.
func (d *Deliveries) PutBody(ctx context.Context, del app.Delivery) error {
	_, body := toDeliveryDoc(del)
	if err := d.putBody(ctx, body); err != nil {
		return fmt.Errorf("rewrite delivery %s: %w", del.Key, err)
	}
	return nil
}

// newBody writes the body of an email being claimed for the first time: an insert,
// which costs the embedded store half what an upsert does. It is there already only
// when another claimer of the same email wrote it, or a claimer that died before its
// log entry did; then it is replaced.
func (d *Deliveries) newBody(ctx context.Context, b bodyDoc) error {
	if b.empty() {
		return nil
	}
	_, err := d.bodies.InsertOne(ctx, b)
	if mongo.IsDuplicateKeyError(err) {
		return d.putBody(ctx, b)
	}
	if err != nil {
		return fmt.Errorf("write the body of delivery %s: %w", b.ID, store.Classify(err))
	}
	return nil
}

func (b bodyDoc) empty() bool {
	return b.Text == "" && b.HTML == "" && len(b.ICS) == 0 && len(b.Content.Paragraphs) == 0 && b.Content.Action == "" && b.Content.Footer == ""
}

// putBody writes a delivery's body, unless it has none.
func (d *Deliveries) putBody(ctx context.Context, b bodyDoc) error {
	if b.empty() {
		return nil
	}
	// Two claims of one email on two replicas may write its body at once; Replace
	// tries the loser of the insert again, over the winner's copy of the same email.
	if err := store.Replace(ctx, d.bodies, b.ID, b); err != nil {
		return fmt.Errorf("write the body of delivery %s: %w", b.ID, store.Classify(err))
	}
	return nil
}

// withBody reads the body of a delivery into it, if it has one apart.
func (d *Deliveries) withBody(ctx context.Context, del *app.Delivery) error {
	var b bodyDoc
	err := d.bodies.FindOne(ctx, bson.D{{Key: "_id", Value: del.Key}}).Decode(&b)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil // logged with its body, before bodies were kept apart
	}
	if err != nil {
		return fmt.Errorf("read the body of delivery %s: %w", del.Key, store.Classify(err))
	}
	del.Message.Text, del.Message.HTML, del.Message.ICS = b.Text, b.HTML, b.ICS
	del.Content = mail.Content{Paragraphs: b.Content.Paragraphs, Action: b.Content.Action, Footer: b.Content.Footer, Names: b.Content.Names}
	return nil
}

// Get reads one delivery.
func (d *Deliveries) Get(ctx context.Context, key string) (app.Delivery, bool, error) {
	var doc deliveryDoc
	err := d.log.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return app.Delivery{}, false, nil
	}
	if err != nil {
		return app.Delivery{}, false, fmt.Errorf("read delivery %s: %w", key, store.Classify(err))
	}
	del := fromDeliveryDoc(doc)
	if err := d.withBody(ctx, &del); err != nil {
		return app.Delivery{}, false, err
	}
	return del, true, nil
}

// List pages through the log, newest first.
func (d *Deliveries) List(ctx context.Context, q app.DeliveryQuery) ([]app.Delivery, string, error) {
	var after *deliveryEntry
	if q.Cursor != "" {
		var c cursor
		if err := store.DecodeCursor(q.Cursor, &c); err != nil || c.ID == "" {
			return nil, "", store.BadCursor()
		}
		after = &deliveryEntry{ID: c.ID, CreatedAt: c.At}
	}
	if err := d.mirror.Sync(ctx); err != nil {
		return nil, "", err
	}
	var names []string
	if q.OrganisationID != "" {
		names = append(names, "org="+q.OrganisationID)
	}
	if q.Status != "" {
		names = append(names, "status="+q.Status)
	}
	page, more := d.lists.Page(names, after, func(e deliveryEntry) bool {
		return (q.OrganisationID == "" || e.Org == q.OrganisationID) && (q.Status == "" || statusOf(e) == q.Status)
	}, q.Limit)
	out, err := d.read(ctx, page, false)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more && len(page) > 0 {
		last := page[len(page)-1]
		next = store.EncodeCursor(cursor{At: last.CreatedAt, ID: last.ID})
	}
	return out, next, nil
}

// read reads the deliveries of entries by _id, with their bodies when asked, a few
// at a time, in their order. One that is gone (it cannot be, as the log only grows)
// is left out.
func (d *Deliveries) read(ctx context.Context, entries []deliveryEntry, bodies bool) ([]app.Delivery, error) {
	opts := options.FindOne()
	if !bodies {
		opts.SetProjection(listFields)
	}
	docs := make([]*deliveryDoc, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, e := range entries {
		g.Go(func() error {
			var doc deliveryDoc
			err := d.log.FindOne(gctx, bson.D{{Key: "_id", Value: e.ID}}, opts).Decode(&doc)
			switch {
			case errors.Is(err, mongo.ErrNoDocuments):
			case err != nil:
				return fmt.Errorf("read delivery %s: %w", e.ID, store.Classify(err))
			default:
				docs[i] = &doc
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]app.Delivery, 0, len(docs))
	for _, doc := range docs {
		if doc != nil {
			out = append(out, fromDeliveryDoc(*doc))
		}
	}
	if !bodies {
		return out, nil
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range out {
		g.Go(func() error { return d.withBody(gctx, &out[i]) })
	}
	return out, g.Wait()
}

// Retryable lists failed deliveries whose next attempt is due, and attempts that were
// claimed but never recorded before staleBefore (their replica died mid-send).
func (d *Deliveries) Retryable(ctx context.Context, now, staleBefore time.Time, limit int) ([]app.Delivery, error) {
	if err := d.mirror.Sync(ctx); err != nil {
		return nil, err
	}
	due, _ := d.lists.Page([]string{"status=" + app.StatusFailed}, nil, func(e deliveryEntry) bool {
		return e.Status == app.StatusFailed && e.NextAttemptAt != nil && !e.NextAttemptAt.After(now)
	}, limit)
	stale, _ := d.lists.Page([]string{"status=" + app.StatusSending}, nil, func(e deliveryEntry) bool {
		return e.Status == app.StatusSending && e.UpdatedAt.Before(staleBefore)
	}, limit-len(due))
	read, err := d.read(ctx, append(due, stale...), true)
	if err != nil {
		return nil, err
	}
	// The entries chose them, but another replica may have taken one over since
	// (its claim and record are in the log before they reach this copy): only what
	// the log still says is retryable is, or two replicas would send it.
	out := read[:0]
	for _, del := range read {
		if del.Status == app.StatusFailed && !del.NextAttemptAt.IsZero() && !del.NextAttemptAt.After(now) ||
			del.Status == app.StatusSending && del.UpdatedAt.Before(staleBefore) {
			out = append(out, del)
		}
	}
	return out, nil
}

// dropBatch is how many deliveries' bodies one delete names.
const dropBatch = 200

// DropBodies deletes the bodies of the deliveries settled (sent or given up) at or
// before `before`: their documents in delivery_bodies, and the text, HTML,
// attachment and paragraphs of entries logged with their bodies. The log entries
// stay. The settled deliveries are found in memory (the lists), and each replica
// remembers whose bodies it has deleted, so a sweep writes only for the newly
// expired. A settled delivery is written again only by a resend, which refuses one
// without its body, so a body once deleted is never written back.
func (d *Deliveries) DropBodies(ctx context.Context, before time.Time) (int, error) {
	due, err := d.settled(ctx, before, d.dropped)
	if err != nil {
		return 0, err
	}
	n := 0
	for batch := range slices.Chunk(due, dropBatch) {
		in := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: batch}}}}
		res, err := d.bodies.DeleteMany(ctx, in)
		if err != nil {
			return n, fmt.Errorf("delete expired email bodies: %w", store.Classify(err))
		}
		n += int(res.DeletedCount)
		inline := append(in, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "message.text", Value: bson.D{{Key: "$exists", Value: true}}}},
			bson.D{{Key: "message.html", Value: bson.D{{Key: "$exists", Value: true}}}},
			bson.D{{Key: "message.ics", Value: bson.D{{Key: "$exists", Value: true}}}},
			bson.D{{Key: "content", Value: bson.D{{Key: "$exists", Value: true}}}},
		}})
		up, err := d.log.UpdateMany(ctx, inline, bson.D{{Key: "$unset", Value: bson.D{
			{Key: "message.text", Value: ""}, {Key: "message.html", Value: ""}, {Key: "message.ics", Value: ""}, {Key: "content", Value: ""}}}})
		if err != nil {
			return n, fmt.Errorf("delete expired email bodies from the log: %w", store.Classify(err))
		}
		n += int(up.ModifiedCount)
		d.mu.Lock()
		for _, id := range batch {
			d.dropped[id] = true
		}
		d.mu.Unlock()
	}
	return n, nil
}

// settled lists the deliveries settled (sent or given up) at or before `before` that
// are not in done (read and written under d.mu): found in memory, from the lists, after
// bringing them up to date.
func (d *Deliveries) settled(ctx context.Context, before time.Time, done map[string]bool) ([]string, error) {
	if err := d.mirror.Sync(ctx); err != nil {
		return nil, err
	}
	var due []string
	for _, status := range []string{app.StatusSent, app.StatusGivenUp} {
		var after *deliveryEntry
		for {
			page, more := d.lists.Page([]string{"status=" + status}, after, func(e deliveryEntry) bool {
				return statusOf(e) == status && !e.UpdatedAt.After(before)
			}, dropBatch)
			d.mu.Lock()
			for _, e := range page {
				if !done[e.ID] {
					due = append(due, e.ID)
				}
			}
			d.mu.Unlock()
			if !more || len(page) == 0 {
				break
			}
			after = &page[len(page)-1]
		}
	}
	return due, nil
}

// ForgetRecipients removes who the deliveries settled at or before `before` were
// sent to (their names and addresses) and their last error (a relay's
// refusal quotes the address), and deletes any body left: the entry keeps its
// organisation, kind, subject, outcome and times, the fact that the suite wrote and
// when, as an erasure leaves it. Each replica remembers the entries it has blanked;
// a settled delivery is written again only by a resend, which refuses one without
// its body, so a recipient once blanked is never written back.
func (d *Deliveries) ForgetRecipients(ctx context.Context, before time.Time) (int, error) {
	due, err := d.settled(ctx, before, d.forgotten)
	if err != nil {
		return 0, err
	}
	n := 0
	for batch := range slices.Chunk(due, dropBatch) {
		m, err := forgetRecipientsIn(ctx, d.log, d.bodies, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: batch}}}})
		n += m
		if err != nil {
			return n, err
		}
		d.mu.Lock()
		for _, id := range batch {
			d.forgotten[id] = true
		}
		d.mu.Unlock()
	}
	return n, nil
}

// forgetRecipientsIn is what the log's retention does to the entries of log that in
// matches (ForgetRecipients), and what an erasure does to those of its person's
// entries that the retention may be passing (Erasure.Forget): it deletes their bodies,
// empties whom they went to (now and before a resend) and their last error, drops
// the digests of the people they name, and takes every address out of their
// subjects. Every write sets or removes fields, whatever the entry held: two of these
// beside each other, each a read and a replace on the embedded store, leave the same
// entry whichever lands last. It returns how many entries it changed.
func forgetRecipientsIn(ctx context.Context, log, bodies *mongo.Collection, in bson.D) (int, error) {
	if _, err := bodies.DeleteMany(ctx, in); err != nil {
		return 0, fmt.Errorf("forget the recipients of old emails: %w", store.Classify(err))
	}
	res, err := log.UpdateMany(ctx, in, bson.D{
		{Key: "$set", Value: bson.D{{Key: "message.to", Value: bson.A{}}, {Key: "last_error", Value: ""}}},
		{Key: "$unset", Value: bson.D{{Key: "message.text", Value: ""}, {Key: "message.html", Value: ""}, {Key: "message.ics", Value: ""}, {Key: "content", Value: ""}, {Key: "earlier", Value: ""}, {Key: "mentions", Value: ""}}},
	})
	if err != nil {
		return 0, fmt.Errorf("forget the recipients of old emails: %w", store.Classify(err))
	}
	return int(res.ModifiedCount), forgetAddressesInSubjects(ctx, log, in)
}

// forgetAddressesInSubjects takes every address out of the subjects of the entries
// in: the email telling a lead's earlier address of its correction gives the new
// address in its subject, which the entry keeps once it no longer says whom it went
// to. The addresses become telemetry.RedactedEmail; the rest of the subject stays.
func forgetAddressesInSubjects(ctx context.Context, log *mongo.Collection, in bson.D) error {
	cur, err := log.Find(ctx, in, options.Find().SetProjection(bson.D{{Key: "message.subject", Value: 1}}))
	if err != nil {
		return fmt.Errorf("forget the addresses in old emails' subjects: %w", store.Classify(err))
	}
	var docs []struct {
		ID      string `bson:"_id"`
		Message struct {
			Subject string `bson:"subject"`
		} `bson:"message"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("forget the addresses in old emails' subjects: %w", store.Classify(err))
	}
	for _, doc := range docs {
		subject := telemetry.RedactText(doc.Message.Subject)
		if subject == doc.Message.Subject {
			continue
		}
		if _, err := log.UpdateOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "message.subject", Value: subject}}}}); err != nil {
			return fmt.Errorf("forget the addresses in old emails' subjects: %w", store.Classify(err))
		}
	}
	return nil
}

// listFields leaves out what a list does not show of deliveries logged with their
// bodies, before bodies were kept apart.
var listFields = bson.D{{Key: "message.text", Value: 0}, {Key: "message.html", Value: 0}, {Key: "message.ics", Value: 0}, {Key: "content", Value: 0}}

// toDeliveryDoc is a delivery's log entry and, apart, its body.
func toDeliveryDoc(d app.Delivery) (deliveryDoc, bodyDoc) {
	doc := deliveryDoc{ID: d.Key, OrganisationID: d.OrganisationID, Kind: d.Kind, Step: d.Step, Status: d.Status, Attempts: d.Attempts,
		LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, About: d.About, Role: d.Role, Mentions: d.Mentions,
		Message: messageDoc{MessageID: d.Message.MessageID, Subject: d.Message.Subject}}
	body := bodyDoc{ID: d.Key, Text: d.Message.Text, HTML: d.Message.HTML, ICS: d.Message.ICS,
		Content: contentDoc{Paragraphs: d.Content.Paragraphs, Action: d.Content.Action, Footer: d.Content.Footer, Names: d.Content.Names}}
	for _, p := range d.Message.To {
		doc.Message.To = append(doc.Message.To, personDoc(p))
	}
	for _, e := range d.Earlier {
		sd := sentDoc{At: e.At}
		for _, p := range e.To {
			sd.To = append(sd.To, personDoc(p))
		}
		doc.Earlier = append(doc.Earlier, sd)
	}
	if !d.SentAt.IsZero() {
		t := d.SentAt
		doc.SentAt = &t
	}
	if !d.NextAttemptAt.IsZero() {
		t := d.NextAttemptAt
		doc.NextAttemptAt = &t
	}
	return doc, body
}

func fromDeliveryDoc(doc deliveryDoc) app.Delivery {
	d := app.Delivery{Key: doc.ID, OrganisationID: doc.OrganisationID, Kind: doc.Kind, Step: doc.Step, Status: doc.Status, Attempts: doc.Attempts,
		LastError: doc.LastError, CreatedAt: doc.CreatedAt, UpdatedAt: doc.UpdatedAt, About: doc.About, Role: doc.Role, Mentions: doc.Mentions,
		Content: mail.Content{Paragraphs: doc.Content.Paragraphs, Action: doc.Content.Action, Footer: doc.Content.Footer, Names: doc.Content.Names},
		Message: mail.Message{MessageID: doc.Message.MessageID, Subject: doc.Message.Subject, Text: doc.Message.Text, HTML: doc.Message.HTML, ICS: doc.Message.ICS}}
	for _, p := range doc.Message.To {
		d.Message.To = append(d.Message.To, mail.Person(p))
	}
	for _, e := range doc.Earlier {
		sent := app.Sent{At: e.At}
		for _, p := range e.To {
			sent.To = append(sent.To, mail.Person(p))
		}
		d.Earlier = append(d.Earlier, sent)
	}
	if doc.SentAt != nil {
		d.SentAt = *doc.SentAt
	}
	if doc.NextAttemptAt != nil {
		d.NextAttemptAt = *doc.NextAttemptAt
	}
	return d
}

type cursor struct {
	At time.Time `json:"at"`
	ID string    `json:"id"`
}
