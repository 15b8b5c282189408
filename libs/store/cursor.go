package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"

	"github.com/itss/techcommit/libs/apperr"
)

// EncodeCursor makes the opaque cursor of a page's last position: a flat struct of
// the fields the list is ordered by, none of them empty.
func EncodeCursor(position any) string {
	b, _ := json.Marshal(position)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor EncodeCursor made into position, strictly: anything
// else is an Invalid error naming the cursor. That is another shape, unknown fields,
// operators smuggled in, a field named twice (which value counts would depend on the
// parser) and a field missing or empty ({} would start the list from its beginning,
// or from nowhere): no page ends at a position EncodeCursor would write that way.
func DecodeCursor(s string, position any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !flatDistinct(b) {
		return BadCursor()
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(position); err != nil || !whole(position) {
		return BadCursor()
	}
	return nil
}

// flatDistinct reports whether b is one JSON object of scalar values that names
// each key once, as every position EncodeCursor writes is.
func flatDistinct(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok || seen[key] {
			return false
		}
		seen[key] = true
		if t, err := dec.Token(); err != nil {
			return false
		} else if _, nested := t.(json.Delim); nested {
			return false
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return false
	}
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}

// whole reports whether every field of the decoded position has a value.
func whole(position any) bool {
	v := reflect.ValueOf(position)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return !v.IsZero()
	}
	for i := range v.NumField() {
		if v.Type().Field(i).IsExported() && v.Field(i).IsZero() {
			return false
		}
	}
	return true
}

// BadCursor is the error for a cursor this service did not issue.
func BadCursor() error {
	return apperr.Field("cursor", "is not a cursor this service issued")
}
