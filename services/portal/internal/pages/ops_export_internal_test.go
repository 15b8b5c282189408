package pages

import "testing"

// A cell a spreadsheet would read as a formula is written as text.
func TestSafeCell(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+44 20": "'+44 20", "-3": "'-3", "@SUM(A1)": "'@SUM(A1)", "\t=1": "'\t=1", "\r=1": "'\r=1",
		"University of Exampleton": "University of Exampleton", "": "", "1=1": "1=1", "'=quoted": "'=quoted",
	} {
		if got := opsSafeCell(in); got != want {
			t.Errorf("opsSafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}
