// Package apitokens is the API tokens the portal issues to organisations' own tools:
// their records (who made each, when, until when, revoked or not), the JWT each one
// is, and the events by which the fund service learns which are in force.
//
// The token is shown once, when made; the portal keeps only its SHA-256 digest (to
// tell which record a token found somewhere belongs to) and its last four
// characters (for people to tell their tokens apart). The fund accepts a token only
// while its read model, built from the events here, holds it issued, unrevoked and
// unexpired. The events go to a stream of their own that keeps them longer than any
// token lives, so the fund misses none however long either service is down, and
// needs no word from the portal to keep a token working. Each record remembers the
// last state the stream was told; Retell tells it again any state it was not (a
// publish that failed), so a revocation always reaches it.
package apitokens

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
)

// MaxActive bounds an organisation's unexpired, unrevoked tokens: enough for every
// tool an institution runs, few enough that a lost one is noticed in the list.
const MaxActive = 20

// Token is one API token's record. It never holds the token itself.
type Token struct {
	ID        string
	Org       string
	Name      string
	CreatedBy string // the person's name as the suite's records give it
	Created   time.Time
	Expires   time.Time
	Last4     string
	Revoked   time.Time // zero while in force
	RevokedBy string
}

// Active reports whether the token is neither revoked nor expired at now.
func (t Token) Active(now time.Time) bool { return t.Revoked.IsZero() && now.Before(t.Expires) }

// Minter signs the tokens (signin.Minter).
type Minter interface {
	MintAPIToken(id, org, aud string, expires time.Time) (string, error)
}

// MakerMinter is a Minter that writes into the token the person who made it: their
// name and the address they signed in with, in the name and email claims, which the
// fund reads as the applicant of every application the token drafts (so that its
// emails reach the person who wrote the application, not the lead alone). A Minter
// that is not one makes tokens that name no one, and the fund's emails about their
// applications go to the organisation's nominated lead alone.
type MakerMinter interface {
	MintAPITokenBy(id, org, aud string, expires time.Time, name, email string) (string, error)
}

// The collections of the records: a token's own (what its revocations and
// tellings write); its maker's (who made it, which only Issue and the maker's
// erasure write); and the person's who revoked it (which only that revocation and
// their erasure write).
const (
	Collection         = "api_tokens"
	MakersCollection   = "api_token_makers"
	RevokersCollection = "api_token_revokers"
)

// Store keeps the records and tells the fund about them.
type Store struct {
	coll        *mongo.Collection
	makers      *mongo.Collection // see makerDoc
	revokers    *mongo.Collection // see revokerDoc
	slots       *mongo.Collection // see takeSlot
	js          jetstream.JetStream
	minter      Minter
	clock       clock.Clock
	audience    string
	maxLifetime time.Duration
	logger      *slog.Logger
}

// tokenDoc is a token's record. It names no maker: who made the token is in its
// makerDoc. CreatedBy, Creator and Subject are read from records an earlier version
// wrote, which kept the maker here (see Forget); they are never written.
type tokenDoc struct {
	ID        string    `bson:"_id"`
	Org       string    `bson:"org"`
	Name      string    `bson:"name"`
	CreatedBy string    `bson:"created_by,omitempty"`
	Creator   string    `bson:"creator,omitempty"` // the person's pseudonym
	Created   time.Time `bson:"created_at"`
	// LeadSince is Request.LeadSince; absent from records older than it.
	LeadSince time.Time `bson:"lead_since,omitempty"`
	Expires   time.Time `bson:"expires_at"`
	Last4     string    `bson:"last4"`
	Digest    string    `bson:"sha256"`
	Revoked   time.Time `bson:"revoked_at,omitempty"`
	// RevokedBy is who revoked it as the lists say it, when the portal did (its
	// words); a person who revoked it is in its revokerDoc. Records an earlier
	// version wrote name a person here, with Revoker.
	RevokedBy string `bson:"revoked_by,omitempty"`
	// Why is the reason the portal revoked it on its own (events.APITokenRevoked…),
	// told to the fund with the revocation so that its refusal says it; absent when
	// a person revoked it.
	Why string `bson:"revoked_why,omitempty"`
	// Role is who revoked it by role (events.APITokenRevokedBy…), told to the
	// stream with the revocation so that a restore's Reconcile says it again;
	// absent from records older than it.
	Role string `bson:"revoked_role,omitempty"`
	// Revoker is who revoked it as the portal records people, in records an
	// earlier version wrote; see revokerDoc.Revoker.
	Revoker string `bson:"revoker,omitempty"`
	// Subject is the digest of the address the token carries (personal.Subject), in
	// records an earlier version wrote; see makerDoc.Subject.
	Subject string `bson:"subject,omitempty"`
	// Told is the state the stream was last told: toldIssued or toldRevoked, absent
	// until a publish succeeds (and in records older than the token stream).
	Told string `bson:"told,omitempty"`
}

// makerDoc is who made a token, in a document of its own under the token's id:
// Issue inserts it, and the erasure of its maker (Forget) deletes it, and nothing
// else writes it. The embedded store updates a document by reading it and replacing
// it whole, so a revocation's write to a record that held the maker, landing beside
// the erasure's, could write back the name, digest and pseudonym the erasure had
// just taken off; here no revocation writes, and a deleted document is not written
// back by any update. Sweep deletes it with its token's record.
type makerDoc struct {
	ID        string `bson:"_id"`
	CreatedBy string `bson:"created_by"` // the person's name as the suite's records give it
	Creator   string `bson:"creator"`    // the person's pseudonym
	// Subject is the digest of the address the token carries (personal.Subject), by
	// which an erasure of the person finds the tokens that name them (Forget); absent
	// from tokens that carry no address.
	Subject string    `bson:"subject,omitempty"`
	Expires time.Time `bson:"expires_at"`
}

