package config

import (
	"strings"
	"testing"

	libconfig "github.com/itss/techcommit/libs/config"
)

// completeEnv is a complete production-like environment: the shared settings and
// every one the fund has no default for.
func completeEnv() map[string]string {
	return map[string]string{"MONGO_URI": "mongodb://db/?tls=true", "NATS_URL": "tls://bus", "AUTH_JWKS_URL": "https://id.example.org/jwks",
		"AUTH_ISSUER": "https://id.example.org", "AUTH_AUDIENCE": "tc-fund", "FUND_CONTACT_EMAIL": "technician-commitment@itss.org.uk"}
}

func TestCompleteEnvironmentLoads(t *testing.T) {
	t.Parallel()
	c := Default()
	if err := libconfig.LoadFrom(&c, completeEnv()); err != nil {
		t.Fatalf("a complete configuration is refused: %v", err)
	}
	if c.Fund.ContactEmail != "technician-commitment@itss.org.uk" {
		t.Errorf("FUND_CONTACT_EMAIL read as %q", c.Fund.ContactEmail)
	}
}

// The address the fund's answers tell applicants to write to ITSS at has no default,
// for the reason notify's and the portal's have none: another environment's mailbox,
// or one nobody reads, would take what applicants ask of ITSS. Start-up fails naming
// it when it is missing, and when it is not a bare address.
func TestTheContactAddressIsRequiredAndABareAddress(t *testing.T) {
	t.Parallel()
	env := completeEnv()
	delete(env, "FUND_CONTACT_EMAIL")
	c := Default()
	if err := libconfig.LoadFrom(&c, env); err == nil || !strings.Contains(err.Error(), "FUND_CONTACT_EMAIL ") {
		t.Errorf("without FUND_CONTACT_EMAIL: %v, want a refusal naming it", err)
	}
	for _, bad := range []string{"", "itss.org.uk", "ITSS <tc@itss.org.uk>", " tc@itss.org.uk", "tc@itss.org.uk?subject=x", "a@b, c@d"} {
		env := completeEnv()
		env["FUND_CONTACT_EMAIL"] = bad
		c := Default()
		err := libconfig.LoadFrom(&c, env)
		if err == nil || !strings.Contains(err.Error(), "FUND_CONTACT_EMAIL ") {
			t.Errorf("FUND_CONTACT_EMAIL=%q: %v, want a refusal naming it", bad, err)
		}
		if bad != "" && (err == nil || !strings.Contains(err.Error(), "bare email address")) {
			t.Errorf("FUND_CONTACT_EMAIL=%q: %v, want it to say a bare email address is expected", bad, err)
		}
	}
}

// A request of the fund must stop within window.Grace: a correction of a round's
// project window, or a submission, checked on the round's window records longer ago
// is taken to have stopped, and one still under way could then be recorded beside
// the other. Start-up fails naming HTTP_REQUEST_TIMEOUT when it is as long.
func TestTheRequestTimeoutStaysUnderTheWindowsGrace(t *testing.T) {
	t.Parallel()
	for timeout, ok := range map[string]bool{"10s": true, "59s": true, "1m": false, "5m": false} {
		env := completeEnv()
		env["HTTP_REQUEST_TIMEOUT"] = timeout
		c := Default()
		err := libconfig.LoadFrom(&c, env)
		if ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "HTTP_REQUEST_TIMEOUT")) {
			t.Errorf("HTTP_REQUEST_TIMEOUT=%s: %v, want refused %v naming it", timeout, err, !ok)
		}
	}
}

// The fund's write limit is a number of writes a second: "Inf" (which the limiter
// takes as no limit) and "NaN" parse as numbers, and are refused as zero is.
func TestTheWriteRateIsAFiniteNumber(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"Inf", "+Inf", "infinity", "NaN", "0", "-1"} {
		env := completeEnv()
		env["FUND_WRITE_RATE"] = bad
		c := Default()
		if err := libconfig.LoadFrom(&c, env); err == nil || !strings.Contains(err.Error(), "FUND_WRITE_RATE") {
			t.Errorf("FUND_WRITE_RATE=%s: %v, want it refused naming the setting", bad, err)
		}
	}
}

// A stored answer of the fund's names the people of an application (its
// endorsement's name and address), so it is kept for a week at most, as the other
// services' are; a longer period, or one of years, stops start-up naming the setting.
func TestTheIdempotencyPeriodIsBounded(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{"1m": true, "24h": true, "168h": true, "59s": false, "0s": false, "-1h": false, "169h": false, "87600h": false} {
		env := completeEnv()
		env["FUND_IDEMPOTENCY_TTL"] = value
		c := Default()
		err := libconfig.LoadFrom(&c, env)
		if (err == nil) != ok || err != nil && !strings.Contains(err.Error(), "FUND_IDEMPOTENCY_TTL") {
			t.Errorf("FUND_IDEMPOTENCY_TTL=%s: %v, want accepted %t", value, err, ok)
		}
	}
}

// The fund's write limit has the platform's ceilings: a burst or a rate past 10000
// is no limit. Its sweeps have ceilings too: a round sweep of a year would record no
// round closed and put back no change stopped half way for a year, a report sweep of
// a year would ask for no report. Start-up names the setting and the bound.
func TestTheWriteLimitAndTheSweepsHaveCeilings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		key, value string
		ok         bool
		bound      string
	}{
		{"FUND_WRITE_BURST", "10000", true, ""},
		{"FUND_WRITE_BURST", "2000000000", false, "at most 10000"},
		{"FUND_WRITE_RATE", "1e12", false, "at most 10000"},
		{"FUND_ROUND_SWEEP_INTERVAL", "10m", true, ""},
		{"FUND_ROUND_SWEEP_INTERVAL", "10m1s", false, "between 1s and 10m"},
		{"FUND_ROUND_SWEEP_INTERVAL", "8760h", false, "between 1s and 10m"},
		{"FUND_ROUND_SWEEP_INTERVAL", "0s", false, "between 1s and 10m"},
		{"FUND_REPORT_SWEEP_INTERVAL", "24h", true, ""},
		{"FUND_REPORT_SWEEP_INTERVAL", "24h1s", false, "between 1s and 24h"},
		{"FUND_REPORT_SWEEP_INTERVAL", "8760h", false, "between 1s and 24h"},
	} {
		env := completeEnv()
		env[tt.key] = tt.value
		c := Default()
		err := libconfig.LoadFrom(&c, env)
		if tt.ok && err != nil {
			t.Errorf("%s=%s refused: %v", tt.key, tt.value, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.key) || !strings.Contains(err.Error(), tt.bound)) {
			t.Errorf("%s=%s: %v, want it refused naming the setting and saying %q", tt.key, tt.value, err, tt.bound)
		}
	}
}
