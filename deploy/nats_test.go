package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	corev1 "k8s.io/api/core/v1"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
)

var natsServiceUsers = []string{"signatory", "review", "notify", "fund", "portal"}

// natsConfig writes an overlay's rendered nats-config to a directory, with the paths the
// StatefulSet mounts (TLS, data, pid file) moved into it, and the passwords set in the
// environment as the StatefulSet sets them. It returns the nats.conf path and the CA.
func natsConfig(t testing.TB, overlay string) (conf, caFile string) {
	t.Helper()
	var cm *corev1.ConfigMap
	for _, obj := range render(t, overlay) {
		if c, ok := obj.(*corev1.ConfigMap); ok && hashSuffix.ReplaceAllString(c.Name, "") == "nats-config" {
			cm = c
		}
	}
	if cm == nil {
		t.Fatalf("%s has no nats-config", overlay)
	}
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	caFile = writeTestPKI(t, tlsDir)
	for name, content := range cm.Data {
		content = strings.ReplaceAll(content, "/etc/nats-tls/", tlsDir+"/")
		content = strings.ReplaceAll(content, "store_dir: /data", "store_dir: "+filepath.Join(dir, "data"))
		content = strings.ReplaceAll(content, "/var/run/nats/", dir+"/")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range append(slices.Clone(natsServiceUsers), "ops", "sys") {
		t.Setenv(strings.ToUpper(u)+"_NATS_PASSWORD", "test-"+u)
	}
	t.Setenv("POD_NAME", "nats-0")
	return filepath.Join(dir, "nats.conf"), caFile
}

// writeTestPKI makes a CA and a certificate for localhost signed by it, as cert-manager
// makes tc-ca and nats-tls, and writes ca.crt, tls.crt and tls.key.
func writeTestPKI(t testing.TB, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nats"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"ca.crt":  {Type: "CERTIFICATE", Bytes: caDER},
		"tls.crt": {Type: "CERTIFICATE", Bytes: der},
		"tls.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "ca.crt")
}

// TestProdNATSConfigurationSecuresClientsRoutesAndAccounts loads prod's configuration
// with the NATS server's own parser: TLS for clients, mutual TLS on the three routes,
// every service in the TC account with its own password, and a system account.
func TestProdNATSConfigurationSecuresClientsRoutesAndAccounts(t *testing.T) {
	conf, _ := natsConfig(t, "prod")
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("prod nats.conf: %v", err)
	}
	if opts.TLSConfig == nil {
		t.Error("prod: clients connect without TLS")
	}
	if opts.Cluster.TLSConfig == nil || opts.Cluster.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Error("prod: cluster routes are not mutual TLS (tls { verify: true })")
	}
	if len(opts.Routes) != 3 {
		t.Errorf("prod: %d cluster routes, want 3", len(opts.Routes))
	}
	if opts.SystemAccount != "SYS" {
		t.Errorf("prod: system account %q, want SYS", opts.SystemAccount)
	}
	if !opts.JetStream {
		t.Error("prod: JetStream is not enabled")
	}
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
		if u.Password != "test-"+u.Username {
			t.Errorf("prod: user %s's password is not taken from its environment variable", u.Username)
		}
	}
	for _, svc := range natsServiceUsers {
		u, ok := users[svc]
		if !ok || u.Account == nil || u.Account.Name != "TC" {
			t.Errorf("prod: service user %s is not in the TC account", svc)
			continue
		}
		if u.Permissions == nil || u.Permissions.Publish == nil || !slices.Contains(u.Permissions.Publish.Allow, "tc."+svc+".>") {
			t.Errorf("prod: user %s may not publish its own subjects", svc)
			continue
		}
		for _, other := range natsServiceUsers {
			if other != svc && slices.Contains(u.Permissions.Publish.Allow, "tc."+other+".>") {
				t.Errorf("prod: user %s may publish %s's events", svc, other)
			}
		}
	}
	if u, ok := users["sys"]; !ok || u.Account == nil || u.Account.Name != "SYS" {
		t.Error("prod: no sys user in the system account")
	}
}

// startNATS runs a real NATS server with dev's rendered configuration (one server;
// the accounts, users and TLS are prod's), on a free port.
func startNATS(t testing.TB) (url, caFile string) {
	t.Helper()
	conf, caFile := natsConfig(t, "dev")
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("dev nats.conf: %v", err)
	}
	opts.Port, opts.HTTPPort, opts.Host = -1, 0, "127.0.0.1"
	opts.NoSigs = true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	return s.ClientURL(), caFile
}

