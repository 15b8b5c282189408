// Package clients is how the portal calls the services: their generated clients,
// each request carrying a token the portal signs for the person signed in, with the
// audience of the service called. Public pages call without a token.
package clients

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/itss/techcommit/libs/auth"
	fundapi "github.com/itss/techcommit/services/fund/api"
	notifyapi "github.com/itss/techcommit/services/notify/api"
	reviewapi "github.com/itss/techcommit/services/review/api"
	sigapi "github.com/itss/techcommit/services/signatory/api"
)

// Minter signs a token for a principal and an audience.
type Minter interface {
	Mint(p auth.Principal, aud string) (string, error)
}

// Service is one service's address and the audience it accepts.
type Service struct {
	URL      string
	Audience string
}

// Config names the four services.
type Config struct {
	Signatory, Review, Notify, Fund Service
}

// Clients makes service clients.
type Clients struct {
	cfg    Config
	minter Minter
	http   *http.Client
}

// New checks its dependencies.
func New(cfg Config, minter Minter, httpClient *http.Client) (*Clients, error) {
	for _, s := range []Service{cfg.Signatory, cfg.Review, cfg.Notify, cfg.Fund} {
		if s.URL == "" || s.Audience == "" {
			return nil, errors.New("clients: every service's address and audience are required")
		}
	}
	if minter == nil {
		return nil, errors.New("clients: a token minter is required")
	}
	if httpClient == nil {
		// A page waits for its calls; one service hanging must not hang the page.
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Clients{cfg: cfg, minter: minter, http: httpClient}, nil
}

// Set is the four services' clients for one caller.
type Set struct {
	Signatory *sigapi.ClientWithResponses
	Review    *reviewapi.ClientWithResponses
	Notify    *notifyapi.ClientWithResponses
	Fund      *fundapi.ClientWithResponses
}

// Public returns clients that call without a token, for the public pages.
func (c *Clients) Public() (*Set, error) { return c.set(nil) }

// For returns clients that call as p.
func (c *Clients) For(p auth.Principal) (*Set, error) { return c.set(&p) }

func (c *Clients) set(p *auth.Principal) (*Set, error) {
	editor := func(aud string) func(context.Context, *http.Request) error {
		return func(_ context.Context, r *http.Request) error {
			if p == nil {
				return nil
			}
			tok, err := c.minter.Mint(*p, aud)
			if err != nil {
				return err
			}
			r.Header.Set("Authorization", "Bearer "+tok)
			return nil
		}
	}
	var s Set
	var err error
	if s.Signatory, err = sigapi.NewClientWithResponses(c.cfg.Signatory.URL, sigapi.WithHTTPClient(c.http), sigapi.WithRequestEditorFn(editor(c.cfg.Signatory.Audience))); err != nil {
		return nil, fmt.Errorf("signatory client: %w", err)
	}
	if s.Review, err = reviewapi.NewClientWithResponses(c.cfg.Review.URL, reviewapi.WithHTTPClient(c.http), reviewapi.WithRequestEditorFn(editor(c.cfg.Review.Audience))); err != nil {
		return nil, fmt.Errorf("review client: %w", err)
	}
	if s.Notify, err = notifyapi.NewClientWithResponses(c.cfg.Notify.URL, notifyapi.WithHTTPClient(c.http), notifyapi.WithRequestEditorFn(editor(c.cfg.Notify.Audience))); err != nil {
		return nil, fmt.Errorf("notify client: %w", err)
	}
	if s.Fund, err = fundapi.NewClientWithResponses(c.cfg.Fund.URL, fundapi.WithHTTPClient(c.http), fundapi.WithRequestEditorFn(editor(c.cfg.Fund.Audience))); err != nil {
		return nil, fmt.Errorf("fund client: %w", err)
	}
	return &s, nil
}
