package signin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/store"
)

// Sessions keeps who is signed in. The cookie holds a random secret; the store keeps
// only its digest, the address it belongs to and when it ends, so that a copy of the
// database signs nobody in. A session signed out is entered in the register of ended
// sign-ins first, so that a restore of the database does not bring it back.
//
// A session ends once it has gone unused for its lifetime (PORTAL_SESSION_LIFETIME),
// and at the latest its longest lifetime (PORTAL_SESSION_MAX_LIFETIME) after the
// sign-in: each use renews it, so that nobody at work in the portal is signed out
// in the middle of it (WCAG 2.2.1, Timing Adjustable), while one left unused ends as
// before, and none outlives the register of ended sign-ins (docs/SECURITY.md).
type Sessions struct {
	coll     *mongo.Collection
	clock    clock.Clock
	lifetime time.Duration
	max      time.Duration
	ended    *Ended
}

// renewEvery bounds how often a session in use is written: a use within a minute of
// its last renewal leaves it as it is (ending at most a minute early), so that a
// page's every request does not write to the store.
const renewEvery = time.Minute

// Session is one sign-in.
type Session struct {
	Email string
	// Subject is set for ops staff signed in through OpenID Connect: their
	// identity provider's subject (they are not in the people read model).
	Subject string
	Name    string
	Ops     bool
	// Expires is when the session ends unless it is used again; Latest the latest
	// any use can take it to.
	Expires, Latest time.Time
}

// Renewable says a use can still take the session's end later.
func (s Session) Renewable() bool { return s.Expires.Before(s.Latest) }

type sessionDoc struct {
	Hash    string    `bson:"_id"`
	Email   string    `bson:"email"`
	Subject string    `bson:"subject,omitempty"`
	Name    string    `bson:"name,omitempty"`
	Ops     bool      `bson:"ops,omitempty"`
	Created time.Time `bson:"created_at"`
	Expires time.Time `bson:"expires_at"`
}

// NewSessions opens the session collection of db: a session lasts lifetime after its
// last use, and max after the sign-in at most. ended is the register of ended
// sign-ins each sign-out is entered in.
func NewSessions(db *mongo.Database, clk clock.Clock, lifetime, max time.Duration, ended *Ended) (*Sessions, error) {
	if db == nil || clk == nil || lifetime <= 0 || max < lifetime || ended == nil {
		return nil, errors.New("signin: a database, a clock, a session lifetime, a longest lifetime no shorter than it and the register of ended sign-ins are required")
	}
	return &Sessions{coll: db.Collection("sessions"), clock: clk, lifetime: lifetime, max: max, ended: ended}, nil
}

// Lifetime is how long a session lasts unused.
func (s *Sessions) Lifetime() time.Duration { return s.lifetime }

// MaxLifetime is how long a session lasts at most, however it is used.
func (s *Sessions) MaxLifetime() time.Duration { return s.max }

// Start begins a session and returns the secret for the cookie.
func (s *Sessions) Start(ctx context.Context, sess Session) (string, error) {
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	doc := sessionDoc{Hash: Digest(secret), Email: NormaliseEmail(sess.Email), Subject: sess.Subject, Name: sess.Name, Ops: sess.Ops,
		Created: now, Expires: earlier(now.Add(s.lifetime), now.Add(s.max))}
	if _, err := s.coll.InsertOne(ctx, doc); err != nil {
		return "", fmt.Errorf("start session: %w", store.Classify(err))
	}
	return secret, nil
}

// Get returns the session of a cookie's secret, if it is current, renewed by this
// use: it ends its lifetime from now, or at its latest if that is sooner.
func (s *Sessions) Get(ctx context.Context, secret string) (Session, bool, error) {
	if secret == "" || len(secret) > 100 {
		return Session{}, false, nil
	}
	var doc sessionDoc
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: Digest(secret)}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("find session: %w", store.Classify(err))
	}
	now := s.clock.Now()
	if !now.Before(doc.Expires) {
		return Session{}, false, nil
	}
	latest := doc.Created.Add(s.max)
	if renewed := earlier(now.Add(s.lifetime), latest); renewed.Sub(doc.Expires) >= renewEvery || renewed.Equal(latest) && doc.Expires.Before(latest) {
		// Not conditional: two uses at once both write a later end, and a session
		// signed out meanwhile is no longer there to match.
		if _, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: doc.Hash}}, bson.D{{Key: "$set", Value: bson.D{{Key: "expires_at", Value: renewed}}}}); err != nil {
			return Session{}, false, fmt.Errorf("renew session: %w", store.Classify(err))
		}
		doc.Expires = renewed
	}
	return Session{Email: doc.Email, Subject: doc.Subject, Name: doc.Name, Ops: doc.Ops, Expires: doc.Expires, Latest: latest}, true, nil
}

// End signs the session out: it is entered in the register of ended sign-ins, then
// deleted. Should the register not take it, nothing changes and End fails: a
// sign-out the register lacked would come back with a restore.
func (s *Sessions) End(ctx context.Context, secret string) error {
	hash := Digest(secret)
	if err := s.ended.record(ctx, endedSession, hash); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if _, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: hash}}); err != nil {
		return fmt.Errorf("end session: %w", store.Classify(err))
	}
	return nil
}

// Sweep deletes ended sessions.
func (s *Sessions) Sweep(ctx context.Context) (int, error) {
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: s.clock.Now()}}}})
	if err != nil {
		return 0, fmt.Errorf("sweep sessions: %w", store.Classify(err))
	}
	return int(res.DeletedCount), nil
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
