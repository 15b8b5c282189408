package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
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
	dir     string
	n       int               // pages kept so far
	urls    map[string]string // file name → the page's address, until checked
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
		d.n++
		name := fmt.Sprintf("page-%03d.html", d.n)
		d.urls[name] = url
		return os.WriteFile(filepath.Join(d.dir, name), r.Body, 0o600)
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
	urls := d.urls
	d.urls = map[string]string{}
	d.mu.Unlock()
	if len(urls) == 0 {
		return nil, nil
	}
	jar, err := FindVnu()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoChecker, err)
	}
	files := make([]string, 0, len(urls))
	for name := range urls {
		files = append(files, filepath.Join(d.dir, name))
	}
	slices.Sort(files)
	defer func() {
		for _, f := range files {
			_ = os.Remove(f)
		}
	}()
	args := []string{"-jar", jar, "--errors-only", "--format", "json", "--exit-zero-always"}
	var stderr bytes.Buffer
	// #nosec G204 -- the test harness runs the checker from the repository's tools on
	// pages it wrote itself into its own temporary directory.
	cmd := exec.Command("java", append(args, files...)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("the HTML checker: %v: %s", err, stderr.String())
	}
	var report struct {
		Messages []struct {
			Type, URL, Message, Extract string
			LastLine                    int
			HiliteStart, HiliteLength   int
		}
	}
	if err := json.Unmarshal(stderr.Bytes(), &report); err != nil {
		return nil, fmt.Errorf("the HTML checker's report: %v: %s", err, stderr.String())
	}
	var errs []string
	for _, m := range report.Messages {
		if vnuAccepted(m.Message, marked(m.Extract, m.HiliteStart, m.HiliteLength)) {
			continue
		}
		page := m.URL
		if name := filepath.Base(strings.TrimPrefix(m.URL, "file:")); urls[name] != "" {
			page = urls[name]
		}
		errs = append(errs, fmt.Sprintf("the HTML of %s, line %d: %s: %s\n\t%s", page, m.LastLine, m.Type, m.Message, strings.TrimSpace(m.Extract)))
	}
	return errs, nil
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
