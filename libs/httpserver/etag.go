package httpserver

import (
	"strconv"
	"strings"

	"github.com/itss/techcommit/libs/apperr"
)

// Optimistic concurrency (docs/API.md): an object's read and its writes answer with
// its version as an ETag, and a write may carry that ETag back as If-Match, so that
// it is applied only to the version the caller read. The version is the aggregate's
// event-store version, so the check is made inside the command that appends, where
// the store's unique (aggregate, version) index decides between racing writers.
const (
	HeaderETag    = "ETag"
	HeaderIfMatch = "If-Match"
)

// ETag is version as a strong entity tag: the number, quoted.
func ETag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// SetETag answers with version as the ETag.
func SetETag(c Context, version int) {
	c.Response().Header().Set(HeaderETag, ETag(version))
}

// IfMatch is the version an If-Match header names, as the generated server hands it
// (nil when the request has none): 0, no precondition, for none or for "*" (any
// version, and a write to an object that is not there fails anyway). The document
// holds the header to one strong ETag of the suite's (a version without leading
// zeros) or "*", so anything else is refused before a handler; it is checked here too,
// so that a handler never takes a malformed one for no precondition.
func IfMatch(header *string) (int, error) {
	if header == nil || *header == "*" {
		return 0, nil
	}
	digits, ok := strings.CutPrefix(*header, `"`)
	digits, closed := strings.CutSuffix(digits, `"`)
	n, err := strconv.Atoi(digits)
	if !ok || !closed || err != nil || n < 1 || strconv.Itoa(n) != digits {
		return 0, apperr.Field(HeaderIfMatch, `must be the ETag the object was read with, such as "3", or *`)
	}
	return n, nil
}
