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
type Sessions struct {
	coll     *mongo.Collection
	clock    clock.Clock
	lifetime time.Duration
	ended    *Ended
}

// Session is one sign-in.
type Session struct {
	Email string
	// Subject is set for ops staff signed in through OpenID Connect: their
	// identity provider's subject (they are not in the people read model).
	Subject string
	Name    string
	Ops     bool
	Expires time.Time
}

type sessionDoc struct {
	Hash    string    `bson:"_id"`
	Email   string    `bson:"email"`
	Subject string    `bson:"subject,omitempty"`
	Name    string    `bson:"name,omitempty"`
	Ops     bool      `bson:"ops,omitempty"`
	Created time.Time `bson:"created_at"`
	Expires time.Time `bson:"expires_at"`
}

// NewSessions opens the session collection of db; ended is the register of ended
// sign-ins each sign-out is entered in.
func NewSessions(db *mongo.Database, clk clock.Clock, lifetime time.Duration, ended *Ended) (*Sessions, error) {
	if db == nil || clk == nil || lifetime <= 0 || ended == nil {
		return nil, errors.New("signin: a database, a clock, a session lifetime and the register of ended sign-ins are required")
	}
	return &Sessions{coll: db.Collection("sessions"), clock: clk, lifetime: lifetime, ended: ended}, nil
}

// Lifetime is how long a session lasts.
func (s *Sessions) Lifetime() time.Duration { return s.lifetime }

// Start begins a session and returns the secret for the cookie.
func (s *Sessions) Start(ctx context.Context, sess Session) (string, error) {
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	doc := sessionDoc{Hash: Digest(secret), Email: NormaliseEmail(sess.Email), Subject: sess.Subject, Name: sess.Name, Ops: sess.Ops,
		Created: now, Expires: now.Add(s.lifetime)}
	if _, err := s.coll.InsertOne(ctx, doc); err != nil {
		return "", fmt.Errorf("start session: %w", store.Classify(err))
	}
	return secret, nil
}

// Get returns the session of a cookie's secret, if it is current.
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
	if !s.clock.Now().Before(doc.Expires) {
		return Session{}, false, nil
	}
	return Session{Email: doc.Email, Subject: doc.Subject, Name: doc.Name, Ops: doc.Ops, Expires: doc.Expires}, true, nil
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
