// Package config reads a service's typed configuration from environment variables.
//
// Each service declares one Config struct whose fields carry `env` tags (see
// github.com/caarlos0/env) and whose defaults suit the local stack, except where a
// default would decide what the service trusts or where its data goes (the token
// issuer, audience and keys, the database and the bus): those have none, so that a
// service not told them refuses to start instead of trusting a development
// address. Load parses the
// environment into it and then calls its Validate method, so that every problem is
// reported at start-up at once rather than one per restart.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/itss/techcommit/libs/events"
)

// Validator is implemented by configs that check their values after parsing.
type Validator interface {
	Validate() error
}

// Load fills cfg (a pointer to a struct) from the environment. Fields already set in
// cfg act as defaults. It returns every parse and validation problem joined.
func Load(cfg any) error {
	return LoadFrom(cfg, nil)
}

// LoadFrom is Load with an explicit environment instead of the process's; tests use it.
// A nil environ means the process environment.
func LoadFrom(cfg any, environ map[string]string) error {
	var problems []error
	// envDefault tags fill only the fields cfg leaves zero, so that what the caller set
	// beforehand survives. (env's SetDefaultsForZeroValuesOnly cannot be used in one
	// pass: it also makes a field already set ignore its environment variable.)
	defaults := env.Options{Environment: map[string]string{}, SetDefaultsForZeroValuesOnly: true}
	if err := env.ParseWithOptions(cfg, defaults); err != nil {
		problems = append(problems, describe(cfg, err)...)
	}
	// Then the environment overrides, without applying the defaults a second time.
	opts := env.Options{DefaultValueTagName: "-"}
	if environ != nil {
		opts.Environment = environ
	}
	if err := env.ParseWithOptions(cfg, opts); err != nil {
		problems = append(problems, describe(cfg, err)...)
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("configuration: %w", errors.Join(problems...))
	}
	return nil
}

// describe splits env's error into one problem per field, each named by the
// environment variable the operator set.
func describe(cfg any, err error) []error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return []error{err}
	}
	keys := keysByField(cfg)
	out := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) && len(keys[pe.Name]) > 0 {
			e = fmt.Errorf("%s: %w", strings.Join(keys[pe.Name], " or "), pe.Err)
		}
		out = append(out, e)
	}
	return out
}

// Defaults fills cfg's fields from their envDefault tags alone, ignoring the
// environment, so that tests start from exactly what an unconfigured service gets.
func Defaults(cfg any) error {
	if err := env.ParseWithOptions(cfg, env.Options{Environment: map[string]string{}}); err != nil {
		return fmt.Errorf("configuration defaults: %w", err)
	}
	return nil
}

// Keys lists the environment variables a config struct reads, so that deployment
// manifests can be checked against the code.
func Keys(cfg any) ([]string, error) {
	params, err := env.GetFieldParams(cfg)
	if err != nil {
		return nil, fmt.Errorf("list config keys: %w", err)
	}
	keys := make([]string, 0, len(params))
	for _, p := range params {
		keys = append(keys, p.Key)
	}
	return keys, nil
}

// keysByField maps each Go field name of cfg to the environment variables of the
// fields so named, so that a parse error can name the variable the operator set.
func keysByField(cfg any) map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if key, _, _ := strings.Cut(f.Tag.Get("env"), ","); key != "" {
				out[f.Name] = append(out[f.Name], key)
			} else {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeOf(cfg))
	return out
}

// HTTP configures a service's HTTP listeners: the API, and the admin listener
// that answers health and readiness probes and metrics scrapes apart from the API,
// so that none of them is open to whoever can reach the API.
type HTTP struct {
	Addr            string        `env:"HTTP_ADDR"`
	AdminAddr       string        `env:"ADMIN_ADDR"`
	BodyLimit       string        `env:"HTTP_BODY_LIMIT" envDefault:"256K"`
	RequestTimeout  time.Duration `env:"HTTP_REQUEST_TIMEOUT" envDefault:"10s"`
	ShutdownTimeout time.Duration `env:"HTTP_SHUTDOWN_TIMEOUT" envDefault:"20s"`
	Edge
}

