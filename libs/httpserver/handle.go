package httpserver

import (
	"context"
	"net/http"
)

// None is the body of an operation that takes none: Handle reads nothing, the
// validator having refused a body sent to an operation whose document declares none.
type None struct{}

// Optional is the body of an operation whose body may be left out: Value is T's zero
// value when the request has none, and is decoded as Decode does when it has one.
type Optional[T any] struct{ Value T }

func (o *Optional[T]) decodeFrom(c Context) error {
	// The body limit middleware has read the body and set its length, a chunked one's
	// too, so a length of zero is a request without one.
	if c.Request().ContentLength == 0 {
		return nil
	}
	return Decode(c, &o.Value)
}

// optionalBody is an Optional of any type.
type optionalBody interface{ decodeFrom(c Context) error }

// Handle answers a request with the shape every handler of the suite has, so that a
// handler says only what is its own: it decodes the body into a B (strictly, as
// Decode; see None and Optional), learns who is calling with who (auth.MustFromContext,
// say: a refusal there is the answer), calls call with the request's context, the
// caller and the body, and answers 200 with present of what call returned as JSON.
// Any error on the way is returned for the server to answer as problem+json.
func Handle[P, B, R, O any](c Context, who func(context.Context) (P, error), call func(ctx context.Context, by P, body B) (R, error), present func(R) O) error {
	r, err := handle(c, who, call)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, present(r))
}

// Create is Handle for an operation that creates something: it answers 201, with the
// Location of what call made, which location gives (docs/API.md).
func Create[P, B, R, O any](c Context, who func(context.Context) (P, error), call func(ctx context.Context, by P, body B) (R, error), present func(R) O, location func(R) string) error {
	r, err := handle(c, who, call)
	if err != nil {
		return err
	}
	c.Response().Header().Set(HeaderLocation, location(r))
	return c.JSON(http.StatusCreated, present(r))
}

func handle[P, B, R any](c Context, who func(context.Context) (P, error), call func(context.Context, P, B) (R, error)) (R, error) {
	var none R
	var body B
	switch b := any(&body).(type) {
	case *None:
	case optionalBody:
		if err := b.decodeFrom(c); err != nil {
			return none, err
		}
	default:
		if err := Decode(c, &body); err != nil {
			return none, err
		}
	}
	ctx := c.Request().Context()
	by, err := who(ctx)
	if err != nil {
		return none, err
	}
	return call(ctx, by, body)
}
