// Package precondition is the versions of an aggregate a write may be applied at:
// what an If-Match header names (docs/API.md, "Versions: ETag and If-Match"). The
// HTTP ports read it from the header (httpserver.IfMatch) and the commands check it
// where they append; it depends on neither.
package precondition

import (
	"fmt"
	"strconv"
	"strings"
)

// Versions is the versions of an aggregate a write may be applied at: those an
// If-Match header names, each the aggregate's version as its strong ETag says it.
// The zero value is no precondition (no If-Match, or "*"): the write is applied
// whatever the version. A precondition
// that names no version of the suite's (only weak tags, which never match under the
// strong comparison If-Match makes, or tags the suite never gave) allows none.
type Versions struct {
	set      bool
	versions []int
}

// At is the precondition that the aggregate is at one of versions.
func At(versions ...int) Versions {
	return Versions{set: true, versions: versions}
}

// Any reports whether the precondition allows every version.
func (p Versions) Any() bool { return !p.set }

// Allows reports whether a write may be applied to the aggregate at version.
func (p Versions) Allows(version int) bool {
	if !p.set {
		return true
	}
	for _, v := range p.versions {
		if v == version {
			return true
		}
	}
	return false
}

// Mismatch says, after the aggregate's name, why a write under p is not applied to
// it at version, for a 412's detail: it was changed since it was read, or the
// If-Match named none of its versions.
func (p Versions) Mismatch(version int) string {
	if len(p.versions) == 0 {
		return fmt.Sprintf(`is at version %d, and If-Match names no version of it (an ETag is compared strongly: send it as it was given, such as "%d", not as a weak W/ tag)`, version, version)
	}
	named := make([]string, len(p.versions))
	for i, v := range p.versions {
		named[i] = strconv.Itoa(v)
	}
	return fmt.Sprintf("was changed since it was read (it is at version %d, not %s)", version, strings.Join(named, " or "))
}
