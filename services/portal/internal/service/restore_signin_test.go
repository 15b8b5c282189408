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

// A colleague a lead removed (who could make the organisation's API tokens) came back
// with a restore of the portal's database from a backup taken before the removal, and
// could sign in and make tokens again. The removal is entered first in the register of
// removed colleagues (a stream, which a restore of the database does not reach), and
// the portal removes them again before it serves; a colleague named again after the
// removal stays.
func TestARestoreBringsBackNoColleagueTheLeadRemoved(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{env: map[string]string{"PORTAL_SIGNIN_PER_ADDRESS": "10"}})
	const org, leadEmail = "org-colleagues", "lead@colleagues.ac.uk"
	p.addLead(org, leadEmail)
	lead := p.signIn(leadEmail)
	name := func(email string) {
		t.Helper()
		if r := p.do("POST", "/organisations/"+org+"/applicants", lead, url.Values{"applicant_name": {"Colleague"}, "applicant_email": {email}}); r.status != http.StatusSeeOther {
			t.Fatalf("naming %s = %d: %s", email, r.status, r.body)
		}
	}
	remove := func(email string) {
		t.Helper()
		if r := p.do("POST", "/organisations/"+org+"/applicants/remove", lead, url.Values{"email": {email}}); r.status != http.StatusSeeOther {
			t.Fatalf("removing %s = %d: %s", email, r.status, r.body)
		}
	}
	colleague := func(q *portal, email string) bool {
		t.Helper()
		person, err := q.svc.People.Lookup(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		_, ok := person.ApplicantOf(org)
		return ok
	}
	const gone, back, kept = "gone@colleagues.ac.uk", "back@colleagues.ac.uk", "kept@colleagues.ac.uk"
	name(gone)
	name(back)
	name(kept)
	backup := testenv.BackUp(t, p.svc.DB)
	remove(gone)
	remove(back)
	p.clock.Advance(time.Second)
	name(back)
	later := testenv.BackUp(t, p.svc.DB)

	restored := startPortalOn(t, p.env, services{env: map[string]string{"MONGO_DATABASE": backup}})
	if colleague(restored, gone) || colleague(restored, back) || !colleague(restored, kept) {
		t.Errorf("after a restore of the backup taken before the removals: removed %v and %v (want both removed again), kept %v",
			!colleague(restored, gone), !colleague(restored, back), colleague(restored, kept))
	}
	if logs := restored.logs.String(); !strings.Contains(logs, `"colleagues":2`) {
		t.Errorf("the restored portal did not say it removed two colleagues again:\n%s", logs)
	}
	// The register of removed colleagues keeps an entry longer than a backup is kept.
	info, err := p.env.JS.Stream(context.Background(), events.StreamPortalRemoved)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.MaxAge; got <= 35*24*time.Hour {
		t.Errorf("%s keeps an entry %s, less than a backup is kept (35 days)", events.StreamPortalRemoved, got)
	}
	// Restored from the backup taken after "back" was named again: they stay.
	again := startPortalOn(t, p.env, services{env: map[string]string{"MONGO_DATABASE": later}})
	if colleague(again, gone) || !colleague(again, back) || !colleague(again, kept) {
		t.Errorf("after a restore of the backup taken after the colleague was named again: %v %v %v, want false true true",
			colleague(again, gone), colleague(again, back), colleague(again, kept))
	}
}

// A sign-out the register of ended sign-ins cannot take (NATS is down) changes
// nothing and says so: 503 with Retry-After, and the session is still the person's
// to sign out of once it is back; a sign-out the register lacked would come back with
// a restore. Nor is a sign-in link used up, nor a lead's colleague removed: 503 too.
func TestASignOutWithoutTheRegisterChangesNothingAndSaysSo(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{env: map[string]string{"PORTAL_SIGNIN_PER_ADDRESS": "10"}})
	const email = "nats.down@example.ac.uk"
	p.addReviewer("rev-down", "org-d", email)
	cookie := p.signIn(email)
	link := p.requestLink(email)
	const org, leadEmail, colleague = "org-down", "lead@down.ac.uk", "colleague@down.ac.uk"
	p.addLead(org, leadEmail)
	lead := p.signIn(leadEmail)
	if r := p.do("POST", "/organisations/"+org+"/applicants", lead, url.Values{"applicant_name": {"Colleague"}, "applicant_email": {colleague}}); r.status != http.StatusSeeOther {
		t.Fatalf("naming a colleague = %d", r.status)
	}
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
	// Nor is a colleague removed.
	if r := p.do("POST", "/organisations/"+org+"/applicants/remove", lead, url.Values{"email": {colleague}}); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("removing a colleague with NATS down = %d, Retry-After %q; want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	if person, err := p.svc.People.Lookup(context.Background(), colleague); err != nil {
		t.Fatal(err)
	} else if _, ok := person.ApplicantOf(org); !ok {
		t.Errorf("a removal the register did not take removed the colleague")
	}
}
