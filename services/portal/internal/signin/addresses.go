package signin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
)

// The addresses collection finds a person's records by _id, which is the only lookup
// the embedded store (FerretDB on SQLite) answers from an index: a query on the
// records' email field read every lead, reviewer and applicant on every signed-in
// request, so that a page's cost grew with the number of people the suite knows.
//
// An address owns a numbered run of slots, "<digest>/0", "<digest>/1", ..., each
// naming one record the address was ever given: an organisation it leads, a
// reviewer it is, an organisation it may make API tokens for. A slot is only ever
// inserted, never changed, so the unique _id is the only guard any writer needs:
// the leads consumer, the reviewers consumer and the pages that name applicants may
// all add to one address at once, and a writer that finds its number taken reads
// that slot and tries the next. A slot is a pointer, not a grant: Lookup confirms
// each record by its own _id, and one that moved to another address or went away is
// skipped, so that a replaced lead loses access at once. The run grows only with
// the distinct records an address ever had, a handful at most.
//
// The digest is personal.Subject's, the one an erasure (events.PersonErasedV1)
// names, so that forgetting a person deletes their slots by _id; a slot holds no
// address.
const addressesCollection = "addresses"

// Kinds of record a slot names.
const (
	slotLead      = "lead"
	slotReviewer  = "reviewer"
	slotApplicant = "applicant"
)

// maxSlots bounds the run read for one address: far above any person's records,
// it keeps a corrupt run from turning one request into a long walk.
const maxSlots = 256

// builtID is the document noting that every record kept before the slots existed
// has been given one (see backfill).
const builtID = "built-v1"

type slotDoc struct {
	ID   string `bson:"_id"`
	Kind string `bson:"kind"`
	Ref  string `bson:"ref"` // the organisation (lead, applicant) or the reviewer id
}

func slotID(sub string, n int) string { return sub + "/" + strconv.Itoa(n) }

// slotRun is the run of slots of the address whose digest is sub.
func (p *People) slotRun(sub string) store.Run[slotDoc] {
	return store.Run[slotDoc]{Coll: p.addresses, ID: func(n int) string { return slotID(sub, n) }, Max: maxSlots}
}

// run reads the run of slots of the address whose digest is sub, by _id, until the
// first missing number (or maxSlots of them).
func (p *People) run(ctx context.Context, sub string) ([]slotDoc, error) {
	out, err := p.slotRun(sub).Read(ctx)
	if errors.Is(err, store.ErrRunFull) {
		return out, nil
	}
	return out, err
}

// slots reads the address's run of slots.
func (p *People) slots(ctx context.Context, email string) ([]slotDoc, error) {
	out, err := p.run(ctx, personal.Subject(email))
	if err != nil {
		return nil, fmt.Errorf("look up a person's records: %w", err)
	}
	return out, nil
}

// Held says whether the records hold the address at all. Only an erasure deletes an
// address's slots (Forget: a lead replaced keeps theirs, which then find nothing), so
// an address signed in with and no longer held was erased meanwhile.
func (p *People) Held(ctx context.Context, email string) (bool, error) {
	out, err := p.slots(ctx, NormaliseEmail(email))
	return len(out) > 0, err
}

// point makes sure the address's run names the record: it reads the run and, when
// the record is not in it, inserts it at the first free number, racing any other
// writer on the unique _id (one that took the number may have recorded the same
// record).
func (p *People) point(ctx context.Context, email, kind, ref string) error {
	email = NormaliseEmail(email)
	if email == "" || ref == "" {
		return nil
	}
	_, err := p.slotRun(personal.Subject(email)).Add(ctx, func(d slotDoc) bool { return d.Kind == kind && d.Ref == ref },
		func(id string) slotDoc { return slotDoc{ID: id, Kind: kind, Ref: ref} })
	if errors.Is(err, store.ErrRunFull) {
		return fmt.Errorf("record a person's %s: the address already names %d records", kind, maxSlots)
	}
	if err != nil {
		return fmt.Errorf("record a person's %s: %w", kind, err)
	}
	return nil
}

// Forget deletes the slots of the person whose address has the digest sub (an
// erasure's subject), last first, so that a run interrupted half way is still a
// run from 0 that a retry finds and finishes. The records themselves hold the
// address and are forgotten as every other record is (personal.Forget).
func (p *People) Forget(ctx context.Context, sub string) error {
	run, err := p.run(ctx, sub)
	if err != nil {
		return fmt.Errorf("erasure: read a person's records: %w", err)
	}
	for _, d := range slices.Backward(run) {
		if _, err := p.addresses.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}}); err != nil {
			return fmt.Errorf("erasure: forget a person's records: %w", store.Classify(err))
		}
	}
	return nil
}

// backfill gives every record kept before the slots existed its slot, once per
// database: the consumers do not see those records' events again. It reads each
// collection whole, which is why it runs only until it has noted that it finished.
func (p *People) backfill(ctx context.Context) error {
	switch err := p.addresses.FindOne(ctx, bson.D{{Key: "_id", Value: builtID}}).Err(); {
	case err == nil:
		return nil
	case !errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("people: read whether the addresses are built: %w", store.Classify(err))
	}
	var leads []leadDoc
	var reviewers []reviewerDoc
	var applicants []applicantDoc
	for _, read := range []struct {
		coll *mongo.Collection
		into any
	}{{p.leads, &leads}, {p.reviewers, &reviewers}, {p.applicants, &applicants}} {
		cur, err := read.coll.Find(ctx, bson.D{})
		if err != nil {
			return fmt.Errorf("people: read %s: %w", read.coll.Name(), store.Classify(err))
		}
		if err := cur.All(ctx, read.into); err != nil {
			return fmt.Errorf("people: read %s: %w", read.coll.Name(), store.Classify(err))
		}
	}
	for _, l := range leads {
		if err := p.point(ctx, l.Email, slotLead, l.OrgID); err != nil {
			return err
		}
	}
	for _, r := range reviewers {
		if err := p.point(ctx, r.Email, slotReviewer, r.ID); err != nil {
			return err
		}
	}
	for _, a := range applicants {
		if err := p.point(ctx, a.Email, slotApplicant, a.OrgID); err != nil {
			return err
		}
	}
	_, err := p.addresses.InsertOne(ctx, bson.D{{Key: "_id", Value: builtID}})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("people: note the addresses built: %w", store.Classify(err))
	}
	return nil
}
