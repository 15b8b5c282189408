package httpserver_test

import (
	"net/mail"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/httpserver"
)

func TestHumanTextFormats(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in         string
		line, text bool // accepted as a line, as text
	}{
		{"University of Exampleton", true, true},
		{"Université de Montréal — Técnicos", true, true},
		{"Evil\r\nBcc: victim@example.com", false, true},
		{"Two\nlines", false, true},
		{"tab\there", false, true},
		{"nul\x00byte", false, false},
		{"bell\x07", false, false},
		{"del\x7f", false, false},
		{"c1\u0085next line", false, false},
		{"admin\u202Egnp.exe", false, false},
		{"isolate\u2066x\u2069", false, false},
		{"zero\u200Bwidth", false, false},
		{"joiner\u200Dx", false, false},
		// An emoji sequence joins its pictures with a zero-width joiner: a scientist,
		// a woman scientist of a skin tone, a rainbow flag. A joiner that joins no
		// two pictures is still refused.
		{"Our lab \U0001F469\u200D\U0001F52C team", true, true},
		{"\U0001F469\U0001F3FD\u200D\U0001F52C", true, true},
		{"\U0001F3F3\uFE0F\u200D\U0001F308", true, true},
		{"\U0001F469\u200Dx", false, false},
		{"a\u200D\U0001F52C", false, false},
		{"\U0001F469\u200D", false, false},
		{"bom\uFEFF", false, false},
		{"soft\u00ADhyphen", false, false},
		{"   ", false, false},
		{"", false, false},
		{" leading", false, true},
		{"bad utf8 \xff", false, false},
		// Unicode's line and paragraph separators break a line as a new line does.
		{"Line\u2028Break", false, false},
		{"Para\u2029graph", false, false},
		// Characters that show as nothing, or as a blank: a name of them alone read
		// as a blank subject line and an empty link (Hangul fillers, a blank braille
		// pattern, a combining grapheme joiner, a variation selector alone).
		{"\u3164", false, false},
		{"\uFFA0", false, false},
		{"\u115F\u1160", false, false},
		{"\u2800", false, false},
		{"a\u2800b", false, false},
		{"\u034F", false, false},
		{"\u17B4", false, false},
		{"\uFE00", false, false},
		{"\U000E0100", false, false},
		{"\u0301", false, false},
		// A variation selector or a combining mark on a letter is part of what shows.
		{"Caf\u0065\u0301", true, true},
		{"\u2764\uFE0F lab", true, true},
		{"\u8FBB\U000E0100", true, true},
		{"\uD55C\uAD6D\uC5B4", true, true},
	}
	for _, c := range cases {
		if got := httpserver.CheckLine(c.in) == nil; got != c.line {
			t.Errorf("CheckLine(%q) accepted=%v, want %v", c.in, got, c.line)
		}
		if got := httpserver.CheckText(c.in) == nil; got != c.text {
			t.Errorf("CheckText(%q) accepted=%v, want %v", c.in, got, c.text)
		}
	}
}

// A refusal of an invisible character names it in words, and says what to do.
func TestAnInvisibleCharacterIsNamedInWords(t *testing.T) {
	t.Parallel()
	err := httpserver.CheckText("Our plan\u200B for technicians")
	if err == nil || !strings.Contains(err.Error(), "a zero-width space (U+200B)") || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("CheckText with a zero-width space: %v", err)
	}
}

// A character pasted into a long text, which the person may not see, is refused
// saying what it is in words and where it is: "found U+0009" in an owner pasted
// from a table in Word, or a soft hyphen somewhere in a narrative of 20,000
// characters, left a lead nothing to look for. Where is said by number, never by
// the words around it, which could be a name: refusals are logged.
func TestARefusedCharacterIsNamedAndPlaced(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in          string
		check       func(string) error
		words, near string
	}{
		{"Sam\tPatel", httpserver.CheckLine, "a tab (U+0009)", "as character 4;"},
		{"Line one\vline two", httpserver.CheckText, "a line break from Word (U+000B)", "as character 9;"},
		{"Our plan:\r\n\tWe will support téchni\u00adcians to register", httpserver.CheckText, "a soft hyphen (U+00AD)", "as character 24 of line 2,"},
		{"\u200bOur plan", httpserver.CheckText, "a zero-width space (U+200B)", "as character 1,"},
		{"Line one\u2028line two", httpserver.CheckText, "(U+2028)", "as character 9;"},
		{"Sam\u200bPatel", httpserver.CheckLine, "a zero-width space (U+200B)", "as character 4,"},
	} {
		err := c.check(c.in)
		if err == nil || !strings.Contains(err.Error(), c.words) || !strings.Contains(err.Error(), c.near) {
			t.Errorf("%q: %v; want it to name %s %s", c.in, err, c.words, c.near)
			continue
		}
		if httpserver.CheckText(err.Error()) != nil {
			t.Errorf("%q: the message %q is not clean text itself", c.in, err)
		}
		if strings.Contains(err.Error(), "Sam") || strings.Contains(err.Error(), "plan") {
			t.Errorf("%q: the message %q quotes what was written", c.in, err)
		}
	}
}

