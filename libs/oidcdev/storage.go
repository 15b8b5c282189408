package oidcdev

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Lifetimes of what the provider hands out. They are short because the only
// consumer is a browser that is redirected straight back to the portal.
const (
	// authRequestLifetime bounds a sign-in from the authorize request to the code
	// exchange: the login form and the code both die with it.
	authRequestLifetime = 10 * time.Minute
	tokenLifetime       = 5 * time.Minute
)

// errNotFound is what the storage says for an unknown or expired request, code or
// token; the op package turns it into the protocol's error.
var errNotFound = errors.New("not found or expired")

var _ op.Storage = (*storage)(nil)
var _ op.CanSetUserinfoFromRequest = (*storage)(nil)

// storage keeps everything in memory: sign-ins are short and a restarted provider
// simply asks the person to sign in again.
type storage struct {
	client *client
	users  []User
	key    signingKey
	now    func() time.Time

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]string // code → auth request id
	tokens   map[string]accessToken
}

type accessToken struct {
	subject  string
	clientID string
	scopes   []string
	expires  time.Time
}

func newStorage(c *client, users []User, key *rsa.PrivateKey) *storage {
	return &storage{
		client:   c,
		users:    users,
		key:      signingKey{id: randomID(), key: key},
		now:      time.Now,
		requests: make(map[string]*authRequest),
		codes:    make(map[string]string),
		tokens:   make(map[string]accessToken),
	}
}

// checkPassword marks the auth request as signed in by the user whose email and
// password match. Both comparisons run in constant time and every user is tried,
// so the answer takes as long for an unknown address as for a wrong password.
func (s *storage) checkPassword(requestID, email, password string) error {
	var found *User
	for i := range s.users {
		u := &s.users[i]
		emailOK := subtle.ConstantTimeCompare([]byte(strings.ToLower(u.Email)), []byte(strings.ToLower(strings.TrimSpace(email))))
		passOK := subtle.ConstantTimeCompare([]byte(u.Password), []byte(password))
		if emailOK&passOK == 1 {
			found = u
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.liveRequest(requestID)
	if !ok {
		return errRequestExpired
	}
	if found == nil {
		return errWrongPassword
	}
	req.subject = found.Subject
	req.authTime = s.now()
	req.done = true
	return nil
}

// liveRequest returns the auth request if it exists and is young enough; callers
// hold s.mu.
func (s *storage) liveRequest(id string) (*authRequest, bool) {
	req, ok := s.requests[id]
	if !ok || s.now().Sub(req.created) > authRequestLifetime {
		return nil, false
	}
	return req, true
}

// pruneLocked forgets expired requests, codes and tokens so a long-running stack
// does not grow; callers hold s.mu.
func (s *storage) pruneLocked() {
	now := s.now()
	for id, req := range s.requests {
		if now.Sub(req.created) > authRequestLifetime {
			delete(s.requests, id)
		}
	}
	for code, id := range s.codes {
		if _, ok := s.requests[id]; !ok {
			delete(s.codes, code)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, id)
		}
	}
}

func (s *storage) user(subject string) (User, bool) {
	for _, u := range s.users {
		if u.Subject == subject {
			return u, true
		}
	}
	return User{}, false
}

// CreateAuthRequest stores a validated authorize request. It is where PKCE is made
// mandatory: the op package accepts a confidential client without it, and this
// provider stands in for ITSS's, which requires it of the portal.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired()
	}
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method S256")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked()
	ar := &authRequest{
		id:           randomID(),
		created:      s.now(),
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       req.Scopes,
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		challenge:    &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod},
		subject:      userID,
	}
	s.requests[ar.id] = ar
	return ar, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.liveRequest(id)
	if !ok {
		return nil, fmt.Errorf("auth request: %w", errNotFound)
	}
	return req, nil
}

// AuthRequestByCode is called once per token request, and consumes the code
// there and then: deleting it only after the tokens are made (DeleteAuthRequest)
// would let concurrent requests with the same code all get tokens. A failed
// exchange (wrong verifier or secret) spends the code too, which only ever costs
// an attacker.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, fmt.Errorf("code: %w", errNotFound)
	}
	delete(s.codes, code)
	req, ok := s.liveRequest(id)
	if !ok {
		return nil, fmt.Errorf("code: %w", errNotFound)
	}
	return req, nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.liveRequest(id); !ok {
		return fmt.Errorf("auth request: %w", errNotFound)
	}
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest runs once the code has been exchanged.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	clientID := ""
	if ar, ok := req.(*authRequest); ok {
		clientID = ar.clientID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := randomID()
	t := accessToken{subject: req.GetSubject(), clientID: clientID, scopes: req.GetScopes(), expires: s.now().Add(tokenLifetime)}
	s.tokens[id] = t
	return id, t.expires, nil
}

// The provider issues no refresh tokens: the portal keeps its own session and
// only needs to know who signed in.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not issued")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == userID && t.clientID == clientID {
			delete(s.tokens, id)
		}
	}
	return nil
}

func (s *storage) RevokeToken(_ context.Context, tokenID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok {
		return nil
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	delete(s.tokens, tokenID)
	return nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return &s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if clientID != s.client.id {
		return nil, fmt.Errorf("client %q: %w", clientID, errNotFound)
	}
	return s.client, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	if clientID != s.client.id || subtle.ConstantTimeCompare([]byte(secret), []byte(s.client.secret)) != 1 {
		return errors.New("client id or secret wrong")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the op package in favour of
// SetUserinfoFromRequest, and must do nothing.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(info, req.GetSubject(), scopes)
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || s.now().After(t.expires) {
		return fmt.Errorf("access token: %w", errNotFound)
	}
	return s.setUserinfo(info, t.subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || s.now().After(t.expires) || t.clientID != clientID {
		return fmt.Errorf("access token: %w", errNotFound)
	}
	info := new(oidc.UserInfo)
	if err := s.setUserinfo(info, t.subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.Expiration = oidc.FromTime(t.expires)
	return nil
}

// setUserinfo gives the claims the scopes ask for. groups is not a standard scope;
// it follows the convention of Dex and Keycloak, where a client asks for the
// person's groups by that scope and receives them as a string array.
func (s *storage) setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := s.user(subject)
	if !ok {
		return fmt.Errorf("user %q: %w", subject, errNotFound)
	}
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeOpenID:
			info.Subject = u.Subject
		case oidc.ScopeEmail:
			info.Email = u.Email
			info.EmailVerified = oidc.Bool(true)
		case oidc.ScopeProfile:
			info.Name = u.Name
		case ScopeGroups:
			info.AppendClaims(ClaimGroups, append([]string{}, u.Groups...))
		}
	}
	return nil
}

// GetPrivateClaimsFromScopes is only consulted for JWT access tokens, which this
// provider does not issue.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// authRequest is one sign-in in progress, from the authorize request to the code
// exchange.
type authRequest struct {
	id           string
	created      time.Time
	clientID     string
	redirectURI  string
	state        string
	nonce        string
	scopes       []string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	challenge    *oidc.CodeChallenge
	subject      string
	authTime     time.Time
	done         bool
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string    { return a.id }
func (a *authRequest) GetACR() string   { return "" }
func (a *authRequest) GetAMR() []string { return []string{"pwd"} }

// GetAudience is the client alone: the ID token is for the portal and nobody else.
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

// signingKey signs ID tokens with RS256, which every relying party supports.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the signing key as the JWKS endpoint publishes it.
type publicKey struct{ k signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

// randomID is an unguessable identifier: auth request ids travel in the login form
// and stand in for a CSRF token there.
func randomID() string { return rand.Text() }
