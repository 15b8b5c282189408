package service

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/itss/techcommit/services/portal/internal/signin"
)

// stubFlow stands where the OpenID Connect flow plugs in (its own package): Start
// sends to a provider, Finish names the person when the callback carries good=1.
type stubFlow struct{}

func (stubFlow) Start(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "https://id.example.org/authorize", http.StatusFound)
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

	none := startPortal(t, services{})
	for _, path := range []string{"/signin/ops", "/auth/callback"} {
		if r := none.do("GET", path, "", nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s without a flow = %d, want 404", path, r.status)
		}
	}
}
