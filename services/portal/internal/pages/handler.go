// Package pages is the portal's web pages: one file per page action, forms decoded
// in form/, every URL in routes.go.
package pages

import (
	"cmp"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/deadletter"
	"github.com/itss/techcommit/libs/inwords"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/ratelimit"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/reviewdrafts"
	"github.com/itss/techcommit/services/portal/internal/signin"
	"github.com/itss/techcommit/services/portal/internal/templates"
)

// Handler serves the pages.
type Handler struct {
	render        *templates.Renderer
	people        *signin.People
	sessions      *signin.Sessions
	links         *signin.Links
	requester     *signin.Requester
	minter        *signin.Minter
	clients       *clients.Clients
	tokens        *apitokens.Store
	drafts        *reviewdrafts.Store
	staff         *signin.Staff
	ops           signin.OpsFlow
	clock         clock.Clock
	logger        *slog.Logger
	proxies       []netip.Prefix
	secureCookies bool
	hstsMaxAge    int
	timeout       time.Duration
	orgNames      heldLabels
	subNames      heldLabels
	// outcomes seals the outcomes of actions for the pages they redirect to.
	outcomes cipher.AEAD
	holdings func(context.Context, string, string) ([]personal.Record, error)
	letters  PortalLetters
	metrics  *httpMetrics
	// contact is ITSS's address for people to write to; dpo its data protection
	// officer's; transfers its page about data sent outside the UK; staffNames how
	// long ITSS staff's names are kept: all for the privacy notice.
	contact    string
	dpo        string
	transfers  string
	staffNames time.Duration
}

// Deps are what the pages need. Ops may be nil until the OpenID Connect sign-in is
// plugged in: /signin/ops then says it is not available.
// PortalLetters is the portal's view of the dead-letter stream: the letters its own
// consumers gave up on (a deadletter.Box over them).
type PortalLetters interface {
	List(ctx context.Context, after uint64, limit int) (deadletter.Page, error)
	Replay(ctx context.Context, seq uint64) (deadletter.Letter, error)
}

type Deps struct {
	People    *signin.People
	Sessions  *signin.Sessions
	Links     *signin.Links
	Requester *signin.Requester
	Minter    *signin.Minter
	Clients   *clients.Clients
	// Tokens are the API tokens for organisations' tools; nil leaves their pages out.
	Tokens *apitokens.Store
	// Drafts are reviewers' reviews saved part-way; nil offers no saving.
	Drafts *reviewdrafts.Store
	// Staff records the names of ITSS staff who sign in, for the console's
	// histories; nil shows them by their identity provider's subject.
	Staff         *signin.Staff
	Ops           signin.OpsFlow
	Clock         clock.Clock
	Logger        *slog.Logger
	Proxies       []netip.Prefix
	SecureCookies bool
	HSTSMaxAge    int
	// RequestTimeout bounds a page's work, its calls to the services included.
	RequestTimeout time.Duration
	// Holdings finds what the portal's own database holds about a person, by their
	// address and, for ITSS staff, their OpenID subject ("" for anyone else), for the
	// subject access download (nil: the download names only the four services).
	Holdings func(ctx context.Context, email, subject string) ([]personal.Record, error)
	// Metrics is where the pages count their requests (nil: not counted).
	Metrics prometheus.Registerer
	// Letters are the portal's own consumers' dead letters (deadletter.Box), which the
	// console lists and replays beside the services'; nil shows none.
	Letters PortalLetters
	// OutcomeKey (32 bytes) seals the outcomes of actions for the pages they
	// redirect to (see keepOutcome). Every replica has the same.
	OutcomeKey []byte
	// Contact is ITSS's address for people to write to (PORTAL_CONTACT_EMAIL):
	// every page's footer gives it, and the privacy notice says to ask there.
	Contact string
	// DPO is the address of ITSS's data protection officer (PORTAL_DPO_CONTACT),
	// which the privacy notice gives; empty when ITSS has appointed none, which the
	// notice then says.
	DPO string
	// Transfers is the address of ITSS's page about the transfers of people's data
	// outside the UK (PORTAL_TRANSFERS_OUTSIDE_UK), which the privacy notice links
	// to; empty when none leaves the UK, which the notice then says.
	Transfers string
	// StaffNameRetention is how long ITSS staff's names are kept after their latest
	// sign-in (PORTAL_STAFF_NAME_RETENTION), which the privacy notice says.
	StaffNameRetention time.Duration
}

