package adapters

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/notify/internal/app"
)

// CalendarTokens keeps each organisation's rotations of its feed token, append-only:
// rotation n is the document "v/<organisation>/<n>", whose unique _id makes of two
// rotations racing for the same n exactly one win, and "t/<token>" says whose a
// token is. The live token is the latest rotation's, or, before any, the one the
// read model gave the organisation. Reads are by _id, which the embedded store
// answers without reading the collection.
type CalendarTokens struct {
	coll *mongo.Collection
	sent *Sent // see RecordRotationsIn
}

var _ app.CalendarTokens = (*CalendarTokens)(nil)

type rotationDoc struct {
	ID    string `bson:"_id"`
	Org   string `bson:"org"`
	Token string `bson:"token"`
	N     int    `bson:"n"`
}

// NewCalendarTokens opens the collection.
func NewCalendarTokens(db *mongo.Database) *CalendarTokens {
	return &CalendarTokens{coll: db.Collection("calendar_tokens")}
}

func rotationID(org string, n int) string { return fmt.Sprintf("v/%s/%06d", org, n) }

// latest finds the organisation's last rotation (n 0: none).
func (c *CalendarTokens) latest(ctx context.Context, org string) (rotationDoc, error) {
	var last rotationDoc
	for n := 1; ; n++ {
		var d rotationDoc
		err := c.coll.FindOne(ctx, bson.D{{Key: "_id", Value: rotationID(org, n)}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return last, nil
		}
		if err != nil {
			return last, fmt.Errorf("read the calendar rotations of %s: %w", org, store.Classify(err))
		}
		last = d
	}
}

// Current returns the live token. It makes sure the token's owner record exists, so
// that a rotation whose writer died between its two inserts still serves its feed.
func (c *CalendarTokens) Current(ctx context.Context, org, initial string) (string, error) {
	last, err := c.latest(ctx, org)
	if err != nil || last.N == 0 {
		return initial, err
	}
	return last.Token, c.own(ctx, last)
}

func (c *CalendarTokens) own(ctx context.Context, r rotationDoc) error {
	_, err := c.coll.InsertOne(ctx, rotationDoc{ID: "t/" + r.Token, Org: r.Org, Token: r.Token, N: r.N})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("record calendar token of %s: %w", r.Org, store.Classify(err))
	}
	return nil
}

// Rotate appends a rotation with a fresh token. Losing a race to another rotation
// means the token was rotated as asked: the winner's is returned.
func (c *CalendarTokens) Rotate(ctx context.Context, org string) (string, error) {
	last, err := c.latest(ctx, org)
	if err != nil {
		return "", err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("rotate the calendar token of %s: %w", org, err)
	}
	r := rotationDoc{ID: rotationID(org, last.N+1), Org: org, Token: base64.RawURLEncoding.EncodeToString(b), N: last.N + 1}
	if _, err := c.coll.InsertOne(ctx, r); err != nil {
		if !mongo.IsDuplicateKeyError(err) {
			return "", fmt.Errorf("rotate the calendar token of %s: %w", org, store.Classify(err))
		}
		return c.Current(ctx, org, "")
	}
	if c.sent != nil {
		c.sent.Rotated(ctx, org, r.N)
	}
	return r.Token, c.own(ctx, r)
}

// RecordRotationsIn makes every rotation entered in notify's register of what it
// sent, so that a restore of the database does not make a replaced address answer
// again (MendSent). Without it (the adapters' own tests) rotations are not entered.
func (c *CalendarTokens) RecordRotationsIn(s *Sent) { c.sent = s }

// rotateTo rotates the organisation's token until its record holds rotation n: after
// a restore from a backup, the rotations made since are not in the record, and the
// token they replaced would answer again. It reports whether it rotated.
func (c *CalendarTokens) rotateTo(ctx context.Context, org string, n int) (bool, error) {
	rotated := false
	for {
		last, err := c.latest(ctx, org)
		if err != nil || last.N >= n {
			return rotated, err
		}
		if _, err := c.Rotate(ctx, org); err != nil {
			return rotated, err
		}
		rotated = true
	}
}

// Owner says which organisation a rotated-in token was issued to.
func (c *CalendarTokens) Owner(ctx context.Context, token string) (string, bool, error) {
	var d rotationDoc
	err := c.coll.FindOne(ctx, bson.D{{Key: "_id", Value: "t/" + token}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read calendar token: %w", store.Classify(err))
	}
	return d.Org, true, nil
}
