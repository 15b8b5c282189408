package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/oidcdev"
)

// Portal pages: every page a person of each kind reaches, timed on a stack of its own
// holding a realistic history (organisations announced, a reviewer pool, review rounds
// with submissions, assignments, reviews and released feedback), each person signed in
// through the portal's real sign-in: the emailed one-time link for leads and reviewers,
// the OpenID provider's login form for ITSS staff.

// pagesSection starts the report's section; -pages-only replaces just it.
const pagesSection = "## Portal pages"

// pageTarget is the acceptance line of the portal: server time per page, p95.
const pageTarget = 50 * time.Millisecond

// pageWarmUp requests of each page go untimed before its samples: a page's first
// answer after a restart is the read scaling's business, not this table's.
const pageWarmUp = 2

// visitorKind is who reaches a page.
type visitorKind string

const (
	visitorPublic   visitorKind = "public"
	visitorLead     visitorKind = "lead"
	visitorReviewer visitorKind = "reviewer"
	visitorOps      visitorKind = "ops"
)

// page is one page to time: who reaches it, with which address, and what it answers
// (200 unless it redirects).
type page struct {
	who    visitorKind
	name   string
	path   string
	status int
}

// pageIDs are the records the timed pages name.
type pageIDs struct {
	org          string // the signed-in lead's organisation
	feedback     string // its submission whose feedback was released
	draft        string // its next cycle's draft
	round        string // a round the signed-in reviewer is assigned in
	roundSub     string // a submission assigned to them there
	search       string // a name that the directory search finds
	signinSecret string // a sign-in link not yet used
	application  string // the lead's organisation's fund application
	reviewer     string // the signed-in reviewer's id
}

// portalPages is every page of the portal a person reaches, one line a page, in the
// order they are timed: a new page is timed by adding its line here.
func portalPages(id pageIDs) []page {
	return []page{
		{visitorPublic, "home", "/", http.StatusOK},
		{visitorPublic, "sign-in form", "/signin", http.StatusOK},
		{visitorPublic, "a sign-in link's page", "/signin/" + id.signinSecret, http.StatusOK},
		{visitorPublic, "directory", "/directory", http.StatusOK},
		{visitorPublic, "directory, searching a name", "/directory?name=" + url.QueryEscape(id.search), http.StatusOK},
		{visitorPublic, "directory, signatories", "/directory?kind=signatory", http.StatusOK},
		{visitorPublic, "open fund rounds", "/fund/rounds", http.StatusOK},
		{visitorLead, "account", "/account", http.StatusOK},
		{visitorLead, "organisation and obligations", "/obligations/" + id.org, http.StatusOK},
		{visitorLead, "released feedback", "/obligations/" + id.org + "/feedback/" + id.feedback, http.StatusOK},
		{visitorLead, "submission editor (next cycle's draft)", "/obligations/" + id.org + "/submission", http.StatusOK},
		{visitorLead, "submission editor, new action item", "/obligations/" + id.org + "/submission/items/new", http.StatusOK},
		{visitorLead, "submission editor, an action item", "/obligations/" + id.org + "/submission/items/0", http.StatusOK},
		{visitorLead, "contacts", "/obligations/" + id.org + "/contacts", http.StatusOK},
		{visitorLead, "fund applications", "/organisations/" + id.org + "/fund", http.StatusOK},
		{visitorLead, "a fund application", "/organisations/" + id.org + "/fund/" + id.application, http.StatusOK},
		{visitorLead, "a fund email's link", "/fund/applications/" + id.application, http.StatusSeeOther},
		{visitorLead, "API tokens", "/organisations/" + id.org + "/tokens", http.StatusOK},
		{visitorReviewer, "account", "/account", http.StatusOK},
		{visitorReviewer, "review assignments", "/reviews", http.StatusOK},
		{visitorReviewer, "a review (the assignment email's link)", "/reviews/" + id.round + "/" + id.roundSub, http.StatusOK},
		{visitorOps, "account", "/account", http.StatusOK},
		{visitorOps, "console: today", "/ops", http.StatusOK},
		{visitorOps, "console: organisations", "/ops/organisations", http.StatusOK},
		{visitorOps, "console: an organisation", "/ops/organisations/" + id.org, http.StatusOK},
		{visitorOps, "console: fund rounds", "/ops/fund", http.StatusOK},
		{visitorOps, "console: fund applications", "/ops/fund/applications", http.StatusOK},
		{visitorOps, "console: a fund application", "/ops/fund/applications/" + id.application, http.StatusOK},
		{visitorOps, "console: review rounds", "/ops/review", http.StatusOK},
		{visitorOps, "console: a review round", "/ops/review/rounds/" + id.round, http.StatusOK},
		{visitorOps, "console: a submission in review", "/ops/review/rounds/" + id.round + "/submissions/" + id.roundSub, http.StatusOK},
		{visitorOps, "console: reviewer pool", "/ops/review/reviewers", http.StatusOK},
		{visitorOps, "console: a reviewer", "/ops/review/reviewers/" + id.reviewer, http.StatusOK},
		{visitorOps, "console: email log", "/ops/email", http.StatusOK},
		{visitorOps, "console: reminders", "/ops/email/reminders", http.StatusOK},
		{visitorOps, "console: dead letters", "/ops/dead-letters", http.StatusOK},
		{visitorOps, "console: API tokens", "/ops/api-tokens", http.StatusOK},
	}
}

