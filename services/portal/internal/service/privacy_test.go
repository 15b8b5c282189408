package service

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/services/portal/internal/pages"
)

// Anyone, signed in or not, can read who holds their data and how to reach them,
// what is held and why, how long, and their rights: the portal showed and took
// people's data with no privacy notice anywhere, and told them to "contact ITSS"
// without saying how. Every page's footer gives ITSS's address (PORTAL_CONTACT_EMAIL)
// and links to the notice; the sign-in page links to it too.
func TestThePrivacyNoticeIsPublicAndEveryPageSaysHowToContactITSS(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	r := p.do("GET", "/privacy", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /privacy without signing in = %d, want 200", r.status)
	}
	if got := h1(t, r.body); got != "Privacy notice" {
		t.Errorf("the notice's heading is %q", got)
	}
	main := text(find(parse(t, r.body), element("main"))[0])
	for _, want := range []string{
		// Who holds the data, and how to reach them (Art. 13(1)(a)).
		"Institute for Technical Skills and Strategy (ITSS)", "email " + testContact,
		// The data protection officer's contact details (Art. 13(1)(b)).
		"ITSS's data protection officer", "write to them directly at " + testDPO,
		// What is held about whom, why, and on what lawful basis (Art. 13(1)(c)).
		"Nominated leads, heads of institution and points of contact", "Peer reviewers", "Fund applicants",
		"Article 6(1)(f)", "Article 6(1)(c)",
		// Who sees it (Art. 13(1)(e)): the directory shows the point of contact.
		"the public directory shows each organisation's point of contact",
		// ... and everyone else who sees some of it: a reviewer the other reviews of a
		// submission once theirs is in (unnamed), an organisation who made and revoked
		// its API tokens (ITSS staff by name), its tools its fund applications and the
		// endorsing lead, the head and the new lead who the lead was.
		"what the other reviewers of that submission wrote, without their names",
		"who made and who revoked each of its API tokens", "its fund applications, with the endorsing lead's name and email address",
		"who the nominated lead was before",
		// How long (Art. 13(2)(a)), from the portal's configuration and the code.
		"A sign-in link: 15 minutes", "8 hours after the last page you opened", "at most 24 hours after you signed in",
		"at most 30 days after you last saved it", "90 days after the token expires", "90 days after it was sent",
		"log of emails: 730 days after it was sent", "400 days after their latest sign-in", "Backups of the services' databases: 35 days",
		"until the lead removes you or is no longer the organisation's lead", "only a one-way digest of one: 36 days",
		// Rights and how to use them (Art. 13(2)(b)), and the ICO (Art. 13(2)(d)).
		// What an erasure keeps: the digest of the address in the register of erasures,
		// and free text.
		"a one-way digest of your email address", "not what people wrote",
		"subject access request", "have it erased", "object to our using it", "Article 21", "email ITSS at " + testContact, "Information Commissioner's Office (ICO)",
	} {
		if !strings.Contains(main, want) {
			t.Errorf("the privacy notice does not say %q:\n%s", want, main)
		}
	}

	for _, path := range []string{"/", "/signin", "/privacy", "/no-such-page"} {
		doc := parse(t, p.do("GET", path, "", nil).body)
		footers := find(doc, element("footer"))
		if len(footers) != 1 {
			t.Fatalf("GET %s has %d footers", path, len(footers))
		}
		hrefs := map[string]bool{}
		for _, a := range find(footers[0], element("a")) {
			hrefs[attr(a, "href")] = true
		}
		if !hrefs["mailto:"+testContact] || !hrefs["/privacy"] {
			t.Errorf("GET %s: the footer's links are %v, want ITSS's address and the privacy notice", path, hrefs)
		}
	}
	signin := find(parse(t, p.do("GET", "/signin", "", nil).body), element("main"))[0]
	if !hasLink(signin, "/privacy") {
		t.Errorf("the sign-in page does not link to the privacy notice:\n%s", text(signin))
	}
}

// A privacy notice gives the data protection officer's contact details where ITSS
// has one (UK GDPR Art. 13(1)(b)): the notice named none, and did not say whether
// there was one. Where ITSS has appointed none, it says so and where to write.
func TestThePrivacyNoticeSaysWhetherITSSHasADataProtectionOfficer(t *testing.T) {
	t.Parallel()
	with := startPortal(t, services{})
	main := find(parse(t, with.do("GET", "/privacy", "", nil).body), element("main"))[0]
	if !hasLink(main, "mailto:"+testDPO) {
		t.Errorf("the notice does not link to the data protection officer's address %s:\n%s", testDPO, text(main))
	}
	none := startPortal(t, services{env: map[string]string{"PORTAL_DPO_CONTACT": "none"}})
	main = find(parse(t, none.do("GET", "/privacy", "", nil).body), element("main"))[0]
	if got := text(main); !strings.Contains(got, "ITSS has not appointed a data protection officer") || strings.Contains(got, testDPO) {
		t.Errorf("with no officer, the notice does not say so, or names one:\n%s", got)
	}
}

