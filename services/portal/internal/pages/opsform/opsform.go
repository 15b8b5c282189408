// Package opsform decodes and checks the operations console's forms, apart from
// the handlers: each form is a list of field specifications named as the service's
// API names its fields, so that the service's own field errors land beside them.
package opsform

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/money"
	"github.com/itss/techcommit/services/portal/internal/templates"
)

// The kinds of value a console form's field holds, and how each is sent to a
// service.
const (
	Text     = "text"       // a line, sent as a string
	Email    = "email"      // an address, sent as a string (the service checks it)
	URL      = "url"        // a web address, sent as a string
	Area     = "textarea"   // paragraphs, sent as a string
	Date     = "date"       // a day, YYYY-MM-DD
	Moment   = "moment"     // a time on the London clock, YYYY-MM-DD HH:MM (BST or GMT after it when the clocks go back), sent as RFC 3339
	Money    = "money"      // pounds typed, sent as whole pence
	Choice   = "select"     // one of Options
	Multiple = "checkboxes" // any of Options, sent as a list
	Number   = "number"     // a whole number, sent as one
	Lines    = "lines"      // identifiers, one a line (or comma-separated), sent as a list
	Flag     = "flag"       // one checkbox, sent as true or false
)

// Errors are a form's problems, one per field, in the order of the fields.
type Errors []templates.FieldError

func (e *Errors) add(field, msg string) {
	*e = append(*e, templates.FieldError{Field: field, Message: msg})
}

// Spec is one field of a console form: its name in the form, its name in the
// service's API (a dotted path; the form's name when empty) and how it is read.
type Spec struct {
	Name, API, Label, Hint, Type string
	Required                     bool
	Options                      []templates.OpsOption
	// Max is the most characters a text may have (0: the service's limit alone).
	Max int
	// Pattern, when set, is what a Text (or each of Lines) must match, as the
	// service's API holds it; Expect says it in words, after "must be": "two capital
	// letters, like GB".
	Pattern *regexp.Regexp
	Expect  string
	// Least and Most bound a Number (both 0: 0 to a million).
	Least, Most int
	// NotFuture refuses a Date after today in London, as the service does.
	NotFuture bool
	// Opposite sends a Flag as its opposite (ticked, false): a field worded as the
	// exception, where the API names the rule, so that a form sent without it asks
	// for what the API does when it is left out.
	Opposite bool
}

func (s Spec) api() string {
	if s.API != "" {
		return s.API
	}
	return s.Name
}

// Specs is a console form.
type Specs []Spec

// Values is what was typed, by field name (a list for Multiple).
type Values map[string][]string

var dayPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// Parse reads a console form: what was typed (to show again), the request body for
// the service (nested by the API's dotted names; empty optional fields left out),
// and the problems the portal can see without asking the service. The service
// judges the rest, and its field errors are mapped back with Rename.
func (ss Specs) Parse(v url.Values, london *time.Location) (Values, map[string]any, Errors) {
	typed := Values{}
	body := map[string]any{}
	var errs Errors
	for _, s := range ss {
		if s.Type == Flag {
			on := v.Get(s.Name) == "true"
			typed[s.Name] = []string{strconv.FormatBool(on)}
			put(body, strings.Split(s.api(), "."), on != s.Opposite)
			continue
		}
		vals := v[s.Name]
		if s.Type != Multiple {
			one := v.Get(s.Name)
			if s.Type == Area {
				// The browser sends a text area's line ends as CR LF and counts each
				// as one character against its maxlength: so does this.
				one = strings.ReplaceAll(one, "\r\n", "\n")
			}
			vals = []string{strings.TrimSpace(one)}
		}
		typed[s.Name] = vals
		if len(vals) == 0 || (len(vals) == 1 && vals[0] == "") {
			if s.Required {
				errs.add(s.Name, requiredMessage(s))
			}
			continue
		}
		val := vals[0]
		if s.Max > 0 && utf8.RuneCountInString(val) > s.Max {
			errs.add(s.Name, fmt.Sprintf("%s must be %d characters or fewer", s.Label, s.Max))
			continue
		}
		if problem := s.check(val); problem != "" {
			errs.add(s.Name, s.Label+" "+problem)
			continue
		}
		var out any = val
		switch s.Type {
		case URL:
			// Sent as the services keep it, scheme and host in lower case: an address
			// pasted as "Https://..." is the same address (RFC 3986).
			out = httpserver.NormaliseWebAddress(val)
		case Date:
			day, err := time.Parse(time.DateOnly, val)
			if err != nil || !dayPattern.MatchString(val) {
				errs.add(s.Name, s.Label+" must be a real date")
				continue
			}
			if day.Year() < civil.FirstYear || day.Year() > civil.LastYear {
				errs.add(s.Name, fmt.Sprintf("%s must be a date from %d to %d", s.Label, civil.FirstYear, civil.LastYear))
				continue
			}
			if today := time.Now().In(london).Format(time.DateOnly); s.NotFuture && val > today {
				errs.add(s.Name, s.Label+" must be today or earlier, not a day to come")
				continue
			}
		case Moment:
			t, problem := moment(val, london)
			if problem == errNotAMoment {
				problem = s.Label + " must be a real date and time"
			}
			if problem != "" {
				errs.add(s.Name, problem)
				continue
			}
			out = t.UTC().Format(time.RFC3339)
		case Money:
			p, ok := pence(val)
			if !ok {
				errs.add(s.Name, s.Label+" must be an amount in pounds, like 750 or 750.50")
				continue
			}
			out = p
		case Number:
			least, most := s.Least, s.Most
			if least == 0 && most == 0 {
				most = 1_000_000
			}
			n, err := strconv.Atoi(val)
			if err != nil || n < least || n > most {
				errs.add(s.Name, fmt.Sprintf("%s must be a whole number from %d to %d", s.Label, least, most))
				continue
			}
			out = n
		case Lines:
			list := []string{}
			for _, f := range strings.FieldsFunc(val, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
				if f = strings.TrimSpace(f); f != "" {
					list = append(list, f)
				}
			}
			if i := slices.IndexFunc(list, func(f string) bool { return s.Pattern != nil && !s.Pattern.MatchString(f) }); i >= 0 {
				errs.add(s.Name, fmt.Sprintf("%s must be %s: “%s” is not", s.Label, s.Expect, list[i]))
				continue
			}
			out = list
		case Choice:
			if !slices.ContainsFunc(s.Options, func(o templates.OpsOption) bool { return o.Value == val }) {
				errs.add(s.Name, "Select "+strings.ToLower(s.Label))
				continue
			}
		case Multiple:
			offered := func(x string) bool {
				return slices.ContainsFunc(s.Options, func(o templates.OpsOption) bool { return o.Value == x })
			}
			if !allOf(vals, offered) {
				errs.add(s.Name, "Select "+strings.ToLower(s.Label)+" from the list")
				continue
			}
			out = vals
		}
		put(body, strings.Split(s.api(), "."), out)
	}
	return typed, body, errs
}

