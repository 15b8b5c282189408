package service

import (
	"net/http"
	"strings"
	"testing"
)

// The style sheet is served, and the folder it is in is not listed: /static/ gave a
// page listing every file there (ASVS 5 13.4.3). Both carry the security headers.
func TestStaticFilesAreServedAndNotListed(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	if r := p.do("GET", "/static/portal.css", "", nil); r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("the style sheet = %d %q, want 200 text/css", r.status, r.header.Get("Content-Type"))
	}
	for _, path := range []string{"/static/", "/static/index.html"} {
		r := p.do("GET", path, "", nil)
		if r.status != http.StatusNotFound || strings.Contains(r.body, "portal.css") {
			t.Errorf("GET %s = %d, want 404 naming no file: %s", path, r.status, r.body)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("GET %s without the security headers: %v", path, r.header)
		}
	}
}
