package service

import (
	"net/http"
	"testing"
)

// withOutcome is cookie with the outcome an action's answer r gave the browser to
// show on the page it redirects to, as a browser sends them both there.
func withOutcome(t *testing.T, cookie string, r response) string {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "tc_outcome" && c.Value != "" {
			return cookie + "; " + c.Name + "=" + c.Value
		}
	}
	t.Fatalf("the answer (%d to %q) gave the browser no outcome to show", r.status, r.header.Get("Location"))
	return ""
}
