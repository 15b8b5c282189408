package service

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
)

// The directory showed every organisation on one page, so that the page grew with
// every organisation that joined. It now shows 50 at a time, with a link to the
// next page that keeps the kind asked for, and to the first from the pages after;
// a cursor nobody could have been given is refused with a 400 page.
func TestTheDirectoryIsShownAPageAtATime(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	ops, err := sig.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("signatory"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 52
	for i := range n {
		created := sig.Must(http.StatusCreated, sig.Do("POST", "/v1/organisations", ops, map[string]any{
			"name": fmt.Sprintf("College %02d", i), "kind": "signatory", "sector": "higher_education", "country": "GB", "website": "https://www.example.ac.uk",
			"enquiry_contact": map[string]any{"name": "Sam Patel", "email": fmt.Sprintf("lead%02d@example.ac.uk", i)},
		})).JSON(t)
		id := created["id"].(string)
		for _, s := range []struct {
			path string
			body any
		}{
			{"/meeting", map[string]any{"held_on": "2025-02-01"}},
			{"/form", map[string]any{"signed_on": "2025-02-20",
				"leader":           map[string]any{"name": "Prof. Jane Smith", "title": "Vice-Chancellor", "email": "vc@example.ac.uk"},
				"nominated_lead":   map[string]any{"name": "Sam Patel", "email": fmt.Sprintf("lead%02d@example.ac.uk", i)},
				"point_of_contact": map[string]any{"name": "Technical Services Office", "email": "technicians@example.ac.uk"}}},
			{"/announcement", map[string]any{"announced_on": "2025-03-20"}},
		} {
			sig.Must(http.StatusOK, sig.Do("POST", "/v1/organisations/"+id+s.path, ops, s.body))
		}
	}
	rows := firstCells
	var first *html.Node
	// The directory is the signatory service's projection, which may lag its events:
	// wait until it lists all of them (both pages full) before looking at the pages.
	testenv.Eventually(t, 20*time.Second, func() error {
		r := p.do("GET", "/directory?kind=signatory", "", nil)
		first = parse(t, r.body)
		if got := rows(first); r.status != http.StatusOK || len(got) != 50 || linkLabelled(first, "Next page of organisations") == "" {
			return fmt.Errorf("the first page = %d with %d organisations", r.status, len(got))
		}
		if r := p.do("GET", linkLabelled(first, "Next page of organisations"), "", nil); len(rows(parse(t, r.body))) < n-50 {
			return fmt.Errorf("the second page = %d with %d organisations", r.status, len(rows(parse(t, r.body))))
		}
		return nil
	})
	if linkLabelled(first, "First page") != "" {
		t.Errorf("the first page links to itself")
	}
	next := linkLabelled(first, "Next page of organisations")
	if !strings.HasPrefix(next, "/directory?") || !strings.Contains(next, "kind=signatory") || !strings.Contains(next, "cursor=") {
		t.Fatalf("the next page's link is %q", next)
	}
	r := p.do("GET", next, "", nil)
	second := parse(t, r.body)
	seen := map[string]bool{}
	for _, name := range append(rows(first), rows(second)...) {
		seen[name] = true
	}
	if r.status != http.StatusOK || len(rows(second)) != n-50 || len(seen) != n {
		t.Errorf("the second page = %d with %v; %d organisations over both pages, want %d", r.status, rows(second), len(seen), n)
	}
	if l := linkLabelled(second, "Next page of organisations"); l != "" {
		t.Errorf("the last page links to another: %q", l)
	}
	if l := linkLabelled(second, "First page"); l != "/directory?kind=signatory" {
		t.Errorf("the second page's link to the first is %q", l)
	}
	// A search by name is the signatory service's, a page at a time (the portal read
	// every page of the directory and searched them itself); its links keep the name.
	if got := rows(parse(t, p.do("GET", "/directory?name=college+5", "", nil).body)); len(got) != 2 {
		t.Errorf("a search for college 5 found %v", got)
	}
	searched := parse(t, p.do("GET", "/directory?name=COLLEGE", "", nil).body)
	more := linkLabelled(searched, "Next page of organisations")
	if got := rows(searched); len(got) != 50 || !strings.Contains(more, "name=COLLEGE") {
		t.Errorf("a search for COLLEGE: %d organisations, next page %q", len(got), more)
	} else if got := rows(parse(t, p.do("GET", more, "", nil).body)); len(got) != n-50 {
		t.Errorf("the second page of the search for COLLEGE: %v", got)
	}
	if r := p.do("GET", "/directory?name=college%0A5", "", nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "one line") {
		t.Errorf("a search with a line break = %d", r.status)
	}
	for _, bad := range []string{"not a cursor!", strings.Repeat("A", 1001)} {
		if r := p.do("GET", "/directory?cursor="+strings.ReplaceAll(bad, " ", "+"), "", nil); r.status != http.StatusBadRequest {
			t.Errorf("a made-up cursor = %d, want 400", r.status)
		}
	}
}
