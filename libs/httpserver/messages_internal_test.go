package httpserver

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/itss/techcommit/libs/apperr"
)

func TestPatternWords(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ pattern, want string }{
		{`^[A-Za-z0-9-]+$`, `may hold only letters, digits and "-"`},
		{`^[A-Za-z0-9_.@-]+$`, `may hold only letters, digits, "_", ".", "@" and "-"`},
		{`^[0-9a-f]{32}$`, `may hold only digits and "a" to "f" (exactly 32 characters)`},
		{`^[0-9]{1,19}$`, `may hold only digits (1 to 19 characters)`},
		{`^[\x21-\x7e]+$`, `may hold only printable ASCII characters, without spaces`},
		{`^[A-Z]{2}$`, `may hold only capital letters (exactly 2 characters)`},
		{`^[a-z\-]+$`, `may hold only small letters and "-"`},
		{`^[\u00e0-\u00ff]+$`, ``},
		{`^[\w.]+$`, ``},
		{`^[a-z\.]+$`, `may hold only small letters and "."`},
		{`^R[0-9]{4}$`, ``},
		{`^[A-Za-z0-9_-]{20,64}(\.ics)?$`, ``},
	} {
		if got := patternWords(tt.pattern); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

// A refusal with more mistakes than a problem lists gets the first MaxFieldProblems
// of them (the documents' maxItems), however many the body held.
func TestAProblemListsAtMostMaxFieldProblems(t *testing.T) {
	t.Parallel()
	fields := make([]apperr.FieldProblem, MaxFieldProblems+5)
	for i := range fields {
		fields[i] = apperr.FieldProblem{Field: "x" + strconv.Itoa(i), Message: "is not allowed"}
	}
	p := toProblem(&apperr.Error{Code: apperr.Invalid, Field: "x0", Message: "is not allowed", Fields: fields})
	if len(p.Errors) != MaxFieldProblems || p.Errors[0].Field != "x0" {
		t.Errorf("%d field problems listed starting at %v, want the first %d", len(p.Errors), p.Errors[0], MaxFieldProblems)
	}
}

// What a problem says stays within the documents' own formats whatever it quotes:
// escaped where unclean, cut with an ellipsis where too long, untouched otherwise.
func TestProblemTextAndFieldNamesKeepTheirFormats(t *testing.T) {
	fits := " " + strings.Repeat("a", maxFieldName-4) + " " // quoted: exactly 200 bytes
	for _, tt := range []struct{ got, want string }{
		{problemText("a value\nover two lines"), "a value\nover two lines"},
		{problemText("bad \x01 value \u202e"), `bad \x01 value \u202e`},
		{problemText(strings.Repeat("é", maxText)), strings.Repeat("é", (maxText-len("…"))/2) + "…"},
		{fieldName(fits), `"` + fits + `"`},
		{fieldName(fits + "b"), `"` + fits[:maxFieldName-2-len("…")] + `…"`},
		{fieldName("tab\there"), `"tab\there"`},
		{fieldName(`back\slash `), `"back\\slash "`},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// A body the validator let through but that does not decode (1e4 is a number the
// document's integer allows, yet not as Go reads an int64) is refused saying what is
// expected in words, never naming a Go type.
func TestDecodeRefusalsSayWhatIsExpectedInWords(t *testing.T) {
	t.Parallel()
	var v struct {
		Amount int64    `json:"amount_pence"`
		Small  uint8    `json:"small"`
		Name   string   `json:"name"`
		On     *bool    `json:"on"`
		Ratio  float64  `json:"ratio"`
		Lines  []string `json:"lines"`
		Nested struct {
			Count int `json:"count"`
		} `json:"nested"`
	}
	for _, tt := range []struct{ body, want string }{
		{`{"amount_pence":1e4}`, "amount_pence: must be a whole number written in digits alone, such as 10000, without an exponent or a decimal point"},
		{`{"amount_pence":10.5}`, "amount_pence: must be a whole number written in digits alone, such as 10000, without an exponent or a decimal point"},
		{`{"amount_pence":"10000"}`, "amount_pence: must be a whole number"},
		{`{"amount_pence":99999999999999999999}`, "amount_pence: must be a whole number from -9223372036854775808 to 9223372036854775807"},
		{`{"small":-1}`, "small: must be a whole number from 0 to 255"},
		{`{"name":1}`, "name: must be text (a JSON string)"},
		{`{"on":"yes"}`, "on: must be true or false"},
		{`{"ratio":"half"}`, "ratio: must be a number"},
		{`{"lines":"one"}`, "lines: must be a list (a JSON array)"},
		{`{"nested":[]}`, "nested: must be an object"},
		{`{"nested":{"count":true}}`, "nested.count: must be a whole number"},
	} {
		e, ok := apperr.As(decodeError(json.Unmarshal([]byte(tt.body), &v)))
		if !ok || e.Code != apperr.Invalid || e.Field+": "+e.Message != tt.want {
			t.Errorf("%s: %v, want invalid %q", tt.body, e, tt.want)
		}
	}
}

// A schema's own words follow "must be": a first word is lowered ("Starting https://"
// reads "starting https://"), an acronym keeps its capitals ("ISO 3166-1" read
// "iSO 3166-1").
func TestOwnWordsKeepAnAcronymsCapitals(t *testing.T) {
	t.Parallel()
	for desc, want := range map[string]string{
		"Starting https://":  "starting https://",
		"ISO 3166-1 alpha-2": "ISO 3166-1 alpha-2",
		"A reference.":       "a reference",
		"UK postcode":        "UK postcode",
	} {
		if got := ownWords(&openapi3.Schema{Description: desc}); got != want {
			t.Errorf("ownWords(%q) = %q, want %q", desc, got, want)
		}
	}
}
