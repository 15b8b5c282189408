package httpserver

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/itss/techcommit/libs/civil"
)

// The string formats every service's OpenAPI document uses for what people write.
//
// A person's name, a title or an organisation's name ends up in mail headers, in the
// public directory and in other people's browsers. Control characters there break
// headers (a name with CR LF was announced and then every email to it was refused),
// and bidirectional overrides and zero-width characters make a name look like another.
// So every human-text field names one of two formats, and a test walks every document
// to prove that no free-text string field lacks one:
//
//   - FormatLine ("line"): one line of text (names, titles, reasons, descriptions):
//     no control character at all, no bidirectional control, no zero-width character,
//     not blank and without leading or trailing white space.
//   - FormatText ("text"): paragraphs (narratives, summaries, comments): as a line, but
//     line feeds, carriage returns and tabs are allowed between lines.
//   - FormatWeb ("web"): a web address (a website, a published plan) shown as a link:
//     http or https with a host, and none of the characters a line refuses, so that
//     "https://example.ac.uk/\u202Egpj.exe" cannot pass for another address.
const (
	FormatLine = "line"
	FormatText = "text"
	FormatWeb  = "web"
)

// emailPattern accepts plain addresses (local@domain.tld) and nothing with a display
// name, angle brackets, spaces or line breaks, so an address can go into a mail header
// as it is.
const emailPattern = `^[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`

var emailRE = regexp.MustCompile(emailPattern)

// RFC 5321's limits: a local part of at most 64 octets, a path of at most 256 (so an
// address of at most 254), a domain of at most 255.
const (
	maxLocalPart = 64
	maxAddress   = 254
)

// CheckEmail says, in words a person can act on, why s is not an email address the
// suite can send to, or returns nil.
func CheckEmail(s string) error {
	if len(s) > maxAddress {
		return fmt.Errorf("must be an email address of at most %d characters", maxAddress)
	}
	local, _, ok := strings.Cut(s, "@")
	if !ok || !emailRE.MatchString(s) {
		return errors.New("must be an email address such as name@example.ac.uk")
	}
	if len(local) > maxLocalPart {
		return fmt.Errorf("must be an email address whose part before the @ is at most %d characters", maxLocalPart)
	}
	// RFC 5321's dot-string: the services' decoders (net/mail) refuse anything else,
	// so an address the validator let through would be refused later without its field.
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return errors.New("must be an email address whose part before the @ neither starts nor ends with a dot nor has two dots together")
	}
	return nil
}

// dateTimeRE is RFC 3339's date-time, with capital T and Z as the documents show it.
var dateTimeRE = regexp.MustCompile(openapi3.FormatOfStringDateTime)

// checkDateTime accepts what the services' decoders read (time.RFC3339) and nothing
// else: the validator's own check lets through a leap second (":60"), which the
// decoder then refused in its own words, naming no field.
//
// Its instant, in UTC, is within the years the suite takes (civil.FirstYear to
// civil.LastYear): a time in the year 0 with an offset east of UTC is in the year
// -1, which no event can hold, so it was refused only when the event was written,
// as a 500.
func checkDateTime(s string) error {
	if !dateTimeRE.MatchString(s) {
		return errors.New("is not a date and time")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return errors.New("is not a date and time that exists")
	}
	return inYears(t.UTC())
}

// checkDate is the date format as the suite's dates are read: YYYY-MM-DD, a day that
// exists, within the years the suite takes (civil.FirstYear to civil.LastYear).
func checkDate(s string) error {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return errors.New("is not a date that exists")
	}
	return inYears(d)
}

func inYears(t time.Time) error {
	switch {
	case t.Year() < civil.FirstYear:
		return errors.New("is before 1900")
	case t.Year() > civil.LastYear:
		return errors.New("is after 2999")
	}
	return nil
}

// CheckWebAddress says why s is not a web address to show as a link (http or https,
// with a host, written as one clean line), or returns nil. The empty string passes:
// whether a field may be left empty (a draft's webpage) is its schema's to say.
func CheckWebAddress(s string) error {
	if s == "" {
		return nil
	}
	if err := CheckLine(s); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || webScheme(s) == "" || u.Host == "" || strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return errors.New("must be a web address starting https:// or http://, such as https://www.example.ac.uk/technicians")
	}
	return nil
}

// webScheme is the scheme s starts with, "https://" or "http://", read in any case
// (RFC 3986, 3.1: "Https://", which a word processor makes of a sentence's first
// word, is https), or "".
func webScheme(s string) string {
	for _, scheme := range []string{"https://", "http://"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			return scheme
		}
	}
	return ""
}

// NormaliseWebAddress is the web address s (one CheckWebAddress takes) as the suite
// keeps it: its scheme and host in lower case, which RFC 3986 (3.1, 3.2.2) reads in
// any case, and the rest as it was given (a path's case may matter to its server).
// So the address the directory shows and the emails link to is one usable link,
// however it was typed. Anything else is returned as it is.
func NormaliseWebAddress(s string) string {
	scheme := webScheme(s)
	if scheme == "" {
		return s
	}
	rest := s[len(scheme):]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	host := strings.LastIndex(authority, "@") + 1 // the user information keeps its case
	return scheme + authority[:host] + strings.ToLower(authority[host:]) + rest[end:]
}