// revokerDoc is the person who revoked a token (a lead, a colleague, ITSS staff),
// in a document of its own under the token's id, for the reason makerDoc is: the
// revocation inserts it, the person's erasure (ForgetRevoker) takes them off it, and
// nothing else writes it, whereas the token's record is written again by the telling
// of the fund (tell, Retell) after the revocation. Its unique id decides between two
// people revoking at once. The token's record says a person revoked it by its Role;
// when the portal's revocation landed last, the record's own words are the ones
// shown. Sweep deletes it with its token's record.
type revokerDoc struct {
	ID        string `bson:"_id"`
	RevokedBy string `bson:"revoked_by"` // their name, as the lists show it
	// Revoker is how the portal records them: a lead's or a colleague's pseudonym,
	// by which their subject access and erasure find it (ForgetRevoker), or an ITSS
	// staff member's OpenID subject; absent once they are erased.
	Revoker string    `bson:"revoker,omitempty"`
	Expires time.Time `bson:"expires_at"`
}

// The states a record's Told holds.
const (
	toldIssued  = "issued"
	toldRevoked = "revoked"
)

// state is the token's state as its event says it.
func (d tokenDoc) state() string {
	if d.Revoked.IsZero() {
		return toldIssued
	}
	return toldRevoked
}

func (d tokenDoc) token() Token {
	return Token{ID: d.ID, Org: d.Org, Name: d.Name, CreatedBy: d.CreatedBy, Created: d.Created, Expires: d.Expires,
		Last4: d.Last4, Revoked: d.Revoked, RevokedBy: d.RevokedBy}
}

// Deps are what a Store needs.
type Deps struct {
	DB     *mongo.Database
	JS     jetstream.JetStream
	Minter Minter
	Clock  clock.Clock
	Logger *slog.Logger
	// Audience is the fund service's (PORTAL_FUND_AUDIENCE): the tokens call it alone.
	Audience string
	// MaxLifetime is the longest expiry a person may choose (PORTAL_API_TOKEN_MAX_LIFETIME).
	MaxLifetime time.Duration
}

// New opens the records.
func New(ctx context.Context, d Deps) (*Store, error) {
	if d.DB == nil || d.JS == nil || d.Minter == nil || d.Clock == nil || d.Logger == nil || d.Audience == "" || d.MaxLifetime <= 0 {
		return nil, errors.New("apitokens: database, bus, minter, clock, logger, audience and maximum lifetime are required")
	}
	s := &Store{coll: d.DB.Collection(Collection), makers: d.DB.Collection(MakersCollection), revokers: d.DB.Collection(RevokersCollection), slots: d.DB.Collection("api_token_slots"), js: d.JS, minter: d.Minter, clock: d.Clock, audience: d.Audience,
		maxLifetime: d.MaxLifetime, logger: d.Logger}
	if err := store.CreateIndexes(ctx, s.coll, []mongo.IndexModel{{Keys: bson.D{{Key: "org", Value: 1}}}}); err != nil {
		return nil, fmt.Errorf("index api_tokens: %w", store.Classify(err))
	}
	if err := store.CreateIndexes(ctx, s.makers, []mongo.IndexModel{{Keys: bson.D{{Key: "subject", Value: 1}}}}); err != nil {
		return nil, fmt.Errorf("index api_token_makers: %w", store.Classify(err))
	}
	if err := store.CreateIndexes(ctx, s.revokers, []mongo.IndexModel{{Keys: bson.D{{Key: "revoker", Value: 1}}}}); err != nil {
		return nil, fmt.Errorf("index api_token_revokers: %w", store.Classify(err))
	}
	return s, nil
}

// MaxLifetime is the longest expiry a person may choose.
func (s *Store) MaxLifetime() time.Duration { return s.maxLifetime }

// Request is what a person asks for: a name for the token and how long it lasts.
type Request struct {
	Org      string
	Name     string
	Lifetime time.Duration
	// By is the person asking, as the records name them, and Creator their
	// pseudonym (signin.Pseudonyms).
	By, Creator string
	// Email is the address the person signed in with. The token carries it and By,
	// so that the fund names the person as the applicant of what the token drafts
	// and writes to them (see MakerMinter). It stays in the token as long as the
	// token lives: Forget revokes the tokens of a person erased.
	Email string
	// Key, when set, is the form's own key: the token's id is made from it, so that
	// the form sent twice makes one token (the second is ErrMadeAlready).
	Key string
	// LeadSince is when the change that made the organisation's lead who the
	// records said, as the token was made, was made (signin.People.LeadSince): the
	// maker's power to make it came from that change, and a later one may end it
	// (RevokeUnlent), however late the portal hears of it.
	LeadSince time.Time
}

// ErrMadeAlready says a request's key made a token already.
var ErrMadeAlready = errors.New("a token was made from this form already")

// formSpace names the ids of tokens made from a form's key.
var formSpace = uuid.MustParse("7c6c39b0-44a4-4d55-9d1b-6f2f5a0f1c8e")

