// Package templates renders the portal's pages: html/template files embedded in the
// binary, each page filling the one layout's "content".
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

//go:embed *.html *.partial
var files embed.FS

// FieldError is one message beside the field it names (and in the summary above).
type FieldError struct {
	Field   string
	Message string
}

// Page is what every page gets: its title, the person signed in (if any), the
// problems to show, and its own data.
type Page struct {
	// Title is the document's title; Heading the page's own heading where a page
	// takes it from the title (the title may add whose page it is).
	Title, Heading string
	Person         *Person
	Errors         []FieldError
	// Refused says the page refuses what was sent with a message of its own rather
	// than Errors (a save over someone else's): its title starts "Error:" as well.
	Refused bool
	Data    any
}

// Person is the little the layout shows of who is signed in, and of their sign-in.
type Person struct {
	Name string
	// Session is when the sign-in ends, for the notice at the top of each page.
	Session *Session
}

// Session is what the layout says of a sign-in's end (WCAG 2.2.1): when it comes,
// and, while a use can still put it off, how, with the "Stay signed in" button
// that leads back to Page.
type Session struct {
	// Ends is when the sign-in ends unless it is used again; Renewed how long each
	// use keeps it, and Latest how long after the sign-in it lasts at most, in words.
	Ends, Renewed, Latest string
	// Renewable says a use still puts the end off; Page, when set, is the page the
	// button leads back to (a page shown for a form sent has none: the button would
	// lose what the form holds).
	Renewable bool
	Page      string
	// SignIn is where the person signs in again once the sign-in cannot be made
	// longer: a new sign-in, in a new tab, keeps the page they are on.
	SignIn string
}

// Renderer holds every page parsed with the layout.
type Renderer struct {
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	// fieldID is the id of a field's input, which the error summary links to.
	"fieldID": func(field string) string {
		return "field-" + strings.NewReplacer(".", "-", "[", "-", "]", "").Replace(field)
	},
	// count is a number and what it counts, in the singular for one: "1 organisation",
	// "2 organisations".
	"count": func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + many
	},
	// fieldError is the message for field, if there is one.
	"fieldError": func(errs []FieldError, field string) string {
		for _, e := range errs {
			if e.Field == field {
				return e.Message
			}
		}
		return ""
	},
}

// New parses every page. contact is ITSS's address for people to write to
// (PORTAL_CONTACT_EMAIL), which every page's footer gives and the pages that ask
// people to contact ITSS name: templates call {{contact}} for it.
//
// A renderer is never changed once made, so one is made for each address: tests start
// hundreds of portals in one process, and parsing every page took each a fiftieth of
// a second.
func New(contact string) (*Renderer, error) {
	if contact == "" {
		return nil, errors.New("templates: ITSS's contact address is required: every page gives it")
	}
	parsedMu.Lock()
	defer parsedMu.Unlock()
	if r, ok := parsed[contact]; ok {
		return r, nil
	}
	r, err := parse(contact)
	if err != nil {
		return nil, err
	}
	parsed[contact] = r
	return r, nil
}

var (
	parsedMu sync.Mutex
	parsed   = map[string]*Renderer{}
)

func parse(contact string) (*Renderer, error) {
	names, err := fs.Glob(files, "*.html")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	fm := maps.Clone(funcs)
	fm["contact"] = func() string { return contact }
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, name := range names {
		if name == "layout.html" {
			continue
		}
		t, err := template.New(name).Funcs(fm).ParseFS(files, "layout.html", "*.partial", name)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		r.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return r, nil
}

// Render writes page name with status. It renders into a buffer first, so that a
// template failure is a clean 500 and never half a page.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, p Page) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("render: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	if s := p.Person.session(); s != nil && s.Page != "" && typing(buf.Bytes()) {
		// "Stay signed in" opens the page again, losing what its fields hold: a
		// page with a field to type in or choose from says how to stay signed in
		// (send its form, open any page), without the button.
		again := *p.Person
		sess := *s
		sess.Page, again.Session = "", &sess
		p.Person = &again
		buf.Reset()
		if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

func (p *Person) session() *Session {
	if p == nil {
		return nil
	}
	return p.Session
}

var (
	fieldTag  = regexp.MustCompile(`(?i)<(textarea|select)\b|<input\b[^>]*>`)
	inputType = regexp.MustCompile(`(?i)\btype="?([a-z]+)`)
)

// typing says a rendered page holds a field a person types in or chooses from (not
// a hidden one, nor a button).
func typing(page []byte) bool {
	for _, tag := range fieldTag.FindAll(page, -1) {
		if !bytes.HasPrefix(bytes.ToLower(tag), []byte("<input")) {
			return true
		}
		m := inputType.FindSubmatch(tag)
		if m == nil {
			return true // text, by default
		}
		switch strings.ToLower(string(m[1])) {
		case "hidden", "submit", "button", "image", "reset":
		default:
			return true
		}
	}
	return false
}
