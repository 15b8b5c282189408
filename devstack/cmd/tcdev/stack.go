package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/embedded"
)

// Local addresses of the stack, at port offset 0. Production sets the same keys to its
// own servers.
const (
	natsPort   = 4222
	mongoPort  = 27017
	issuerPort = 8079
	smtpPort   = 1025
	mailUIPort = 8025
	// issuerURL is the development issuer's name, which tokens carry in iss and the
	// services expect. It stays the same at any port offset (only where its keys are
	// served moves), so `tcdev token` mints tokens any stack on this data directory accepts.
	issuerURL = "http://127.0.0.1:8079"
	// adminOffset puts each service's admin listener (health, readiness, metrics) at
	// its API port + 1000: signatory 9081, review 9082, notify 9083, fund 9084.
	adminOffset = 1000
	// portalPort is where the portal's pages are (its admin listener at 9080);
	// notify's emails link there.
	portalPort = 8080
	// portalKeyFile, in the data directory, is the key the portal signs its tokens
	// with; created on first run, like the development issuer's.
	portalKeyFile = "portal-signing-key.pem"
	// portalPseudonymFile, in the data directory, holds the secret the portal keys
	// people's pseudonyms with (PORTAL_PSEUDONYM_KEY); created on first run and kept,
	// since a new one would make every lead a new person. libs/embedded backs it up.
	portalPseudonymFile = "portal-pseudonym.key"
)

// portal is the web front end. It is not one of services: it has no API of its own
// for tokens to name, and starts only once they run, since it calls them.
var portal = service{"portal", portalPort}

// service is one binary of the suite and the port of its API locally; its admin
// listener is at port + adminOffset.
type service struct {
	name string
	port int
}

var services = []service{
	{"signatory", 8081},
	{"review", 8082},
	{"notify", 8083},
	{"fund", 8084},
}

// addr is where a port of the stack listens, moved by the stack's port offset so that
// a second stack (the README walkthrough's test) can run beside a developer's own.
func addr(port, offset int) string { return fmt.Sprintf("127.0.0.1:%d", port+offset) }

// listeners names every port a stack listens on, at offset 0.
func listeners() map[string]int {
	out := map[string]int{"NATS": natsPort, "MongoDB (FerretDB)": mongoPort, "the token issuer": issuerPort, "SMTP (Mailpit)": smtpPort,
		"Mailpit's web pages": mailUIPort, "the OpenID provider": oidcPort}
	for _, s := range append([]service{portal}, services...) {
		out[s.name] = s.port
		out[s.name+"'s admin listener"] = s.port + adminOffset
	}
	return out
}

// portsFree checks, before anything starts, that every port of a stack at offset is
// free, and names those that are not: a stack started beside another whose offset is
// 1000 away (its admin listeners are its APIs' ports + 1000) failed service by
// service with "address already in use".
func portsFree(offset int) error {
	var taken []string
	for name, port := range listeners() {
		ln, err := net.Listen("tcp", addr(port, offset))
		if err != nil {
			taken = append(taken, fmt.Sprintf("%s (%s)", addr(port, offset), name))
			continue
		}
		_ = ln.Close()
	}
	if len(taken) == 0 {
		return nil
	}
	slices.Sort(taken)
	return fmt.Errorf("-port-offset %d: these ports are in use, by another stack or program: %s. Stop it, or choose another offset: stacks side by side need offsets that do not land on each other's ports (each service's admin listener is 1000 above its API), so keep them 10000 apart",
		offset, strings.Join(taken, ", "))
}

// portOf is the named service's port at offset 0.
func portOf(name string) int {
	for _, s := range services {
		if s.name == name {
			return s.port
		}
	}
	panic("tcdev: no service " + name)
}

// serviceNames lists the suite's services, in the order they start.
func serviceNames() []string {
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.name
	}
	return names
}

