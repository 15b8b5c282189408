package service

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/oidcdev"
)

// An obligation whose window has not opened reads as when it opens on the console as
// on the lead's page. Signatory calls it open (not met, not overdue): the console
// showed "517 days left" tagged open, a deadline running now, for an organisation
// announced a month ago, where its lead read "Window opens ...".
func TestAnObligationNotYetOpenReadsAlikeToItsLeadAndTheConsole(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	const lead = "lead@windowton.ac.uk"
	org := onboardOn(t, s.p, s.sig, "University of Windowton", lead, time.Now().AddDate(0, -1, 0))

	statuses := func(body string) []string {
		var out []string
		for _, tag := range find(parse(t, body), func(n *html.Node) bool { return strings.HasPrefix(attr(n, "class"), "tag tag-") }) {
			out = append(out, attr(tag, "class")+": "+text(tag))
		}
		return out
	}
	leads := statuses(s.p.do("GET", "/obligations/"+org, s.p.signIn(lead), nil).body)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	console := statuses(opsMustStatus(t, s.p.do("GET", "/ops/organisations/"+org, ops, nil), http.StatusOK, "the organisation's page").body)

	if len(leads) == 0 || !strings.HasPrefix(leads[0], "tag tag-upcoming: Window opens ") {
		t.Fatalf("the lead's page shows %q, want the first obligation's window to open later", leads)
	}
	if strings.Join(console, "|") != strings.Join(leads, "|") {
		t.Errorf("the console shows the obligations as %q, the lead's page as %q", console, leads)
	}
	for _, st := range console {
		if strings.Contains(st, "days left") {
			t.Errorf("the console counts down to an obligation whose window has not opened: %q", st)
		}
	}
}
