package httpserver_test

import (
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/httpserver"
)

// If-Match is "*" or a list of entity tags (RFC 9110 13.1.1), compared strongly: the
// versions its strong tags name are the ones a write may be applied at, a weak tag
// or a tag the suite never gives names none, and anything else is refused naming
// If-Match.
func TestIfMatchTakesAListComparedStrongly(t *testing.T) {
	t.Parallel()
	at := func(s string) *string { return &s }
	for _, c := range []struct {
		header  *string
		any     bool
		allows  []int
		refuses []int
	}{
		{header: nil, any: true},
		{header: at("*"), any: true},
		{header: at(" * "), any: true},
		{header: at(`"3"`), allows: []int{3}, refuses: []int{2, 30}},
		{header: at(`"3", "5"`), allows: []int{3, 5}, refuses: []int{4}},
		{header: at("\"3\"\t,\"5\""), allows: []int{3, 5}},
		{header: at(`,"3",, ,"5",`), allows: []int{3, 5}},
		{header: at(`W/"3", "5"`), allows: []int{5}, refuses: []int{3}},
		{header: at(`W/"3"`), refuses: []int{3}},
		{header: at(`"03", "v3", "", "a,b"`), refuses: []int{3}},
		{header: at("\"\xe9\""), refuses: []int{3}}, // obs-text is an entity tag's character too
		{header: at(`"99999999999999999999"`), refuses: []int{3}},
	} {
		p, err := httpserver.IfMatch(c.header)
		if err != nil {
			t.Errorf("%q: %v", *c.header, err)
			continue
		}
		if p.Any() != c.any {
			t.Errorf("%v: any version = %t, want %t", c.header, p.Any(), c.any)
		}
		for _, v := range c.allows {
			if !p.Allows(v) {
				t.Errorf("%q does not allow version %d", *c.header, v)
			}
		}
		for _, v := range c.refuses {
			if p.Allows(v) {
				t.Errorf("%q allows version %d", *c.header, v)
			}
		}
	}
	for _, bad := range []string{"", " ", ",", "3", `"3`, `3"`, `"3" "4"`, `"3";"4"`, `*, "3"`, `"3", *`, `w/"3"`, `W/3`, `W /"3"`,
		"\"3\x00\"", "\"a\x7f\"", `"a b"`, strings.Repeat(`"1",`, 65)} {
		_, err := httpserver.IfMatch(&bad)
		if ae, ok := apperr.As(err); !ok || ae.Code != apperr.Invalid || ae.Field != httpserver.HeaderIfMatch {
			t.Errorf("If-Match %q: %v, want it refused naming If-Match", bad, err)
		}
	}
}
