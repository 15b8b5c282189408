package ops

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/oidcdev/oidcdevtest"
)

const (
	clientSecret = "portal-secret-for-the-ops-tests"
	opsPassword  = "ops password for the tests"
	otherEmail   = "colleague@itss.example"
)

// portal is the part of the portal these tests need: its two sign-in routes,
// served over HTTP, in front of a real OpenID provider.
type portal struct {
	t        *testing.T
	url      string
	flow     *Flow
	hc       *http.Client // the browser: a cookie jar, redirects not followed
	key      []byte
	issuer   string
	redirect string
	// provider is the identity provider, answering until it is closed.
	provider *gated
}

func startPortal(t *testing.T) *portal {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p := &portal{t: t, url: "http://" + srv.Listener.Addr().String()}
	p.redirect = p.url + "/auth/callback"
	local := oidcdev.Local{OpsPassword: opsPassword, ClientSecret: clientSecret}
	idp := httptest.NewUnstartedServer(nil)
	p.issuer = "http://" + idp.Listener.Addr().String()
	provider, err := oidcdev.New(oidcdev.Config{
		Issuer:       p.issuer,
		ClientID:     oidcdev.LocalClientID,
		ClientSecret: clientSecret,
		RedirectURIs: []string{p.redirect},
		Users: []oidcdev.User{
			local.OpsUser(),
			{Subject: "colleague", Email: otherEmail, Name: "A Colleague", Password: opsPassword, Groups: []string{"itss-finance"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.provider = &gated{next: provider}
	p.provider.open.Store(true)
	idp.Config.Handler = p.provider
	idp.Start()
	t.Cleanup(idp.Close)
	p.key = make([]byte, 32)
	if _, err := rand.Read(p.key); err != nil {
		t.Fatal(err)
	}
	p.flow = p.newFlow()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /signin/ops", func(w http.ResponseWriter, r *http.Request) {
		if err := p.flow.Start(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /auth/callback", func(w http.ResponseWriter, r *http.Request) { finish(p.flow, w, r) })
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	p.hc = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return p
}

func (p *portal) newFlow() *Flow {
	p.t.Helper()
	f, err := New(p.t.Context(), Config{
		Issuer: p.issuer, ClientID: oidcdev.LocalClientID, ClientSecret: clientSecret,
		RedirectURL: p.redirect, OpsGroup: oidcdev.LocalOpsGroup, CookieKey: p.key,
	}, nil)
	if err != nil {
		p.t.Fatalf("new flow: %v", err)
	}
	return f
}

// finish is how the portal's callback is expected to use Finish: the person on
// success, otherwise the error's message with a status chosen by errors.Is.
func finish(f *Flow, w http.ResponseWriter, r *http.Request) {
	person, err := f.Finish(w, r)
	var ae *apperr.Error
	switch {
	case err == nil:
		_ = json.NewEncoder(w).Encode(person)
	case errors.Is(err, ErrNotOpsMember) && errors.As(err, &ae):
		http.Error(w, ae.Message, http.StatusForbidden)
	case errors.Is(err, ErrProviderUnavailable) && errors.As(err, &ae) && ae.Code == apperr.Unavailable:
		http.Error(w, ae.Message, http.StatusServiceUnavailable)
	case errors.Is(err, ErrSignInFailed) && errors.As(err, &ae):
		http.Error(w, ae.Message, http.StatusUnauthorized)
	default:
		http.Error(w, "untyped error: "+err.Error(), http.StatusInternalServerError)
	}
}

// begin follows the portal's sign-in link and the provider's login, and returns
// the callback URL the provider sends the browser to.
func (p *portal) begin(email string) *url.URL {
	p.t.Helper()
	resp, err := p.hc.Get(p.url + "/signin/ops")
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	authorize, err := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(authorize.String(), p.issuer) {
		p.t.Fatalf("/signin/ops: status %d location %v, want 303 to the provider", resp.StatusCode, authorize)
	}
	res := oidcdevtest.SignIn(p.t, p.hc, authorize.String(), email, opsPassword)
	if res.Location == nil || !strings.HasPrefix(res.Location.String(), p.redirect+"?") {
		p.t.Fatalf("provider: status %d location %v, want a redirect to %s: %s", res.Status, res.Location, p.redirect, res.Body)
	}
	return res.Location
}

// callback is the browser arriving at the callback, with its cookie jar.
func (p *portal) callback(u *url.URL) (int, string) {
	p.t.Helper()
	return p.do(u, nil)
}

// do requests u with the jar, or with exactly the given cookie when it is set.
func (p *portal) do(u *url.URL, c *http.Cookie) (int, string) {
	p.t.Helper()
	req, err := http.NewRequestWithContext(p.t.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		p.t.Fatal(err)
	}
	hc := p.hc
	if c != nil {
		hc = &http.Client{CheckRedirect: p.hc.CheckRedirect}
		req.AddCookie(c)
	}
	resp, err := hc.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// flowCookie is the browser's flow cookie as the jar would send it to the callback.
func (p *portal) flowCookie() *http.Cookie {
	p.t.Helper()
	u, _ := url.Parse(p.redirect)
	for _, c := range p.hc.Jar.Cookies(u) {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

func TestOpsMemberSignsIn(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	status, body := p.callback(p.begin(oidcdev.LocalOpsEmail))
	if status != http.StatusOK {
		t.Fatalf("callback: status %d: %s", status, body)
	}
	var got Person
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := Person{Subject: "local-ops", Email: oidcdev.LocalOpsEmail, Name: oidcdev.LocalOpsName}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("person (-want +got):\n%s", diff)
	}
	if c := p.flowCookie(); c != nil {
		t.Fatalf("flow cookie still set after the sign-in: %+v", c)
	}
}

func TestFlowCookieIsNarrow(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	resp, err := p.hc.Get(p.url + "/signin/ops")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var c *http.Cookie
	for _, rc := range resp.Cookies() {
		if rc.Name == cookieName {
			c = rc
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/auth/callback" || c.MaxAge <= 0 || c.MaxAge > 600 {
		t.Fatalf("flow cookie %+v: want HttpOnly, SameSite=Lax, Path=/auth/callback, Max-Age up to 600", c)
	}
	q := resp.Header.Get("Location")
	for _, want := range []string{"code_challenge_method=S256", "code_challenge=", "nonce=", "state=", "scope=openid"} {
		if !strings.Contains(q, want) {
			t.Fatalf("authorize URL %s lacks %s", q, want)
		}
	}
}

func TestNonMemberRefused(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	status, body := p.callback(p.begin(otherEmail))
	if status != http.StatusForbidden || !strings.Contains(body, MsgNotOpsMember) {
		t.Fatalf("callback for someone outside the ops group: status %d %q, want 403 %q", status, body, MsgNotOpsMember)
	}
}

func TestReplayedCallbackRefused(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	cb := p.begin(oidcdev.LocalOpsEmail)
	cookie := p.flowCookie()
	if status, body := p.callback(cb); status != http.StatusOK {
		t.Fatalf("first callback: status %d: %s", status, body)
	}

	// The browser's jar has dropped the cookie, so a reload fails.
	if status, body := p.callback(cb); status != http.StatusUnauthorized || !strings.Contains(body, MsgSignInFailed) {
		t.Fatalf("reloaded callback: status %d %q, want 401", status, body)
	}
	// Someone who captured both the callback URL and the cookie fails too, at
	// this replica (the state is spent) and at another (the code is spent).
	if status, body := p.do(cb, cookie); status != http.StatusUnauthorized || !strings.Contains(body, MsgSignInFailed) {
		t.Fatalf("replayed callback with its cookie: status %d %q, want 401", status, body)
	}
	other := p.newFlow()
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, cb.String(), nil)
	req.AddCookie(cookie)
	if _, err := other.Finish(rec, req); !errors.Is(err, ErrSignInFailed) {
		t.Fatalf("replay at another replica: %v, want ErrSignInFailed", err)
	}
}

func TestTamperedStateCookieRefused(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	cb := p.begin(oidcdev.LocalOpsEmail)
	cookie := p.flowCookie()

	tampered := *cookie
	b := []byte(tampered.Value)
	i := len(b) / 2
	b[i] = map[bool]byte{true: 'B', false: 'A'}[b[i] == 'A']
	tampered.Value = string(b)
	if status, body := p.do(cb, &tampered); status != http.StatusUnauthorized || !strings.Contains(body, MsgSignInFailed) {
		t.Fatalf("tampered cookie: status %d %q, want 401", status, body)
	}

	// A cookie sealed under another key (another deployment) does not open either.
	foreign := *cookie
	otherKey := make([]byte, 32)
	if _, err := rand.Read(otherKey); err != nil {
		t.Fatal(err)
	}
	f, err := New(t.Context(), Config{Issuer: p.issuer, ClientID: oidcdev.LocalClientID, ClientSecret: clientSecret,
		RedirectURL: p.redirect, OpsGroup: oidcdev.LocalOpsGroup, CookieKey: otherKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.flow.open(cookie.Value)
	if err != nil {
		t.Fatal(err)
	}
	if foreign.Value, err = f.seal(st); err != nil {
		t.Fatal(err)
	}
	if status, body := p.do(cb, &foreign); status != http.StatusUnauthorized {
		t.Fatalf("cookie sealed under another key: status %d %q, want 401", status, body)
	}

	// The untouched cookie still works: the refusals above were about the cookie.
	if status, body := p.do(cb, cookie); status != http.StatusOK {
		t.Fatalf("untouched cookie: status %d %q, want 200", status, body)
	}
}

// A callback whose state is not the one in the browser's cookie (an attacker's
// code planted in the victim's browser) is refused.
func TestCallbackFromAnotherFlowRefused(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	attackers := p.begin(oidcdev.LocalOpsEmail)
	p.begin(oidcdev.LocalOpsEmail) // the victim's own flow sets the cookie
	if status, body := p.callback(attackers); status != http.StatusUnauthorized {
		t.Fatalf("callback of another flow: status %d %q, want 401", status, body)
	}
}

func TestExpiredFlowRefused(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	cb := p.begin(oidcdev.LocalOpsEmail)
	later := time.Now().Add(flowLifetime + time.Second)
	p.flow.now = func() time.Time { return later }
	if status, body := p.callback(cb); status != http.StatusUnauthorized {
		t.Fatalf("callback after the flow's lifetime: status %d %q, want 401", status, body)
	}
}

func TestProviderErrorRefused(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	cb := p.begin(oidcdev.LocalOpsEmail)
	// Even with a code beside it, an error from the provider ends the sign-in.
	q := cb.Query()
	q.Set("error", "access_denied")
	denied := *cb
	denied.RawQuery = q.Encode()
	if status, body := p.callback(&denied); status != http.StatusUnauthorized {
		t.Fatalf("callback with error=access_denied: status %d %q, want 401", status, body)
	}
}

func TestStateMismatchRefused(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	cb := p.begin(oidcdev.LocalOpsEmail)
	cookie := p.flowCookie()
	q := cb.Query()
	q.Set("state", q.Get("state")+"x")
	forged := *cb
	forged.RawQuery = q.Encode()
	if status, body := p.do(&forged, cookie); status != http.StatusUnauthorized {
		t.Fatalf("callback with another state: status %d %q, want 401", status, body)
	}
	// The same code and cookie with the right state go through: the refusal was
	// the state's.
	if status, body := p.do(cb, cookie); status != http.StatusOK {
		t.Fatalf("callback with its own state: status %d %q, want 200", status, body)
	}
}

func TestParseGroups(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw     string
		want    []string
		wantErr bool
	}{
		{`["itss-ops","x"]`, []string{"itss-ops", "x"}, false},
		{`"itss-ops"`, []string{"itss-ops"}, false},
		{``, nil, false},
		{`null`, nil, false},
		{`{"itss-ops":true}`, nil, true},
		{`[1,2]`, nil, true},
	} {
		got, err := parseGroups(json.RawMessage(tc.raw))
		if (err != nil) != tc.wantErr || !cmp.Equal(tc.want, got) {
			t.Errorf("parseGroups(%s) = %v, %v; want %v, error %v", tc.raw, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := Config{Issuer: "https://id.itss.example", ClientID: "tc-portal", ClientSecret: "s",
		RedirectURL: "https://portal.itss.example/auth/callback", OpsGroup: "itss-ops", CookieKey: make([]byte, 32)}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	local := good
	local.Issuer, local.RedirectURL = "http://127.0.0.1:8078", "http://127.0.0.1:8080/auth/callback"
	if err := local.Validate(); err != nil {
		t.Fatalf("loopback http config: %v", err)
	}
	bad := Config{Issuer: "http://id.itss.example", RedirectURL: "ftp://x", CookieKey: []byte("short")}
	err := bad.Validate()
	for _, want := range []string{"PORTAL_OIDC_ISSUER", "PORTAL_OIDC_REDIRECT_URL", "PORTAL_OIDC_CLIENT_ID", "PORTAL_OIDC_CLIENT_SECRET", "PORTAL_OPS_GROUP", "cookie key"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad config: %v; want it to name %s", err, want)
		}
	}
}

// The ID token must carry the nonce of the flow, and the code is redeemed only
// with the flow's own verifier. Each is changed here in a cookie sealed with the
// portal's key, which an attacker cannot do, to show that Finish checks it.
func TestFlowBindsNonceAndVerifier(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(*flowState){
		"nonce":    func(st *flowState) { st.Nonce = "another-flow's-nonce" },
		"verifier": func(st *flowState) { st.Verifier = "another-flow's-verifier-0123456789012345678901" },
	} {
		p := startPortal(t)
		cb := p.begin(oidcdev.LocalOpsEmail)
		cookie := *p.flowCookie()
		st, err := p.flow.open(cookie.Value)
		if err != nil {
			t.Fatal(err)
		}
		change(&st)
		if cookie.Value, err = p.flow.seal(st); err != nil {
			t.Fatal(err)
		}
		if status, body := p.do(cb, &cookie); status != http.StatusUnauthorized {
			t.Fatalf("%s of another flow: status %d %q, want 401", name, status, body)
		}
	}
}

func TestStateUsedOnce(t *testing.T) {
	t.Parallel()
	f := &Flow{now: time.Now, used: make(map[string]time.Time)}
	exp := time.Now().Add(time.Minute)
	if !f.markUsed("s1", exp) || f.markUsed("s1", exp) || !f.markUsed("s2", exp) {
		t.Fatal("a state must be accepted once and only once")
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	t.Parallel()
	c := Config{CookieKey: make([]byte, 32)}
	err := config.LoadFrom(&c, map[string]string{
		"PORTAL_OIDC_ISSUER":        "https://id.itss.example",
		"PORTAL_OIDC_CLIENT_ID":     "tc-portal",
		"PORTAL_OIDC_CLIENT_SECRET": "s3cret",
		"PORTAL_OIDC_REDIRECT_URL":  "https://portal.itss.example/auth/callback",
		"PORTAL_OPS_GROUP":          "itss-ops",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Issuer: "https://id.itss.example", ClientID: "tc-portal", ClientSecret: "s3cret",
		RedirectURL: "https://portal.itss.example/auth/callback", OpsGroup: "itss-ops", CookieKey: make([]byte, 32)}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Fatalf("config (-want +got):\n%s", diff)
	}
	if err := config.LoadFrom(&Config{CookieKey: make([]byte, 32)}, map[string]string{}); err == nil || !strings.Contains(err.Error(), "PORTAL_OIDC_ISSUER must be set") {
		t.Fatalf("empty environment: %v, want PORTAL_OIDC_ISSUER must be set", err)
	}
}

// TestConcurrentCallbacksOneSignIn races copies of one callback, cookie and all:
// exactly one signs the person in.
func TestConcurrentCallbacksOneSignIn(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	cb := p.begin(oidcdev.LocalOpsEmail)
	cookie := p.flowCookie()
	const n = 12
	statuses := make(chan int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, cb.String(), nil)
			if err != nil {
				statuses <- 0
				return
			}
			req.AddCookie(cookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[http.StatusOK] != 1 || counts[http.StatusUnauthorized] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d 401", counts, n-1)
	}
}

// gated answers 503 until it is opened, then is the provider: an identity provider
// down when the portal starts, and back later.
type gated struct {
	open atomic.Bool
	next http.Handler
}

func (g *gated) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.open.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	g.next.ServeHTTP(w, r)
}

// A provider that does not answer when the portal starts does not stop it (a pod
// restarted during an outage crash-looped, and every page with it): the flow is made,
// a sign-in then says the provider is unavailable, and once it answers, sign-in works
// without a restart.
func TestAProviderDownAtStartIsDiscoveredWhenItAnswers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	local := oidcdev.Local{OpsPassword: opsPassword, ClientSecret: clientSecret}
	provider, err := oidcdev.New(oidcdev.Config{Issuer: issuer, ClientID: oidcdev.LocalClientID, ClientSecret: clientSecret,
		RedirectURIs: []string{"http://127.0.0.1/auth/callback"}, Users: []oidcdev.User{local.OpsUser()}})
	if err != nil {
		t.Fatal(err)
	}
	gate := &gated{next: provider}
	srv.Config.Handler = gate
	srv.Start()
	t.Cleanup(srv.Close)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	f, err := New(t.Context(), Config{Issuer: issuer, ClientID: oidcdev.LocalClientID, ClientSecret: clientSecret,
		RedirectURL: "http://127.0.0.1/auth/callback", OpsGroup: oidcdev.LocalOpsGroup, CookieKey: key}, nil)
	if err != nil {
		t.Fatalf("the flow with its provider down: %v", err)
	}
	now := time.Now()
	f.now = func() time.Time { return now }
	start := func() (*httptest.ResponseRecorder, error) {
		rec := httptest.NewRecorder()
		return rec, f.Start(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/signin/ops", nil))
	}
	if _, err := start(); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("a sign-in with the provider down: %v, want ErrProviderUnavailable", err)
	}
	gate.open.Store(true)
	now = now.Add(rediscoverEvery)
	rec, err := start()
	if err != nil || rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), issuer) {
		t.Errorf("a sign-in once the provider answers: %v, %d to %q", err, rec.Code, rec.Header().Get("Location"))
	}
}

// A provider that stops answering between the person's sign-in there and the
// callback (a restart, an outage) leaves the sign-in unfinished for a reason of its
// own, not the person's: the callback says the provider is unavailable, to be tried
// again, where it used to say the sign-in failed, which the portal showed as 403
// "Your ITSS account could not be signed in", as if the account were refused.
func TestAProviderDownAtTheCallbackIsUnavailableNotARefusal(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	cb := p.begin(oidcdev.LocalOpsEmail)
	p.provider.open.Store(false)
	status, body := p.callback(cb)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, MsgProviderUnavailable) {
		t.Errorf("callback with the provider down: %d %q, want 503 %q", status, body, MsgProviderUnavailable)
	}
}
