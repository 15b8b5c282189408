// Package oidcdevtest runs the development OpenID provider in tests and plays the
// browser's part at its login page, so relying parties (the portal) test their
// sign-in against a real provider over HTTP.
package oidcdevtest

import (
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"

	"github.com/itss/techcommit/libs/oidcdev"
)

// Start serves a provider for cfg on a loopback port for the test's lifetime and
// returns its issuer URL; cfg.Issuer is set to it.
func Start(tb testing.TB, cfg oidcdev.Config) string {
	tb.Helper()
	srv := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + srv.Listener.Addr().String()
	if cfg.SigningKey == nil {
		cfg.SigningKey = sharedKey(tb)
	}
	p, err := oidcdev.New(cfg)
	if err != nil {
		srv.Close()
		tb.Fatalf("start OIDC provider: %v", err)
	}
	srv.Config.Handler = p
	srv.Start()
	tb.Cleanup(srv.Close)
	return cfg.Issuer
}

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
	keyErr  error
)

// sharedKey is one signing key for every provider a test process starts: each
// provider is its own issuer, at its own address, so tokens of one are refused by
// another's clients for their issuer, and making a 2048-bit key took a tenth of the
// portal's tests' processor time, one for each test.
func sharedKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	keyOnce.Do(func() { key, keyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if keyErr != nil {
		tb.Fatalf("OIDC provider's signing key: %v", keyErr)
	}
	return key
}

// Result is where the browser ends up: the last response the provider gave, and
// its Location when that is a redirect out of the provider (to the client's
// callback, with a code or an error).
type Result struct {
	Status   int
	Location *url.URL
	Body     string
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	requestID  = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)
)

// SignIn follows authorizeURL through the provider as a browser would: to the
// login page, submitting email and password there, and on through the provider's
// redirects until one leaves the issuer (the callback) or a page is shown (an
// error, or the login page again after a wrong password). hc's cookie jar, if
// any, is used; its redirect policy is not.
func SignIn(tb testing.TB, hc *http.Client, authorizeURL, email, password string) Result {
	tb.Helper()
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	start, err := url.Parse(authorizeURL)
	if err != nil {
		tb.Fatalf("authorize URL: %v", err)
	}
	submitted := false
	resp := get(tb, &c, authorizeURL)
	for range 10 {
		switch {
		case resp.Status >= 300 && resp.Status < 400:
			if resp.Location.Host != start.Host {
				return resp
			}
			resp = get(tb, &c, resp.Location.String())
		case resp.Status == http.StatusOK && !submitted && requestID.MatchString(resp.Body):
			action := formAction.FindStringSubmatch(resp.Body)
			if action == nil {
				tb.Fatalf("login page has no form: %s", resp.Body)
			}
			target := start.ResolveReference(&url.URL{Path: action[1]})
			form := url.Values{
				"authRequestID": {requestID.FindStringSubmatch(resp.Body)[1]},
				"email":         {email},
				"password":      {password},
			}
			r, err := c.PostForm(target.String(), form)
			if err != nil {
				tb.Fatalf("submit login form: %v", err)
			}
			resp = result(tb, r)
			submitted = true
		default:
			return resp
		}
	}
	tb.Fatalf("more than 10 steps through the provider from %s", authorizeURL)
	return Result{}
}

func get(tb testing.TB, c *http.Client, u string) Result {
	tb.Helper()
	r, err := c.Get(u)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	return result(tb, r)
}

func result(tb testing.TB, r *http.Response) Result {
	tb.Helper()
	defer r.Body.Close()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		tb.Fatalf("read %s: %v", r.Request.URL, err)
	}
	res := Result{Status: r.StatusCode, Body: string(body)}
	if loc, err := r.Location(); err == nil {
		res.Location = loc
	}
	return res
}
