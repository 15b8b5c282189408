package browsertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// VnuJar is where `npm ci` in tools/ puts the Nu Html Checker (the W3C's validator,
// npm package vnu-jar), relative to the repository's root.
const VnuJar = "tools/node_modules/vnu-jar/build/dist/vnu.jar"

// vnuTableRole is the validator's message the portal answers on purpose: explicit
// ARIA roles on the rows and cells of the tables that stack into cards on a narrow
// screen. CSS display other than table drops a table's semantics in some browsers
// (Safari, Chromium with some screen readers), and the roles give them back; the
// validator calls them redundant. Its message names the element but not the role, so
// vnuAccepted reads the role from the start tag the message marks, and accepts only
// the one each element has in a table: any other role (presentation, button) takes
// the table's semantics away, and fails the test.
var vnuTableRole = regexp.MustCompile(`^The “role” attribute must not be used on a “(tr|th|td)” element which has a “table” ancestor`)

// tableRoles are the roles that give each element its table semantics back.
var tableRoles = map[string]*regexp.Regexp{
	"tr": regexp.MustCompile(`^<tr\b[^>]*\srole="row"`),
	"th": regexp.MustCompile(`^<th\b[^>]*\srole="(columnheader|rowheader)"`),
	"td": regexp.MustCompile(`^<td\b[^>]*\srole="cell"`),
}

// vnuAccepted reports whether the validator's message is one vnuTableRole accepts:
// marked is the markup the validator marks in its extract (the element's start tag,
// after the white space before it).
func vnuAccepted(message, marked string) bool {
	m := vnuTableRole.FindStringSubmatch(message)
	return m != nil && tableRoles[m[1]].MatchString(strings.TrimSpace(marked))
}

// marked is the part of extract the validator marks, from start for length UTF-16
// code units (the checker is Java).
func marked(extract string, start, length int) string {
	u := utf16.Encode([]rune(extract))
	if start < 0 || length < 0 || start+length > len(u) {
		return ""
	}
	return string(utf16.Decode(u[start : start+length]))
}

// documents keeps the HTML of each page the browser loaded while CheckEveryPage is
// on, as the server sent it (not as scripts left it), for the HTML checker.
type documents struct {
	mu      sync.Mutex
	last    network.RequestID // the latest document the tab received
	lastURL string
	kept    []keptPage // until checked
}

// keptPage is one page's address and its HTML as the server sent it.
type keptPage struct {
	url  string
	html []byte
}

// received notes a document response; it runs on the goroutine reading the browser's
// messages, so it only records.
func (d *documents) received(ev *network.EventResponseReceived) {
	if ev.Type != network.ResourceTypeDocument || ev.Response == nil || !strings.HasPrefix(ev.Response.MimeType, "text/html") {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last, d.lastURL = ev.RequestID, ev.Response.URL
}

// keepHTML saves the latest document's HTML, once.
func (b *Browser) keepHTML() {
	d := b.docs
	d.mu.Lock()
	id, url := d.last, d.lastURL
	d.last = ""
	d.mu.Unlock()
	if id == "" {
		return
	}
	_, err := run(b, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		r, err := cdp.Call(ctx, t, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
		if err != nil {
			return err
		}
		if r.Base64encoded {
			return errors.New("the page came base64-encoded")
		}
		b.docs.mu.Lock()
		defer b.docs.mu.Unlock()
		d.kept = append(d.kept, keptPage{url: url, html: []byte(r.Body)})
		return nil
	}))
	if err != nil {
		b.tb.Fatalf("browsertest: keep the HTML of %s: %v", url, err)
	}
}

// checkHTML runs the Nu Html Checker over every page kept and not yet checked, in one
// run, and fails the test with each error it reports but those vnuAccepted accepts.
// Without Java or the checker (tools/node_modules, which make lint-code installs) it
// says so, and in CI it fails: CI must check the pages.
func (b *Browser) checkHTML() {
	b.tb.Helper()
	errs, err := b.htmlErrors()
	switch {
	case errors.Is(err, errNoChecker) && os.Getenv("CI") != "true":
		b.tb.Logf("browsertest: the pages' HTML was not checked: %v (cd tools && npm ci; apt-get install default-jre-headless)", err)
	case err != nil:
		b.tb.Errorf("browsertest: the pages' HTML: %v", err)
	}
	for _, e := range errs {
		b.tb.Errorf("browsertest: %s", e)
	}
}

