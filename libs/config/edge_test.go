package config

import (
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
