// Package ops signs ITSS operations staff in to the portal through OpenID Connect:
// the authorization code flow with PKCE against the identity provider ITSS
// configures. Being ops is membership of a configured group in the provider's
// groups claim, never a role the person could choose.
//
// Between Start and Finish the flow keeps its state, nonce and PKCE verifier in a
// short-lived cookie encrypted and authenticated with AES-GCM, so any portal
// replica can finish a sign-in another began and no server-side session exists
// before the person is known.
package ops

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/config"
)

const (
	// flowLifetime bounds a sign-in from Start to Finish: long enough to type a
	// password, short enough that a stolen flow cookie is soon worthless.
	flowLifetime = 10 * time.Minute
	// cookieName names the flow cookie; it is sent only to the callback's path.
	cookieName = "tc_ops_signin"
	// groupsClaim is where providers (Dex, Keycloak, Entra ID with group claims,
	// the local stack's) list the person's groups.
	groupsClaim = "groups"
	scopeGroups = "groups"
)

// The two ways a sign-in ends without a person, for errors.Is. Finish returns them
// inside an *apperr.Error whose Message is fit to show.
var (
	// ErrNotOpsMember: the person signed in at the provider but is not in the
	// configured ops group.
	ErrNotOpsMember = errors.New("not a member of the operations group")
	// ErrSignInFailed: anything else (expired or tampered flow, a replayed
	// callback, the provider refused, an ID token that does not verify). The
	// person can only start again.
	ErrSignInFailed = errors.New("sign-in failed")
)

// Messages for the person, in the portal's voice.
const (
	MsgNotOpsMember = "You are not in the ITSS operations group, so you cannot sign in here. Ask an ITSS administrator to add you to the group."
	MsgSignInFailed = "Sign-in failed. Please try again."
	// MsgProviderUnavailable is for a sign-in that ITSS's identity provider left
	// unfinished by not answering.
	MsgProviderUnavailable = "ITSS staff sign-in is unavailable at the moment: ITSS's identity provider did not answer. Sign in again in a few minutes."
)

// Config says which provider ops sign in with and who counts as ops. The env
// tags let the portal's own Config embed it and read it with libs/config; none
// has a default, since each decides whom the portal trusts.
type Config struct {
	Issuer       string `env:"PORTAL_OIDC_ISSUER"`
	ClientID     string `env:"PORTAL_OIDC_CLIENT_ID"`
	ClientSecret string `env:"PORTAL_OIDC_CLIENT_SECRET"`
	// RedirectURL is the portal's callback as registered at the provider; the
	// flow cookie is scoped to its path and is Secure when it is https.
	RedirectURL string `env:"PORTAL_OIDC_REDIRECT_URL"`
	// OpsGroup is the group, as the provider names it in the groups claim, whose
	// members are ITSS operations staff.
	OpsGroup string `env:"PORTAL_OPS_GROUP"`
	// CookieKey (32 bytes) encrypts and authenticates the flow cookie. Replicas
	// of the portal share it. It is not read from the environment here: the
	// portal derives it from its own secret.
	CookieKey []byte
}

// Validate reports every problem of the configuration at once, naming the
// environment variable at fault.
func (c Config) Validate() error {
	var errs []error
	for _, v := range []struct{ key, value string }{{"PORTAL_OIDC_ISSUER", c.Issuer}, {"PORTAL_OIDC_REDIRECT_URL", c.RedirectURL}} {
		if err := config.ExactAddressProblem(v.key, v.value); err != nil {
			errs = append(errs, err)
		} else if err := checkURL(v.value); err != nil {
			errs = append(errs, fmt.Errorf("%s %w", v.key, err))
		}
	}
	for _, v := range []struct{ key, value string }{
		{"PORTAL_OIDC_CLIENT_ID", c.ClientID},
		{"PORTAL_OIDC_CLIENT_SECRET", c.ClientSecret},
		{"PORTAL_OPS_GROUP", c.OpsGroup},
	} {
		if v.value == "" {
			errs = append(errs, fmt.Errorf("%s must be set", v.key))
			continue
		}
		if v.key == "PORTAL_OIDC_CLIENT_SECRET" {
			continue // a secret, never quoted; the provider says if it is wrong
		}
		// The provider names the group and the client exactly: one written with
		// spaces about it names none, and ops could not sign in.
		if err := config.ExactProblem(v.key, v.value, "it is compared exactly with what the identity provider sends"); err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.CookieKey) != 32 {
		errs = append(errs, fmt.Errorf("the ops sign-in cookie key is %d bytes, want 32", len(c.CookieKey)))
	}
	return errors.Join(errs...)
}

