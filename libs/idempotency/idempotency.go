// Package idempotency makes POST requests safe to retry. A client sends an
// Idempotency-Key header; the first request with a key claims it by inserting a
// record under a unique key (the only write FerretDB and MongoDB both apply
// atomically), runs, and stores its successful response on the claim. A retry with
// the same body gets that response replayed; one with a different body is refused
// with 422. A retry that arrives while the first is still running waits for its
// answer rather than running the command a second time.
//
// A request that fails (any non-2xx answer) gives its claim up, so that the client
// can retry once it has fixed the cause. A claim whose holder died is taken over
// once it is older than the lease.
//
// A stored answer is personal data when the request's resource is (an application
// names its applicant), so records do not outlive their use: Sweep deletes every
// answer older than the ttl and every claim older than the lease, and the service
// runs it on a schedule.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/store"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// A retry waiting on the request that holds its key looks for its answer first after
// pollFirst, then less and less often, up to every pollMax.
const (
	pollFirst = 10 * time.Millisecond
	pollMax   = 250 * time.Millisecond
)

// Store keeps the claim on each key and the first successful response to it.
type Store struct {
	coll    *mongo.Collection
	ttl     time.Duration
	lease   time.Duration
	clock   clock.Clock
	recheck Recheck
}

// Recheck looks at a stored answer once it is written, and says whether it must go
// at once: notify's answer to a resend names whom the email went to, and an erasure
// of that person recorded after the resend's last look at its record of erasures,
// which read the stored answers before this one was written, would leave it naming
// them until the ttl. The erasure records itself before it reads the stored
// answers, and the writer looks at that record after it writes, so one of the two
// sees the other. A failed look keeps the answer (the client's retry then replays
// it rather than sending again) and is logged.
type Recheck func(ctx context.Context, body []byte) (forget bool, err error)

// WithRecheck has every answer stored looked at by r (see Recheck).
func (s *Store) WithRecheck(r Recheck) *Store {
	s.recheck = r
	return s
}

type record struct {
	ID          string    `bson:"_id"`
	Hash        string    `bson:"hash"`
	Done        bool      `bson:"done"`
	Status      int       `bson:"status,omitempty"`
	ContentType string    `bson:"content_type,omitempty"`
	Location    string    `bson:"location,omitempty"`
	ETag        string    `bson:"etag,omitempty"`
	Body        []byte    `bson:"body,omitempty"`
	At          time.Time `bson:"at"`
}

// NewStore opens the key store in collection name. Answers are replayed for ttl;
// a claim whose request has not answered within lease (longer than any request may
// run) is taken to be abandoned. clk says when a record was made and when it expires.
func NewStore(ctx context.Context, db *mongo.Database, name string, ttl, lease time.Duration, clk clock.Clock) (*Store, error) {
	if db == nil || name == "" || clk == nil {
		return nil, errors.New("idempotency: database, collection name and clock are required")
	}
	if ttl <= 0 || lease <= 0 {
		return nil, errors.New("idempotency: ttl and lease must be positive")
	}
	coll := db.Collection(name)
	// MongoDB removes expired keys itself; FerretDB has no TTL indexes, so expiry is
	// also enforced when a key is read (see claim).
	_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "at", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(int32(ttl.Seconds())),
	})
	var ce mongo.CommandError
	if err != nil && !(errors.As(err, &ce) && ce.Name == "NotImplemented") {
		return nil, fmt.Errorf("create idempotency index: %w", store.Classify(err))
	}
	return &Store{coll: coll, ttl: ttl, lease: lease, clock: clk}, nil
}

// Sweep deletes the answers older than the ttl and the claims older than the lease,
// and returns how many it deleted. Neither can answer a request any more (claim
// takes both over), so deleting them changes nothing but what is kept. FerretDB
// has no TTL index, so without the sweep nothing would ever expire there.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	now := s.clock.Now()
	n := 0
	for _, f := range []bson.D{
		{{Key: "done", Value: true}, {Key: "at", Value: bson.D{{Key: "$lte", Value: now.Add(-s.ttl)}}}},
		{{Key: "done", Value: false}, {Key: "at", Value: bson.D{{Key: "$lte", Value: now.Add(-s.lease)}}}},
	} {
		res, err := s.coll.DeleteMany(ctx, f)
		if err != nil {
			return n, fmt.Errorf("sweep idempotency keys: %w", store.Classify(err))
		}
		n += int(res.DeletedCount)
	}
	return n, nil
}

// Key returns the idempotency key of a request, scoped to the caller, or "".
func Key(c httpserver.Context) string {
	k := c.Request().Header.Get(Header)
	if k == "" {
		return ""
	}
	p, _ := auth.FromContext(c.Request().Context())
	return p.Org + "|" + p.Subject + "|" + k
}

// Middleware claims, stores and replays POST requests that carry a key.
func (s *Store) Middleware() httpserver.MiddlewareFunc {
	return func(next httpserver.HandlerFunc) httpserver.HandlerFunc {
		return func(c httpserver.Context) error {
			req := c.Request()
			key := Key(c)
			if req.Method != http.MethodPost || key == "" || !httpserver.Declares(c, Header) {
				return next(c)
			}
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return apperr.Wrap(apperr.Invalid, err, "the request body could not be read")
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			sum := sha256.Sum256(append([]byte(req.Method+" "+req.URL.Path+"\n"), body...))
			id, hash := key+"|"+req.Method+" "+req.URL.Path, hex.EncodeToString(sum[:])

			answered, err := s.claim(c, id, hash)
			if answered || err != nil {
				return err
			}
			return s.run(c, next, id, hash)
		}
	}
}

