// Package clients is how the portal calls the services: their generated clients,
// each request carrying a token the portal signs for the person signed in, with the
// audience of the service called. Public pages call without a token, saying for
// whom in X-Forwarded-For.
package clients

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
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
	traced := *httpClient
	traced.Transport = tracedTransport(httpClient.Transport)
	httpClient = &traced
	return &Clients{cfg: cfg, minter: minter, http: httpClient}, nil
}

// Set is the four services' clients for one caller.
type Set struct {
	Signatory *sigapi.ClientWithResponses
	Review    *reviewapi.ClientWithResponses
	Notify    *notifyapi.ClientWithResponses
	Fund      *fundapi.ClientWithResponses
}

// Public returns clients that call without a token, for the public pages, on behalf
// of the visitor at client: their address as the portal counts it
// (ratelimit.ClientAddr, which believes X-Forwarded-For only from the portal's own
// trusted proxies). The services count calls without a token per client address
// and trust the portal as a proxy, so each visitor is counted on their own; without
// it every visitor would share the portal's one address, and one of them could use
// up the public pages for all the others.
func (c *Clients) Public(client string) (*Set, error) { return c.set(nil, forwardedFor(client)) }

// For returns clients that call as p.
func (c *Clients) For(p auth.Principal) (*Set, error) { return c.set(&p, "") }

// forwardedFor is the X-Forwarded-For the portal writes for a visitor: the one
// address the portal determined, never anything the visitor wrote. ClientAddr
// names an IPv6 client by its /64, which the services count as one client too, so
// the network's first address stands for it. Anything else sends none, and the
// call is counted against the portal's own address.
func forwardedFor(client string) string {
	if a, err := netip.ParseAddr(client); err == nil {
		return a.WithZone("").String()
	}
	if p, err := netip.ParsePrefix(client); err == nil {
		return p.Masked().Addr().String()
	}
	return ""
}

func (c *Clients) set(p *auth.Principal, forwarded string) (*Set, error) {
	editor := func(aud string) func(context.Context, *http.Request) error {
		return func(_ context.Context, r *http.Request) error {
			if p == nil {
				if forwarded != "" {
					r.Header.Set("X-Forwarded-For", forwarded)
				}
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