// maxBodyLimit bounds HTTP_BODY_LIMIT. Each body is read whole into memory before
// the operation is known (httpserver's bodyLimit), so the limit is what any sender
// may make a replica hold per request; the largest body an operation takes is a
// review submission's, within 8M, and four times that is room enough.
const maxBodyLimit = 32 << 20

// BodyLimitBytes reads BodyLimit, a number of bytes with an optional K or M (256K,
// 8M, 4096); empty is the default, 256K.
func (h HTTP) BodyLimitBytes() (int64, error) {
	s := h.BodyLimit
	if s == "" {
		return 256 << 10, nil
	}
	digits, mult := s, int64(1)
	switch s[len(s)-1] {
	case 'K', 'k':
		digits, mult = s[:len(s)-1], 1<<10
	case 'M', 'm':
		digits, mult = s[:len(s)-1], 1<<20
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 || n > maxBodyLimit/mult {
		return 0, fmt.Errorf("HTTP_BODY_LIMIT %q must be a size such as 256K or 8M, at most %dM: each body is read whole into memory", s, maxBodyLimit>>20)
	}
	return n * mult, nil
}

// MaxRequestTimeout bounds HTTP_REQUEST_TIMEOUT. The ingress waits a minute for an
// answer (ingress-nginx's proxy-read-timeout); five leave tests on a loaded machine
// room (the fund's races give theirs two), and no slow client holds a connection,
// and its body's memory, for hours.
const MaxRequestTimeout = 5 * time.Minute

// CheckRequestTimeout checks HTTP_REQUEST_TIMEOUT, which the services and the
// portal read alike: at least a second and at most MaxRequestTimeout.
func CheckRequestTimeout(d time.Duration) error {
	if d < time.Second || d > MaxRequestTimeout {
		return fmt.Errorf("HTTP_REQUEST_TIMEOUT %s must be between 1s and %s: the ingress waits a minute for an answer, and a longer deadline lets a slow client hold its connection for nobody", d, MaxRequestTimeout)
	}
	return nil
}

// CheckShutdownTimeout checks HTTP_SHUTDOWN_TIMEOUT, the grace requests in flight
// are given at SIGTERM, which the services and the portal read alike: at least a
// second (0 cut every request in flight, or was taken as 20s unsaid) and at most
// MaxRequestTimeout, the longest a request runs; the pods' terminationGracePeriodSeconds
// is kept above it and the preStop pause together.
func CheckShutdownTimeout(d time.Duration) error {
	if d < time.Second || d > MaxRequestTimeout {
		return fmt.Errorf("HTTP_SHUTDOWN_TIMEOUT %s must be between 1s and %s: requests in flight at SIGTERM are given this long to finish, and none runs longer than HTTP_REQUEST_TIMEOUT may", d, MaxRequestTimeout)
	}
	return nil
}

// Mongo configures the connection to the service's own database. The URI has no
// default: a service must be told where its data lives, never find a development
// server by chance.
type Mongo struct {
	URI      string `env:"MONGO_URI"`
	Database string `env:"MONGO_DATABASE"`
}

// NATS configures the connection to NATS JetStream. The URL has no default, for the
// reason Mongo's URI has none.
type NATS struct {
	URL      string `env:"NATS_URL"`
	User     string `env:"NATS_USER"`
	Password string `env:"NATS_PASSWORD"`
	// StreamReplicas is the number of replicas of the streams this service creates:
	// 1 on a single server, 3 on the production cluster.
	StreamReplicas int `env:"NATS_STREAM_REPLICAS" envDefault:"1"`
	// StreamMaxAge is how long the service's own stream keeps an event. The event
	// store is the record; the stream only carries events to their consumers (and is
	// filled again from the store before a rebuild), so it need keep them only longer
	// than any consumer may be down, and no longer: they name people.
	StreamMaxAge time.Duration `env:"NATS_STREAM_MAX_AGE" envDefault:"720h"`
}

// Bounds of NATS_STREAM_MAX_AGE: under a day, a weekend's outage of a consumer
// would lose events; over a year keeps personal data in transit for no use.
const (
	minStreamMaxAge = 24 * time.Hour
	maxStreamMaxAge = 366 * 24 * time.Hour
)

// Auth configures bearer token verification. Nothing here that decides whom to
// trust has a default: a service told nothing trusts no one and does not start.
type Auth struct {
	JWKSURL string `env:"AUTH_JWKS_URL"`
	Issuer  string `env:"AUTH_ISSUER"`
	// Audience names this service: a token is accepted only when its aud does.
	Audience string `env:"AUTH_AUDIENCE"`
	// MaxTokenLifetime bounds exp-iat of the tokens accepted, so that a token minted
	// for years (or a stolen one) is not good for years.
	MaxTokenLifetime time.Duration `env:"AUTH_MAX_TOKEN_LIFETIME" envDefault:"1h"`
	// MaxAPITokenLifetime bounds exp-iat of the API tokens the portal issues to
	// organisations' tools; only a service that keeps their read model (the fund)
	// accepts them at all, and only while the portal vouches for each.
	MaxAPITokenLifetime time.Duration `env:"AUTH_MAX_API_TOKEN_LIFETIME" envDefault:"2160h"`
	// AllowInsecureJWKS lets the keys come over plain http://, which only the local
	// stack and tests, whose issuer runs on the same machine, may set.
	AllowInsecureJWKS bool `env:"AUTH_ALLOW_INSECURE_JWKS"`
	// PortalIssuer and PortalJWKSURL name a second issuer trusted alongside the
	// identity provider: the portal, which signs short-lived tokens for the people
	// signed in to it. Both or neither; without them only the provider is trusted.
	PortalIssuer  string `env:"AUTH_PORTAL_ISSUER"`
	PortalJWKSURL string `env:"AUTH_PORTAL_JWKS_URL"`
}

// portalProblems checks the optional second issuer: both settings or neither, keys
// over https as for the provider, and an issuer apart from the provider's (one
// issuer with two key sets would make either key good for both).
func (a Auth) portalProblems() []error {
	switch {
	case a.PortalIssuer == "" && a.PortalJWKSURL == "":
		return nil
	case a.PortalIssuer == "" || a.PortalJWKSURL == "":
		return []error{errors.New("AUTH_PORTAL_ISSUER and AUTH_PORTAL_JWKS_URL must be set together (the portal's issuer and its keys), or neither")}
	}
	var errs []error
	if a.PortalIssuer == a.Issuer {
		errs = append(errs, fmt.Errorf("AUTH_PORTAL_ISSUER %q must differ from AUTH_ISSUER", a.PortalIssuer))
	}
	if err := jwksProblem("AUTH_PORTAL_JWKS_URL", a.PortalJWKSURL, a.AllowInsecureJWKS); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// jwksProblem says why addr, the key set's address in setting key, cannot be used:
// spaces about it, not an http(s) address, or plain http:// other than to this
// machine with insecure allowed. Keys fetched in the clear can be replaced on the
// way, and with them every token the service accepts.
func jwksProblem(key, addr string, allowInsecure bool) error {
	if err := ExactAddressProblem(key, addr); err != nil {
		return err
	}
	switch u, err := url.Parse(addr); {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Errorf("%s %q must be an https:// URL", key, WithoutPassword(addr))
	case u.Scheme == "http" && (!allowInsecure || !OnThisMachine(u.Hostname())):
		return fmt.Errorf("%s %q must be https:// (plain http:// only with AUTH_ALLOW_INSECURE_JWKS=true, and only to this machine, for a local development stack)", key, WithoutPassword(addr))
	}
	return nil
}

// OnThisMachine says whether host (a name or an address, no port) is this machine:
// localhost or a loopback address. Only there may a local development stack's plain
// connections go (keys over http://, the bus over nats://, mail without TLS): across
// a network they can be read and changed on the way.
func OnThisMachine(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}

// maxTokenLifetimeCeiling is the most AUTH_MAX_TOKEN_LIFETIME may be set to.
const maxTokenLifetimeCeiling = 24 * time.Hour

// maxAPITokenLifetimeCeiling bounds AUTH_MAX_API_TOKEN_LIFETIME: a year, after which
// an organisation's tools must be given a new token whatever anyone configured. The
// stream of the token events keeps them longer than that (events.APITokenStreamMaxAge).
const maxAPITokenLifetimeCeiling = events.MaxAPITokenLifetime

// Telemetry configures logs and traces. The OTLP endpoint follows the
// OpenTelemetry convention and leaves tracing silent when empty.
type Telemetry struct {
	LogLevel     string `env:"LOG_LEVEL" envDefault:"info"`
	OTLPEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
}

// Platform is the configuration every service shares: listener, database, bus,
// auth and telemetry. Services embed it in their own Config.
type Platform struct {
	HTTP      HTTP
	Mongo     Mongo
	NATS      NATS
	Auth      Auth
	Telemetry Telemetry
}

// Validate reports every problem with the shared settings at once, naming each
// variable that is missing.
func (p Platform) Validate() error {
	var errs []error
	required := func(key, value string) bool {
		if value == "" {
			errs = append(errs, fmt.Errorf("%s must be set", key))
			return false
		}
		return true
	}
	errs = append(errs, ListenerProblems(p.HTTP.Addr, p.HTTP.AdminAddr)...)
	if _, err := p.HTTP.BodyLimitBytes(); err != nil {
		errs = append(errs, err)
	}
	if err := CheckRequestTimeout(p.HTTP.RequestTimeout); err != nil {
		errs = append(errs, err)
	}
	if err := CheckShutdownTimeout(p.HTTP.ShutdownTimeout); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, p.Mongo.Problems()...)
	errs = append(errs, p.NATS.Problems()...)
	if required("AUTH_JWKS_URL", p.Auth.JWKSURL) {
		if err := jwksProblem("AUTH_JWKS_URL", p.Auth.JWKSURL, p.Auth.AllowInsecureJWKS); err != nil {
			errs = append(errs, err)
		}
	}
	required("AUTH_ISSUER", p.Auth.Issuer)
	errs = append(errs, p.Auth.portalProblems()...)
	required("AUTH_AUDIENCE", p.Auth.Audience)
	for _, s := range []struct{ key, value string }{
		{"AUTH_ISSUER", p.Auth.Issuer}, {"AUTH_AUDIENCE", p.Auth.Audience}, {"AUTH_PORTAL_ISSUER", p.Auth.PortalIssuer},
	} {
		// With spaces about it, it matches no token's, and every caller is refused.
		if err := ExactProblem(s.key, s.value, "it is compared exactly with each token's"); err != nil {
			errs = append(errs, err)
		}
	}
	if p.Auth.MaxTokenLifetime <= 0 || p.Auth.MaxTokenLifetime > maxTokenLifetimeCeiling {
		errs = append(errs, fmt.Errorf("AUTH_MAX_TOKEN_LIFETIME %s must be positive and at most %s", p.Auth.MaxTokenLifetime, maxTokenLifetimeCeiling))
	}
	if p.Auth.MaxAPITokenLifetime <= 0 || p.Auth.MaxAPITokenLifetime > maxAPITokenLifetimeCeiling {
		errs = append(errs, fmt.Errorf("AUTH_MAX_API_TOKEN_LIFETIME %s must be positive and at most %s", p.Auth.MaxAPITokenLifetime, maxAPITokenLifetimeCeiling))
	}
	errs = append(errs, p.HTTP.Edge.problems()...)
	errs = append(errs, p.Telemetry.Problems()...)
	return errors.Join(errs...)
}

// ExactProblem says why value, the setting key, cannot be used as it is when it has
// spaces about it (a line break pasted from a console, a space typed before it): the
// setting is compared exactly with what another party sends or holds (a token's
// issuer, the provider's groups, a database's name), so it would be taken and then
// match nothing, and people would learn of it one failed request at a time. why
// says what it is compared with. A value of spaces alone is refused too.
func ExactProblem(key, value, why string) error {
	if strings.TrimSpace(value) == value {
		return nil
	}
	return fmt.Errorf("%s %q must have no spaces about it: %s", key, value, why)
}

// ExactAddressProblem is ExactProblem for an address, quoted with its user and
// password hidden: an address is read as written, and a space after it is part of
// its path (jwks.json%20), where nothing is.
func ExactAddressProblem(key, addr string) error {
	return ExactProblem(key, WithoutPassword(addr), "an address is read as written, and a space after it is part of its path, where nothing is")
}

// DevAudience is the audience naming service in the local stack and in tests
// (tc-signatory, tc-review, tc-notify, tc-fund).
func DevAudience(service string) string { return "tc-" + service }

// ListenerProblems checks a process's two listeners: the API's (HTTP_ADDR) and the
// admin one (ADMIN_ADDR), which must both be set and differ. Every service and the
// portal read them alike.
func ListenerProblems(addr, admin string) []error {
	var errs []error
	if addr == "" {
		errs = append(errs, errors.New("HTTP_ADDR must be set"))
	}
	switch {
	case admin == "":
		errs = append(errs, errors.New("ADMIN_ADDR must be set"))
	case admin == addr:
		errs = append(errs, fmt.Errorf("ADMIN_ADDR %q must differ from HTTP_ADDR", admin))
	}
	return errs
}

// Problems lists what is wrong with the database settings, naming each variable.
func (m Mongo) Problems() []error {
	var errs []error
	switch {
	case m.URI == "":
		errs = append(errs, errors.New("MONGO_URI must be set"))
	case !strings.HasPrefix(m.URI, "mongodb://") && !strings.HasPrefix(m.URI, "mongodb+srv://"):
		errs = append(errs, fmt.Errorf("MONGO_URI %q must start with mongodb:// or mongodb+srv://", WithoutPassword(m.URI)))
	default:
		if err := mongoTLSProblem(m.URI); err != nil {
			errs = append(errs, err)
		}
	}
	if m.Database == "" {
		errs = append(errs, errors.New("MONGO_DATABASE must be set"))
	} else if err := ExactProblem("MONGO_DATABASE", m.Database, "a database named with them is another one, which MongoDB makes empty at the first write"); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// mongoTLSProblem says why uri, a mongodb:// or mongodb+srv:// address, would reach
// a server on another machine without TLS, or without checking its certificate:
// the database holds every person's name and address. A server on this machine
// (the local stack's, a test's) is reached without a network. The MongoDB
// operator's connection strings say ssl=true; mongodb+srv:// is TLS unless told
// otherwise. The address is not quoted: it carries the service's password.
func mongoTLSProblem(uri string) error {
	srv := strings.HasPrefix(uri, "mongodb+srv://")
	rest := uri[strings.Index(uri, "://")+3:]
	authority, query := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
		if _, q, ok := strings.Cut(rest[i:], "?"); ok {
			query = q
		}
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = authority[i+1:]
	}
	local := authority != ""
	for _, h := range strings.Split(authority, ",") {
		host := h
		if hp, _, err := net.SplitHostPort(h); err == nil {
			host = hp
		}
		local = local && OnThisMachine(host)
	}
	if local {
		return nil
	}
	tls := srv
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch k, v = strings.ToLower(k), strings.ToLower(v); {
		case (k == "tls" || k == "ssl") && v == "false":
			return errors.New("MONGO_URI must not turn TLS off (tls=false) for a server on another machine: the database holds every person's name and address, which a plain connection carries in the clear")
		case k == "tls" || k == "ssl":
			tls = tls || v == "true"
		case (k == "tlsinsecure" || k == "tlsallowinvalidcertificates" || k == "tlsallowinvalidhostnames") && v == "true":
			return fmt.Errorf("MONGO_URI must not set %s=true for a server on another machine: a connection that does not check the server's certificate gives every person's name and address to whoever answers", k)
		}
	}
	if !tls {
		return errors.New("MONGO_URI must say tls=true (or ssl=true, as the MongoDB operator's connection strings do) for a server on another machine: the database holds every person's name and address, which a plain connection carries in the clear")
	}
	return nil
}

