package events_test

import (
	"context"
	"testing"

	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/config"
	"github.com/itss/techcommit/services/fund/internal/service"
)

// FuzzHandlers feeds arbitrary events to every consumer the service runs, over its
// real database: see testenv.FuzzHandlers for what each must do.
func FuzzHandlers(f *testing.F) {
	env := testenv.NewEnv(f)
	cfg := config.Default()
	cfg.Platform = env.Platform(f, cfg.Platform)
	cfg.Fund.ContactEmail = "itss@example.org"

	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(cleanup)
	testenv.FuzzHandlers(f, svc.DB, svc.Handlers())
}
