package httpserver

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"

	"github.com/labstack/echo/v4"
)

// headers sets the headers every response carries, whatever answers it (a handler,
// a refusal, a panic):
//   - X-Content-Type-Options: nosniff, so that no browser reads a JSON or YAML
//     answer as HTML or script;
//   - Cache-Control: no-store on the answer to any request that carried an
//     Authorization header, so that what one person may see is kept by no cache on
//     the way (a shared proxy, the browser's disk) for the next;
//   - Strict-Transport-Security when hstsMaxAge is positive, so that a browser that
//     once reached the service over https never again tries it in the clear.
func headers(hstsMaxAge int) echo.MiddlewareFunc {
	hsts := ""
	if hstsMaxAge > 0 {
		hsts = "max-age=" + strconv.Itoa(hstsMaxAge) + "; includeSubDomains"
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			if hsts != "" {
				h.Set("Strict-Transport-Security", hsts)
			}
			if c.Request().Header.Get(echo.HeaderAuthorization) != "" {
				// Set as the status is written, over anything a handler set, so that no
				// handler can make a personal answer cacheable by mistake.
				c.Response().Before(func() {
					h.Set("Cache-Control", "no-store")
					h.Del("Expires")
				})
			}
			return next(c)
		}
	}
}

// requestIDPattern is what a client's X-Request-ID must look like to be kept: it is
// written into logs and answers, so nothing that could forge a log line, smuggle a
// header or fill the disk gets through.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID gives every request an id: the client's X-Request-ID when it matches
// requestIDPattern (so a caller can follow its own request through the logs), a
// fresh random one otherwise. The request carries the id chosen, so nothing later
// sees the one refused.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			id := req.Header.Get(echo.HeaderXRequestID)
			if !requestIDPattern.MatchString(id) {
				id = newRequestID()
				req.Header.Set(echo.HeaderXRequestID, id)
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics if it must)
	return hex.EncodeToString(b[:])
}

// head answers HEAD as the GET of the same path would be, with the same status and
// headers and no body (RFC 9110 section 9.3.2): the request goes on as a GET (so
// routing, validation, security and rate limits are the GET's) and whatever the
// handler writes is dropped. It runs before routing, as echo routes HEAD nowhere.
func head(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Method != http.MethodHead {
			return next(c)
		}
		req.Method = http.MethodGet
		res := c.Response()
		res.Writer = bodiless{res.Writer}
		defer func() { req.Method = http.MethodHead }()
		return next(c)
	}
}

// bodiless is a ResponseWriter that keeps headers and status and drops the body.
type bodiless struct{ http.ResponseWriter }

func (b bodiless) Write(p []byte) (int, error) { return len(p), nil }

// Unwrap lets http.ResponseController reach the connection's writer.
func (b bodiless) Unwrap() http.ResponseWriter { return b.ResponseWriter }
