package adapters

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/notify/internal/app"
)

// Erasure forgets an erased person in what notify holds: its read models of people
// (review assignments; organisations' contacts are forgotten by their own consumer,
// see peopleIn) and its delivery log. Notify is told
// only the digest of the person's address (events.PersonErasedV1), so it finds them
// by the digest of each address it holds.
type Erasure struct {
	db *mongo.Database
	// clock and logRetention say which settled entries the log's retention may be
	// blanking beside an erasure (WithLogRetention); without them, every
	// entry is read and replaced.
	clock        clock.Clock
	logRetention time.Duration
}

// NewErasure returns notify's erasure over its database.
func NewErasure(db *mongo.Database) *Erasure { return &Erasure{db: db} }

// retentionMargin is how long before the log's retention reaches a settled entry an
// erasure blanks it as the retention does rather than reading and replacing it: longer
// than any erasure's pass over the log, and than the clocks of two replicas are apart.
const retentionMargin = time.Hour

// WithLogRetention tells the erasure the log's retention (app.Config.LogRetention)
// and the clock the retention reads, and returns it. A settled entry the retention
// may reach while the erasure runs is then blanked as the retention blanks it
// (forgetRecipientsIn) instead of read and replaced with the person blanked: on the
// embedded store that replace, read before the retention's pass and written after it,
// wrote back whom the email went to before a resend, the digests of the people it
// names, an address in its subject and its last error, which the retention, having
// passed the entry, never took out again.
func (e *Erasure) WithLogRetention(clk clock.Clock, retention time.Duration) *Erasure {
	e.clock, e.logRetention = clk, retention
	return e
}

// peopleIn are the read models that name people: each keeps its documents, with the
// person blanked (a mark still has its round). An assignment's record names its
// reviewer only when an earlier release made it: one made since holds their id, and
// the reviewer is kept apart (reviewersCollection, deleted by Forget), so that the
// review consumer's closing of the record, beside this, can neither be undone by the
// forgetting nor write the reviewer back (see Assignments). The organisations are not
// among them: the consumer of the signatory's events, their one writer, forgets the
// person there in the order of that stream (Organisations.Forget), since a forgetting
// beside it lost the contacts change it raced; only ForgetAgain, at start, reaches
// them from here.
var peopleIn = []string{"assignments", markRunsCollection, oldMarksCollection, "reminders", "reminder_organisations"}

// organisationsCollection is the read model of organisations (see peopleIn).
const organisationsCollection = "organisations"

// ForgetAt records that the person was erased at `at` (the signatory service's time
// of the announcement), then forgets them (Forget).
//
// The record comes first: an email to them in flight, or caused by an event still on
// its way, is then neither sent nor kept (see Erased): whatever is written after the
// record sees it, and whatever was written before it is found by Forget.
func (e *Erasure) ForgetAt(ctx context.Context, sub string, at time.Time) error {
	if err := store.Replace(ctx, e.db.Collection(erasedCollection), sub, erasedDoc{ID: sub, At: at.UTC()}); err != nil {
		return fmt.Errorf("record the erasure: %w", store.Classify(err))
	}
	return e.Forget(ctx, sub)
}

