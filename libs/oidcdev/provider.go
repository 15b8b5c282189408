// Package oidcdev is a real OpenID Connect provider for the local stack and for
// tests: the authorization code flow with PKCE, a login page, static users and a
// groups claim, built on zitadel/oidc's OpenID-certified op package. It stands in
// for the identity provider ITSS staff sign in with in production, so the portal's
// sign-in runs against a real provider everywhere without anything to install.
// It keeps everything in memory and is meant for loopback addresses only.
package oidcdev

import (
	"crypto/rand"
	"crypto/rsa"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/itss/techcommit/libs/config"
)

const (
	// ScopeGroups asks for the person's groups, which come in ClaimGroups.
	ScopeGroups = "groups"
	// ClaimGroups is the ID token claim listing the groups the person is in.
	ClaimGroups = "groups"

	loginPath         = "/login"
	loginRequestParam = "authRequestID"
	maxFormBytes      = 16 << 10
)

// User is a person who can sign in.
type User struct {
	Subject  string // the stable id the provider gives the person (sub)
	Email    string // the sign-in name, also the email claim (always verified)
	Name     string
	Password string
	Groups   []string
}

// Config says where the provider lives, the one client it serves and who can sign in.
type Config struct {
	// Issuer is the provider's URL as tokens name it; the provider must be served
	// at that address. http:// is accepted only for a loopback host.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURIs are the client's callbacks, matched exactly.
	RedirectURIs []string
	Users        []User
	// SigningKey signs ID tokens (RS256); a fresh one is made when nil.
	SigningKey *rsa.PrivateKey
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if err := checkLoopbackOrHTTPS(c.Issuer); err != nil {
		errs = append(errs, fmt.Errorf("issuer: %w", err))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client id: empty"))
	}
	if len(c.ClientSecret) < 16 {
		errs = append(errs, errors.New("client secret: shorter than 16 characters"))
	}
	if len(c.RedirectURIs) == 0 {
		errs = append(errs, errors.New("redirect URIs: none"))
	}
	if len(c.Users) == 0 {
		errs = append(errs, errors.New("users: none"))
	}
	for i, u := range c.Users {
		if u.Subject == "" || u.Email == "" {
			errs = append(errs, fmt.Errorf("user %d: subject and email are required", i))
		}
		if len(u.Password) < 12 {
			errs = append(errs, fmt.Errorf("user %s: password shorter than 12 characters", u.Email))
		}
	}
	return errors.Join(errs...)
}

// checkLoopbackOrHTTPS refuses an issuer a browser could not trust: plain http is
// fine only when it never leaves the machine.
func checkLoopbackOrHTTPS(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if config.OnThisMachine(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q: http is allowed only on a loopback address", raw)
	default:
		return fmt.Errorf("%q: scheme must be https", raw)
	}
}

// Provider is the OpenID provider as an http.Handler, to be served at Config.Issuer.
type Provider struct {
	handler http.Handler
	storage *storage
	op      *op.Provider
}

// New builds the provider. It does not listen: serve it at cfg.Issuer.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("oidcdev config: %w", err)
	}
	key := cfg.SigningKey
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("oidcdev signing key: %w", err)
		}
	}
	st := newStorage(&client{id: cfg.ClientID, secret: cfg.ClientSecret, redirectURIs: cfg.RedirectURIs}, cfg.Users, key)

	opCfg := &op.Config{
		CodeMethodS256:     true,
		AuthMethodPost:     true,
		SupportedUILocales: []language.Tag{language.English},
		SupportedScopes:    []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, ScopeGroups},
		SupportedClaims:    []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "email", "email_verified", "name", ClaimGroups},
	}
	// The key encrypts the op package's own codes; nothing outlives the process,
	// so a fresh random key per start is right.
	if _, err := rand.Read(opCfg.CryptoKey[:]); err != nil {
		return nil, fmt.Errorf("oidcdev crypto key: %w", err)
	}
	opCfg.CryptoKeyId = randomID()
	var opts []op.Option
	if strings.HasPrefix(cfg.Issuer, "http://") {
		// Validate has checked that the host is loopback.
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(opCfg, st, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidcdev provider: %w", err)
	}
	p := &Provider{storage: st, op: provider}
	issuerCtx := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+loginPath, p.showLogin)
	mux.Handle("POST "+loginPath, issuerCtx.HandlerFunc(p.checkLogin))
	mux.Handle("/", provider)
	p.handler = mux
	return p, nil
}

// ServeHTTP serves discovery, the protocol's endpoints and the login page.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

//go:embed login.html
var loginHTML string

var loginPage = template.Must(template.New("login").Parse(loginHTML))

// Messages on the login page, saying what to do.
const (
	msgWrongPassword  = "The email address or password is not right. Check them and try again." // #nosec G101 -- a message, not a credential
	msgRequestExpired = "This sign-in has expired or is unknown. Go back to the portal and start signing in again."
)

var (
	errWrongPassword  = errors.New("wrong email or password")
	errRequestExpired = errors.New("auth request expired or unknown")
)

type loginView struct {
	Action, RequestParam, RequestID, Email, Error string
}

func (p *Provider) showLogin(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get(loginRequestParam)
	if _, err := p.storage.AuthRequestByID(r.Context(), id); err != nil {
		renderLogin(w, http.StatusBadRequest, loginView{Error: msgRequestExpired})
		return
	}
	renderLogin(w, http.StatusOK, loginView{RequestID: id})
}

func (p *Provider) checkLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		renderLogin(w, http.StatusBadRequest, loginView{Error: msgRequestExpired})
		return
	}
	id, email := r.PostForm.Get(loginRequestParam), r.PostForm.Get("email")
	switch err := p.storage.checkPassword(id, email, r.PostForm.Get("password")); {
	case errors.Is(err, errRequestExpired):
		renderLogin(w, http.StatusBadRequest, loginView{Error: msgRequestExpired})
	case err != nil:
		// Logged without the address: a wrong password says nothing worth keeping
		// about the person, and logs carry no emails.
		slog.InfoContext(r.Context(), "oidcdev: sign-in refused", "reason", err)
		renderLogin(w, http.StatusUnauthorized, loginView{RequestID: id, Email: email, Error: msgWrongPassword})
	default:
		http.Redirect(w, r, op.AuthCallbackURL(p.op)(r.Context(), id), http.StatusFound)
	}
}

func renderLogin(w http.ResponseWriter, status int, v loginView) {
	v.Action, v.RequestParam = loginPath, loginRequestParam
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// No script and no styles: the page needs neither, so it is allowed neither.
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := loginPage.Execute(w, v); err != nil {
		slog.Error("oidcdev: render login page", "err", err)
	}
}