// Issue makes a token and returns its record and the token itself, which is shown
// once and kept nowhere. The record is written before the fund hears of the token,
// so that every token the fund accepts is listed here and can be revoked.
func (s *Store) Issue(ctx context.Context, r Request) (Token, string, error) {
	r.Name = strings.TrimSpace(r.Name)
	switch {
	case r.Org == "" || r.Creator == "":
		return Token{}, "", errors.New("issue API token: an organisation and its creator are required")
	case r.Name == "" || utf8.RuneCountInString(r.Name) > 100:
		return Token{}, "", apperr.Field("name", "a name of 1 to 100 characters is required")
	case r.Lifetime < 24*time.Hour || r.Lifetime > s.maxLifetime:
		return Token{}, "", apperr.Field("days", "the token must last between 1 and %d days", int(s.maxLifetime/(24*time.Hour)))
	}
	now := s.clock.Now()
	active, err := s.coll.CountDocuments(ctx, bson.D{{Key: "org", Value: r.Org}, {Key: "revoked_at", Value: bson.D{{Key: "$exists", Value: false}}},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}})
	if err != nil {
		return Token{}, "", fmt.Errorf("count API tokens of %s: %w", r.Org, store.Classify(err))
	}
	if active >= MaxActive {
		return Token{}, "", apperr.New(apperr.Conflict, "your organisation has %d tokens in force already: revoke one you no longer use first", MaxActive)
	}
	id := uuid.NewString()
	if r.Key != "" {
		id = uuid.NewSHA1(formSpace, []byte(r.Org+"|"+r.Key)).String()
	}
	expires := now.Add(r.Lifetime).Truncate(time.Second)
	// The count above tells the usual case; a slot decides between tokens made at
	// once, which all counted the same (a count then an insert holds no limit).
	switch took, err := s.takeSlot(ctx, r.Org, id, now); {
	case err != nil:
		return Token{}, "", err
	case !took:
		return Token{}, "", apperr.New(apperr.Conflict, "your organisation has %d tokens in force already: revoke one you no longer use first", MaxActive)
	}
	secret, subject, err := s.mint(id, r, expires)
	if err != nil {
		return Token{}, "", err
	}
	sum := sha256.Sum256([]byte(secret))
	doc := tokenDoc{ID: id, Org: r.Org, Name: r.Name, Created: now.UTC(), LeadSince: r.LeadSince.UTC(), Expires: expires.UTC(),
		Last4: secret[len(secret)-4:], Digest: hex.EncodeToString(sum[:])}
	if _, err := s.coll.InsertOne(ctx, doc); mongo.IsDuplicateKeyError(err) {
		return Token{}, "", ErrMadeAlready // the unique id decides between two sends
	} else if err != nil {
		return Token{}, "", fmt.Errorf("record API token: %w", store.Classify(err))
	}
	// Its maker, in a document of their own (makerDoc), after the record: a
	// second send of the form stops at the record's id above.
	maker := makerDoc{ID: id, CreatedBy: r.By, Creator: r.Creator, Subject: subject, Expires: doc.Expires}
	_, err = s.makers.InsertOne(ctx, maker)
	if err == nil {
		doc.CreatedBy, doc.Creator, doc.Subject = maker.CreatedBy, maker.Creator, maker.Subject
		err = s.tell(ctx, doc)
	} else {
		err = fmt.Errorf("record API token %s's maker: %w", id, store.Classify(err))
	}
	if err != nil {
		// The fund may or may not have heard: revoke it, so that it is refused
		// either way (Retell says so to the fund), and ask again.
		doc.Revoked, doc.RevokedBy, doc.Role = now.UTC(), "the portal (not confirmed when made)", events.APITokenRevokedByPortal
		rec := doc
		rec.CreatedBy, rec.Creator, rec.Subject = "", "", "" // the record names no maker
		if _, uerr := s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, rec); uerr != nil {
			// The fund refuses a token it has not heard of: if it did hear, the
			// token works until someone revokes it from the list, where it shows.
			s.logger.ErrorContext(ctx, "API token not confirmed when made, and not revoked", "token", id, "error", uerr)
		}
		return Token{}, "", apperr.Wrap(apperr.Unavailable, err, "the token could not be made just now; try again")
	}
	// The maker is not logged: their pseudonym is what the services' audit trails
	// record them by, and a record made before pseudonyms were keyed holds an
	// unkeyed digest of their address (docs/PRIVACY.md, "No personal data in logs
	// or traces").
	s.logger.InfoContext(ctx, "API token issued", "token", id, "org", r.Org)
	return doc.token(), secret, nil
}

// slotDoc is one of an organisation's MaxActive places for a token in force,
// "<org>#<n>": a token takes a free one by inserting it, so that the unique _id, the
// one guard that holds on both stores, bounds the tokens made at once.
type slotDoc struct {
	ID    string    `bson:"_id"`
	Token string    `bson:"token"`
	Taken time.Time `bson:"taken_at"`
}

// slotGrace is how long a slot is held for a token whose record is not written yet
// (its maker is between the two): after it, such a slot is free.
const slotGrace = time.Minute

// takeSlot takes a place for token among org's MaxActive, freeing one whose token is
// no longer in force (revoked, expired, or never recorded), and says whether it
// found one. A token that holds a place already (its form sent again) keeps it.
func (s *Store) takeSlot(ctx context.Context, org, token string, now time.Time) (bool, error) {
	for n, freed := 0, 0; n < MaxActive; n++ {
		id := fmt.Sprintf("%s#%d", org, n)
		_, err := s.slots.InsertOne(ctx, slotDoc{ID: id, Token: token, Taken: now.UTC()})
		if err == nil {
			return true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return false, fmt.Errorf("take a place for API token of %s: %w", org, store.Classify(err))
		}
		var held slotDoc
		switch err := s.slots.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&held); {
		case errors.Is(err, mongo.ErrNoDocuments):
			n-- // freed meanwhile: try it again
			continue
		case err != nil:
			return false, fmt.Errorf("read a place of %s's API tokens: %w", org, store.Classify(err))
		}
		if held.Token == token {
			return true, nil
		}
		inForce, err := s.inForce(ctx, held, now)
		if err != nil || inForce {
			if err != nil {
				return false, err
			}
			continue
		}
		// Free it, if it is still that token's, and try it again: a bounded number
		// of times, so that writers freeing and taking one place cannot loop.
		if _, err := s.slots.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "token", Value: held.Token}}); err != nil {
			return false, fmt.Errorf("free a place of %s's API tokens: %w", org, store.Classify(err))
		}
		if freed++; freed <= MaxActive {
			n--
		}
	}
	return false, nil
}

// inForce says whether the token holding a place is in force: recorded, neither
// revoked nor expired; or not recorded yet, within slotGrace of taking the place.
func (s *Store) inForce(ctx context.Context, held slotDoc, now time.Time) (bool, error) {
	var doc tokenDoc
	switch err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: held.Token}}).Decode(&doc); {
	case errors.Is(err, mongo.ErrNoDocuments):
		return now.Sub(held.Taken) < slotGrace, nil
	case err != nil:
		return false, fmt.Errorf("read API token %s: %w", held.Token, store.Classify(err))
	}
	return doc.Revoked.IsZero() && doc.Expires.After(now), nil
}

