package browsertest_test

import (
	"bytes"
	"fmt"
	"html"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// site serves the small pages the harness is tested against, and records what the
// form posts.
type site struct {
	*httptest.Server
	mu     sync.Mutex
	posted []string
}

func page(title, body string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>` + title +
		`</title></head><body><main><h1>` + title + `</h1>` + body + `</main></body></html>`
}

const signUpForm = `<form method="post" action="/done">
<label for="name">Full name</label> <input id="name" name="name" autocomplete="name">
<label for="email">Email address</label> <input id="email" name="email" type="email" autocomplete="email">
<button type="submit">Continue</button>
</form>`

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{}
	mux := http.NewServeMux()
	serve := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("GET /form", serve(page("Sign up", signUpForm)))
	mux.HandleFunc("POST /done", func(w http.ResponseWriter, r *http.Request) {
		// The answer comes late, as a busy service's does, so a harness that did not
		// wait for the navigation would read the form page it is leaving.
		time.Sleep(300 * time.Millisecond)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.posted = append(s.posted, r.PostForm.Get("name")+" <"+r.PostForm.Get("email")+">")
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page("Thank you, "+html.EscapeString(r.PostForm.Get("name")), `<p><a href="/form">Start again</a></p>`))
	})
	// Two violations axe rates critical: a field with no label, an image with no text.
	mux.HandleFunc("GET /unlabelled", serve(page("Broken", `<form><input id="nameless" name="q"><button>Search</button></form><img src="/pixel.png">`)))
	// The strict policy forbids every script but the site's own files, so the inline
	// script must not run (the title stays) while axe, injected by the debugger, must.
	mux.HandleFunc("GET /csp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		serve(page("Strict", `<script>document.title = "inline script ran"</script><input id="nameless" name="q">`))(w, r)
	})
	// A page whose script enhances it, and one whose script breaks.
	mux.HandleFunc("GET /enhanced", serve(page("Enhanced", `<p id="js">without scripts</p>`+signUpForm+`<script src="/enhance.js"></script>`)))
	mux.HandleFunc("GET /enhance.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.getElementById("js").textContent = "with scripts";`)
	})
	mux.HandleFunc("GET /throws", serve(page("Throws", `<script src="/throw.js"></script>`)))
	mux.HandleFunc("GET /throw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `console.error("about to fail"); throw new Error("enhancement broke");`)
	})
	// Markup the HTML parser mends without a word (a list item outside a list, one id
	// twice), and a stacked table with the ARIA roles the portal gives on purpose.
	mux.HandleFunc("GET /invalid", serve(page("Invalid", `<p id="x">One</p><p id="x">Two</p><span><li>stray</li></span>`)))
	mux.HandleFunc("GET /stacked", serve(page("Stacked", `<table role="table"><caption>Rows</caption><thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">Name</th></tr></thead><tbody role="rowgroup">`+"\n    "+`<tr role="row"><td role="cell">One</td></tr></tbody></table>`)))
	// Roles on a table's rows and cells that take its semantics away, not give them back.
	mux.HandleFunc("GET /unstacked", serve(page("Unstacked", `<table><caption>Rows</caption><tr><th scope="col" role="presentation">Name</th></tr><tr><td role="button">One</td></tr></table>`)))
	// A table wider than any window, scrolling sideways in its own region.
	mux.HandleFunc("GET /wide", serve(page("Wide", `<div class="table-wrap" role="region" aria-label="Wide rows" tabindex="0" style="overflow-x: auto">`+
		`<table style="width: 2000px"><caption>Rows</caption><tr><th scope="col">Name</th><th scope="col">Action</th></tr><tr><td>One</td><td>Replay</td></tr></table></div>`)))
	mux.HandleFunc("GET /links", serve(page("Links", `<p><a href="/unlabelled">A broken page</a></p>`)))
	mux.HandleFunc("GET /nofocus", serve(page("Hidden focus",
		`<style>button:focus, button:focus-visible { outline: none; }</style><button type="button">Go</button>`)))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *site) lastPost() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.posted) == 0 {
		return ""
	}
	return s.posted[len(s.posted)-1]
}

// recorder is a testing.TB that keeps the failures reported to it instead of failing
// the test, so a test can assert that the harness reports a fault. Fatal and Skip end
// the goroutine, as they do in a real test; capture runs fn on its own goroutine.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
	skipped  string
}

func (r *recorder) Helper() {}
func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, s)
}
func (r *recorder) Errorf(format string, args ...any) { r.add(fmt.Sprintf(format, args...)) }
func (r *recorder) Error(args ...any)                 { r.add(fmt.Sprint(args...)) }
func (r *recorder) Fail()                             { r.add("Fail") }
func (r *recorder) Fatalf(format string, args ...any) {
	r.add(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) { r.add(fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) FailNow()          { r.add("FailNow"); runtime.Goexit() }
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) SkipNow() { r.skipped = "SkipNow"; runtime.Goexit() }
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failures) > 0
}
func (r *recorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.failures, "\n")
}