func connectAs(t testing.TB, url, caFile, user string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo(user, "test-"+user), nats.RootCAs(caFile), nats.Name(user))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// TestNATSOnlyOverTLS: the server refuses a client that does not speak TLS.
func TestNATSOnlyOverTLS(t *testing.T) {
	url, _ := startNATS(t)
	nc, err := nats.Connect(url, nats.UserInfo("fund", "test-fund"))
	if err == nil {
		nc.Close()
		t.Fatal("a client without the CA connected")
	}
}

// runbookNATSCommands returns the nats CLI commands of the runbook (what follows
// `exec deploy/nats-box --`), split into arguments as the shell splits them.
func runbookNATSCommands(t testing.TB) [][]string {
	t.Helper()
	var out [][]string
	re := regexp.MustCompile(`exec (?:-it? )?deploy/nats-box -- (?:sh -c '(nats [^']*)'|(nats .*))$`)
	for _, c := range runbookCommands(t) {
		if m := re.FindStringSubmatch(c); m != nil {
			argv, err := shellWords(m[1] + m[2])
			if err != nil {
				t.Fatalf("runbook command %q: %v", c, err)
			}
			out = append(out, argv)
		}
	}
	return out
}

// shellWords splits a command line into words as sh does for the runbook's commands:
// blanks separate words, and single or double quotes keep what they hold together
// (no escapes or expansions inside are needed there).
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// natsPubMessage is the message `nats pub <subject> <body> [-H name:value]...` sends:
// the CLI splits each header at its first colon and trims both sides.
func natsPubMessage(argv []string) (*nats.Msg, error) {
	var args []string
	m := nats.NewMsg("")
	for i := 2; i < len(argv); i++ {
		switch a := argv[i]; {
		case a == "-H" || a == "--header":
			if i+1 == len(argv) {
				return nil, fmt.Errorf("%s without a header", a)
			}
			i++
			name, value, ok := strings.Cut(argv[i], ":")
			if !ok {
				return nil, fmt.Errorf("invalid header %q", argv[i])
			}
			m.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		case strings.HasPrefix(a, "-"):
			return nil, fmt.Errorf("flag %s has no check here: add one", a)
		default:
			args = append(args, a)
		}
	}
	if len(args) != 2 {
		return nil, fmt.Errorf("want a subject and a body, got %q", args)
	}
	m.Subject, m.Data = args[0], []byte(args[1])
	return m, nil
}

