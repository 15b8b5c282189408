package precondition_test

import (
	"testing"

	"github.com/itss/techcommit/libs/precondition"
)

// No precondition allows every version; one names the versions it allows, and says
// why it refuses another: changed since read, or no version named at all (a weak
// tag's list).
func TestVersions(t *testing.T) {
	t.Parallel()
	var anyVersion precondition.Versions
	if !anyVersion.Any() || !anyVersion.Allows(7) {
		t.Error("the zero precondition does not allow every version")
	}
	two := precondition.At(3, 5)
	if two.Any() || !two.Allows(3) || !two.Allows(5) || two.Allows(4) {
		t.Errorf("At(3, 5) allows the wrong versions")
	}
	if got, want := two.Mismatch(7), "was changed since it was read (it is at version 7, not 3 or 5)"; got != want {
		t.Errorf("Mismatch = %q, want %q", got, want)
	}
	none := precondition.At()
	if none.Any() || none.Allows(1) {
		t.Error("a precondition naming no version allows one")
	}
	if got, want := none.Mismatch(7), `is at version 7, and If-Match names no version of it (an ETag is compared strongly: send it as it was given, such as "7", not as a weak W/ tag)`; got != want {
		t.Errorf("Mismatch = %q, want %q", got, want)
	}
}