func capture(t *testing.T, fn func(tb testing.TB)) *recorder {
	t.Helper()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func TestCleanAccessibleFormPasses(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	b.Open(s.URL + "/form")
	vs, err := b.Accessibility()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Errorf("violation on a clean page: %s", v)
	}
	b.CheckAccessibility(t)
}

func TestSeriousViolationsAreReported(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	b.Open(s.URL + "/unlabelled")
	r := capture(t, b.CheckAccessibility)
	got := r.all()
	t.Logf("the harness reported:\n%s", got)
	for _, want := range []string{"2 serious or critical violations", "label (critical)", `["#nameless"]`, "image-alt (critical)", `["img"]`} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestStrictCSPPageStillGetsAxe(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	b.Open(s.URL + "/csp")
	if got := b.Title(); got != "Strict" {
		t.Fatalf("title = %q: the page's policy did not stop its inline script, so this test proves nothing", got)
	}
	if errs := strings.Join(b.TakePageErrors(), "\n"); !strings.Contains(errs, "Executing inline script violates") {
		t.Errorf("the blocked inline script was not reported as a page error; got:\n%s", errs)
	}
	r := capture(t, b.CheckAccessibility)
	if got := r.all(); !strings.Contains(got, "label (critical)") {
		t.Errorf("axe did not run under the page's policy; report:\n%s", got)
	}
}

func TestCheckEveryPageChecksWhereAClickLeads(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	b.CheckEveryPage()
	b.Open(s.URL + "/links")
	r := capture(t, func(tb testing.TB) { b.WithTB(tb).Click(browsertest.Role("link", "A broken page")) })
	if got := r.all(); !strings.Contains(got, "/unlabelled found 2 serious or critical violations") {
		t.Errorf("the page the link led to was not checked; report:\n%s", got)
	}
	takeBrokenHTML(t, b)
}

// haveHTMLChecker reports whether the Nu Html Checker can run here; in CI it must.
func haveHTMLChecker() bool {
	_, err := browsertest.FindVnu()
	return err == nil || os.Getenv("CI") == "true"
}

// takeBrokenHTML takes the HTML checker's errors about /unlabelled, which a test loaded
// on purpose, and checks that it found the image without a text alternative.
func takeBrokenHTML(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	if !haveHTMLChecker() {
		return
	}
	errs := strings.Join(b.TakeHTMLErrors(), "\n")
	if !strings.Contains(errs, "/unlabelled, line 1: error: An “img” element must have an “alt” attribute") {
		t.Errorf("the HTML checker did not find the image without alt on /unlabelled:\n%s", errs)
	}
}

// TestTheHTMLOfEveryPageIsChecked: with CheckEveryPage on, each page's HTML as the
// server sent it goes to the Nu Html Checker; its errors fail the test, named by the
// page's address, but for the stacked tables' roles, which the portal gives on purpose.
func TestTheHTMLOfEveryPageIsChecked(t *testing.T) {
	if !haveHTMLChecker() {
		t.Skip("no HTML checker (cd tools && npm ci; apt-get install default-jre-headless)")
	}
	s := newSite(t)
	b := browsertest.New(t)
	r := capture(t, func(tb testing.TB) {
		c := b.WithTB(tb)
		c.CheckEveryPage()
		c.Open(s.URL + "/form")
		c.Open(s.URL + "/invalid")
		c.Open(s.URL + "/stacked")
		c.Open(s.URL + "/unstacked")
		c.CheckHTML()
	})
	got := r.all()
	for _, want := range []string{s.URL + "/invalid, line", "Duplicate ID “x”", "Element “li” not allowed",
		// Only the roles that give a stacked table its semantics back are accepted.
		`role="presentation">Name`, `role="button">One`} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
	for _, clean := range []string{s.URL + "/form,", s.URL + "/stacked,"} {
		if strings.Contains(got, clean) {
			t.Errorf("%s was reported:\n%s", clean, got)
		}
	}
}

// TestAPageLoadedAgainUnchangedIsCheckedOnceAndReportedEachTime: the checker reads
// each page's bytes once for the process (a journey loads many pages again, the reflow
// test each at five widths), and its errors still fail the test for every address that
// served them.
func TestAPageLoadedAgainUnchangedIsCheckedOnceAndReportedEachTime(t *testing.T) {
	if !haveHTMLChecker() {
		t.Skip("no HTML checker (cd tools && npm ci; apt-get install default-jre-headless)")
	}
	s := newSite(t)
	b := browsertest.New(t)
	var before int
	r := capture(t, func(tb testing.TB) {
		c := b.WithTB(tb)
		c.CheckEveryPage()
		c.Open(s.URL + "/invalid?first")
		c.CheckHTML()
		before = browsertest.HTMLChecksMade()
		c.Open(s.URL + "/invalid?second")
		c.Open(s.URL + "/invalid?third")
		c.CheckHTML()
	})
	if made := browsertest.HTMLChecksMade() - before; made != 0 {
		t.Errorf("the same page loaded twice more was given to the checker %d times more, want none", made)
	}
	got := r.all()
	for _, want := range []string{"/invalid?first, line", "/invalid?second, line", "/invalid?third, line"} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
}

// TestTheHTMLCheckerStartsWhenItsPortIsTakenFirst: the checker is given a port that
// was free when picked; when another process binds it first, the checker tries
// another, where it used to end, failing every journey after it in the package.
func TestTheHTMLCheckerStartsWhenItsPortIsTakenFirst(t *testing.T) {
	if !haveHTMLChecker() {
		t.Skip("no HTML checker (cd tools && npm ci; apt-get install default-jre-headless)")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = taken.Close() }()
	port := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)
	url, stop, err := browsertest.StartHTMLCheckerOn(port)
	if err != nil {
		t.Fatalf("the checker did not start when its first port was taken: %v", err)
	}
	defer stop()
	if strings.Contains(url, ":"+port+"/") {
		t.Errorf("the checker answers on %s, the port another process holds", url)
	}
}

