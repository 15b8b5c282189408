package pages

import (
	"net/url"
	"testing"
)

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

// A list is shown 50 rows a page, with links that keep the filters.
func TestOpsPage(t *testing.T) {
	t.Parallel()
	q := url.Values{"status": {"announced"}, "page": {"2"}}
	p := opsPage("/ops/organisations", q, 120)
	want := opsPager{From: 50, To: 100, Total: 120, First: 51,
		Prev: "/ops/organisations?page=1&status=announced", Next: "/ops/organisations?page=3&status=announced"}
	if p != want {
		t.Errorf("page 2 of 120 = %+v, want %+v", p, want)
	}
	for _, bad := range []string{"0", "4", "x", "-1"} {
		if p := opsPage("/x", url.Values{"page": {bad}}, 120); p.From != 0 || p.Prev != "" || p.Next != "/x?page=2" {
			t.Errorf("page %q = %+v, want the first", bad, p)
		}
	}
	if p := opsPage("/x", nil, 0); p != (opsPager{}) {
		t.Errorf("an empty list = %+v", p)
	}
}
