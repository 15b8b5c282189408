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

// A list is shown 50 rows a page that a service chose by cursor: the page's place
// in the list is what its link says, within the total; links keep the filters.
func TestOpsCursorPage(t *testing.T) {
	t.Parallel()
	filters := url.Values{"status": {"announced"}}
	next := "abc"
	want := opsCursorPager{Total: 120, From: 51, To: 100, FirstLink: "/ops/organisations?status=announced", Next: "/ops/organisations?cursor=abc&from=101&status=announced"}
	if p := opsCursorPage("/ops/organisations", filters, url.Values{"from": {"51"}}, "cur", 50, 120, &next); p != want {
		t.Errorf("the second page of 120 = %+v, want %+v", p, want)
	}
	for _, bad := range []string{"0", "121", "102", "x", "-1", ""} {
		if p := opsCursorPage("/x", nil, url.Values{"from": {bad}}, "cur", 20, 120, nil); p.From != 1 || p.To != 20 {
			t.Errorf("from %q: %d to %d, want 1 to 20", bad, p.From, p.To)
		}
	}
	if p := opsCursorPage("/x", nil, url.Values{"from": {"51"}}, "", 50, 120, &next); p != (opsCursorPager{Total: 120, From: 1, To: 50, First: true, Next: "/x?cursor=abc&from=51"}) {
		t.Errorf("the first page = %+v", p)
	}
}
