// Package mail composes the suite's emails: plain text and HTML bodies from
// templates, with header values checked so nothing a user typed can add a header.
package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"strings"
	texttemplate "text/template"

	"github.com/itss/techcommit/libs/apperr"
)

// Person is a recipient.
type Person struct {
	Name  string
	Email string
}

// Message is one email ready to send.
type Message struct {
	MessageID string
	To        []Person
	Subject   string
	Text      string
	HTML      string
	// ICS, when set, is attached as deadline.ics (ical.ContentTypeOf): the deadline, or
	// its cancellation once it no longer applies; a cancellation of several deadlines
	// is one calendar each (ical.Calendars), each attached apart.
	ICS []byte
}

// Content is what a template renders.
type Content struct {
	Greeting   string
	Paragraphs []string
	Action     string // a URL to act on, if any
	Footer     string
	// Contact is ITSS's address for people to write to (NOTIFY_CONTACT_EMAIL): the
	// foot of every email gives it, and the HTML part links it (mailto:) wherever
	// the text holds it. Privacy is the portal's privacy notice, which the foot
	// links to. Both come from the configuration when the email is composed; they
	// are not kept with the delivery.
	Contact, Privacy string
	// Names are the names of people and organisations that the greeting and the
	// paragraphs hold. The HTML part isolates each (bdi), as the portal's pages do,
	// so that a name in a right-to-left script keeps its own order among the English
	// words around it; the plain text part shows them as they are.
	Names []string
}

// Mentioned is names without those the paragraphs do not hold, the empty and the
// repeated, in their order.
func Mentioned(names, paragraphs []string) []string {
	var out []string
	for _, n := range names {
		if n == "" || slices.Contains(out, n) {
			continue
		}
		if slices.ContainsFunc(paragraphs, func(p string) bool { return strings.Contains(p, n) }) {
			out = append(out, n)
		}
	}
	return out
}

var textTmpl = texttemplate.Must(texttemplate.New("text").Parse(`{{.Greeting}}
{{range .Paragraphs}}
{{.}}
{{end}}{{if .Action}}
{{.Action}}
{{end}}
--
{{.Footer}}{{if .Contact}}
To contact ITSS, email {{.Contact}}.{{end}}{{if .Privacy}}
How ITSS holds and uses your details, and your rights: {{.Privacy}}{{end}}
`))

// htmlTmpl shows each paragraph as the text part does: one a person wrote (a
// panel's feedback, ITSS's reason for returning a review) may hold paragraphs and
// lines of its own, which are kept as paragraphs and line breaks, not run together.
// It says its language (English, left to right) on the document and again on the
// element that holds the text, which mail readers that drop the html and body
// elements (Gmail) keep, so that a screen reader speaks it as English; its title is
// the subject.
var htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Funcs(htmltemplate.FuncMap{"blocks": blocks, "isolated": isolated, "linked": linked}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body><div lang="en" dir="ltr" style="font-family: sans-serif; max-width: 40em">
<p>{{isolated .Greeting $.Names}}</p>
{{range .Paragraphs}}{{range blocks .}}<p>{{range $i, $line := .}}{{if $i}}<br>
{{end}}{{linked $line $.Names $.Contact}}{{end}}</p>
{{end}}{{end}}{{if .Action}}<p><a href="{{.Action}}">{{.Action}}</a></p>
{{end}}<hr><p style="color:#555; font-size: 90%">{{.Footer}}{{if .Contact}}<br>
To contact ITSS, email <a href="mailto:{{.Contact}}">{{.Contact}}</a>.{{end}}{{if .Privacy}}<br>
<a href="{{.Privacy}}">How ITSS holds and uses your details, and your rights</a>{{end}}</p>
</div></body></html>
`))

// blocks splits a paragraph into the paragraphs and lines it holds (a blank line
// ends a paragraph), without the blank ones.
func blocks(p string) [][]string {
	var out [][]string
	for _, para := range strings.Split(strings.ReplaceAll(p, "\r\n", "\n"), "\n\n") {
		var lines []string
		for _, l := range strings.Split(para, "\n") {
			if l = strings.TrimRight(l, " \t"); l != "" {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			out = append(out, lines)
		}
	}
	return out
}

// isolated is s as HTML, each of names in it in a bdi of its own. Where two names
// start at one place, the longer is taken ("Ann Lee" rather than "Ann").
func isolated(s string, names []string) htmltemplate.HTML {
	var b strings.Builder
	for s != "" {
		at, name := -1, ""
		for _, n := range names {
			if n == "" {
				continue
			}
			if i := strings.Index(s, n); i >= 0 && (at < 0 || i < at || i == at && len(n) > len(name)) {
				at, name = i, n
			}
		}
		if at < 0 {
			b.WriteString(htmltemplate.HTMLEscapeString(s))
			break
		}
		b.WriteString(htmltemplate.HTMLEscapeString(s[:at]))
		b.WriteString("<bdi>" + htmltemplate.HTMLEscapeString(name) + "</bdi>")
		s = s[at+len(name):]
	}
	return htmltemplate.HTML(b.String()) // #nosec G203 -- every part of s is escaped above
}

// linked is isolated(s, names) with each occurrence of contact, ITSS's address, a
// mailto: link to it.
func linked(s string, names []string, contact string) htmltemplate.HTML {
	if contact == "" {
		return isolated(s, names)
	}
	parts := strings.Split(s, contact)
	var b strings.Builder
	for i, part := range parts {
		if i > 0 {
			a := htmltemplate.HTMLEscapeString(contact)
			b.WriteString(`<a href="mailto:` + a + `">` + a + `</a>`)
		}
		b.WriteString(string(isolated(part, names)))
	}
	return htmltemplate.HTML(b.String()) // #nosec G203 -- every part of s, and the address, is escaped above
}

// Render fills the text and HTML bodies of m from c.
func Render(m *Message, c Content) error {
	if c.Footer == "" {
		c.Footer = "The Technician Commitment, run by the Institute for Technical Skills and Strategy."
	}
	var t, h bytes.Buffer
	if err := textTmpl.Execute(&t, c); err != nil {
		return fmt.Errorf("render text: %w", err)
	}
	if err := htmlTmpl.Execute(&h, struct {
		Content
		Subject string
	}{c, m.Subject}); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	m.Text, m.HTML = t.String(), h.String()
	return nil
}

// CheckHeaders refuses a message whose header values could inject headers.
func CheckHeaders(m Message) error {
	values := []string{m.MessageID, m.Subject}
	for _, p := range m.To {
		values = append(values, p.Name, p.Email)
	}
	for _, v := range values {
		if strings.ContainsAny(v, "\r\n\x00") {
			return apperr.New(apperr.Invalid, "a header value holds a line break: %q", v)
		}
	}
	if len(m.To) == 0 {
		return apperr.New(apperr.Invalid, "no recipient")
	}
	return nil
}