// mint signs token id for r, naming its maker when the minter can, and returns it
// with the digest of the address it carries (empty when it carries none).
func (s *Store) mint(id string, r Request, expires time.Time) (secret, subject string, err error) {
	m, ok := s.minter.(MakerMinter)
	if !ok || r.Email == "" {
		secret, err = s.minter.MintAPIToken(id, r.Org, s.audience, expires)
		return secret, "", err
	}
	secret, err = m.MintAPITokenBy(id, r.Org, s.audience, expires, r.By, strings.TrimSpace(r.Email))
	return secret, personal.Subject(r.Email), err
}

// ErasedMaker is who revoked a token whose maker was erased, as the lists say it.
const ErasedMaker = "the portal (its maker's details were erased)"

// ErasedRevoker is who revoked a token, as the lists say it, once the person who
// did was erased.
const ErasedRevoker = "someone whose details were erased"

// Revoker is who revokes a token: their name, as the lists show it, and how the
// portal records them (a lead's or colleague's pseudonym, an ITSS staff member's
// OpenID subject; empty for the portal itself).
type Revoker struct {
	Name, ID string
	// ITSS says they are ITSS staff; otherwise a person revoking is the
	// organisation's lead or a colleague the lead named.
	ITSS bool
}

// role is who revokes, by role alone, as the token stream says it: a person is the
// organisation or ITSS; anyone else, or a revocation with a reason, the portal.
func (r Revoker) role(why string) string {
	switch {
	case why != "" || r.ID == "":
		return events.APITokenRevokedByPortal
	case r.ITSS:
		return events.APITokenRevokedByITSS
	}
	return events.APITokenRevokedByOrganisation
}

// ForgetRevoker takes the person recorded as id (their pseudonym) off the records of
// the tokens they revoked, for their erasure: each still says it was revoked, by
// someone erased. They are in documents of their own (revokerDoc), which nothing
// else writes after the revocation, so the telling of the fund racing the erasure
// cannot write them back. A record an earlier version wrote names them in the
// token's own record, which that telling (Retell, after a publish that failed) can
// write back as it read it: those are taken off as before, without that guarantee,
// until they are swept.
func (s *Store) ForgetRevoker(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("forget who revoked API tokens: a pseudonym is required")
	}
	forget := bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_by", Value: ErasedRevoker}}}, {Key: "$unset", Value: bson.D{{Key: "revoker", Value: ""}}}}
	for _, c := range []*mongo.Collection{s.revokers, s.coll} {
		if _, err := c.UpdateMany(ctx, bson.D{{Key: "revoker", Value: id}}, forget); err != nil {
			return fmt.Errorf("forget who revoked API tokens: %w", store.Classify(err))
		}
	}
	return nil
}

// Forget revokes every token in force that carries the address whose digest is
// subject (personal.Subject), and takes the person's name, pseudonym and digest off
// the records of every token that carried it, for the erasure of the person
// (docs/PRIVACY.md): a token that lived on would write their address into every
// application drafted with it. It reports how many tokens it revoked. A
// revocation the fund could not be told yet is told by the next Retell, which
// finds the record revoked and not told so; run again after a failure, it
// resumes, since a maker is deleted only once their token is revoked.
//
// The maker is in a document of their own (makerDoc), which Forget deletes and no
// revocation writes, so a revocation of the token racing the erasure (the
// portal's own, when the erasure's change of lead reaches its leads' consumer at
// the same moment; a person's; Retell's telling) cannot write them back.
//
// Records an earlier version wrote hold their maker themselves, and so do those an
// older replica writes during a rolling upgrade: Forget takes the maker off those
// too, but there a revocation racing it can write them back, the embedded store
// updating a document by reading and replacing it whole. So Forget reads them again
// a moment after its pass (forgetSettle: such a write, read before the pass, lands
// within it), and passes again over what still holds the digest; this narrows that
// race for those records without closing it, until they are swept
// (KeepAfterExpiry). An older replica, during the upgrade, does not read a maker's
// own document: it lists the tokens the new version made as naming no maker, its
// RevokeUnlent revokes them as made by someone no longer lent the power (fail
// closed), and an erasure it takes misses them, their tokens staying in force with
// their makers, until the erasure is made again (deploy/README.md).
func (s *Store) Forget(ctx context.Context, subject string) (int, error) {
	if subject == "" {
		return 0, errors.New("forget API token maker: a subject is required")
	}
	total, err := s.forgetMakers(ctx, subject)
	if err != nil {
		return total, err
	}
	for range forgetPasses {
		n, left, err := s.forgetPass(ctx, subject)
		total += n
		if err != nil || !left {
			return total, err
		}
	}
	return total, fmt.Errorf("forget API token maker: records still held the digest after %d passes", forgetPasses)
}

// forgetMakers is Forget for the makers in documents of their own: it revokes each
// one's token if in force, then deletes the maker, and reports how many tokens it
// revoked.
func (s *Store) forgetMakers(ctx context.Context, subject string) (int, error) {
	cur, err := s.makers.Find(ctx, bson.D{{Key: "subject", Value: subject}})
	if err != nil {
		return 0, fmt.Errorf("find API tokens' makers to forget: %w", store.Classify(err))
	}
	var makers []makerDoc
	if err := cur.All(ctx, &makers); err != nil {
		return 0, fmt.Errorf("read API tokens' makers to forget: %w", store.Classify(err))
	}
	if len(makers) == 0 {
		return 0, nil
	}
	ids := make(bson.A, 0, len(makers))
	for _, m := range makers {
		ids = append(ids, m.ID)
	}
	cur, err = s.coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "revoked_at", Value: bson.D{{Key: "$exists", Value: false}}}})
	if err != nil {
		return 0, fmt.Errorf("find API tokens to forget: %w", store.Classify(err))
	}
	var inForce []tokenDoc
	if err := cur.All(ctx, &inForce); err != nil {
		return 0, fmt.Errorf("read API tokens to forget: %w", store.Classify(err))
	}
	n := 0
	var errs []error
	for _, m := range makers {
		if slices.ContainsFunc(inForce, func(d tokenDoc) bool { return d.ID == m.ID }) {
			switch _, err := s.revoke(ctx, "", m.ID, Revoker{Name: ErasedMaker}, events.APITokenRevokedMakerErased); {
			case apperr.Is(err, apperr.NotFound): // swept meanwhile: nothing to revoke
			case err != nil && !apperr.Is(err, apperr.Unavailable):
				errs = append(errs, err)
				continue // keep the maker, so that a second run finds the token
			default:
				n++
			}
		}
		// The record says revoked now (told to the fund or left to Retell): the
		// maker goes, their name, pseudonym and digest with them.
		if _, err := s.makers.DeleteOne(ctx, bson.D{{Key: "_id", Value: m.ID}}); err != nil {
			errs = append(errs, fmt.Errorf("forget the maker of API token %s: %w", m.ID, store.Classify(err)))
		}
	}
	return n, errors.Join(errs...)
}

