// Package reviewdrafts keeps a peer reviewer's review as they typed it, saved
// part-way ("Save and come back later"), in the portal's own database: the review
// service takes only a whole review, and a review is long enough that a reviewer
// who must stop would otherwise lose what they wrote. The saved copy is the
// reviewer's alone, never sent anywhere, and goes when they submit the review, when
// the round closes (it takes no review then, but for the revision of a review ITSS
// returned, whose copy goes when the submission's feedback is released), when
// nobody saved it for
// KeepAfterSave, or when the person is erased (docs/PRIVACY.md).
//
// # Two saves at once
//
// The embedded store (FerretDB on SQLite) indexes only _id and does not apply a
// conditional update atomically; an insert whose _id is taken already is refused
// atomically. So each save is a new document whose _id is the copy's key and a
// version: the version the page was opened with, plus one. Of two tabs opened on
// the same copy, the first to save takes the next version and the second's insert
// is refused (ErrSavedElsewhere): it is told that the copy was saved elsewhere since
// it opened, rather than silently putting its older form over the newer one. A
// page opened longer ago still (whose next version was taken and has gone since)
// finds, once written, a later version than its own: its save is taken back and
// refused the same way. A save that stands deletes the versions before it.
package reviewdrafts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// Collection is where the saved copies are kept.
const Collection = "review_drafts"

// KeepAfterSave is how long a saved copy stays after its last save: longer than a
// reviewer's pause between two sittings of one review, and no longer, since it
// holds their words and the round it was written for has usually closed by then
// (docs/PRIVACY.md, Retention).
const KeepAfterSave = 30 * 24 * time.Hour

// The review service's limits, checked again here so that nothing the submit
// would refuse for its size is kept (the page checks them first, in its words).
const (
	maxText   = 8000
	maxThemes = 8
)

// Key names one reviewer's copy of one review: the reviewer (their id in the pool),
// the address they signed in with, and the submission in the round. The copy is
// found by the reviewer's id, not the address: ITSS may correct a reviewer's
// address while a review is saved, and the copy is theirs at the new one. The
// address says whose words the copy holds, for their subject access and erasure.
type Key struct {
	Reviewer, Email, Round, Submission string
}

// id is the copy's part of every version's _id. It is a digest, so that no round
// or submission id can run into another's, and names no one.
func (k Key) id() string {
	if k.Reviewer == "" {
		return k.legacy()
	}
	b, _ := json.Marshal([]string{"reviewer", k.Reviewer, k.Round, k.Submission})
	sum := sha256.Sum256(b)
	return "rd-" + hex.EncodeToString(sum[:16])
}

// legacy is the id copies were saved under before they were found by the
// reviewer's id (by the address alone, through the unkeyed pseudonym of that
// release): such a copy, saved before the portal was upgraded, is still found at
// that address, and its next save moves it.
func (k Key) legacy() string {
	b, _ := json.Marshal([]string{signin.UnkeyedPseudonym(k.Email), k.Round, k.Submission})
	sum := sha256.Sum256(b)
	return "rd-" + hex.EncodeToString(sum[:16])
}

// keys is the filter of every version of the copy, under either id.
func (k Key) keys() bson.D {
	return bson.D{{Key: "key", Value: bson.D{{Key: "$in", Value: bson.A{k.id(), k.legacy()}}}}}
}

// Theme is what the reviewer typed about one theme. Score is kept as typed: "" for
// none yet.
type Theme struct {
	ID, Score, Strengths, Recommendations string
}

// Draft is a saved copy of a review.
type Draft struct {
	Themes  []Theme
	Summary string
	// Revision says the copy revises a review ITSS returned, which a closed round
	// still takes until the submission's feedback is released.
	Revision bool
	// Version counts the saves; a page carries the version it was opened with, and
	// its save is taken only while that is still the latest (see the package's
	// comment). Zero when nothing is saved.
	Version int
	Saved   time.Time
}

