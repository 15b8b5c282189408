package mail

import (
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
