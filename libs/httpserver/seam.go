package httpserver

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// The names below are all the rest of the suite knows of the HTTP framework. Echo v4's
// security support ends on 2026-12-31; with echo imported only here and in the
// generated servers, the move to v5 is this package and a `make generate`.

// Context is the request a handler or middleware is given, and its response. The
// methods the services call on it (Request, SetRequest, Response().Header, Param,
// QueryParam, JSON, Blob, String, NoContent) keep their names in echo v5, where the
// context is a struct pointer: the alias becomes `= *echo.Context` and the handlers,
// whose signatures the generated ServerInterface fixes, compile unchanged.
type Context = echo.Context

// HandlerFunc answers a request, or returns the error the server answers it with
// (an apperr error, rendered as problem+json).
type HandlerFunc = echo.HandlerFunc

// MiddlewareFunc wraps a handler, for what every request goes through (see Options
// and Router's Use).
type MiddlewareFunc = echo.MiddlewareFunc

// Router is where routes and middleware are added: Server.Echo returns it, and the
// services' generated RegisterHandlers and deadletter.Register take it.
type Router = *echo.Echo

// Header names the suite's handlers and middleware set or read.
const (
	HeaderAuthorization = "Authorization"
	HeaderContentType   = "Content-Type"
	HeaderLocation      = "Location"
)

// Before makes middleware of f, which is given each request before the handler and
// returns the request to go on with (with values added to its context, say) or the
// error to answer it with. It keeps packages such as auth free of the framework.
func Before(f func(*http.Request) (*http.Request, error)) MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r, err := f(c.Request())
			if err != nil {
				return err
			}
			c.SetRequest(r)
			return next(c)
		}
	}
}

// SwapWriter makes w the writer of c's response and returns the writer it replaced,
// for middleware that holds an answer back until it has done something with it
// (idempotency stores it on the key first). Put the returned writer back when done.
func SwapWriter(c Context, w http.ResponseWriter) http.ResponseWriter {
	orig := c.Response().Writer
	c.Response().Writer = w
	return orig
}

// HandleError answers c with err at once, as the server would when err reached it,
// for middleware that must see the answer to an error before it returns.
func HandleError(c Context, err error) { c.Error(err) }

// NewContext returns a context for r and w outside any server, for tests and fuzz
// targets of code that reads a request, such as Decode.
func NewContext(r *http.Request, w http.ResponseWriter) Context { return bare.NewContext(r, w) }

// bare makes the contexts of NewContext; it serves nothing.
var bare = echo.New()