// TakeHTMLErrors runs the HTML checker now over the pages kept since the last check
// and returns its errors, which then no longer fail the test: for a test that loads a
// broken page on purpose. Without the checker it fails the test.
func (b *Browser) TakeHTMLErrors() []string {
	b.tb.Helper()
	errs, err := b.htmlErrors()
	if err != nil {
		b.tb.Fatalf("browsertest: the pages' HTML: %v", err)
	}
	return errs
}

// errNoChecker is htmlErrors' answer on a machine without Java or the checker.
var errNoChecker = errors.New("no HTML checker")

// htmlErrors checks the pages kept since the last check and forgets them; each error
// reads "the HTML of <address>, line <n>: error: <message>" and the markup it is in.
func (b *Browser) htmlErrors() ([]string, error) {
	d := b.docs
	d.mu.Lock()
	kept := d.kept
	d.kept = nil
	d.mu.Unlock()
	if len(kept) == 0 {
		return nil, nil
	}
	c, err := htmlChecker()
	if err != nil {
		return nil, err
	}
	var errs []string
	for _, p := range kept {
		messages, err := checkedPage(c, p.html)
		if err != nil {
			return nil, fmt.Errorf("the HTML checker, on %s: %w", p.url, err)
		}
		for _, m := range messages {
			// Errors only, as the command line's --errors-only: a warning ("info") is advice.
			if m.Type == "info" || vnuAccepted(m.Message, marked(m.Extract, m.HiliteStart, m.HiliteLength)) {
				continue
			}
			errs = append(errs, fmt.Sprintf("the HTML of %s, line %d: %s: %s\n\t%s", p.url, m.LastLine, m.Type, m.Message, strings.TrimSpace(m.Extract)))
		}
	}
	return errs, nil
}

// checked holds the checker's messages for each page the process has had checked,
// by the digest of its bytes: the same HTML gets the same messages, so a page a
// journey loads again unchanged (the reflow test loads every page at five widths;
// two of its journeys' 142 pages were 66 different ones) is not checked twice.
var checked struct {
	mu       sync.Mutex
	messages map[[sha256.Size]byte][]vnuMessage
	made     int // pages given to the checker
}

// checkedPage is the checker's messages for page, from checked when the same bytes
// were checked before.
func checkedPage(c *vnuService, page []byte) ([]vnuMessage, error) {
	key := sha256.Sum256(page)
	checked.mu.Lock()
	messages, ok := checked.messages[key]
	checked.mu.Unlock()
	if ok {
		return messages, nil
	}
	messages, err := c.check(page)
	if err != nil {
		return nil, err
	}
	checked.mu.Lock()
	defer checked.mu.Unlock()
	checked.made++
	if checked.messages == nil {
		checked.messages = map[[sha256.Size]byte][]vnuMessage{}
	}
	checked.messages[key] = messages
	return messages, nil
}

// vnuMessage is one message of the checker's JSON report.
type vnuMessage struct {
	Type, Message, Extract    string
	LastLine                  int
	HiliteStart, HiliteLength int
}

// vnuService is the Nu Html Checker run as a web service on this machine, one for
// the test process: the command-line checker run once per test started Java each
// time, about 4 s of processor for each of some forty journeys, where the service,
// once started, checks a page in tens of milliseconds.
type vnuService struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has ended
	err  error         // why it ended, once done is closed
}

// vnu is the process's checker, started by the first browser that checks every page
// (it takes Java some seconds to start, which the journey's own steps cover).
var vnu struct {
	once    sync.Once
	ready   chan struct{} // closed once svc or err is set
	svc     *vnuService
	err     error
	stopped bool
	mu      sync.Mutex
}

// vnuStartLimit is how long the checker may take to answer after it starts: 30 s on
// a 2-core machine running the tests beside it.
const vnuStartLimit = 3 * time.Minute

// startHTMLChecker starts the checker in the background, once.
func startHTMLChecker() {
	vnu.once.Do(func() {
		vnu.ready = make(chan struct{})
		go func() {
			svc, err := startVnu()
			vnu.mu.Lock()
			vnu.svc, vnu.err = svc, err
			if vnu.stopped && svc != nil {
				svc.stop()
			}
			vnu.mu.Unlock()
			close(vnu.ready)
		}()
	})
}

