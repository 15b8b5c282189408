package ops

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// Over https the flow cookie is Secure and __Secure- prefixed (its path is the
// callback's, so it cannot be __Host-): a browser takes a cookie of that name only
// from an https page, so that no sibling domain or plain-http page plants a flow of
// its own; and the callback reads the flow only under that name (ASVS 5 3.3.1).
func TestTheFlowCookieIsSecurePrefixedOverHTTPS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// The provider does not answer: the flow is made, and the callback gets as far
	// as exchanging the code only when it found its cookie.
	f, err := New(ctx, Config{Issuer: "http://127.0.0.1:1", ClientID: "portal", ClientSecret: "secret",
		RedirectURL: "https://portal.test/auth/callback", OpsGroup: "itss-ops", CookieKey: make([]byte, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := f.cookie("v", 60); c.Name != "__Secure-tc_ops_signin" || !c.Secure || c.Path != "/auth/callback" {
		t.Fatalf("flow cookie %+v, want __Secure-tc_ops_signin, Secure, Path=/auth/callback", c)
	}
	value, err := f.seal(flowState{State: "st", Nonce: "n", Verifier: "v", Expires: time.Now().Add(flowLifetime)})
	if err != nil {
		t.Fatal(err)
	}
	for name, wantUnavailable := range map[string]bool{"tc_ops_signin": false, "__Secure-tc_ops_signin": true} {
		r := httptest.NewRequest("GET", "https://portal.test/auth/callback?"+url.Values{"state": {"st"}, "code": {"c"}}.Encode(), nil)
		r.AddCookie(&http.Cookie{Name: name, Value: value})
		w := httptest.NewRecorder()
		_, err := f.Finish(w, r)
		if got := errors.Is(err, ErrProviderUnavailable); got != wantUnavailable {
			t.Errorf("flow in a cookie named %s: %v (read as the flow: %t, want %t)", name, err, got, wantUnavailable)
		}
		cleared := w.Result().Cookies()
		if len(cleared) != 1 || cleared[0].Name != "__Secure-tc_ops_signin" || cleared[0].MaxAge >= 0 {
			t.Errorf("the callback clears %+v, want __Secure-tc_ops_signin", cleared)
		}
	}
}