// A privacy notice says whether people's data is sent outside the UK, and under
// what safeguards (UK GDPR Art. 13(1)(f)): the notice said nothing of where it was
// kept. It also names, as recipients, the companies ITSS uses to run the services
// (Art. 13(1)(e)). Whether any leaves the UK is the deployer's to say
// (PORTAL_TRANSFERS_OUTSIDE_UK): none, or the page that says what goes where.
func TestThePrivacyNoticeSaysWhetherDataLeavesTheUK(t *testing.T) {
	t.Parallel()
	const page = "https://www.itss.example/privacy/transfers"
	for _, c := range []struct {
		value     string
		says, not []string
		linksTo   string
	}{
		{value: "none", says: []string{"Where your data is kept", "kept and used in the UK", "None of it is sent outside the UK"},
			not: []string{"Some of your data is sent outside the UK"}},
		{value: page, says: []string{"Where your data is kept", "Some of your data is sent outside the UK", "International Data Transfer Agreement",
			"For a copy of the safeguards, email ITSS at " + testContact}, not: []string{"None of it is sent outside the UK"}, linksTo: page},
	} {
		p := startPortal(t, services{env: map[string]string{"PORTAL_TRANSFERS_OUTSIDE_UK": c.value}})
		main := find(parse(t, p.do("GET", "/privacy", "", nil).body), element("main"))[0]
		got := text(main)
		for _, want := range append(c.says, "Companies ITSS uses to run the services for it", "only on ITSS's instructions") {
			if !strings.Contains(got, want) {
				t.Errorf("PORTAL_TRANSFERS_OUTSIDE_UK=%s: the notice does not say %q:\n%s", c.value, want, got)
			}
		}
		for _, wrong := range c.not {
			if strings.Contains(got, wrong) {
				t.Errorf("PORTAL_TRANSFERS_OUTSIDE_UK=%s: the notice says %q:\n%s", c.value, wrong, got)
			}
		}
		if c.linksTo != "" && !hasLink(main, c.linksTo) {
			t.Errorf("the notice does not link to ITSS's page about the transfers %s:\n%s", c.linksTo, got)
		}
	}
	// Every environment says it: the portal does not start without it.
	overlays, err := filepath.Glob(filepath.Join("..", "..", "..", "..", "deploy", "k8s", "overlays", "*", "portal.env"))
	if err != nil || len(overlays) == 0 {
		t.Fatalf("no overlays' portal settings found: %v", err)
	}
	for _, f := range overlays {
		if v := envFile(t, f)["PORTAL_TRANSFERS_OUTSIDE_UK"]; v != "none" && !strings.HasPrefix(v, "https://") {
			t.Errorf("%s sets PORTAL_TRANSFERS_OUTSIDE_UK=%q, not none or the https address of ITSS's page about the transfers", f, v)
		}
	}
}

func hasLink(n *html.Node, href string) bool {
	for _, a := range find(n, element("a")) {
		if attr(a, "href") == href {
			return true
		}
	}
	return false
}

// The notice states the periods other services keep people's data for as the
// deployment sets them: a setting changed in deploy/k8s without the notice would
// tell people something untrue.
func TestThePrivacyNoticeStatesTheDeployedPeriods(t *testing.T) {
	t.Parallel()
	k8s := filepath.Join("..", "..", "..", "..", "deploy", "k8s")
	base := func(svc string) map[string]string {
		return envFile(t, filepath.Join(k8s, "base", "services", svc+".env"))
	}
	notify := base("notify")
	for key, d := range map[string]time.Duration{"NOTIFY_BODY_RETENTION": pages.EmailBodyRetention, "NOTIFY_LOG_RETENTION": pages.EmailLogRetention,
		"NATS_STREAM_MAX_AGE": pages.StreamRetention, "NOTIFY_IDEMPOTENCY_TTL": pages.IdempotencyRetention} {
		if got, err := time.ParseDuration(notify[key]); err != nil || got != d {
			t.Errorf("deploy sets notify's %s=%q; the privacy notice says %s", key, notify[key], d)
		}
	}
	for _, svc := range []string{"signatory", "review", "fund", "portal"} {
		if got, err := time.ParseDuration(base(svc)["NATS_STREAM_MAX_AGE"]); err != nil || got != pages.StreamRetention {
			t.Errorf("deploy sets %s's NATS_STREAM_MAX_AGE=%s; the privacy notice says %s", svc, got, pages.StreamRetention)
		}
	}
	for svc, key := range map[string]string{"signatory": "SIGNATORY_IDEMPOTENCY_TTL", "review": "REVIEW_IDEMPOTENCY_TTL", "fund": "FUND_IDEMPOTENCY_TTL"} {
		if got, err := time.ParseDuration(base(svc)[key]); err != nil || got != pages.IdempotencyRetention {
			t.Errorf("deploy sets %s=%s; the privacy notice says %s", key, got, pages.IdempotencyRetention)
		}
	}
	// No overlay sets them otherwise.
	overlays, err := filepath.Glob(filepath.Join(k8s, "overlays", "*", "*.env"))
	if err != nil || len(overlays) == 0 {
		t.Fatalf("no overlays' settings found: %v", err)
	}
	for _, f := range overlays {
		for key := range envFile(t, f) {
			if strings.HasSuffix(key, "_RETENTION") || strings.HasSuffix(key, "_IDEMPOTENCY_TTL") || key == "NATS_STREAM_MAX_AGE" {
				t.Errorf("%s sets %s, which the privacy notice states as deploy/k8s/base sets it", f, key)
			}
		}
	}
}

// envFile reads a KEY=value file as kustomize's configMapGenerator does.
func envFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path) // #nosec G304 -- a file of the repository
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
