package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
)

// Identify is what the HTTP server runs before every handler: a request without a
// token goes on anonymous, a malformed or bad one is refused as unauthenticated, and
// a good one goes on with its caller in the context.
func TestIdentifyPutsTheCallerInTheRequest(t *testing.T) {
	t.Parallel()
	issuer, v := newIssuer(t)
	want := auth.Principal{Subject: "sam", Role: auth.RoleLead, Org: "org1"}
	tok, err := issuer.Mint(want, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	request := func(authorization string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/v1/organisations", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		return r
	}

	r, err := v.Identify(request(""))
	if err != nil {
		t.Fatalf("no token: %v", err)
	}
	if p, ok := auth.FromContext(r.Context()); ok {
		t.Errorf("no token: the request goes on as %+v, want anonymous", p)
	}

	for _, bad := range []string{"Basic c2FtOnNlY3JldA==", "Bearer", "Bearer  ", tok, "Bearer " + tok + "x"} {
		if _, err := v.Identify(request(bad)); !apperr.Is(err, apperr.Unauthenticated) {
			t.Errorf("Authorization %q: got %v, want unauthenticated", bad, err)
		}
	}

	r, err = v.Identify(request("bearer " + tok))
	if err != nil {
		t.Fatalf("good token: %v", err)
	}
	got, ok := auth.FromContext(r.Context())
	if !ok {
		t.Fatal("good token: no caller in the request's context")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("caller (-want +got):\n%s", diff)
	}
}
