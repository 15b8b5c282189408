package httpserver

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/apperr"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type     string                `json:"type"`
	Title    string                `json:"title"`
	Status   int                   `json:"status"`
	Detail   string                `json:"detail,omitempty"`
	Instance string                `json:"instance,omitempty"`
	Field    string                `json:"field,omitempty"`
	Errors   []apperr.FieldProblem `json:"errors,omitempty"`
	// RequestID lets a caller quote the request to ITSS staff, who find it in the logs.
	RequestID string `json:"request_id,omitempty"`
}

// MaxFieldProblems bounds a problem's errors[] (the documents' maxItems): a body
// can hold more mistakes than anyone reads, and the answer should not grow with it.
// The detail still counts them all.
const MaxFieldProblems = 1000

// ProblemContentType is the media type of problem details (RFC 9457).
const ProblemContentType = "application/problem+json"

// ProblemTypeBase prefixes the type URI of every problem the suite returns.
const ProblemTypeBase = "https://technician-commitment.itss.org.uk/problems/"

// retryAfter is the Retry-After, in seconds, of a 503: a dependency being down is
// usually a restart or a failover, over in seconds.
const retryAfter = "5"

// statuses maps each error code to its HTTP status. This is the only place that
// mapping lives; codeForStatus reads it backwards.
var statuses = map[apperr.Code]int{
	apperr.Invalid:            http.StatusBadRequest,
	apperr.Unauthenticated:    http.StatusUnauthorized,
	apperr.Forbidden:          http.StatusForbidden,
	apperr.NotFound:           http.StatusNotFound,
	apperr.Conflict:           http.StatusConflict,
	apperr.PreconditionFailed: http.StatusPreconditionFailed,
	apperr.TooLarge:           http.StatusRequestEntityTooLarge,
	apperr.Unsupported:        http.StatusUnsupportedMediaType,
	apperr.Unprocessable:      http.StatusUnprocessableEntity,
	apperr.RateLimited:        http.StatusTooManyRequests,
	apperr.Unavailable:        http.StatusServiceUnavailable,
	apperr.Internal:           http.StatusInternalServerError,
}

// Status maps an error code to its HTTP status.
func Status(code apperr.Code) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// failed is the detail of a failure (500), which says nothing of what failed inside.
const failed = "the server could not complete the request; quote the request id when reporting it"

