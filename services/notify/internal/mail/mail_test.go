package mail

import (
	"slices"
	"strings"
	"testing"
)

// A paragraph a person wrote keeps its paragraphs and lines in the HTML part, as in
// the text part: a panel's feedback ran together into one line in most mail clients.
func TestHTMLKeepsTheLinesOfWhatPeopleWrote(t *testing.T) {
	t.Parallel()
	var m Message
	feedback := "The panel's feedback: Strengths:\n- clear plan\n- strong partner\n\nWeaknesses:\n- travel <costs> not justified"
	if err := Render(&m, Content{Greeting: "Dear Dan,", Paragraphs: []string{"Your application was not funded.", feedback}}); err != nil {
		t.Fatal(err)
	}
	want := "<p>The panel&#39;s feedback: Strengths:<br>\n- clear plan<br>\n- strong partner</p>\n<p>Weaknesses:<br>\n- travel &lt;costs&gt; not justified</p>"
	if !strings.Contains(m.HTML, want) {
		t.Errorf("the HTML part:\n%s\nwant it to hold:\n%s", m.HTML, want)
	}
	if !strings.Contains(m.Text, feedback) {
		t.Errorf("the text part lost the feedback as written:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, "<p>Your application was not funded.</p>") {
		t.Errorf("a one-line paragraph is not one paragraph:\n%s", m.HTML)
	}
}

// Each name stands in a bdi of its own, escaped as the text around it, the longer of
// two that start at one place taken whole; a name that is part of an entity the
// escaping writes (a name "amp" in "R&D") is not cut into it.
func TestHTMLIsolatesNames(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		line  string
		names []string
		want  string
	}{
		{`Dear דוד "Dudi" כהן,`, []string{`דוד "Dudi" כהן`}, `Dear <bdi>דוד &#34;Dudi&#34; כהן</bdi>,`},
		{"Ann Lee, not Ann, leads R&D.", []string{"Ann", "Ann Lee", "amp"}, "<bdi>Ann Lee</bdi>, not <bdi>Ann</bdi>, leads R&amp;D."},
		{"No names here.", []string{"", "Zoë"}, "No names here."},
	} {
		if got := string(isolated(c.line, c.names)); got != c.want {
			t.Errorf("isolated(%q, %q) = %q, want %q", c.line, c.names, got, c.want)
		}
	}
}

// The HTML part says its language, on the document and on what holds the text (Gmail
// drops the html and body elements), and carries the subject as its title, so that a
// screen reader speaks it as English whatever the reader's own language (axe-core
// found "html-has-lang" and "document-title" on every email).
func TestHTMLSaysItsLanguageAndTitle(t *testing.T) {
	t.Parallel()
	m := Message{Subject: `Technician Commitment: Zoë's "plan" & co`}
	if err := Render(&m, Content{Greeting: "Dear Zoë,", Paragraphs: []string{"It is due."}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<html lang="en">`, `<meta charset="utf-8">`, `<title>Technician Commitment: Zoë&#39;s &#34;plan&#34; &amp; co</title>`, `<div lang="en" dir="ltr"`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("the HTML part lacks %s:\n%s", want, m.HTML)
		}
	}
}

// Only the names an email's text holds are kept with it: a reviewer's assignment
// email once kept the organisation's lead and head by name, though it never named
// them, in a delivery an erasure of the lead does not reach.
func TestMentionedKeepsOnlyTheNamesTheTextHolds(t *testing.T) {
	got := Mentioned([]string{"Uni X", "Sam Patel", "", "Uni X", "Prof. Jane Smith"}, []string{"Uni X's submission is yours to review.", "Submit by Friday."})
	if want := []string{"Uni X"}; !slices.Equal(got, want) {
		t.Errorf("Mentioned = %q, want %q", got, want)
	}
}

// Every email's foot says how to write to ITSS and where the privacy notice is, in
// the text part as the plain address and in the HTML part as links; an address a
// paragraph gives is a mailto: link in the HTML part too.
func TestEveryEmailSaysHowToContactITSS(t *testing.T) {
	t.Parallel()
	var m Message
	c := Content{Greeting: "Dear Ann,", Paragraphs: []string{"For anything about it, please contact ITSS at tc@itss.example.org."},
		Contact: "tc@itss.example.org", Privacy: "https://portal.example.org/privacy"}
	if err := Render(&m, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"please contact ITSS at tc@itss.example.org.", "\nTo contact ITSS, email tc@itss.example.org.\n",
		"How ITSS holds and uses your details, and your rights: https://portal.example.org/privacy\n"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the text part lacks %q:\n%s", want, m.Text)
		}
	}
	for _, want := range []string{`please contact ITSS at <a href="mailto:tc@itss.example.org">tc@itss.example.org</a>.`,
		`To contact ITSS, email <a href="mailto:tc@itss.example.org">tc@itss.example.org</a>.`,
		`<a href="https://portal.example.org/privacy">How ITSS holds and uses your details, and your rights</a>`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("the HTML part lacks %s:\n%s", want, m.HTML)
		}
	}
}
