package httpserver

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
)

// describe says in words what a field must be, for a person reading the refusal
// (often through the portal, which shows it beside the field): never a regular
// expression or the validator's internal vocabulary. It uses, in order, the
// schema's own words (its description, or title), the suite's formats' messages,
// and the schema's constraints.
func describe(se *openapi3.SchemaError) string {
	s := se.Schema
	if s == nil {
		return se.Reason
	}
	switch se.SchemaField {
	case "format":
		// The suite's formats (email, line, text) already say what is wrong in words.
		var origin error = se.Origin
		for origin != nil {
			if u := errors.Unwrap(origin); u != nil {
				origin = u
				continue
			}
			break
		}
		if msg, ok := formatWords[s.Format]; ok {
			return msg
		}
		if origin != nil {
			return origin.Error()
		}
		return "must be " + s.Format
	case "pattern":
		if w := ownWords(s); w != "" {
			return "must be " + w
		}
		if w := patternWords(s.Pattern); w != "" {
			return w
		}
		return "is not in the form this field takes"
	case "enum":
		vals := make([]string, 0, len(s.Enum))
		for _, v := range s.Enum {
			vals = append(vals, fmt.Sprintf("%v", v))
		}
		return "must be one of: " + strings.Join(vals, ", ")
	case "type":
		if s.Type != nil && len(*s.Type) == 1 {
			return "must be " + typeWords[(*s.Type)[0]]
		}
	case "minLength":
		if s.MinLength == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long", s.MinLength)
	case "maxLength":
		if s.MaxLength != nil {
			return fmt.Sprintf("must be at most %d characters long", *s.MaxLength)
		}
	case "minimum":
		if s.Min != nil {
			return "must be at least " + bound(*s.Min, se)
		}
	case "maximum":
		if s.Max != nil {
			return "must be at most " + bound(*s.Max, se)
		}
	case "minItems":
		if s.MinItems == 1 {
			return "must list at least one item"
		}
		return fmt.Sprintf("must list at least %d items", s.MinItems)
	case "maxItems":
		if s.MaxItems != nil {
			return fmt.Sprintf("must list at most %d items", *s.MaxItems)
		}
	case "required":
		return "is required"
	case "additionalProperties":
		return "is not a field of this request"
	case "nullable":
		return "must not be null"
	}
	if strings.HasPrefix(se.Reason, "property ") && strings.HasSuffix(se.Reason, " is missing") {
		return "is required"
	}
	if strings.HasPrefix(se.Reason, "property ") && strings.HasSuffix(se.Reason, " is unsupported") {
		return "is not a field of this request"
	}
	return se.Reason
}

// bound is a minimum or maximum as a person writes it: in digits, never in exponent
// notation (100000000, not 1e+08), and for an amount of money with its unit. The
// suite names every amount of money <something>_pence (docs/API.md), and the unit
// lets the portal say the bound in pounds beside a field typed in pounds.
func bound(v float64, se *openapi3.SchemaError) string {
	n := strconv.FormatFloat(v, 'f', -1, 64)
	if path := se.JSONPointer(); len(path) > 0 && strings.HasSuffix(path[len(path)-1], "_pence") {
		n += " pence"
	}
	return n
}

// formatWords says what a value of each standard format looks like. The suite's own
// formats (email, line, text) are described by their checks (formats.go), which say
// which rule the value broke.
var formatWords = map[string]string{
	"date":      "must be a date from 1900 to 2999, as YYYY-MM-DD, such as 2026-12-04",
	"date-time": "must be a date and time from 1900 to 2999, as YYYY-MM-DDThh:mm:ssZ (RFC 3339), such as 2026-12-04T17:00:00Z",
	"uuid":      "must be a UUID, such as 123e4567-e89b-12d3-a456-426614174000",
	"uri":       "must be a web address, such as https://www.example.ac.uk/technicians",
	"url":       "must be a web address, such as https://www.example.ac.uk/technicians",
	"int32":     "must be a whole number",
	"int64":     "must be a whole number",
}

var typeWords = map[string]string{
	"string":  "text (a JSON string)",
	"integer": "a whole number",
	"number":  "a number",
	"boolean": "true or false",
	"array":   "a list (a JSON array)",
	"object":  "an object",
}

// ownWords is the schema's own account of what it holds, when it gives one short
// enough to fit a message.
func ownWords(s *openapi3.Schema) string {
	for _, w := range []string{s.Description, s.Title} {
		w = strings.TrimSpace(w)
		if w != "" && !strings.ContainsAny(w, "\n") && len(w) <= 120 {
			w = strings.TrimSuffix(w, ".")
			// "Starting https://" reads "must be starting https://"; an acronym
			// ("ISO 3166-1 alpha-2") keeps its capitals.
			if len(w) > 1 && unicode.IsUpper(rune(w[1])) {
				return w
			}
			return strings.ToLower(w[:1]) + w[1:]
		}
	}
	return ""
}

// simplePattern is a pattern of one character class, repeated: ^[...]+$ or
// ^[...]{m,n}$, which is how the documents write identifiers and tokens.
var simplePattern = regexp.MustCompile(`^\^\[([^\]]+)\](\+|\*|\{(\d+)(?:,(\d*))?\})\$$`)

// patternWords describes a simple pattern by what its class allows and how many
// characters it takes, or returns "".
func patternWords(p string) string {
	m := simplePattern.FindStringSubmatch(p)
	if m == nil {
		return ""
	}
	class, count := m[1], ""
	switch {
	case m[3] != "" && m[4] == "" && !strings.Contains(m[2], ","):
		count = " (exactly " + m[3] + " characters)"
	case m[3] != "" && m[4] != "":
		count = " (" + m[3] + " to " + m[4] + " characters)"
	}
	if class == `\x21-\x7e` {
		return "may hold only printable ASCII characters, without spaces" + count
	}
	var parts []string
	has := func(span string) bool {
		ok := strings.Contains(class, span)
		class = strings.Replace(class, span, "", 1)
		return ok
	}
	upper, lower := has("A-Z"), has("a-z")
	switch {
	case upper && lower:
		parts = append(parts, "letters")
	case upper:
		parts = append(parts, "capital letters")
	case lower:
		parts = append(parts, "small letters")
	}
	if has("0-9") {
		parts = append(parts, "digits")
	}
	rs := []rune(strings.ReplaceAll(class, `\-`, "\x00"))
	for i := 0; i < len(rs); i++ {
		switch {
		case rs[i] == 0:
			parts = append(parts, `"-"`)
		case rs[i] == '\\':
			if i+1 >= len(rs) || unicode.IsLetter(rs[i+1]) {
				return "" // \d, \x21, \pL...: it would need reading the pattern to describe
			}
			i++
			parts = append(parts, fmt.Sprintf("%q", string(rs[i])))
		case i+2 < len(rs) && rs[i+1] == '-':
			parts = append(parts, fmt.Sprintf("%q to %q", string(rs[i]), string(rs[i+2])))
			i += 2
		default:
			parts = append(parts, fmt.Sprintf("%q", string(rs[i])))
		}
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return "may hold only " + parts[0] + count
	}
	return "may hold only " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1] + count
}
