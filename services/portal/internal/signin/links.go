package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/store"
)

// LinkLifetime is how long a sign-in link works.
const LinkLifetime = 15 * time.Minute

// ErrLinkInvalid is the one answer for a link that is unknown, used or expired: the
// person is told to ask for another, and nobody learns which it was.
var ErrLinkInvalid = errors.New("the sign-in link is not valid: it may have been used or have expired")

// Links issues and consumes one-time sign-in links. Only a digest of each secret is
// stored; the secret itself lives in the email and, until it expires, on the stream
// that carries it to notify.
//
// A link is used up by inserting its digest into a second collection whose key is
// unique: of two requests racing with one link, exactly one insert wins (the store
// applies no read-modify-write update atomically, but unique inserts it does).
type Links struct {
	links *mongo.Collection
	used  *mongo.Collection
	quota *mongo.Collection
	clock clock.Clock
	ended *Ended
}

type linkDoc struct {
	Hash    string    `bson:"_id"`
	Email   string    `bson:"email"`
	Expires time.Time `bson:"expires_at"`
}

// NewLinks opens the link collections of db; ended is the register of ended sign-ins
// each link used is entered in.
func NewLinks(db *mongo.Database, clk clock.Clock, ended *Ended) (*Links, error) {
	if db == nil || clk == nil || ended == nil {
		return nil, errors.New("signin: a database, a clock and the register of ended sign-ins are required")
	}
	return &Links{links: db.Collection("signin_links"), used: db.Collection("signin_links_used"), quota: db.Collection("signin_quota"), clock: clk,
		ended: ended}, nil
}

// NewSecret returns 32 random bytes, URL-safe encoded.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Digest is what is stored in place of a secret.
func Digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Issue makes a link for email and returns its secret and when it expires.
func (l *Links) Issue(ctx context.Context, email string) (string, time.Time, error) {
	secret, err := NewSecret()
	if err != nil {
		return "", time.Time{}, err
	}
	expires := l.clock.Now().Add(LinkLifetime)
	if _, err := l.links.InsertOne(ctx, linkDoc{Hash: Digest(secret), Email: NormaliseEmail(email), Expires: expires}); err != nil {
		return "", time.Time{}, fmt.Errorf("store sign-in link: %w", store.Classify(err))
	}
	return secret, expires, nil
}

// Consume uses up the link and returns the address it was sent to.
func (l *Links) Consume(ctx context.Context, secret string) (string, error) {
	if secret == "" || len(secret) > 100 {
		return "", ErrLinkInvalid
	}
	hash := Digest(secret)
	var doc linkDoc
	err := l.links.FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", ErrLinkInvalid
	}
	if err != nil {
		return "", fmt.Errorf("find sign-in link: %w", store.Classify(err))
	}
	now := l.clock.Now()
	if !now.Before(doc.Expires) {
		return "", ErrLinkInvalid
	}
	// Entered in the register of ended sign-ins before it is used up here, so that a
	// restore of the database cannot make it good again; should the register not take
	// it, it stays unused and the visitor may try again.
	if err := l.ended.record(ctx, endedLink, hash); err != nil {
		return "", fmt.Errorf("use sign-in link: %w", err)
	}
	_, err = l.used.InsertOne(ctx, bson.D{{Key: "_id", Value: hash}, {Key: "used_at", Value: now}, {Key: "expires_at", Value: doc.Expires}})
	if mongo.IsDuplicateKeyError(err) {
		return "", ErrLinkInvalid
	}
	if err != nil {
		return "", fmt.Errorf("use sign-in link: %w", store.Classify(err))
	}
	return doc.Email, nil
}

// Sweep deletes links past their expiry, used or not: an expired link can no longer
// be consumed (its record is gone), so its used mark is not needed either.
func (l *Links) Sweep(ctx context.Context) (int, error) {
	past := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: l.clock.Now()}}}}
	n := 0
	for _, c := range []*mongo.Collection{l.links, l.used, l.quota} {
		res, err := c.DeleteMany(ctx, past)
		if err != nil {
			return n, fmt.Errorf("sweep %s: %w", c.Name(), store.Classify(err))
		}
		n += int(res.DeletedCount)
	}
	return n, nil
}

// ForgetQuota deletes the places an address took in the windows of sign-in requests
// (PerAddress), counted under its pseudonym: an erasure leaves nothing of the person,
// not for the quarter of an hour until the window ends.
func (l *Links) ForgetQuota(ctx context.Context, pseudonym string) error {
	if pseudonym == "" {
		return errors.New("forget sign-in requests: a pseudonym is required")
	}
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$regex", Value: "^" + regexp.QuoteMeta(quotaAddress+pseudonym+"|")}}}}
	if _, err := l.quota.DeleteMany(ctx, filter); err != nil {
		return fmt.Errorf("forget sign-in requests: %w", store.Classify(err))
	}
	return nil
}

// quotaAddress prefixes the key of an address's places in the quota: its pseudonym
// follows.
const quotaAddress = "address:"

// quotaDoc is one place taken in a window: its key names what is counted (a digest,
// never an address) and the window; it goes at the sweep after the window ends.
type quotaDoc struct {
	ID      string    `bson:"_id"`
	Expires time.Time `bson:"expires_at"`
}

// Take claims one of limit places for key in the current window of the clock (the
// quarter hour, the minute), and says whether it got one. Each place is a document
// keyed key|window|n, so every replica of the portal counts against the same places
// and the unique _id decides between racing requests: a count kept in each
// replica's memory let one address be sent a limit's worth of links per replica.
func (l *Links) Take(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	start := l.clock.Now().Truncate(window)
	for n := 1; n <= limit; n++ {
		_, err := l.quota.InsertOne(ctx, quotaDoc{ID: fmt.Sprintf("%s|%d|%d", key, start.Unix(), n), Expires: start.Add(window)})
		switch {
		case err == nil:
			return true, nil
		case !mongo.IsDuplicateKeyError(err):
			return false, fmt.Errorf("count sign-in requests: %w", store.Classify(err))
		}
	}
	return false, nil
}
