package config

import (
	"strconv"
	"strings"
	"testing"
)

// env is a complete production-like environment.
func env() map[string]string {
	return map[string]string{
		"MONGO_URI": "mongodb://db/?tls=true", "NATS_URL": "tls://bus",
		"PORTAL_PUBLIC_URL": "https://portal.example.org", "PORTAL_SIGNING_KEY_FILE": "/secrets/portal.pem",
		"PORTAL_PSEUDONYM_KEY": "a secret of the portal's, 32 bytes or more", "PORTAL_CONTACT_EMAIL": "technician-commitment@example.org",
		"PORTAL_DPO_CONTACT": "dpo@example.org", "PORTAL_TRANSFERS_OUTSIDE_UK": "none",
		"PORTAL_SIGNATORY_URL": "http://signatory:8081", "PORTAL_REVIEW_URL": "http://review:8082",
		"PORTAL_NOTIFY_URL": "http://notify:8083", "PORTAL_FUND_URL": "http://fund:8084",
		"PORTAL_OIDC_ISSUER": "https://login.example.org", "PORTAL_OIDC_CLIENT_ID": "tc-portal",
		"PORTAL_OIDC_CLIENT_SECRET": "s3cret", "PORTAL_OIDC_REDIRECT_URL": "https://portal.example.org/auth/callback",
		"PORTAL_OPS_GROUP":          "itss-ops",
		"PORTAL_SIGNATORY_AUDIENCE": "https://api.example.org/signatory", "PORTAL_REVIEW_AUDIENCE": "https://api.example.org/review",
		"PORTAL_NOTIFY_AUDIENCE": "https://api.example.org/notify", "PORTAL_FUND_AUDIENCE": "https://api.example.org/fund",
	}
}

// A portal told nothing does not start, and says every variable it misses at once:
// only its own listeners have local defaults.
func TestNothingTrustedOrAddressedByDefault(t *testing.T) {
	t.Parallel()
	_, err := LoadFrom(map[string]string{})
	if err == nil {
		t.Fatal("an empty environment was accepted")
	}
	for _, key := range []string{"MONGO_URI", "NATS_URL", "PORTAL_PUBLIC_URL", "PORTAL_SIGNING_KEY_FILE", "PORTAL_PSEUDONYM_KEY", "PORTAL_CONTACT_EMAIL", "PORTAL_DPO_CONTACT", "PORTAL_TRANSFERS_OUTSIDE_UK",
		"PORTAL_SIGNATORY_URL", "PORTAL_REVIEW_URL", "PORTAL_NOTIFY_URL", "PORTAL_FUND_URL",
		"PORTAL_OIDC_ISSUER", "PORTAL_OIDC_CLIENT_ID", "PORTAL_OIDC_CLIENT_SECRET", "PORTAL_OIDC_REDIRECT_URL", "PORTAL_OPS_GROUP",
		"PORTAL_SIGNATORY_AUDIENCE", "PORTAL_REVIEW_AUDIENCE", "PORTAL_NOTIFY_AUDIENCE", "PORTAL_FUND_AUDIENCE"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("the error does not name %s: %v", key, err)
		}
	}
	c := Default()
	if c.HTTP.Addr != "127.0.0.1:8080" || c.HTTP.AdminAddr != "127.0.0.1:9080" {
		t.Errorf("listeners = %s, %s; want 127.0.0.1:8080 and 127.0.0.1:9080", c.HTTP.Addr, c.HTTP.AdminAddr)
	}
}

// People's pseudonyms are keyed with a secret the portal is given: without one, or
// with one short enough to guess, it does not start, and it says so without quoting
// the secret.
func TestThePseudonymKeyIsRequiredAndLongEnough(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"", "short-but-secret"} {
		e := env()
		e["PORTAL_PSEUDONYM_KEY"] = secret
		_, err := LoadFrom(e)
		if err == nil || !strings.Contains(err.Error(), "PORTAL_PSEUDONYM_KEY") {
			t.Errorf("a pseudonym key of %d characters: %v, want a refusal naming PORTAL_PSEUDONYM_KEY", len(secret), err)
		}
		if secret != "" && err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("the refusal quotes the secret: %v", err)
		}
	}
}