// Forget blanks the person in every record that holds their address. A delivery log
// entry addressed to them keeps its kind, subject, status and times (the fact that
// the suite wrote, and when) without the recipient; its body, which greets them by
// name, is dropped wherever it is kept. Run again, it finds nothing left to do. It
// leaves the record of the erasure as it is (ForgetAt makes it).
func (e *Erasure) Forget(ctx context.Context, sub string) (err error) {
	// Said to be under way while it runs, so that a correction of a reviewer's address
	// written beside it is written again once it is done (Assignments.Rename).
	done, err := personal.Forgetting(ctx, e.db.Collection(personal.UnderWayCollection))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, done()) }()
	for _, name := range peopleIn {
		if _, err := personal.Forget(ctx, e.db.Collection(name), sub, false); err != nil {
			return err
		}
	}
	// A reviewer kept apart from their assignments (reviewerDoc) is nothing without
	// them.
	if _, err := personal.Forget(ctx, e.db.Collection(reviewersCollection), sub, true); err != nil {
		return err
	}
	// A stored answer to a resend names whom it went to: nothing without them.
	if _, err := personal.Forget(ctx, e.db.Collection(platform.IdempotencyCollection), sub, true); err != nil {
		return err
	}
	// An entry being sent is left to its sender, which replaces it whole with the
	// outcome and then looks at the record of erasures and forgets the person itself
	// (app.deliver, SendSigninLink): a replace of it here, read before the outcome and
	// written after, lost the outcome (the entry said sending for good, and the sweep
	// took it for a sender that died), and one written before the outcome was
	// written over with the person in it. An entry whose sender died is taken over
	// after its lease, given up as to an erased person, and forgotten then.
	replaced := bson.D{{Key: "status", Value: bson.D{{Key: "$ne", Value: "sending"}}}}
	var ids []any
	if e.clock != nil {
		// A settled entry the log's retention may be passing is blanked as the
		// retention blanks it, which whatever order the two land in leaves it naming
		// nobody (WithLogRetention).
		cut := e.clock.Now().Add(-e.logRetention + retentionMargin)
		old, err := e.forgetAsRetention(ctx, sub, cut)
		if err != nil {
			return err
		}
		ids = old
		replaced = append(replaced, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "status", Value: bson.D{{Key: "$nin", Value: settledStatuses}}}},
			bson.D{{Key: "updated_at", Value: bson.D{{Key: "$gt", Value: cut}}}},
		}})
	}
	named, err := personal.ForgetMatching(ctx, e.db.Collection("deliveries"), replaced, sub, false)
	if err != nil {
		return err
	}
	ids = append(ids, named...)
	// The emails written to others that name them (a hand-over's to the head, which
	// names the lead before): what those said goes too; their entries, which name
	// their own recipients, stay as they are.
	named, err = e.mentioning(ctx, sub)
	if err != nil {
		return err
	}
	ids = append(ids, named...)
	if len(ids) == 0 {
		return nil
	}
	in := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
	if _, err := e.db.Collection("delivery_bodies").DeleteMany(ctx, in); err != nil {
		return fmt.Errorf("forget bodies: %w", store.Classify(err))
	}
	unset := bson.D{{Key: "$unset", Value: bson.D{{Key: "message.text", Value: ""}, {Key: "message.html", Value: ""}, {Key: "message.ics", Value: ""}, {Key: "content", Value: ""}}}}
	if _, err := e.db.Collection("deliveries").UpdateMany(ctx, in, unset); err != nil {
		return fmt.Errorf("forget bodies: %w", store.Classify(err))
	}
	if len(named) == 0 {
		return nil
	}
	// Nor do they name them any longer: subject access finds nothing of them there.
	pull := bson.D{{Key: "$pull", Value: bson.D{{Key: "mentions", Value: sub}}}}
	if _, err := e.db.Collection("deliveries").UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: named}}}}, pull); err != nil {
		return fmt.Errorf("forget whom emails named: %w", store.Classify(err))
	}
	return nil
}

// settledStatuses are the statuses of the entries the log's retention blanks (sent,
// given up, and given up as an earlier release wrote it).
var settledStatuses = bson.A{app.StatusSent, app.StatusGivenUp, "gave_up"}

// forgetAsRetention blanks, as the log's retention does (forgetRecipientsIn), the
// settled entries last written at or before `before` that hold the address whose
// digest is sub, and returns their ids.
func (e *Erasure) forgetAsRetention(ctx context.Context, sub string, before time.Time) ([]any, error) {
	log := e.db.Collection("deliveries")
	cur, err := log.Find(ctx, bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: settledStatuses}}},
		{Key: "updated_at", Value: bson.D{{Key: "$lte", Value: before}}}})
	if err != nil {
		return nil, fmt.Errorf("read deliveries: %w", store.Classify(err))
	}
	defer cur.Close(ctx)
	var ids []any
	for cur.Next(ctx) {
		if personal.TextHoldsSubject(cur.Current.String(), sub) {
			ids = append(ids, cur.Current.Lookup("_id").StringValue())
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read deliveries: %w", store.Classify(err))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if _, err := forgetRecipientsIn(ctx, log, e.db.Collection("delivery_bodies"), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}); err != nil {
		return nil, fmt.Errorf("forget an erased person in old emails: %w", err)
	}
	return ids, nil
}