// forgetPasses bounds Forget's passes; a failed erasure is run again in any case.
// forgetSettle is how long a pass waits before it reads again.
const (
	forgetPasses = 5
	forgetSettle = 200 * time.Millisecond
)

// forgetPass is one pass of Forget over the records that hold their maker
// themselves: it reports how many tokens it revoked, and whether any record still
// holds the digest after it.
func (s *Store) forgetPass(ctx context.Context, subject string) (int, bool, error) {
	filter := bson.D{{Key: "subject", Value: subject}}
	cur, err := s.coll.Find(ctx, filter)
	if err != nil {
		return 0, false, fmt.Errorf("find API tokens to forget: %w", store.Classify(err))
	}
	var docs []tokenDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, false, fmt.Errorf("read API tokens to forget: %w", store.Classify(err))
	}
	n := 0
	var errs []error
	for _, d := range docs {
		if d.Revoked.IsZero() {
			if _, err := s.revoke(ctx, "", d.ID, Revoker{Name: ErasedMaker}, events.APITokenRevokedMakerErased); err != nil && !apperr.Is(err, apperr.Unavailable) {
				errs = append(errs, err)
				continue // keep the digest, so that a second run finds it
			}
			n++
		}
		// The record says revoked now (told to the fund or left to Retell): the
		// person's name, digest and pseudonym go (a record made before pseudonyms
		// were keyed holds an unkeyed digest of the address, which anyone holding
		// the address works out).
		unset := bson.D{{Key: "$set", Value: bson.D{{Key: "created_by", Value: ""}, {Key: "creator", Value: ""}}}, {Key: "$unset", Value: bson.D{{Key: "subject", Value: ""}}}}
		if _, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, unset); err != nil {
			errs = append(errs, fmt.Errorf("forget the maker of API token %s: %w", d.ID, store.Classify(err)))
		}
	}
	if err := errors.Join(errs...); err != nil || len(docs) == 0 {
		return n, false, err
	}
	select {
	case <-ctx.Done():
		return n, false, ctx.Err()
	case <-time.After(forgetSettle):
	}
	left, err := s.coll.CountDocuments(ctx, filter)
	if err != nil {
		return n, false, fmt.Errorf("read API tokens to forget: %w", store.Classify(err))
	}
	return n, left > 0, nil
}

// Who the lists say revoked a token the portal revoked because its maker may no
// longer make the organisation's tokens (RevokeUnlent).
const (
	NotLeadMaker = "the portal (its maker is no longer the organisation's nominated lead, nor a colleague the lead named)"
	// CorrectedMaker is for a token made by the lead with an address since
	// corrected: the token carries the old one, to which the fund would write.
	CorrectedMaker = "the portal (its maker's address was corrected, and the token carried the earlier one: make a new token)"
)

// RevokeUnlent revokes org's tokens in force that were made before the time given
// by anyone other than makers (every pseudonym, signin.Pseudonyms.All, of the
// organisation's nominated lead and of each colleague the lead named, as the
// records now hold them), and
// reports how many it revoked. A token acts for the person who made it and carries
// their address, to which the fund writes about every application it drafts: once
// that person may no longer make the organisation's tokens (the role was handed on,
// the colleague removed, or the lead's address corrected, which the records take as
// a new lead), the token no longer acts for the organisation. A token its maker
// made under the lead's present name (lead) is one whose address was corrected, and
// the lists and the fund's refusal say so. Tokens made after the time are left (a
// zero time leaves none): a change that is read again (a redelivery, or the records
// rebuilt from the events) reaches only the tokens made before it. A token is taken
// as made when the change it was made under was (Request.LeadSince), so that one the
// outgoing lead made before the portal heard of the change is revoked by it. A token
// whose maker is among erased (the pseudonyms of a lead the change records as erased
// at their request) is revoked as its maker's erasure would revoke it, and the lists
// and the fund's refusal say that, not that its maker handed the role on: signatory
// records the contacts change before it announces the erasure. A revocation the fund
// could not be told yet is told by the next Retell.
func (s *Store) RevokeUnlent(ctx context.Context, org string, makers []string, lead string, erased []string, before time.Time) (int, error) {
	cur, err := s.coll.Find(ctx, bson.D{{Key: "org", Value: org}, {Key: "revoked_at", Value: bson.D{{Key: "$exists", Value: false}}},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: s.clock.Now()}}}})
	if err != nil {
		return 0, fmt.Errorf("find API tokens of %s: %w", org, store.Classify(err))
	}
	var docs []tokenDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("read API tokens of %s: %w", org, store.Classify(err))
	}
	if err := s.withPeople(ctx, docs); err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, d := range docs {
		// A token is made under the change its maker's power came from (LeadSince;
		// the time it was made in records older than that): one made after this
		// change by someone the portal, not yet told of it, still took for a maker
		// was made under an earlier one, and goes.
		made := d.Created
		if !d.LeadSince.IsZero() {
			made = d.LeadSince
		}
		if (!before.IsZero() && !made.Before(before)) || slices.Contains(makers, d.Creator) {
			continue
		}
		by, why := NotLeadMaker, events.APITokenRevokedMakerNotLead
		switch {
		case slices.Contains(erased, d.Creator):
			by, why = ErasedMaker, events.APITokenRevokedMakerErased
		case personal.SameName(d.CreatedBy, lead):
			by, why = CorrectedMaker, events.APITokenRevokedMakerAddressCorrected
		}
		if _, err := s.revoke(ctx, org, d.ID, Revoker{Name: by}, why); err != nil && !apperr.Is(err, apperr.Unavailable) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if n > 0 {
		s.logger.InfoContext(ctx, "API tokens of a maker no longer lent the power revoked", "org", org, "tokens", n)
	}
	return n, errors.Join(errs...)
}