// TestRunbookDeadLetterCommandsWorkAsTheOpsUser runs, against a real nats-server with
// the rendered configuration and TLS, the JetStream requests each of the runbook's
// `nats` commands makes, as the ops user the nats-box uses: stream info, stream view (an
// ordered consumer), stream get, stream rmm, and the replay's publish, whose message
// must carry the dead letter's event headers for the fund to read it as that event. It
// also checks what the ops user and the service users must not be able to do.
func TestRunbookDeadLetterCommandsWorkAsTheOpsUser(t *testing.T) {
	url, caFile := startNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A service creates its streams and dead-letters a message, as libs/bus does.
	_, fundJS := connectAs(t, url, caFile, "fund")
	if _, err := fundJS.CreateStream(ctx, jetstream.StreamConfig{Name: "TC_DEADLETTER", Subjects: []string{"tc.deadletter.>"}}); err != nil {
		t.Fatalf("fund creates TC_DEADLETTER: %v", err)
	}
	if _, err := fundJS.CreateStream(ctx, jetstream.StreamConfig{Name: "TC_FUND", Subjects: []string{"tc.fund.>"}}); err != nil {
		t.Fatalf("fund creates TC_FUND: %v", err)
	}
	// The dead letter carries the event's headers, as libs/bus's consumer copies them.
	dead := nats.NewMsg("tc.deadletter.fund-projection")
	event := bus.Message(events.Envelope{ID: "5b0e8f7c-3d1a-5e2b-9c4d-7a6f1e2d3c4b", Source: "/tc/fund", Type: "tc.fund.application.submitted.v1",
		AggregateType: "application", AggregateID: "app-7f3a", Version: 2, Time: time.Now(), Actor: "applicant:3f9c2a71", Data: []byte(`{"id":"a1"}`)})
	dead.Data = event.Data
	dead.Header = event.Header
	dead.Header.Set(jetstream.MsgIDHeader, "fund-projection:TC_FUND:1")
	dead.Header.Set("tc-dead-reason", "decode: unexpected end of JSON input")
	dead.Header.Set("tc-dead-subject", "tc.fund.application.submitted")
	if _, err := fundJS.PublishMsg(ctx, dead); err != nil {
		t.Fatalf("fund dead-letters a message: %v", err)
	}

	// notify reads signatory's stream with a durable consumer, as libs/bus does: the
	// runbook's consumer info for TCConsumerLagGrowing reads it.
	_, signatoryJS := connectAs(t, url, caFile, "signatory")
	if _, err := signatoryJS.CreateStream(ctx, jetstream.StreamConfig{Name: "TC_SIGNATORY", Subjects: []string{"tc.signatory.>"}}); err != nil {
		t.Fatalf("signatory creates TC_SIGNATORY: %v", err)
	}
	_, notifyJS := connectAs(t, url, caFile, "notify")
	if _, err := notifyJS.CreateOrUpdateConsumer(ctx, "TC_SIGNATORY", jetstream.ConsumerConfig{Durable: "notify-organisations", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("notify creates its consumer on TC_SIGNATORY: %v", err)
	}
	// The consumers of erasures the upgrade section looks at before its apply.
	_, reviewJS := connectAs(t, url, caFile, "review")
	for user, js := range map[string]jetstream.JetStream{"notify": notifyJS, "fund": fundJS, "review": reviewJS} {
		if _, err := js.CreateOrUpdateConsumer(ctx, "TC_SIGNATORY", jetstream.ConsumerConfig{Durable: user + "-person-erasures", AckPolicy: jetstream.AckExplicitPolicy,
			FilterSubjects: []string{"tc.signatory.person.erased"}}); err != nil {
			t.Fatalf("%s creates its consumer of erasures on TC_SIGNATORY: %v", user, err)
		}
	}

	// Its violations are followed for the checks of what it must not do, below.
	ops, opsRefused := connectRecording(t, url, caFile, "ops")
	cmds := runbookNATSCommands(t)
	if len(cmds) == 0 {
		t.Fatal("the runbook has no nats-box commands")
	}
	seen := map[string]bool{}
	for _, argv := range cmds {
		// --user sys --password "$NATS_SYS_PASSWORD": the system account's user, whose
		// password the nats-box has in that variable (checked by the runbook's shell test).
		js, user := ops, "ops"
		if i := slices.Index(argv, "--user"); i > 0 && i+3 < len(argv) && argv[i+2] == "--password" {
			user = argv[i+1]
			argv = append(argv[:i:i], argv[i+4:]...)
		}
		verb := strings.Join(argv[:min(3, len(argv))], " ")
		seen[verb] = true
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		switch verb {
		case "nats server report":
			if user != "sys" {
				err = errors.New("server reports need the system account's user")
				break
			}
			nc, _ := connectAs(t, url, caFile, "sys")
			_, err = nc.RequestWithContext(ctx, "$SYS.REQ.SERVER.PING.JSZ", nil)
		case "nats stream info":
			var s jetstream.Stream
			if s, err = js.Stream(ctx, argv[3]); err == nil {
				_, err = s.Info(ctx)
			}
		case "nats stream view":
			var c jetstream.Consumer
			if c, err = js.OrderedConsumer(ctx, argv[3], jetstream.OrderedConsumerConfig{}); err == nil {
				var m jetstream.Msg
				if m, err = c.Next(jetstream.FetchMaxWait(5 * time.Second)); err == nil && m.Headers().Get("tc-dead-reason") == "" {
					err = errors.New("the message's reason header is missing")
				}
			}
		case "nats stream get":
			var s jetstream.Stream
			if s, err = js.Stream(ctx, argv[3]); err == nil {
				var m *jetstream.RawStreamMsg
				if m, err = s.GetMsg(ctx, 1); err == nil && m.Header.Get("tc-dead-subject") == "" {
					err = errors.New("the message's subject header is missing")
				}
			}
		case "nats pub tc.fund.application.submitted":
			var m *nats.Msg
			if m, err = natsPubMessage(argv); err == nil {
				err = replayedAsTheEvent(ctx, js, fundJS, m, dead)
			}
		case "nats consumer info":
			var c jetstream.Consumer
			if c, err = js.Consumer(ctx, argv[3], argv[4]); err == nil {
				_, err = c.Info(ctx)
			}
		case "nats stream rmm":
			var s jetstream.Stream
			if s, err = js.Stream(ctx, argv[3]); err == nil {
				err = s.DeleteMsg(ctx, 1)
			}
		default:
			t.Errorf("runbook command %q has no check here: add one", strings.Join(argv, " "))
			continue
		}
		if err != nil {
			t.Errorf("runbook %q as %s: %v", strings.Join(argv, " "), user, err)
		}
	}
	for _, want := range []string{"nats stream view", "nats stream get", "nats pub tc.fund.application.submitted", "nats stream rmm"} {
		if !seen[want] {
			t.Errorf("the runbook's dead-letter section lacks %q", want)
		}
	}

	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		t.Cleanup(cancel)
		return c
	}
	// The ops user reads dead letters; it does not delete streams or read services' data.
	// (A refused request is not answered: the server's report of the violation ends
	// its context, see refusals.Until.)
	if err := ops.DeleteStream(opsRefused.Until(t, ctx, "DELETE.TC_DEADLETTER"), "TC_DEADLETTER"); err == nil {
		t.Error("ops may delete TC_DEADLETTER")
	}
	if s, err := ops.Stream(short(), "TC_FUND"); err == nil {
		if _, err := s.GetMsg(opsRefused.Until(t, ctx, "TC_FUND"), 1); err == nil || errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Errorf("ops may read TC_FUND's messages (%v)", err)
		}
	}
	// A service user reads the dead letters (its dead-letter API shows only its own
	// consumers'), but cannot read another service's stream or consume one it does not read.
	sigJS, sigRefused := connectRecording(t, url, caFile, "signatory")
	if s, err := sigJS.Stream(short(), "TC_FUND"); err == nil {
		if _, err := s.GetMsg(sigRefused.Until(t, ctx, "TC_FUND"), 1); err == nil || errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Errorf("signatory may read TC_FUND's messages (%v)", err)
		}
	}
	if _, err := sigJS.CreateConsumer(sigRefused.Until(t, ctx, "TC_FUND"), "TC_FUND", jetstream.ConsumerConfig{Durable: "spy"}); err == nil {
		t.Error("signatory may consume TC_FUND")
	}
}

