// Package config is the notify service's configuration, read from the environment.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	libconfig "github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
)

// Config is everything the notify service reads at start-up.
type Config struct {
	libconfig.Platform
	SMTP   SMTP
	Notify Notify
}

// SMTP is the mail relay. Its address has no default: a default would be the local
// mail catcher, and a production notify that silently mailed a development address
// would tell nobody anything. Nor has the address mail is sent from: a staging notify
// that took production's would send as production. No email offers an unsubscribe
// (every one is a service message, docs/PRIVACY.md): SMTP_UNSUBSCRIBE, which named the
// address one went to, is no longer read, and an environment that still sets it starts.
type SMTP struct {
	Host      string `env:"SMTP_HOST"`
	Port      int    `env:"SMTP_PORT"`
	Username  string `env:"SMTP_USERNAME"`
	Password  string `env:"SMTP_PASSWORD"`
	TLSPolicy string `env:"SMTP_TLS_POLICY" envDefault:"mandatory"`
	From      string `env:"SMTP_FROM"`
	FromName  string `env:"SMTP_FROM_NAME" envDefault:"Technician Commitment"`
}

// Notify is the service's own behaviour.
type Notify struct {
	DaysBefore  string `env:"NOTIFY_DAYS_BEFORE" envDefault:"90,30,7,1,0"`
	DaysOverdue string `env:"NOTIFY_DAYS_OVERDUE" envDefault:"7,30"`
	// ReviewDaysBefore is when a reviewer is reminded of a review's deadline (0: never).
	ReviewDaysBefore int           `env:"NOTIFY_REVIEW_DAYS_BEFORE" envDefault:"7"`
	SweepInterval    time.Duration `env:"NOTIFY_SWEEP_INTERVAL" envDefault:"1m"`
	// BodyRetention is how long an email's text, HTML and attachment are kept after it
	// was sent or given up on; the delivery log's entry (recipient, subject, outcome)
	// stays. See docs/PRIVACY.md.
	BodyRetention time.Duration `env:"NOTIFY_BODY_RETENTION" envDefault:"2160h"`
	// LogRetention is how long a delivery log entry names its recipients after the
	// email was sent or given up on; the entry (organisation, kind, subject, outcome,
	// times) stays. See docs/PRIVACY.md.
	LogRetention time.Duration `env:"NOTIFY_LOG_RETENTION" envDefault:"17520h"`
	// IdempotencyTTL is how long a stored answer answers retries of its key (a
	// resend pressed twice sends one email).
	IdempotencyTTL time.Duration `env:"NOTIFY_IDEMPOTENCY_TTL" envDefault:"24h"`
	MaxAttempts    int           `env:"NOTIFY_MAX_ATTEMPTS" envDefault:"6"`
	// PublicURL is where this service is reached from outside (calendar feeds). No
	// default, for the reason SMTP has none.
	PublicURL string `env:"NOTIFY_PUBLIC_URL"`
	// PortalURL is the portal's public address: every email links to the page where
	// its reader acts (<portal>/obligations/<org>, <portal>/reviews/<round>/<submission>).
	PortalURL string `env:"NOTIFY_PORTAL_URL"`
	// ContactEmail is where people write to ITSS: every email gives it, where it
	// asks them to tell ITSS something and at its foot. No default, for the reason
	// SMTP_FROM has none: another environment's mailbox, or one nobody reads, would
	// take what people tell ITSS.
	ContactEmail string `env:"NOTIFY_CONTACT_EMAIL"`
}

// Ladder returns the configured reminder ladder.
func (n Notify) Ladder() (ladder.Policy, error) {
	before, err := ladder.ParseDays(n.DaysBefore)
	if err != nil {
		return ladder.Policy{}, fmt.Errorf("NOTIFY_DAYS_BEFORE: %w", err)
	}
	overdue, err := ladder.ParseDays(n.DaysOverdue)
	if err != nil {
		return ladder.Policy{}, fmt.Errorf("NOTIFY_DAYS_OVERDUE: %w", err)
	}
	if slices.Contains(overdue, 0) {
		// The due day's reminder is NOTIFY_DAYS_BEFORE's 0; an overdue one on it
		// would tell a lead on the day that they are late.
		return ladder.Policy{}, errors.New("NOTIFY_DAYS_OVERDUE: 0 is the due day, which NOTIFY_DAYS_BEFORE's 0 reminds of: overdue days count from 1, the day after")
	}
	return ladder.Policy{DaysBefore: before, DaysOverdue: overdue}, nil
}

// Default returns the configuration for the local stack, before the environment is
// read (platform.Main reads it over these and validates the result).
func Default() Config {
	return libconfig.Defaulted(func(c *Config) { c.Local(8083, 9083, "notify") })
}

// checkBaseURL accepts an absolute https address with no user, query or fragment,
// which paths are appended to; plain http only to this machine (the local stack):
// a calendar feed's address carries its token, and a link to the portal over a
// network in the clear can be rewritten on the way. A refusal, which goes to the
// log, quotes it with its user and password hidden.
func checkBaseURL(s string) error {
	if s == "" {
		return errors.New("must be set (an absolute https:// address that emails link to)")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "/") {
		return fmt.Errorf("%q must be an absolute https:// address without a user, trailing slash, query or fragment", libconfig.WithoutPassword(s))
	}
	if u.Scheme == "http" && !libconfig.OnThisMachine(u.Hostname()) {
		return fmt.Errorf("%q must be https:// (plain http:// only to this machine, for a local development stack): emails hand it to their readers, calendar feeds' tokens in it", libconfig.WithoutPassword(s))
	}
	return nil
}

