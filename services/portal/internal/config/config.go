// Package config is the portal's configuration, read from the environment.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	libconfig "github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/portal/internal/signin"
	"github.com/itss/techcommit/services/portal/internal/signin/ops"
)

// Config is everything the portal reads at start-up. It shares the services'
// listener, database, bus and telemetry settings but not their token verification:
// the portal accepts no bearer tokens, it signs its own for the people signed in.
type Config struct {
	HTTP      HTTP
	Mongo     libconfig.Mongo
	NATS      libconfig.NATS
	Telemetry libconfig.Telemetry
	Portal    Portal
	// Ops is how ITSS staff sign in: the identity provider ITSS configures and the
	// group whose members are ops.
	Ops ops.Config
}

// HTTP configures the portal's listeners. It has the services' keys for what the
// portal shares with them, and none of their API's (rate limits per principal, body
// limits for JSON): its forms are small and bounded in the pages themselves.
type HTTP struct {
	Addr            string        `env:"HTTP_ADDR"`
	AdminAddr       string        `env:"ADMIN_ADDR"`
	RequestTimeout  time.Duration `env:"HTTP_REQUEST_TIMEOUT" envDefault:"10s"`
	ShutdownTimeout time.Duration `env:"HTTP_SHUTDOWN_TIMEOUT" envDefault:"20s"`
	// TrustedProxies lists the proxies (addresses or CIDR networks) whose
	// X-Forwarded-For names the client, for the sign-in form's limit per client.
	TrustedProxies []string `env:"HTTP_TRUSTED_PROXIES" envSeparator:","`
	// HSTSMaxAge is the Strict-Transport-Security max-age in seconds; 0 sends none.
	HSTSMaxAge int `env:"HTTP_HSTS_MAX_AGE" envDefault:"0"`
}

// Proxies parses TrustedProxies.
func (h HTTP) Proxies() ([]netip.Prefix, error) {
	return libconfig.Edge{TrustedProxies: h.TrustedProxies}.Proxies()
}

