package service_test

import (
	"context"
	"testing"

	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/api"
	"github.com/itss/techcommit/services/review/internal/config"
	"github.com/itss/techcommit/services/review/internal/service"
)

// FuzzRequests sends arbitrary bodies to every operation that takes one: see
// testenv.FuzzRequests.
func FuzzRequests(f *testing.F) {
	env := testenv.NewEnv(f)
	cfg := config.Default()
	cfg.Platform = env.Platform(f, cfg.Platform)
	svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard()})
	if err != nil {
		f.Fatal(err)
	}
	testenv.FuzzRequests(f, env.Serve(f, svc.Serve, cleanup), api.Spec, func(string) string { return "" })
}