// checkURL accepts https, and plain http only on a loopback host (the local
// stack), where nothing crosses a network. A refusal, which goes to the log, quotes
// the address with its user and password hidden.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("must be set")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || strings.HasSuffix(raw, "#") {
		// A user and password would be handed to whoever the address reaches, and
		// OAuth refuses a callback with a fragment (RFC 6749, 3.1.2).
		return fmt.Errorf("%q must be an absolute https:// URL without a user or fragment", config.WithoutPassword(raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if config.OnThisMachine(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q must be https:// (plain http:// only on a loopback address, for a local development stack)", config.WithoutPassword(raw))
	default:
		return fmt.Errorf("%q must be an https:// URL", config.WithoutPassword(raw))
	}
}

// Person is who signed in, as the provider vouches for them; the caller already
// knows they are ops.
type Person struct {
	Subject string // the provider's stable id for the person
	Email   string
	Name    string
}

// Flow runs the sign-in. It is safe for concurrent use.
type Flow struct {
	cfg Config
	// discovered holds the provider's endpoints and keys once its discovery
	// document was read (see ready).
	discoveryMu sync.Mutex
	oauth       oauth2.Config
	verifier    *oidc.IDTokenVerifier
	discovered  bool
	lastAttempt time.Time
	hc          *http.Client
	opsGroup    string
	aead        cipher.AEAD
	cookiePath  string
	secure      bool
	now         func() time.Time

	// used remembers the states of finished flows until their cookies expire, so
	// a callback replayed to this replica fails even before the provider refuses
	// its code a second time.
	mu   sync.Mutex
	used map[string]time.Time
}

// New returns the flow, and discovers the provider (its endpoints and keys) if it
// answers within ctx. A provider that does not answer does not stop the portal: its
// leads and reviewers sign in without it, and ITSS staff's sign-in discovers it when
// first used (ready). A portal pod restarted during an outage of ITSS's identity
// provider crash-looped, and took every page down with it. hc makes every call to
// the provider; nil means http.DefaultClient.
func New(ctx context.Context, cfg Config, hc *http.Client) (*Flow, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ops sign-in config: %w", err)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	block, err := aes.NewCipher(cfg.CookieKey)
	if err != nil {
		return nil, fmt.Errorf("ops sign-in cookie key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("ops sign-in cookie key: %w", err)
	}
	redirect, _ := url.Parse(cfg.RedirectURL) // checked by Validate
	f := &Flow{
		cfg:        cfg,
		hc:         hc,
		opsGroup:   cfg.OpsGroup,
		aead:       aead,
		cookiePath: redirect.EscapedPath(),
		secure:     redirect.Scheme == "https",
		now:        time.Now,
		used:       make(map[string]time.Time),
	}
	_ = f.ready(ctx) // tried again at the first sign-in when the provider did not answer
	return f, nil
}

// rediscoverEvery bounds how often an unanswered discovery is tried again, so that
// sign-ins during an outage do not each wait on the provider.
const rediscoverEvery = 10 * time.Second

// ErrProviderUnavailable says ITSS's identity provider could not be reached to start
// or finish a sign-in.
var ErrProviderUnavailable = errors.New("the identity provider did not answer")

// ready discovers the provider once: its endpoints for the code flow and its keys for
// ID tokens.
func (f *Flow) ready(ctx context.Context) error {
	f.discoveryMu.Lock()
	defer f.discoveryMu.Unlock()
	if f.discovered {
		return nil
	}
	if !f.lastAttempt.IsZero() && f.now().Sub(f.lastAttempt) < rediscoverEvery {
		return ErrProviderUnavailable
	}
	f.lastAttempt = f.now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, f.hc), f.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("discover OpenID provider %s: %w: %w", f.cfg.Issuer, ErrProviderUnavailable, err)
	}
	f.oauth = oauth2.Config{
		ClientID:     f.cfg.ClientID,
		ClientSecret: f.cfg.ClientSecret,
		RedirectURL:  f.cfg.RedirectURL,
		Endpoint:     provider.Endpoint(),
		Scopes:       []string{oidc.ScopeOpenID, "email", "profile", scopeGroups},
	}
	f.verifier = provider.Verifier(&oidc.Config{ClientID: f.cfg.ClientID})
	f.discovered = true
	return nil
}

