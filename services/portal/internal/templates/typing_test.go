package templates

import "testing"

// A page holds a field to type in or choose from unless its only inputs are hidden
// ones and buttons: then "Stay signed in", which opens the page again, loses nothing.
func TestTypingFindsTheFieldsAPersonFillsIn(t *testing.T) {
	t.Parallel()
	for page, want := range map[string]bool{
		`<form><input type="hidden" name="page" value="/account"><button>Stay signed in</button></form>`: false,
		`<input type=submit value="Go"><INPUT TYPE="image" src="x">`:                                     false,
		`<textarea name="summary"></textarea>`:                                                           true,
		`<select name="theme"><option>1</option></select>`:                                               true,
		`<input name="email">`:                        true,
		`<input id="q" type="search" name="q">`:       true,
		`<input type="radio" name="score" value="3">`: true,
		`<p>Nothing to fill in.</p>`:                  false,
	} {
		if got := typing([]byte(page)); got != want {
			t.Errorf("typing(%s) = %t, want %t", page, got, want)
		}
	}
}