// Unmake revokes token id of org, just made, whose maker was found, once it was
// made, to be erased (erased) or no longer to hold the power to make it (or could not
// be read again): an erasure forgets the person's records and then their tokens'
// makers, and a token whose maker was recorded after that read would stay in force
// naming them. An erased maker's document goes with it, as Forget would have taken
// it. A revocation the fund could not be told yet is told by the next Retell.
func (s *Store) Unmake(ctx context.Context, org, id string, erased bool) error {
	by, why := NotLeadMaker, events.APITokenRevokedMakerNotLead
	if erased {
		by, why = ErasedMaker, events.APITokenRevokedMakerErased
	}
	if _, err := s.revoke(ctx, org, id, Revoker{Name: by}, why); err != nil && !apperr.Is(err, apperr.Unavailable) {
		return err
	}
	if !erased {
		return nil
	}
	if _, err := s.makers.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return fmt.Errorf("forget the maker of API token %s: %w", id, store.Classify(err))
	}
	s.logger.InfoContext(ctx, "API token revoked as made: its maker was erased meanwhile", "token", id, "org", org)
	return nil
}

// Revoke revokes token id of org (any organisation's when org is empty: ops). A
// token revoked already is said revoked again, which does no harm. A token of
// another organisation is not found.
func (s *Store) Revoke(ctx context.Context, org, id string, by Revoker) (Token, error) {
	return s.revoke(ctx, org, id, by, "")
}

// revoke is Revoke, by the portal on its own when why (events.APITokenRevoked…) is
// not empty.
func (s *Store) revoke(ctx context.Context, org, id string, by Revoker, why string) (Token, error) {
	var doc tokenDoc
	filter := bson.D{{Key: "_id", Value: id}}
	switch err := s.coll.FindOne(ctx, filter).Decode(&doc); {
	case errors.Is(err, mongo.ErrNoDocuments):
		return Token{}, apperr.New(apperr.NotFound, "API token %s not found", id)
	case err != nil:
		return Token{}, fmt.Errorf("read API token %s: %w", id, store.Classify(err))
	}
	if org != "" && doc.Org != org {
		return Token{}, apperr.New(apperr.NotFound, "API token %s not found", id)
	}
	if doc.Revoked.IsZero() {
		doc.Revoked, doc.Why, doc.Role = s.clock.Now().UTC(), why, by.role(why)
		// Revocation only ever sets these: two revoking at once both revoke. Each
		// writes its revoker whole, unsetting what it has not, so that the last to
		// land names one revoker: the portal's words and reason, or a person, who is
		// in a document of their own (revokerDoc), written first.
		fields := bson.D{{Key: "revoked_at", Value: doc.Revoked}, {Key: "revoked_role", Value: doc.Role}}
		unset := bson.D{{Key: "revoker", Value: ""}}
		if doc.Role == events.APITokenRevokedByPortal {
			doc.RevokedBy = by.Name
			fields = append(fields, bson.E{Key: "revoked_by", Value: by.Name})
			if why != "" {
				fields = append(fields, bson.E{Key: "revoked_why", Value: why})
			} else {
				unset = append(unset, bson.E{Key: "revoked_why", Value: ""})
			}
		} else {
			unset = append(unset, bson.E{Key: "revoked_by", Value: ""}, bson.E{Key: "revoked_why", Value: ""})
			// The first person to revoke it is the one named (the unique id decides
			// between two at once); the record says revoked either way.
			_, err := s.revokers.InsertOne(ctx, revokerDoc{ID: id, RevokedBy: by.Name, Revoker: by.ID, Expires: doc.Expires})
			if err != nil && !mongo.IsDuplicateKeyError(err) {
				return Token{}, fmt.Errorf("revoke API token %s: %w", id, store.Classify(err))
			}
		}
		if _, err := s.coll.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: fields}, {Key: "$unset", Value: unset}}); err != nil {
			return Token{}, fmt.Errorf("revoke API token %s: %w", id, store.Classify(err))
		}
	}
	if err := s.tell(ctx, doc); err != nil {
		return Token{}, apperr.Wrap(apperr.Unavailable, err, "the token is revoked here but the fund service could not be told yet; it will be within a minute")
	}
	s.logger.InfoContext(ctx, "API token revoked", "token", id, "org", doc.Org)
	docs := []tokenDoc{doc}
	if err := s.withPeople(ctx, docs); err != nil {
		s.logger.WarnContext(ctx, "API token revoked, its maker and revoker not read", "token", id, "error", err)
	}
	return docs[0].token(), nil
}

