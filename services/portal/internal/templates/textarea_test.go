package templates

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// A text area people write in has no maxlength. A browser applies one by cutting
// a paste short without a word, and counts it in UTF-16 units, so that an emoji
// counts twice: a lead's action pasted over the limit was saved cut, and one with
// emoji lost its end well within the characters the service takes. The limit is
// said in the field's hint and checked when the form is sent, which keeps what was
// typed and says what to shorten.
func TestNoTextAreaCutsWhatIsPasted(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.html")
	if err != nil {
		t.Fatal(err)
	}
	partials, err := filepath.Glob("*.partial")
	if err != nil {
		t.Fatal(err)
	}
	cut := regexp.MustCompile(`<textarea[^>]*\smaxlength=`)
	for _, f := range append(files, partials...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cut.FindAllIndex(b, -1) {
			t.Errorf("%s: a text area has a maxlength: %.80s", f, b[m[0]:])
		}
	}
}
