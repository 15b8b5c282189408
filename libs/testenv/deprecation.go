package testenv

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var deprecationValue = regexp.MustCompile(`^@[0-9]+$`)

// SameAnswerDeprecated checks one action's answers under its new path (newer) and
// its deprecated old one (older): the same status and the same body, leaving out the
// fields named in ignore (those that differ between the two objects the test acted
// on, such as id or created_at) and a problem's request_id and instance; and only
// the old answer carries Deprecation (RFC 9745), Sunset (RFC 8594) and a Link that,
// resolved against the path called, is successor, the new path it was sent to.
func SameAnswerDeprecated(tb testing.TB, newer, older Response, successor string, ignore ...string) {
	tb.Helper()
	if newer.Status != older.Status {
		tb.Errorf("the new path answered %d, the deprecated one %d", newer.Status, older.Status)
	}
	body := func(r Response) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			tb.Fatalf("answer is not a JSON object: %v: %s", err, r.Body)
		}
		for _, k := range append([]string{"request_id", "instance"}, ignore...) {
			delete(m, k)
		}
		return m
	}
	if diff := cmp.Diff(body(newer), body(older)); diff != "" {
		tb.Errorf("the deprecated path answered otherwise than the new one (-new +deprecated):\n%s", diff)
	}
	for _, h := range []string{"Deprecation", "Sunset", "Link"} {
		if v := newer.Header.Get(h); v != "" {
			tb.Errorf("the new path's answer carries %s: %s", h, v)
		}
	}
	if v := older.Header.Get("Deprecation"); !deprecationValue.MatchString(v) {
		tb.Errorf("the deprecated path's Deprecation is %q, want @ and Unix seconds", v)
	}
	if v := older.Header.Get("Sunset"); v == "" {
		tb.Error("the deprecated path's answer has no Sunset")
	} else if _, err := http.ParseTime(v); err != nil {
		tb.Errorf("the deprecated path's Sunset %q is not an HTTP date: %v", v, err)
	}
	// The Link is relative to the path called (so that it resolves behind a proxy's
	// prefix too): resolved against it, it is the successor.
	link := older.Header.Get("Link")
	target, ok := strings.CutSuffix(strings.TrimPrefix(link, "<"), `>; rel="successor-version"`)
	ref, err := url.Parse(target)
	switch {
	case !ok || !strings.HasPrefix(link, "<") || err != nil:
		tb.Errorf("the deprecated path's Link is %q, want <reference>; rel=\"successor-version\"", link)
	case ref.IsAbs() || strings.HasPrefix(target, "/"):
		tb.Errorf("the deprecated path's Link %q is not relative to the path called: behind a prefix it would lead elsewhere", link)
	case older.URL == nil:
		tb.Error("the deprecated path's answer does not say what was called")
	default:
		if got := older.URL.ResolveReference(ref).EscapedPath(); got != successor {
			tb.Errorf("the deprecated path's Link %q, resolved against %s, is %s, want %s", link, older.URL.EscapedPath(), got, successor)
		}
	}
}
