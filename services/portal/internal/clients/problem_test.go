package clients

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A service's problem+json answer gives the pages the fields it names, whether it
// lists them or names one.
func TestCheckReadsFieldErrors(t *testing.T) {
	t.Parallel()
	resp := func(status int, ct string) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ct}}}
	}
	if p := Check(resp(http.StatusOK, "application/json"), []byte(`{}`)); p != nil {
		t.Fatalf("200 is a problem: %v", p)
	}
	p := Check(resp(http.StatusBadRequest, "application/problem+json"),
		[]byte(`{"title":"Bad Request","status":400,"detail":"2 fields are invalid","errors":[{"field":"themes[0].score","message":"must be 1 to 4"},{"field":"summary","message":"is required"}]}`))
	want := []FieldError{{"themes[0].score", "must be 1 to 4"}, {"summary", "is required"}}
	if p == nil || p.Status != http.StatusBadRequest || !cmp.Equal(want, p.Fields()) {
		t.Fatalf("problem = %+v, fields %v", p, p.Fields())
	}
	one := Check(resp(http.StatusBadRequest, "application/problem+json"), []byte(`{"status":400,"field":"reason","detail":"must not be empty"}`))
	if got := one.Fields(); !cmp.Equal([]FieldError{{"reason", "must not be empty"}}, got) {
		t.Fatalf("fields = %v", got)
	}
	if p := Check(resp(http.StatusBadGateway, "text/html"), []byte(`<html>`)); p == nil || p.Detail != "Bad Gateway" || len(p.Fields()) != 0 {
		t.Fatalf("a non-JSON error = %+v", p)
	}
}

// A service's 429 says how long to wait, which the pages pass on; a Retry-After that
// is not whole seconds is read as nothing said.
func TestCheckReadsRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"3", 3 * time.Second},
		{" 1 ", time.Second},
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999999999", 24 * time.Hour},
	} {
		resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{
			"Content-Type": {"application/problem+json"}, "Retry-After": {tc.header}}}
		if p := Check(resp, []byte(`{"status":429,"detail":"too many requests"}`)); p == nil || p.RetryAfter != tc.want {
			t.Errorf("Retry-After %q: problem %+v, want a wait of %s", tc.header, p, tc.want)
		}
	}
}