// withPeople gives each of docs its maker, from its makerDoc, and the person who
// revoked it, from its revokerDoc when its record says a person did; a record an
// earlier version wrote, which names them itself, keeps whom it names when it has no
// such document. A token whose maker was erased names none.
func (s *Store) withPeople(ctx context.Context, docs []tokenDoc) error {
	if len(docs) == 0 {
		return nil
	}
	ids := make(bson.A, 0, len(docs))
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	cur, err := s.makers.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return fmt.Errorf("find API tokens' makers: %w", store.Classify(err))
	}
	var makers []makerDoc
	if err := cur.All(ctx, &makers); err != nil {
		return fmt.Errorf("read API tokens' makers: %w", store.Classify(err))
	}
	byID := make(map[string]makerDoc, len(makers))
	for _, m := range makers {
		byID[m.ID] = m
	}
	for i, d := range docs {
		if m, ok := byID[d.ID]; ok {
			docs[i].CreatedBy, docs[i].Creator, docs[i].Subject = m.CreatedBy, m.Creator, m.Subject
		}
	}
	cur, err = s.revokers.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return fmt.Errorf("find API tokens' revokers: %w", store.Classify(err))
	}
	var revokers []revokerDoc
	if err := cur.All(ctx, &revokers); err != nil {
		return fmt.Errorf("read API tokens' revokers: %w", store.Classify(err))
	}
	for _, r := range revokers {
		for i, d := range docs {
			if d.ID == r.ID && !d.Revoked.IsZero() && d.Role != events.APITokenRevokedByPortal && d.RevokedBy == "" {
				docs[i].RevokedBy, docs[i].Revoker = r.RevokedBy, r.Revoker
			}
		}
	}
	return nil
}

// List returns org's tokens (every organisation's when org is empty), newest first.
func (s *Store) List(ctx context.Context, org string) ([]Token, error) {
	filter := bson.D{}
	if org != "" {
		filter = bson.D{{Key: "org", Value: org}}
	}
	cur, err := s.coll.Find(ctx, filter, options.Find().SetLimit(1000))
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", store.Classify(err))
	}
	var docs []tokenDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read API tokens: %w", store.Classify(err))
	}
	if err := s.withPeople(ctx, docs); err != nil {
		return nil, err
	}
	out := make([]Token, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.token())
	}
	// Sorted here: FerretDB sorts in memory anyway, and the lists are short.
	slices.SortFunc(out, func(a, b Token) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// RetellInterval is how often the portal runs Retell.
const RetellInterval = time.Minute

// Retell tells the stream the state of every unexpired token it was not told (its
// publish failed, or the record is older than the token stream), and reports how
// many it told. It runs every RetellInterval. A token already told is not repeated:
// the stream keeps every event as long as the token can live.
func (s *Store) Retell(ctx context.Context) (int, error) {
	filter := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: s.clock.Now()}}}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "told", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "revoked_at", Value: bson.D{{Key: "$exists", Value: true}}}, {Key: "told", Value: bson.D{{Key: "$ne", Value: toldRevoked}}}},
	}}}
	cur, err := s.coll.Find(ctx, filter)
	if err != nil {
		return 0, fmt.Errorf("list API tokens to retell: %w", store.Classify(err))
	}
	var docs []tokenDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("read API tokens to retell: %w", store.Classify(err))
	}
	n := 0
	var errs []error
	for _, d := range docs {
		if err := s.tell(ctx, d); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Who the lists say revoked a token whose revocation the token stream held but the
// portal's records, restored from an older backup, did not: by the role the stream
// gives (events.APITokenRevokedV1.RevokedBy), since it names no one.
const (
	RestoredRevoker             = "ITSS (revoked before a restore of the portal's records)"
	RestoredOrganisationRevoker = "the organisation's lead or a colleague (revoked before a restore of the portal's records)"
	RestoredPortalRevoker       = "the portal (revoked before a restore of the portal's records)"
	// RestoredUnknownRevoker is for a revocation told before the stream gave the role.
	RestoredUnknownRevoker = "someone not recorded (revoked before a restore of the portal's records)"
)

// restoredBy is who the lists say revoked a token, after a restore, by the role the
// stream gives.
func restoredBy(role string) string {
	switch role {
	case events.APITokenRevokedByOrganisation:
		return RestoredOrganisationRevoker
	case events.APITokenRevokedByITSS:
		return RestoredRevoker
	case events.APITokenRevokedByPortal:
		return RestoredPortalRevoker
	}
	return RestoredUnknownRevoker
}

// Reconciled is what Reconcile mended.
type Reconciled struct {
	// RevokedHere is how many records it marked revoked as the stream says they are.
	RevokedHere int
	// RevokedThere is how many tokens the stream says are in force that the records
	// do not hold, and which it revoked on the stream.
	RevokedThere int
}

// Reconcile brings the records and the token stream back into agreement after a
// restore of the portal's database from a backup (the stream, in NATS, is not part
// of it, and outlives every token it speaks of). A token the stream says revoked is
// revoked in its record too, or the portal would list it in force while the fund
// refuses it. A token the stream says is in force that no record here holds was made
// after the backup: no one can see it or revoke it in the portal any more, so it is
// revoked on the stream, and its tools need a new token (fail closed). It runs at
// every start, before Retell; with nothing to mend it reads the stream and the
// records once.
func (s *Store) Reconcile(ctx context.Context) (Reconciled, error) {
	var out Reconciled
	said, err := s.streamStates(ctx)
	if err != nil || len(said) == 0 {
		return out, err
	}
	cur, err := s.coll.Find(ctx, bson.D{})
	if err != nil {
		return out, fmt.Errorf("list API tokens to reconcile: %w", store.Classify(err))
	}
	var docs []tokenDoc
	if err := cur.All(ctx, &docs); err != nil {
		return out, fmt.Errorf("read API tokens to reconcile: %w", store.Classify(err))
	}
	held := make(map[string]tokenDoc, len(docs))
	for _, d := range docs {
		held[d.ID] = d
	}
	now := s.clock.Now()
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(said)) {
		st := said[id]
		d, ok := held[id]
		switch {
		case ok && st.revoked && d.Revoked.IsZero():
			// A revocation the portal made on its own says why on the stream: the
			// record says it again, as it did before the restore. Another says who
			// revoked it by role, but not who they were.
			by, known := revokedFor[st.why]
			if !known {
				by = restoredBy(st.role)
			}
			fields := bson.D{{Key: "revoked_at", Value: now}, {Key: "revoked_by", Value: by}, {Key: "told", Value: toldRevoked}}
			if known {
				fields = append(fields, bson.E{Key: "revoked_why", Value: st.why})
			}
			if st.role != "" {
				fields = append(fields, bson.E{Key: "revoked_role", Value: st.role})
			}
			res, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "revoked_at", Value: bson.D{{Key: "$exists", Value: false}}}},
				bson.D{{Key: "$set", Value: fields}})
			if err != nil {
				errs = append(errs, fmt.Errorf("revoke API token %s as the stream says: %w", id, store.Classify(err)))
				continue
			}
			out.RevokedHere += int(res.ModifiedCount)
		case !ok && !st.revoked && now.Before(st.expires):
			if err := s.publish(ctx, tokenDoc{ID: id, Org: st.org, Expires: st.expires, Revoked: now}); err != nil {
				errs = append(errs, err)
				continue
			}
			out.RevokedThere++
		}
	}
	return out, errors.Join(errs...)
}

