package httpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/apperr"
)

// Decode reads the JSON request body into v strictly: unknown fields, trailing data
// and type mismatches are Invalid errors that name the field. Validation against the
// OpenAPI document has normally refused such bodies already; this is the second line.
func Decode(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Field("body", "the body must hold exactly one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return apperr.Field(field, "must be of type %s", typeErr.Type.String())
	case errors.As(err, &syntaxErr):
		return apperr.Field("body", "the body is not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Field("body", "the body is empty or cut short")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if name == "" {
			return apperr.Field("body", "holds a property with an empty name")
		}
		return apperr.Field(name, "is not a field of this request")
	default:
		// A value the validator let through that a field's own decoder refuses (an
		// address net/mail cannot parse, a time Go cannot): the decoder's error names
		// no field, and its words are Go's, so they go to the log only.
		e := apperr.Field("body", "a value in the body is not in the form its field takes")
		e.Err = fmt.Errorf("decode body: %w", err)
		return e
	}
}
