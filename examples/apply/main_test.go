package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestRetryingWaitsOnAPassingRefusalOnly checks the client's retries against a real
// HTTP server: a 429 and a 409 with Retry-After are sent again, with the same body;
// a 409 without Retry-After is a real conflict and comes back as it is.
func TestRetryingWaitsOnAPassingRefusalOnly(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []string
	answers := []func(w http.ResponseWriter){
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		func(w http.ResponseWriter) { w.Header().Set("Retry-After", "0"); w.WriteHeader(http.StatusConflict) },
		func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) },
		func(w http.ResponseWriter) { w.WriteHeader(http.StatusConflict) },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		answers[min(n, len(answers))-1](w)
	}))
	defer srv.Close()
	c := &retrying{next: srv.Client(), out: io.Discard}

	send := func() int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"title":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if got := send(); got != http.StatusCreated {
		t.Fatalf("after a 429 and a passing 409: %d, want 201", got)
	}
	if got := send(); got != http.StatusConflict {
		t.Fatalf("a 409 without Retry-After: %d, want it returned as it is", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 4 {
		t.Fatalf("the server had %d requests, want 4 (three for the first send, one for the second)", len(bodies))
	}
	for i, b := range bodies {
		if b != `{"title":"x"}` {
			t.Errorf("request %d had body %q, want the same body each time", i+1, b)
		}
	}
}

// TestProblemListsTheRefusedFields checks that a 400's errors[] is printed field by field.
func TestProblemListsTheRefusedFields(t *testing.T) {
	t.Parallel()
	body := `{"type":"about:blank","title":"Bad Request","status":400,"detail":"the request is invalid","request_id":"r1",
		"errors":[{"field":"budget_lines.0.amount_pence","message":"must be positive"},{"field":"endorsement.email","message":"is not the nominated lead"}]}`
	err := problem("draft the application", &http.Response{StatusCode: 400}, []byte(body))
	want := "draft the application: 400 Bad Request: the request is invalid\n" +
		"  budget_lines.0.amount_pence: must be positive\n  endorsement.email: is not the nominated lead\n" +
		"  (request id r1: quote it to ITSS)"
	if err == nil || err.Error() != want {
		t.Errorf("problem() = %v\nwant %s", err, want)
	}
	if err := problem("x", &http.Response{StatusCode: 502}, []byte("bad gateway")); err == nil || err.Error() != "x: HTTP 502: bad gateway" {
		t.Errorf("problem() of a non-problem body = %v", err)
	}
}