// flowState is what the cookie carries from Start to Finish.
type flowState struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Expires  time.Time `json:"e"`
}

// Start sends the browser to the provider, remembering in the flow cookie what
// Finish must check.
func (f *Flow) Start(w http.ResponseWriter, r *http.Request) error {
	if err := f.ready(r.Context()); err != nil {
		return err
	}
	st := flowState{
		State:    rand.Text(),
		Nonce:    rand.Text(),
		Verifier: oauth2.GenerateVerifier(),
		Expires:  f.now().Add(flowLifetime),
	}
	value, err := f.seal(st)
	if err != nil {
		return fmt.Errorf("start ops sign-in: %w", err)
	}
	http.SetCookie(w, f.cookie(value, int(flowLifetime/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, f.oauth.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusSeeOther)
	return nil
}

// Finish completes the sign-in at the callback: it checks the state against the
// flow cookie, exchanges the code with the PKCE verifier, verifies the ID token
// (signature, issuer, audience, expiry, nonce), and requires a verified email
// when the provider says whether it is, and membership of the ops group. The
// flow cookie is cleared whatever the outcome. Errors are *apperr.Error:
// Forbidden wrapping ErrNotOpsMember, Unavailable wrapping ErrProviderUnavailable
// (the provider did not answer the exchange), or Unauthenticated wrapping
// ErrSignInFailed, each with a Message to show.
func (f *Flow) Finish(w http.ResponseWriter, r *http.Request) (Person, error) {
	http.SetCookie(w, f.cookie("", -1))
	w.Header().Set("Cache-Control", "no-store")

	c, err := r.Cookie(f.cookieName())
	if err != nil {
		return Person{}, failed("no sign-in in progress (flow cookie missing)", err)
	}
	st, err := f.open(c.Value)
	if err != nil {
		return Person{}, failed("flow cookie does not open", err)
	}
	if f.now().After(st.Expires) {
		return Person{}, failed("flow expired", nil)
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return Person{}, failed("state does not match the flow cookie", nil)
	}
	if !f.markUsed(st.State, st.Expires) {
		return Person{}, failed("callback replayed (state already used)", nil)
	}
	if e := q.Get("error"); e != "" {
		return Person{}, failed("provider answered "+e, errors.New(q.Get("error_description")))
	}
	code := q.Get("code")
	if code == "" {
		return Person{}, failed("callback without a code", nil)
	}

	if err := f.ready(r.Context()); err != nil {
		return Person{}, providerDown("discover the provider", err)
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, f.hc)
	tok, err := f.oauth.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	var refused *oauth2.RetrieveError
	switch {
	case errors.As(err, &refused) && refused.Response != nil && refused.Response.StatusCode < http.StatusInternalServerError:
		return Person{}, failed("exchange the code", err) // the provider answered, and refused the code
	case err != nil:
		return Person{}, providerDown("exchange the code", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Person{}, failed("token response without an ID token", nil)
	}
	idToken, err := f.verifier.Verify(oidc.ClientContext(r.Context(), f.hc), raw)
	if err != nil {
		return Person{}, failed("verify the ID token", err)
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(st.Nonce)) != 1 {
		return Person{}, failed("ID token nonce does not match the flow", nil)
	}
	var claims struct {
		Email         string          `json:"email"`
		EmailVerified *bool           `json:"email_verified"`
		Name          string          `json:"name"`
		Groups        json.RawMessage `json:"groups"`
	}
	if err := idToken.Claims(&claims); err != nil {
		return Person{}, failed("read the ID token's claims", err)
	}
	if claims.EmailVerified != nil && !*claims.EmailVerified {
		return Person{}, failed("email not verified at the provider", nil)
	}
	groups, err := parseGroups(claims.Groups)
	if err != nil {
		return Person{}, failed("read the groups claim", err)
	}
	if !slices.Contains(groups, f.opsGroup) {
		return Person{}, &apperr.Error{Code: apperr.Forbidden, Message: MsgNotOpsMember,
			Err: fmt.Errorf("subject %s: %w", idToken.Subject, ErrNotOpsMember)}
	}
	return Person{Subject: idToken.Subject, Email: claims.Email, Name: claims.Name}, nil
}

// parseGroups reads the groups claim, which providers give as an array of
// strings, or as one string when there is a single group. Absent means none.
func parseGroups(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err == nil {
		return many, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, fmt.Errorf("%s claim is neither a string nor a list of strings", groupsClaim)
	}
	return []string{one}, nil
}

// failed is the error for every sign-in that cannot go on; why is for the log.
func failed(why string, cause error) error {
	err := fmt.Errorf("%s: %w", why, ErrSignInFailed)
	if cause != nil {
		err = fmt.Errorf("%s: %w: %w", why, ErrSignInFailed, cause)
	}
	return &apperr.Error{Code: apperr.Unauthenticated, Message: MsgSignInFailed, Err: err}
}

// providerDown is the error for a sign-in the provider left unfinished by not
// answering (or answering with a failure of its own): the person did nothing wrong,
// and signs in again once it answers.
func providerDown(why string, cause error) error {
	return &apperr.Error{Code: apperr.Unavailable, Message: MsgProviderUnavailable,
		Err: fmt.Errorf("%s: %w: %w", why, ErrProviderUnavailable, cause)}
}

// markUsed records a state as finished and reports whether it was new.
func (f *Flow) markUsed(state string, expires time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	for s, exp := range f.used {
		if now.After(exp) {
			delete(f.used, s)
		}
	}
	if _, seen := f.used[state]; seen {
		return false
	}
	f.used[state] = expires
	return true
}

// cookieName is the flow cookie's name: __Secure- prefixed when the callback is
// https (its path is the callback's, so it cannot be __Host-), so that a browser
// takes a cookie of that name only from an https page, never one a sibling domain
// or a plain-http page planted.
func (f *Flow) cookieName() string {
	if f.secure {
		return "__Secure-" + cookieName
	}
	return cookieName
}

func (f *Flow) cookie(value string, maxAge int) *http.Cookie {
	// #nosec G124 -- HttpOnly and SameSite=Lax always; Secure whenever the callback is
	// https (only a local development stack's is plain http, where a Secure cookie is
	// never sent back).
	return &http.Cookie{
		Name:     f.cookieName(),
		Value:    value,
		Path:     f.cookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   f.secure,
		// Lax, not Strict: the callback is a top-level navigation from the
		// provider's site, which Strict would send without the cookie.
		SameSite: http.SameSiteLaxMode,
	}
}

// seal encrypts and authenticates the flow state; the cookie's name is bound in
// as associated data so the value cannot be replayed under another cookie.
func (f *Flow) seal(st flowState) (string, error) {
	plain, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("encode flow state: %w", err)
	}
	nonce := make([]byte, f.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("flow cookie nonce: %w", err)
	}
	sealed := f.aead.Seal(nonce, nonce, plain, []byte(cookieName))
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

func (f *Flow) open(value string) (flowState, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return flowState{}, fmt.Errorf("decode flow cookie: %w", err)
	}
	n := f.aead.NonceSize()
	if len(sealed) < n {
		return flowState{}, errors.New("flow cookie too short")
	}
	plain, err := f.aead.Open(nil, sealed[:n], sealed[n:], []byte(cookieName))
	if err != nil {
		return flowState{}, fmt.Errorf("open flow cookie: %w", err)
	}
	var st flowState
	if err := json.Unmarshal(plain, &st); err != nil {
		return flowState{}, fmt.Errorf("decode flow state: %w", err)
	}
	if st.State == "" || st.Nonce == "" || st.Verifier == "" {
		return flowState{}, errors.New("flow state incomplete")
	}
	return st, nil
}