// New checks its dependencies and parses the templates.
func New(d Deps) (*Handler, error) {
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = 10 * time.Second
	}
	if d.StaffNameRetention <= 0 {
		return nil, errors.New("pages: the staff names' retention is required: the privacy notice states it")
	}
	if d.People == nil || d.Sessions == nil || d.Links == nil || d.Requester == nil || d.Minter == nil || d.Clients == nil || d.Clock == nil || d.Logger == nil {
		return nil, errors.New("pages: people, sessions, links, requester, minter, clients, clock and logger are required")
	}
	outcomes, err := newOutcomeSealer(d.OutcomeKey)
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	r, err := templates.New(d.Contact)
	if err != nil {
		return nil, err
	}
	var metrics *httpMetrics
	if d.Metrics != nil {
		if metrics, err = newHTTPMetrics(d.Metrics); err != nil {
			return nil, err
		}
	}
	return &Handler{render: r, people: d.People, sessions: d.Sessions, links: d.Links, requester: d.Requester, minter: d.Minter,
		clients: d.Clients, tokens: d.Tokens, drafts: d.Drafts, staff: d.Staff, ops: d.Ops, clock: d.Clock, logger: d.Logger, proxies: d.Proxies, secureCookies: d.SecureCookies,
		hstsMaxAge: d.HSTSMaxAge, timeout: d.RequestTimeout, holdings: d.Holdings, metrics: metrics, outcomes: outcomes, letters: d.Letters,
		contact: d.Contact, dpo: d.DPO, transfers: d.Transfers, staffNames: d.StaffNameRetention}, nil
}

// show renders a page for the visitor of r.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, status int, name, title string, errs []templates.FieldError, data any) {
	if status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
		// A 429 from a page that did not say how long to wait still says it.
		retryAfter(w, tryAgainIn)
	}
	heading := title
	if o, ok := data.(orgTitled); ok {
		if org := o.titleOrg(); org != "" && !strings.Contains(title, org) {
			title += ": " + org
		}
	}
	p := templates.Page{Title: title, Heading: heading, Errors: errs, Data: data}
	if d, ok := data.(refusing); ok {
		p.Refused = d.refused()
	}
	if v, ok := visitorFrom(r.Context()); ok {
		name := v.session.Name
		if name == "" {
			name = v.person.Name()
		}
		p.Person = &templates.Person{Name: name, Session: h.sessionNotice(r, v.session)}
	}
	if err := h.render.Render(w, status, name, p); err != nil {
		h.logger.ErrorContext(r.Context(), "render page", "route", r.Pattern, "error", err)
		http.Error(w, "Sorry, something went wrong.", http.StatusInternalServerError)
	}
}

// message is a page that only says something; Resend, when set, holds a form's
// fields to send again.
type message struct {
	Message, Link, LinkText string
	Resend                  *resend
}

// resend is a form sent when it could not be dealt with, held on the page that says
// so: its fields as they were sent, to the same address, so that what the visitor
// typed is neither lost nor typed again.
type resend struct {
	Action string
	Fields []sentField
	// Prose says some field is shown.
	Prose bool
}

// sentField is one value of a form sent. Prose (a value with a space or a line in
// it) is shown, labelled by Label, Rows high, for the visitor to read and copy; the
// rest (a rating, the version the form was read at, a key) is sent again unseen.
type sentField struct {
	Name, Label, Value string
	Shown              bool
	Rows               int
}

// resendOf holds what r's form sent, its fields in the order of their names.
func resendOf(r *http.Request) *resend {
	out := &resend{Action: r.URL.RequestURI()}
	for _, name := range slices.Sorted(maps.Keys(r.PostForm)) {
		label := strings.NewReplacer("-", " ", "_", " ", ".", " ").Replace(name)
		if label != "" {
			label = strings.ToUpper(label[:1]) + label[1:]
		}
		for _, v := range r.PostForm[name] {
			f := sentField{Name: name, Label: label, Value: v, Shown: strings.ContainsAny(strings.TrimSpace(v), " \t\r\n")}
			if f.Shown {
				f.Rows = min(max(strings.Count(v, "\n")+1, len(v)/70+1), 12)
			}
			out.Fields, out.Prose = append(out.Fields, f), out.Prose || f.Shown
		}
	}
	return out
}

func (h *Handler) say(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	h.show(w, r, status, "message", title, nil, message{Message: text})
}

