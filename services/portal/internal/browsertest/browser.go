// Package browsertest drives a real Chromium from Go tests, for the portal's browser
// journeys: open a page, find elements the way a person (or a screen reader) names
// them, type, click or use the keyboard alone, and check every page with axe-core.
//
// A journey reads like what a person does:
//
//	b := browsertest.New(t)
//	b.CheckEveryPage()
//	b.Open(srv.URL + "/signin")
//	b.TabTo("Email address")
//	b.Type("lead@example.ac.uk")
//	b.TabTo("Send me a link")
//	b.Enter()
//	if got := b.Text(browsertest.CSS("h1")); got != "Check your email" {
//		t.Fatalf("heading after sign-in = %q", got)
//	}
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultChromium is where Debian's chromium package puts the browser; $CHROMIUM
// overrides it.
const DefaultChromium = "/usr/bin/chromium"

// SkipMessage is what a test says when the machine has no browser, so that a developer
// reading `go test -v` knows the journeys did not run and how to make them run.
const SkipMessage = "no Chromium: browser journeys skipped (apt-get install chromium)"

// objectGroup names the handles on page objects the harness asks for, so that they are
// told apart from the page's own in a debugger.
const objectGroup = "browsertest"

// Browser is one Chromium process with one tab, owned by one test. Its methods fail
// the test that created it (through its testing.TB) when an action cannot be done, so
// a journey needs no error handling of its own.
type Browser struct {
	tb  testing.TB
	ctx context.Context

	// Timeout bounds each action, including the page load an action causes. The
	// default is generous because the machines running CI are small and shared.
	Timeout time.Duration

	everyPage bool
	checking  bool
	jsOff     bool
	// wideTables is why the test's content may make a table wider than a desktop's
	// page (AllowWideTables), or "" when none may be.
	wideTables string
	problems   *pageProblems
	docs       *documents
}

// pageProblems collects what the pages report going wrong while a test runs: content
// security policy violations, uncaught exceptions and console.error calls. Each is a
// bug a person would meet (a blocked script or style, a broken enhancement), so the
// test fails with them unless it takes them with TakePageErrors.
type pageProblems struct {
	mu   sync.Mutex
	list []string
}

func (p *pageProblems) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, s)
}

func (p *pageProblems) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.list
	p.list = nil
	return l
}

// New starts a headless Chromium for the test and stops it when the test ends. Without
// a browser the test is skipped with SkipMessage, except in CI (CI=true), where .ci/run
// installs Chromium and a missing one is a broken pipeline, not a reason to skip.
func New(tb testing.TB) *Browser {
	tb.Helper()
	path, err := findChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("browsertest: %v; in CI .ci/run should have installed Chromium (apt-get install -y chromium)", err)
		}
		tb.Skip(SkipMessage)
	}

	// The flags are those Chromium needs on these machines: tests run as root (so no
	// sandbox), there is no GPU, and the network is closed, so everything Chromium would
	// fetch in the background (updates, sync, QUIC probes) is switched off rather than
	// left to fail at every start. A fresh profile per test keeps tests independent.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		tb.Logf("chromium: "+format, args...)
	}))
	tb.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first action starts the browser; it runs on the tab's own context because a
	// deadline on it would stop the whole browser when it expired.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		tb.Fatalf("browsertest: start %s: %v", path, err)
	}
	b := &Browser{tb: tb, ctx: ctx, Timeout: 20 * time.Second, problems: &pageProblems{},
		docs: &documents{}}
	if err := chromedp.Listen(ctx, b.collect); err != nil {
		tb.Fatalf("browsertest: listen to the page: %v", err)
	}
	// Registered after the browser's own cleanup, so it runs before it.
	tb.Cleanup(b.reportPageErrors)
	return b
}

// collect keeps the page's reports of what went wrong. It runs on the goroutine that
// reads the browser's messages, so it only records.
func (b *Browser) collect(ev any) {
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		b.docs.received(ev)
	case *log.EventEntryAdded:
		if e := ev.Entry; e.Level == log.EntryLevelError && (e.Source == log.EntrySourceSecurity || e.Source == log.EntrySourceJavascript) {
			b.problems.add(fmt.Sprintf("%s: %s", e.URL, e.Text))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text = d.Exception.Description
		}
		b.problems.add(fmt.Sprintf("%s:%d: uncaught %s", d.URL, d.LineNumber+1, text))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			b.problems.add("console.error: " + strings.Join(parts, " "))
		}
	}
}

