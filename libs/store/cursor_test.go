package store_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/store"
)

func TestCursorsAreDecodedStrictly(t *testing.T) {
	t.Parallel()
	type position struct {
		At time.Time `json:"at"`
		ID string    `json:"id"`
	}
	at := time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)
	var got position
	if err := store.DecodeCursor(store.EncodeCursor(position{At: at, ID: "a"}), &got); err != nil || got != (position{At: at, ID: "a"}) {
		t.Fatalf("a cursor EncodeCursor made reads back as %+v, %v", got, err)
	}
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, c := range []string{
		"bm90anNvbg", // "notjson"
		"!!",
		raw(`{"at":"2026-12-04T17:00:00Z","id":"a","id":"b"}`), // which id would count depends on the parser
		raw(`{}`), // starts from nowhere
		raw(`{"at":"2026-12-04T17:00:00Z","id":""}`), // an empty id
		raw(`{"at":"2026-12-04T17:00:00Z"}`),
		raw(`{"at":"2026-12-04T17:00:00Z","id":"a","x":1}`),
		raw(`{"at":"2026-12-04T17:00:00Z","id":{"$ne":null}}`),
		raw(`{"at":"2026-12-04T17:00:00Z","id":"a"} {}`),
		raw(`["a"]`),
		raw(`null`),
	} {
		var p position
		if err := store.DecodeCursor(c, &p); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("cursor %q read as %+v, %v; want it refused", c, p, err)
		} else if ae, _ := apperr.As(err); ae.Field != "cursor" {
			t.Errorf("cursor %q refused naming %q, want cursor", c, ae.Field)
		}
	}
}
