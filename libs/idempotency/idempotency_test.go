package idempotency_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/idempotency"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

// server answers POST /things with the number of times the handler ran, after
// waiting for release when the body asks it to; "fail" answers 409 and "panic" panics.
type server struct {
	url     string
	runs    atomic.Int64
	release chan struct{}
	keys    *idempotency.Store
	coll    *mongo.Collection // where keys keeps its records
}

func newServer(t *testing.T, lease time.Duration) *server {
	t.Helper()
	return newServerAt(t, lease, clock.System{})
}

// newServerAt is newServer with answers kept for an hour on clk.
func newServerAt(t *testing.T, lease time.Duration, clk clock.Clock) *server {
	t.Helper()
	_, db := testenv.Mongo(t)
	keys, err := idempotency.NewStore(context.Background(), db, "keys", time.Hour, lease, clk)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{release: make(chan struct{}), keys: keys, coll: db.Collection("keys")}
	// The platform's server, as in the services: its error handler answers errors and
	// its recoverer panics, outside the key's middleware.
	caller := httpserver.Before(func(r *http.Request) (*http.Request, error) {
		return r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{Subject: "u1", Org: "org1"})), nil
	})
	srv, err := httpserver.New(httpserver.Options{Service: "test", Logger: telemetry.Discard(),
		Middleware: []httpserver.MiddlewareFunc{caller, keys.Middleware()}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Echo().POST("/things", func(c httpserver.Context) error {
		body, _ := io.ReadAll(c.Request().Body)
		switch string(body) {
		case "wait":
			<-s.release
		case "fail":
			return apperr.New(apperr.Conflict, "no")
		case "panic":
			panic("boom")
		}
		return c.String(http.StatusCreated, string(body)+" #"+strconv.FormatInt(s.runs.Add(1), 10))
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}

func (s *server) post(t *testing.T, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+"/things", strings.NewReader(body))
	req.Header.Set(idempotency.Header, key)
	// A key left claimed would hold a retry until the lease ends: fail well before.
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRetriesInFlightWaitForTheFirstAnswer(t *testing.T) {
	t.Parallel()
	s := newServer(t, time.Minute)
	const retries = 10
	var wg sync.WaitGroup
	answers := make([]string, retries)
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := s.post(t, "k1", "wait")
			answers[i] = body
			if status != http.StatusCreated {
				t.Errorf("retry %d: %d %s", i, status, body)
			}
		}()
	}
	// Hold the first request a moment so that the others arrive while it runs. This
	// waits for no effect: a retry that arrives after the answer is replayed, and
	// the assertions hold either way.
	time.Sleep(200 * time.Millisecond)
	close(s.release)
	wg.Wait()
	for i, a := range answers {
		if a != "wait #1" {
			t.Errorf("retry %d answered %q, want the first answer %q", i, a, "wait #1")
		}
	}
	if n := s.runs.Load(); n != 1 {
		t.Fatalf("the handler ran %d times, want once", n)
	}
	if status, body := s.post(t, "k1", "other"); status != http.StatusUnprocessableEntity || !strings.Contains(body, `"field":"Idempotency-Key"`) {
		t.Errorf("same key, different body: %d %s, want 422 naming the Idempotency-Key header", status, body)
	}
}

func TestAFailedRequestFreesItsKey(t *testing.T) {
	t.Parallel()
	s := newServer(t, time.Minute)
	if status, _ := s.post(t, "k2", "fail"); status != http.StatusConflict {
		t.Fatalf("failing request: %d", status)
	}
	if status, _ := s.post(t, "k2", "panic"); status != http.StatusInternalServerError {
		t.Fatalf("panicking request: %d", status)
	}
	if status, body := s.post(t, "k2", "fixed"); status != http.StatusCreated || body != "fixed #1" {
		t.Fatalf("the corrected request under the same key: %d %q", status, body)
	}
}

// An answer is kept for its ttl and no longer, and a claim whose request died for its
// lease: on a fake clock, a sweep a second before the end keeps each, one at the end
// deletes it, so that no stored response (an application names its applicant)
// outlives its use.
func TestSweepDeletesRecordsPastTheirPeriod(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	s := newServerAt(t, 10*time.Minute, clk)
	ctx := context.Background()
	count := func() int64 {
		t.Helper()
		n, err := s.coll.CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	sweep := func() {
		t.Helper()
		if _, err := s.keys.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if status, _ := s.post(t, "answered", "a"); status != http.StatusCreated {
		t.Fatalf("first request: %d", status)
	}
	// A claim whose holder died before answering, as the middleware writes it.
	if _, err := s.coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "org1|u1|dead|POST /things"}, {Key: "hash", Value: "h"},
		{Key: "done", Value: false}, {Key: "at", Value: clk.Now()}}); err != nil {
		t.Fatal(err)
	}

	clk.Advance(10*time.Minute - time.Second)
	sweep()
	if n := count(); n != 2 {
		t.Fatalf("before the lease ends: %d records, want 2", n)
	}
	clk.Advance(time.Second)
	sweep()
	if n := count(); n != 1 {
		t.Fatalf("at the lease's end: %d records, want only the answer", n)
	}
	clk.Set(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC).Add(-time.Second))
	sweep()
	if status, body := s.post(t, "answered", "a"); status != http.StatusCreated || body != "a #1" {
		t.Fatalf("a second before the ttl ends the answer is replayed: %d %q", status, body)
	}
	clk.Advance(time.Second)
	sweep()
	if n := count(); n != 0 {
		t.Fatalf("at the ttl's end: %d records, want none", n)
	}
}

// TestAnAnswerTheRecheckRefusesIsNotKept: an answer stored as the person it names is
// erased (the erasure read the stored answers just before it was written) is looked
// at again once written and forgotten, so that it does not name them for the ttl; a
// retry with the key then runs the request again. An answer the recheck keeps is
// replayed as before, and a recheck that fails keeps the answer (a retry replays it
// rather than run the request twice).
func TestAnAnswerTheRecheckRefusesIsNotKept(t *testing.T) {
	t.Parallel()
	s := newServer(t, time.Minute)
	s.keys.WithRecheck(func(_ context.Context, body []byte) (bool, error) {
		if strings.Contains(string(body), "unreadable") {
			return false, errors.New("the record of erasures cannot be read")
		}
		return strings.Contains(string(body), "erased@example.org"), nil
	})
	if status, body := s.post(t, "r1", "to erased@example.org"); status != http.StatusCreated || body != "to erased@example.org #1" {
		t.Fatalf("first request: %d %q", status, body)
	}
	if n, err := s.coll.CountDocuments(context.Background(), bson.D{{Key: "_id", Value: bson.D{{Key: "$exists", Value: true}}}}); err != nil || n != 0 {
		t.Fatalf("%d records kept (%v), want none: the answer names a person erased", n, err)
	}
	if status, body := s.post(t, "r1", "to erased@example.org"); status != http.StatusCreated || body != "to erased@example.org #2" {
		t.Fatalf("the retry: %d %q, want the request run again", status, body)
	}
	for _, body := range []string{"to kept@example.org", "unreadable"} {
		_, first := s.post(t, "k-"+body, body)
		if status, again := s.post(t, "k-"+body, body); status != http.StatusCreated || again != first {
			t.Errorf("the retry of %q: %d %q, want %q replayed", body, status, again, first)
		}
	}
}
