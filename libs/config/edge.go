package config

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
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

// Proxies parses TrustedProxies: single addresses become one-address prefixes, and
// IPv4-mapped IPv6 ones (::ffff:10.0.0.0/104) the IPv4 networks they are, since
// ratelimit.ClientAddr unmaps every address it compares. It refuses a list that
// trusts more than a proxy tier could be (proxyTierBits).
func (e Edge) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	var given []string // each of out as the operator wrote it
	var errs []error
	empty := false
	for _, s := range e.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			// A network lost in the typing (10.0.0.0/8,,127.0.0.1): said once.
			if !empty {
				errs = append(errs, fmt.Errorf("HTTP_TRUSTED_PROXIES %q has an empty entry: it must be addresses or networks separated by commas, such as 10.0.0.0/8,192.0.2.1", strings.Join(e.TrustedProxies, ",")))
			}
			empty = true
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
			p = p.Masked()
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			out, given = append(out, p), append(given, s)
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("HTTP_TRUSTED_PROXIES: %q is neither an address nor a network such as 10.0.0.0/8", s))
			continue
		}
		a = a.Unmap()
		out, given = append(out, netip.PrefixFrom(a, a.BitLen())), append(given, s)
	}
	errs = append(errs, tooWide(strings.Join(e.TrustedProxies, ","), out, given)...)
	return out, errors.Join(errs...)
}

// proxyTierBits bounds how much of either family HTTP_TRUSTED_PROXIES may trust
// together: a /7's worth, 1/128 of the family. That is room for every private
// network a cluster or a proxy tier lives in (10.0.0.0/8, 172.16.0.0/12,
// 192.168.0.0/16 and 100.64.0.0/10 together are 1/194 of IPv4; fc00::/7, every
// unique-local IPv6 address, is exactly the bound), and for a CDN's published
// ranges; more is no tier of proxies but a share of the internet, any client in
// which could name itself (docs/SECURITY.md, Settings).
const proxyTierBits = 7

// mappedIPv4 is every IPv4 address written as IPv6 (::ffff:0:0/96).
var mappedIPv4 = netip.PrefixFrom(netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff}), 96)

// tooWide refuses the families of which the prefixes together (each address
// counted once) cover more than proxyTierBits allows, quoting the setting and the
// widest of its networks (those no other holds). An IPv6 network that holds
// every IPv4-mapped address trusts, as the operator wrote it, every IPv4 address.
func tooWide(setting string, prefixes []netip.Prefix, given []string) []error {
	type entry struct {
		p     netip.Prefix
		given string
	}
	var v4, v6 []entry
	for i, p := range prefixes {
		if p.Addr().Is4() {
			v4 = append(v4, entry{p, given[i]})
			continue
		}
		v6 = append(v6, entry{p, given[i]})
		if p.Bits() <= mappedIPv4.Bits() && p.Contains(mappedIPv4.Addr()) {
			v4 = append(v4, entry{netip.PrefixFrom(netip.IPv4Unspecified(), 0), given[i]})
		}
	}
	var errs []error
	for _, f := range []struct {
		name    string
		bitLen  int
		entries []entry
		fits    string
	}{
		{"IPv4", 32, v4, "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and 100.64.0.0/10 fit together"},
		{"IPv6", 128, v6, "fc00::/7, every unique-local address, fits"},
	} {
		// Prefixes either nest or are apart: the widest first, each kept unless a
		// kept one holds it, and the kept ones' sizes add up to the union's.
		slices.SortStableFunc(f.entries, func(a, b entry) int { return a.p.Bits() - b.p.Bits() })
		var kept []entry
		total := new(big.Int)
	next:
		for _, e := range f.entries {
			for _, k := range kept {
				if k.p.Overlaps(e.p) {
					continue next
				}
			}
			kept = append(kept, e)
			total.Add(total, new(big.Int).Lsh(big.NewInt(1), uint(f.bitLen-e.p.Bits())))
		}
		bound := new(big.Int).Lsh(big.NewInt(1), uint(f.bitLen-proxyTierBits))
		if total.Cmp(bound) <= 0 {
			continue
		}
		quoted := make([]string, len(kept))
		for i, k := range kept {
			quoted[i] = strconv.Quote(k.given)
		}
		how := fmt.Sprintf("more than a /%d's worth of %s addresses (1/%d of them)", proxyTierBits, f.name, 1<<proxyTierBits)
		if total.Cmp(new(big.Int).Lsh(big.NewInt(1), uint(f.bitLen))) == 0 {
			how = "every " + f.name + " address"
		}
		verb := "together trust"
		if len(kept) == 1 {
			verb = "trusts"
		}
		errs = append(errs, fmt.Errorf("HTTP_TRUSTED_PROXIES %q: %s %s %s to say who the client is, so a client there could name itself and escape its rate limits; a proxy tier's networks are together at most a /%d's worth of %s (%s): name the ingress's network, such as 10.0.0.0/8 (deploy/README.md, Configure)",
			setting, strings.Join(quoted, ", "), verb, how, proxyTierBits, f.name, f.fits))
	}
	return errs
}

// MaxRate bounds a rate limit's rate a second and its burst alike. More than a
// replica answers one caller in a second limits nothing (a burst of 2000000000 let a
// caller send as much as it liked); the benchmark, which measures the services and
// not their limiters, sets it.
const MaxRate = 10000

// RateProblem says why a rate limit's settings, rate a second (rateKey) and burst
// (burstKey), are no limit: NaN is no rate, and Inf, which the limiter takes as none,
// parses too; past MaxRate either is none in effect.
func RateProblem(rateKey string, rate float64, burstKey string, burst int) error {
	if !(rate > 0) || math.IsInf(rate, 0) || rate > MaxRate || burst < 1 || burst > MaxRate {
		return fmt.Errorf("%s must be a positive number (not Inf or NaN) and %s a whole number from 1, each at most %d (more is no limit), not %v and %d", rateKey, burstKey, MaxRate, rate, burst)
	}
	return nil
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
		if err := RateProblem(r.name+"_PER_SECOND", r.rate, r.name+"_BURST", r.burst); err != nil {
			errs = append(errs, err)
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
