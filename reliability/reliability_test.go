package reliability_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/itss/techcommit/reliability"
)

// TestFaultsShort is the short version of `make reliability`: the services as separate
// processes, killed with SIGKILL every couple of seconds and NATS restarted while a
// workload runs, a poison message in front of it and, afterwards, a relay that crashed
// between publishing and marking beyond the duplicate window. Nothing accepted may be
// lost and nothing may happen twice.
func TestFaultsShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole suite as processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := t.TempDir()
	if err := reliability.BuildServices(ctx, filepath.Join("..", ""), bin); err != nil {
		t.Fatal(err)
	}
	s, err := reliability.Start(ctx, reliability.Options{Dir: t.TempDir(), Bin: bin})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	rep, err := reliability.Run(ctx, s, reliability.Scenario{
		Name:     "short: kill -9, NATS restarts, poison, relay crash",
		Workload: reliability.Workload{Units: 40, MinDuration: 20 * time.Second, Workers: 8, Settle: 90 * time.Second},
		Faults:   reliability.Faults{KillEvery: 1500 * time.Millisecond, MaxDown: 500 * time.Millisecond, NATSEvery: 6 * time.Second, NATSDown: 300 * time.Millisecond},
		Poison:   true,
		Relay:    10,
		Seed:     uint64(time.Now().UnixNano()),
		Settle:   90 * time.Second,
	})
	if err != nil {
		t.Fatalf("%v\nerrors the services logged:\n%s", err, s.LogErrors(40))
	}
	t.Log("\n" + reliability.Markdown([]*reliability.Report{rep}))
	if !rep.OK() {
		t.Fatalf("lost or duplicated effects:\n%s\nerrors the services logged:\n%s", rep.Problems(), s.LogErrors(40))
	}
}