// CheckLine says why s is not one clean line of text, or returns nil.
func CheckLine(s string) error { return checkHumanText(s, false) }

// CheckText says why s is not clean paragraphs of text, or returns nil.
func CheckText(s string) error { return checkHumanText(s, true) }

func checkHumanText(s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return errors.New("must be text in UTF-8")
	}
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be blank")
	}
	if !multiline && strings.TrimSpace(s) != s {
		return errors.New("must not start or end with white space")
	}
	prev := rune(-1)
	visible := false
	for i, r := range s {
		switch {
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case r == '\n' || r == '\r' || (!multiline && (r == lineSeparator || r == paragraphSeparator)):
			return errors.New("must be a single line, without line breaks")
		case r == lineSeparator || r == paragraphSeparator:
			return fmt.Errorf("must not contain a Unicode line or paragraph separator (U+%04X), which may have come with text pasted from elsewhere: it is %s; start a new line there instead", r, placeOf(s, i))
		case unicode.IsControl(r):
			return fmt.Errorf("must not contain control characters: it holds %s (U+%04X) %s; %s", controlName(r), r, placeOf(s, i), controlFix(r, multiline))
		case r == zeroWidthJoiner && joinsEmoji(prev, s[i+len(string(r)):]):
			// 👩‍🔬: an emoji sequence, which shows as one picture.
		case isInvisible(r):
			return fmt.Errorf("must not contain invisible or direction-changing characters: it holds %s (U+%04X) %s, which may have come with text pasted from elsewhere; delete it and type the text around it again", invisibleName(r), r, placeOf(s, i))
		}
		visible = visible || shows(r)
		prev = r
	}
	if !visible {
		return errors.New("must not be blank")
	}
	return nil
}

const lineSeparator, paragraphSeparator = 0x2028, 0x2029

// placeOf says where in s the character at byte i is, as a person counts (line
// by line, in characters, not bytes): a character they may not see, somewhere in a
// narrative of 20,000 characters, left them nothing to look for when only its code
// was named. It says where by number, not by the words around it, which could be a
// person's name: refusals are logged, and logs carry no names.
func placeOf(s string, i int) string {
	before := strings.ReplaceAll(s[:i], "\r\n", "\n")
	lines := strings.Count(before, "\n") + strings.Count(before, "\r")
	col := utf8.RuneCountInString(before[strings.LastIndexAny(before, "\r\n")+1:]) + 1
	if lines == 0 && !strings.ContainsAny(s[i:], "\r\n") {
		return fmt.Sprintf("as character %d", col)
	}
	return fmt.Sprintf("as character %d of line %d", col, lines+1)
}

// controlName is how a control character reads in a message: those text pasted
// from a word processor brings by their names, and any other as what it is.
func controlName(r rune) string {
	switch r {
	case '\t':
		return "a tab"
	case '\v':
		return "a line break from Word"
	case '\f':
		return "a page break"
	}
	return "a control character"
}

// controlFix says what to do about a refused control character: a line's tab is
// a space, and anything else goes.
func controlFix(r rune, multiline bool) string {
	switch {
	case r == '\t' && !multiline:
		return "type a space there instead"
	case r == '\v' && multiline:
		return "start a new line there instead"
	}
	return "delete it"
}

// shows says whether r shows as something of its own: not a space, and not a mark
// or a variation selector, which change how the character before them shows (é,
// ❤️) and alone show as nothing.
func shows(r rune) bool {
	return !unicode.IsSpace(r) && !unicode.In(r, unicode.Mn, unicode.Me, unicode.Variation_Selector)
}

const zeroWidthJoiner = 0x200D

// joinsEmoji says whether a zero-width joiner after prev and before rest joins two
// emoji into one (a person and a microscope, a scientist): prev is a symbol, or one's
// presentation selector or skin tone, and rest starts with a symbol.
func joinsEmoji(prev rune, rest string) bool {
	next, n := utf8.DecodeRuneInString(rest)
	emoji := func(r rune) bool { return r != utf8.RuneError && unicode.Is(unicode.So, r) }
	tone := prev >= 0x1F3FB && prev <= 0x1F3FF
	return (emoji(prev) || prev == 0xFE0F || tone) && n > 0 && emoji(next)
}

// invisibleName says which invisible character a text holds, in words.
func invisibleName(r rune) string {
	switch r {
	case 0x200B:
		return "a zero-width space"
	case 0x200C:
		return "a zero-width non-joiner"
	case zeroWidthJoiner:
		return "a zero-width joiner"
	case 0x200E, 0x200F, 0x061C:
		return "a direction mark"
	case 0x00AD:
		return "a soft hyphen"
	case 0xFEFF:
		return "a byte order mark"
	case 0x2060:
		return "a word joiner"
	case 0x3164, 0xFFA0, 0x115F, 0x1160:
		return "a Hangul filler, which shows as a blank"
	case brailleBlank:
		return "a blank braille pattern"
	case 0x034F:
		return "a combining grapheme joiner"
	}
	if r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 {
		return "a direction control"
	}
	return "an invisible formatting character"
}

