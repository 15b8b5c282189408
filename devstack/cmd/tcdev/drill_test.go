package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// TestBackupRestoreRebuildDrill is the runbook's drill for the embedded store, for
// real: the README's walkthrough and a few more organisations put data into all four
// services; every read model is read through the APIs; the databases are backed up
// while the stack runs, a lead signed in to the portal through its emailed link; after
// the backup the lead signs out and a person is erased; the stack stops, and the
// backup is restored over its data directory (every database replaced, the NATS store
// emptied but for the registers and the API token events), every service's
// projections are rebuilt from the event log, and once the stack is up again every
// read model must read as before the stop, the person erased again, and the lead's
// session stay ended.
func TestBackupRestoreRebuildDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack twice")
	}
	began := time.Now()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := walkthrough(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	bin := buildSuite(t, root)
	data := filepath.Join(t.TempDir(), "data")
	st := startStack(t, bin, data)
	url := func(svc string) string { return "http://" + addr(portOf(svc), st.offset) }
	tcdev := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(bin, "tcdev"), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tcdev %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}

	// Data in every service: the walkthrough (an organisation onboarded, a submission
	// reviewed and its feedback released, a fund application awarded and reported on,
	// emails sent and resent), then the ids it made.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script+`printf 'DRILL %s %s %s %s %s %s\n' "$ID" "$SUB" "$ROUND" "$A" "$FROUND" "$OTHER"`+"\n")
	cmd.Dir = root
	cmd.Env = walkthroughEnv(t, st, bin)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the walkthrough failed (%v):\n%s\n--- the stack's log ---\n%s", err, tail(out.String(), 8000), tail(st.log(), 8000))
	}
	_, ids, ok := strings.Cut(out.String(), "DRILL ")
	fields := strings.Fields(ids)
	if !ok || len(fields) != 6 {
		t.Fatalf("the walkthrough did not report its ids: %q", tail(out.String(), 2000))
	}
	id, sub, round, app, fround, other := fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
	t.Logf("data made by the walkthrough in %s", time.Since(began).Round(time.Millisecond))

	ops := tcdev("token", "-data", data, "-role", "ops", "-aud", "all")
	lead := tcdev("token", "-data", data, "-role", "lead", "-org", id, "-aud", "all")
	applicant := tcdev("token", "-data", data, "-role", "applicant", "-org", id)
	reviewer := tcdev("token", "-data", data, "-role", "reviewer", "-org", other, "-sub", "rev-ben")
	c := &drillClient{t: t}
	// A few more organisations, at different steps of onboarding, all recent: an
	// overdue one would have reminders sent whenever the sweep next ran, before the
	// backup or after the restore, and the read models would move meanwhile.
	day := func(ago int) string { return time.Now().AddDate(0, 0, -ago).Format(time.DateOnly) }
	var others []string
	for i, through := range []string{"enquiry", "meeting", "announcement"} {
		body := fmt.Sprintf(`{"name":"Drill Institute %d","kind":"signatory","sector":"research_institute","country":"GB",
			"website":"https://drill%d.example.ac.uk","enquiry_contact":{"name":"Pat Lee","email":"pat@drill%d.example.ac.uk"}}`, i, i, i)
		org := c.json("POST", url("signatory")+"/v1/organisations", ops, body)["id"].(string)
		others = append(others, org)
		if through == "enquiry" {
			continue
		}
		c.json("POST", url("signatory")+"/v1/organisations/"+org+"/meeting", ops, `{"held_on":"`+day(7)+`"}`)
		if through == "meeting" {
			continue
		}
		c.json("POST", url("signatory")+"/v1/organisations/"+org+"/form", ops, fmt.Sprintf(`{"signed_on":"`+day(5)+`",
			"leader":{"name":"Dr Kim Ng","title":"Director","email":"director@drill%d.example.ac.uk"},
			"nominated_lead":{"name":"Pat Lee","email":"pat@drill%d.example.ac.uk"},
			"point_of_contact":{"name":"Technical Office","email":"tech@drill%d.example.ac.uk"},
			"plan_page":"https://drill%d.example.ac.uk/tc"}`, i, i, i, i))
		c.json("POST", url("signatory")+"/v1/organisations/"+org+"/announcement", ops, `{"announced_on":"`+day(3)+`"}`)
	}

	// Every read model, through the APIs.
	S, R, N, F := url("signatory"), url("review"), url("notify"), url("fund")
	reads := []struct{ url, token string }{
		{S + "/v1/organisations?limit=200", ops},
		{S + "/v1/directory?limit=200", ""},
		{S + "/v1/organisations/" + id, ops},
		{S + "/v1/organisations/" + id + "/obligations", lead},
		{S + "/v1/organisations/" + others[2] + "/obligations", ops},
		{R + "/v1/submissions?limit=200", ops},
		{R + "/v1/submissions/" + sub, ops},
		{R + "/v1/submissions/" + sub + "/feedback", lead},
		{R + "/v1/reviewers?limit=200", ops},
		{R + "/v1/review-rounds?limit=200", ops},
		{R + "/v1/review-rounds/" + round + "/submissions/" + sub + "/reviews", ops},
		{R + "/v1/assignments", reviewer},
		{N + "/v1/deliveries?limit=200", ops},
		{N + "/v1/deliveries?organisation_id=" + id, ops},
		{N + "/v1/organisations/" + id + "/calendar", lead},
		{F + "/v1/rounds?limit=200", ops},
		{F + "/v1/rounds/" + fround + "/ledger", ops},
		{F + "/v1/applications?limit=200", ops},
		{F + "/v1/applications/" + app, applicant},
	}
	snapshot := func() map[string]any {
		got := map[string]any{}
		for _, r := range reads {
			got[r.url] = c.get(r.url, r.token)
		}
		return got
	}
	// Projections lag their events: the state before is what two reads a moment
	// apart agree on.
	var before map[string]any
	c.eventually(30*time.Second, func() error {
		a := snapshot()
		b := snapshot()
		if d := cmp.Diff(a, b); d != "" {
			return fmt.Errorf("the read models are still moving:\n%s", d)
		}
		before = b
		return nil
	})
	t.Logf("data made and read after %s", time.Since(began).Round(time.Millisecond))

	// A restart reads each read model's documents, then the changes after its log's
	// mark. With every change marked as read, as a log past its 64th change would
	// have it, the stack restarted must answer every read as before from the documents
	// alone. The review's submission documents, which held their _id alone, listed
	// the lead's submission as a draft of no organisation and its released feedback as
	// not released.
	if n := testenv.MarkEveryChangeRead(t, "mongodb://"+addr(mongoPort, st.offset)+"/"); n == 0 {
		t.Fatal("no change log to mark")
	}
	st.stop()
	st = startStackAt(t, bin, data, st.offset)
	c.eventually(30*time.Second, func() error {
		if d := cmp.Diff(before, snapshot()); d != "" {
			return fmt.Errorf("read models after a restart from their documents differ from before (-before +after):\n%s", d)
		}
		return nil
	})

	// A lead signs in to the portal through the link it emails them; after the backup
	// they sign out. The restore brings the session back in the portal's database; the
	// portal's register of ended sign-ins, which the restore keeps, must end it again.
	P, M := "http://"+addr(portalPort, st.offset), "http://"+addr(mailUIPort, st.offset)
	const signedOut = "o.price@othertown.ac.uk"
	session := c.signIn(P, M, signedOut)
	if r := c.page("GET", P+"/account", session); r.status != http.StatusOK {
		t.Fatalf("the lead's account page after signing in: %d", r.status)
	}

	backup := filepath.Join(t.TempDir(), "backup")
	mark := time.Now()
	t.Log(tcdev("backup", "-data", data, "-out", backup))
	t.Logf("backup while running took %s", time.Since(mark).Round(time.Millisecond))

	// After the backup, a person is erased at their request: the nominated lead of
	// the announced drill organisation. The restore brings them back in every
	// database; the register of erasures, which the restore keeps, must take them
	// out again, so the read models after it are those after the erasure.
	if r := c.page("POST", P+"/signout", session); r.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.status)
	}
	erasedOrg := others[2]
	c.json("POST", url("signatory")+"/v1/ops/erasures", ops, `{"email":"pat@drill2.example.ac.uk"}`)
	c.eventually(30*time.Second, func() error {
		a := snapshot()
		if o := c.get(S+"/v1/organisations/"+erasedOrg, ops).(map[string]any); o["needs_nominated_lead"] != true {
			return fmt.Errorf("the erased lead's organisation does not need a lead yet: %v", o)
		}
		b := snapshot()
		if d := cmp.Diff(a, b); d != "" {
			return fmt.Errorf("the read models are still moving:\n%s", d)
		}
		if cmp.Equal(before, b) {
			return errors.New("the erasure changed no read model yet")
		}
		before = b
		return nil
	})
	st.stop()

	// The restore goes over the stack's own directory, as the README's does: it
	// replaces every database, and empties the NATS store but for the registers (of
	// erasures, of ended sign-ins, of what notify sent) and the API token events.
	t.Log(tcdev("restore", "-data", data, "-from", backup))
	kept, err := os.ReadDir(filepath.Join(data, "nats", "jetstream", "$G", "streams"))
	if err != nil {
		t.Fatal(err)
	}
	registers := map[string]bool{}
	for _, d := range kept {
		switch d.Name() {
		case events.StreamErasures, events.StreamPortalEnded, events.StreamNotifySent:
			registers[d.Name()] = true
		case events.StreamPortalTokens, events.StreamPortalRemoved: // the second made only by a removal
		default:
			t.Errorf("the restore left stream %s: it would run ahead of the restored event stores", d.Name())
		}
	}
	if !registers[events.StreamErasures] || !registers[events.StreamPortalEnded] || !registers[events.StreamNotifySent] {
		t.Fatalf("the restore did not keep the register of erasures, the portal's register of ended sign-ins and notify's register of what it sent: %v", kept)
	}
	mark = time.Now()
	rebuilt := tcdev("rebuild", "-data", data, "-bin", bin, "-port-offset", strconv.Itoa(st.offset))
	t.Logf("rebuild took %s:\n%s", time.Since(mark).Round(time.Millisecond), rebuilt)
	// Each projection was emptied and given its events again: a rebuild that replayed
	// nothing would leave them empty, and the comparison below would fail.
	for _, durable := range []string{"signatory-projection", "review-submission-views", "review-organisations", "fund-projection", "fund-signatories-v2"} {
		if !strings.Contains(rebuilt, durable+":") {
			t.Errorf("the rebuild replayed nothing into %s:\n%s", durable, rebuilt)
		}
	}

	st = startStackAt(t, bin, data, st.offset)
	c.eventually(30*time.Second, func() error {
		if d := cmp.Diff(before, snapshot()); d != "" {
			return fmt.Errorf("read models after the restore and rebuild differ from before (-before +after):\n%s", d)
		}
		return nil
	})
	if r := c.page("GET", P+"/account", session); r.status != http.StatusSeeOther || r.location != "/signin" {
		t.Errorf("the session signed out after the backup, after the restore: %d to %q, want 303 to /signin", r.status, r.location)
	}
	t.Logf("the drill took %s", time.Since(began).Round(time.Millisecond))
}