type draftDoc struct {
	ID      string `bson:"_id"` // key.version
	Key     string `bson:"key"`
	Version int    `bson:"version"`
	// Reviewer is the reviewer's id in the pool, by which a corrected address
	// reaches the copy (Readdress); empty in copies saved before it was kept.
	Reviewer string `bson:"reviewer,omitempty"`
	// Person is the reviewer's pseudonym (signin.Pseudonyms; the unkeyed one in
	// copies saved before pseudonyms were keyed), by which the subject access
	// answer finds the copy; Subject the digest of their address
	// (personal.Subject), by which an erasure does.
	Person     string     `bson:"person"`
	Subject    string     `bson:"subject"`
	Round      string     `bson:"round"`
	Submission string     `bson:"submission"`
	Saved      time.Time  `bson:"saved_at"`
	Themes     []themeDoc `bson:"themes"`
	Summary    string     `bson:"summary"`
	Revision   bool       `bson:"revision,omitempty"`
}

type themeDoc struct {
	ID              string `bson:"theme"`
	Score           string `bson:"score,omitempty"`
	Strengths       string `bson:"strengths,omitempty"`
	Recommendations string `bson:"recommendations,omitempty"`
}

func (d draftDoc) draft() Draft {
	out := Draft{Summary: d.Summary, Revision: d.Revision, Version: d.Version, Saved: d.Saved}
	for _, t := range d.Themes {
		out.Themes = append(out.Themes, Theme(t))
	}
	return out
}

// Store keeps the saved copies.
type Store struct {
	coll       *mongo.Collection
	clock      clock.Clock
	pseudonyms signin.Pseudonyms
}

// New opens the saved copies in db. A copy's versions are read by their key, the
// sweep reads by the time of the last save, an erasure by the person and a corrected
// address by the reviewer: on the
// embedded store, which answers only _id lookups from an index, that is a scan of
// the few copies the collection ever holds; on MongoDB the indexes serve them.
func New(ctx context.Context, db *mongo.Database, clk clock.Clock, ps signin.Pseudonyms) (*Store, error) {
	if db == nil || clk == nil || !ps.Keyed() {
		return nil, errors.New("reviewdrafts: a database, a clock and keyed pseudonyms are required")
	}
	coll := db.Collection(Collection)
	if err := store.CreateIndexes(ctx, coll, []mongo.IndexModel{{Keys: bson.D{{Key: "key", Value: 1}}},
		{Keys: bson.D{{Key: "saved_at", Value: 1}}}, {Keys: bson.D{{Key: "subject", Value: 1}}}, {Keys: bson.D{{Key: "round", Value: 1}}},
		{Keys: bson.D{{Key: "reviewer", Value: 1}}}}); err != nil {
		return nil, fmt.Errorf("index %s: %w", Collection, store.Classify(err))
	}
	return &Store{coll: coll, clock: clk, pseudonyms: ps}, nil
}

// ErrSavedElsewhere says the copy was saved from another page (a second tab or
// window) since the page saving it was opened: the save is refused, and the latest
// copy is returned with it.
var ErrSavedElsewhere = errors.New("the review was saved elsewhere since this page was opened")

// Latest returns the reviewer's saved copy of the review; found is false when there
// is none.
func (s *Store) Latest(ctx context.Context, k Key) (d Draft, found bool, err error) {
	doc, found, err := s.latest(ctx, k)
	return doc.draft(), found, err
}

func (s *Store) latest(ctx context.Context, k Key) (draftDoc, bool, error) {
	cur, err := s.coll.Find(ctx, k.keys())
	if err != nil {
		return draftDoc{}, false, fmt.Errorf("read saved review: %w", store.Classify(err))
	}
	var docs []draftDoc
	if err := cur.All(ctx, &docs); err != nil {
		return draftDoc{}, false, fmt.Errorf("read saved review: %w", store.Classify(err))
	}
	var best draftDoc
	for _, d := range docs {
		if d.Version > best.Version {
			best = d
		}
	}
	return best, best.Version > 0, nil
}

