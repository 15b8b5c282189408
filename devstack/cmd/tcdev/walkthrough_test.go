package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The README's walkthrough is the sh blocks between these two markers. They are the
// only source of its steps: the test runs them as they are written.
const (
	walkthroughStart = "<!-- walkthrough"
	walkthroughEnd   = "<!-- /walkthrough -->"
)

// TestREADMEWalkthrough runs the README's "Trying the API" walkthrough, as written,
// with bash against a local stack of its own started by `tcdev run` on fresh data and
// free ports. The walkthrough stops at the first answer that is not 2xx, so a step the
// API no longer accepts, a missing step's id or an email that never arrives fails here.
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	for _, tool := range []string{"bash", "curl", "date", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's walkthrough needs %s: %v", tool, err)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := walkthrough(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	// Without it a failing step would not stop the script, and this test could not fail.
	if !strings.HasPrefix(script, "set -euo pipefail\n") {
		t.Fatalf("the walkthrough must begin with set -euo pipefail; it begins %q", firstLine(script))
	}

	bin := buildSuite(t, root)
	data := filepath.Join(t.TempDir(), "data")
	st := startStack(t, bin, data)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = root
	cmd.Env = walkthroughEnv(t, st, bin)
	// curl or sleep may outlive a killed bash while holding its output open.
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	err = cmd.Run()
	t.Logf("the walkthrough took %s", time.Since(began).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("the README's walkthrough failed (%v):\n%s\n--- the stack's log ---\n%s", err, tail(out.String(), 12000), tail(st.log(), 12000))
	}
}

// TestWalkthroughExtract checks that only the sh blocks between the markers are taken.
func TestWalkthroughExtract(t *testing.T) {
	t.Parallel()
	doc := "```sh\nbefore\n```\n" + walkthroughStart + " -->\n```sh\none\n  two\n```\ntext\n```json\n{}\n```\n```sh\nthree\n```\n" +
		walkthroughEnd + "\n```sh\nafter\n```\n"
	got, err := walkthrough(doc)
	if err != nil {
		t.Fatal(err)
	}
	if want := "one\n  two\n\nthree\n\n"; got != want {
		t.Errorf("walkthrough = %q, want %q", got, want)
	}
	for _, bad := range []string{"no markers", walkthroughStart + " -->\n```sh\nx\n```\n", walkthroughStart + " -->\n" + walkthroughEnd + "\n",
		walkthroughStart + " -->\n```sh\nx\n" + walkthroughEnd + "\n"} {
		if _, err := walkthrough(bad); err == nil {
			t.Errorf("walkthrough(%q) succeeded; want an error", bad)
		}
	}
}

// TestWalkthroughDefaults checks that the addresses the walkthrough falls back to are
// where `make run` puts each service and the mail catcher, so that pasted into a shell
// next to `make run` it talks to that stack.
func TestWalkthroughDefaults(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := walkthrough(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"S": "http://" + addr(portOf("signatory"), 0),
		"R": "http://" + addr(portOf("review"), 0),
		"N": "http://" + addr(portOf("notify"), 0),
		"F": "http://" + addr(portOf("fund"), 0),
		"M": "http://" + addr(mailUIPort, 0),
		"P": "http://" + addr(portal.port, 0),
	}
	for name, url := range want {
		if line := name + "=${" + name + ":-" + url + "}"; !strings.Contains(script, line) {
			t.Errorf("the walkthrough does not set %s", line)
		}
	}
}

// walkthrough joins the sh blocks between the README's markers into one script.
func walkthrough(readme string) (string, error) {
	var b strings.Builder
	inside, inBlock, ended, blocks := false, false, false, 0
	for line := range strings.Lines(readme) {
		trimmed := strings.TrimRight(line, "\r\n")
		switch {
		case !inside && !ended && strings.HasPrefix(trimmed, walkthroughStart):
			inside = true
		case !inside:
		case inBlock && trimmed == "```":
			inBlock = false
			b.WriteString("\n")
		case inBlock:
			if trimmed == walkthroughEnd {
				return "", errors.New("README: the walkthrough ends inside a code block")
			}
			b.WriteString(trimmed + "\n")
		case trimmed == "```sh":
			inBlock = true
			blocks++
		case trimmed == walkthroughEnd:
			inside, ended = false, true
		}
	}
	switch {
	case !ended:
		return "", fmt.Errorf("README: no walkthrough between %q and %q", walkthroughStart, walkthroughEnd)
	case blocks == 0:
		return "", errors.New("README: the walkthrough has no sh blocks")
	}
	return b.String(), nil
}