// The address people are told to write to ITSS at is a bare address, which a
// mailto: link carries as it is: a typo stops start-up naming the setting.
func TestTheContactAddressIsABareAddress(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"itss.org.uk", "ITSS <tc@itss.org.uk>", "tc@itss.org.uk?subject=x", "a@b, c@d"} {
		e := env()
		e["PORTAL_CONTACT_EMAIL"] = bad
		if _, err := LoadFrom(e); err == nil || !strings.Contains(err.Error(), "PORTAL_CONTACT_EMAIL ") || !strings.Contains(err.Error(), "bare email address") {
			t.Errorf("PORTAL_CONTACT_EMAIL=%q: %v, want a refusal naming it", bad, err)
		}
	}
}

// The privacy notice gives the data protection officer's address, or says ITSS has
// none: which is ITSS's to say, so a portal told neither does not start, and a typo
// stops start-up naming the setting.
func TestTheDataProtectionOfficerIsNamedOrSaidToBeNone(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "None ", "dpo.itss.org.uk", "DPO <dpo@itss.org.uk>"} {
		e := env()
		e["PORTAL_DPO_CONTACT"] = bad
		if _, err := LoadFrom(e); err == nil || !strings.Contains(err.Error(), "PORTAL_DPO_CONTACT ") || !strings.Contains(err.Error(), `"none"`) {
			t.Errorf("PORTAL_DPO_CONTACT=%q: %v, want a refusal naming it and saying what it takes", bad, err)
		}
	}
	for value, dpo := range map[string]string{"dpo@itss.org.uk": "dpo@itss.org.uk", "none": ""} {
		e := env()
		e["PORTAL_DPO_CONTACT"] = value
		c, err := LoadFrom(e)
		if err != nil {
			t.Fatalf("PORTAL_DPO_CONTACT=%q: %v", value, err)
		}
		if got := c.Portal.DPO(); got != dpo {
			t.Errorf("PORTAL_DPO_CONTACT=%q gives the officer %q, want %q", value, got, dpo)
		}
	}
}

// The privacy notice says whether people's data leaves the UK (UK GDPR Art.
// 13(1)(f)), and it said nothing: where the cluster, its backups and the mail
// provider are is the deployer's to say, so a portal told neither "none" nor the
// address of ITSS's page about the transfers does not start.
func TestWhetherDataLeavesTheUKIsSaidNotAssumed(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "None", "no", "http://itss.org.uk/transfers", "itss.org.uk/transfers", "https://", "https://u:p@itss.org.uk/transfers"} {
		e := env()
		e["PORTAL_TRANSFERS_OUTSIDE_UK"] = bad
		if _, err := LoadFrom(e); err == nil || !strings.Contains(err.Error(), "PORTAL_TRANSFERS_OUTSIDE_UK must be") || !strings.Contains(err.Error(), `"none"`) {
			t.Errorf("PORTAL_TRANSFERS_OUTSIDE_UK=%q: %v, want a refusal naming it and saying what it takes", bad, err)
		}
	}
	for value, page := range map[string]string{"https://www.itss.org.uk/privacy/transfers": "https://www.itss.org.uk/privacy/transfers", "none": ""} {
		e := env()
		e["PORTAL_TRANSFERS_OUTSIDE_UK"] = value
		c, err := LoadFrom(e)
		if err != nil {
			t.Fatalf("PORTAL_TRANSFERS_OUTSIDE_UK=%q: %v", value, err)
		}
		if got := c.Portal.TransfersPage(); got != page {
			t.Errorf("PORTAL_TRANSFERS_OUTSIDE_UK=%q gives the page %q, want %q", value, got, page)
		}
	}
}