func runStack(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	dataDir := fs.String("data", ".data", "directory for NATS, FerretDB and Mailpit data (kept between runs)")
	binDir := fs.String("bin", "bin", "directory holding the service binaries and mailpit")
	pprofAddr := fs.String("pprof", "", "serve Go's profiles (net/http/pprof) of NATS and FerretDB on this address, e.g. 127.0.0.1:6060")
	offset := fs.Int("port-offset", 0, "add this to every port the stack listens on (portal 8080, services 8081-8084, issuer 8079, OpenID provider 8078, NATS 4222, MongoDB 27017, SMTP 1025, mail 8025)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *offset < 0 || *offset+mongoPort > 65535 {
		return fmt.Errorf("-port-offset %d: must be 0 to %d", *offset, 65535-mongoPort)
	}
	if err := portsFree(*offset); err != nil {
		return err
	}
	natsAddr, mongoAddr := addr(natsPort, *offset), addr(mongoPort, *offset)
	smtpAddr, mailUIAddr := addr(smtpPort, *offset), addr(mailUIPort, *offset)
	started := time.Now()
	if *pprofAddr != "" {
		stop, err := servePprof(*pprofAddr)
		if err != nil {
			return err
		}
		defer stop()
	}

	in, err := startInfra(*dataDir, *offset)
	if err != nil {
		return err
	}
	defer in.stop()
	env, issuer := in.env, in.issuer
	oidc, err := startOIDC(*dataDir, *offset)
	if err != nil {
		return err
	}
	defer oidc.stop()

	var procs []*exec.Cmd
	var wg sync.WaitGroup
	startProc := func(name, path string, args []string, extraEnv ...string) error {
		cmd := exec.Command(path, args...) // #nosec G204 -- the suite's own binaries, from the -bin directory the developer named
		cmd.Env = append(append([]string{}, env...), extraEnv...)
		endWithTcdev(cmd)
		stdout, _ := cmd.StdoutPipe()
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		procs = append(procs, cmd)
		for _, r := range []io.Reader{stdout, stderr} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				prefix(name, r)
			}()
		}
		return nil
	}

	mailpit := filepath.Join(*binDir, "mailpit")
	mailUI := ""
	if _, err := os.Stat(mailpit); err == nil {
		if err := startProc("mailpit", mailpit, []string{"--disable-version-check", "--smtp", smtpAddr, "--listen", mailUIAddr,
			"--database", filepath.Join(*dataDir, "mailpit.db"), "--smtp-auth-accept-any", "--smtp-auth-allow-insecure"}); err != nil {
			return err
		}
		mailUI = "http://" + mailUIAddr
	}

	var running []service
	for _, s := range services {
		path := filepath.Join(*binDir, s.name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if err := startProc(s.name, path, nil, serviceEnv(s, *offset)...); err != nil {
			stopAll(procs)
			return err
		}
		running = append(running, s)
	}
	if len(running) == 0 {
		return errors.New("no service binaries in " + *binDir + ": run `make build` first")
	}
	if path := filepath.Join(*binDir, portal.name); fileExists(path) {
		keyFile := filepath.Join(*dataDir, portalKeyFile)
		if err := auth.CreateKey(keyFile); err != nil {
			stopAll(procs)
			return err
		}
		pseudonymKey, err := loadOrCreateSecret(filepath.Join(*dataDir, portalPseudonymFile))
		if err != nil {
			stopAll(procs)
			return err
		}
		portalEnv := append([]string{"HTTP_ADDR=" + addr(portal.port, *offset), "ADMIN_ADDR=" + addr(portal.port+adminOffset, *offset),
			"MONGO_DATABASE=portal", "PORTAL_PUBLIC_URL=http://" + addr(portal.port, *offset), "PORTAL_SIGNING_KEY_FILE=" + keyFile,
			"PORTAL_PSEUDONYM_KEY=" + pseudonymKey,
			// Where every page tells people to write to ITSS, as notify's emails do.
			"PORTAL_CONTACT_EMAIL=itss@tc.localhost",
			// The data protection officer the privacy notice names.
			"PORTAL_DPO_CONTACT=dpo@tc.localhost",
			// Everything of the local stack is on this machine.
			"PORTAL_TRANSFERS_OUTSIDE_UK=none",
			// The local stack speaks plain http, where a Secure cookie is never sent back.
			"PORTAL_INSECURE_COOKIES=true",
			"PORTAL_SIGNATORY_URL=http://" + addr(portOf("signatory"), *offset), "PORTAL_REVIEW_URL=http://" + addr(portOf("review"), *offset),
			"PORTAL_NOTIFY_URL=http://" + addr(portOf("notify"), *offset), "PORTAL_FUND_URL=http://" + addr(portOf("fund"), *offset),
			// Each service's audience on this stack (see serviceEnv's AUTH_AUDIENCE).
			"PORTAL_SIGNATORY_AUDIENCE=" + config.DevAudience("signatory"), "PORTAL_REVIEW_AUDIENCE=" + config.DevAudience("review"),
			"PORTAL_NOTIFY_AUDIENCE=" + config.DevAudience("notify"), "PORTAL_FUND_AUDIENCE=" + config.DevAudience("fund")},
			// ITSS staff sign in through the local OpenID provider.
			oidc.portalEnv()...)
		if err := startProc(portal.name, path, nil, portalEnv...); err != nil {
			stopAll(procs)
			return err
		}
		running = append(running, portal)
	}

	if err := waitReady(ctx, running, *offset, 30*time.Second); err != nil {
		stopAll(procs)
		wg.Wait()
		return err
	}
	token, err := issuer.MintFor(auth.Principal{Subject: "ops-dev", Role: auth.RoleOps, Name: "Local Ops"}, tokenLifetime, audiences(serviceNames())...)
	if err != nil {
		return err
	}
	printBanner(running, *offset, *dataDir, natsAddr, mongoAddr, mailUI, oidc, token, time.Since(started))

	<-ctx.Done()
	fmt.Println("\nstopping…")
	stopAll(procs)
	wg.Wait()
	return nil
}

