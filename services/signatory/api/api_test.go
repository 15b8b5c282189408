package api_test

import (
	"testing"

	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/signatory/api"
)

// TestEveryStringSaysWhatItMayHold keeps free text out of the contract: every string
// field has an enum, a format (line, text, email, date ...) or an anchored pattern, so
// that a name with a line break or a direction override is refused at the door.
func TestEveryStringSaysWhatItMayHold(t *testing.T) {
	t.Parallel()
	loose, err := httpserver.UnconstrainedStrings(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, where := range loose {
		t.Errorf("%s is a string with no enum, format or anchored pattern", where)
	}
}
