// Package reliability runs the suite as separate operating-system processes against
// embedded NATS and FerretDB, drives a workload through the public HTTP APIs while it
// injects faults (kill -9 of a service, NATS restarts, a relay that published but never
// marked, a poison message), and then checks the end state: every accepted request has
// its events, projections and emails, and no side effect happened twice.
//
// The short version runs in `make test`; `make reliability` runs the long one and
// writes docs/RELIABILITY.md.
package reliability

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/embedded"
)

// Services are the suite's binaries, in the order they start.
var Services = []string{"signatory", "review", "notify", "fund"}

// Stack is the infrastructure (in this process) and the services (child processes).
type Stack struct {
	dir      string
	bin      string
	natsAddr string
	natsDir  string
	prefix   string

	mu     sync.Mutex
	nats   *embedded.NATS
	mongo  *embedded.Mongo
	issuer *auth.DevIssuer
	http   *http.Server
	Mail   *Mailbox
	procs  map[string]*proc
	env    []string
	// Addr is each service's base URL.
	Addr map[string]string
	// selfExits counts the services' exits that nobody asked for.
	selfExits map[string]int
	stopping  bool
}

type proc struct {
	name  string
	addr  string
	admin string // the admin listener: health, readiness, metrics
	cmd   *exec.Cmd
	done  chan struct{}
	log   *os.File
	// meant is set when the harness kills or stops the process; any other exit is
	// the service's own, and the harness restarts it as an orchestrator would.
	meant bool
}

// BuildServices compiles every service binary from the workspace rooted at root into dir.
func BuildServices(ctx context.Context, root, dir string) error {
	for _, s := range Services {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, s), "./cmd/"+s) // #nosec G204 -- builds the suite's own services by name
		cmd.Dir = filepath.Join(root, "services", s)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w\n%s", s, err, out)
		}
	}
	return nil
}

// Options tune how the services run.
type Options struct {
	// Dir holds NATS and FerretDB data and each service's log.
	Dir string
	// Bin holds the service binaries (BuildServices).
	Bin string
	// Env is added to every service's environment.
	Env []string
}

// Start starts NATS, FerretDB, a token issuer and an SMTP server in this process, then
// every service as a child process, and waits until all are ready.
func Start(ctx context.Context, o Options) (*Stack, error) {
	s := &Stack{dir: o.Dir, bin: o.Bin, natsDir: filepath.Join(o.Dir, "nats"), procs: map[string]*proc{}, Addr: map[string]string{}, selfExits: map[string]int{},
		prefix: fmt.Sprintf("rel%d", time.Now().UnixNano()%1e9)}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	var err error
	if s.natsAddr, err = freeAddr(); err != nil {
		return nil, err
	}
	if s.nats, err = embedded.StartNATS(s.natsDir, s.natsAddr); err != nil {
		return nil, err
	}
	mongoAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if s.mongo, err = embedded.StartFerretDB(filepath.Join(o.Dir, "ferretdb"), mongoAddr); err != nil {
		return nil, err
	}
	if s.Mail, err = StartMailbox(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	issuerURL := "http://" + ln.Addr().String()
	if s.issuer, err = auth.NewDevIssuer(issuerURL, config.DevAudience(Services[0])); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/jwks.json", s.issuer.JWKSHandler())
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.http.Serve(ln) }()

	_, smtpPort, _ := net.SplitHostPort(s.Mail.Addr)
	s.env = append(os.Environ(),
		"MONGO_URI="+s.mongo.URI,
		"NATS_URL=nats://"+s.natsAddr,
		"AUTH_JWKS_URL="+issuerURL+"/.well-known/jwks.json",
		"AUTH_ALLOW_INSECURE_JWKS=true", // the issuer is this process, on the loopback interface
		"AUTH_ISSUER="+issuerURL,
		"SMTP_HOST=127.0.0.1",
		"SMTP_PORT="+smtpPort,
		"SMTP_TLS_POLICY=none",
		"SMTP_FROM=technician-commitment@tc.localhost",
		"NOTIFY_CONTACT_EMAIL=itss@tc.localhost",
		"FUND_CONTACT_EMAIL=itss@tc.localhost",
		"LOG_LEVEL=warn",
		// The load is one caller's: its writes go at the limit's ceiling
		// (config.MaxRate), past what the load sends.
		"FUND_WRITE_RATE=10000",
		"FUND_WRITE_BURST=10000",
		"NOTIFY_SWEEP_INTERVAL=1s",
		"NOTIFY_PUBLIC_URL=http://127.0.0.1:8083",
		"NOTIFY_PORTAL_URL=http://127.0.0.1:8080",
	)
	s.env = append(s.env, o.Env...)
	for _, name := range Services {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		admin, err := freeAddr()
		if err != nil {
			return nil, err
		}
		s.Addr[name] = "http://" + addr
		s.procs[name] = &proc{name: name, addr: addr, admin: admin}
		if err := s.startProc(name); err != nil {
			return nil, err
		}
	}
	if err := s.WaitReady(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

func (s *Stack) startProc(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[name]
	if s.stopping {
		return nil
	}
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return nil // already running (restarted after an exit of its own)
		}
	}
	log, err := os.OpenFile(filepath.Join(s.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600) // #nosec G304 -- a service's log in the harness's own directory
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.bin, name)) // #nosec G204 -- the suite's own binaries, built by this harness
	cmd.Env = append(append([]string{}, s.env...), "HTTP_ADDR="+p.addr, "ADMIN_ADDR="+p.admin,
		"MONGO_DATABASE="+s.prefix+"-"+name, "AUTH_AUDIENCE="+config.DevAudience(name))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.log, p.meant = cmd, done, log, false
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		s.mu.Lock()
		restart := !p.meant && !s.stopping
		if restart {
			s.selfExits[name]++
		}
		s.mu.Unlock()
		close(done)
		if restart {
			time.Sleep(time.Second) // as an orchestrator's restart back-off
			_ = s.startProc(name)
		}
	}()
	return nil
}