// pageResponse is a portal page's answer, not followed if it redirects.
type pageResponse struct {
	status   int
	location string
	cookies  []*http.Cookie
}

// page requests a portal page as a browser would, with the session cookie (a form
// posted is empty), and does not follow a redirect.
func (c *drillClient) page(method, url, cookie string) pageResponse {
	c.t.Helper()
	return c.form(method, url, cookie, nil)
}

func (c *drillClient) form(method, url, cookie string, form neturl.Values) pageResponse {
	c.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return pageResponse{status: resp.StatusCode, location: resp.Header.Get("Location"), cookies: resp.Cookies()}
}

// signIn asks the portal at p for a sign-in link for email, reads it from the email
// in Mailpit at m, follows it, and returns the session cookie ("name=value").
func (c *drillClient) signIn(p, m, email string) string {
	c.t.Helper()
	if r := c.form("POST", p+"/signin", "", neturl.Values{"email": {email}}); r.status != http.StatusOK {
		c.t.Fatalf("ask for a sign-in link: %d", r.status)
	}
	var link string
	c.eventually(20*time.Second, func() error {
		found, ok := c.get(m+"/api/v1/search?query="+neturl.QueryEscape("to:"+email+` subject:"sign-in link"`), "").(map[string]any)
		msgs, _ := found["messages"].([]any)
		if !ok || len(msgs) == 0 {
			return fmt.Errorf("no sign-in link for %s in Mailpit yet", email)
		}
		id, _ := msgs[0].(map[string]any)["ID"].(string) // the newest first
		msg, _ := c.get(m+"/api/v1/message/"+id, "").(map[string]any)
		text, _ := msg["Text"].(string)
		if link = signinLink.FindString(text); link == "" {
			return fmt.Errorf("no link in the sign-in email: %q", text)
		}
		return nil
	})
	r := c.page("POST", link, "")
	for _, ck := range r.cookies {
		if ck.Name == "tc_session" && ck.Value != "" {
			return ck.Name + "=" + ck.Value
		}
	}
	c.t.Fatalf("following the sign-in link: %d, no session cookie", r.status)
	return ""
}