// Portal is the portal's own behaviour. Nothing that decides where people are sent,
// which key signs their tokens or which services are called has a default: a portal
// told nothing would otherwise link people to a development address or sign with a
// key nobody trusts, and fail in front of them instead of at start-up.
type Portal struct {
	// PublicURL is the portal's address as people reach it (sign-in links point
	// there). It is also the issuer of the tokens the portal signs, so services
	// set AUTH_PORTAL_ISSUER to it.
	PublicURL string `env:"PORTAL_PUBLIC_URL"`
	// SigningKeyFile holds the Ed25519 private key (PKCS#8 PEM) the portal signs
	// its tokens with; its public half is served at /.well-known/jwks.json.
	SigningKeyFile string `env:"PORTAL_SIGNING_KEY_FILE"`
	// PseudonymKey is the secret the pseudonyms of people are keyed with: the
	// subject of a lead's tokens, which the services' audit trails record as the
	// actor of what the lead changed, and the portal's records of who made an API
	// token, named a colleague or saved a review (signin.Pseudonyms). Without it
	// anyone holding an address, an erased one included, could tell that person's
	// changes. At least 32 bytes, the same in every replica, and never changed: a
	// new one would make every lead a new person (deploy/README.md, Secrets).
	PseudonymKey string `env:"PORTAL_PSEUDONYM_KEY"`
	// The services' API addresses the portal calls for the person signed in.
	SignatoryURL string `env:"PORTAL_SIGNATORY_URL"`
	ReviewURL    string `env:"PORTAL_REVIEW_URL"`
	NotifyURL    string `env:"PORTAL_NOTIFY_URL"`
	FundURL      string `env:"PORTAL_FUND_URL"`
	// The audience each service accepts (its AUTH_AUDIENCE), written into the
	// tokens the portal signs for it. None has a default: the development stack's
	// (tc-signatory, ...) would start a production portal whose every call the
	// services refuse, in front of the people using it, instead of at start-up.
	SignatoryAudience string `env:"PORTAL_SIGNATORY_AUDIENCE"`
	ReviewAudience    string `env:"PORTAL_REVIEW_AUDIENCE"`
	NotifyAudience    string `env:"PORTAL_NOTIFY_AUDIENCE"`
	FundAudience      string `env:"PORTAL_FUND_AUDIENCE"`
	// InsecureCookies drops the Secure attribute of the sign-in cookie and allows a
	// plain http:// PublicURL: only for a local development stack, which has no TLS.
	InsecureCookies bool `env:"PORTAL_INSECURE_COOKIES"`
	// SessionLifetime is how long a sign-in lasts unused: each page opened or form
	// sent renews it, up to SessionMaxLifetime after the sign-in.
	SessionLifetime time.Duration `env:"PORTAL_SESSION_LIFETIME" envDefault:"8h"`
	// SessionMaxLifetime is how long a sign-in lasts at most, however it is used:
	// more than 20 hours, WCAG 2.2.1's bound for a time limit nobody need be able to
	// extend, and no more than 24 (the register of ended sign-ins keeps an entry 25,
	// events.PortalEndedMaxAge).
	SessionMaxLifetime time.Duration `env:"PORTAL_SESSION_MAX_LIFETIME" envDefault:"24h"`
	// StaffNameRetention is how long the portal keeps an ITSS staff member's name
	// after their latest sign-in, to show its histories as people (docs/PRIVACY.md).
	StaffNameRetention time.Duration `env:"PORTAL_STAFF_NAME_RETENTION" envDefault:"9600h"`
	// SigninPerAddress bounds the sign-in links asked for one email address in
	// 15 minutes, and SigninPerClient the sign-in requests of one client address in
	// a minute, so that nobody can fill an inbox or walk the list of addresses.
	SigninPerAddress int `env:"PORTAL_SIGNIN_PER_ADDRESS" envDefault:"3"`
	SigninPerClient  int `env:"PORTAL_SIGNIN_PER_CLIENT" envDefault:"10"`
	// APITokenMaxLifetime is the longest expiry a person may give an API token for
	// their organisation's tools; the fund refuses longer ones anyway (its
	// AUTH_MAX_API_TOKEN_LIFETIME), so this should not exceed that.
	APITokenMaxLifetime time.Duration `env:"PORTAL_API_TOKEN_MAX_LIFETIME" envDefault:"2160h"`
	// ContactEmail is where people write to ITSS: every page's footer gives it, and
	// the privacy notice (/privacy) names it as where to ask for a copy of one's data
	// or its erasure. No default: another environment's mailbox, or one nobody reads,
	// would take what people ask of ITSS.
	ContactEmail string `env:"PORTAL_CONTACT_EMAIL"`
	// DPOContact is the bare address of ITSS's data protection officer, which the
	// privacy notice gives (UK GDPR Art. 13(1)(b)), or "none" when ITSS has appointed
	// none (the notice then says so). No default: whether ITSS has one, and where
	// they read their mail, is ITSS's to say, not the code's.
	DPOContact string `env:"PORTAL_DPO_CONTACT"`
	// Transfers says whether people's data leaves the UK, which the privacy notice
	// must say (UK GDPR Art. 13(1)(f)): "none" when the services, their databases and
	// backups, and the mail server that delivers the emails, all keep it in the UK;
	// otherwise the https address of ITSS's page saying what goes where and under what
	// safeguards. No default: where the cluster and the mail provider are is known to
	// whoever deploys them, not to the code, and a notice that said "the UK" by
	// default could be false.
	Transfers string `env:"PORTAL_TRANSFERS_OUTSIDE_UK"`
}

// NoTransfers is PORTAL_TRANSFERS_OUTSIDE_UK's value when no personal data leaves
// the UK.
const NoTransfers = "none"

// TransfersPage is the address of ITSS's page about the transfers of personal data
// outside the UK, empty when there are none.
func (p Portal) TransfersPage() string {
	if p.Transfers == NoTransfers {
		return ""
	}
	return p.Transfers
}

// NoDPO is PORTAL_DPO_CONTACT's value when ITSS has appointed no data protection
// officer.
const NoDPO = "none"

// DPO is the address of ITSS's data protection officer, empty when it has none.
func (p Portal) DPO() string {
	if p.DPOContact == NoDPO {
		return ""
	}
	return p.DPOContact
}

// Ceilings of the sign-in limits: 50 links to one address in 15 minutes, and 600
// requests a minute from one client address (a campus's network shares it).
const (
	maxSigninPerAddress = 50
	maxSigninPerClient  = 600
)

// Default returns the configuration for the local stack, before the environment is
// read: only the listeners, which bind to this machine alone, have addresses.
func Default() Config {
	var c Config
	if err := libconfig.Defaults(&c); err != nil {
		panic(err) // the tags are constants: a failure here is a bug caught by any test
	}
	c.HTTP.Addr = "127.0.0.1:8080"
	c.HTTP.AdminAddr = "127.0.0.1:9080"
	c.Mongo.Database = "portal"
	return c
}

// Load reads the environment over the defaults and validates the result.
func Load() (Config, error) {
	c := Default()
	err := libconfig.Load(&c)
	return c, err
}

