package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// opsPeopleDownload is the subject access download the console answers for email,
// decoded, after checking it is a download that is not kept.
func opsPeopleDownload(t *testing.T, s *stack, cookie, email string) map[string]any {
	t.Helper()
	r := opsMustStatus(t, s.p.do("POST", "/ops/people/access", cookie, url.Values{"email": {email}}), http.StatusOK, "the download")
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("the download is %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || strings.Contains(strings.ToLower(cd), strings.ToLower(email)) {
		t.Errorf("the download's disposition is %q", cd)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the download may be kept: Cache-Control %q", cc)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("the download is not JSON: %v: %.300s", err, r.body)
	}
	if doc["email"] != email {
		t.Errorf("the download is about %v", doc["email"])
	}
	if at, err := time.Parse(time.RFC3339, fmt.Sprint(doc["gathered_at"])); err != nil || time.Since(at) > time.Hour {
		t.Errorf("the download was gathered at %v", doc["gathered_at"])
	}
	return doc
}

// opsPeopleHeld says which services' answers in a download hold the address
// anywhere but in the answer's own "email" (the question repeated).
func opsPeopleHeld(t *testing.T, doc map[string]any, email string) map[string]bool {
	t.Helper()
	svcs, ok := doc["services"].(map[string]any)
	if !ok || len(svcs) != 5 {
		t.Fatalf("the download's services are %v", doc["services"])
	}
	held := map[string]bool{}
	for _, name := range []string{"signatory", "review", "notify", "fund", "portal"} {
		ans, ok := svcs[name].(map[string]any)
		if !ok {
			t.Fatalf("the download has no answer of %s: %v", name, svcs[name])
		}
		delete(ans, "email")
		b, _ := json.Marshal(ans)
		held[name] = strings.Contains(strings.ToLower(string(b)), strings.ToLower(email))
	}
	return held
}

// The console's download joins what signatory, review, notify and fund hold about
// a lead into one document; erasing the lead through the console (after typing the
// address again) names the organisation that now needs a new nominated lead, and a
// second download finds nothing of them. The address is in no URL and no log line.
func TestOpsPeopleDownloadThenErase(t *testing.T) {
	t.Parallel()
	s := startStack(t, true)
	const lead = "Lead-P@Example.ac.uk"
	org := onboard(t, s.p, s.sig, "University of Peopleton", "lead-p@example.ac.uk")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	page := opsMustStatus(t, s.p.do("GET", "/ops/people", ops, nil), http.StatusOK, "the people page")
	if h := h1(t, page.body); h != "A person's data" {
		t.Errorf("the people page is headed %q", h)
	}
	// The lead signs in and names a colleague who may make API tokens: the portal
	// records the colleague by the lead's pseudonym, not their address.
	leadCookie := s.p.signIn("lead-p@example.ac.uk")
	opsMustStatus(t, s.p.do("POST", "/organisations/"+org+"/applicants", leadCookie, url.Values{"applicant_name": {"Cam Colleague"}, "applicant_email": {"cam@example.ac.uk"}}),
		http.StatusSeeOther, "naming a colleague")
	// Notify learns of the lead from signatory's events: wait until it has.
	var doc map[string]any
	testenv.Eventually(t, 15*time.Second, func() error {
		doc = opsPeopleDownload(t, s, ops, lead)
		if held := opsPeopleHeld(t, doc, lead); !held["signatory"] || !held["notify"] || !held["portal"] {
			return fmt.Errorf("the download holds the lead in %v", held)
		}
		return nil
	})
	// What the portal holds is in the download too: the lead's record, and that they
	// named a colleague (found by their pseudonym), who is another person: the
	// colleague's name and address are theirs, not the lead's, to be given.
	portal, _ := json.Marshal(doc["services"].(map[string]any)["portal"])
	if !strings.Contains(string(portal), `"collection":"leads"`) || !strings.Contains(string(portal), `"collection":"applicants"`) ||
		!strings.Contains(string(portal), personal.AnotherPerson) {
		t.Errorf("the portal's part of the download: %s", portal)
	}
	if all, _ := json.Marshal(doc); strings.Contains(string(all), "cam@example.ac.uk") || strings.Contains(string(all), "Cam Colleague") {
		t.Errorf("the lead's download holds the colleague they named: %s", portal)
	}
	// The download is read by the person it is about: no service's part, nor the
	// portal's, gives a document as stored, with its key and MongoDB's wrappers.
	if stored := storedKeys(doc, ""); len(stored) > 0 {
		t.Errorf("the download gives documents as stored: %v", stored)
	}

	// The sign-in email sent to the lead is in notify's log before the erasure.
	testenv.Eventually(t, 15*time.Second, func() error {
		if page := s.p.do("GET", "/ops/email", ops, nil); page.status != http.StatusOK || !strings.Contains(page.body, "Sign-in link") {
			return fmt.Errorf("the email log does not list the lead's sign-in email: %d", page.status)
		}
		return nil
	})
	// The erasure asks for the address again; a different one erases nobody.
	confirm := opsMustStatus(t, s.p.do("POST", "/ops/people/erasure", ops, url.Values{"email": {lead}}), http.StatusOK, "the confirmation")
	if !strings.Contains(confirm.body, lead) || !strings.Contains(confirm.body, "cannot be undone") {
		t.Errorf("the confirmation does not say whom and what: %.500s", confirm.body)
	}
	r := opsMustStatus(t, s.p.do("POST", "/ops/people/erasures", ops, url.Values{"email": {lead}, "confirm": {"lead-q@example.ac.uk"}}), http.StatusBadRequest, "an erasure confirmed with another address")
	if msg := opsFieldMessage(t, r.body, "confirm"); msg == "" {
		t.Errorf("a different address shows no error beside the confirmation: %.500s", r.body)
	}
	if held := opsPeopleHeld(t, opsPeopleDownload(t, s, ops, lead), lead); !held["signatory"] {
		t.Fatalf("an unconfirmed erasure erased the lead: %v", held)
	}

	// The confirmation's form pressed twice erases once, and the second answer, which
	// the browser shows, still names the organisation that needs a new lead. Each
	// answer redirects to the page of the result, which names nobody, so that
	// reloading it, or going Back to it, sends nothing again.
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(confirm.body)
	if key == nil {
		t.Fatalf("the confirmation's form carries no key: %.800s", confirm.body)
	}
	sent := url.Values{"email": {lead}, "confirm": {strings.ToLower(lead)}, "key": {key[1]}}
	for _, press := range []string{"the erasure", "the erasure pressed again"} {
		erased := opsMustStatus(t, s.p.do("POST", "/ops/people/erasures", ops, sent), http.StatusSeeOther, press)
		result := erased.header.Get("Location")
		if !strings.HasPrefix(result, "/ops/people/erasures/") || strings.Contains(result, "example") {
			t.Fatalf("%s redirects to %q, want the page of its result", press, result)
		}
		done := opsMustStatus(t, s.p.do("GET", result, withOutcome(t, ops, erased), nil), http.StatusOK, press+"'s result")
		if strings.Contains(done.body, lead) {
			t.Errorf("%s: the result names the person erased", press)
		}
		if gone := s.p.do("GET", result, ops, nil); gone.status != http.StatusNotFound || strings.Contains(gone.body, "Peopleton") {
			t.Errorf("%s: the result in another browser = %d: %.500s", press, gone.status, gone.body)
		}
		if !strings.Contains(done.body, "University of Peopleton") || !strings.Contains(done.body, "/ops/organisations/"+org) || !strings.Contains(done.body, "Needs a new nominated lead") {
			t.Errorf("%s: the result does not name the organisation that needs a new lead: %.800s", press, done.body)
		}
		// One organisation of one: "It now needs", not "1 of them now need".
		if !strings.Contains(shownText(t, done.body), "It now needs a new nominated lead: ask the organisation to name one.") {
			t.Errorf("%s: the result does not say in words that the organisation needs a new lead: %.800s", press, shownText(t, done.body))
		}
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		for name, has := range opsPeopleHeld(t, opsPeopleDownload(t, s, ops, lead), lead) {
			if has {
				return fmt.Errorf("after the erasure %s still holds the lead", name)
			}
		}
		return nil
	})
	// The emails sent to the lead stay in the log without them, and every console
	// page that lists the log still opens (the log's erased recipients once made the
	// email pages an error page for everyone).
	for _, page := range []string{"/ops", "/ops/email", "/ops/email?organisation=" + org, "/ops/organisations/" + org, "/ops/email/reminders"} {
		opsMustStatus(t, s.p.do("GET", page, ops, nil), http.StatusOK, page+" after the erasure")
	}
	if logs := strings.ToLower(s.p.logs.String()); strings.Contains(logs, "lead-p@example") {
		t.Errorf("the portal logged the address")
	}
}

