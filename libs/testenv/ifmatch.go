package testenv

import (
	"net/http"
	"strings"
	"testing"
)

// IfMatchCases checks, through a service's router, how one of its conditional writes
// takes If-Match (RFC 9110 13.1.1; docs/API.md, "Versions: ETag and If-Match"):
// a list of entity tags, on one field line or several, is applied when one of them
// is the object's ETag; "*" whatever the version; tags are compared strongly, so a
// weak tag, or a tag the service never gives ("03"), never matches, and the write is
// refused with 412 changing nothing; a header that is not "*" or a list of entity
// tags is 400 naming If-Match. etag reads the object's ETag now; write sends the
// write with the headers given (name, value pairs) and returns its answer.
func IfMatchCases(t *testing.T, etag func() string, write func(headers ...string) Response) {
	t.Helper()
	const stale = `"999999"`
	applied := []struct {
		name    string
		headers func(cur string) []string
	}{
		{"the current ETag", func(cur string) []string { return []string{"If-Match", cur} }},
		{"a list naming it last", func(cur string) []string { return []string{"If-Match", stale + `, W/` + cur + `, ` + cur} }},
		{"a list naming it first, without spaces", func(cur string) []string { return []string{"If-Match", cur + `,` + stale} }},
		{"a list with empty elements", func(cur string) []string { return []string{"If-Match", `, ` + stale + ` ,, ` + cur + `,`} }},
		{"a list on two field lines", func(cur string) []string { return []string{"If-Match", stale, "If-Match", cur} }},
		{"*", func(string) []string { return []string{"If-Match", "*"} }},
	}
	for _, c := range applied {
		cur := etag()
		r := write(c.headers(cur)...)
		if r.Status != http.StatusOK {
			t.Errorf("If-Match as %s (%v): %d, want 200: %s", c.name, c.headers(cur), r.Status, r.Body)
		} else if now := etag(); now == cur {
			t.Errorf("If-Match as %s: answered 200 but the ETag is still %s", c.name, now)
		}
	}
	refused := []struct {
		name    string
		headers func(cur string) []string
		status  int
		says    string
	}{
		{"a weak tag of the current version", func(cur string) []string { return []string{"If-Match", "W/" + cur} }, http.StatusPreconditionFailed, "weak"},
		{"a list naming other versions", func(string) []string { return []string{"If-Match", stale + `, "999998"`} }, http.StatusPreconditionFailed, "not 999999 or 999998"},
		{"the current version with a leading zero", func(cur string) []string { return []string{"If-Match", `"0` + strings.Trim(cur, `"`) + `"`} }, http.StatusPreconditionFailed, ""},
		{"another tag", func(string) []string { return []string{"If-Match", `"v3"`} }, http.StatusPreconditionFailed, ""},
		{"an unquoted version", func(cur string) []string { return []string{"If-Match", strings.Trim(cur, `"`)} }, http.StatusBadRequest, ""},
		{"an unclosed tag", func(cur string) []string { return []string{"If-Match", strings.TrimSuffix(cur, `"`)} }, http.StatusBadRequest, ""},
		{"two tags without a comma", func(cur string) []string { return []string{"If-Match", cur + ` ` + stale} }, http.StatusBadRequest, ""},
		{"* in a list", func(cur string) []string { return []string{"If-Match", `*, ` + cur} }, http.StatusBadRequest, ""},
		{"a lower-case weak prefix", func(cur string) []string { return []string{"If-Match", `w/` + cur} }, http.StatusBadRequest, ""},
	}
	for _, c := range refused {
		cur := etag()
		r := write(c.headers(cur)...)
		if r.Status != c.status {
			t.Errorf("If-Match as %s (%v): %d, want %d: %s", c.name, c.headers(cur), r.Status, c.status, r.Body)
			continue
		}
		if now := etag(); now != cur {
			t.Errorf("If-Match as %s: refused, but the ETag moved from %s to %s", c.name, cur, now)
		}
		p := r.JSON(t)
		if r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("If-Match as %s: the refusal is %s", c.name, r.Header.Get("Content-Type"))
		}
		if detail, _ := p["detail"].(string); c.says != "" && !strings.Contains(detail, c.says) {
			t.Errorf("If-Match as %s: the refusal says %q, not %q", c.name, detail, c.says)
		}
		if c.status == http.StatusBadRequest && p["field"] != "If-Match" {
			t.Errorf("If-Match as %s: the refusal names %v, want If-Match: %s", c.name, p["field"], r.Body)
		}
	}
}
