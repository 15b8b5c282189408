package config

import (
	"strings"
	"testing"

	libconfig "github.com/itss/techcommit/libs/config"
)

// platformEnv is the shared settings a service cannot start without.
func platformEnv() map[string]string {
	return map[string]string{"MONGO_URI": "mongodb://db/?tls=true", "NATS_URL": "tls://bus", "AUTH_JWKS_URL": "https://id.example.org/jwks",
		"AUTH_ISSUER": "https://id.example.org", "AUTH_AUDIENCE": "tc-notify"}
}

// completeEnv is a complete production-like environment: the shared settings and
// every one notify has no default for.
func completeEnv() map[string]string {
	env := platformEnv()
	for k, v := range map[string]string{"SMTP_HOST": "smtp.itss.org.uk", "SMTP_PORT": "587", "NOTIFY_PUBLIC_URL": "https://notify.tc.itss.org.uk",
		"NOTIFY_PORTAL_URL": "https://portal.tc.itss.org.uk", "SMTP_FROM": "technician-commitment@itss.org.uk",
		"NOTIFY_CONTACT_EMAIL": "technician-commitment@itss.org.uk"} {
		env[k] = v
	}
	return env
}

// No address notify mails through or links to has a default: a default would be a
// development address, and a service that mailed the local catcher, or linked people
// to 127.0.0.1, would fail silently. Start-up fails naming each missing variable.
func TestAddressesHaveNoDevelopmentDefaultsAndStartUpNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	c := Default()
	err := libconfig.LoadFrom(&c, platformEnv())
	if err == nil {
		t.Fatal("notify starts without its mail relay, public address and portal address")
	}
	for _, name := range []string{"SMTP_HOST", "SMTP_PORT", "SMTP_FROM", "NOTIFY_PUBLIC_URL", "NOTIFY_PORTAL_URL", "NOTIFY_CONTACT_EMAIL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the start-up error does not name %s: %v", name, err)
		}
	}
	for _, dev := range []string{"127.0.0.1", "1025", "8083"} {
		if strings.Contains(c.SMTP.Host+" "+c.Notify.PublicURL+" "+c.Notify.PortalURL, dev) || (dev == "1025" && c.SMTP.Port == 1025) {
			t.Errorf("a default still points at the development address %s", dev)
		}
	}

	env := completeEnv()
	c = Default()
	if err := libconfig.LoadFrom(&c, env); err != nil {
		t.Fatalf("a complete configuration is refused: %v", err)
	}
	// No email offers an unsubscribe (docs/PRIVACY.md): SMTP_UNSUBSCRIBE is no longer
	// read, and a ConfigMap from before that still sets it starts.
	env["SMTP_UNSUBSCRIBE"] = "unsubscribe@itss.org.uk"
	c = Default()
	if err := libconfig.LoadFrom(&c, env); err != nil {
		t.Fatalf("a configuration that still sets SMTP_UNSUBSCRIBE is refused: %v", err)
	}
	delete(env, "SMTP_UNSUBSCRIBE")
	env["NOTIFY_PORTAL_URL"] = "portal.tc.itss.org.uk/"
	c = Default()
	if err := libconfig.LoadFrom(&c, env); err == nil || !strings.Contains(err.Error(), "NOTIFY_PORTAL_URL") {
		t.Errorf("a portal address that is not an absolute URL is accepted: %v", err)
	}
}

// The sender and ITSS's contact address are bare addresses: a display name belongs
// in SMTP_FROM_NAME, and the contact address goes into mailto: links as it is.
func TestMailAddressesAreBareAddresses(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"SMTP_FROM", "NOTIFY_CONTACT_EMAIL"} {
		for _, bad := range []string{"itss.org.uk", "Technician Commitment <tc@itss.org.uk>", " tc@itss.org.uk", "tc@itss.org.uk?subject=x", "a@b, c@d"} {
			env := completeEnv()
			env[name] = bad
			c := Default()
			err := libconfig.LoadFrom(&c, env)
			if err == nil || !strings.Contains(err.Error(), name+" ") || !strings.Contains(err.Error(), "bare email address") {
				t.Errorf("%s=%q: %v", name, bad, err)
			}
		}
	}
}

