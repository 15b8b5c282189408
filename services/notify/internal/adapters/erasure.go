package adapters

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/store"
)

// Erasure forgets an erased person in what notify holds: its read models of people
// (organisations' contacts, review assignments) and its delivery log. Notify is told
// only the digest of the person's address (events.PersonErasedV1), so it finds them
// by the digest of each address it holds.
type Erasure struct {
	db *mongo.Database
}

// NewErasure returns notify's erasure over its database.
func NewErasure(db *mongo.Database) *Erasure { return &Erasure{db: db} }

// peopleIn are the read models that name people: each keeps its documents, with the
// person blanked (an organisation still has its obligations; an assignment its round).
var peopleIn = []string{"organisations", "assignments", "assignment_marks", "reminders", "reminder_organisations"}

// Forget blanks the person in every record that holds their address. A delivery log
// entry addressed to them keeps its kind, subject, status and times (the fact that
// the suite wrote, and when) without the recipient; its body, which greets them by
// name, is dropped wherever it is kept. Run again, it finds nothing left to do.
//
// The person's digest is recorded first (erasedCollection): an email to them in
// flight, or caused by an event still on its way, is then neither sent nor kept
// (see Erased): whatever is written after the record sees it, and whatever was
// written before it is found below.
func (e *Erasure) Forget(ctx context.Context, sub string) error {
	if err := store.Replace(ctx, e.db.Collection(erasedCollection), sub, erasedDoc{ID: sub}); err != nil {
		return fmt.Errorf("record the erasure: %w", store.Classify(err))
	}
	for _, name := range peopleIn {
		if _, err := personal.Forget(ctx, e.db.Collection(name), sub, false); err != nil {
			return err
		}
	}
	// A stored answer to a resend names whom it went to: nothing without them.
	if _, err := personal.Forget(ctx, e.db.Collection(platform.IdempotencyCollection), sub, true); err != nil {
		return err
	}
	ids, err := personal.Forget(ctx, e.db.Collection("deliveries"), sub, false)
	if err != nil || len(ids) == 0 {
		return err
	}
	in := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
	if _, err := e.db.Collection("delivery_bodies").DeleteMany(ctx, in); err != nil {
		return fmt.Errorf("forget bodies: %w", store.Classify(err))
	}
	unset := bson.D{{Key: "$unset", Value: bson.D{{Key: "message.text", Value: ""}, {Key: "message.html", Value: ""}, {Key: "message.ics", Value: ""}, {Key: "content", Value: ""}}}}
	if _, err := e.db.Collection("deliveries").UpdateMany(ctx, in, unset); err != nil {
		return fmt.Errorf("forget bodies: %w", store.Classify(err))
	}
	return nil
}

// erasedCollection holds the digest of every person erased, and nothing else: an
// address's digest, as the erasure named it.
const erasedCollection = "erased_people"

type erasedDoc struct {
	ID string `bson:"_id"`
}

// Erased says whether the person with this address was erased.
func (e *Erasure) Erased(ctx context.Context, email string) (bool, error) {
	err := e.db.Collection(erasedCollection).FindOne(ctx, bson.D{{Key: "_id", Value: personal.Subject(email)}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read erasures: %w", store.Classify(err))
	}
	return true, nil
}
