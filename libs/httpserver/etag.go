package httpserver

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/precondition"
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

// IfMatchMessage is what an If-Match header must be, as a refusal says it.
const IfMatchMessage = `must be * or the ETags the object was read with, such as "3" or "3", "4" (RFC 9110)`

// maxIfMatchTags bounds the entity tags one If-Match may list, as the documents'
// maxLength does.
const maxIfMatchTags = 64

// IfMatch is the precondition an If-Match header sets, as the generated server hands
// it (nil when the request has none; several field lines are one list, joined by
// JoinIfMatch): none for no header or "*" (any version; a write to an object that
// is not there fails anyway), otherwise the versions its strong entity tags name
// (RFC 9110 13.1.1: a list, compared strongly, so a weak tag never matches, and nor
// does a tag the suite never gives, such as "03"). A header that is not "*" or a
// list of entity tags is refused, naming If-Match; the documents hold it to the same
// form, and it is checked here too so that a handler never takes a malformed one
// for no precondition.
func IfMatch(header *string) (precondition.Versions, error) {
	if header == nil {
		return precondition.Versions{}, nil
	}
	value := strings.Trim(*header, " \t")
	if value == "*" {
		return precondition.Versions{}, nil
	}
	var versions []int
	tags := 0
	for rest := value; ; {
		rest = strings.TrimLeft(rest, " \t,") // empty list elements are allowed (RFC 9110 5.6.1.2)
		if rest == "" {
			break
		}
		weak := strings.HasPrefix(rest, "W/")
		if weak {
			rest = rest[2:]
		}
		opaque, after, ok := entityTag(rest)
		if !ok {
			return precondition.Versions{}, apperr.Field(HeaderIfMatch, IfMatchMessage)
		}
		if tags++; tags > maxIfMatchTags {
			return precondition.Versions{}, apperr.Field(HeaderIfMatch, "must list at most %d ETags", maxIfMatchTags)
		}
		if n, err := strconv.Atoi(opaque); !weak && err == nil && n >= 1 && strconv.Itoa(n) == opaque {
			versions = append(versions, n)
		}
		rest = strings.TrimLeft(after, " \t")
		if rest != "" && rest[0] != ',' {
			return precondition.Versions{}, apperr.Field(HeaderIfMatch, IfMatchMessage)
		}
	}
	if tags == 0 {
		return precondition.Versions{}, apperr.Field(HeaderIfMatch, IfMatchMessage)
	}
	return precondition.At(versions...), nil
}

// entityTag reads the quoted opaque tag s starts with: the characters between the
// quotes, and what follows the closing one.
func entityTag(s string) (opaque, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[1:i], s[i+1:], true
		case c < 0x21 || c == 0x7f: // etagc: visible characters but the quote, and obs-text
			return "", "", false
		}
	}
	return "", "", false
}

// JoinIfMatch makes the If-Match field lines of r one, their values joined by
// commas, as RFC 9110 5.3 allows for a list: a client may send the list on several
// lines, and the generated servers take one value.
func JoinIfMatch(h http.Header) {
	if values := h.Values(HeaderIfMatch); len(values) > 1 {
		h.Set(HeaderIfMatch, strings.Join(values, ", "))
	}
}
