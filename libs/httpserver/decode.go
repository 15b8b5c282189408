package httpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
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
		return apperr.Field(field, "must be %s", goTypeWords(typeErr.Type, typeErr.Value))
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

// goTypeWords says in words what a value decoded into t must be, as the validator's
// messages do (typeWords), never naming the Go type. value is what the body held
// instead ("number 1e4", "string", ...): a number where a whole number is expected
// is told how to write it (1e4 is 10000, but not as a whole number is written) or
// the range it must fall in.
func goTypeWords(t reflect.Type, value string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return wholeNumberWords(value, strconv.FormatInt(-1<<(t.Bits()-1), 10), strconv.FormatInt(1<<(t.Bits()-1)-1, 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return wholeNumberWords(value, "0", strconv.FormatUint(1<<t.Bits()-1, 10))
	case reflect.Float32, reflect.Float64:
		return typeWords["number"]
	case reflect.String:
		return typeWords["string"]
	case reflect.Bool:
		return typeWords["boolean"]
	case reflect.Slice, reflect.Array:
		return typeWords["array"]
	}
	return typeWords["object"]
}

// wholeNumberWords says what a whole number must be, given the number (or other
// value) sent instead.
func wholeNumberWords(value, lowest, highest string) string {
	n, isNumber := strings.CutPrefix(value, "number ")
	switch {
	case isNumber && strings.ContainsAny(n, ".eE"):
		return "a whole number written in digits alone, such as 10000, without an exponent or a decimal point"
	case isNumber:
		return "a whole number from " + lowest + " to " + highest
	}
	return typeWords["integer"]
}