func TestKeyboardOnlyJourney(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	b.CheckEveryPage()

	// Tab to the button and press Enter.
	b.Open(s.URL + "/form")
	b.TabTo("Full name")
	b.Type("Ada Lovelace")
	b.TabTo("Email address")
	b.Type("ada@example.org")
	b.TabTo("Continue")
	b.Enter()
	if got := b.Text(browsertest.CSS("h1")); got != "Thank you, Ada Lovelace" {
		t.Errorf("heading after submitting = %q", got)
	}
	if got := s.lastPost(); got != "Ada Lovelace <ada@example.org>" {
		t.Errorf("server got %q", got)
	}

	// Back by the link, then Enter in a field submits the form it is in.
	b.TabTo("Start again")
	b.Enter()
	if !strings.HasSuffix(b.CurrentURL(), "/form") {
		t.Fatalf("following the link by keyboard led to %s", b.CurrentURL())
	}
	b.TabTo("Full name")
	b.Type("Grace Hopper")
	b.ShiftTab()
	if f := b.Focused(); f.Name == "Full name" {
		t.Errorf("Shift+Tab left the focus on %s", f)
	}
	b.TabTo("Full name")
	b.Enter()
	if got := b.Text(browsertest.CSS("h1")); got != "Thank you, Grace Hopper" {
		t.Errorf("heading after Enter in a field = %q", got)
	}
}

func TestPointerJourneyAndScreenshot(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	b.Open(s.URL + "/form")
	b.Fill("Full name", "Katherine Johnson")
	b.Fill("Email address", "kj@example.org")
	b.Fill("Full name", "Mary Jackson") // replaces, not appends
	b.Submit()
	if got := b.Text(browsertest.Role("heading", "Thank you, Mary Jackson")); got != "Thank you, Mary Jackson" {
		t.Errorf("heading = %q", got)
	}
	if got := s.lastPost(); got != "Mary Jackson <kj@example.org>" {
		t.Errorf("server got %q", got)
	}
	b.Click(browsertest.Role("link", "Start again"))
	if got := b.Value(browsertest.Label("Full name")); got != "" {
		t.Errorf("a fresh form has %q in it", got)
	}

	// Into a directory not made yet, as the README's -all-screenshots with another
	// directory is typed: the journeys' first picture failed on "no such file".
	path := filepath.Join(t.TempDir(), "pictures", "form.png")
	b.Screenshot(path)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if w := img.Bounds().Dx(); w != 1280 {
		t.Errorf("screenshot is %d pixels wide, want the window's 1280", w)
	}
}

