package config_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/config"
)

// svcConfig is shaped like a service's Config: the platform plus settings of its own.
type svcConfig struct {
	config.Platform
	Own struct {
		Interval time.Duration `env:"OWN_INTERVAL" envDefault:"1m"`
		Name     string        `env:"OWN_NAME"`
	}
}

func (c svcConfig) Validate() error { return c.Platform.Validate() }

// minimal is the least a service must be told.
func minimal() map[string]string {
	return map[string]string{
		"HTTP_ADDR": ":8080", "ADMIN_ADDR": ":9090", "MONGO_DATABASE": "signatory",
		"MONGO_URI": "mongodb://mongo:27017/?tls=true", "NATS_URL": "tls://nats:4222",
		"AUTH_JWKS_URL": "https://login.example/jwks.json", "AUTH_ISSUER": "https://login.example", "AUTH_AUDIENCE": "tc-signatory",
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	environ := minimal()
	for k, v := range map[string]string{
		// two values that cannot be parsed...
		"HTTP_REQUEST_TIMEOUT": "soon",
		"OWN_INTERVAL":         "weekly",
		// ...and two that parse but are wrong
		"NATS_URL":  "http://nats:4222",
		"LOG_LEVEL": "loud",
	} {
		environ[k] = v
	}
	var c svcConfig
	err := config.LoadFrom(&c, environ)
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimPrefix(err.Error(), "configuration: "), "\n") {
		key, _, _ := strings.Cut(l, " ")
		lines = append(lines, strings.TrimSuffix(key, ":"))
	}
	slices.Sort(lines)
	if diff := cmp.Diff([]string{"HTTP_REQUEST_TIMEOUT", "LOG_LEVEL", "NATS_URL", "OWN_INTERVAL"}, lines); diff != "" {
		t.Errorf("problems named (-want +got):\n%s\nerror: %v", diff, err)
	}
}