// check says, after the field's label, why a value typed in it is not one the
// service takes, or returns "": the service's own rules for a line of text, an
// address and a web address, and the field's pattern. The portal tells these with
// its own problems, so that a form's every problem is told at once, where the
// service was asked only once the portal's were put right.
func (s Spec) check(val string) string {
	var err error
	switch s.Type {
	case Text:
		if s.Pattern != nil && !s.Pattern.MatchString(val) {
			return "must be " + s.Expect
		}
		err = httpserver.CheckLine(val)
	case Area:
		err = httpserver.CheckText(val)
	case Email:
		err = httpserver.CheckEmail(val)
	case URL:
		err = httpserver.CheckWebAddress(val)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func requiredMessage(s Spec) string {
	switch s.Type {
	case Choice, Multiple:
		return "Select " + strings.ToLower(s.Label)
	}
	return "Enter " + strings.ToLower(s.Label[:1]) + s.Label[1:]
}

// put sets a value at a dotted path of nested maps.
func put(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// poundsPattern is an amount in pounds as people type one: digits, perhaps with
// commas between thousands (1,500 as the console shows it), and perhaps pence after
// a point. A comma anywhere else is refused rather than dropped: "2500,00" (a
// decimal comma) read as 250000 pounds, and "1,5" as 15.
var poundsPattern = regexp.MustCompile(`^£?(\d{1,3}(,\d{3})*|\d+)(\.\d{1,2})?$`)

// PoundsTyped is an amount in pence as a money field is filled in: pounds as the
// console shows them (£1,250.50), without the pound sign, which pence reads back.
func PoundsTyped(p int64) string { return strings.TrimPrefix(money.Pounds(p), "£") }

// pence reads pounds as typed ("750", "£1,250.50") into whole pence.
func pence(s string) (int64, bool) {
	if !poundsPattern.MatchString(s) {
		return 0, false
	}
	s = strings.ReplaceAll(strings.TrimPrefix(s, "£"), ",", "")
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || (hasFrac && (len(frac) == 0 || len(frac) > 2)) {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || w > 1_000_000_000 {
		return 0, false
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return w*100 + f, true
}

// Rename maps a service's field name (a dotted path, perhaps with an index) to the
// form's field, so its message is shown beside the field it is about. A name no
// field claims is left as it is (it goes to the error summary).
func (ss Specs) Rename(apiField string) string {
	for _, s := range ss {
		if apiField == s.api() || strings.HasPrefix(apiField, s.api()+".") || strings.HasPrefix(apiField, s.api()+"[") {
			return s.Name
		}
	}
	return apiField
}

// Named makes a service's messages about the form's fields ("must be in the
// future") sentences that name their field ("Reviews due by must be in the
// future"), as the form's own are: the error summary lists them apart from the
// fields.
func (ss Specs) Named(errs []templates.FieldError) []templates.FieldError {
	for i, e := range errs {
		j := slices.IndexFunc(ss, func(s Spec) bool { return s.Name == e.Field })
		if j < 0 || e.Message == "" || strings.HasPrefix(e.Message, ss[j].Label+" ") {
			continue
		}
		msg := e.Message
		if ownSubject(msg) {
			if r, size := utf8.DecodeRuneInString(msg); unicode.IsLower(r) {
				errs[i].Message = string(unicode.ToUpper(r)) + msg[size:]
			}
			continue
		}
		if r, size := utf8.DecodeRuneInString(msg); size < len(msg) && unicode.IsUpper(r) && !unicode.IsUpper(rune(msg[size])) && !calendarName(msg) {
			msg = string(unicode.ToLower(r)) + msg[size:]
		}
		errs[i].Message = ss[j].Label + " " + msg
	}
	return errs
}

// ownSubject reports whether a message is a sentence with a subject of its own ("the
// round's awards hold £450 of its budget", "There is ..."), which a label before it
// would garble, rather than what the value must be ("must be in the future"), which
// reads as a sentence with the label for its subject.
func ownSubject(msg string) bool {
	first, _, _ := strings.Cut(msg, " ")
	switch strings.ToLower(first) {
	case "the", "this", "that", "these", "those", "its", "it", "there", "a", "an", "another", "each", "every", "no", "you", "your", "someone", "nothing":
		return true
	}
	return false
}

// calendarName reports whether a message starts with the name of a day or a month
// (a date in words, as the services write one), which keeps its capital.
func calendarName(msg string) bool {
	first, _, _ := strings.Cut(msg, " ")
	for d := time.Sunday; d <= time.Saturday; d++ {
		if first == d.String() {
			return true
		}
	}
	for m := time.January; m <= time.December; m++ {
		if first == m.String() {
			return true
		}
	}
	return false
}

// Has reports whether the form has a field of this name.
func (ss Specs) Has(name string) bool {
	return slices.ContainsFunc(ss, func(s Spec) bool { return s.Name == name })
}

// Fields are the form's controls for a page, with what was typed and the problems.
func (ss Specs) Fields(typed Values, errs []templates.FieldError) []templates.OpsField {
	out := make([]templates.OpsField, 0, len(ss))
	for _, s := range ss {
		f := templates.OpsField{Name: s.Name, Label: s.Label, Hint: s.Hint, Type: s.Type}
		vals := typed[s.Name]
		if len(vals) > 0 {
			f.Value = vals[0]
		}
		for _, o := range s.Options {
			o.Selected = slices.Contains(vals, o.Value)
			f.Options = append(f.Options, o)
		}
		// Days and times are typed as text in one stated form: a browser's own date
		// controls differ from one browser to the next and are awkward by keyboard.
		switch s.Type {
		case Money, Number:
			f.Type = Text
		case Lines:
			f.Type = Area
		case Date:
			f.Type = Text
			f.Hint = strings.TrimSpace(f.Hint + " For example, 2027-03-01.")
		case Moment:
			f.Type = Text
			f.Hint = strings.TrimSpace(f.Hint + " For example, 2027-03-01 09:00.")
		}
		for _, e := range errs {
			if e.Field == s.Name {
				f.Error = e.Message
				break
			}
		}
		out = append(out, f)
	}
	return out
}

// Opts makes options from value, text pairs.
func Opts(pairs ...string) []templates.OpsOption {
	var out []templates.OpsOption
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, templates.OpsOption{Value: pairs[i], Text: pairs[i+1]})
	}
	return out
}

func allOf(vals []string, ok func(string) bool) bool {
	for _, v := range vals {
		if !ok(v) {
			return false
		}
	}
	return true
}

// Holds reports whether a record, as its form would be filled from it (now), already
// reads as typed: a form sent twice finds its first sending's change in place. Lists
// (themes, identifiers one a line) are compared in any order; anything the service
// may have written another way counts as a difference, so that the answer errs
// towards "someone else changed this".
func (ss Specs) Holds(typed, now Values) bool {
	for _, s := range ss {
		if !slices.Equal(s.comparable(typed[s.Name]), s.comparable(now[s.Name])) {
			return false
		}
	}
	return true
}

// comparable is a field's values as Holds compares them.
func (s Spec) comparable(vals []string) []string {
	var out []string
	switch s.Type {
	case Multiple:
		out = slices.Clone(vals)
	case Lines:
		for _, v := range vals {
			out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })...)
		}
	case Flag:
		on := len(vals) > 0 && vals[0] == "true"
		return []string{strconv.FormatBool(on)}
	case Money:
		if len(vals) > 0 {
			if p, ok := pence(strings.TrimSpace(vals[0])); ok {
				return []string{strconv.FormatInt(p, 10)}
			}
		}
		fallthrough
	default:
		v := ""
		if len(vals) > 0 {
			v = strings.TrimSpace(strings.ReplaceAll(vals[0], "\r\n", "\n"))
		}
		return []string{v}
	}
	out = slices.DeleteFunc(out, func(v string) bool { return v == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// SavedNow tells, beside each field, what a record holds now where it differs from
// what was typed: the form refused because someone changed the record since it was
// filled (412) says what they changed, so that saving it again is a choice made
// knowing what it puts back.
func (ss Specs) SavedNow(typed, now Values) []templates.FieldError {
	var out []templates.FieldError
	for _, s := range ss {
		if slices.Equal(s.comparable(typed[s.Name]), s.comparable(now[s.Name])) {
			continue
		}
		out = append(out, templates.FieldError{Field: s.Name, Message: s.Label + " is saved now " + s.shown(now[s.Name]) + "."})
	}
	return out
}

// shown is a field's saved values in words, after "is saved now".
func (s Spec) shown(vals []string) string {
	vals = slices.DeleteFunc(slices.Clone(vals), func(v string) bool { return strings.TrimSpace(v) == "" })
	switch {
	case s.Type == Flag:
		if len(vals) > 0 && vals[0] == "true" {
			return "ticked"
		}
		return "not ticked"
	case len(vals) == 0:
		return "empty"
	case s.Type == Multiple || s.Type == Choice:
		for i, v := range vals {
			if j := slices.IndexFunc(s.Options, func(o templates.OpsOption) bool { return o.Value == v }); j >= 0 {
				vals[i] = s.Options[j].Text
			}
		}
	case s.Type == Lines:
		vals = s.comparable(vals)
	}
	return "as “" + strings.Join(vals, ", ") + "”"
}