// suite is the one build of the suite the tests of this package share: linking every
// binary takes most of a minute on a busy machine, and the walkthrough and the backup
// drill run the same binaries.
var suite struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if suite.dir != "" {
		_ = os.RemoveAll(suite.dir)
	}
	os.Exit(code)
}

// buildSuite builds what `make run` runs (the services, tcdev, Mailpit, gojq) with the
// Makefile's own build target, once for the package's tests, and returns where.
func buildSuite(tb testing.TB, root string) string {
	tb.Helper()
	suite.once.Do(func() {
		suite.dir, suite.err = os.MkdirTemp("", "tcdev-suite-")
		if suite.err != nil {
			return
		}
		bin := filepath.Join(suite.dir, "bin")
		began := time.Now()
		cmd := exec.Command("make", "-s", "build", "BIN="+bin)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=go1.27.3")
		if out, err := cmd.CombinedOutput(); err != nil {
			suite.err = fmt.Errorf("make build: %w\n%s", err, out)
			return
		}
		tb.Logf("make build took %s", time.Since(began).Round(time.Millisecond))
	})
	if suite.err != nil {
		tb.Fatal(suite.err)
	}
	return filepath.Join(suite.dir, "bin")
}

// stack is a running `tcdev run` and everything it printed.
type stack struct {
	offset int
	// stop stops the stack and waits for it; the test's end calls it too.
	stop func()
	// kill ends tcdev itself at once (SIGKILL), as a crash would, and waits for it.
	kill func()
	mu   sync.Mutex
	out  strings.Builder
}

func (s *stack) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// startStack starts `tcdev run` on data, at a port offset where every port is free,
// and stops it when the test ends.
func startStack(tb testing.TB, bin, data string) *stack {
	tb.Helper()
	return startStackAt(tb, bin, data, freeOffset(tb))
}

// startStackAt starts `tcdev run` on data at a given port offset, and stops it when
// the test ends or at stop.
func startStackAt(tb testing.TB, bin, data string, offset int) *stack {
	tb.Helper()
	st := &stack{offset: offset}
	cmd := exec.Command(filepath.Join(bin, "tcdev"), "run", "-data", data, "-bin", bin, "-port-offset", strconv.Itoa(st.offset))
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start tcdev: %v", err)
	}
	up := make(chan struct{})
	// exited is closed when tcdev has exited, with exitErr its end: the start's wait
	// and the stop both read it (a channel of the error, read by the start, left the
	// stop waiting 40s on a stack that had already gone).
	exited := make(chan struct{})
	var exitErr error
	go func() {
		var once sync.Once
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			st.mu.Lock()
			st.out.WriteString(sc.Text() + "\n")
			st.mu.Unlock()
			if isUp(sc.Text()) {
				once.Do(func() { close(up) })
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		exitErr = cmd.Wait()
		_ = pw.Close()
		close(exited)
	}()
	var stopOnce sync.Once
	st.stop = func() {
		stopOnce.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(40 * time.Second):
				_ = cmd.Process.Kill()
				tb.Errorf("tcdev did not stop within 40s of SIGTERM")
			}
		})
	}
	st.kill = func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	tb.Cleanup(st.stop)
	select {
	case <-up:
	case <-exited:
		tb.Fatalf("tcdev run exited before the stack was up (%v):\n%s", exitErr, tail(st.log(), 12000))
	case <-time.After(90 * time.Second):
		tb.Fatalf("the stack was not up within 90s:\n%s", tail(st.log(), 12000))
	}
	return st
}

// isUp says whether a line of tcdev's output is its banner's first, which it prints
// once every service reports ready. This is the test's only notion of readiness: how
// tcdev decides it (which endpoint, which port) is tcdev's business.
func isUp(line string) bool {
	return strings.HasPrefix(line, "Technician Commitment suite is up")
}