func TestCompleteEnvironmentLoads(t *testing.T) {
	t.Parallel()
	c, err := LoadFrom(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Portal.InsecureCookies {
		t.Error("cookies are insecure unless asked")
	}
}

// Sign-in cookies and links travel over https outside a local stack: a plain
// http:// public address is refused unless the local-development setting says so.
func TestPlainHTTPPublicURLOnlyForLocalDevelopment(t *testing.T) {
	t.Parallel()
	e := env()
	e["PORTAL_PUBLIC_URL"] = "http://127.0.0.1:8080"
	if _, err := LoadFrom(e); err == nil || !strings.Contains(err.Error(), "PORTAL_PUBLIC_URL") {
		t.Fatalf("http public URL without PORTAL_INSECURE_COOKIES: err = %v", err)
	}
	e["PORTAL_INSECURE_COOKIES"] = "true"
	if _, err := LoadFrom(e); err != nil {
		t.Fatal(err)
	}
}

// API tokens last between a day and a year.
func TestAPITokenSettingsAreBounded(t *testing.T) {
	t.Parallel()
	for key, values := range map[string]map[string]bool{
		"PORTAL_API_TOKEN_MAX_LIFETIME": {"24h": true, "2160h": true, "8784h": true, "23h": false, "8785h": false},
		// Not a token setting, but bounded alike: staff names are personal data.
		"PORTAL_STAFF_NAME_RETENTION": {"720h": true, "9600h": true, "52704h": true, "719h": false, "52705h": false, "0s": false},
		// A sign-in's longest lifetime: more than WCAG 2.2.1's 20 hours, which nobody
		// need be able to extend, and within the register of ended sign-ins' 25.
		"PORTAL_SESSION_MAX_LIFETIME": {"24h": true, "20h1m": true, "20h": false, "8h": false, "25h": false},
	} {
		for value, ok := range values {
			e := env()
			e[key] = value
			_, err := LoadFrom(e)
			if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), key)) {
				t.Errorf("%s=%s: err = %v, want ok = %t", key, value, err, ok)
			}
		}
	}
}

// A sign-in's lifetime unused is no longer than its longest: start-up says so in
// the settings' names, rather than failing later in the words of the code.
func TestASessionLastsNoLongerUnusedThanAtMost(t *testing.T) {
	t.Parallel()
	e := env()
	e["PORTAL_SESSION_LIFETIME"], e["PORTAL_SESSION_MAX_LIFETIME"] = "23h", "22h"
	if _, err := LoadFrom(e); err == nil || !strings.Contains(err.Error(), "PORTAL_SESSION_LIFETIME 23h0m0s must not be longer than PORTAL_SESSION_MAX_LIFETIME") {
		t.Errorf("a lifetime longer than the longest: err = %v", err)
	}
	e["PORTAL_SESSION_LIFETIME"] = "22h"
	if _, err := LoadFrom(e); err != nil {
		t.Errorf("a lifetime equal to the longest: %v", err)
	}
}

// PORTAL_INSECURE_COOKIES drops the session cookie's Secure attribute: it is for a
// local stack at an http:// address on this machine, and refused with any other
// public address, where the session would go in the clear.
func TestInsecureCookiesOnlyForALocalStack(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		public string
		ok     bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"https://portal.example.org", false},
		{"http://portal.example.org", false},
	} {
		e := env()
		e["PORTAL_PUBLIC_URL"], e["PORTAL_INSECURE_COOKIES"] = tt.public, "true"
		e["PORTAL_OIDC_REDIRECT_URL"] = tt.public + "/auth/callback"
		_, err := LoadFrom(e)
		if (err == nil) != tt.ok || (err != nil && !strings.Contains(err.Error(), "PORTAL_INSECURE_COOKIES")) {
			t.Errorf("PORTAL_PUBLIC_URL=%s with PORTAL_INSECURE_COOKIES=true: %v, want accepted %t (a refusal naming PORTAL_INSECURE_COOKIES)", tt.public, err, tt.ok)
		}
	}
}

// The portal's request deadline is bounded as the services' are: at least a second,
// at most five minutes.
func TestTheRequestTimeoutIsBoundedAsTheServices(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{"1s": true, "10s": true, "5m": true, "0s": false, "999ms": false, "5m1s": false, "8760h": false} {
		e := env()
		e["HTTP_REQUEST_TIMEOUT"] = value
		_, err := LoadFrom(e)
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "HTTP_REQUEST_TIMEOUT")) {
			t.Errorf("HTTP_REQUEST_TIMEOUT=%s: err = %v, want ok = %t", value, err, ok)
		}
	}
}

