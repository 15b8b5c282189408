package pages

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// An action's outcome is shown only on the page it was kept for, to the person who
// made the action, under the id the redirect named, for outcomeFor: a cookie moved
// to another page, sent by another person, altered, or kept too long shows nothing.
func TestAnOutcomeIsShownOnlyWhereAndToWhomItWasKept(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	key[0] = 1
	sealer, err := newOutcomeSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC))
	h := &Handler{outcomes: sealer, clock: clk, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	as := func(subject, path string) *http.Request {
		r := httptest.NewRequest("GET", path, nil)
		return r.WithContext(context.WithValue(r.Context(), visitorKey{}, &visitor{session: signin.Session{Subject: subject, Ops: true}}))
	}
	w := httptest.NewRecorder()
	if !h.keepOutcome(w, as("ops-a", "/ops/review/rounds/r-1/auto-assign"), "/ops/review/rounds/r-1", "run-1", map[string]int{"added": 2}) {
		t.Fatal("a small outcome was not kept")
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Path != "/ops/review/rounds/r-1" || !cookies[0].HttpOnly {
		t.Fatalf("the outcome's cookie: %+v", cookies)
	}
	sent := func(r *http.Request, value string) *http.Request {
		r.AddCookie(&http.Cookie{Name: outcomeCookie, Value: value})
		return r
	}
	read := func(r *http.Request, id string) bool {
		var got map[string]int
		return h.outcome(r, id, &got) && got["added"] == 2
	}
	good := cookies[0].Value
	if !read(sent(as("ops-a", "/ops/review/rounds/r-1"), good), "run-1") {
		t.Error("the outcome is not shown on its page, to its person, under its id")
	}
	altered := []byte(good)
	altered[len(altered)/2] ^= 1
	for what, r := range map[string]*http.Request{
		"on another round's page": sent(as("ops-a", "/ops/review/rounds/r-2"), good),
		"to another person":       sent(as("ops-b", "/ops/review/rounds/r-1"), good),
		"altered":                 sent(as("ops-a", "/ops/review/rounds/r-1"), string(altered)),
		"to a visitor signed out": sent(httptest.NewRequest("GET", "/ops/review/rounds/r-1", nil), good),
		"without the cookie":      as("ops-a", "/ops/review/rounds/r-1"),
	} {
		if read(r, "run-1") {
			t.Errorf("the outcome is shown %s", what)
		}
	}
	if read(sent(as("ops-a", "/ops/review/rounds/r-1"), good), "run-2") {
		t.Error("the outcome is shown under another id")
	}
	clk.Advance(outcomeFor)
	if read(sent(as("ops-a", "/ops/review/rounds/r-1"), good), "run-1") {
		t.Error("the outcome is shown after outcomeFor")
	}
}

// Outside local development the outcome's cookie is Secure and __Secure- prefixed
// (its path is the page's, so it cannot be __Host-): a browser takes a cookie of that
// name only from an https page, and the outcome is read back only under it
// (ASVS 5 3.3.1).
func TestAnOutcomeCookieIsSecurePrefixedOutsideLocalDevelopment(t *testing.T) {
	t.Parallel()
	sealer, err := newOutcomeSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{outcomes: sealer, clock: clock.NewFake(time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)),
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)), secureCookies: true}
	as := func(path string) *http.Request {
		r := httptest.NewRequest("GET", path, nil)
		return r.WithContext(context.WithValue(r.Context(), visitorKey{}, &visitor{session: signin.Session{Subject: "ops-a", Ops: true}}))
	}
	w := httptest.NewRecorder()
	if !h.keepOutcome(w, as("/ops/review/rounds/r-1/auto-assign"), "/ops/review/rounds/r-1", "run-1", map[string]int{"added": 2}) {
		t.Fatal("a small outcome was not kept")
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Secure-tc_outcome" || !cookies[0].Secure {
		t.Fatalf("the outcome's cookie: %+v, want __Secure-tc_outcome, Secure", cookies)
	}
	var got map[string]int
	r := as("/ops/review/rounds/r-1")
	r.AddCookie(&http.Cookie{Name: cookies[0].Name, Value: cookies[0].Value})
	if !h.outcome(r, "run-1", &got) || got["added"] != 2 {
		t.Error("the outcome is not read back from its prefixed cookie")
	}
	r = as("/ops/review/rounds/r-1")
	r.AddCookie(&http.Cookie{Name: "tc_outcome", Value: cookies[0].Value})
	if h.outcome(r, "run-1", &got) {
		t.Error("an outcome is read from a cookie without the prefix")
	}
}
