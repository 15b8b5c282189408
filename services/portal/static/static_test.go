package static_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// TestTheStyleSheetsAreValidCSS gives the portal's style sheets to the Nu Html
// Checker's CSS validator, the one the journeys give every page to: a property or
// value a browser does not know is dropped without a word, and what it styled with it.
func TestTheStyleSheetsAreValidCSS(t *testing.T) {
	jar, err := browsertest.FindVnu()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the CSS validator cannot run: %v", err)
		}
		t.Skipf("no CSS validator: %v (cd tools && npm ci; apt-get install default-jre-headless)", err)
	}
	sheets, err := filepath.Glob("*.css")
	if err != nil || len(sheets) == 0 {
		t.Fatalf("no style sheets here (%v)", err)
	}
	out, err := exec.Command("java", append([]string{"-jar", jar, "--css", "--errors-only", "--format", "gnu"}, sheets...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("the CSS validator (%v):\n%s", err, out)
	}
}
