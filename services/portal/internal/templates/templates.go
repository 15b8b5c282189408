// Package templates renders the portal's pages: html/template files embedded in the
// binary, each page filling the one layout's "content".
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
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

// Person is the little the layout shows of who is signed in.
type Person struct{ Name string }

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

// New parses every page.
func New() (*Renderer, error) {
	names, err := fs.Glob(files, "*.html")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, name := range names {
		if name == "layout.html" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "layout.html", "*.partial", name)
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
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}