// fail logs an unexpected error and shows a page that says so without detail, but
// with what the visitor can do: a service that did not answer (or answered with its
// own failure) is 503, to be tried again in a few minutes; and a form sent when it
// happened may not have been saved, so the page holds what was sent, to send again
// as it is. Telling the visitor to go back to what they typed lost it: the pages are
// not cached (no-store), so going back asks the service that did not answer for the
// form again, and an hour's narrative went with the outage.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.logger.ErrorContext(r.Context(), "page failed", "route", r.Pattern, "error", err)
	status, title, then := http.StatusInternalServerError, "Sorry, there is a problem with the service", "Try again later"
	if unavailable(err) {
		status, title, then = http.StatusServiceUnavailable, "Sorry, the service is not available at the moment", "Try again in a few minutes"
		retryAfter(w, tryAgainIn)
	}
	m := message{Message: then + ". If it goes on, contact ITSS at " + h.contact + "."}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		m.Message = "What you sent may not have been saved. This page holds it: " + strings.ToLower(then[:1]) + then[1:] +
			" with Send it again, or copy what you wrote (below) before you leave this page. If it goes on, contact ITSS at " + h.contact + "."
		m.Resend = resendOf(r)
	}
	h.show(w, r, status, "message", title, nil, m)
}

// unavailable says err is a service's not answering, or answering with a failure of
// its own, or the portal's own database or NATS not answering, rather than a fault of
// the portal's.
func unavailable(err error) bool {
	if apperr.Is(err, apperr.Unavailable) {
		return true
	}
	var p *clients.Problem
	if errors.As(err, &p) {
		return p.Status >= 500
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// serviceProblem shows what a service answered when it refused a call that was not
// about a form's fields.
func (h *Handler) serviceProblem(w http.ResponseWriter, r *http.Request, p *clients.Problem) {
	switch {
	case pageRefused(r, p):
		// Every paged list's refused page is answered alike, whichever service's.
		h.pageGone(w, r)
	case p.Status == http.StatusNotFound || p.Status == http.StatusForbidden:
		h.notFound(w, r)
	case p.Status == http.StatusTooManyRequests:
		// The service's own wait is passed on, in the header and in words alike,
		// so that the visitor is told no sooner, and no later, than the service
		// will answer again.
		wait := p.RetryAfter
		if wait <= 0 {
			wait = tryAgainIn
		}
		retryAfter(w, wait)
		m := message{Message: "Wait " + inwords.Duration(wait) + " and try again."}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// As fail's: going back would ask for the form again, without what
			// was typed into it.
			m.Message = "What you sent may not have been saved. This page holds it: wait " + inwords.Duration(wait) + ", then send it again."
			m.Resend = resendOf(r)
		}
		h.show(w, r, http.StatusTooManyRequests, "message", "Too many requests", nil, m)
	case p.Status >= 500:
		h.fail(w, r, p)
	default:
		h.say(w, r, p.Status, "There is a problem", opsSentence(p.Detail))
	}
}

// tryAgainIn is how long a 429 tells the client to wait when nothing more precise
// is known: what the pages say ("Wait a minute"), and the longest the sign-in
// form's limit per client, counted a minute at a time, keeps a client waiting.
const tryAgainIn = time.Minute

// retryAfter sets the Retry-After of a 429 (RFC 6585): d in whole seconds,
// rounded up, at least one.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(int(math.Ceil(d.Seconds())), 1)))
}

// notFound says a page is not there, or not the visitor's (the two are one answer,
// so that nobody learns what exists). A signed-in visitor is told whom they are
// signed in as, since a link sent to another of their addresses, or to a colleague,
// lands here; and one who is not ITSS staff, asking for the console, is told where
// staff sign in.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	text := "If you typed the address, check it is correct. If you followed a link, you may need to sign in as the person it was sent to."
	m := message{}
	if v, ok := visitorFrom(r.Context()); ok {
		who := v.session.Email
		if name := cmp.Or(v.session.Name, v.person.Name()); name != "" && who != "" {
			who = name + " (" + who + ")"
		} else if who == "" {
			who = name
		}
		if who != "" {
			text = "If you typed the address, check it is correct. You are signed in as " + who +
				": if you followed a link sent to someone else, or to another of your addresses, sign out (at the top of the page) and sign in as them."
		}
		if strings.HasPrefix(r.URL.Path, "/ops") && !v.session.Ops {
			m.Link, m.LinkText = "/signin/ops", "Sign in with your ITSS account"
		}
	} else if strings.HasPrefix(r.URL.Path, "/ops") {
		m.Link, m.LinkText = "/signin/ops", "Sign in with your ITSS account"
	}
	m.Message = text
	h.show(w, r, http.StatusNotFound, "message", "Page not found", nil, m)
}

func (h *Handler) crossOrigin(w http.ResponseWriter, r *http.Request) {
	h.say(w, r, http.StatusForbidden, "This form was sent from another site", "Go back to the page on this site and send it from there.")
}