func TestLoadAppliesDefaults(t *testing.T) {
	t.Parallel()
	var c svcConfig
	if err := config.LoadFrom(&c, minimal()); err != nil {
		t.Fatal(err)
	}
	want := svcConfig{Platform: config.Platform{
		HTTP:  config.HTTP{Addr: ":8080", AdminAddr: ":9090", BodyLimit: "256K", RequestTimeout: 10 * time.Second, ShutdownTimeout: 20 * time.Second},
		Mongo: config.Mongo{URI: "mongodb://mongo:27017/?tls=true", Database: "signatory"},
		NATS:  config.NATS{URL: "tls://nats:4222", StreamReplicas: 1, StreamMaxAge: 720 * time.Hour},
		Auth: config.Auth{JWKSURL: "https://login.example/jwks.json", Issuer: "https://login.example", Audience: "tc-signatory",
			MaxTokenLifetime: time.Hour, MaxAPITokenLifetime: 90 * 24 * time.Hour},
		Telemetry: config.Telemetry{LogLevel: "info"},
	}}
	want.Own.Interval = time.Minute
	want.HTTP.Edge = config.Edge{WritePerSecond: 50, WriteBurst: 200, ReadPerSecond: 200, ReadBurst: 400, PublicPerSecond: 20, PublicBurst: 100}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestLoadLayersEnvironmentOverPresetOverTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		preset    string
		environ   string
		wantLimit string
	}{
		{"tag default", "", "", "256K"},
		{"preset beats tag default", "1M", "", "1M"},
		{"environment beats preset", "1M", "64K", "64K"},
		{"environment beats tag default", "", "64K", "64K"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c svcConfig
			c.HTTP.BodyLimit = tt.preset
			c.Own.Name = "preset"
			environ := minimal()
			if tt.environ != "" {
				environ["HTTP_BODY_LIMIT"] = tt.environ
			}
			if err := config.LoadFrom(&c, environ); err != nil {
				t.Fatal(err)
			}
			got := []string{c.HTTP.BodyLimit, c.Own.Name}
			if diff := cmp.Diff([]string{tt.wantLimit, "preset"}, got); diff != "" {
				t.Errorf("HTTP_BODY_LIMIT, OWN_NAME (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefaultsIgnoreTheEnvironment sets a process variable, so it cannot run in parallel.
func TestDefaultsIgnoreTheEnvironment(t *testing.T) {
	t.Setenv("LOG_LEVEL", "debug")
	var c svcConfig
	if err := config.Defaults(&c); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("info", c.Telemetry.LogLevel); diff != "" {
		t.Errorf("LOG_LEVEL (-want +got):\n%s", diff)
	}
}

// TestNothingIsTrustedByDefault: a service told nothing about its token issuer, its
// database or its bus, or told them empty, does not start, and says which variable
// is missing, every one at once. None of them falls back to a development address.
func TestNothingIsTrustedByDefault(t *testing.T) {
	t.Parallel()
	trust := []string{"AUTH_AUDIENCE", "AUTH_ISSUER", "AUTH_JWKS_URL", "MONGO_URI", "NATS_URL"}
	for _, how := range []string{"unset", "empty"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			environ := minimal()
			for _, k := range trust {
				delete(environ, k)
				if how == "empty" {
					environ[k] = ""
				}
			}
			var c svcConfig
			err := config.LoadFrom(&c, environ)
			if err == nil {
				t.Fatalf("started with %v %s: %+v", trust, how, c.Platform)
			}
			var named []string
			for _, l := range strings.Split(strings.TrimPrefix(err.Error(), "configuration: "), "\n") {
				key, rest, _ := strings.Cut(l, " ")
				if rest != "must be set" {
					t.Errorf("problem %q, want <KEY> must be set", l)
				}
				named = append(named, key)
			}
			slices.Sort(named)
			if diff := cmp.Diff(trust, named); diff != "" {
				t.Errorf("variables named (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeysOverPlainHTTPNeedTheDevelopmentFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		jwks, allow string
		ok          bool
	}{
		{"https://login.example/jwks.json", "", true},
		{"http://127.0.0.1:8079/.well-known/jwks.json", "", false},
		{"http://127.0.0.1:8079/.well-known/jwks.json", "false", false},
		{"http://127.0.0.1:8079/.well-known/jwks.json", "true", true},
		{"http://localhost:8079/.well-known/jwks.json", "true", true},
		{"http://[::1]:8079/.well-known/jwks.json", "true", true},
		// The flag is for a local stack: keys from another machine in the clear
		// could be replaced on the way, and with them every token.
		{"http://idp.example.org/jwks", "true", false},
		{"http://10.1.2.3/jwks", "true", false},
		{"https:///jwks.json", "true", false},
		{"ftp://login.example/jwks.json", "true", false},
	}
	for _, tt := range tests {
		environ := minimal()
		environ["AUTH_JWKS_URL"] = tt.jwks
		if tt.allow != "" {
			environ["AUTH_ALLOW_INSECURE_JWKS"] = tt.allow
		}
		var c svcConfig
		err := config.LoadFrom(&c, environ)
		if (err == nil) != tt.ok {
			t.Errorf("AUTH_JWKS_URL=%s AUTH_ALLOW_INSECURE_JWKS=%q: err = %v, want accepted %t", tt.jwks, tt.allow, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "AUTH_JWKS_URL") {
			t.Errorf("AUTH_JWKS_URL=%s: the problem does not name the variable: %v", tt.jwks, err)
		}
	}
}

func TestTheAdminListenerIsRequiredAndApart(t *testing.T) {
	t.Parallel()
	for _, admin := range []string{"", ":8080"} {
		environ := minimal()
		environ["ADMIN_ADDR"] = admin
		var c svcConfig
		if err := config.LoadFrom(&c, environ); err == nil || !strings.Contains(err.Error(), "ADMIN_ADDR") {
			t.Errorf("ADMIN_ADDR=%q with HTTP_ADDR=:8080: err = %v, want a problem naming ADMIN_ADDR", admin, err)
		}
	}
}

func TestTokenLifetimeBound(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{"": true, "15m": true, "24h": true, "0s": false, "-1h": false, "25h": false} {
		environ := minimal()
		if value != "" {
			environ["AUTH_MAX_TOKEN_LIFETIME"] = value
		}
		var c svcConfig
		err := config.LoadFrom(&c, environ)
		if (err == nil) != ok {
			t.Errorf("AUTH_MAX_TOKEN_LIFETIME=%q: err = %v, want accepted %t", value, err, ok)
		}
	}
}

// An API token's bound is as strict: zero, which the verifier would read as its own
// default of 90 days, is refused rather than taken.
func TestAPITokenLifetimeBound(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{"": true, "720h": true, "2160h": true, "0s": false, "-1h": false, "8785h": false} {
		environ := minimal()
		if value != "" {
			environ["AUTH_MAX_API_TOKEN_LIFETIME"] = value
		}
		var c svcConfig
		err := config.LoadFrom(&c, environ)
		if (err == nil) != ok {
			t.Errorf("AUTH_MAX_API_TOKEN_LIFETIME=%q: err = %v, want accepted %t", value, err, ok)
		}
	}
}

// A stream keeps events at least a day (so a consumer down for a weekend loses
// none) and at most a year (they name people); zero, which JetStream reads as
// "for ever", is refused.
func TestStreamMaxAgeBound(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{"": true, "24h": true, "8784h": true, "0s": false, "23h": false, "8785h": false} {
		environ := minimal()
		if value != "" {
			environ["NATS_STREAM_MAX_AGE"] = value
		}
		var c svcConfig
		err := config.LoadFrom(&c, environ)
		if (err == nil) != ok || err != nil && !strings.Contains(err.Error(), "NATS_STREAM_MAX_AGE") {
			t.Errorf("NATS_STREAM_MAX_AGE=%q: err = %v, want accepted %t", value, err, ok)
		}
	}
}

func TestKeysListsEveryVariable(t *testing.T) {
	t.Parallel()
	keys, err := config.Keys(&svcConfig{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{
		"ADMIN_ADDR",
		"AUTH_ALLOW_INSECURE_JWKS", "AUTH_AUDIENCE", "AUTH_ISSUER", "AUTH_JWKS_URL", "AUTH_MAX_API_TOKEN_LIFETIME", "AUTH_MAX_TOKEN_LIFETIME",
		"AUTH_PORTAL_ISSUER", "AUTH_PORTAL_JWKS_URL",
		"HTTP_ADDR", "HTTP_BODY_LIMIT", "HTTP_REQUEST_TIMEOUT", "HTTP_SHUTDOWN_TIMEOUT",
		"HTTP_HSTS_MAX_AGE", "HTTP_TRUSTED_PROXIES",
		"LOG_LEVEL",
		"MONGO_DATABASE", "MONGO_URI",
		"NATS_PASSWORD", "NATS_STREAM_MAX_AGE", "NATS_STREAM_REPLICAS", "NATS_URL", "NATS_USER",
		"OTEL_EXPORTER_OTLP_ENDPOINT",
		"OWN_INTERVAL", "OWN_NAME",
		"RATE_PUBLIC_BURST", "RATE_PUBLIC_PER_SECOND", "RATE_READ_BURST", "RATE_READ_PER_SECOND",
		"RATE_WRITE_BURST", "RATE_WRITE_PER_SECOND",
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

// The bus is reached over TLS, but on this machine: plain nats:// to another carries
// every event, sign-in links among them, in the clear.
func TestTheBusIsReachedOverTLSFromAnotherMachine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"tls://nats:4222", true},
		{"tls://nats-0:4222,tls://nats-1:4222", true},
		{"nats://127.0.0.1:4222", true},
		{"nats://localhost:4222", true},
		{"nats://nats.invalid:4222", false},
		{"tls://nats-0:4222,nats://nats-1:4222", false},
		{"http://nats:4222", false},
	} {
		environ := minimal()
		environ["NATS_URL"] = tt.url
		var c svcConfig
		err := config.LoadFrom(&c, environ)
		if (err == nil) != tt.ok {
			t.Errorf("NATS_URL=%s: err = %v, want accepted %t", tt.url, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "NATS_URL") {
			t.Errorf("NATS_URL=%s: the problem does not name the variable: %v", tt.url, err)
		}
	}
}

// HTTP_BODY_LIMIT is checked with the rest at start-up: a size the server could not
// use, or one past what any operation takes (each body is read whole into memory
// before the operation is known, so a gigabyte's limit is a gigabyte per request to
// whoever sends it), stops start-up naming the setting.
func TestTheBodyLimitIsASizeWithACeiling(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{
		"256K": true, "8M": true, "1k": true, "32M": true, "4096": true,
		"0": false, "-1K": false, "33M": false, "1G": false, "100000M": false,
		"9223372036854775807": false, "9007199254740992K": false, " 256K": false, "256KB": false, "K": false,
	} {
		environ := minimal()
		environ["HTTP_BODY_LIMIT"] = value
		var c svcConfig
		err := config.LoadFrom(&c, environ)
		if (err == nil) != ok || err != nil && !strings.Contains(err.Error(), "HTTP_BODY_LIMIT") {
			t.Errorf("HTTP_BODY_LIMIT=%q: err = %v, want accepted %t", value, err, ok)
		}
	}
}

// A request's deadline is at least a second and at most five minutes (the ingress
// waits one for an answer, ingress-nginx's proxy-read-timeout): a longer one holds a
// slow client's connection, and the memory of its body, long after anyone waits for
// it, and a year's is none. Zero or less, which the server took as its
// own 10s, is refused as the portal refuses it.
func TestTheRequestTimeoutIsBounded(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{"1s": true, "10s": true, "2m": true, "5m": true, "0s": false, "-1s": false, "999ms": false, "5m1s": false, "8760h": false} {
		environ := minimal()
		environ["HTTP_REQUEST_TIMEOUT"] = value
		var c svcConfig
		err := config.LoadFrom(&c, environ)
		if (err == nil) != ok || err != nil && !strings.Contains(err.Error(), "HTTP_REQUEST_TIMEOUT") {
			t.Errorf("HTTP_REQUEST_TIMEOUT=%s: err = %v, want accepted %t", value, err, ok)
		}
	}
}

// The grace for requests in flight at SIGTERM: the services took 0s or a negative
// one as 20s unsaid, and a year as a year (a pod the kubelet then kills with its
// requests at terminationGracePeriodSeconds). 1s to 5m, the longest a request runs.
func TestTheShutdownTimeoutIsBounded(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{"1s": true, "20s": true, "5m": true, "0s": false, "-1s": false, "999ms": false, "5m1s": false, "8760h": false} {
		environ := minimal()
		environ["HTTP_SHUTDOWN_TIMEOUT"] = value
		var c svcConfig
		err := config.LoadFrom(&c, environ)
		if (err == nil) != ok || err != nil && (!strings.Contains(err.Error(), "HTTP_SHUTDOWN_TIMEOUT ") || !strings.Contains(err.Error(), "must be between 1s and 5m")) {
			t.Errorf("HTTP_SHUTDOWN_TIMEOUT=%s: err = %v, want accepted %t", value, err, ok)
		}
	}
}

// The database is reached over TLS, but on this machine, as the bus is: it holds
// every person's name and address, which a plain connection across a network
// carries in the clear, and a connection that does not check the server's
// certificate hands them to whoever answers. The MongoDB operator's connection
// strings say ssl=true; a mongodb+srv:// address uses TLS unless told not to.
func TestTheDatabaseIsReachedOverTLSFromAnotherMachine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		uri string
		ok  bool
	}{
		{"mongodb://127.0.0.1:27017/", true},
		{"mongodb://localhost:27017", true},
		{"mongodb://[::1]:27017/?replicaSet=rs0", true},
		{"mongodb://u:p@mongodb-0.mongodb-svc:27017,mongodb-1.mongodb-svc:27017/signatory?replicaSet=mongodb&ssl=true", true},
		{"mongodb://mongo:27017/?tls=true", true},
		{"mongodb://mongo:27017/?TLS=true&authSource=admin", true},
		{"mongodb+srv://u:p@cluster0.example.mongodb.net/tc", true},
		{"mongodb+srv://cluster0.example.mongodb.net/?retryWrites=true&ssl=true", true},
		{"mongodb://mongo:27017/", false},
		{"mongodb://mongo:27017", false},
		{"mongodb://127.0.0.1:27017,mongo-1:27017/?replicaSet=rs0", false},
		{"mongodb://mongo:27017/?tls=false", false},
		{"mongodb://mongo:27017/?ssl=true&tls=false", false},
		{"mongodb+srv://cluster0.example.mongodb.net/?tls=false", false},
		{"mongodb://mongo:27017/?tls=true&tlsInsecure=true", false},
		{"mongodb://mongo:27017/?tls=true&tlsAllowInvalidCertificates=true", false},
		{"mongodb+srv://cluster0.example.mongodb.net/?tlsAllowInvalidHostnames=true", false},
	} {
		environ := minimal()
		environ["MONGO_URI"] = tt.uri
		var c svcConfig
		err := config.LoadFrom(&c, environ)
		if (err == nil) != tt.ok {
			t.Errorf("MONGO_URI=%s: err = %v, want accepted %t", tt.uri, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "MONGO_URI") {
			t.Errorf("MONGO_URI=%s: the problem does not name the variable: %v", tt.uri, err)
		}
	}
}

// An issuer or audience is compared exactly with the token's: one written with
// spaces about it (a line break pasted with it) matches no token, and the service
// would refuse every caller, which it would learn only from them. Start-up refuses
// it instead, naming the setting.
func TestIssuersAndAudienceAreWrittenExactly(t *testing.T) {
	t.Parallel()
	for key, bad := range map[string]string{
		"AUTH_ISSUER": "https://login.example ", "AUTH_AUDIENCE": " tc-signatory", "AUTH_PORTAL_ISSUER": "https://portal.example\n",
	} {
		environ := minimal()
		environ[key] = bad
		if key == "AUTH_PORTAL_ISSUER" {
			environ["AUTH_PORTAL_JWKS_URL"] = "https://portal.example/.well-known/jwks.json"
		}
		var c svcConfig
		if err := config.LoadFrom(&c, environ); err == nil || !strings.Contains(err.Error(), key+" "+strconv.Quote(bad)+" must have no spaces about it: it is compared exactly with each token's") {
			t.Errorf("%s=%q: err = %v, want it refused naming the setting and saying why", key, bad, err)
		}
	}
}

// An address pasted with a space after it (https://login.example/jwks.json ) was
// taken, the space read as part of its path: the keys were asked for at
// jwks.json%20, and every token was refused for want of them. Start-up refuses an
// address with spaces about it, naming the setting.
func TestAddressesAreWrittenExactly(t *testing.T) {
	t.Parallel()
	for key, bad := range map[string]string{
		"AUTH_JWKS_URL":               "https://login.example/jwks.json ",
		"AUTH_PORTAL_JWKS_URL":        "https://portal.example/.well-known/jwks.json\t",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318/otlp ",
	} {
		environ := minimal()
		if key == "AUTH_PORTAL_JWKS_URL" {
			environ["AUTH_PORTAL_ISSUER"] = "https://portal.example"
		}
		environ[key] = bad
		var c svcConfig
		if err := config.LoadFrom(&c, environ); err == nil || !strings.Contains(err.Error(), key+" "+strconv.Quote(bad)+" must have no spaces about it") {
			t.Errorf("%s=%q: err = %v, want it refused naming the setting", key, bad, err)
		}
	}
}

// A database named with spaces about it (" notify", a line break pasted from a
// console) is another database, which MongoDB makes empty on the first write: the
// service would start on none of its records. Start-up refuses it, naming it.
func TestTheDatabaseIsNamedExactly(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{" signatory", "signatory\n", "signatory "} {
		environ := minimal()
		environ["MONGO_DATABASE"] = bad
		var c svcConfig
		if err := config.LoadFrom(&c, environ); err == nil || !strings.Contains(err.Error(), "MONGO_DATABASE "+strconv.Quote(bad)+" must have no spaces about it") {
			t.Errorf("MONGO_DATABASE=%q: err = %v, want it refused naming the setting", bad, err)
		}
	}
}

// ExactProblem is the one check, for every setting compared exactly with what
// another party sends or holds, that it has no spaces about it; each names the
// setting, quotes the value so that the spaces show, and says why.
func TestExactProblemNamesTheSettingAndSaysWhy(t *testing.T) {
	t.Parallel()
	if err := config.ExactProblem("PORTAL_OPS_GROUP", "itss-ops", "why"); err != nil {
		t.Errorf("a value without spaces about it: %v", err)
	}
	for _, bad := range []string{" itss-ops", "itss-ops\n", "\titss-ops", " "} {
		err := config.ExactProblem("PORTAL_OPS_GROUP", bad, "it is compared exactly with what the identity provider sends")
		want := "PORTAL_OPS_GROUP " + strconv.Quote(bad) + " must have no spaces about it: it is compared exactly with what the identity provider sends"
		if err == nil || err.Error() != want {
			t.Errorf("ExactProblem(%q) = %v, want %s", bad, err, want)
		}
	}
}

// A start-up error goes to the log, which is no place for a password: an address
// refused is quoted with its user and password hidden.
func TestRefusedAddressesAreQuotedWithoutTheirPassword(t *testing.T) {
	t.Parallel()
	for key, bad := range map[string][]string{
		"MONGO_URI": {"MONGODB://svc:hunter2@mongo:27017/", "postgres://svc:hunter2@db/tc", "svc:hunter2@mongo:27017"},
		"NATS_URL":  {"nats://svc:hunter2@nats.example:4222", "http://svc:hunter2@nats:4222", "tls://nats:4222,nats://svc:hunter2@nats.example:4222"},
		// Keys fetched with a password, or a collector told one: the exporter sends
		// none (it reads the address's host alone), and the refusal goes to the log.
		"AUTH_JWKS_URL":               {"ftp://svc:hunter2@login.example/jwks.json", "http://svc:hunter2@login.example/jwks.json"},
		"AUTH_PORTAL_JWKS_URL":        {"ftp://svc:hunter2@portal.example/.well-known/jwks.json", "http://svc:hunter2@portal.example/.well-known/jwks.json"},
		"OTEL_EXPORTER_OTLP_ENDPOINT": {"http://svc:hunter2@otel-collector:4318", "ftp://svc:hunter2@otel-collector:4318"},
	} {
		for _, value := range bad {
			environ := minimal()
			if key == "AUTH_PORTAL_JWKS_URL" {
				environ["AUTH_PORTAL_ISSUER"] = "https://portal.example"
			}
			environ[key] = value
			var c svcConfig
			err := config.LoadFrom(&c, environ)
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("%s=%s: err = %v, want it refused naming the setting", key, value, err)
				continue
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%s=%s: the refusal quotes the password: %v", key, value, err)
			}
		}
	}
}

// A client's error that quotes an address is given back with the address's user and
// password hidden, and nothing else of its text changed: a user of one letter
// ("n", as in nats://n@host) is no reason to hide every n of the message.
func TestWithoutPasswordInHidesTheUserAndPasswordAlone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ addrs, msg, want string }{
		{"nats://n:s3cret@h:x", `parse "nats://n:s3cret@h:x": invalid port ":x" after host`, `parse "nats://(user and password hidden)@h:x": invalid port ":x" after host`},
		{"nats://n@h:x", `no nats at nats://n@h:x`, `no nats at nats://(user and password hidden)@h:x`},
		{"tls://a:b@h1:4222,tls://c:d\"e@h2:x", `parse "tls://c:d\"e@h2:x": invalid port`, `parse "tls://(user and password hidden)@h2:x": invalid port`},
		{"tls://h1:4222", `parse "tls://h1:4222": nothing`, `parse "tls://h1:4222": nothing`},
	} {
		got := config.WithoutPasswordIn(errors.New(tt.msg), tt.addrs).Error()
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("WithoutPasswordIn(%q, %s) (-want +got):\n%s", tt.msg, tt.addrs, diff)
		}
	}
}