// pageScale is the data set the pages are timed on.
type pageScale struct {
	orgs, reviewers, rounds int
}

// pageRow is one page's figures.
type pageRow struct {
	page
	client, server latency // server: the portal's own log of each request, in whole ms
	// rows is how many table rows (header rows included) the page showed: a list that
	// fills its page on the large set may show fewer on the small one.
	rows int
	// failure says why the page was not timed: it answered other than it should.
	failure string
}

// pageFigures are the portal pages' results.
type pageFigures struct {
	scale    pageScale
	samples  int
	seeded   time.Duration
	rows     []pageRow
	opsNote  string // why ops pages are missing, when they are
	load     string // the machine's load averages as the pages were timed
	reviewer int    // the signed-in reviewer's assignments
	// small is the same pages on a data set a tenth the size (issue 22: a page's
	// cost follows what it shows, not the history), by who and name; nil when not run.
	small      map[string]pageRow
	smallScale pageScale
}

// rowKey names a page across the two data sets.
func rowKey(p page) string { return string(p.who) + " " + p.name }

// pageTimings times every page on a data set of scale and, when scaling, first on one
// a tenth its size, each on a stack of its own.
func pageTimings(ctx context.Context, bin string, offset int, scale pageScale, samples int, scaling bool) (pageFigures, error) {
	f := pageFigures{}
	if scaling {
		f.smallScale = pageScale{orgs: max(1, scale.orgs/10), reviewers: max(2, scale.reviewers/10), rounds: scale.rounds}
		small, err := pagesAt(ctx, bin, offset, f.smallScale, samples)
		if err != nil {
			return f, err
		}
		f.small = map[string]pageRow{}
		for _, r := range small.rows {
			f.small[rowKey(r.page)] = r
		}
	}
	large, err := pagesAt(ctx, bin, offset, scale, samples)
	if err != nil {
		return f, err
	}
	large.small, large.smallScale = f.small, f.smallScale
	return large, nil
}

// pagesAt seeds a stack of its own with scale and times every page.
func pagesAt(ctx context.Context, bin string, offset int, scale pageScale, samples int) (pageFigures, error) {
	f := pageFigures{scale: scale, samples: samples}
	data, err := os.MkdirTemp("", "tc-bench-pages-")
	if err != nil {
		return f, err
	}
	defer os.RemoveAll(data)
	// The portal logs each request with its duration at level info.
	s, err := startStack(ctx, bin, data, offset, nil, "LOG_LEVEL=info")
	if err != nil {
		return f, err
	}
	defer s.stop()
	c, err := newClient(data, s)
	if err != nil {
		return f, err
	}
	began := time.Now()
	h, err := seedHistory(ctx, c, scale)
	if err != nil {
		return f, fmt.Errorf("seed the history: %w", err)
	}
	f.seeded = time.Since(began)
	fmt.Printf("pages: seeded %d organisations, %d reviewers, %d review rounds in %s\n", scale.orgs, scale.reviewers, scale.rounds, f.seeded.Round(time.Second))

	portal := s.url(8080)
	mail := s.url(8025) + "/api/v1"
	visitors := map[visitorKind]*http.Client{visitorPublic: pageClient(nil)}
	if visitors[visitorLead], err = signInByLink(ctx, portal, mail, h.leadEmail); err != nil {
		return f, fmt.Errorf("sign in as the lead: %w", err)
	}
	if visitors[visitorReviewer], err = signInByLink(ctx, portal, mail, h.reviewerEmail); err != nil {
		return f, fmt.Errorf("sign in as the reviewer: %w", err)
	}
	f.reviewer = h.reviewerLoad
	if visitors[visitorOps], err = signInAsOps(ctx, portal, filepath.Join(data, "oidc-dev.json")); err != nil {
		f.opsNote = err.Error()
		fmt.Printf("pages: ops pages not timed: %v\n", err)
	}
	// A link of its own for its page: opening it does not use it up.
	secret, err := requestLink(ctx, portal, mail, h.leadEmail, pageClient(nil))
	if err != nil {
		return f, err
	}
	h.ids.signinSecret = secret

	f.load = loadAverage()
	for _, p := range portalPages(h.ids) {
		hc, ok := visitors[p.who]
		if !ok {
			continue
		}
		row, err := timePage(ctx, s, hc, portal, p, samples)
		if err != nil {
			// One page that fails does not stop the others being timed; the report says so.
			fmt.Printf("pages: %v\n", err)
			row = pageRow{page: p, failure: err.Error()}
		}
		f.rows = append(f.rows, row)
		fmt.Printf("pages: %d organisations: %s: %s: client p50 %s p95 %s; portal p50 %s p95 %s\n", scale.orgs, p.who, p.name,
			short(row.client.p50), short(row.client.p95), row.server.p50, row.server.p95)
	}
	return f, nil
}

