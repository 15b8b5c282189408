package service

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/services/portal/internal/signin"
	"github.com/itss/techcommit/services/portal/internal/signin/ops"
)

// opsFlow plugs the OpenID Connect flow (package ops) into the pages' sign-in routes.
type opsFlow struct {
	flow   *ops.Flow
	logger *slog.Logger
}

var _ signin.OpsFlow = opsFlow{}

// newOpsFlow builds the ITSS staff sign-in from the configuration. The flow cookie's
// key is derived from the portal's signing key, which every replica shares, so that a
// sign-in started on one replica finishes on another; it is never the signing key
// itself.
func newOpsFlow(ctx context.Context, cfg ops.Config, key ed25519.PrivateKey, hc *http.Client, logger *slog.Logger) (opsFlow, error) {
	cookieKey, err := hkdf.Key(sha256.New, key.Seed(), nil, "tc-portal ops sign-in cookie", 32)
	if err != nil {
		return opsFlow{}, fmt.Errorf("derive the ops sign-in cookie key: %w", err)
	}
	cfg.CookieKey = cookieKey
	f, err := ops.New(ctx, cfg, hc)
	if err != nil {
		return opsFlow{}, fmt.Errorf("ITSS staff sign-in: %w", err)
	}
	return opsFlow{flow: f, logger: logger}, nil
}

// Start sends the browser to the identity provider. A provider that did not answer
// is an *apperr.Error (Unavailable) whose Message the page shows.
func (o opsFlow) Start(w http.ResponseWriter, r *http.Request) error {
	err := o.flow.Start(w, r)
	if errors.Is(err, ops.ErrProviderUnavailable) {
		return &apperr.Error{Code: apperr.Unavailable, Message: ops.MsgProviderUnavailable, Err: err}
	}
	return err
}

// Finish checks the provider's answer and says who signed in.
func (o opsFlow) Finish(w http.ResponseWriter, r *http.Request) (signin.OpsPerson, error) {
	p, err := o.flow.Finish(w, r)
	if err != nil {
		if errors.Is(err, ops.ErrNotOpsMember) {
			return signin.OpsPerson{}, fmt.Errorf("%s: %w", ops.MsgNotOpsMember, err)
		}
		return signin.OpsPerson{}, err
	}
	return signin.OpsPerson{Subject: p.Subject, Email: p.Email, Name: p.Name}, nil
}
