package config

import (
	"strconv"
	"strings"
	"testing"
)

func TestEdgeSettingsAreChecked(t *testing.T) {
	t.Parallel()
	var d Platform
	if err := Defaults(&d); err != nil {
		t.Fatal(err)
	}
	if d.HTTP.WritePerSecond <= 0 || d.HTTP.ReadPerSecond <= d.HTTP.WritePerSecond || d.HTTP.PublicPerSecond <= 0 || d.HTTP.HSTSMaxAge != 0 {
		t.Errorf("defaults %+v: want positive rates, reads above writes, HSTS off", d.HTTP.Edge)
	}
	var p Platform
	err := LoadFrom(&p, map[string]string{
		"RATE_WRITE_PER_SECOND": "0", "RATE_PUBLIC_BURST": "0", "HTTP_HSTS_MAX_AGE": "-1",
		"HTTP_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local,192.0.2.1",
	})
	if err == nil {
		t.Fatal("bad edge settings accepted")
	}
	for _, want := range []string{"RATE_WRITE_PER_SECOND", "RATE_PUBLIC_PER_SECOND", "HTTP_HSTS_MAX_AGE", `"proxy.local"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "RATE_READ") {
		t.Errorf("error names the valid read rate: %v", err)
	}
	proxies, _ := p.HTTP.Proxies()
	if len(proxies) != 2 || proxies[1].String() != "192.0.2.1/32" {
		t.Errorf("proxies %v, want 10.0.0.0/8 and 192.0.2.1/32", proxies)
	}
}

// A network of every address is no proxy's: trusted, it lets any client name itself
// in X-Forwarded-For (an IPv6 address is in no IPv4 network) and so choose its own
// rate limit's bucket. It is refused at start, naming the setting.
func TestEveryAddressIsNoTrustedProxy(t *testing.T) {
	t.Parallel()
	for _, all := range []string{"0.0.0.0/0", "::/0", "10.0.0.0/8,0.0.0.0/0"} {
		var p Platform
		err := LoadFrom(&p, map[string]string{"HTTP_TRUSTED_PROXIES": all})
		if err == nil || !strings.Contains(err.Error(), "HTTP_TRUSTED_PROXIES") || !strings.Contains(err.Error(), "trusts every address") {
			t.Errorf("HTTP_TRUSTED_PROXIES=%s: %v, want it refused as trusting every address", all, err)
		}
	}
}

// Prefixes that together cover more than a proxy tier could be are refused as one
// of every address is: "0.0.0.0/1,128.0.0.0/1" is every IPv4 address in two halves,
// and any client then names itself. A list may trust at most a /7's worth of either
// family (1/128 of it): room for every private network, and no more. IPv4-mapped
// IPv6 prefixes count as the IPv4 addresses they are (ClientAddr unmaps every
// address it compares), and an address named twice, or inside another prefix of
// the list, counts once.
func TestProxiesThatTogetherTrustTooManyAreRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		list string
		ok   bool
		// what the refusal must quote: the prefixes that count against the bound
		quoted []string
	}{
		// what the deploy base and the local stack set
		{list: "10.0.0.0/8", ok: true},
		{list: "127.0.0.1", ok: true},
		{list: "127.0.0.1,::1", ok: true},
		// every private network at once, twice over, and the carrier-grade NAT range
		{list: "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,10.0.0.0/8,10.1.0.0/16", ok: true},
		{list: "fc00::/7", ok: true},
		{list: "fd00::/8,fd00:10:244::/56,fc00::/7", ok: true},
		{list: "::ffff:10.0.0.0/104", ok: true},
		{list: "2400:cb00::/32,2606:4700::/32,2a06:98c0::/29,104.16.0.0/13,172.64.0.0/13", ok: true},
		// halves, quarters and /8s of IPv4 that add up past the bound
		{list: "0.0.0.0/1,128.0.0.0/1", quoted: []string{"0.0.0.0/1", "128.0.0.0/1"}},
		{list: "0.0.0.0/2,64.0.0.0/2,128.0.0.0/2,192.0.0.0/2", quoted: []string{"0.0.0.0/2", "192.0.0.0/2"}},
		{list: "10.0.0.0/8, 11.0.0.0/8,12.0.0.0/8", quoted: []string{"10.0.0.0/8", "11.0.0.0/8", "12.0.0.0/8"}},
		{list: "0.0.0.0/6", quoted: []string{"0.0.0.0/6"}},
		// IPv6, alone or beside a sound IPv4 list (only the IPv6 part is quoted)
		{list: "::/1,8000::/1", quoted: []string{"::/1", "8000::/1"}},
		{list: "10.0.0.0/8,2000::/3", quoted: []string{"2000::/3"}},
		{list: "fc00::/7,fe80::/10", quoted: []string{"fc00::/7", "fe80::/10"}},
		// IPv4-mapped IPv6: every IPv4 address written as IPv6, or a network holding them
		{list: "::ffff:0:0/96", quoted: []string{"::ffff:0:0/96"}},
		{list: "::ffff:0.0.0.0/97,::ffff:128.0.0.0/97", quoted: []string{"::ffff:0.0.0.0/97", "::ffff:128.0.0.0/97"}},
		{list: "10.0.0.0/8,::ffff:11.0.0.0/104,::ffff:12.0.0.0/104", quoted: []string{"10.0.0.0/8", "::ffff:12.0.0.0/104"}},
		{list: "::/80", quoted: []string{"::/80"}},
	} {
		_, err := Edge{TrustedProxies: strings.Split(tt.list, ",")}.Proxies()
		if tt.ok {
			if err != nil {
				t.Errorf("HTTP_TRUSTED_PROXIES=%s refused: %v", tt.list, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "HTTP_TRUSTED_PROXIES") {
			t.Errorf("HTTP_TRUSTED_PROXIES=%s: %v, want it refused naming the setting", tt.list, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, strconv.Quote(tt.list)) {
			t.Errorf("HTTP_TRUSTED_PROXIES=%s: the refusal does not quote the setting: %v", tt.list, err)
		}
		for _, q := range tt.quoted {
			if !strings.Contains(msg, q) {
				t.Errorf("HTTP_TRUSTED_PROXIES=%s: the refusal does not quote %s: %v", tt.list, q, err)
			}
		}
		if !strings.Contains(msg, "at most") {
			t.Errorf("HTTP_TRUSTED_PROXIES=%s: the refusal does not say what is expected: %v", tt.list, err)
		}
	}
}

// Trusted mapped prefixes are compared as the IPv4 networks they are, since
// ClientAddr unmaps every address before it looks for it among them.
func TestMappedProxiesAreIPv4(t *testing.T) {
	t.Parallel()
	proxies, err := Edge{TrustedProxies: []string{"::ffff:10.0.0.0/104", "::ffff:192.0.2.1"}}.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	if len(proxies) != 2 || proxies[0].String() != "10.0.0.0/8" || proxies[1].String() != "192.0.2.1/32" {
		t.Errorf("proxies %v, want 10.0.0.0/8 and 192.0.2.1/32", proxies)
	}
}

// A rate is a number of requests a second: "Inf" (which the limiter takes as no
// limit at all) and "NaN" parse as numbers, and are refused at start as zero is,
// naming the setting.
func TestRatesAreFiniteNumbers(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"RATE_WRITE_PER_SECOND", "RATE_READ_PER_SECOND", "RATE_PUBLIC_PER_SECOND"} {
		for _, bad := range []string{"Inf", "+Inf", "infinity", "NaN", "0", "-1"} {
			var p Platform
			err := LoadFrom(&p, map[string]string{key: bad})
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("%s=%s: %v, want it refused naming the setting", key, bad, err)
			}
		}
	}
}

// A rate limit set beyond any caller's reach is none: a burst of 2000000000 lets a
// caller send as much as it likes, and so does a rate of 10^12 a second. Each is at
// most 10000, more than a replica answers one caller in a second, and start-up
// names the setting and the bound.
func TestRatesAndBurstsHaveACeiling(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"RATE_WRITE", "RATE_READ", "RATE_PUBLIC"} {
		for key, values := range map[string]map[string]bool{
			name + "_BURST":      {"10000": true, "10001": false, "2000000000": false},
			name + "_PER_SECOND": {"10000": true, "10000.5": false, "1e12": false},
		} {
			for value, ok := range values {
				var p Platform
				err := LoadFrom(&p, map[string]string{key: value})
				if ok && err != nil && strings.Contains(err.Error(), key) {
					t.Errorf("%s=%s refused: %v", key, value, err)
				}
				if !ok && (err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "at most 10000")) {
					t.Errorf("%s=%s: %v, want it refused naming the setting and the bound", key, value, err)
				}
			}
		}
	}
}

// A list with an empty entry (10.0.0.0/8,,127.0.0.1, or a comma left at its end)
// lost a network in the typing: its entries were skipped unsaid, as the reminder
// ladder's were. Start-up refuses it, naming the setting.
func TestAProxyListWithAnEmptyEntryIsRefused(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.0/8,,127.0.0.1", "10.0.0.0/8,", ",10.0.0.0/8", "10.0.0.0/8, ,127.0.0.1"} {
		var p Platform
		err := LoadFrom(&p, map[string]string{"HTTP_TRUSTED_PROXIES": bad})
		if err == nil || !strings.Contains(err.Error(), "HTTP_TRUSTED_PROXIES "+strconv.Quote(bad)+" has an empty entry") {
			t.Errorf("HTTP_TRUSTED_PROXIES=%q: %v, want it refused naming the setting", bad, err)
		}
	}
}
