// Package idempotency makes POST requests safe to retry. A client sends an
// Idempotency-Key header; the first successful response to that key is stored under a
// unique key and replayed for any retry with the same body, while a retry with a
// different body is refused with 422. Commands themselves stay idempotent under races
// (see the fund service's deterministic ids); this layer makes the answers identical.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/store"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// Store keeps the first successful response to each key.
type Store struct {
	coll *mongo.Collection
	ttl  time.Duration
}

type record struct {
	ID          string    `bson:"_id"`
	Hash        string    `bson:"hash"`
	Status      int       `bson:"status"`
	ContentType string    `bson:"content_type"`
	Location    string    `bson:"location,omitempty"`
	Body        []byte    `bson:"body"`
	At          time.Time `bson:"at"`
}

// NewStore opens the key store in collection name; keys expire after ttl.
func NewStore(ctx context.Context, db *mongo.Database, name string, ttl time.Duration) (*Store, error) {
	if db == nil || name == "" {
		return nil, errors.New("idempotency: database and collection name are required")
	}
	coll := db.Collection(name)
	// MongoDB removes expired keys itself; FerretDB has no TTL indexes, so expiry is
	// also enforced when a key is read (see replay).
	_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "at", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(int32(ttl.Seconds())),
	})
	var ce mongo.CommandError
	if err != nil && !(errors.As(err, &ce) && ce.Name == "NotImplemented") {
		return nil, fmt.Errorf("create idempotency index: %w", store.Classify(err))
	}
	return &Store{coll: coll, ttl: ttl}, nil
}

// Key returns the idempotency key of a request, scoped to the caller, or "".
func Key(c echo.Context) string {
	k := c.Request().Header.Get(Header)
	if k == "" {
		return ""
	}
	p, _ := auth.FromContext(c.Request().Context())
	return p.Org + "|" + p.Subject + "|" + k
}

// Middleware stores and replays responses of POST requests that carry a key.
func (s *Store) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			key := Key(c)
			if req.Method != http.MethodPost || key == "" {
				return next(c)
			}
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return apperr.Wrap(apperr.Invalid, err, "the request body could not be read")
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			sum := sha256.Sum256(append([]byte(req.Method+" "+req.URL.Path+"\n"), body...))
			hash := hex.EncodeToString(sum[:])
			id := key + "|" + req.Method + " " + req.URL.Path
			ctx := req.Context()

			if done, err := s.replay(c, id, hash); done || err != nil {
				return err
			}
			// Run the handler into a buffer, so that a request that lost a race can
			// still answer with the winner's response.
			rec := &buffer{header: http.Header{}, status: http.StatusOK}
			orig := c.Response().Writer
			c.Response().Writer = rec
			if err := next(c); err != nil {
				c.Error(err)
			}
			c.Response().Writer = orig
			if rec.status >= 200 && rec.status < 300 {
				r := record{ID: id, Hash: hash, Status: rec.status, ContentType: rec.header.Get(echo.HeaderContentType),
					Location: rec.header.Get(echo.HeaderLocation), Body: rec.body.Bytes(), At: time.Now().UTC()}
				if _, err := s.coll.InsertOne(ctx, r); err != nil && !mongo.IsDuplicateKeyError(err) {
					return store.Classify(err)
				}
			} else if done, err := s.replay(c, id, hash); done || err != nil {
				return err
			}
			for k, v := range rec.header {
				orig.Header()[k] = v
			}
			orig.WriteHeader(rec.status)
			_, err = orig.Write(rec.body.Bytes())
			return err
		}
	}
}

// replay answers from a stored response, if there is one.
func (s *Store) replay(c echo.Context, id, hash string) (bool, error) {
	var r record
	err := s.coll.FindOne(c.Request().Context(), bson.D{{Key: "_id", Value: id}}).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return true, store.Classify(err)
	}
	if time.Since(r.At) > s.ttl {
		_, err := s.coll.DeleteOne(c.Request().Context(), bson.D{{Key: "_id", Value: id}, {Key: "at", Value: r.At}})
		return false, store.Classify(err)
	}
	if r.Hash != hash {
		return true, apperr.New(apperr.Unprocessable, "this Idempotency-Key was used with a different request; use a new key for a new request")
	}
	h := c.Response().Header()
	h.Set("Idempotent-Replayed", "true")
	if r.Location != "" {
		h.Set(echo.HeaderLocation, r.Location)
	}
	return true, c.Blob(r.Status, r.ContentType, r.Body)
}

// buffer is an http.ResponseWriter that keeps the response until the middleware decides.
type buffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *buffer) Header() http.Header         { return b.header }
func (b *buffer) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *buffer) WriteHeader(status int)      { b.status = status }