// serviceEnv is the environment of one service beyond what every service shares.
// The services believe the X-Forwarded-For of the portal, which calls them from the
// loopback address naming its visitor, as they believe the cluster's network in
// production. (A call straight to a service from this machine may name any client
// it likes: on a developer's own machine that costs nobody anything.)
func serviceEnv(s service, offset int) []string {
	return []string{"HTTP_ADDR=" + addr(s.port, offset), "ADMIN_ADDR=" + addr(s.port+adminOffset, offset),
		"MONGO_DATABASE=" + s.name, "AUTH_AUDIENCE=" + config.DevAudience(s.name), "HTTP_TRUSTED_PROXIES=127.0.0.1"}
}

// waitReady polls each service's /readyz on its admin listener until it answers 200.
func waitReady(ctx context.Context, running []service, offset int, within time.Duration) error {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: time.Second}
	for _, s := range running {
		for {
			resp, err := client.Get("http://" + addr(s.port+adminOffset, offset) + "/readyz")
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not become ready on %s within %s", s.name, addr(s.port+adminOffset, offset), within)
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

func stopAll(procs []*exec.Cmd) {
	for _, p := range procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	done := make(chan struct{})
	go func() {
		for _, p := range procs {
			_ = p.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(25 * time.Second):
		for _, p := range procs {
			_ = p.Process.Kill()
		}
	}
}

// prefix copies a child's output line by line, labelled with its name.
func prefix(name string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Printf("%-9s | %s\n", name, sc.Text())
	}
}

func printBanner(running []service, offset int, dataDir, natsAddr, mongoAddr, mailUI string, oidc localOIDC, token string, took time.Duration) {
	fmt.Print(banner(running, offset, dataDir, natsAddr, mongoAddr, mailUI, oidc, token, took))
}

// banner is what the stack says once it is up: its addresses, how to sign in and mint
// tokens, and what points the README's walkthrough and make token at it.
func banner(running []service, offset int, dataDir, natsAddr, mongoAddr, mailUI string, oidc localOIDC, token string, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nTechnician Commitment suite is up (ready in %s)\n\n", took.Round(time.Millisecond))
	for _, s := range running {
		a := addr(s.port, offset)
		if s == portal {
			fmt.Fprintf(&b, "  %-10s http://%s   (the web pages: sign in, directory, fund rounds; health and metrics: http://%s)\n", s.name, a, addr(s.port+adminOffset, offset))
			continue
		}
		fmt.Fprintf(&b, "  %-10s http://%s   (reference: http://%s/docs; health and metrics: http://%s)\n", s.name, a, a, addr(s.port+adminOffset, offset))
	}
	fmt.Fprintf(&b, "  %-10s %s\n", "NATS", "nats://"+natsAddr)
	fmt.Fprintf(&b, "  %-10s %s\n", "MongoDB", "mongodb://"+mongoAddr+"/ (FerretDB on SQLite)")
	if mailUI != "" {
		fmt.Fprintf(&b, "  %-10s %s   (every email the suite sends lands here)\n", "mail", mailUI)
	}
	fmt.Fprintf(&b, "  %-10s %s   (OpenID provider for ITSS staff's sign-in)\n", "sign-in", oidc.issuer)
	b.WriteString(oidc.banner())
	fmt.Fprintf(&b, "\nA development token for ITSS operations staff, for every service (valid %.0f minutes):\n\n  export TOKEN=%s\n", tokenLifetime.Minutes(), token)
	fmt.Fprintf(&b, "\nA fresh one, or other roles: make token ROLE=lead ORG=<organisation id> [AUD=review,notify]\n")
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	// make token reads .data under the directory make run runs this from (the
	// repository's root) unless DATA_DIR says otherwise: another data directory's key
	// signs the tokens this stack takes.
	def, err := filepath.Abs(".data")
	if offset == 0 && (err != nil || def != abs) {
		fmt.Fprintf(&b, "\nmake token and the README's walkthrough read this stack's signing key after:\n\n  export DATA_DIR=%s\n", abs)
	}
	if offset != 0 {
		// The README's walkthrough reads these, so it runs against this stack as it is.
		fmt.Fprintf(&b, "\nThe README's walkthrough and make token talk to this stack after:\n\n  export S=http://%s R=http://%s N=http://%s F=http://%s M=%s P=http://%s DATA_DIR=%s\n",
			addr(portOf("signatory"), offset), addr(portOf("review"), offset), addr(portOf("notify"), offset), addr(portOf("fund"), offset), mailUI,
			addr(portal.port, offset), abs)
	}
	fmt.Fprintf(&b, "\nTry:\n\n  curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"name\":\"University of Exampleton\",\"kind\":\"signatory\",\"sector\":\"higher_education\",\"country\":\"GB\",\"website\":\"https://www.exampleton.ac.uk\",\"enquiry_contact\":{\"name\":\"Sam Patel\",\"email\":\"s.patel@exampleton.ac.uk\"}}' \\\n"+
		"    http://%s/v1/organisations\n\nCtrl-C stops everything; data stays in %s for the next run.\n\n", addr(portOf("signatory"), offset), dataDir)
	return b.String()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// infra is what the services run on locally: embedded NATS and FerretDB and the
// development token issuer, with the environment that points a service at them.
type infra struct {
	env    []string
	issuer *auth.DevIssuer
	stop   func()
}

// startInfra starts NATS, FerretDB and the token issuer on dataDir at the port offset.
func startInfra(dataDir string, offset int) (*infra, error) {
	natsAddr, mongoAddr, issuerAddr := addr(natsPort, offset), addr(mongoPort, offset), addr(issuerPort, offset)
	var stops []func()
	in := &infra{stop: func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}}
	fail := func(err error) (*infra, error) {
		in.stop()
		return nil, err
	}
	unlock, err := lockData(dataDir, "tcdev "+strings.Join(os.Args[1:2], ""))
	if err != nil {
		return nil, err
	}
	stops = append(stops, unlock)
	nats, err := embedded.StartNATS(filepath.Join(dataDir, "nats"), natsAddr)
	if err != nil {
		return fail(fmt.Errorf("start NATS (is another stack running?): %w", err))
	}
	stops = append(stops, nats.Stop)
	mongo, err := embedded.StartFerretDB(filepath.Join(dataDir, "ferretdb"), mongoAddr)
	if err != nil {
		return fail(fmt.Errorf("start FerretDB: %w", err))
	}
	stops = append(stops, mongo.Stop)

	issuer, err := auth.LoadOrCreateDevIssuer(filepath.Join(dataDir, "dev-signing-key.pem"), issuerURL, config.DevAudience("signatory"))
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/jwks.json", issuer.JWKSHandler())
	issuerLn, err := net.Listen("tcp", issuerAddr)
	if err != nil {
		return fail(fmt.Errorf("listen for the token issuer: %w", err))
	}
	issuerSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = issuerSrv.Serve(issuerLn) }()
	stops = append(stops, func() { _ = issuerSrv.Close() })
	in.issuer = issuer
	in.env = append(os.Environ(),
		"MONGO_URI="+mongo.URI,
		"NATS_URL="+nats.URL,
		"AUTH_JWKS_URL=http://"+issuerAddr+"/.well-known/jwks.json",
		// The issuer runs in this process on the loopback interface: the one place
		// keys over plain http:// are allowed.
		"AUTH_ALLOW_INSECURE_JWKS=true",
		"AUTH_ISSUER="+issuerURL,
		"SMTP_HOST=127.0.0.1",
		"SMTP_PORT="+strconv.Itoa(smtpPort+offset),
		"SMTP_TLS_POLICY=none",
		// Mail is sent as a local address: the stack is nobody's production.
		"SMTP_FROM=technician-commitment@tc.localhost",
		// Where every email, and the fund's answers that need ITSS, tell people to
		// write to ITSS (the portal's PORTAL_CONTACT_EMAIL is the same).
		"NOTIFY_CONTACT_EMAIL=itss@tc.localhost",
		"FUND_CONTACT_EMAIL=itss@tc.localhost",
		// Calendar feed links point at notify's own address, and emails at the
		// portal's, wherever they listen.
		"NOTIFY_PUBLIC_URL=http://"+addr(portOf("notify"), offset),
		"NOTIFY_PORTAL_URL=http://"+addr(portalPort, offset),
		// The services trust the portal's tokens, as in production, beside the issuer's.
		"AUTH_PORTAL_ISSUER=http://"+addr(portalPort, offset),
		"AUTH_PORTAL_JWKS_URL=http://"+addr(portalPort, offset)+"/.well-known/jwks.json",
	)

	return in, nil
}

// loadOrCreateSecret returns the secret kept in path, making it (32 random bytes,
// in base64, readable by the owner alone) when there is none yet.
func loadOrCreateSecret(path string) (string, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- a file of the stack's own data directory
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make %s: %w", path, err)
	}
	secret := base64.StdEncoding.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return secret, nil
}