// Save keeps d as the reviewer's copy of the review, in place of the copy of
// version d.Version (0: none), the one the page was opened with, and returns it as
// saved. A copy saved elsewhere since is not overwritten: Save returns it with
// ErrSavedElsewhere. A copy any part of which the review service would refuse for
// its size is refused whole (apperr.Invalid); a part-way one is the point.
func (s *Store) Save(ctx context.Context, k Key, d Draft) (Draft, error) {
	if k.Email == "" || k.Round == "" || k.Submission == "" {
		return Draft{}, errors.New("save review: the reviewer, round and submission are required")
	}
	if err := check(d); err != nil {
		return Draft{}, err
	}
	key := k.id()
	doc := draftDoc{ID: fmt.Sprintf("%s.%d", key, d.Version+1), Key: key, Version: d.Version + 1, Reviewer: k.Reviewer, Person: s.pseudonyms.Of(k.Email),
		Subject: personal.Subject(k.Email), Round: k.Round, Submission: k.Submission, Saved: s.clock.Now().UTC().Truncate(time.Millisecond), Summary: d.Summary,
		Revision: d.Revision}
	for _, t := range d.Themes {
		doc.Themes = append(doc.Themes, themeDoc(t))
	}
	_, err := s.coll.InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		return s.savedElsewhere(ctx, k)
	}
	if err != nil {
		return Draft{}, fmt.Errorf("save review: %w", store.Classify(err))
	}
	latest, _, err := s.latest(ctx, k)
	if err != nil {
		return Draft{}, err
	}
	if latest.Version > doc.Version {
		// Saved from a page older than a save that stands: not the copy.
		if _, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}); err != nil {
			return Draft{}, fmt.Errorf("take back a stale saved review: %w", store.Classify(err))
		}
		return latest.draft(), ErrSavedElsewhere
	}
	// The versions before are the past: a failure to delete them leaves them to
	// the next save, the submit or the sweep, and the copy is the latest anyway.
	_, _ = s.coll.DeleteMany(ctx, append(k.keys(), bson.E{Key: "version", Value: bson.D{{Key: "$lt", Value: doc.Version}}}))
	return doc.draft(), nil
}

func (s *Store) savedElsewhere(ctx context.Context, k Key) (Draft, error) {
	latest, _, err := s.latest(ctx, k)
	if err != nil {
		return Draft{}, err
	}
	return latest.draft(), ErrSavedElsewhere
}

// check refuses what the review service would refuse for its size or range, and
// nothing for being missing.
func check(d Draft) error {
	if len(d.Themes) > maxThemes {
		return apperr.New(apperr.Invalid, "a review has at most %d themes", maxThemes)
	}
	if utf8.RuneCountInString(d.Summary) > maxText {
		return apperr.Field("summary", "must be %d characters or fewer", maxText)
	}
	for i, t := range d.Themes {
		switch t.Score {
		case "", "1", "2", "3", "4":
		default:
			return apperr.Field(fmt.Sprintf("themes.%d.score", i), "must be from 1 to 4")
		}
		if utf8.RuneCountInString(t.Strengths) > maxText {
			return apperr.Field(fmt.Sprintf("themes.%d.strengths", i), "must be %d characters or fewer", maxText)
		}
		if utf8.RuneCountInString(t.Recommendations) > maxText {
			return apperr.Field(fmt.Sprintf("themes.%d.recommendations", i), "must be %d characters or fewer", maxText)
		}
		if len(t.ID) > 100 {
			return apperr.New(apperr.Invalid, "theme %d is not one of the review's", i)
		}
	}
	return nil
}

// Delete deletes the reviewer's copy of the review, every version: once the review
// is in, the review service holds it, and the copy is only a second record of the
// person's words.
func (s *Store) Delete(ctx context.Context, k Key) error {
	if _, err := s.coll.DeleteMany(ctx, k.keys()); err != nil {
		return fmt.Errorf("delete saved review: %w", store.Classify(err))
	}
	return nil
}

// Readdress records email as the address of the reviewer whose copies they are,
// when ITSS correct it: the copies are then in that address's subject access and go
// with its erasure, and the address the reviewer no longer has holds none. The
// same address set twice changes nothing, so a redelivered event is harmless.
func (s *Store) Readdress(ctx context.Context, reviewer, email string) error {
	if reviewer == "" || email == "" {
		return errors.New("readdress saved reviews: a reviewer and an address are required")
	}
	_, err := s.coll.UpdateMany(ctx, bson.D{{Key: "reviewer", Value: reviewer}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "person", Value: s.pseudonyms.Of(email)}, {Key: "subject", Value: personal.Subject(email)}}}})
	if err != nil {
		return fmt.Errorf("readdress the saved reviews of reviewer %s: %w", reviewer, store.Classify(err))
	}
	return nil
}

// ForgetRound deletes every copy saved for a review in the round, which has closed: it
// takes no new review any more, so the copies could never be sent, and are only the
// reviewers' words kept for nothing. The revision of a review ITSS returned stays:
// the closed round takes it until the submission's feedback is released
// (ForgetSubmission). It reports how many versions it deleted.
func (s *Store) ForgetRound(ctx context.Context, round string) (int, error) {
	if round == "" {
		return 0, errors.New("forget a round's saved reviews: a round is required")
	}
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "round", Value: round}, {Key: "revision", Value: bson.D{{Key: "$ne", Value: true}}}})
	if err != nil {
		return 0, fmt.Errorf("forget the saved reviews of round %s: %w", round, store.Classify(err))
	}
	return int(res.DeletedCount), nil
}