// claim makes this request the holder of the key, or answers it from the holder:
// at once when the holder has answered, after waiting when it is still running.
func (s *Store) claim(c httpserver.Context, id, hash string) (answered bool, err error) {
	ctx := c.Request().Context()
	wait := pollFirst
	for {
		_, err := s.coll.InsertOne(ctx, record{ID: id, Hash: hash, At: s.clock.Now()})
		if err == nil {
			return false, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return true, store.Classify(err)
		}
		var r record
		err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&r)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue // the holder gave the key up: claim it again
		case err != nil:
			return true, store.Classify(err)
		case r.Done && s.clock.Now().Sub(r.At) > s.ttl, !r.Done && s.clock.Now().Sub(r.At) > s.lease:
			// Expired, or abandoned by a holder that died: take it over.
			if err := s.release(ctx, id, r.At); err != nil {
				return true, err
			}
			continue
		case r.Hash != hash:
			e := apperr.New(apperr.Unprocessable, "this Idempotency-Key was used with a different request; use a new key for a new request")
			e.Field = Header
			return true, e
		case r.Done:
			h := c.Response().Header()
			h.Set("Idempotent-Replayed", "true")
			if r.Location != "" {
				h.Set(httpserver.HeaderLocation, r.Location)
			}
			if r.ETag != "" { // the version the first answer made
				h.Set(httpserver.HeaderETag, r.ETag)
			}
			return true, c.Blob(r.Status, r.ContentType, r.Body)
		}
		// The same request is running elsewhere: wait for its answer.
		t := time.NewTimer(wait)
		wait = min(2*wait, pollMax)
		select {
		case <-ctx.Done():
			t.Stop()
			return true, apperr.Wrap(apperr.Conflict, ctx.Err(), "a request with this Idempotency-Key is still being processed; retry shortly").Passing(time.Second)
		case <-t.C:
		}
	}
}

// run runs the request as the key's holder, then stores a successful answer on the
// claim or, for any other answer, gives the claim up.
func (s *Store) run(c httpserver.Context, next httpserver.HandlerFunc, id, hash string) error {
	// The answer is kept until the claim is settled, so that no retry can see a
	// response the key does not hold.
	rec := &buffer{header: http.Header{}, status: http.StatusOK}
	orig := httpserver.SwapWriter(c, rec)
	// Settle the claim even if the client has gone away meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 5*time.Second)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			// The handler panicked: free the key for a retry, and let the server's
			// recoverer answer.
			httpserver.SwapWriter(c, orig)
			_ = s.release(ctx, id, time.Time{})
			panic(p)
		}
	}()
	if err := next(c); err != nil {
		httpserver.HandleError(c, err)
	}
	httpserver.SwapWriter(c, orig)
	if rec.status >= 200 && rec.status < 300 {
		done := record{ID: id, Hash: hash, Done: true, Status: rec.status, ContentType: rec.header.Get(httpserver.HeaderContentType),
			Location: rec.header.Get(httpserver.HeaderLocation), ETag: rec.header.Get(httpserver.HeaderETag), Body: rec.body.Bytes(), At: s.clock.Now()}
		// Only the holder writes its claim, so replacing it by _id races with no one.
		// If that fails, the request has still had its effect, and its answer is the
		// client's to have: the handler has committed the response, so an error now
		// would reach the client as an empty 200 (the fault harness saw exactly that).
		// A retry with the key waits for the claim's lease, then runs again.
		if _, err := s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, done); err != nil {
			slog.WarnContext(ctx, "could not store the answer of an idempotent request; answering it anyway", "key", id, "error", err)
		} else if s.recheck != nil {
			s.forgetIfRechecked(ctx, id, done.Body)
		}
	} else if err := s.release(ctx, id, time.Time{}); err != nil {
		// As above: answer what the handler answered; the claim lapses with its lease.
		slog.WarnContext(ctx, "could not free the key of a refused idempotent request; answering it anyway", "key", id, "error", err)
	}
	for k, v := range rec.header {
		orig.Header()[k] = v
	}
	orig.WriteHeader(rec.status)
	_, err := orig.Write(rec.body.Bytes())
	return err
}

// forgetIfRechecked deletes the answer just stored under id when the recheck says it
// must go. A retry with the key then runs the request again, which refuses what an
// erasure made impossible.
func (s *Store) forgetIfRechecked(ctx context.Context, id string, body []byte) {
	forget, err := s.recheck(ctx, body)
	if err != nil {
		slog.WarnContext(ctx, "could not look at an idempotent request's stored answer again; it is kept until its period ends", "key", id, "error", err)
		return
	}
	if forget {
		if err := s.release(ctx, id, time.Time{}); err != nil {
			slog.WarnContext(ctx, "could not forget an idempotent request's stored answer that names a person erased; it is kept until its period ends", "key", id, "error", err)
		}
	}
}

// release removes a claim (only the one made at `at`, when at is set).
func (s *Store) release(ctx context.Context, id string, at time.Time) error {
	filter := bson.D{{Key: "_id", Value: id}}
	if !at.IsZero() {
		filter = append(filter, bson.E{Key: "at", Value: at})
	}
	if _, err := s.coll.DeleteOne(ctx, filter); err != nil {
		return fmt.Errorf("release idempotency key: %w", store.Classify(err))
	}
	return nil
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
