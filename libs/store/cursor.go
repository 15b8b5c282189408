package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"

	"github.com/itss/techcommit/libs/apperr"
)

// EncodeCursor makes the opaque cursor of a page's last position.
func EncodeCursor(position any) string {
	b, _ := json.Marshal(position)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor EncodeCursor made into position, strictly: anything
// else (another shape, unknown fields, operators smuggled in) is an Invalid error
// naming the cursor.
func DecodeCursor(s string, position any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(position)
	}
	if err != nil {
		return BadCursor()
	}
	return nil
}

// BadCursor is the error for a cursor this service did not issue.
func BadCursor() error {
	return apperr.Field("cursor", "is not a cursor this service issued")
}
