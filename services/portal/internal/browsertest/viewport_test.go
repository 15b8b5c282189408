package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// A page is measured against the viewport it is given: one that reflows fits a phone's
// 320 pixels, one with a fixed 1000 pixel box scrolls sideways there, and the box's
// place is read back. A cookie given to the browser goes with its requests.
func TestViewportWidthAndCookie(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fits", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page("Fits", `<p>Text that wraps to any width.</p>`))
	})
	mux.HandleFunc("GET /wide", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page("Wide", `<div id="wide" style="width: 1000px">A fixed width</div>`))
	})
	mux.HandleFunc("GET /words", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page("Words", `<p id="whole" style="width: 120px">Engineering and Physical Sciences</p>`+
			`<p id="anywhere" style="width: 120px; overflow-wrap: anywhere">Engineering and Physical Sciences</p>`+
			`<p id="hyphen" style="width: 120px">The Pro-Vice-Chancellor</p>`+
			`<table><tr><td id="squeezed" style="overflow-wrap: anywhere">Engineering and Physical Sciences</td><td style="width: 300px">x</td></tr></table>`))
	})
	mux.HandleFunc("GET /cookie", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		who := "nobody"
		if err == nil {
			who = c.Value
		}
		fmt.Fprint(w, page("Signed in as "+who, ""))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	b := browsertest.New(t)

	b.SetViewport(320, 600)
	b.Open(srv.URL + "/fits")
	if w := b.PageWidth(); w.ScrollsSideways() || w.Client != 320 {
		t.Errorf("a page that reflows measures %+v at 320 pixels", w)
	}
	b.Open(srv.URL + "/wide")
	if w := b.PageWidth(); !w.ScrollsSideways() || w.Scroll < 1000 {
		t.Errorf("a page with a 1000 pixel box measures %+v at 320 pixels", w)
	}
	if bs := b.Boxes("#wide"); len(bs) != 1 || bs[0].Right-bs[0].Left != 1000 {
		t.Errorf("the box is drawn at %+v", bs)
	}
	if got := b.ScrollingSideways("body"); len(got) != 1 {
		t.Errorf("the body holding a 1000 pixel box at 320 pixels scrolls: %q", got)
	}
	if got := b.ScrollingSideways("#wide"); len(got) != 0 {
		t.Errorf("the 1000 pixel box holding its own text scrolls: %q", got)
	}
	if bs := b.Boxes("table"); len(bs) != 0 {
		t.Errorf("no table, yet boxes %+v", bs)
	}
	b.SetViewport(1280, 600)
	if w := b.PageWidth(); w.ScrollsSideways() {
		t.Errorf("the 1000 pixel box does not fit 1280 pixels: %+v", w)
	}

	// Words that fit the line move to the next one whole; a column squeezed below
	// its words' width breaks them.
	b.SetViewport(320, 600)
	b.Open(srv.URL + "/words")
	if got := b.BrokenWords("#whole, #anywhere, #hyphen"); len(got) != 0 {
		t.Errorf("words that fit the line are drawn broken: %q", got)
	}
	if got := b.BrokenWords("#squeezed"); len(got) == 0 {
		t.Error("a cell squeezed below its words' width breaks none of them")
	}

	b.SetCookie(srv.URL, "session=alice")
	b.Open(srv.URL + "/cookie")
	if got := b.Title(); got != "Signed in as alice" {
		t.Errorf("with the cookie the page reads %q", got)
	}
}