// WithoutPassword is an address as a log line or an error may quote it: its user
// and password, everything before the last @, hidden. A list of addresses (NATS_URL
// takes one) is hidden up to its last @ as a whole, so that no part of a password
// with a comma in it is shown.
func WithoutPassword(addr string) string {
	at := strings.LastIndex(addr, "@")
	if at < 0 {
		return addr
	}
	scheme := ""
	if i := strings.Index(addr, "://"); i >= 0 && i < at {
		scheme = addr[:i+3]
	}
	return scheme + hidden + "@" + addr[at+1:]
}

// hidden stands for a user and password in an address quoted.
const hidden = "(user and password hidden)"

// WithoutPasswordIn is err with every user and password in addrs (an address, or a
// list of them such as NATS_URL) hidden from its text, for errors of a client that
// quote the address they were given: a URL's parse error quotes it whole. An error
// whose text names none is err itself.
func WithoutPasswordIn(err error, addrs string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	// Each address of the list on its own (an error quotes the one it refused), and
	// the list as a whole (one whose password holds a comma), longest first.
	for _, addr := range append([]string{addrs}, strings.Split(addrs, ",")...) {
		addr = strings.TrimSpace(addr)
		at := strings.LastIndex(addr, "@")
		if at < 0 {
			continue
		}
		userinfo := addr[:at]
		if i := strings.Index(userinfo, "://"); i >= 0 {
			userinfo = userinfo[i+3:]
		}
		if userinfo == "" {
			continue
		}
		// As written, and as %q writes it inside a quoted address; with the @ that
		// follows it in an address, so that a user of one letter hides nothing else.
		quoted := strconv.Quote(userinfo + "@")
		msg = strings.ReplaceAll(msg, userinfo+"@", hidden+"@")
		msg = strings.ReplaceAll(msg, quoted[1:len(quoted)-1], hidden+"@")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// Problems lists what is wrong with the bus settings, naming each variable.
func (n NATS) Problems() []error {
	var errs []error
	switch {
	case n.URL == "":
		errs = append(errs, errors.New("NATS_URL must be set"))
	default:
		// A list of servers, as the client takes it: each over TLS, but a server on
		// this machine (the local stack's, a test's), reached without a network.
		for _, one := range strings.Split(n.URL, ",") {
			one = strings.TrimSpace(one)
			u, err := url.Parse(one)
			switch {
			case err != nil || u.Host == "" || (u.Scheme != "nats" && u.Scheme != "tls"):
				errs = append(errs, fmt.Errorf("NATS_URL %q must start with nats:// or tls://", WithoutPassword(one)))
			case u.Scheme == "nats" && !OnThisMachine(u.Hostname()):
				errs = append(errs, fmt.Errorf("NATS_URL %q must be tls:// for a server on another machine: plain nats:// carries every event, sign-in links among them, in the clear", WithoutPassword(one)))
			}
		}
	}
	if n.StreamReplicas < 1 || n.StreamReplicas > 5 {
		errs = append(errs, fmt.Errorf("NATS_STREAM_REPLICAS %d must be between 1 and 5", n.StreamReplicas))
	}
	if n.StreamMaxAge < minStreamMaxAge || n.StreamMaxAge > maxStreamMaxAge {
		errs = append(errs, fmt.Errorf("NATS_STREAM_MAX_AGE %s must be between %s and %s", n.StreamMaxAge, minStreamMaxAge, maxStreamMaxAge))
	}
	return errs
}

// Problems lists what is wrong with the log and trace settings.
func (t Telemetry) Problems() []error {
	var errs []error
	switch t.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL %q must be one of debug, info, warn, error", t.LogLevel))
	}
	if err := ExactAddressProblem("OTEL_EXPORTER_OTLP_ENDPOINT", t.OTLPEndpoint); err != nil {
		errs = append(errs, err)
	} else if t.OTLPEndpoint != "" {
		// The exporter appends /v1/traces and reads the scheme and host alone: a
		// user and password would be dropped unsaid (and quoted in the log), and an
		// address it cannot read would leave the traces unsent.
		u, err := url.Parse(t.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(t.OTLPEndpoint, "/") {
			errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT %q must be the collector's http:// or https:// address, such as http://otel-collector:4318, without a user, query, fragment or trailing slash (or empty, for no traces)", WithoutPassword(t.OTLPEndpoint)))
		}
	}
	return errs
}