// brailleBlank is the braille pattern with no dots: it shows as a space, and is not one.
const brailleBlank = 0x2800

// isInvisible reports the bidirectional controls (embeddings, overrides, isolates,
// marks) and zero-width characters that change how text reads without being seen,
// and the characters Unicode says to show as nothing (its Default_Ignorable_Code_Point
// beyond the format characters: Hangul fillers, the combining grapheme joiner, ...)
// or that show as a blank (the empty braille pattern).
func isInvisible(r rune) bool {
	switch {
	case r == brailleBlank || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r):
		return true
	case r >= 0x200B && r <= 0x200F: // zero-width space, non-joiner, joiner; LRM, RLM
		return true
	case r >= 0x202A && r <= 0x202E: // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2060 && r <= 0x2069: // word joiner, invisible operators, LRI, RLI, FSI, PDI
		return true
	case r == 0xFEFF, r == 0x061C, r == 0x180E, r == 0x00AD: // BOM/ZWNBSP, ALM, Mongolian vowel separator, soft hyphen
		return true
	}
	return unicode.Is(unicode.Cf, r) // any other format character
}

// defineFormats registers the suite's formats with the OpenAPI validator once.
func defineFormats() {
	openapi3.DefineStringFormatValidator("email", openapi3.NewCallbackValidator(CheckEmail))
	openapi3.DefineStringFormatValidator(FormatLine, openapi3.NewCallbackValidator(CheckLine))
	openapi3.DefineStringFormatValidator(FormatText, openapi3.NewCallbackValidator(CheckText))
	openapi3.DefineStringFormatValidator(FormatWeb, openapi3.NewCallbackValidator(CheckWebAddress))
	openapi3.DefineStringFormatValidator("date-time", openapi3.NewCallbackValidator(checkDateTime))
	openapi3.DefineStringFormatValidator("date", openapi3.NewCallbackValidator(checkDate))
}

// UnconstrainedStrings walks an OpenAPI document and lists every string schema that
// says nothing of what it may hold: no enum, no format and no anchored pattern. Every
// service's API test calls it and expects an empty list, so that a new free-text field
// cannot be added without the text rule (format line or text) or a stricter one.
func UnconstrainedStrings(spec []byte) ([]string, error) {
	return stringsWhere(spec, func(s *openapi3.Schema) bool {
		return len(s.Enum) == 0 && s.Format == "" && !(strings.HasPrefix(s.Pattern, "^") && strings.HasSuffix(s.Pattern, "$"))
	})
}

// UnwordedPatterns lists every string schema held to a pattern that a refusal could
// not put in words: no format or enum, a pattern too intricate to describe, and no
// description or title short enough to say instead (see describe). Such a field's
// refusal read "is not in the form this field takes"; every service's API test
// expects the list empty.
func UnwordedPatterns(spec []byte) ([]string, error) {
	return stringsWhere(spec, func(s *openapi3.Schema) bool {
		return s.Pattern != "" && len(s.Enum) == 0 && s.Format == "" && ownWords(s) == "" && patternWords(s.Pattern) == ""
	})
}

// stringsWhere lists, by where they stand in the document, the string schemas that
// match: in the components and in every operation's parameters and bodies.
func stringsWhere(spec []byte, match func(*openapi3.Schema) bool) ([]string, error) {
	doc, err := LoadSpec(spec)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[*openapi3.Schema]bool{}
	var walk func(where string, ref *openapi3.SchemaRef)
	walk = func(where string, ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if s.Type.Is(openapi3.TypeString) && match(s) {
			out = append(out, where)
		}
		for name, p := range s.Properties {
			walk(where+"."+name, p)
		}
		walk(where+"[]", s.Items)
		if s.AdditionalProperties.Schema != nil {
			walk(where+".*", s.AdditionalProperties.Schema)
		}
		for i, sub := range s.AllOf {
			walk(fmt.Sprintf("%s(allOf %d)", where, i), sub)
		}
		for i, sub := range s.OneOf {
			walk(fmt.Sprintf("%s(oneOf %d)", where, i), sub)
		}
		for i, sub := range s.AnyOf {
			walk(fmt.Sprintf("%s(anyOf %d)", where, i), sub)
		}
	}
	for name, ref := range doc.Components.Schemas {
		walk("#/components/schemas/"+name, ref)
	}
	for name, ref := range doc.Components.Parameters {
		if ref.Value != nil {
			walk("#/components/parameters/"+name, ref.Value.Schema)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			for _, p := range append(item.Parameters, op.Parameters...) {
				if p.Value != nil {
					walk(where+" "+p.Value.In+" "+p.Value.Name, p.Value.Schema)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for ct, mt := range op.RequestBody.Value.Content {
					walk(where+" body "+ct, mt.Schema)
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