// The portal's grace for requests in flight at SIGTERM is bounded as the services'
// is: it took 0s (no grace: every request in flight cut) and a year.
func TestTheShutdownTimeoutIsBoundedAsTheServices(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{"1s": true, "20s": true, "5m": true, "0s": false, "-1s": false, "5m1s": false, "8760h": false} {
		e := env()
		e["HTTP_SHUTDOWN_TIMEOUT"] = value
		_, err := LoadFrom(e)
		if (err == nil) != ok || (err != nil && (!strings.Contains(err.Error(), "HTTP_SHUTDOWN_TIMEOUT ") || !strings.Contains(err.Error(), "must be between 1s and 5m"))) {
			t.Errorf("HTTP_SHUTDOWN_TIMEOUT=%s: err = %v, want ok = %t", value, err, ok)
		}
	}
}

// The sign-in limits are limits: a thousand links an address in 15 minutes fills
// its inbox, and a client allowed 10^6 requests a minute may send a link to address
// after address. Each has a ceiling, 50 and 600, and start-up names the setting
// and the bound, as it does a limit under 1.
func TestTheSigninLimitsHaveCeilings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		key, value string
		ok         bool
		bound      string
	}{
		{"PORTAL_SIGNIN_PER_ADDRESS", "50", true, ""},
		{"PORTAL_SIGNIN_PER_ADDRESS", "51", false, "between 1 and 50"},
		{"PORTAL_SIGNIN_PER_ADDRESS", "2000000000", false, "between 1 and 50"},
		{"PORTAL_SIGNIN_PER_ADDRESS", "0", false, "between 1 and 50"},
		{"PORTAL_SIGNIN_PER_CLIENT", "600", true, ""},
		{"PORTAL_SIGNIN_PER_CLIENT", "601", false, "between 1 and 600"},
		{"PORTAL_SIGNIN_PER_CLIENT", "2000000000", false, "between 1 and 600"},
		{"PORTAL_SIGNIN_PER_CLIENT", "-1", false, "between 1 and 600"},
	} {
		e := env()
		e[tt.key] = tt.value
		_, err := LoadFrom(e)
		if tt.ok && err != nil {
			t.Errorf("%s=%s refused: %v", tt.key, tt.value, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.key+" ") || !strings.Contains(err.Error(), tt.bound)) {
			t.Errorf("%s=%s: %v, want it refused naming the setting and saying %q", tt.key, tt.value, err, tt.bound)
		}
	}
}

// Each service accepts tokens for its own audience only, so that a token the portal
// signed for one service, leaked there, is good at no other. Two of the portal's
// audiences alike would sign every token of both for either: start-up refuses it,
// naming both settings, as it refuses an audience with spaces about it, which no
// service's would match as intended.
func TestTheServicesAudiencesAreApart(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		set   map[string]string
		names []string
	}{
		{map[string]string{"PORTAL_FUND_AUDIENCE": "https://api.example.org/signatory"}, []string{"PORTAL_SIGNATORY_AUDIENCE", "PORTAL_FUND_AUDIENCE"}},
		{map[string]string{"PORTAL_SIGNATORY_AUDIENCE": "tc", "PORTAL_REVIEW_AUDIENCE": "tc", "PORTAL_NOTIFY_AUDIENCE": "tc", "PORTAL_FUND_AUDIENCE": "tc"},
			[]string{"PORTAL_SIGNATORY_AUDIENCE", "PORTAL_REVIEW_AUDIENCE", "PORTAL_NOTIFY_AUDIENCE", "PORTAL_FUND_AUDIENCE"}},
		{map[string]string{"PORTAL_REVIEW_AUDIENCE": " https://api.example.org/review"}, []string{"PORTAL_REVIEW_AUDIENCE"}},
		{map[string]string{"PORTAL_NOTIFY_AUDIENCE": "https://api.example.org/notify\t"}, []string{"PORTAL_NOTIFY_AUDIENCE"}},
	} {
		e := env()
		for k, v := range tt.set {
			e[k] = v
		}
		_, err := LoadFrom(e)
		if err == nil {
			t.Errorf("%v accepted", tt.set)
			continue
		}
		for _, name := range tt.names {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("%v: the refusal does not name %s: %v", tt.set, name, err)
			}
		}
	}
}