// A bad address gets an error beside the field and calls no service: here review
// is not running, so a call would have been answered "review did not answer". And
// a download missing a service is not offered as complete: the page names it.
func TestOpsPeopleBadEmailAndAServiceDown(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	for _, path := range []string{"/ops/people/access", "/ops/people/erasure", "/ops/people/erasures"} {
		for _, bad := range []string{"", "not-an-address", "a@b@c", strings.Repeat("x", 250) + "@example.ac.uk"} {
			r := opsMustStatus(t, s.p.do("POST", path, ops, url.Values{"email": {bad}, "confirm": {bad}}), http.StatusBadRequest, "POST "+path+" "+bad)
			if opsFieldMessage(t, r.body, "email") == "" || strings.Contains(r.body, "did not answer") || r.header.Get("Content-Disposition") != "" {
				t.Errorf("POST %s with %q: no field error, or a service was called: %.500s", path, bad, r.body)
			}
		}
	}
	r := opsMustStatus(t, s.p.do("POST", "/ops/people/access", ops, url.Values{"email": {"lead-x@example.ac.uk"}}), http.StatusBadGateway, "a download with review down")
	if r.header.Get("Content-Disposition") != "" || !strings.Contains(r.body, "the review service did not answer") {
		t.Errorf("a download without review's answer: %v %.600s", r.header, r.body)
	}
	for _, other := range []string{"signatory", "notify", "fund"} {
		if strings.Contains(r.body, "the "+other) {
			t.Errorf("the page says %s did not answer", other)
		}
	}
	// Cross-origin posts are refused before anything is done.
	for _, path := range []string{"/ops/people/access", "/ops/people/erasures"} {
		if r := s.p.do("POST", path, ops, url.Values{"email": {"lead-x@example.ac.uk"}, "confirm": {"lead-x@example.ac.uk"}}, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
			t.Errorf("a cross-site POST %s = %d", path, r.status)
		}
	}
	if strings.Contains(strings.ToLower(s.p.logs.String()), "lead-x@example") {
		t.Errorf("the portal logged the address")
	}
}

// storedKeys lists the keys, at any depth of v, that only a document as stored has:
// its "_id", and extended JSON's wrappers ("$date", "$binary").
func storedKeys(v any, at string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "_id" || strings.HasPrefix(k, "$") {
				out = append(out, at+"."+k)
			}
			out = append(out, storedKeys(e, at+"."+k)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, storedKeys(e, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return out
}
