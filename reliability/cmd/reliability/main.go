// Command reliability is `make reliability`: the long version of the fault harness. It
// builds the services, runs each scenario against a fresh stack of separate processes
// and writes the figures into docs/RELIABILITY.md between its markers. It exits 1 when
// anything accepted was lost or happened twice.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/itss/techcommit/reliability"
)

const (
	begin = "<!-- reliability:begin -->"
	end   = "<!-- reliability:end -->"
)

func main() {
	root := flag.String("root", "..", "the repository root")
	out := flag.String("out", "../docs/RELIABILITY.md", "the document whose figures are replaced")
	units := flag.Int("units", 150, "organisations per scenario at least (about 8.7 accepted operations each)")
	minDuration := flag.Duration("min", 90*time.Second, "how long each scenario's workload runs at least")
	only := flag.Int("only", 0, "run only this scenario (1-3); the document is then left alone")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *root, *out, *units, *minDuration, *only); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, out string, units int, minDuration time.Duration, only int) error {
	tmp, err := os.MkdirTemp("", "tc-reliability-")
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if keep {
			fmt.Println("the services' logs are kept in", tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	}()
	bin := tmp + "/bin"
	fmt.Println("building the services…")
	if err := reliability.BuildServices(ctx, root, bin); err != nil {
		return err
	}
	seed := uint64(time.Now().UnixNano())
	w := reliability.Workload{Units: units, MinDuration: minDuration, Workers: 8, Settle: 3 * time.Minute}
	scenarios := []reliability.Scenario{
		{Name: "kill -9 a random service every ~2 s", Workload: w, Seed: seed, Settle: 3 * time.Minute, Poison: true, Relay: 30,
			Faults: reliability.Faults{KillEvery: 2 * time.Second, MaxDown: time.Second}},
		{Name: "restart NATS every ~5 s", Workload: w, Seed: seed + 1, Settle: 3 * time.Minute,
			Faults: reliability.Faults{NATSEvery: 5 * time.Second, NATSDown: time.Second}},
		{Name: "both at once", Workload: w, Seed: seed + 2, Settle: 3 * time.Minute, Relay: 30,
			Faults: reliability.Faults{KillEvery: 2 * time.Second, MaxDown: time.Second, NATSEvery: 7 * time.Second, NATSDown: 500 * time.Millisecond}},
	}
	var reps []*reliability.Report
	ok := true
	for i, sc := range scenarios {
		if only != 0 && only != i+1 {
			continue
		}
		fmt.Printf("scenario %d/%d: %s (%d organisations or more, for %s or more)…\n", i+1, len(scenarios), sc.Name, sc.Workload.Units, sc.Workload.MinDuration)
		dir := fmt.Sprintf("%s/run%d", tmp, i)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		s, err := reliability.Start(ctx, reliability.Options{Dir: dir, Bin: bin})
		if err != nil {
			return err
		}
		rep, err := reliability.Run(ctx, s, sc)
		s.Stop()
		if err != nil {
			keep = true
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
		keep = keep || !rep.OK()
		reps = append(reps, rep)
		ok = ok && rep.OK()
		fmt.Print(reliability.Markdown([]*reliability.Report{rep}))
	}
	figures := fmt.Sprintf("Measured by `make reliability` on %d cores, %s/%s, %s, %s.\n\n%s",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 MST"), reliability.Markdown(reps))
	if only == 0 {
		if err := replaceBetween(out, figures); err != nil {
			return err
		}
		fmt.Println("wrote", out)
	}
	if !ok {
		return fmt.Errorf("effects were lost or duplicated: see %s", out)
	}
	return nil
}

// replaceBetween puts figures between the document's markers, keeping the prose.
func replaceBetween(path, figures string) error {
	b, err := os.ReadFile(path) // #nosec G304 -- the report the operator named, read to be updated
	if err != nil {
		return err
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s markers", path, begin, end)
	}
	doc = doc[:i+len(begin)] + "\n" + figures + "\n" + doc[j:]
	return os.WriteFile(path, []byte(doc), 0o644) // #nosec G306 G703 -- the report is a document of the repository, at the path the operator named
}