// checkHost accepts the relay's host name or address alone, its port and
// credentials being set apart (SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD): an address
// written whole (smtp://user:secret@relay:587) is refused, quoted without its
// password, rather than tried at the first email.
func checkHost(h string) error {
	if h == "" {
		return errors.New("must be set (the mail relay's host)")
	}
	if a, err := netip.ParseAddr(h); err == nil && a.Zone() == "" {
		return nil
	}
	name := strings.TrimSuffix(h, ".")
	ok := name != "" && len(name) <= 253
	for _, label := range strings.Split(name, ".") {
		ok = ok && label != "" && len(label) <= 63 && !strings.HasPrefix(label, "-") && !strings.HasSuffix(label, "-") &&
			strings.Trim(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == ""
	}
	if !ok {
		return fmt.Errorf("%q must be the mail relay's host name or address alone, such as smtp.example.org (its port is SMTP_PORT, its user and password SMTP_USERNAME and SMTP_PASSWORD)", libconfig.WithoutPassword(h))
	}
	return nil
}

// Ceilings of the sweep and of the attempts at an email: the back-off between
// attempts doubles from 2 minutes to 17 hours (app.Config.MaxAttempts).
const (
	maxSweepInterval = 10 * time.Minute
	maxAttempts      = 10
)

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := []error{c.Platform.Validate()}
	if _, err := c.Notify.Ladder(); err != nil {
		errs = append(errs, err)
	}
	switch c.SMTP.TLSPolicy {
	case "mandatory":
	case "opportunistic", "none":
		// Without TLS required, the relay's password and every email (sign-in links
		// among them, which are credentials) may cross the network in the clear: only
		// a relay on this machine (the local stack's Mailpit) is reached without one.
		if c.SMTP.Host != "" && !libconfig.OnThisMachine(c.SMTP.Host) {
			errs = append(errs, fmt.Errorf("SMTP_TLS_POLICY %q is only for a relay on this machine: %q is reached over a network, where mail without TLS (sign-in links among it) can be read on the way; set mandatory", c.SMTP.TLSPolicy, libconfig.WithoutPassword(c.SMTP.Host)))
		}
	default:
		errs = append(errs, fmt.Errorf("SMTP_TLS_POLICY %q must be mandatory, opportunistic or none", c.SMTP.TLSPolicy))
	}
	if err := checkHost(c.SMTP.Host); err != nil {
		errs = append(errs, fmt.Errorf("SMTP_HOST %w", err))
	}
	if c.SMTP.Port <= 0 || c.SMTP.Port > 65535 {
		errs = append(errs, errors.New("SMTP_PORT must be set (the mail relay's port)"))
	}
	for _, a := range []struct{ name, value, what string }{{"SMTP_FROM", c.SMTP.From, "the address mail is sent from"},
		{"NOTIFY_CONTACT_EMAIL", c.Notify.ContactEmail, "the address every email tells people to write to ITSS at"}} {
		if err := libconfig.CheckMailbox(a.value); err != nil {
			errs = append(errs, fmt.Errorf("%s %w (%s)", a.name, err, a.what))
		}
	}
	for _, u := range []struct{ name, value string }{{"NOTIFY_PUBLIC_URL", c.Notify.PublicURL}, {"NOTIFY_PORTAL_URL", c.Notify.PortalURL}} {
		if err := libconfig.ExactAddressProblem(u.name, u.value); err != nil {
			errs = append(errs, err)
		} else if err := checkBaseURL(u.value); err != nil {
			errs = append(errs, fmt.Errorf("%s %w", u.name, err))
		}
	}
	if c.Notify.ReviewDaysBefore < 0 || c.Notify.ReviewDaysBefore > 365 {
		errs = append(errs, errors.New("NOTIFY_REVIEW_DAYS_BEFORE must be between 0 and 365"))
	}
	if c.Notify.BodyRetention < 24*time.Hour || c.Notify.BodyRetention > 366*24*time.Hour {
		errs = append(errs, fmt.Errorf("NOTIFY_BODY_RETENTION %s must be between 24h and 8784h (a year): email bodies hold personal data", c.Notify.BodyRetention))
	}
	if c.Notify.LogRetention < c.Notify.BodyRetention || c.Notify.LogRetention > 6*366*24*time.Hour {
		errs = append(errs, fmt.Errorf("NOTIFY_LOG_RETENTION %s must be at least NOTIFY_BODY_RETENTION (%s) and at most 52704h (six years): the log names the people written to", c.Notify.LogRetention, c.Notify.BodyRetention))
	}
	if c.Notify.IdempotencyTTL < time.Minute || c.Notify.IdempotencyTTL > 7*24*time.Hour {
		errs = append(errs, errors.New("NOTIFY_IDEMPOTENCY_TTL must be between 1m and 168h (a week): a stored answer names the people written to"))
	}
	if c.Notify.SweepInterval < time.Second || c.Notify.SweepInterval > maxSweepInterval {
		errs = append(errs, fmt.Errorf("NOTIFY_SWEEP_INTERVAL %s must be between 1s and 10m: a reminder is sent within it of its day, and one due and not sent for 20 minutes is taken for a sweep stuck (TCRemindersNotSent)", c.Notify.SweepInterval))
	}
	if c.Notify.MaxAttempts < 1 || c.Notify.MaxAttempts > maxAttempts {
		errs = append(errs, fmt.Errorf("NOTIFY_MAX_ATTEMPTS %d must be between 1 and %d: the tenth attempt comes some 17 hours after the first, and an email tried for longer tells its reader nothing in time", c.Notify.MaxAttempts, maxAttempts))
	}
	return errors.Join(errs...)
}
