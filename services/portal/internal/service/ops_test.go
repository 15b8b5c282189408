package service

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/oidcdev/oidcdevtest"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// stubFlow stands where the OpenID Connect flow plugs in (its own package): Start
// sends to a provider, Finish names the person when the callback carries good=1.
type stubFlow struct{}

func (stubFlow) Start(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "https://id.example.org/authorize", http.StatusFound)
	return nil
}

func (stubFlow) Finish(_ http.ResponseWriter, r *http.Request) (signin.OpsPerson, error) {
	if r.URL.Query().Get("good") != "1" {
		return signin.OpsPerson{}, errors.New("state does not match")
	}
	return signin.OpsPerson{Subject: "ops-sub-1", Email: "ops@itss.org.uk", Name: "Olu Ops"}, nil
}

// /signin/ops and /auth/callback hand ITSS staff to the plugged-in flow: a good
// callback starts a session, a bad one is refused, and without a flow both pages say
// the sign-in is not available.
func TestOpsSigninHook(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{ops: stubFlow{}})
	if r := p.do("GET", "/signin/ops", "", nil); r.status != http.StatusFound || r.header.Get("Location") != "https://id.example.org/authorize" {
		t.Fatalf("GET /signin/ops = %d to %q", r.status, r.header.Get("Location"))
	}
	if r := p.do("GET", "/auth/callback?good=0", "", nil); r.status != http.StatusForbidden || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("a failed callback = %d, cookie %q", r.status, r.header.Get("Set-Cookie"))
	}
	r := p.do("GET", "/auth/callback?good=1", "", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("a good callback = %d: %s", r.status, r.body)
	}
	account := p.do("GET", "/account", sessionCookie(t, r), nil)
	if account.status != http.StatusOK || !strings.Contains(account.body, "signed in as ITSS staff") || !strings.Contains(account.body, "Olu Ops") {
		t.Fatalf("ops account page = %d: %s", account.status, account.body)
	}

}

// TestOpsSignInThroughTheOpenIDProvider: ITSS staff sign in through the identity
// provider the portal is configured with (authorization code with PKCE), and only a
// member of the ops group becomes ops; the groups claim decides, never a role the
// person chose.
func TestOpsSignInThroughTheOpenIDProvider(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	signIn := func(email string) response {
		t.Helper()
		start := p.do("GET", "/signin/ops", "", nil)
		if start.status != http.StatusFound && start.status != http.StatusSeeOther {
			t.Fatalf("GET /signin/ops = %d: %s", start.status, start.body)
		}
		var flow string
		for _, c := range (&http.Response{Header: start.header}).Cookies() {
			if c.Value != "" {
				flow = c.Name + "=" + c.Value
			}
		}
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		res := oidcdevtest.SignIn(t, &http.Client{Jar: jar}, start.header.Get("Location"), email, testOpsPassword)
		if res.Location == nil || res.Location.Path != "/auth/callback" {
			t.Fatalf("the provider did not send %s back to the callback: %d %v %s", email, res.Status, res.Location, res.Body)
		}
		return p.do("GET", "/auth/callback?"+res.Location.RawQuery, flow, nil)
	}
	ok := signIn(oidcdev.LocalOpsEmail)
	if ok.status != http.StatusSeeOther {
		t.Fatalf("the ops user's callback = %d: %s", ok.status, ok.body)
	}
	account := p.do("GET", "/account", sessionCookie(t, ok), nil)
	if account.status != http.StatusOK || !strings.Contains(account.body, "signed in as ITSS staff") {
		t.Fatalf("ops account page = %d: %s", account.status, account.body)
	}
	if colleague := signIn(testColleague); colleague.status != http.StatusForbidden || strings.Contains(colleague.header.Get("Set-Cookie"), "tc_session=") {
		t.Fatalf("a colleague outside the ops group: %d, cookie %q", colleague.status, colleague.header.Get("Set-Cookie"))
	}
}