// SelfExits reports how often each service exited without being asked to.
func (s *Stack) SelfExits() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.selfExits {
		out[k] = v
	}
	return out
}

// Kill sends SIGKILL to a service and waits for it to die: no shutdown hooks run.
func (s *Stack) Kill(name string) { s.signal(name, syscall.SIGKILL, 0) }

// signal sends sig to a service as the harness's own doing (so it is not restarted
// as having exited by itself) and waits up to grace for it to exit, then kills it.
func (s *Stack) signal(name string, sig syscall.Signal, grace time.Duration) {
	s.mu.Lock()
	p := s.procs[name]
	if p == nil || p.cmd == nil { // never started
		s.mu.Unlock()
		return
	}
	p.meant = true
	cmd, done := p.cmd, p.done
	s.mu.Unlock()
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// Restart starts a killed service again.
func (s *Stack) Restart(name string) error { return s.startProc(name) }

// RestartNATS stops the NATS server, waits for down, and starts it again on the same
// address and JetStream storage.
func (s *Stack) RestartNATS(down time.Duration) error {
	s.mu.Lock()
	n := s.nats
	s.nats = nil
	s.mu.Unlock()
	if n != nil {
		n.Stop()
	}
	time.Sleep(down)
	var err error
	for range 50 { // the port can take a moment to be free again
		if n, err = embedded.StartNATS(s.natsDir, s.natsAddr); err == nil {
			s.mu.Lock()
			s.nats = n
			s.mu.Unlock()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("restart nats: %w", err)
}

// NATSURL is the NATS server's address.
func (s *Stack) NATSURL() string { return "nats://" + s.natsAddr }

// JetStream connects to the stack's NATS server, as an operator's tool would.
func (s *Stack) JetStream() (jetstream.JetStream, func(), error) {
	nc, err := nats.Connect(s.NATSURL())
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, nc.Close, nil
}

// MongoURI is FerretDB's address.
func (s *Stack) MongoURI() string { return s.mongo.URI }

// Database is the name of a service's database.
func (s *Stack) Database(service string) string { return s.prefix + "-" + service }

// Token mints a token for a principal, good at every service for an hour (the most
// they accept; a scenario takes minutes).
func (s *Stack) Token(p auth.Principal) string {
	audiences := make([]string, len(Services))
	for i, name := range Services {
		audiences[i] = config.DevAudience(name)
	}
	t, err := s.issuer.MintFor(p, time.Hour, audiences...)
	if err != nil {
		panic(err) // an in-memory key signing a fixed claim set cannot fail
	}
	return t
}

// WaitReady polls every running service's /readyz, on its admin listener, until all
// answer 200.
func (s *Stack) WaitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	c := &http.Client{Timeout: time.Second}
	for _, name := range Services {
		for {
			resp, err := c.Get("http://" + s.procs[name].admin + "/readyz")
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
				err = errors.New(resp.Status)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not ready within %s: %v (log: %s)", name, within, err, filepath.Join(s.dir, name+".log"))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// Stop stops the services (SIGTERM, then SIGKILL) and the infrastructure.
func (s *Stack) Stop() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	for _, name := range Services {
		s.signal(name, syscall.SIGTERM, 10*time.Second)
	}
	if s.http != nil {
		_ = s.http.Close()
	}
	if s.Mail != nil {
		s.Mail.Close()
	}
	if s.nats != nil {
		s.nats.Stop()
	}
	if s.mongo != nil {
		s.mongo.Stop()
	}
}

// given are the addresses freeAddr handed out in this process.
var given = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// freeAddr returns an address free now and not handed out before in this process: a
// port closed after it was chosen may be given again at once, and a service given
// one port for its API and admin listeners refuses to start (the portal's tests saw
// it in CI).
func freeAddr() (string, error) {
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		given.Lock()
		fresh := !given.addrs[addr]
		given.addrs[addr] = true
		given.Unlock()
		if fresh {
			return addr, nil
		}
	}
	return "", errors.New("no free address that was not handed out already")
}

// LogErrors returns up to max lines logged at ERROR by the services, for a failing test.
func (s *Stack) LogErrors(max int) string {
	var b strings.Builder
	n := 0
	for _, name := range Services {
		data, err := os.ReadFile(filepath.Join(s.dir, name+".log")) // #nosec G304 -- a service's log in the harness's own directory
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(data)) {
			if n < max && (strings.Contains(line, `"level":"ERROR"`) || strings.HasPrefix(line, "panic") || strings.Contains(line, "start "+name+":")) {
				b.WriteString(name + ": " + line)
				n++
			}
		}
	}
	return b.String()
}

// DumpStacks has every service print its goroutines into its log (SIGQUIT) and starts
// it again: for finding out what a stuck consumer was waiting for.
func (s *Stack) DumpStacks() {
	for _, name := range Services {
		s.signal(name, syscall.SIGQUIT, 5*time.Second)
		_ = s.Restart(name)
	}
}
