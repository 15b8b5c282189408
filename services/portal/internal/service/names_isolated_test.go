package service

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// A name written right to left (Arabic, which the services take) is set apart from
// the sentence or button it sits in, so that it neither reorders the words around it
// nor is reordered by them: the confirmation of a hand-over holds the new lead's and
// the organisation's names each in an element of its own whose direction is the
// name's own (bdi, or dir="auto").
func TestNamesInSentencesAreIsolated(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	orgName, leadName := "جامعة المثال", "سارة الأحمد"
	org := onboard(t, p, sig, orgName, "lead-i@example.ac.uk")
	cookie := p.signIn("lead-i@example.ac.uk")
	path := "/obligations/" + org + "/contacts"

	form := formIn(t, p.do("GET", path, cookie, nil).body, path)
	form.Set("nominated_lead.name", leadName)
	form.Set("nominated_lead.email", "sara@example.ac.uk")
	r := p.do("POST", path, cookie, form)
	if r.status != http.StatusOK || h1(t, r.body) != "Hand over the nominated lead" {
		t.Fatalf("handing over = %d: %s", r.status, r.body)
	}
	notIsolated(t, "the hand-over's confirmation", r.body, orgName, leadName)
	notIsolated(t, "the lead's account", p.do("GET", "/account", cookie, nil).body, orgName)
	notIsolated(t, "the directory", p.do("GET", "/directory", "", nil).body, orgName)

	r = p.do("POST", path, cookie, formIn(t, r.body, path))
	if r.status != http.StatusOK || h1(t, r.body) != "Your contacts were saved" {
		t.Fatalf("confirming = %d: %s", r.status, r.body)
	}
	notIsolated(t, "the hand-over's message", r.body, orgName, leadName)
}

// notIsolated checks that every text of a page naming one of names holds it in an
// element of its own that isolates its direction (bdi, or dir="auto"), or between
// the Unicode isolate characters where a message is plain text, unless the name is
// all the text of an element other than a button; and that the page names each at
// least once, so that the check tries something.
func notIsolated(t *testing.T, what, body string, names ...string) {
	t.Helper()
	var texts []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode && n.Parent != nil && n.Parent.Data != "title" {
			texts = append(texts, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(parse(t, body))
	for _, name := range names {
		seen := 0
		for _, n := range texts {
			if !strings.Contains(n.Data, name) {
				continue
			}
			seen++
			el := n.Parent
			// The isolating element holds the name alone: "<bdi>X's submission</bdi>"
			// left X and the words after it to reorder each other.
			isolated := (el.Data == "bdi" || attr(el, "dir") == "auto") && strings.TrimSpace(text(el)) == name ||
				strings.Count(n.Data, name) == strings.Count(n.Data, "\u2068"+name+"\u2069")
			alone := el.Data != "button" && text(el) == name
			if !isolated && !alone {
				t.Errorf("%s holds %q in <%s> %q, not isolated from the words around it", what, name, el.Data, text(el))
			}
		}
		if seen == 0 {
			t.Errorf("%s does not name %q, so the test does not try it", what, name)
		}
	}
}
