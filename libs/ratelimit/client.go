package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr is the address a public request is counted against: the connection's
// remote address, or, when that is one of the trusted proxies, the last address in
// X-Forwarded-For that is not one of them. Anyone can write X-Forwarded-For, so it
// is believed only from a proxy the operator named; otherwise a client could spread
// its requests over as many made-up addresses as it likes. An IPv6 client is its
// /64 network, which one subscriber is given whole.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	remote := remoteAddr(r.RemoteAddr)
	if !remote.IsValid() {
		return r.RemoteAddr
	}
	if !isTrusted(remote, trusted) {
		return client(remote)
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// What is left of the chain was written by whoever sent it.
			break
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return client(a)
		}
	}
	return client(remote)
}

func client(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func remoteAddr(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
