package service

import (
	"net/http"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/oidcdev"
	"golang.org/x/net/html"
)

// A list of one said "1 organisations"; counts of one now read in the singular.
func TestOpsCountsOfOneReadInTheSingular(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	page := parse(t, opsMustStatus(t, s.p.do("GET", "/ops/organisations", ops, nil), http.StatusOK, "the organisations").body)
	captions := find(page, func(n *html.Node) bool { return n.Data == "caption" })
	if len(captions) == 0 || strings.TrimSpace(text(captions[0])) != "1 organisation" {
		t.Errorf("the list of one organisation is captioned %q", text(page))
	}
}
