// Package auth verifies the bearer tokens callers present and answers who the caller
// is: a role (ops, lead, reviewer, applicant) and the organisation they act for.
//
// Tokens are JWTs from an OIDC-compatible issuer, checked against its JWKS for
// signature, issuer, audience (the service's own), expiry, lifetime (exp-iat within
// AUTH_MAX_TOKEN_LIFETIME) and algorithm. Which roles may call an
// operation is declared in the service's OpenAPI document with the `x-roles`
// extension, so the document, the checks and the authorisation tests share one source.
// Object ownership (a lead sees only their own organisation) is checked by handlers
// with the helpers here.
package auth

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/itss/techcommit/libs/apperr"
)

// Role is what a caller may do in the suite.
type Role string

// The roles a token can carry.
const (
	RoleOps       Role = "ops"       // ITSS operations staff
	RoleLead      Role = "lead"      // an institution's nominated lead
	RoleReviewer  Role = "reviewer"  // a volunteer peer reviewer
	RoleApplicant Role = "applicant" // a Collaboration Fund applicant
)

// Roles lists every role, for tests that go over all of them.
var Roles = []Role{RoleOps, RoleLead, RoleReviewer, RoleApplicant}

// Valid reports whether r is one of the suite's roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Principal is the verified caller.
type Principal struct {
	Subject string
	Role    Role
	Org     string // the organisation the caller acts for; empty for ops
	Name    string
	Email   string
	// TokenID is the id (jti) of the API token the caller presented, if it was one.
	TokenID string
}

// Actor is how the caller is recorded in the audit trail of events.
func (p Principal) Actor() string {
	return string(p.Role) + ":" + p.Subject
}

// IsOps reports whether the caller is ITSS operations staff.
func (p Principal) IsOps() bool { return p.Role == RoleOps }

// ActsFor reports whether the caller may act for organisation org: ops for any,
// everyone else only for their own.
func (p Principal) ActsFor(org string) bool {
	return p.Role == RoleOps || (p.Org != "" && p.Org == org)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the verified caller, if the request carried a valid token.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// MustFromContext returns the caller or an Unauthenticated error.
func MustFromContext(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, apperr.New(apperr.Unauthenticated, "a valid bearer token is required")
	}
	return p, nil
}

// Identify verifies the bearer token when a request carries one and returns the
// request with the caller in its context; the HTTP server runs it before every
// handler (httpserver.Before). A request without a token passes through as
// anonymous (public endpoints allow that; the OpenAPI security check refuses it
// elsewhere); a request with a bad token is refused with 401 at once.
func (v *Verifier) Identify(r *http.Request) (*http.Request, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return r, nil
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, apperr.New(apperr.Unauthenticated, "the Authorization header must be \"Bearer <token>\"")
	}
	p, err := v.Verify(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	return r.WithContext(WithPrincipal(r.Context(), p)), nil
}

// RolesExtension is the OpenAPI operation extension listing the roles allowed to call it.
const RolesExtension = "x-roles"

// Authenticate decides an OpenAPI bearer security requirement: the caller must have
// presented a valid token, and when the operation lists roles in x-roles, carry one of them.
func Authenticate(ctx context.Context, input *openapi3filter.AuthenticationInput) error {
	p, ok := FromContext(ctx)
	if !ok {
		return apperr.New(apperr.Unauthenticated, "a valid bearer token is required")
	}
	roles := OperationRoles(input.RequestValidationInput.Route.Operation.Extensions)
	if len(roles) > 0 && !slices.Contains(roles, p.Role) {
		return apperr.New(apperr.Forbidden, "the %s role may not do this", p.Role)
	}
	return nil
}

// OperationRoles reads the x-roles extension of an operation.
func OperationRoles(ext map[string]any) []Role {
	raw, ok := ext[RolesExtension].([]any)
	if !ok {
		return nil
	}
	roles := make([]Role, 0, len(raw))
	for _, r := range raw {
		if s, ok := r.(string); ok {
			roles = append(roles, Role(s))
		}
	}
	return roles
}