// offsetsHanded are the ports of the stacks this test process has given an offset,
// kept until the test that took it ends: parallel tests check a port free before the
// stack binds it, so two could otherwise be given overlapping offsets, and a test that
// stops its stack and starts it again at its offset keeps it.
var offsetsHanded = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// stackPorts are the ports a stack at offset listens on.
func stackPorts(offset int) []int {
	var ports []int
	for _, p := range listeners() {
		ports = append(ports, p+offset)
	}
	return ports
}

// ephemeralFloor is the lowest port the kernel hands out for outgoing connections
// and for listeners on port 0 (Linux's ip_local_port_range; 32768 when it cannot be
// read). A stack's port at or above it can be taken by any connection, the stack's
// own to NATS and FerretDB among them, between the check that it is free and the
// bind: the portal once found 44728 so taken.
func ephemeralFloor() int {
	raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(raw)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}

// freeOffset finds a port offset at which every port the stack listens on is free,
// below the kernel's ephemeral ports, and overlaps no stack of another test of this
// process; it stays handed out until the test ends.
func freeOffset(tb testing.TB) int {
	tb.Helper()
	highest := slices.Max(stackPorts(0))
	lo, hi := 100, ephemeralFloor()-highest // every port below the floor
	if hi-lo < 1000 {
		lo, hi = 10000, 38000 // a kernel handing out low ports: the highest, MongoDB's, stays below 65536
	}
	offsetsHanded.Lock()
	defer offsetsHanded.Unlock()
	for range 200 {
		offset := lo + rand.IntN(hi-lo)
		ports := stackPorts(offset)
		if slices.ContainsFunc(ports, func(p int) bool { return offsetsHanded.ports[p] }) || portsFree(offset) != nil {
			continue
		}
		for _, p := range ports {
			offsetsHanded.ports[p] = true
		}
		tb.Cleanup(func() {
			offsetsHanded.Lock()
			defer offsetsHanded.Unlock()
			for _, p := range ports {
				delete(offsetsHanded.ports, p)
			}
		})
		return offset
	}
	tb.Fatal("no port offset with every port of the stack free")
	return 0
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// walkthroughEnv is the environment the README's walkthrough runs in against st: the
// variables tcdev's banner tells a person to export for a stack at an offset, as they
// would paste them, with jq, in place of any the caller's shell has. Every variable
// the walkthrough reads an address from must be among them (the banner once left out
// the portal's P, so the walkthrough's portal steps went to port 8080).
func walkthroughEnv(tb testing.TB, st *stack, bin string) []string {
	tb.Helper()
	// The stack is up at the banner's first line; the export line follows it, and
	// may not have been read yet.
	var exports []string
	for deadline := time.Now().Add(10 * time.Second); exports == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for line := range strings.Lines(st.log()) {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "export S="); ok {
				exports = strings.Fields("S=" + rest)
			}
		}
	}
	for _, name := range []string{"S", "R", "N", "F", "M", "P", "DATA_DIR"} {
		if !slices.ContainsFunc(exports, func(kv string) bool { return strings.HasPrefix(kv, name+"=") }) {
			tb.Fatalf("tcdev's banner does not say to export %s for the walkthrough; it says export %s", name, strings.Join(exports, " "))
		}
	}
	return append(withoutEnv(os.Environ(), "TOKEN", "S", "R", "N", "F", "M", "P", "J", "DATA_DIR", "TZ"),
		append(exports, "J="+filepath.Join(bin, "gojq"), "GOTOOLCHAIN=go1.27.3", "TZ="+notLondonsDay(time.Now()))...)
}

// notLondonsDay is a time zone whose calendar day at now is not London's: the
// walkthrough runs in it, as it does for a person whose shell is in another zone, or
// on a machine on UTC between 23:00 and midnight in summer. Its dates are the suite's,
// London days, whatever the shell's zone (a project started "today" in Kiribati was a
// day ahead of London's, and its report was refused).
func notLondonsDay(now time.Time) string {
	london, err := time.LoadLocation("Europe/London")
	if err == nil && now.In(london).Hour() < 12 {
		return "Etc/GMT+12" // UTC-12: still London's yesterday
	}
	return "Pacific/Kiritimati" // UTC+14: already London's tomorrow
}