// replayedAsTheEvent publishes the runbook's replay as the ops user and checks that it
// is the dead letter's event again: it sets every event header the dead letter carries
// (those libs/bus sets, but for the message id and the trace), and the fund's consumer
// reads it as an event with the dead letter's id and type.
func replayedAsTheEvent(ctx context.Context, ops, fund jetstream.JetStream, m, dead *nats.Msg) error {
	var missing []string
	for name := range dead.Header {
		if strings.HasPrefix(name, "tc-dead-") || name == jetstream.MsgIDHeader || name == bus.HeaderTraceParent || name == bus.HeaderTraceState {
			continue
		}
		if m.Header.Get(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("the replay leaves out the event's headers %s", strings.Join(missing, ", "))
	}
	if _, err := ops.PublishMsg(ctx, m); err != nil {
		return err
	}
	s, err := fund.Stream(ctx, "TC_FUND")
	if err != nil {
		return err
	}
	got, err := s.GetLastMsgForSubject(ctx, m.Subject)
	if err != nil {
		return fmt.Errorf("the fund reads the replay: %w", err)
	}
	e, err := bus.Envelope(got.Subject, got.Header, got.Data)
	if err != nil {
		return fmt.Errorf("the replay is no event, its consumer would dead-letter it again: %w", err)
	}
	if e.ID != dead.Header.Get(bus.HeaderID) || e.Type != dead.Header.Get(bus.HeaderType) {
		return fmt.Errorf("the replay is event %s of type %s, the dead letter %s of type %s", e.ID, e.Type, dead.Header.Get(bus.HeaderID), dead.Header.Get(bus.HeaderType))
	}
	return nil
}

// TestPortalNATSUserPublishesItsStreamAndReadsSignatoryAndReview runs, against a real
// nats-server with the rendered accounts and TLS, what the portal does on the bus (its
// own streams TC_PORTAL, TC_PORTAL_TOKENS, TC_PORTAL_ENDED and TC_PORTAL_REMOVED and the dead-letter stream; consumers on
// TC_SIGNATORY and TC_REVIEW), what notify does with the portal's sign-in links (a
// consumer on TC_PORTAL) and what the fund does with its API token events (a consumer
// on TC_PORTAL_TOKENS), and checks what the portal must not do.
func TestPortalNATSUserPublishesItsStreamAndReadsSignatoryAndReview(t *testing.T) {
	url, caFile := startNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		t.Cleanup(cancel)
		return c
	}
	// The owners create their streams, as libs/bus does at start-up.
	for user, stream := range map[string]string{"signatory": "TC_SIGNATORY", "review": "TC_REVIEW", "fund": "TC_FUND"} {
		_, js := connectAs(t, url, caFile, user)
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"tc." + user + ".>"}}); err != nil {
			t.Fatalf("%s creates %s: %v", user, stream, err)
		}
		if _, err := js.Publish(ctx, "tc."+user+".something.happened", []byte(`{}`)); err != nil {
			t.Fatalf("%s publishes: %v", user, err)
		}
	}

	portalJS, portalRefused := connectRecording(t, url, caFile, "portal")
	for _, s := range []jetstream.StreamConfig{
		{Name: "TC_PORTAL", Subjects: []string{"tc.portal.signin.>"}, MaxAge: 15 * time.Minute},
		{Name: "TC_PORTAL_TOKENS", Subjects: []string{"tc.portal.apitoken.>"}, MaxAge: 396 * 24 * time.Hour},
		{Name: "TC_PORTAL_ENDED", Subjects: []string{"tc.portal.ended.>"}, MaxAge: 25 * time.Hour},
		{Name: "TC_PORTAL_REMOVED", Subjects: []string{"tc.portal.removed.>"}, MaxAge: 36 * 24 * time.Hour},
		{Name: "TC_DEADLETTER", Subjects: []string{"tc.deadletter.>"}},
	} {
		if _, err := portalJS.CreateOrUpdateStream(ctx, s); err != nil {
			t.Fatalf("portal creates %s: %v", s.Name, err)
		}
	}
	if _, err := portalJS.Publish(ctx, "tc.portal.signin.requested", []byte(`{}`)); err != nil {
		t.Fatalf("portal publishes to TC_PORTAL: %v", err)
	}
	if _, err := portalJS.Publish(ctx, "tc.deadletter.portal-projection", []byte(`{}`)); err != nil {
		t.Fatalf("portal dead-letters a message: %v", err)
	}
	consume := func(js jetstream.JetStream, user, stream string) error {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		c, err := js.CreateOrUpdateConsumer(cctx, stream, jetstream.ConsumerConfig{Durable: user + "-projection", AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			return fmt.Errorf("create consumer: %w", err)
		}
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return fmt.Errorf("next: %w", err)
		}
		return m.DoubleAck(cctx)
	}
	for _, stream := range []string{"TC_SIGNATORY", "TC_REVIEW"} {
		if err := consume(portalJS, "portal", stream); err != nil {
			t.Errorf("portal consumes %s: %v", stream, err)
		}
	}
	notifyJS, notifyRefused := connectRecording(t, url, caFile, "notify")
	if err := consume(notifyJS, "notify", "TC_PORTAL"); err != nil {
		t.Errorf("notify consumes TC_PORTAL: %v", err)
	}

	// The portal publishes only its own events, reads only the streams it projects, and
	// deletes no stream. (A refused request is not answered: the server's report of
	// the violation ends its context, see refusals.Until.)
	if _, err := portalJS.Publish(portalRefused.Until(t, ctx, "tc.signatory.commitment.signed"), "tc.signatory.commitment.signed", []byte(`{}`)); err == nil {
		t.Error("portal may publish signatory's events")
	}
	if _, err := portalJS.CreateConsumer(portalRefused.Until(t, ctx, "TC_FUND"), "TC_FUND", jetstream.ConsumerConfig{Durable: "spy"}); err == nil {
		t.Error("portal may consume TC_FUND")
	}
	if err := portalJS.DeleteStream(portalRefused.Until(t, ctx, "DELETE.TC_SIGNATORY"), "TC_SIGNATORY"); err == nil {
		t.Error("portal may delete TC_SIGNATORY")
	}
	// Nobody but the portal (and notify, which emails its links) reads its stream.
	fundJS, fundRefused := connectRecording(t, url, caFile, "fund")
	if _, err := fundJS.CreateConsumer(fundRefused.Until(t, ctx, "TC_PORTAL.spy"), "TC_PORTAL", jetstream.ConsumerConfig{Durable: "spy"}); err == nil {
		t.Error("fund may consume TC_PORTAL")
	}
	if _, err := fundJS.Publish(fundRefused.Until(t, ctx, "tc.portal.signin.requested"), "tc.portal.signin.requested", []byte(`{}`)); err == nil {
		t.Error("fund may publish the portal's events")
	}
	// The fund reads the portal's API token events, from their own stream; notify
	// has no business there.
	if _, err := portalJS.Publish(ctx, "tc.portal.apitoken.issued", []byte(`{}`)); err != nil {
		t.Fatalf("portal publishes an API token event: %v", err)
	}
	tokens, err := fundJS.CreateOrUpdateConsumer(short(), "TC_PORTAL_TOKENS", jetstream.ConsumerConfig{Durable: "fund-api-tokens",
		AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatalf("fund creates its API token consumer: %v", err)
	}
	m, err := tokens.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil || m.Subject() != "tc.portal.apitoken.issued" {
		t.Fatalf("fund reads an API token event: %v", err)
	}
	if err := m.DoubleAck(short()); err != nil {
		t.Errorf("fund acks an API token event: %v", err)
	}
	if _, err := fundJS.Publish(fundRefused.Until(t, ctx, "tc.portal.apitoken.revoked"), "tc.portal.apitoken.revoked", []byte(`{}`)); err == nil {
		t.Error("fund may publish the portal's API token events")
	}
	if err := fundJS.DeleteStream(fundRefused.Until(t, ctx, "DELETE.TC_PORTAL_TOKENS"), "TC_PORTAL_TOKENS"); err == nil {
		t.Error("fund may delete TC_PORTAL_TOKENS")
	}
	if _, err := notifyJS.CreateConsumer(notifyRefused.Until(t, ctx, "TC_PORTAL_TOKENS.spy"), "TC_PORTAL_TOKENS", jetstream.ConsumerConfig{Durable: "spy"}); err == nil {
		t.Error("notify may consume TC_PORTAL_TOKENS")
	}

	// The portal's registers of ended sign-ins and of removed colleagues are its alone.
	if _, err := portalJS.Publish(ctx, "tc.portal.ended.session."+strings.Repeat("ab", 32), []byte(`{}`)); err != nil {
		t.Fatalf("portal records a sign-out: %v", err)
	}
	if _, err := portalJS.Publish(ctx, "tc.portal.removed.colleague."+strings.Repeat("ab", 32), []byte(`{}`)); err != nil {
		t.Fatalf("portal records a colleague removed: %v", err)
	}
	for user, c := range map[string]struct {
		js      jetstream.JetStream
		refused *refusals
	}{"fund": {fundJS, fundRefused}, "notify": {notifyJS, notifyRefused}} {
		for _, stream := range []string{"TC_PORTAL_ENDED", "TC_PORTAL_REMOVED"} {
			if _, err := c.js.CreateConsumer(c.refused.Until(t, ctx, stream+".spy"), stream, jetstream.ConsumerConfig{Durable: "spy"}); err == nil {
				t.Errorf("%s may consume %s", user, stream)
			}
		}
	}

	// At every start the portal reads its API token stream and its register of ended
	// sign-ins from the start with an ordered consumer, to mend what a restore of its
	// database undid (apitokens.Reconcile, signin.Mend): every request of it is allowed.
	recJS, refused := connectRecording(t, url, caFile, "portal")
	for _, stream := range []string{"TC_PORTAL_TOKENS", "TC_PORTAL_ENDED", "TC_PORTAL_REMOVED"} {
		oc, err := recJS.OrderedConsumer(short(), stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
		if err != nil {
			t.Fatalf("portal reads %s: %v", stream, err)
		}
		ci, err := oc.Info(short())
		if err != nil || ci.NumPending == 0 {
			t.Fatalf("portal reads %s: %v, %d pending", stream, err, ci.NumPending)
		}
		msgs, err := oc.Fetch(int(ci.NumPending), jetstream.FetchMaxWait(3*time.Second))
		if err != nil {
			t.Fatalf("portal reads %s: %v", stream, err)
		}
		n := 0
		for range msgs.Messages() {
			n++
		}
		if n != int(ci.NumPending) {
			t.Errorf("portal read %d of %s's %d messages: %v", n, stream, ci.NumPending, msgs.Error())
		}
	}
	if r := refused.Seen(); len(r) > 0 {
		t.Errorf("the server refused the portal's reading of its streams: %s", strings.Join(r, "; "))
	}
}

// portsGiven are the ports freePort handed out in this test process.
var portsGiven = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freePort returns a TCP port nothing listens on now, and not handed out before in
// this process: a port closed once chosen may be given again at once, and two
// servers of a cluster given one port cannot both start.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		portsGiven.Lock()
		fresh := !portsGiven.ports[port]
		portsGiven.ports[port] = true
		portsGiven.Unlock()
		if fresh {
			return port
		}
	}
	t.Fatal("no free port that was not handed out already")
	return 0
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProdNATSClusterFormsOverMutualTLSOnly starts three real servers with prod's
// configuration (routes pointed at local ports) and checks they form a JetStream
// cluster over TLS routes; then that the route port refuses a TLS client whose
// certificate the suite's CA did not issue, and one with no certificate.
func TestProdNATSClusterFormsOverMutualTLSOnly(t *testing.T) {
	conf, caFile := natsConfig(t, "prod")
	ports := []int{freePort(t), freePort(t), freePort(t)}
	var routes []*neturl.URL
	for _, p := range ports {
		routes = append(routes, &neturl.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	var servers []*server.Server
	for i, p := range ports {
		t.Setenv("POD_NAME", fmt.Sprintf("nats-%d", i))
		opts, err := server.ProcessConfigFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		opts.Host, opts.Port, opts.HTTPPort, opts.NoSigs, opts.PidFile = "127.0.0.1", -1, 0, true, ""
		opts.Cluster.Host, opts.Cluster.Port = "127.0.0.1", p
		opts.Routes = routes
		opts.StoreDir = t.TempDir()
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(s.Shutdown)
		servers = append(servers, s)
	}
	for i, s := range servers {
		waitFor(t, 20*time.Second, fmt.Sprintf("nats-%d routes to the other two", i), func() bool { return s.NumRoutes() >= 2 })
	}
	waitFor(t, 30*time.Second, "a JetStream meta leader", func() bool {
		return slices.ContainsFunc(servers, (*server.Server).JetStreamIsLeader)
	})
	_, js := connectAs(t, servers[0].ClientURL(), caFile, "fund")
	// A new meta leader counts a peer offline until it has heard from it: placement
	// can be refused for a moment after the election ("no suitable peers"). Each try
	// has a few seconds of its own: a request the meta leader never answers (one sent
	// as it stepped down) spent the whole wait when the tries shared one deadline,
	// and CI failed on "context deadline exceeded" after a single try.
	said := ""
	waitFor(t, 40*time.Second, "a stream with three replicas", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "TC_FUND", Subjects: []string{"tc.fund.>"}, Replicas: 3})
		if err != nil && err.Error() != said {
			said = err.Error()
			t.Logf("a stream with three replicas: %v", err)
		}
		return err == nil
	})

	rogue := writeTestPKI(t, t.TempDir())
	rogueCert, err := tls.LoadX509KeyPair(filepath.Join(filepath.Dir(rogue), "tls.crt"), filepath.Join(filepath.Dir(rogue), "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	for name, certs := range map[string][]tls.Certificate{"a certificate from another CA": {rogueCert}, "no certificate": nil} {
		err := routeHandshake(t, addr, certs)
		t.Logf("%s: %v", name, err)
		if err == nil {
			t.Errorf("the route port accepted a server with %s", name)
		}
	}
	ours, err := tls.LoadX509KeyPair(filepath.Join(filepath.Dir(caFile), "tls.crt"), filepath.Join(filepath.Dir(caFile), "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := routeHandshake(t, addr, []tls.Certificate{ours}); err != nil {
		t.Errorf("the route port refused the suite's own certificate: %v", err)
	}
}

// routeHandshake speaks to a route port as a joining server would: TLS first (the
// server starts TLS on a TLS route before any protocol), with the given client
// certificates, then reads once, which is where TLS 1.3 reports a refused client
// certificate. It returns only the server's TLS alerts: a timeout, or the server
// closing for want of a CONNECT, means the certificate was taken.
func routeHandshake(t testing.TB, addr string, certs []tls.Certificate) error {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, Certificates: certs}) // the client's certificate is what this checks, not the server's
	err = tc.Handshake()
	if err == nil {
		_, err = tc.Read(one)
	}
	if err != nil && strings.Contains(err.Error(), "remote error: tls:") {
		return err
	}
	return nil
}
