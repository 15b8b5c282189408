package service

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// TestARestoreBringsBackNoSignOutAndNoUsedLink: the portal's database is backed up
// while a person has two sessions and an unused sign-in link; then they sign out of
// one session and use the link. A portal started on the database restored from the
// backup held the signed-out session good again and let the link sign in a second
// time. Each ending is entered in the register of ended sign-ins (a stream, which a
// restore of the database does not reach), from which the portal ends them again
// before it serves: the session signed out and the link are refused, the other
// session still works.
func TestARestoreBringsBackNoSignOutAndNoUsedLink(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{env: map[string]string{"PORTAL_SIGNIN_PER_ADDRESS": "10"}})
	const email = "restored@example.ac.uk"
	p.addReviewer("rev-restored", "org-r", email)
	out, kept := p.signIn(email), p.signIn(email)
	link := p.requestLink(email)
	backup := testenv.BackUp(t, p.svc.DB)

	if r := p.do("POST", "/signout", out, url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("sign out = %d", r.status)
	}
	if r := p.do("POST", link, "", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("the link's sign-in = %d: %s", r.status, r.body)
	}

	restored := startPortalOn(t, p.env, services{env: map[string]string{"MONGO_DATABASE": backup}})
	if r := restored.do("GET", "/account", out, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Errorf("the session signed out since the backup, after a restore: %d to %q, want 303 to /signin", r.status, r.header.Get("Location"))
	}
	if r := restored.do("POST", link, "", url.Values{}); r.status != http.StatusGone {
		t.Errorf("the link used since the backup, after a restore: %d, want 410", r.status)
	}
	if r := restored.do("GET", "/account", kept, nil); r.status != http.StatusOK {
		t.Errorf("the session still signed in, after a restore: %d, want 200", r.status)
	}
	if logs := restored.logs.String(); !strings.Contains(logs, "sign-ins ended again after a restore") || !strings.Contains(logs, `"sessions":1`) ||
		!strings.Contains(logs, `"links":1`) {
		t.Errorf("the restored portal did not say what it ended again:\n%s", logs)
	}
	// The register keeps an entry longer than any session lasts, and no longer.
	info, err := p.env.JS.Stream(context.Background(), events.StreamPortalEnded)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.MaxAge; got != events.PortalEndedMaxAge || got <= 24*time.Hour {
		t.Errorf("%s keeps an entry %s, want %s (more than the longest session, 24h)", events.StreamPortalEnded, got, events.PortalEndedMaxAge)
	}
	// A later start, and a portal whose database was never restored, end nothing.
	for name, db := range map[string]string{"the restored database again": backup, "the live database": p.svc.DB.Name()} {
		again := startPortalOn(t, p.env, services{env: map[string]string{"MONGO_DATABASE": db}})
		if strings.Contains(again.logs.String(), "ended again") {
			t.Errorf("a start on %s ended sign-ins again", name)
		}
	}
	if r := p.do("GET", "/account", kept, nil); r.status != http.StatusOK {
		t.Errorf("the live portal's session after the other starts: %d, want 200", r.status)
	}
}

// A sign-out the register of ended sign-ins cannot take (NATS is down) changes
// nothing and says so: 503 with Retry-After, and the session is still the person's
// to sign out of once it is back; a sign-out the register lacked would come back with
// a restore. Nor is a sign-in link used up: 503 too.
func TestASignOutWithoutTheRegisterChangesNothingAndSaysSo(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{env: map[string]string{"PORTAL_SIGNIN_PER_ADDRESS": "10"}})
	const email = "nats.down@example.ac.uk"
	p.addReviewer("rev-down", "org-d", email)
	cookie := p.signIn(email)
	link := p.requestLink(email)
	p.env.NATS.Stop()

	r := p.do("POST", "/signout", cookie, url.Values{})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("sign out with NATS down = %d, Retry-After %q; want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	if shown := shownText(t, r.body); !strings.Contains(shown, "not available at the moment") {
		t.Errorf("sign out with NATS down says: %s", shown)
	}
	if r := p.do("GET", "/account", cookie, nil); r.status != http.StatusOK {
		t.Errorf("the session after a sign-out that failed: %d, want 200 (still signed in, and told so)", r.status)
	}
	if r := p.do("POST", link, "", url.Values{}); r.status != http.StatusServiceUnavailable {
		t.Errorf("a sign-in link used with NATS down = %d, want 503", r.status)
	}
}