// TakePageErrors returns the errors the pages reported since the last call (content
// security policy violations, uncaught exceptions, console.error) and forgets them, for
// a test that expects them. Errors nobody takes fail the test at the next step that may
// leave the page (Open, Click, Enter, ...), and when the test ends.
func (b *Browser) TakePageErrors() []string {
	return b.problems.take()
}

// reportPageErrors fails the test with the errors the pages reported.
func (b *Browser) reportPageErrors() {
	b.tb.Helper()
	if errs := b.problems.take(); len(errs) > 0 {
		b.tb.Errorf("browsertest: the pages reported errors:\n\t%s", strings.Join(errs, "\n\t"))
	}
}

// DisableJavaScript turns off scripts for the pages loaded from now on, to show that a
// journey works without them (progressive enhancement). The harness's own checks
// still run: axe is given scripts back for the moment it runs.
func (b *Browser) DisableJavaScript() {
	b.tb.Helper()
	if err := b.setScripts(false); err != nil {
		b.tb.Fatalf("browsertest: disable JavaScript: %v", err)
	}
	b.jsOff = true
}

func (b *Browser) setScripts(on bool) error {
	_, err := run(b, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	}))
	return err
}

// findChromium returns the browser to use: $CHROMIUM when set, else Debian's.
func findChromium() (string, error) {
	path := DefaultChromium
	if p := os.Getenv("CHROMIUM"); p != "" {
		path = p
	}
	fi, err := os.Stat(path) // #nosec G703 -- the browser the developer or CI names for the tests
	if err != nil {
		return "", fmt.Errorf("no Chromium at %s: %w", path, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable", path)
	}
	return path, nil
}

// CheckEveryPage makes the browser run CheckAccessibility on every page it loads from
// now on (after Open, and after any click or key that navigates), so a journey cannot
// forget a page, and keep each page's HTML as the server sent it, which the Nu Html
// Checker reads when the test ends (checkHTML).
func (b *Browser) CheckEveryPage() {
	if !b.everyPage {
		startHTMLChecker()
		b.tb.Cleanup(b.checkHTML)
	}
	b.everyPage = true
}

// run runs one action with the browser's timeout. The handles on elements it makes
// live as long as their page, which is as long as a journey can use them.
func run[T any](b *Browser, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// Open loads url and waits for the page to finish loading. A server error (5xx) fails
// the test: no journey expects one.
func (b *Browser) Open(url string) {
	b.tb.Helper()
	b.reportPageErrors()
	resp, err := run(b, chromedp.NavigateResponse(url))
	if err != nil {
		b.tb.Fatalf("browsertest: open %s: %v", url, err)
	}
	if resp != nil && resp.Status >= 500 {
		b.tb.Fatalf("browsertest: open %s: HTTP %d %s", url, resp.Status, resp.StatusText)
	}
	b.loaded()
}

// loaded runs what has to happen on every new page.
func (b *Browser) loaded() {
	b.tb.Helper()
	if b.everyPage && !b.checking {
		b.checking = true
		defer func() { b.checking = false }()
		b.keepHTML()
		b.CheckAccessibility(b.tb)
		if b.wideTables == "" {
			b.checkTablesFit()
		}
	}
}

// DesktopWidth is the narrowest window checkTablesFit takes for a desktop's: a
// laptop's, wider than any page's column of text.
const DesktopWidth = 1024

// checkTablesFit fails the test when, in a desktop's window, a table is wider than
// the page and must be scrolled sideways in its region to reach its last columns: a
// dead letter's Replay and an action's Change and Remove were off the right edge of
// a 1280 pixel window, where nothing else was. On a phone a table may scroll so
// (WCAG 1.4.10 lets it); the pages' own tests say which must not.
func (b *Browser) checkTablesFit() {
	b.tb.Helper()
	wide, err := evaluate[[]string](b, `document.documentElement.clientWidth < `+strconv.Itoa(DesktopWidth)+` ? [] :
		Array.from(document.querySelectorAll(".table-wrap")).filter(el => el.scrollWidth > el.clientWidth + 1).
		map(el => (el.getAttribute("aria-labelledby") || el.outerHTML.slice(0, 80)) + ": " + el.scrollWidth + " pixels wide in " + el.clientWidth)`)
	if err != nil {
		b.tb.Fatalf("browsertest: the tables' widths on %s: %v", b.CurrentURL(), err)
	}
	if len(wide) > 0 {
		b.tb.Errorf("browsertest: on %s, in a desktop's window, a table is wider than the page, its last columns off the right edge: %s",
			b.CurrentURL(), strings.Join(wide, "; "))
	}
}

// AllowWideTables lets the pages' tables be wider than a desktop's page from now on,
// for a test whose content is wider than any column (a name of 200 letters without a
// space, which must scroll in its table's region rather than widen the page), saying
// why.
func (b *Browser) AllowWideTables(why string) {
	if why == "" {
		b.tb.Fatal("browsertest: AllowWideTables needs a reason")
	}
	b.wideTables = why
}

// CurrentURL is the address of the page the tab shows now.
func (b *Browser) CurrentURL() string {
	b.tb.Helper()
	u, err := run(b, chromedp.Location())
	if err != nil {
		b.tb.Fatalf("browsertest: current URL: %v", err)
	}
	return u
}

// Title is the document's title.
func (b *Browser) Title() string {
	b.tb.Helper()
	s, err := run(b, chromedp.Title())
	if err != nil {
		b.tb.Fatalf("browsertest: title: %v", err)
	}
	return s
}

// Screenshot writes a PNG of the whole page (not only the viewport) to path, for the
// walkthrough's pictures in docs/.
func (b *Browser) Screenshot(path string) {
	b.tb.Helper()
	png, err := run(b, chromedp.FullScreenshot(100))
	if err != nil {
		b.tb.Fatalf("browsertest: screenshot: %v", err)
	}
	// The directory is made when missing, as the README's -all-screenshots into
	// another directory is typed.
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		b.tb.Fatalf("browsertest: write screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o600); err != nil {
		b.tb.Fatalf("browsertest: write screenshot: %v", err)
	}
}

// navigating runs an input action that may make the page navigate (a click on a link
// or a submit button, Enter in a form) and, when it does, waits until the new page has
// loaded, so the journey's next step sees the new page and never the old one.
func (b *Browser) navigating(what string, a chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	b.reportPageErrors()
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()

	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		b.tb.Fatalf("browsertest: %s: frame tree: %v", what, err)
	}
	main := tree.FrameTree.Frame.ID

	var (
		mu        sync.Mutex
		requested bool
		done      = make(chan struct{})
		closed    bool
	)
	finish := func() {
		if !closed {
			closed = true
			close(done)
		}
	}
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	if err := chromedp.Listen(lctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *page.EventFrameRequestedNavigation:
			requested = requested || ev.FrameID == main
		case *page.EventFrameStartedNavigating:
			requested = requested || ev.FrameID == main
		case *page.EventFrameStartedLoading:
			requested = requested || ev.FrameID == main
		case *page.EventNavigatedWithinDocument:
			if ev.FrameID == main {
				finish()
			}
		case *page.EventFrameStoppedLoading:
			// Stopping after a navigation began means the new document has loaded,
			// or the navigation ended without one (a 204, a download).
			if ev.FrameID == main && requested {
				finish()
			}
		}
	}); err != nil {
		b.tb.Fatalf("browsertest: %s: listen: %v", what, err)
	}

	if _, err := chromedp.Run(ctx, a); err != nil {
		b.tb.Fatalf("browsertest: %s: %v", what, err)
	}
	// A form's submission is planned in a task after the key or click that caused it;
	// a round trip through the page's task queue lets that task run, so the navigation
	// it starts has been announced before we decide whether to wait. The evaluation
	// fails when the page is already unloading, which also means a navigation began.
	// Without scripts there are no timers, so the round trip is a plain one.
	roundTrip := `new Promise(r => setTimeout(r, 0))`
	if b.jsOff {
		roundTrip = `0`
	}
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](roundTrip, chromedp.EvalAwaitPromise))

	mu.Lock()
	waiting := requested
	mu.Unlock()
	if !waiting {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
		b.tb.Fatalf("browsertest: %s: the page it led to did not finish loading within %s", what, b.Timeout)
	}
	b.loaded()
}

// evaluate runs a script in the page through the debugger and decodes its JSON
// result into T. The debugger is not bound by the page's content security policy.
func evaluate[T any](b *Browser, expression string) (T, error) {
	var zero T
	raw, err := run(b, chromedp.Evaluate[[]byte](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		return zero, err
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return zero, fmt.Errorf("decode %s: %w", strings.TrimSpace(string(raw)), err)
	}
	return v, nil
}