// errorHandler renders every error that leaves a handler or middleware as
// problem+json. A failure's detail gives contact, when set, as where to report it.
func errorHandler(logger *slog.Logger, contact string) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := toProblem(err)
		if p.Detail == failed && contact != "" {
			p.Detail = failed + " to ITSS at " + contact
		}
		// As sent, escapes kept: decoded, a path could put control characters in the body.
		p.Instance = c.Request().URL.EscapedPath()
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		ctx := c.Request().Context()
		if p.Status >= 500 {
			logger.ErrorContext(ctx, "request failed", "method", c.Request().Method, "path", c.Path(), "status", p.Status, "error", err.Error())
		} else {
			logger.InfoContext(ctx, "request refused", "method", c.Request().Method, "path", c.Path(), "status", p.Status, "error", err.Error())
		}
		if e, ok := apperr.As(err); ok && e.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
		}
		switch p.Status {
		case http.StatusUnauthorized:
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="technician-commitment"`)
		case http.StatusServiceUnavailable:
			c.Response().Header().Set("Retry-After", retryAfter)
		}
		if err := WriteProblem(c, p); err != nil {
			logger.ErrorContext(ctx, "write problem", "error", err)
		}
	}
}

// WriteProblem writes p as the response.
func WriteProblem(c echo.Context, p Problem) error {
	c.Response().Header().Set(echo.HeaderContentType, ProblemContentType)
	c.Response().WriteHeader(p.Status)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	return c.Echo().JSONSerializer.Serialize(c, p, "")
}

func toProblem(err error) Problem {
	var he *echo.HTTPError
	if e, ok := apperr.As(err); ok {
		status := Status(e.Code)
		p := Problem{Type: ProblemTypeBase + string(e.Code), Title: http.StatusText(status), Status: status, Detail: e.Message, Field: e.Field}
		if status >= 500 {
			p.Detail = failed
			if e.Code == apperr.Unavailable {
				p.Detail = "a service this request needs is unavailable; retry shortly"
			}
		}
		p.Field = fieldName(p.Field)
		p.Detail = problemText(p.Detail)
		p.Errors = e.Fields
		if len(p.Errors) > MaxFieldProblems {
			p.Errors = p.Errors[:MaxFieldProblems]
		}
		for i := range p.Errors {
			p.Errors[i].Field = fieldName(p.Errors[i].Field)
			p.Errors[i].Message = problemText(p.Errors[i].Message)
		}
		if p.Field != "" && len(p.Errors) == 0 {
			p.Errors = []apperr.FieldProblem{{Field: p.Field, Message: p.Detail}}
		}
		return p
	}
	if errors.As(err, &he) {
		code := codeForStatus(he.Code)
		detail := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && he.Code < 500 {
			detail = m
		}
		return Problem{Type: ProblemTypeBase + string(code), Title: http.StatusText(he.Code), Status: he.Code, Detail: detail}
	}
	return Problem{
		Type:   ProblemTypeBase + string(apperr.Internal),
		Title:  http.StatusText(http.StatusInternalServerError),
		Status: http.StatusInternalServerError,
		Detail: failed,
	}
}

// The documents' maxLength of a problem's field and of its detail and messages,
// counted in bytes here so that any character counts fit.
const (
	maxFieldName = 200
	maxText      = 8000
)

// fieldName is how a problem names a field. The documents say it is one clean line of
// at most 200 characters, but a property or query parameter a caller made up is named
// as the caller wrote it: trailing spaces, line breaks, direction overrides, any
// length. Such a name is quoted as Go quotes a string, and cut to fit with an
// ellipsis; a clean name goes as it is.
func fieldName(name string) string {
	if name == "" || (len(name) <= maxFieldName && CheckLine(name) == nil) {
		return name
	}
	inner := escaped(name, maxFieldName-2, func(r rune) string {
		switch {
		case r == '"':
			return `\"`
		case r == '\\' || !unicode.IsPrint(r):
			// Controls, and every invisible character (isInvisible's are all format
			// characters, which are not printable).
			return escapeRune(r)
		}
		return string(r)
	})
	return `"` + inner + `"`
}

// problemText keeps a detail or message within the documents' "text" format: the
// suite writes them, but some quote what a validator or decoder said about the input.
func problemText(s string) string {
	if len(s) <= maxText && CheckText(s) == nil {
		return s
	}
	return escaped(s, maxText, func(r rune) string {
		if r != '\n' && r != '\r' && r != '\t' && (r == utf8.RuneError || unicode.IsControl(r) || isInvisible(r)) {
			return escapeRune(r)
		}
		return string(r)
	})
}

// escapeRune is r as Go writes it inside quotes: \r, \x01, \u202e.
func escapeRune(r rune) string {
	q := strconv.QuoteRune(r)
	return q[1 : len(q)-1]
}

// escaped writes each rune of s as write says, cut to at most limit bytes with an
// ellipsis at the end when it does not fit whole.
func escaped(s string, limit int, write func(rune) string) string {
	const ellipsis = "…"
	var b strings.Builder
	cut := -1 // the length before the first rune that leaves no room for an ellipsis
	for _, r := range s {
		q := write(r)
		if cut < 0 && b.Len()+len(q) > limit-len(ellipsis) {
			cut = b.Len()
		}
		if b.Len()+len(q) > limit {
			return b.String()[:cut] + ellipsis
		}
		b.WriteString(q)
	}
	return b.String()
}

// codeForStatus names the problem type of an error echo raised itself (404 for an
// unknown route, 405, ...).
func codeForStatus(status int) apperr.Code {
	for code, s := range statuses {
		if s == status {
			return code
		}
	}
	switch {
	case status == http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case status >= 500:
		return apperr.Internal
	default:
		return apperr.Invalid
	}
}