func TestHarnessReportsWhatAJourneyCannotDo(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)

	b.Open(s.URL + "/form")
	r := capture(t, func(tb testing.TB) { b.WithTB(tb).TabTo("Delete everything") })
	if got := r.all(); !strings.Contains(got, `"Delete everything" not reached`) || !strings.Contains(got, `button "Continue"`) {
		t.Errorf("unreachable control not reported with the focus path:\n%s", got)
	}

	b.Open(s.URL + "/nofocus")
	r = capture(t, func(tb testing.TB) { b.WithTB(tb).TabTo("Go") })
	if got := r.all(); !strings.Contains(got, "focus not visible") {
		t.Errorf("a focus hidden by outline:none was not reported:\n%s", got)
	}

	b.Open(s.URL + "/form")
	b.Timeout /= 10
	r = capture(t, func(tb testing.TB) { b.WithTB(tb).Click(browsertest.Role("button", "Cancel")) })
	if got := r.all(); !strings.Contains(got, `matches the button named "Cancel"`) {
		t.Errorf("a missing button was not reported:\n%s", got)
	}
	r = capture(t, func(tb testing.TB) { b.WithTB(tb).Text(browsertest.CSS("label")) })
	if got := r.all(); !strings.Contains(got, "2 elements") {
		t.Errorf("an ambiguous selector was not reported:\n%s", got)
	}
	r = capture(t, func(tb testing.TB) { b.WithTB(tb).Text(browsertest.CSS("h1[")) })
	if got := r.all(); !strings.Contains(got, `find CSS "h1["`) || !strings.Contains(got, "not a valid selector") {
		t.Errorf("a malformed selector was not reported:\n%s", got)
	}
}

func TestPageErrorsFailTheTest(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	r := capture(t, func(tb testing.TB) {
		c := b.WithTB(tb)
		c.Open(s.URL + "/throws")
		c.Open(s.URL + "/form")
	})
	got := r.all()
	for _, want := range []string{"console.error: \"about to fail\"", "uncaught Error: enhancement broke"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestJourneyWithoutJavaScript(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	b.Open(s.URL + "/enhanced")
	if got := b.Text(browsertest.CSS("#js")); got != "with scripts" {
		t.Fatalf("the page's script did not run with scripts on: %q", got)
	}

	b.DisableJavaScript()
	b.CheckEveryPage()
	b.Open(s.URL + "/enhanced")
	if got := b.Text(browsertest.CSS("#js")); got != "without scripts" {
		t.Errorf("the page's script ran with scripts off: %q", got)
	}
	b.TabTo("Full name")
	b.Type("Dorothy Vaughan")
	b.Enter()
	if got := b.Text(browsertest.CSS("h1")); got != "Thank you, Dorothy Vaughan" {
		t.Errorf("heading after submitting without scripts = %q", got)
	}
	b.Open(s.URL + "/enhanced")
	if got := b.Text(browsertest.CSS("#js")); got != "without scripts" {
		t.Errorf("scripts came back on after axe ran: %q", got)
	}
	r := capture(t, func(tb testing.TB) { b.WithTB(tb).Open(s.URL + "/unlabelled") })
	if got := r.all(); !strings.Contains(got, "label (critical)") {
		t.Errorf("axe did not run on a page without scripts:\n%s", got)
	}
	takeBrokenHTML(t, b)
}

func TestNoChromium(t *testing.T) {
	t.Setenv("CHROMIUM", filepath.Join(t.TempDir(), "chromium"))

	t.Setenv("CI", "")
	r := capture(t, func(tb testing.TB) { browsertest.New(tb) })
	if r.skipped != browsertest.SkipMessage || r.Failed() {
		t.Errorf("outside CI: skipped %q, failures %q; want a skip saying %q", r.skipped, r.all(), browsertest.SkipMessage)
	}

	t.Setenv("CI", "true")
	r = capture(t, func(tb testing.TB) { browsertest.New(tb) })
	if r.skipped != "" || !strings.Contains(r.all(), ".ci/run should have installed Chromium") {
		t.Errorf("in CI: skipped %q, failures %q; want a failure naming .ci/run", r.skipped, r.all())
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.StopHTMLChecker()
	os.Exit(code)
}

// A table wider than a desktop's page, its last columns to be found by scrolling it
// sideways, fails the test on any page the browser loads with CheckEveryPage, as an
// axe violation does; on a phone's screen it may scroll so, and a test of content
// wider than any column may allow it, saying why.
func TestATableWiderThanADesktopsPageFailsTheTest(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	b.CheckEveryPage()
	r := capture(t, func(tb testing.TB) { b.WithTB(tb).Open(s.URL + "/wide") })
	if got := r.all(); !strings.Contains(got, "/wide, in a desktop's window, a table is wider than the page") || !strings.Contains(got, "Wide rows") {
		t.Errorf("a table 2000 pixels wide at 1280 was not reported; report:\n%s", got)
	}
	b.SetViewport(375, 800)
	if r := capture(t, func(tb testing.TB) { b.WithTB(tb).Open(s.URL + "/wide") }); r.Failed() {
		t.Errorf("the wide table failed the test on a phone's screen: %s", r.all())
	}
	b.SetViewport(1280, 900)
	b.AllowWideTables("a table of 2000 pixels")
	if r := capture(t, func(tb testing.TB) { b.WithTB(tb).Open(s.URL + "/wide") }); r.Failed() {
		t.Errorf("the wide table failed the test that allowed it: %s", r.all())
	}
}
