package events_test

import (
	"context"
	"net"
	"testing"

	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/config"
	"github.com/itss/techcommit/services/notify/internal/service"
)

// FuzzHandlers feeds arbitrary events to every consumer the service runs, over its
// real database: see testenv.FuzzHandlers for what each must do.
func FuzzHandlers(f *testing.F) {
	env := testenv.NewEnv(f)
	cfg := config.Default()
	cfg.Platform = env.Platform(f, cfg.Platform)
	// Mail goes to a port nobody listens on: a handler that gets as far as sending
	// fails there, and the fuzzer sends no email anywhere.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.TLSPolicy = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port, "none"
	cfg.SMTP.From = "technician-commitment@example.org"
	_ = ln.Close()
	cfg.Notify.PublicURL, cfg.Notify.PortalURL = "https://notify.example.org", "https://portal.example.org"
	cfg.Notify.ContactEmail = "itss@example.org"
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard(), NoSweeper: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(cleanup)
	testenv.FuzzHandlers(f, svc.DB, svc.Handlers())
}