// revokedFor is who the lists say revoked a token the portal revoked on its own, by
// the reason the stream gives (events.APITokenRevokedV1.Reason).
var revokedFor = map[string]string{
	events.APITokenRevokedMakerNotLead:          NotLeadMaker,
	events.APITokenRevokedMakerAddressCorrected: CorrectedMaker,
	events.APITokenRevokedMakerErased:           ErasedMaker,
}

// streamState is what the token stream says of one token.
type streamState struct {
	org     string
	expires time.Time
	revoked bool
	// why is the first revocation's reason, if the portal gave one, and role who
	// revoked it by role, if the event says (events.APITokenRevokedBy…).
	why, role string
}

// streamStates reads every event of the token stream with an ordered consumer, and
// returns each token's state: revoked once any event says so.
func (s *Store) streamStates(ctx context.Context) (map[string]streamState, error) {
	out := map[string]streamState{}
	err := bus.ReadStream(ctx, s.js, events.StreamPortalTokens, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}, func(m jetstream.Msg) error {
		env, err := bus.Envelope(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			return nil // not an event: the fund dead-letters it
		}
		var p events.APITokenRevokedV1 // the issue carries the same fields, and no reason
		if json.Unmarshal(env.Data, &p) != nil || p.TokenID == "" {
			return nil
		}
		st := out[p.TokenID]
		st.org, st.expires = p.OrganisationID, p.ExpiresAt
		if env.Type == p.EventType() {
			if !st.revoked {
				st.why, st.role = p.Reason, p.RevokedBy
			}
			st.revoked = true
		}
		out[p.TokenID] = st
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the API token stream: %w", err)
	}
	return out, nil
}

// tell publishes the token's state, then records that the stream was told it. A
// revocation recorded meanwhile is told by the next Retell, since the record then
// says revoked but not told so; and a revocation, once told, stands whatever
// "issued" reaches the fund after it.
func (s *Store) tell(ctx context.Context, d tokenDoc) error {
	if err := s.publish(ctx, d); err != nil {
		return err
	}
	filter := bson.D{{Key: "_id", Value: d.ID}}
	if d.state() == toldIssued {
		// Never overwrite "revoked" with "issued": that would have a revocation told
		// again, which does no harm, but "revoked" is the last word.
		filter = append(filter, bson.E{Key: "told", Value: bson.D{{Key: "$ne", Value: toldRevoked}}})
	}
	if _, err := s.coll.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "told", Value: d.state()}}}}); err != nil {
		// The stream was told; Retell tells it again, which does no harm.
		s.logger.WarnContext(ctx, "API token told, but not recorded so", "token", d.ID, "error", store.Classify(err))
	}
	return nil
}

// eventSpace names the ids of the token events: one id for each token's each state.
var eventSpace = uuid.MustParse("0b8f3c2e-5d1a-4e7b-9a36-2f4c8d9e1b70")

// publish says the token's state on the stream of the token events. The event's id
// is the token's and the state's, so that the stream drops a state told twice within
// its duplicate window: an Issue or a Revoke and a Retell that read the record before
// it noted the telling both tell it.
func (s *Store) publish(ctx context.Context, d tokenDoc) error {
	var p events.Payload = events.APITokenIssuedV1{TokenID: d.ID, OrganisationID: d.Org, ExpiresAt: d.Expires}
	if !d.Revoked.IsZero() {
		p = events.APITokenRevokedV1{TokenID: d.ID, OrganisationID: d.Org, ExpiresAt: d.Expires, Reason: d.Why, RevokedBy: d.Role}
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode %s: %w", p.EventType(), err)
	}
	env := events.Envelope{ID: uuid.NewSHA1(eventSpace, []byte(d.ID+"|"+p.EventType())).String(), Source: "/tc/portal", Type: p.EventType(), AggregateType: "apitoken",
		AggregateID: d.ID, Version: 1, Time: s.clock.Now(), Actor: "system:portal", Data: data}
	if _, err := s.js.PublishMsg(ctx, bus.Message(env)); err != nil {
		return fmt.Errorf("publish %s of %s: %w", p.EventType(), d.ID, err)
	}
	return nil
}

// KeepAfterExpiry is how long a token's record (its name, and who made and revoked
// it) stays listed after the token expired: long enough for a lead to see which tool's
// token lapsed and make it a new one, and no longer, since an expired token can do
// nothing and its record names its maker (docs/PRIVACY.md, Retention).
const KeepAfterExpiry = 90 * 24 * time.Hour

// Sweep deletes the records of tokens that expired more than KeepAfterExpiry ago,
// revoked or not: a revoked token is kept until it would have expired anyway, so the
// record of a revocation outlives every copy of the token that could still be shown.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	cut := s.clock.Now().Add(-KeepAfterExpiry).UTC()
	expired := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: cut}}}}
	res, err := s.coll.DeleteMany(ctx, expired)
	if err != nil {
		return 0, fmt.Errorf("sweep api tokens: %w", store.Classify(err))
	}
	// Their makers and revokers go with them.
	for _, c := range []*mongo.Collection{s.makers, s.revokers} {
		if _, err := c.DeleteMany(ctx, expired); err != nil {
			return int(res.DeletedCount), fmt.Errorf("sweep api tokens' people: %w", store.Classify(err))
		}
	}
	return int(res.DeletedCount), nil
}