// mentioning returns the ids of the delivery log's settled entries (sent or given
// up) of emails that name the person whose address has the digest sub besides their
// recipient (app.Delivery.Mentions). An entry still being sent keeps its body for
// its sender; the log's retention of bodies drops it later.
func (e *Erasure) mentioning(ctx context.Context, sub string) ([]any, error) {
	cur, err := e.db.Collection("deliveries").Find(ctx, bson.D{{Key: "mentions", Value: sub},
		{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{app.StatusSent, app.StatusGivenUp}}}}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find emails naming an erased person: %w", store.Classify(err))
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find emails naming an erased person: %w", store.Classify(err))
	}
	ids := make([]any, 0, len(docs))
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// ForgetAgain forgets everyone of at (digests, from the register of erasures, with
// when each was erased) whom its record of erasures does not hold, and returns how
// many: none on a database that was never restored; after a restore from a backup,
// those erased since it was taken, whom the restored read models and delivery log
// hold again. It reads the record's keys once.
func (e *Erasure) ForgetAgain(ctx context.Context, at map[string]time.Time) (int, error) {
	if len(at) == 0 {
		return 0, nil
	}
	cur, err := e.db.Collection(erasedCollection).Find(ctx, bson.D{})
	if err != nil {
		return 0, fmt.Errorf("read erasures: %w", store.Classify(err))
	}
	var held []erasedDoc
	if err := cur.All(ctx, &held); err != nil {
		return 0, fmt.Errorf("read erasures: %w", store.Classify(err))
	}
	known := make(map[string]bool, len(held))
	for _, d := range held {
		known[d.ID] = true
	}
	n := 0
	for _, sub := range slices.Sorted(maps.Keys(at)) {
		if known[sub] {
			continue
		}
		if err := e.ForgetAt(ctx, sub, at[sub]); err != nil {
			return n, err
		}
		// The organisations too: this runs as notify starts, before its consumers, on
		// a database restored from before the erasure, whose announcement the
		// consumer of the signatory's events took in before the restore.
		if _, err := personal.Forget(ctx, e.db.Collection(organisationsCollection), sub, false); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// erasedCollection holds the digest of every person erased and when: an address's
// digest, as the erasure named it, and the time of its announcement.
const erasedCollection = "erased_people"

// namedAgainCollection holds, for a person erased, when an event last named them anew
// (a digest and a time). It is apart from the record of the erasure,
// which a later erasure replaces, so that neither write can undo the other whatever
// order they land in: the later of the two times says which stands.
const namedAgainCollection = "erased_people_named_again"

type erasedDoc struct {
	ID string `bson:"_id"`
	// At is the time of the erasure's announcement (for a record made before it was
	// kept, the time of notify's first start that kept it: DateUndated).
	At time.Time `bson:"at,omitempty"`
}

type namedAgainDoc struct {
	ID string    `bson:"_id"`
	At time.Time `bson:"at"`
}

// DateUndated gives the records of erasures made before notify kept their time the
// time `now` (its first start on the release that keeps it), and returns how many:
// only an event recorded after then names such a person anew, not an older event
// replayed (a rebuild reads the streams from their start).
func (e *Erasure) DateUndated(ctx context.Context, now time.Time) (int, error) {
	res, err := e.db.Collection(erasedCollection).UpdateMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "at", Value: now.UTC()}}}})
	if err != nil {
		return 0, fmt.Errorf("date the erasures: %w", store.Classify(err))
	}
	return int(res.ModifiedCount), nil
}

// Erased says whether the person with this address was erased and has not been
// named again since.
func (e *Erasure) Erased(ctx context.Context, email string) (bool, error) {
	sub := personal.Subject(email)
	var erased erasedDoc
	if ok, err := store.FindByID(ctx, e.db.Collection(erasedCollection), sub, &erased); err != nil || !ok {
		return false, wrapRead(err)
	}
	var again namedAgainDoc
	ok, err := store.FindByID(ctx, e.db.Collection(namedAgainCollection), sub, &again)
	return !ok || !again.At.After(erased.At), wrapRead(err)
}

// NamesErased says whether text (a resend's stored answer, which names whom the
// email went to) holds the address of a person erased and not named again since:
// the idempotency store's recheck (platform.Idempotent), which forgets such an answer
// as soon as it is stored. ForgetAt records the erasure before Forget reads the stored
// answers, and the store writes the answer before it asks this, so an answer written
// just after the erasure read them is still forgotten.
func (e *Erasure) NamesErased(ctx context.Context, text []byte) (bool, error) {
	seen := map[string]bool{}
	for _, a := range personal.Addresses(string(text)) {
		sub := personal.Subject(a)
		if seen[sub] {
			continue
		}
		seen[sub] = true
		if erased, err := e.Erased(ctx, a); err != nil || erased {
			return erased, err
		}
	}
	return false, nil
}

// NamedAgain records that each of emails was named anew at `at` (the time of the event
// that named them: an organisation's new lead or head, a pool member registered, an
// application made): an erasure of one of them announced before then no longer stops
// emails to them, since the address was given anew (a person who came back, a shared
// mailbox a new lead uses). An erasure announced after `at` is untouched: the event
// is older than the erasure, and what it named is forgotten. Two writers racing write
// two times after the erasure's; either lifts it.
func (e *Erasure) NamedAgain(ctx context.Context, at time.Time, emails ...string) error {
	for _, email := range emails {
		if email == "" {
			continue
		}
		sub := personal.Subject(email)
		var erased erasedDoc
		ok, err := store.FindByID(ctx, e.db.Collection(erasedCollection), sub, &erased)
		if err != nil {
			return wrapRead(err)
		}
		if !ok || !erased.At.Before(at) {
			continue
		}
		var again namedAgainDoc
		if ok, err = store.FindByID(ctx, e.db.Collection(namedAgainCollection), sub, &again); err != nil {
			return wrapRead(err)
		}
		if ok && !again.At.Before(at) {
			continue
		}
		if err := store.Replace(ctx, e.db.Collection(namedAgainCollection), sub, namedAgainDoc{ID: sub, At: at.UTC()}); err != nil {
			return fmt.Errorf("record a person named again: %w", store.Classify(err))
		}
	}
	return nil
}

// wrapRead says where a read of the record of erasures failed (nil stays nil).
func wrapRead(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("read erasures: %w", err)
}