// htmlChecker is the process's checker, once it answers; errNoChecker without Java or
// the checker.
func htmlChecker() (*vnuService, error) {
	startHTMLChecker()
	<-vnu.ready
	vnu.mu.Lock()
	defer vnu.mu.Unlock()
	if vnu.err != nil {
		return nil, vnu.err
	}
	select {
	case <-vnu.svc.done:
		return nil, fmt.Errorf("the HTML checker ended: %v", vnu.svc.err)
	default:
	}
	return vnu.svc, nil
}

// StopHTMLChecker ends the checker's process if one was started: a test package
// whose browsers check every page calls it from TestMain after its tests have run
// (the process is killed with the test process anyway, where the system allows).
func StopHTMLChecker() {
	vnu.mu.Lock()
	defer vnu.mu.Unlock()
	vnu.stopped = true
	if vnu.svc != nil {
		vnu.svc.stop()
	}
}

// vnuTries is how many ports startVnu tries: the port it picks is free when picked,
// but the tests' servers and connections take ports all the while, and one may take
// it before Java binds it (which then ends, "Address already in use", and every
// journey after it failed).
const vnuTries = 5

// freePort picks a port on the loopback that nothing listens on, for the checker.
var freePort = func() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// errPortTaken is startVnuOn's answer when another process bound the port first.
var errPortTaken = errors.New("the port was taken")

func startVnu() (*vnuService, error) {
	jar, err := FindVnu()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoChecker, err)
	}
	for try := 1; ; try++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		svc, err := startVnuOn(jar, port)
		if errors.Is(err, errPortTaken) && try < vnuTries {
			continue
		}
		return svc, err
	}
}

// startVnuOn starts the checker on port and waits until it answers.
func startVnuOn(jar, port string) (*vnuService, error) {
	out := &syncBuffer{}
	// Java compiles the checker with its first compiler only (TieredStopAtLevel=1):
	// the optimising one cost more processor than it saved in a test run's few hundred
	// pages (start and 142 pages: 21 s of processor, 11.5 s with the first compiler
	// alone; 710 pages: 39.5 s against 25 s), on the 2 cores the browsers need. Its
	// code takes more stack: at 1 MiB the schema's parser overflowed the main thread's.
	// #nosec G204 -- the test harness runs the checker from the repository's tools, on
	// this machine's loopback only.
	cmd := exec.Command("java", "-Xss4m", "-XX:TieredStopAtLevel=1", "-Dnu.validator.servlet.bind-address=127.0.0.1", "-cp", jar, "nu.validator.servlet.Main", port)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = endWithParent()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the HTML checker: %w", err)
	}
	svc := &vnuService{url: "http://127.0.0.1:" + port + "/?out=json", cmd: cmd, done: make(chan struct{})}
	go func() {
		svc.err = cmd.Wait()
		close(svc.done)
	}()
	deadline := time.Now().Add(vnuStartLimit)
	for {
		// What takes the connection may be another process that took the port and
		// never answers: the checker, once up, answers this page at once.
		if _, err := svc.checkWithin([]byte("<!DOCTYPE html><html lang=en><title>ready</title></html>"), 5*time.Second); err == nil {
			return svc, nil
		} else if time.Now().After(deadline) {
			svc.stop()
			return nil, fmt.Errorf("the HTML checker did not answer within %s: %v; it said: %s", vnuStartLimit, err, out.String())
		}
		select {
		case <-svc.done:
			if strings.Contains(out.String(), "Address already in use") {
				return nil, fmt.Errorf("%w: port %s: %s", errPortTaken, port, out.String())
			}
			return nil, fmt.Errorf("the HTML checker ended as it started (%v): %s", svc.err, out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// syncBuffer is what the checker's process writes, read while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// check gives the checker one page and returns its messages.
func (s *vnuService) check(page []byte) ([]vnuMessage, error) {
	return s.checkWithin(page, time.Minute)
}

// checkWithin is check waiting at most d for the answer.
func (s *vnuService) checkWithin(page []byte, d time.Duration) ([]vnuMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(page))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/html; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, body)
	}
	var report struct{ Messages []vnuMessage }
	if err := json.Unmarshal(body, &report); err != nil {
		return nil, fmt.Errorf("its report: %v: %s", err, body)
	}
	return report.Messages, nil
}

func (s *vnuService) stop() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// FindVnu looks for VnuJar in the directories above the working directory (a test's
// is its package's) and for the Java that runs it, and says where the jar is, or why
// the checker cannot run.
func FindVnu() (string, error) {
	if _, err := exec.LookPath("java"); err != nil {
		return "", err
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if p := filepath.Join(dir, VnuJar); fileExists(p) {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in the directories above the tests'", VnuJar)
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