// The log's recipients are kept at least as long as the bodies (an entry whose body
// is kept names whom it greets) and at most six years: a period outside that stops
// start-up naming the setting.
func TestLogRetentionIsBoundedByTheBodiesAndSixYears(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body, log string
		ok        bool
	}{
		{"", "", true}, {"2160h", "2160h", true}, {"24h", "48h", true}, {"", "52704h", true},
		{"2160h", "2159h", false}, {"", "52705h", false}, {"8784h", "720h", false},
	} {
		env := completeEnv()
		if tc.body != "" {
			env["NOTIFY_BODY_RETENTION"] = tc.body
		}
		if tc.log != "" {
			env["NOTIFY_LOG_RETENTION"] = tc.log
		}
		c := Default()
		err := libconfig.LoadFrom(&c, env)
		if ok := err == nil; ok != tc.ok || !ok && !strings.Contains(err.Error(), "NOTIFY_LOG_RETENTION "+tc.log) {
			t.Errorf("bodies %q, log %q: %v, want accepted %v", tc.body, tc.log, err, tc.ok)
		}
	}
}

// Mail goes to a relay on another machine over TLS: without it the relay's password
// and every email, sign-in links among them, may cross the network in the clear. A
// relay on this machine (the local stack's Mailpit) may be reached without.
func TestMailToAnotherMachineRequiresTLS(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		host, policy string
		ok           bool
	}{
		{"smtp.itss.org.uk", "mandatory", true},
		{"smtp.itss.org.uk", "opportunistic", false},
		{"smtp.itss.org.uk", "none", false},
		{"10.0.0.7", "none", false},
		{"127.0.0.1", "none", true},
		{"localhost", "opportunistic", true},
	} {
		environ := completeEnv()
		environ["SMTP_HOST"], environ["SMTP_TLS_POLICY"] = tt.host, tt.policy
		c := Default()
		err := libconfig.LoadFrom(&c, environ)
		if (err == nil) != tt.ok || (err != nil && !strings.Contains(err.Error(), "SMTP_TLS_POLICY")) {
			t.Errorf("SMTP_HOST=%s SMTP_TLS_POLICY=%s: %v, want accepted %t (a refusal naming SMTP_TLS_POLICY)", tt.host, tt.policy, err, tt.ok)
		}
	}
}

// The addresses emails link to are https: a calendar feed's address carries its
// token, the feed's only secret, and a link to the portal over http:// can be
// rewritten on the way to a page that asks for what the portal would. Plain http://
// is for a stack on this machine alone. Neither address carries a user and password,
// which every email would hand to its reader.
func TestEmailedAddressesAreHTTPSOffThisMachine(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"NOTIFY_PUBLIC_URL", "NOTIFY_PORTAL_URL"} {
		for _, tt := range []struct {
			value string
			ok    bool
		}{
			{"https://portal.tc.itss.org.uk", true},
			{"HTTPS://portal.tc.itss.org.uk", true},
			{"https://api.tc.itss.org.uk/notify", true},
			{"http://127.0.0.1:8083", true},
			{"http://localhost:8084", true},
			{"http://[::1]:8084", true},
			{"http://portal.tc.itss.org.uk", false},
			{"HTTP://portal.tc.itss.org.uk", false},
			{"http://10.0.0.5:8084", false},
			{"https://ops:secret@portal.tc.itss.org.uk", false},
			{"http://ops:secret@portal.tc.itss.org.uk", false},
			{"https://ops:secret@portal.tc.itss.org.uk/", false},
			{" https://portal.tc.itss.org.uk", false},
			{"ftp://portal.tc.itss.org.uk", false},
		} {
			env := completeEnv()
			env[name] = tt.value
			c := Default()
			err := libconfig.LoadFrom(&c, env)
			if tt.ok && err != nil {
				t.Errorf("%s=%q refused: %v", name, tt.value, err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), name+" ") || !strings.Contains(err.Error(), "https://")) {
				t.Errorf("%s=%q: %v, want it refused naming the setting and saying https://", name, tt.value, err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%s=%q: the refusal, which goes to the log, quotes the password: %v", name, tt.value, err)
			}
		}
	}
}

// SMTP_HOST is a host name or address, which the relay's port and credentials are
// given apart from. An address written whole (smtp://user:secret@relay:587) was
// taken, failed at the first email, and was quoted, password and all, in the log
// when the TLS policy refused it; start-up now names the setting and hides the
// password.
func TestTheRelayIsAHostAlone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value string
		ok    bool
	}{
		{"smtp.itss.org.uk", true},
		{"smtp.itss.org.uk.", true},
		{"mailpit", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"user:secret@smtp.itss.org.uk", false},
		{"smtp://user:secret@smtp.itss.org.uk:587", false},
		{"smtp.itss.org.uk:587", false},
		{" smtp.itss.org.uk", false},
		{"smtp.itss.org.uk/", false},
		{"smtp..itss.org.uk", false},
		{"-smtp.itss.org.uk", false},
	} {
		env := completeEnv()
		env["SMTP_HOST"] = tt.value
		env["SMTP_TLS_POLICY"] = "none"
		c := Default()
		err := libconfig.LoadFrom(&c, env)
		if tt.ok && err != nil && strings.Contains(err.Error(), "SMTP_HOST") {
			t.Errorf("SMTP_HOST=%q refused: %v", tt.value, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "SMTP_HOST ")) {
			t.Errorf("SMTP_HOST=%q: %v, want it refused naming the setting", tt.value, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("SMTP_HOST=%q: the refusal, which goes to the log, quotes the password: %v", tt.value, err)
		}
	}
}