// signinLink is the portal's sign-in address in an email.
var signinLink = regexp.MustCompile(`http://[^\s]+/signin/[A-Za-z0-9_-]+`)

// drillClient reads and writes the stack's APIs for the drill.
type drillClient struct{ t testing.TB }

type drillResponse struct {
	status int
	body   []byte
}

func (c *drillClient) do(method, url, token, body string) drillResponse {
	c.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	return drillResponse{status: resp.StatusCode, body: b}
}

// json sends a command and decodes its 2xx answer; it retries a passing 409 or a 4xx
// about something another service has not learned yet, for a few seconds.
func (c *drillClient) json(method, url, token, body string) map[string]any {
	c.t.Helper()
	var out map[string]any
	c.eventually(20*time.Second, func() error {
		r := c.do(method, url, token, body)
		if r.status/100 != 2 {
			return fmt.Errorf("%s %s: %d %s", method, url, r.status, r.body)
		}
		return json.Unmarshal(r.body, &out)
	})
	return out
}

// get reads a read model, which must answer 200.
func (c *drillClient) get(url, token string) any {
	c.t.Helper()
	r := c.do("GET", url, token, "")
	if r.status != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", url, r.status, r.body)
	}
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		c.t.Fatalf("GET %s: %v", url, err)
	}
	return v
}

// eventually polls f until it succeeds or the deadline passes.
func (c *drillClient) eventually(within time.Duration, f func() error) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