// loadAverage is the machine's load over 1, 5 and 15 minutes, as /proc/loadavg says:
// the machines are shared, and a busy one slows every page.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], ", ")
	}
	return "unknown"
}

// pageClient is a visitor's browser: it keeps cookies and does not follow redirects,
// so that each timed request is one page.
func pageClient(jar http.CookieJar) *http.Client {
	if jar == nil {
		jar, _ = cookiejar.New(nil)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// timePage times samples sequential GETs of a page from the client, and reads the
// portal's own duration of each from its log.
func timePage(ctx context.Context, s *stack, hc *http.Client, portal string, p page, samples int) (pageRow, error) {
	mark := s.logs.Len()
	var ds []time.Duration
	rows := 0
	for i := range pageWarmUp + samples {
		began := time.Now()
		code, body, err := get(ctx, hc, portal+p.path)
		rows = strings.Count(body, "<tr")
		if err != nil {
			return pageRow{}, fmt.Errorf("%s %s: %w", p.who, p.name, err)
		}
		if code != p.status {
			return pageRow{}, fmt.Errorf("%s %s: GET %s answered %d, want %d: %.500s", p.who, p.name, p.path, code, p.status, body)
		}
		if i >= pageWarmUp {
			ds = append(ds, time.Since(began))
		}
	}
	// The log reaches the buffer through tcdev a moment after the answer.
	var server []time.Duration
	for deadline := time.Now().Add(5 * time.Second); ; {
		all := portalRequests(s.logs.From(mark))
		if len(all) >= pageWarmUp+samples || time.Now().After(deadline) {
			if len(all) > pageWarmUp {
				for _, r := range all[pageWarmUp:min(len(all), pageWarmUp+samples)] {
					server = append(server, r.took)
				}
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return pageRow{page: p, client: distribution(ds, 0), server: distribution(server, samples-len(server)), rows: rows}, nil
}

func get(ctx context.Context, hc *http.Client, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// portalRequest is one line of the portal's access log.
type portalRequest struct {
	method, route string
	status        int
	took          time.Duration
}

// portalRequests reads the portal's access log lines ("request", with its route and
// duration_ms) out of the stack's output, where tcdev prefixes each line with the
// process's name.
func portalRequests(logs string) []portalRequest {
	var out []portalRequest
	for _, line := range strings.Split(logs, "\n") {
		name, rest, ok := strings.Cut(line, "|")
		if !ok || strings.TrimSpace(name) != "portal" {
			continue
		}
		var e struct {
			Msg        string   `json:"msg"`
			Method     string   `json:"method"`
			Route      string   `json:"route"`
			Status     int      `json:"status"`
			DurationMS *float64 `json:"duration_ms"`
		}
		if json.Unmarshal([]byte(strings.TrimSpace(rest)), &e) != nil || e.Msg != "request" || e.DurationMS == nil {
			continue
		}
		out = append(out, portalRequest{method: e.Method, route: e.Route, status: e.Status, took: time.Duration(*e.DurationMS * float64(time.Millisecond))})
	}
	return out
}

// --- signing in ---

// signInByLink signs a lead or reviewer in as a person does: asks for a link, reads
// the email Mailpit caught, opens the link and presses its button.
func signInByLink(ctx context.Context, portal, mail, email string) (*http.Client, error) {
	hc := pageClient(nil)
	secret, err := requestLink(ctx, portal, mail, email, hc)
	if err != nil {
		return nil, err
	}
	if code, body, err := get(ctx, hc, portal+"/signin/"+secret); err != nil || code != http.StatusOK {
		return nil, fmt.Errorf("open the sign-in link: %d %v %.300s", code, err, body)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, portal+"/signin/"+secret, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		return nil, fmt.Errorf("use the sign-in link: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return hc, nil
}

// signinLink finds a sign-in link's secret in an email's text.
var signinLink = regexp.MustCompile(`https?://[^\s/]+/signin/([A-Za-z0-9_-]+)`)

// requestLink asks the portal for a sign-in link for email and returns its secret,
// from the newest email to that address in Mailpit holding one it had not seen.
func requestLink(ctx context.Context, portal, mail, email string, hc *http.Client) (string, error) {
	seen := map[string]bool{}
	for _, id := range mailTo(ctx, mail, email) {
		seen[id] = true
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, portal+"/signin", strings.NewReader(url.Values{"email": {email}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ask for a sign-in link: %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		for _, id := range mailTo(ctx, mail, email) {
			if seen[id] {
				continue
			}
			seen[id] = true
			var msg struct {
				Text string `json:"Text"`
			}
			if err := getJSON(ctx, mail+"/message/"+id, &msg); err != nil {
				return "", err
			}
			if m := signinLink.FindStringSubmatch(msg.Text); m != nil {
				return m[1], nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("no sign-in email reached %s within a minute", email)
}

// mailTo lists the ids of the messages Mailpit holds for an address, newest first.
func mailTo(ctx context.Context, mail, email string) []string {
	var found struct {
		Messages []struct {
			ID string `json:"ID"`
		} `json:"messages"`
	}
	if getJSON(ctx, mail+"/search?query="+url.QueryEscape("to:"+email), &found) != nil {
		return nil
	}
	ids := make([]string, 0, len(found.Messages))
	for _, m := range found.Messages {
		ids = append(ids, m.ID)
	}
	return ids
}

func getJSON(ctx context.Context, u string, into any) error {
	code, body, err := get(ctx, http.DefaultClient, u)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %.300s", u, code, body)
	}
	return json.Unmarshal([]byte(body), into)
}

var (
	loginAction    = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	loginRequestID = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)
)

// signInAsOps signs the local ops user in through the stack's OpenID provider: the
// portal's redirect to it, its login form, and its redirects back to the portal.
func signInAsOps(ctx context.Context, portal, secretsFile string) (*http.Client, error) {
	secrets, err := oidcdev.LoadOrCreateLocal(secretsFile)
	if err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	// The way through the provider follows redirects; the timed pages do not.
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, portal+"/signin/ops", nil)
	resp, err := browser.Do(req)
	if err != nil {
		return nil, err
	}
	loginPage := resp.Request.URL
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	action, reqID := loginAction.FindSubmatch(body), loginRequestID.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || action == nil || reqID == nil {
		return nil, fmt.Errorf("the provider showed no login form: %d %.300s", resp.StatusCode, body)
	}
	// The form's action is relative to the provider's login page.
	target := loginPage.ResolveReference(&url.URL{Path: string(action[1])})
	form := url.Values{"authRequestID": {string(reqID[1])}, "email": {oidcdev.LocalOpsEmail}, "password": {secrets.OpsPassword}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = browser.Do(req); err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/account" {
		return nil, fmt.Errorf("the ops sign-in ended at %s with %d", resp.Request.URL.Path, resp.StatusCode)
	}
	return pageClient(jar), nil
}

// --- the history ---

// history is what seedHistory made, for the pages to name.
type history struct {
	ids           pageIDs
	leadEmail     string
	reviewerEmail string
	reviewerLoad  int
}

// poolMember is one reviewer of the seeded pool.
type poolMember struct{ id, org, email string }

// seedHistory builds the data set on top of seed's (organisations announced, each
// with a fund application): a reviewer pool, each organisation's first submission
// drafted, revised and submitted, review rounds taking a share of them each, where
// reviewers accept and review; every round but the last is closed and its feedback
// released, the last is under way. Then each organisation drafts its next cycle.
func seedHistory(ctx context.Context, c *client, scale pageScale) (*history, error) {
	// The review history is this function's own: seed's (one round, for the review
	// reads) is left out.
	ds, err := seed(ctx, c, scale.orgs, services{"signatory": true, "fund": true, "notify": true})
	if err != nil {
		return nil, err
	}
	rev := c.s.url(8082)
	ops, err := c.issuer.MintFor(auth.Principal{Subject: "pages-ops", Role: auth.RoleOps}, time.Hour, "tc-review")
	if err != nil {
		return nil, err
	}
	leadToken := map[string]string{}
	for _, org := range ds.orgs {
		if leadToken[org], err = c.issuer.MintFor(auth.Principal{Subject: "lead-" + org, Role: auth.RoleLead, Org: org}, time.Hour, "tc-review"); err != nil {
			return nil, err
		}
	}

	// The pool: volunteers from the organisations, each with a theme or two.
	themes := []string{"visibility", "recognition", "career_development", "sustainability"}
	pool := make([]poolMember, scale.reviewers)
	err = parallel(ctx, scale.reviewers, func(i int) error {
		org := ds.orgs[i%len(ds.orgs)]
		m := poolMember{id: fmt.Sprintf("rev-%04d", i), org: org, email: fmt.Sprintf("r%d@reviewers.example.ac.uk", i)}
		pool[i] = m
		// The review service may not have learned of every announcement yet.
		return registerReviewer(ctx, c, rev, map[string]any{"reviewer_id": m.id, "name": fmt.Sprintf("Reviewer %d", i),
			"email": m.email, "organisation_id": org, "themes": []string{themes[i%4], themes[(i+1)%4]}, "trained": true, "capacity": 3, "conflicts": []string{}})
	})
	if err != nil {
		return nil, fmt.Errorf("reviewer pool: %w", err)
	}

	// Each organisation's first cycle: drafted (the review service learns of the
	// announcement a moment after it), revised once, submitted.
	first := make([]string, len(ds.orgs))
	err = parallel(ctx, len(ds.orgs), func(i int) error {
		org := ds.orgs[i]
		m, err := sendUntil(ctx, http.MethodPost, rev+"/v1/submissions", leadToken[org], submissionBody(org, 1, 3), http.StatusCreated)
		if err != nil {
			return err
		}
		first[i] = m["id"].(string)
		if _, err := sendOK(ctx, http.MethodPut, rev+"/v1/submissions/"+first[i], leadToken[org], submissionBody(org, 1, 6)); err != nil {
			return err
		}
		_, err = sendOK(ctx, http.MethodPost, rev+"/v1/submissions/"+first[i]+"/submit", leadToken[org], nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("first submissions: %w", err)
	}

	// The review rounds, oldest first, each taking its share of the submissions.
	poolByID := map[string]poolMember{}
	for _, m := range pool {
		poolByID[m.id] = m
	}
	load := map[string]int{}
	type assigned struct{ round, sub, reviewer string }
	var latest []assigned
	var released [][2]string // round, submission whose feedback was released
	// Every round has a submission at least, however small the set.
	rounds := min(scale.rounds, len(first))
	for r := range rounds {
		round, err := sendOK(ctx, http.MethodPost, rev+"/v1/review-rounds", ops, map[string]any{"name": fmt.Sprintf("Review round %d", r+1),
			"review_deadline": time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)})
		if err != nil {
			return nil, err
		}
		roundID := round["id"].(string)
		var subs []string
		for i := r; i < len(first); i += rounds {
			subs = append(subs, first[i])
		}
		if _, err := sendOK(ctx, http.MethodPost, rev+"/v1/review-rounds/"+roundID+"/submissions", ops, map[string]any{"submission_ids": subs}); err != nil {
			return nil, err
		}
		report, err := sendOK(ctx, http.MethodPost, rev+"/v1/review-rounds/"+roundID+"/automatic-assignments", ops, map[string]any{"reviewers_per_submission": 2})
		if err != nil {
			return nil, err
		}
		var work []assigned
		as, _ := report["round"].(map[string]any)["assignments"].([]any)
		for _, a := range as {
			a := a.(map[string]any)
			work = append(work, assigned{roundID, a["submission_id"].(string), a["reviewer_id"].(string)})
			load[a["reviewer_id"].(string)]++
		}
		last := r == rounds-1
		err = parallel(ctx, len(work), func(i int) error {
			w := work[i]
			// In the round under way, a third are still waiting for an answer and a
			// third accepted without a review yet.
			if last && i%3 == 0 {
				return nil
			}
			m := poolByID[w.reviewer]
			tok, err := c.issuer.MintFor(auth.Principal{Subject: m.id, Role: auth.RoleReviewer, Org: m.org}, time.Hour, "tc-review")
			if err != nil {
				return err
			}
			base := rev + "/v1/review-rounds/" + w.round + "/submissions/" + w.sub
			if _, err := sendOK(ctx, http.MethodPost, base+"/response", tok, map[string]any{"accept": true}); err != nil {
				return err
			}
			if last && i%3 == 1 {
				return nil
			}
			_, err = sendOK(ctx, http.MethodPost, base+"/reviews", tok, reviewBody(i))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("round %d reviews: %w", r+1, err)
		}
		if last {
			latest = work
			break
		}
		if _, err := sendOK(ctx, http.MethodPost, rev+"/v1/review-rounds/"+roundID+"/close", ops, map[string]any{"reason": "Every review is in"}); err != nil {
			return nil, err
		}
		err = parallel(ctx, len(subs), func(i int) error {
			_, err := sendOK(ctx, http.MethodPost, rev+"/v1/review-rounds/"+roundID+"/submissions/"+subs[i]+"/feedback", ops, map[string]any{
				"feedback": "The reviewers commend the award scheme and the survey of technicians.\n\nThey suggest involving technicians in promotion panels, and publishing the plan's progress each year."})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("round %d feedback: %w", r+1, err)
		}
		for _, s := range subs {
			released = append(released, [2]string{roundID, s})
		}
	}

	// The next cycle, drafted once the review service has the obligation the first
	// submission opened.
	second := make([]string, len(ds.orgs))
	err = parallel(ctx, len(ds.orgs), func(i int) error {
		m, err := sendUntil(ctx, http.MethodPost, rev+"/v1/submissions", leadToken[ds.orgs[i]], submissionBody(ds.orgs[i], 2, 4), http.StatusCreated)
		if err == nil {
			second[i] = m["id"].(string)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("second cycle drafts: %w", err)
	}
	if _, err = caughtUp(ctx, fmt.Sprintf("nats://127.0.0.1:%d", 4222+c.s.offset), 10*time.Minute); err != nil {
		return nil, err
	}
	if err := quiet(ctx, c); err != nil {
		return nil, err
	}

	h := &history{}
	// The lead: an organisation whose first cycle's feedback is out.
	if len(released) > 0 {
		sub := released[len(released)/2][1]
		h.ids.feedback = sub
		h.ids.org = ds.orgs[slices.Index(first, sub)]
	} else {
		h.ids.org = ds.orgs[len(ds.orgs)/2]
	}
	h.leadEmail = leadOf(h.ids.org)
	h.ids.draft = second[slices.Index(ds.orgs, h.ids.org)]
	h.ids.search = orgName(slices.Index(ds.orgs, h.ids.org))
	// The reviewer: the busiest over the rounds, with an assignment in the latest.
	best := ""
	for _, w := range latest {
		if best == "" || load[w.reviewer] > load[best] {
			best = w.reviewer
			h.ids.round, h.ids.roundSub = w.round, w.sub
		}
	}
	if best == "" {
		return nil, errors.New("the latest round has no assignment")
	}
	h.reviewerEmail, h.reviewerLoad, h.ids.reviewer = poolByID[best].email, load[best], best
	// The lead's organisation's application, which seed does not keep by organisation.
	if tok := ds.applicants[h.ids.org]; tok != "" {
		apps, err := sendOK(ctx, http.MethodGet, c.s.url(8084)+"/v1/applications?limit=1", tok, nil)
		if err != nil {
			return nil, err
		}
		if items, _ := apps["items"].([]any); len(items) > 0 {
			h.ids.application, _ = items[0].(map[string]any)["id"].(string)
		}
	}
	if h.ids.application == "" {
		return nil, errors.New("the lead's organisation has no fund application")
	}
	return h, nil
}

// orgName is the name onboard gives the i-th organisation.
func orgName(i int) string { return fmt.Sprintf("Reads University %04d", i) }

// submissionBody is a submission as a lead writes one: four themes, an action plan
// of items, the technician voice and the plan's webpage.
func submissionBody(org string, cycle, items int) map[string]any {
	themes := []string{"visibility", "recognition", "career_development", "sustainability"}
	var assessment, plan []map[string]any
	for i, t := range themes {
		assessment = append(assessment, map[string]any{"theme": t, "rating": 1 + (i+cycle)%4,
			"narrative": fmt.Sprintf("Cycle %d: technicians are named on papers and in the annual report; a network meets each term.", cycle)})
	}
	for i := range items {
		plan = append(plan, map[string]any{"theme": themes[i%4], "action": fmt.Sprintf("Action %d of cycle %d: fund professional registrations", i+1, cycle),
			"owner": "Head of Technical Services", "success_measure": "10 registered", "target_date": "2027-12-31"})
	}
	return map[string]any{"self_assessment": assessment, "action_plan": plan,
		"technician_voice": map[string]any{"how_consulted": "Survey and three focus groups", "participants": 142},
		"webpage":          "https://www.example.ac.uk/technician-commitment/" + org}
}

func reviewBody(i int) map[string]any {
	var themes []map[string]any
	for j, t := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		themes = append(themes, map[string]any{"theme": t, "score": 1 + (i+j)%4, "strengths": "Clear policy, known to technicians.",
			"recommendations": "Publish case studies and track uptake."})
	}
	return map[string]any{"themes": themes, "summary": "A credible plan with good technician involvement."}
}

// parallel runs f for 0..n-1 on eight workers and returns the first error.
func parallel(ctx context.Context, n int, f func(i int) error) error {
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// sendOK sends a request, again while the service answers that the conflict is passing
// (409 with Retry-After: another request was changing the same round), and fails
// unless the status is below 300.
func sendOK(ctx context.Context, method, u, token string, body any) (map[string]any, error) {
	unavailableBefore := false
	for attempt := 0; ; attempt++ {
		code, retry, m, err := send(ctx, method, u, token, body)
		if err != nil {
			return nil, err
		}
		if code < 300 {
			return m, nil
		}
		// A command answered 503 may have been applied all the same (the service gave
		// up waiting, not the store): sent again, it conflicts with itself. The seed
		// wants its effect, which is there.
		if code == http.StatusConflict && !retry && unavailableBefore {
			return m, nil
		}
		unavailableBefore = code == http.StatusServiceUnavailable
		if (code == http.StatusConflict && retry) || code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests {
			if attempt < 50 {
				time.Sleep(time.Duration(20+attempt*20) * time.Millisecond)
				continue
			}
		}
		return nil, fmt.Errorf("%s %s: %d %v", method, u, code, m)
	}
}

// sendUntil is sendOK, also sending again until the answer is want or two minutes
// pass: a service learns of another's events a moment after they happen.
func sendUntil(ctx context.Context, method, u, token string, body any, want int) (map[string]any, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, _, m, err := send(ctx, method, u, token, body)
		if err != nil {
			return nil, err
		}
		if code == want {
			return m, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s %s: %d %v", method, u, code, m)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// send is one JSON request: its status, whether it said to retry, and its body.
func send(ctx context.Context, method, u, token string, body any) (int, bool, map[string]any, error) {
	var r io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, false, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return 0, false, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := seedClient.Do(req)
	if err != nil {
		return 0, false, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header.Get("Retry-After") != "", m, nil
}

// seedClient bounds each seeding request: a service that stops answering fails the
// run with the request named, instead of holding it for ever.
var seedClient = &http.Client{Timeout: time.Minute}

// --- the report ---

// pagesReport is the report's portal pages section.
func pagesReport(f pageFigures) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nMeasured by `make bench` (or `bench -pages-only`) on %s, %s, on a stack of its own holding %d organisations announced "+
		"(each with a fund application), %d reviewers in the pool and %d review rounds of each organisation's first submission (drafted, revised, "+
		"submitted; two reviewers each, who accepted and reviewed; every round but the latest closed with its feedback released, the latest under way), "+
		"then each organisation's next cycle drafted; seeded through the services' APIs in %s. Each person signed in through the portal: leads and reviewers "+
		"by the link emailed through notify to Mailpit, ITSS staff through the OpenID provider's login form. "+
		"Each page: %d sequential GETs over loopback after %d untimed, timed at the client and by the portal's own access log (`duration_ms`, whole "+
		"milliseconds, rounded down). The signed-in reviewer has %d assignments over the rounds. The machine's load average (1, 5, 15 minutes) "+
		"as the pages were timed: %s, on %d cores.\n\n",
		pagesSection, machine(), time.Now().UTC().Format("2006-01-02 15:04 MST"), f.scale.orgs, f.scale.reviewers, f.scale.rounds, f.seeded.Round(time.Second),
		f.samples, pageWarmUp, f.reviewer, f.load, runtime.NumCPU())
	if f.opsNote != "" {
		fmt.Fprintf(&b, "ITSS staff's pages are not in the table: %s.\n\n", f.opsNote)
	}
	if f.small != nil {
		fmt.Fprintf(&b, "The same pages were timed first on a data set a tenth the size (%d organisations, %d reviewers, %d review rounds); "+
			"issue 22 asks that a page's cost follow what it shows, not the history: large/small of the client p50 at most 1.5. "+
			"The table rows each page showed (header rows included) stand beside it: a list shown 50 at a time fills its page "+
			"on the large set and may not on the small one, so there its cost grows with what it shows.\n\n",
			f.smallScale.orgs, f.smallScale.reviewers, f.smallScale.rounds)
	}
	b.WriteString("| who | page | client p50 | client p95 | portal p50 | portal p95 | target: p95 < 50 ms | ")
	if f.small != nil {
		b.WriteString("p50 on a tenth | large/small (target ≤ 1.5) | table rows: a tenth, large |\n|---|---|---|---|---|---|---|---|---|---|\n")
	} else {
		b.WriteString("\n|---|---|---|---|---|---|---|\n")
	}
	for _, r := range f.rows {
		if r.failure != "" {
			fmt.Fprintf(&b, "| %s | %s (`%s`) | not timed: it answered %s |\n", r.who, r.name, pathShape(r.path), failureStatus(r.failure))
			continue
		}
		met := "met"
		if r.client.p95 >= pageTarget {
			met = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %s (`%s`) | %s | %s | %s | %s | %s |", r.who, r.name, pathShape(r.path), short(r.client.p50), short(r.client.p95),
			loggedMS(r.server, r.server.p50), loggedMS(r.server, r.server.p95), met)
		if f.small != nil {
			if sm, ok := f.small[rowKey(r.page)]; ok {
				fmt.Fprintf(&b, " %s | %.2f | %d, %d |", short(sm.client.p50), float64(r.client.p50)/float64(max(sm.client.p50, time.Microsecond)), sm.rows, r.rows)
			} else {
				b.WriteString(" | | |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\nA page meets the target when its client p95 (which holds the server's time and a loopback round trip) is under 50 ms.\n")
	return b.String()
}

// failureStatus is the part of a page's failure the report shows: its status, not its
// body (which may name a record).
func failureStatus(failure string) string {
	if _, after, ok := strings.Cut(failure, " answered "); ok {
		if status, _, ok := strings.Cut(after, ":"); ok {
			return status
		}
	}
	return "an error"
}

// loggedMS is a figure from the portal's log, which counts whole milliseconds.
func loggedMS(l latency, d time.Duration) string {
	switch {
	case l.n == 0:
		return "not logged"
	case d < time.Millisecond:
		return "< 1ms"
	}
	return d.Round(time.Millisecond).String()
}

// pathShape shows a page's address with its ids and secrets replaced by what they
// are, so that the report names no record and no live link.
func pathShape(path string) string {
	p, q, _ := strings.Cut(path, "?")
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if len(part) >= 16 || strings.ContainsAny(part, "0123456789") {
			parts[i] = "{id}"
		}
	}
	if q != "" {
		vals, _ := url.ParseQuery(q)
		keys := make([]string, 0, len(vals))
		for k := range vals {
			keys = append(keys, k+"=…")
		}
		slices.Sort(keys)
		return strings.Join(parts, "/") + "?" + strings.Join(keys, "&")
	}
	return strings.Join(parts, "/")
}

// withSection puts section, which starts with heading, in place of the report's
// section of that heading, or before the kept part when it has none.
func withSection(doc, heading, section string) string {
	if i := strings.Index(doc, heading+"\n"); i >= 0 {
		end := len(doc)
		if j := strings.Index(doc[i+len(heading):], "\n## "); j >= 0 {
			end = i + len(heading) + j + 1
		}
		return doc[:i] + section + "\n" + doc[end:]
	}
	if i := strings.Index(doc, keptHeading); i >= 0 {
		return doc[:i] + section + "\n" + doc[i:]
	}
	if doc != "" && !strings.HasSuffix(doc, "\n") {
		doc += "\n"
	}
	return doc + "\n" + section
}

// syncBuffer is the stack's output: tcdev writes it while the bench reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Len is how much has been written so far.
func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// From returns what was written from offset on.
func (b *syncBuffer) From(offset int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf.Bytes()[offset:])
}

func (b *syncBuffer) String() string { return b.From(0) }
