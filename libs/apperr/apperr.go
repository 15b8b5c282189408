// Package apperr is the one error type the suite's services share. Domain and
// application code return an *Error with a Code; the HTTP layer maps the code to a
// status in exactly one place (package httpserver) and renders RFC 9457 problem
// details. Internal causes stay in the wrapped error and reach the log, never the client.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error by what the caller can do about it.
type Code string

// The codes the suite uses. Each maps to one HTTP status in package httpserver.
const (
	Invalid         Code = "invalid"         // the request breaks a rule; fix it and retry
	NotFound        Code = "not_found"       // no such object visible to the caller
	Conflict        Code = "conflict"        // the object's state does not allow this now
	Forbidden       Code = "forbidden"       // authenticated but not allowed
	Unauthenticated Code = "unauthenticated" // no valid credentials
	Unprocessable   Code = "unprocessable"   // well-formed but cannot be processed (e.g. idempotency key reuse)
	TooLarge        Code = "too_large"       // the request body is over the limit
	RateLimited     Code = "rate_limited"    // slow down
	Unavailable     Code = "unavailable"     // a dependency is down; retry later
	Internal        Code = "internal"        // a bug or an unexpected failure
)

// Unsupported says the request's body is not in a media type the operation takes
// (JSON sent as text/plain, a form where JSON is expected); fix the Content-Type.
const Unsupported Code = "unsupported_media_type"

// PreconditionFailed says the object was changed since the version the request named
// (If-Match) was read, so the request was not applied: read it again, and decide
// again on what is there now.
const PreconditionFailed Code = "precondition_failed"

// Error is an error with a Code, a message safe to show to the caller and, for
// validation problems, the offending field (a JSON pointer-like path such as
// "leader.email").
type Error struct {
	Code    Code
	Message string
	Field   string
	// Fields lists every field problem when a request has several.
	Fields []FieldProblem
	// RetryAfter, when set, says the refusal is passing (another request holds the
	// object for the moment): the same request may succeed after this long. HTTP
	// gives it as a Retry-After header.
	RetryAfter time.Duration
	Err        error // the internal cause, logged but never shown
}

// FieldProblem names one invalid field of a request and what is wrong with it.
type FieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, msg)
}

// Unwrap exposes the internal cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and a caller-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field returns an Invalid error about one field of the request.
func Field(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalids is the refusal naming every field problem of a request at once: the
// first is the error's own field and message, with how many more there are.
func Invalids(problems []FieldProblem) *Error {
	e := &Error{Code: Invalid, Field: problems[0].Field, Message: problems[0].Message, Fields: problems}
	switch n := len(problems) - 1; {
	case n == 1:
		e.Message += " (and 1 more problem)"
	case n > 1:
		e.Message += fmt.Sprintf(" (and %d more problems)", n)
	}
	return e
}

// Problems gathers what a request gets wrong, so that its refusal names every
// problem at once (Invalids) rather than one per attempt.
type Problems []FieldProblem

// Add records that field is wrong, saying how.
func (ps *Problems) Add(field, format string, args ...any) {
	*ps = append(*ps, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err is the refusal naming every problem, or nil for none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return Invalids(ps)
}

// Wrap returns an error with a code and message that keeps err as its cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the first *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool {
	return err != nil && CodeOf(err) == code
}

// Passing marks e as a refusal that the same request may get past after d (see
// Error.RetryAfter), and returns it.
func (e *Error) Passing(d time.Duration) *Error {
	e.RetryAfter = d
	return e
}
