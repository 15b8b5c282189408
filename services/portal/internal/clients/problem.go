package clients

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FieldError is one field a service refused, and why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is what a service answered when it refused a call: its RFC 9457 body,
// whose field errors the pages show beside the fields they name.
type Problem struct {
	Status int
	Title  string       `json:"title"`
	Detail string       `json:"detail"`
	Field  string       `json:"field"`
	Errors []FieldError `json:"errors"`
	// RetryAfter is how long the service said to wait (its Retry-After in
	// seconds), zero when it said nothing.
	RetryAfter time.Duration `json:"-"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("service answered %d: %s", p.Status, p.Detail)
}

// Fields returns every field error, the single field of a one-field problem included.
func (p *Problem) Fields() []FieldError {
	out := append([]FieldError(nil), p.Errors...)
	if p.Field != "" && len(out) == 0 {
		out = append(out, FieldError{Field: p.Field, Message: p.Detail})
	}
	return out
}

// maxRetryAfter bounds the seconds a service's Retry-After is read as (a day), so
// that no number it sends overflows a duration.
const maxRetryAfter = 24 * 60 * 60

// Check turns a non-2xx answer into a *Problem (nil for success).
func Check(resp *http.Response, body []byte) *Problem {
	if resp == nil {
		return &Problem{Status: http.StatusBadGateway, Detail: "no answer"}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	p := &Problem{Status: resp.StatusCode}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		_ = json.Unmarshal(body, p)
	}
	p.Status = resp.StatusCode
	if secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && secs > 0 {
		p.RetryAfter = time.Duration(min(secs, maxRetryAfter)) * time.Second
	}
	if p.Detail == "" {
		p.Detail = http.StatusText(resp.StatusCode)
	}
	return p
}