// LoadFrom is Load with an explicit environment; tests use it.
func LoadFrom(environ map[string]string) (Config, error) {
	c := Default()
	err := libconfig.LoadFrom(&c, environ)
	return c, err
}

// Validate reports every problem at once, naming each variable.
func (c Config) Validate() error {
	var errs []error
	required := func(key, value string) bool {
		if value == "" {
			errs = append(errs, fmt.Errorf("%s must be set", key))
			return false
		}
		return true
	}
	errs = append(errs, libconfig.ListenerProblems(c.HTTP.Addr, c.HTTP.AdminAddr)...)
	if _, err := c.HTTP.Proxies(); err != nil {
		errs = append(errs, err)
	}
	if err := libconfig.CheckRequestTimeout(c.HTTP.RequestTimeout); err != nil {
		errs = append(errs, err)
	}
	if err := libconfig.CheckShutdownTimeout(c.HTTP.ShutdownTimeout); err != nil {
		errs = append(errs, err)
	}
	if c.HTTP.HSTSMaxAge < 0 {
		errs = append(errs, errors.New("HTTP_HSTS_MAX_AGE must be 0 (off) or a number of seconds"))
	}
	errs = append(errs, c.Mongo.Problems()...)
	errs = append(errs, c.NATS.Problems()...)
	errs = append(errs, c.Telemetry.Problems()...)
	p := c.Portal
	if required("PORTAL_PUBLIC_URL", p.PublicURL) {
		if err := libconfig.ExactAddressProblem("PORTAL_PUBLIC_URL", p.PublicURL); err != nil {
			errs = append(errs, err)
		} else if err := checkBaseURL(p.PublicURL, p.InsecureCookies); err != nil {
			errs = append(errs, fmt.Errorf("PORTAL_PUBLIC_URL %w (plain http:// only with PORTAL_INSECURE_COOKIES=true, for a local development stack)", err))
		} else if u, _ := url.Parse(p.PublicURL); p.InsecureCookies && (u.Scheme != "http" || !libconfig.OnThisMachine(u.Hostname())) {
			// The flag drops the session cookie's Secure attribute and __Host- name:
			// a portal people reach over a network would send sessions in the clear.
			errs = append(errs, fmt.Errorf("PORTAL_INSECURE_COOKIES=true is only for a local development stack at an http:// address on this machine, not %q: it sends the session cookie without Secure", p.PublicURL))
		}
	}
	required("PORTAL_SIGNING_KEY_FILE", p.SigningKeyFile)
	if err := libconfig.CheckMailbox(p.ContactEmail); err != nil {
		errs = append(errs, fmt.Errorf("PORTAL_CONTACT_EMAIL %w (the address every page tells people to write to ITSS at)", err))
	}
	if p.DPOContact != NoDPO {
		if err := libconfig.CheckMailbox(p.DPOContact); err != nil {
			errs = append(errs, fmt.Errorf("PORTAL_DPO_CONTACT %w, or %q when ITSS has appointed no data protection officer (the privacy notice gives it)", err, NoDPO))
		}
	}
	if p.Transfers != NoTransfers {
		if err := libconfig.ExactAddressProblem("PORTAL_TRANSFERS_OUTSIDE_UK", p.Transfers); err != nil {
			errs = append(errs, err)
		} else if u, err := url.Parse(p.Transfers); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			errs = append(errs, fmt.Errorf("PORTAL_TRANSFERS_OUTSIDE_UK must be %q when no personal data leaves the UK (the services, their databases and backups, and the mail server all keep it there), or the https:// address of ITSS's page saying what goes where and under what safeguards; not %q (the privacy notice says which)", NoTransfers, libconfig.WithoutPassword(p.Transfers)))
		}
	}
	if required("PORTAL_PSEUDONYM_KEY", p.PseudonymKey) && len(p.PseudonymKey) < signin.MinPseudonymSecret {
		// The length only: the value is a secret, never quoted.
		errs = append(errs, fmt.Errorf("PORTAL_PSEUDONYM_KEY must be at least %d characters (openssl rand -base64 32), not %d", signin.MinPseudonymSecret, len(p.PseudonymKey)))
	}
	// Each service accepts its own audience only, so that a token signed for one is
	// good at no other: two alike would make every token of either good at both.
	audienceOf := map[string]string{}
	for _, s := range []struct{ key, value string }{
		{"PORTAL_SIGNATORY_AUDIENCE", p.SignatoryAudience}, {"PORTAL_REVIEW_AUDIENCE", p.ReviewAudience},
		{"PORTAL_NOTIFY_AUDIENCE", p.NotifyAudience}, {"PORTAL_FUND_AUDIENCE", p.FundAudience},
	} {
		if !required(s.key, s.value) {
			continue
		}
		if err := libconfig.ExactProblem(s.key, s.value, "it must equal the service's AUTH_AUDIENCE"); err != nil {
			errs = append(errs, err)
		}
		if other, ok := audienceOf[s.value]; ok {
			errs = append(errs, fmt.Errorf("%s %q must differ from %s: each service accepts its own audience only, so that a token signed for one is good at no other", s.key, s.value, other))
			continue
		}
		audienceOf[s.value] = s.key
	}
	for _, s := range []struct{ key, value string }{
		{"PORTAL_SIGNATORY_URL", p.SignatoryURL}, {"PORTAL_REVIEW_URL", p.ReviewURL},
		{"PORTAL_NOTIFY_URL", p.NotifyURL}, {"PORTAL_FUND_URL", p.FundURL},
	} {
		// Services inside the cluster may be reached over plain http (the mesh or
		// network policy protects them); the address must still be absolute.
		if required(s.key, s.value) {
			if err := libconfig.ExactAddressProblem(s.key, s.value); err != nil {
				errs = append(errs, err)
			} else if err := checkBaseURL(s.value, true); err != nil {
				errs = append(errs, fmt.Errorf("%s %w", s.key, err))
			}
		}
	}
	if p.SessionLifetime < time.Minute || p.SessionLifetime > 24*time.Hour {
		errs = append(errs, fmt.Errorf("PORTAL_SESSION_LIFETIME %s must be between 1m and 24h", p.SessionLifetime))
	}
	if p.SessionMaxLifetime <= 20*time.Hour || p.SessionMaxLifetime > 24*time.Hour {
		errs = append(errs, fmt.Errorf("PORTAL_SESSION_MAX_LIFETIME %s must be more than 20h (WCAG 2.2.1: a shorter limit must be one a person can extend) and at most 24h", p.SessionMaxLifetime))
	}
	if p.SessionLifetime > p.SessionMaxLifetime {
		errs = append(errs, fmt.Errorf("PORTAL_SESSION_LIFETIME %s must not be longer than PORTAL_SESSION_MAX_LIFETIME %s, the longest a sign-in lasts", p.SessionLifetime, p.SessionMaxLifetime))
	}
	if p.StaffNameRetention < 30*24*time.Hour || p.StaffNameRetention > 6*366*24*time.Hour {
		errs = append(errs, fmt.Errorf("PORTAL_STAFF_NAME_RETENTION %s must be between 720h (30 days) and 52704h (six years)", p.StaffNameRetention))
	}
	if p.APITokenMaxLifetime < 24*time.Hour || p.APITokenMaxLifetime > events.MaxAPITokenLifetime {
		errs = append(errs, fmt.Errorf("PORTAL_API_TOKEN_MAX_LIFETIME %s must be between 24h and 8784h (a year)", p.APITokenMaxLifetime))
	}
	if p.SigninPerAddress < 1 || p.SigninPerAddress > maxSigninPerAddress {
		errs = append(errs, fmt.Errorf("PORTAL_SIGNIN_PER_ADDRESS %d must be between 1 and %d: the sign-in links one address is sent in 15 minutes, more filling its inbox", p.SigninPerAddress, maxSigninPerAddress))
	}
	if p.SigninPerClient < 1 || p.SigninPerClient > maxSigninPerClient {
		errs = append(errs, fmt.Errorf("PORTAL_SIGNIN_PER_CLIENT %d must be between 1 and %d: the sign-in requests one client address makes in a minute, more letting it send a link to address after address", p.SigninPerClient, maxSigninPerClient))
	}
	// The flow cookie's key is derived from the signing key at start, not read from
	// the environment: only the settings an operator gives are checked here.
	o := c.Ops
	o.CookieKey = make([]byte, 32)
	if err := o.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkBaseURL accepts an absolute https address (or http when allowed) with no
// user, query, fragment or trailing slash, which paths are appended to. A refusal,
// which goes to the log, quotes it with its user and password hidden.
func checkBaseURL(s string, allowHTTP bool) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "/") {
		return fmt.Errorf("%q must be an absolute address without a user, trailing slash, query or fragment", libconfig.WithoutPassword(s))
	}
	if u.Scheme != "https" && !(allowHTTP && u.Scheme == "http") {
		return fmt.Errorf("%q must be https://", libconfig.WithoutPassword(s))
	}
	return nil
}