// signedIn sends a visitor who is not signed in to the sign-in page, remembering
// where they were going.
func (h *Handler) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := visitorFrom(r.Context()); !ok {
			signIn, signInText := signInFor(r.URL.Path)
			if r.Method != http.MethodGet {
				// A form sent after the sign-in ended (a long afternoon on a review):
				// sent to the sign-in page, the person lost what they typed without a
				// word. Told instead, they can keep the page, sign in beside it, and
				// send it again from this page, which holds it, as fail's page holds
				// a form: told to go back a page for it, one who had followed this
				// page's own Sign in link met the browser's "Confirm Form
				// Resubmission" (a POST's answer is not cached) on the way.
				h.show(w, r, http.StatusUnauthorized, "message", "Your sign-in has ended", nil, message{
					Message: "What you sent was not saved. This page holds it: sign in again in a new tab or window, then come back to this one and send it again.",
					Link:    signIn, LinkText: signInText, Resend: resendOf(r)})
				return
			}
			h.toSignIn(w, r, r.URL.RequestURI())
			return
		}
		next(w, r)
	}
}

// signInFor is the sign-in page, and its link's words, for a visitor to path whose
// sign-in has ended: ITSS staff sign in through their identity provider for the
// console, as the sign-in page of leads and reviewers would email them no link.
func signInFor(path string) (signIn, text string) {
	if path == "/ops" || strings.HasPrefix(path, "/ops/") {
		return "/signin/ops", "Sign in with your ITSS account"
	}
	return "/signin", "Sign in"
}

// toSignIn sends a visitor who is not signed in to sign in, and then back to page
// (a local path).
func (h *Handler) toSignIn(w http.ResponseWriter, r *http.Request, page string) {
	signIn, _ := signInFor(page)
	// The page with its query (a filtered export, a page of a list), escaped: a
	// cookie's value takes neither commas nor spaces.
	http.SetCookie(w, h.cookie(h.nextCookieName(), url.QueryEscape(page), 1800))
	http.Redirect(w, r, signIn, http.StatusSeeOther)
}

// nextCookie remembers the page a visitor was going to when sent to sign in.
const nextCookie = "tc_next"

// nextCookieName is __Host- prefixed when cookies are Secure, as the session's is:
// a browser then takes it only from this host over https, so that no sibling domain,
// nor anyone on plain http before the first https visit, chooses where a person
// lands after signing in.
func (h *Handler) nextCookieName() string {
	if h.secureCookies {
		return "__Host-" + nextCookie
	}
	return nextCookie
}

// localPath accepts only a path on this site, so that the remembered page cannot
// send anyone elsewhere. It is what signedIn remembers, a request's escaped path
// and query: printable ASCII, no space. A browser drops tabs and line breaks from
// an address and reads a backslash as a slash, so "/<tab>/evil.example" led to
// evil.example; whatever else a cookie holds (one planted by another site) is not
// followed.
func localPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") || len(p) >= 300 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] <= ' ' || p[i] >= 0x7f {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

func (h *Handler) client(r *http.Request) string { return ratelimit.ClientAddr(r, h.proxies) }

// staticFiles serves the files of files by name (the path under /static/), and
// nothing else: a folder is not listed (http.FileServer listed it), and not found.
func staticFiles(files fs.FS) http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, err := fs.Stat(files, strings.TrimPrefix(r.URL.Path, "/")); err != nil || info.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
}

// orgTitled is the data of a lead's page about one of their organisations: the
// page's title names the organisation ("Your submission: University of Aberwen"),
// so that someone who leads two, or has two tabs open, or hears titles read by a
// screen reader, can tell the pages apart.
type orgTitled interface{ titleOrg() string }

func (d contactsData) titleOrg() string         { return d.OrgName }
func (d fundApplicationsData) titleOrg() string { return d.OrgName }
func (d fundApplicationData) titleOrg() string  { return d.OrgName }
func (d submissionData) titleOrg() string       { return d.OrgName }
func (d itemData) titleOrg() string             { return d.OrgName }
func (d tokensData) titleOrg() string           { return d.OrgName }
func (d obligationsData) titleOrg() string      { return d.Org.Name }
func (d feedbackData) titleOrg() string         { return d.OrgName }

// A console form's title names what its caption does (the organisation of an
// onboarding step, the round corrected, the reviewer changed): ITSS staff
// announcing several organisations at once had tabs all titled "Record the
// announcement".
func (d opsFormData) titleOrg() string { return d.Caption }

// refusing is a page's data that may carry a refusal of its own (a save over
// someone else's), which the page's title names as an error.
type refusing interface{ refused() bool }

func (d contactsData) refused() bool   { return d.Stale != "" }
func (d submissionData) refused() bool { return d.Stale != "" }

// A reviewer's page of one assignment names whose submission, and the round, in its
// title: a reviewer with several open in tabs saw "Review a submission" on each.
func (d *reviewPageData) titleOrg() string {
	if d.Whose == "" || d.RoundName == "" {
		return d.Whose
	}
	return d.Whose + " (" + d.RoundName + ")"
}
