package idempotency_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/idempotency"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

// The database goes away after the handler has answered and before the answer is
// stored on the key (or, for a refusal, before the key is freed). The request has had
// its effect, so the client must get the handler's answer, not an empty 200: the
// response is already committed, so an error at that point used to reach the client
// as a 200 with no body.
func TestTheAnswerArrivesWhenTheKeyCannotBeSettled(t *testing.T) {
	t.Parallel()
	proxy, uri := testenv.MongoProxy(t)
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(time.Second).SetTimeout(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	keys, err := idempotency.NewStore(context.Background(), client.Database(testenv.DatabaseName(t)), "keys", time.Hour, time.Minute, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	// The platform's server, whose error handler leaves a committed response alone.
	srv, err := httpserver.New(httpserver.Options{Service: "test", Logger: telemetry.Discard(),
		Middleware: []httpserver.MiddlewareFunc{keys.Middleware()}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Echo().POST("/things", func(c httpserver.Context) error {
		proxy.Cut() // after the key was claimed, before it is settled
		body, _ := io.ReadAll(c.Request().Body)
		if string(body) == "refuse" {
			return apperr.New(apperr.Conflict, "refused")
		}
		return c.String(http.StatusCreated, "made "+string(body))
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	for i, tc := range []struct {
		body       string
		wantStatus int
		wantBody   string
	}{
		{"a thing", http.StatusCreated, "made a thing"},
		{"refuse", http.StatusConflict, "refused"},
	} {
		proxy.Restore()
		testenv.Eventually(t, 10*time.Second, func() error { return client.Ping(context.Background(), nil) })
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/things", strings.NewReader(tc.body))
		req.Header.Set(idempotency.Header, "key-"+tc.body)
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || !strings.Contains(string(b), tc.wantBody) {
			t.Errorf("request %d: got %d %q, want %d with %q", i, resp.StatusCode, b, tc.wantStatus, tc.wantBody)
		}
	}
}
