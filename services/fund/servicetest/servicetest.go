// Package servicetest runs the fund service in-process for the tests of other
// modules (the portal's pages), which cannot reach its internal packages. It is the
// real service on the test's own NATS and database, not a stand-in.
package servicetest

import (
	"context"
	"testing"

	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/config"
	"github.com/itss/techcommit/services/fund/internal/service"
)

// Start runs the service until the test ends, trusting env's issuer and, when
// portalIssuer is set, the portal's tokens from portalJWKS, and the portal's
// address (127.0.0.1) as a proxy that names its visitors.
func Start(tb testing.TB, env *testenv.Env, portalIssuer, portalJWKS string) *testenv.Client {
	tb.Helper()
	cfg := config.Default()
	cfg.Platform = env.Platform(tb, cfg.Platform)
	cfg.Platform.Auth.PortalIssuer, cfg.Platform.Auth.PortalJWKSURL = portalIssuer, portalJWKS
	// The portal calls from the loopback address and names its visitor in
	// X-Forwarded-For, which the service believes from it, as it believes the
	// cluster's network in production (HTTP_TRUSTED_PROXIES).
	cfg.Platform.HTTP.TrustedProxies = []string{"127.0.0.1"}
	cfg.Fund.ContactEmail = "itss@example.org"
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard()})
	if err != nil {
		tb.Fatal(err)
	}
	return env.Serve(tb, svc.Serve, cleanup)
}