// No address the portal is told carries a user and password: its public address is
// in every sign-in link and is the issuer of its tokens, the provider's addresses
// reach ITSS's identity provider, and a callback with a fragment is one OAuth
// refuses (RFC 6749, 3.1.2). Each is refused at start-up, naming the setting.
func TestAddressesCarryNoCredentials(t *testing.T) {
	t.Parallel()
	for key, bad := range map[string]string{
		"PORTAL_PUBLIC_URL":        "https://ops:secret@portal.example.org",
		"PORTAL_SIGNATORY_URL":     "http://svc:secret@signatory:8081",
		"PORTAL_OIDC_ISSUER":       "https://client:secret@login.example.org",
		"PORTAL_OIDC_REDIRECT_URL": "https://portal.example.org/auth/callback#x",
		"PORTAL_FUND_URL":          "http://svc:secret@fund:8084/",
		"PORTAL_REVIEW_URL":        "ftp://svc:secret@review:8082",
		"PORTAL_NOTIFY_URL":        "https://svc:secret@notify:8083?x=1",
	} {
		e := env()
		e[key] = bad
		_, err := LoadFrom(e)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: %v, want it refused naming the setting", key, bad, err)
			continue
		}
		// The refusal goes to the log: it says the address carries a user
		// without repeating the password.
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s=%s: the refusal quotes the password: %v", key, bad, err)
		}
	}
	e := env()
	e["PORTAL_OIDC_REDIRECT_URL"] = "https://ops@portal.example.org/auth/callback"
	if _, err := LoadFrom(e); err == nil || !strings.Contains(err.Error(), "PORTAL_OIDC_REDIRECT_URL") {
		t.Errorf("a callback with a user: %v, want it refused naming the setting", err)
	}
}

// An address pasted with a space after it was taken, the space read as part of its
// path (https://portal.example.org/tc%20): sign-in links, the services' calls or
// the provider's discovery went to an address that is not there. Start-up refuses
// each address with spaces about it, naming the setting.
func TestAddressesAreWrittenExactly(t *testing.T) {
	t.Parallel()
	for key, bad := range map[string]string{
		"PORTAL_PUBLIC_URL":           "https://portal.example.org/tc ",
		"PORTAL_SIGNATORY_URL":        "http://signatory:8081/api ",
		"PORTAL_OIDC_ISSUER":          "https://login.example.org/realms/itss ",
		"PORTAL_OIDC_REDIRECT_URL":    "https://portal.example.org/auth/callback ",
		"PORTAL_TRANSFERS_OUTSIDE_UK": "https://itss.org.uk/transfers ",
	} {
		e := env()
		e[key] = bad
		if _, err := LoadFrom(e); err == nil || !strings.Contains(err.Error(), key+" "+strconv.Quote(bad)+" must have no spaces about it") {
			t.Errorf("%s=%q: %v, want it refused naming the setting", key, bad, err)
		}
	}
}

// Who is ops is the group the provider names exactly: a group written with spaces
// about it (" itss-ops", a line break pasted from a console) names no group the
// provider sends, and the client id likewise no client, so that ops could not sign
// in and would learn it only at the sign-in page. Start-up refuses them instead,
// naming the setting, as it refuses a group of spaces alone.
func TestTheOpsGroupAndClientAreWrittenExactly(t *testing.T) {
	t.Parallel()
	for key, bad := range map[string]string{
		"PORTAL_OPS_GROUP": " itss-ops", "PORTAL_OIDC_CLIENT_ID": "tc-portal\n",
	} {
		e := env()
		e[key] = bad
		if _, err := LoadFrom(e); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: %v, want it refused naming the setting", key, bad, err)
		}
	}
	e := env()
	e["PORTAL_OPS_GROUP"] = "  "
	if _, err := LoadFrom(e); err == nil || !strings.Contains(err.Error(), "PORTAL_OPS_GROUP") {
		t.Errorf("PORTAL_OPS_GROUP of spaces: %v, want it refused naming the setting", err)
	}
}