func TestEmailLimits(t *testing.T) {
	t.Parallel()
	ok := []string{"s.patel@exampleton.ac.uk", strings.Repeat("a", 64) + "@example.org"}
	bad := []string{
		strings.Repeat("a", 65) + "@example.org",  // RFC 5321: local part at most 64
		strings.Repeat("a", 200) + "@example.org", // what was accepted before
		"a@" + strings.Repeat("b", 250) + ".org",  // over 254 in all
		"Name <a@example.org>", "a@example", "a@@example.org", "a b@example.org", "a@example.org\r\nBcc: x@y.z",
		// RFC 5321's dot-string, which the services' decoders (net/mail) hold to.
		"a..b@x.ac.uk", ".a@x.ac.uk", "a.@x.ac.uk",
	}
	for _, s := range append(ok, "o'brien+tc@x.ac.uk", "a.b.c@x-y.ac.uk") {
		if err := httpserver.CheckEmail(s); err != nil {
			t.Errorf("CheckEmail(%q) = %v, want accepted", s, err)
		}
		// What the validator accepts, the generated decoders (openapi_types.Email) read as it is.
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
			t.Errorf("CheckEmail accepts %q, which net/mail reads as %v, %v", s, a, err)
		}
	}
	for _, s := range bad {
		if httpserver.CheckEmail(s) == nil {
			t.Errorf("CheckEmail(%q) accepted", s)
		}
	}
}

func TestWebAddresses(t *testing.T) {
	t.Parallel()
	ok := []string{"https://www.exampleton.ac.uk/technicians", "http://example.org", "https://x.ac.uk/plan?a=1&b=%C3%A9#top", "https://université.example/plan", "",
		"HTTPS://x.ac.uk", "Https://www.exampleton.ac.uk/technicians", "hTTp://example.org"}
	bad := []string{
		"www.exampleton.ac.uk/plan", "ftp://example.org", "Ftp://example.org", "https://", "Https://", "javascript:alert(1)", "https:/x.ac.uk",
		"https://www.example.ac.uk/\u202Egpj.exe", "https://www.example.ac.uk/\u200B", "https://x.ac.uk/\u2066a",
		"https://x.ac.uk/a plan", "https://x.ac.uk/\r\nSet-Cookie: a=b", " https://x.ac.uk", "https://x.ac.uk/\x00", "https://x.ac.uk/\xff",
	}
	for _, s := range ok {
		if err := httpserver.CheckWebAddress(s); err != nil {
			t.Errorf("CheckWebAddress(%q) = %v, want accepted", s, err)
		}
	}
	for _, s := range bad {
		if httpserver.CheckWebAddress(s) == nil {
			t.Errorf("CheckWebAddress(%q) accepted", s)
		}
	}
}

// A web address is kept with its scheme and host in lower case, which RFC 3986 reads
// in any case, and the rest as it was given.
func TestWebAddressesAreNormalised(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://www.exampleton.ac.uk/Technicians": "https://www.exampleton.ac.uk/Technicians",
		"Https://WWW.Exampleton.AC.UK/Technicians": "https://www.exampleton.ac.uk/Technicians",
		"HTTP://Example.ORG":                       "http://example.org",
		"hTTpS://Example.org?Q=A#Top":              "https://example.org?Q=A#Top",
		"https://Ada:Secret@Example.ORG:8443/Plan": "https://Ada:Secret@example.org:8443/Plan",
		"https://UNIVERSITÉ.example/Plan":          "https://université.example/Plan",
		"https://x.ac.uk/a@B":                      "https://x.ac.uk/a@B",
		"":                                         "",
		"ftp://Example.org":                        "ftp://Example.org",
	} {
		if got := httpserver.NormaliseWebAddress(in); got != want {
			t.Errorf("NormaliseWebAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnconstrainedStrings(t *testing.T) {
	t.Parallel()
	spec := []byte(`openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /things/{id}:
    parameters:
      - { name: id, in: path, required: true, schema: { type: string, pattern: '^[a-z]+$' } }
    post:
      parameters:
        - { name: q, in: query, schema: { type: string } }
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                name: { type: string, format: line, maxLength: 10 }
                free: { type: string, maxLength: 10 }
                kind: { type: string, enum: [a, b] }
                tags: { type: array, items: { type: string } }
      responses:
        "204": { description: done }
components:
  schemas:
    Loose: { type: object, properties: { note: { type: string } } }
`)
	got, err := httpserver.UnconstrainedStrings(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"#/components/schemas/Loose.note",
		"POST /things/{id} body application/json.free",
		"POST /things/{id} body application/json.tags[]",
		"POST /things/{id} query q",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