// The reminder ladder is days separated by commas, such as 90,30,7,1,0, and nothing
// else: NOTIFY_DAYS_BEFORE=7days was read as 7, and a day lost in the typing
// (90,,30) or written twice went unsaid. Overdue days count from the day after the
// due date: 0 is the due day, NOTIFY_DAYS_BEFORE's. Start-up names the setting.
func TestTheReminderLadderIsWrittenExactly(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, value string }{
		{"NOTIFY_DAYS_BEFORE", "7days"},
		{"NOTIFY_DAYS_BEFORE", "90,30,7,1,0,7"},
		{"NOTIFY_DAYS_BEFORE", "90,,30"},
		{"NOTIFY_DAYS_BEFORE", " "},
		{"NOTIFY_DAYS_OVERDUE", "7,30d"},
		{"NOTIFY_DAYS_OVERDUE", "0,7"},
		{"NOTIFY_DAYS_OVERDUE", "7,30,"},
	} {
		env := completeEnv()
		env[tt.name] = tt.value
		c := Default()
		if err := libconfig.LoadFrom(&c, env); err == nil || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("%s=%q: %v, want it refused naming the setting", tt.name, tt.value, err)
		}
	}
	env := completeEnv()
	env["NOTIFY_DAYS_BEFORE"], env["NOTIFY_DAYS_OVERDUE"] = "60, 14, 0", "1"
	c := Default()
	if err := libconfig.LoadFrom(&c, env); err != nil {
		t.Errorf("a ladder written as documented refused: %v", err)
	}
}

// A sweep of a year sends no reminder for a year, and attempts without end retry an
// email for ever (the back-off doubles to 17 hours and stays there): the sweep is at
// most 10m, half the 20 minutes after which TCRemindersNotSent takes a reminder due
// and not sent for a sweep stuck, and the attempts at most 10 (the last some 17
// hours after the first). Start-up names the setting and the bound.
func TestTheSweepAndTheAttemptsHaveCeilings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		key, value string
		ok         bool
		bound      string
	}{
		{"NOTIFY_SWEEP_INTERVAL", "10m", true, ""},
		{"NOTIFY_SWEEP_INTERVAL", "10m1s", false, "between 1s and 10m"},
		{"NOTIFY_SWEEP_INTERVAL", "8760h", false, "between 1s and 10m"},
		{"NOTIFY_SWEEP_INTERVAL", "0s", false, "between 1s and 10m"},
		{"NOTIFY_MAX_ATTEMPTS", "1", true, ""},
		{"NOTIFY_MAX_ATTEMPTS", "10", true, ""},
		{"NOTIFY_MAX_ATTEMPTS", "11", false, "between 1 and 10"},
		{"NOTIFY_MAX_ATTEMPTS", "1000000", false, "between 1 and 10"},
		{"NOTIFY_MAX_ATTEMPTS", "0", false, "between 1 and 10"},
	} {
		env := completeEnv()
		env[tt.key] = tt.value
		c := Default()
		err := libconfig.LoadFrom(&c, env)
		if tt.ok && err != nil {
			t.Errorf("%s=%s refused: %v", tt.key, tt.value, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.key+" ") || !strings.Contains(err.Error(), tt.bound)) {
			t.Errorf("%s=%s: %v, want it refused naming the setting and saying %q", tt.key, tt.value, err, tt.bound)
		}
	}
}

// An address pasted with a space after it was taken, the space read as part of its
// path: every email linked to https://portal.tc.itss.org.uk/tc%20/... Start-up
// refuses it, naming the setting.
func TestEmailedAddressesAreWrittenExactly(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"NOTIFY_PUBLIC_URL", "NOTIFY_PORTAL_URL"} {
		env := completeEnv()
		env[name] = "https://api.tc.itss.org.uk/notify "
		c := Default()
		if err := libconfig.LoadFrom(&c, env); err == nil || !strings.Contains(err.Error(), name+` "https://api.tc.itss.org.uk/notify " must have no spaces about it`) {
			t.Errorf("%s with a space after it: %v, want it refused naming the setting", name, err)
		}
	}
}
