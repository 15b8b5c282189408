// Package form decodes and checks the portal's forms, apart from the handlers, so
// that what a person typed and what is wrong with it are plain values.
package form

import (
	"net/mail"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/portal/internal/templates"
)

// Errors are a form's problems, one per field, in the order of the fields.
type Errors []templates.FieldError

func (e *Errors) add(field, msg string) {
	*e = append(*e, templates.FieldError{Field: field, Message: msg})
}

// Signin is the sign-in form: one email address.
type Signin struct {
	Email string
}

// ParseSignin reads the sign-in form. Its messages follow the GOV.UK pattern for an
// email address.
func ParseSignin(v url.Values) (Signin, Errors) {
	f := Signin{Email: strings.TrimSpace(v.Get("email"))}
	var errs Errors
	switch a, err := mail.ParseAddress(f.Email); {
	case f.Email == "":
		errs.add("email", "Enter your email address")
	case len(f.Email) > 254 || err != nil || a.Address != f.Email || !strings.Contains(f.Email[strings.LastIndex(f.Email, "@")+1:], "."):
		errs.add("email", "Enter an email address in the correct format, like name@example.ac.uk")
	}
	return f, errs
}

// Directory is the directory's search, and which page of it.
type Directory struct {
	Name string
	Kind string
	// Cursor is where the page starts: the signatory service's cursor, from the
	// previous page's link.
	Cursor string
}

// ParseDirectory reads the directory's search. A cursor that is not one a service
// could have made is refused under "cursor": nobody types it, it came with a link.
func ParseDirectory(v url.Values) (Directory, Errors) {
	f := Directory{Name: strings.TrimSpace(v.Get("name")), Kind: v.Get("kind"), Cursor: v.Get("cursor")}
	var errs Errors
	if !cursorShape(f.Cursor) {
		errs.add("cursor", "This page of the directory does not exist")
		f.Cursor = ""
	}
	switch {
	case utf8.RuneCountInString(f.Name) > 200:
		errs.add("name", "Name must be 200 characters or fewer")
	case f.Name != "" && httpserver.CheckLine(f.Name) != nil:
		errs.add("name", "Name must be text on one line, without control characters")
	}
	switch f.Kind {
	case "", "signatory", "supporter":
	default:
		errs.add("kind", "Select signatory, supporter or any")
		f.Kind = ""
	}
	return f, errs
}

// Respond is a reviewer's answer to an assignment.
type Respond struct {
	Accept bool
	Reason string
}

// ParseRespond reads an accept or decline.
func ParseRespond(v url.Values) (Respond, Errors) {
	f := Respond{Accept: v.Get("accept") == "true", Reason: strings.TrimSpace(v.Get("reason"))}
	var errs Errors
	if !f.Accept && f.Reason == "" {
		errs.add("reason", "Enter why you are declining")
	}
	if utf8.RuneCountInString(f.Reason) > 2000 {
		errs.add("reason", "Reason must be 2000 characters or fewer")
	}
	return f, errs
}

// cursorShape reports whether s could be a cursor the services make
// (store.EncodeCursor: unpadded base64url of a small JSON position), or is empty.
func cursorShape(s string) bool {
	if len(s) > 1000 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