// ForgetSubmission deletes every copy saved for a review of the submission in the
// round, whose feedback is released: no review of it is taken any more, a revision
// included. It reports how many versions it deleted.
func (s *Store) ForgetSubmission(ctx context.Context, round, submission string) (int, error) {
	if round == "" || submission == "" {
		return 0, errors.New("forget a submission's saved reviews: a round and a submission are required")
	}
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "round", Value: round}, {Key: "submission", Value: submission}})
	if err != nil {
		return 0, fmt.Errorf("forget the saved reviews of round %s: %w", round, store.Classify(err))
	}
	return int(res.DeletedCount), nil
}

// DurableRoundsClosed is the consumer that forgets a closed round's saved reviews. It
// is a contract: renamed, a consumer starts over.
const DurableRoundsClosed = "portal-review-drafts-closed"

// RoundsClosedConsumer forgets the saved reviews of each round the review service
// closes (ForgetRound), and of each submission whose feedback it releases
// (ForgetSubmission). Forgetting twice forgets nothing more, so a redelivery changes
// nothing.
func RoundsClosedConsumer(s *Store) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamReview, Durable: DurableRoundsClosed, Idempotent: true,
		FilterSubjects: []string{events.SubjectReviewRoundClosed, events.SubjectFeedbackReleased}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		payload, err := events.DecodeAny(e)
		if err != nil {
			return bus.Permanent(err)
		}
		switch v := payload.(type) {
		case events.ReviewRoundClosedV1:
			_, err = s.ForgetRound(ctx, v.RoundID)
		case events.FeedbackReleasedV1:
			_, err = s.ForgetSubmission(ctx, v.RoundID, v.SubmissionID)
		}
		return err
	}
}

// DurableReviewersReaddressed is the consumer that gives a reviewer's saved copies
// the address ITSS correct. It is a contract: renamed, a consumer starts over.
const DurableReviewersReaddressed = "portal-review-drafts-readdressed"

// ReviewersReaddressedConsumer records, on each change to a reviewer's record, its
// address as that of the reviewer's saved copies (Readdress). A record whose address
// was erased names none, and changes nothing: the erasure deletes the copies.
func ReviewersReaddressedConsumer(s *Store) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamReview, Durable: DurableReviewersReaddressed, Idempotent: true,
		FilterSubjects: []string{events.SubjectReviewerUpdated}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		v, err := events.Decode[events.ReviewerUpdatedV1](e)
		if err != nil {
			return bus.Permanent(err)
		}
		if v.ReviewerID == "" || v.Email == "" {
			return nil
		}
		return s.Readdress(ctx, v.ReviewerID, v.Email)
	}
}

// Sweep deletes the copies last saved more than KeepAfterSave ago, and reports how
// many it deleted. The portal runs it with its other sweeps, every minute.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	cut := s.clock.Now().Add(-KeepAfterSave).UTC()
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "saved_at", Value: bson.D{{Key: "$lt", Value: cut}}}})
	if err != nil {
		return 0, fmt.Errorf("sweep saved reviews: %w", store.Classify(err))
	}
	return int(res.DeletedCount), nil
}

// ForgetPerson deletes every copy the person with this address saved, as their
// erasure does (Forget): for a copy saved as the erasure landed, after it read them.
func (s *Store) ForgetPerson(ctx context.Context, email string) (int, error) {
	return Forget(ctx, s.coll.Database(), personal.Subject(email))
}

// Forget deletes, for the erasure of the person whose address has the digest sub
// (personal.Subject), every copy they saved in db. It takes the database rather
// than a Store: the erasure is wired with the database alone.
func Forget(ctx context.Context, db *mongo.Database, sub string) (int, error) {
	if sub == "" {
		return 0, errors.New("forget saved reviews: a subject is required")
	}
	res, err := db.Collection(Collection).DeleteMany(ctx, bson.D{{Key: "subject", Value: sub}})
	if err != nil {
		return 0, fmt.Errorf("forget saved reviews: %w", store.Classify(err))
	}
	return int(res.DeletedCount), nil
}
