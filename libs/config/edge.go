package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Edge configures what a service does to every request at its edge, before any
// handler runs: the per-caller rate limits (OWASP API4, unbounded work), the
// Strict-Transport-Security header, and which proxies may say who the client is.
//
// The defaults leave room for the heaviest honest caller (an applicant's tool
// drafting in bulk, the portal acting for one person) and refuse a loop gone wrong.
// The limits are per replica: with N replicas a caller gets at most N times them.
type Edge struct {
	// WritePerSecond and WriteBurst bound each authenticated caller's writes (any
	// method but GET and HEAD).
	WritePerSecond float64 `env:"RATE_WRITE_PER_SECOND" envDefault:"50"`
	WriteBurst     int     `env:"RATE_WRITE_BURST" envDefault:"200"`
	// ReadPerSecond and ReadBurst bound each authenticated caller's reads.
	ReadPerSecond float64 `env:"RATE_READ_PER_SECOND" envDefault:"200"`
	ReadBurst     int     `env:"RATE_READ_BURST" envDefault:"400"`
	// PublicPerSecond and PublicBurst bound the requests of each client address to
	// the endpoints that need no token (the directory, open rounds, calendar feeds,
	// the OpenAPI document).
	PublicPerSecond float64 `env:"RATE_PUBLIC_PER_SECOND" envDefault:"20"`
	PublicBurst     int     `env:"RATE_PUBLIC_BURST" envDefault:"100"`
	// TrustedProxies lists the addresses or networks (CIDR) of the proxies, such as
	// the ingress, whose X-Forwarded-For names the client. Empty: the connection's
	// remote address is the client, whatever the request claims.
	TrustedProxies []string `env:"HTTP_TRUSTED_PROXIES" envSeparator:","`
	// HSTSMaxAge is the max-age, in seconds, of the Strict-Transport-Security header
	// sent with every response; 0 sends none (the local stack speaks plain http).
	HSTSMaxAge int `env:"HTTP_HSTS_MAX_AGE" envDefault:"0"`
}

// Proxies parses TrustedProxies: single addresses become one-address prefixes.
func (e Edge) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, s := range e.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			if p.Bits() == 0 {
				// Every address a proxy: the right-most address not trusted, which
				// names the client, is then whatever the client wrote (an IPv6 one
				// is in no IPv4 network), and each request may choose its own rate
				// limit's bucket.
				errs = append(errs, fmt.Errorf("HTTP_TRUSTED_PROXIES: %q trusts every address to say who the client is, so any client could name itself and escape its rate limits; name the ingress's network, such as 10.0.0.0/8 (deploy/README.md, Configure)", s))
				continue
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("HTTP_TRUSTED_PROXIES: %q is neither an address nor a network such as 10.0.0.0/8", s))
			continue
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, errors.Join(errs...)
}

// problems lists every invalid edge setting.
func (e Edge) problems() []error {
	var errs []error
	for _, r := range []struct {
		name  string
		rate  float64
		burst int
	}{
		{"RATE_WRITE", e.WritePerSecond, e.WriteBurst},
		{"RATE_READ", e.ReadPerSecond, e.ReadBurst},
		{"RATE_PUBLIC", e.PublicPerSecond, e.PublicBurst},
	} {
		if r.rate <= 0 || r.burst < 1 {
			errs = append(errs, fmt.Errorf("%s_PER_SECOND must be positive and %s_BURST at least 1", r.name, r.name))
		}
	}
	if e.HSTSMaxAge < 0 {
		errs = append(errs, errors.New("HTTP_HSTS_MAX_AGE must be 0 (off) or a number of seconds"))
	}
	if _, err := e.Proxies(); err != nil {
		errs = append(errs, err)
	}
	return errs
}
