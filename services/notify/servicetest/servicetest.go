// Package servicetest runs the notify service in-process for the tests of other
// modules (the portal's pages), which cannot reach its internal packages. It is the
// real service on the test's own NATS and database, not a stand-in.
package servicetest

import (
	"context"
	"testing"

	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/config"
	"github.com/itss/techcommit/services/notify/internal/service"
)

// Start runs the service until the test ends, trusting env's issuer and, when
// portalIssuer is set, the portal's tokens from portalJWKS. It mails through the
// relay at smtpHost:smtpPort (plain SMTP, as to a local mail catcher).
func Start(tb testing.TB, env *testenv.Env, portalIssuer, portalJWKS, smtpHost string, smtpPort int) *testenv.Client {
	tb.Helper()
	cfg := config.Default()
	cfg.Platform = env.Platform(tb, cfg.Platform)
	cfg.Platform.Auth.PortalIssuer, cfg.Platform.Auth.PortalJWKSURL = portalIssuer, portalJWKS
	cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.TLSPolicy = smtpHost, smtpPort, "none"
	cfg.SMTP.From = "technician-commitment@example.org"
	cfg.Notify.PublicURL, cfg.Notify.PortalURL = "https://notify.example.org", "https://portal.example.org"
	cfg.Notify.ContactEmail = "itss@example.org"
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard(), NoSweeper: true})
	if err != nil {
		tb.Fatal(err)
	}
	return env.Serve(tb, svc.Serve, cleanup)
}
