package pages

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	"github.com/itss/techcommit/services/portal/internal/signin"
	"github.com/itss/techcommit/services/portal/internal/templates"
)

// signinBusy is what the sign-in form says when its limit per client address is
// spent (PORTAL_SIGNIN_PER_CLIENT a minute).
const signinBusy = "Too many sign-in links have been asked for from your network in the last minute: " +
	"colleagues at your organisation may be signing in too. Wait a minute, then press the button again."

// signinShow is the sign-in form. A person signed in is sent to their pages, unless
// their sign-in can no longer be made longer: its warning on every page says to sign
// in again before it ends, which they do here (the new sign-in ends the old one).
func (h *Handler) signinShow(w http.ResponseWriter, r *http.Request) {
	if v, ok := visitorFrom(r.Context()); ok && v.session.Renewable() {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	h.show(w, r, http.StatusOK, "signin", "Sign in", nil, form.Signin{})
}

// signinRequest answers every well-formed address the same way, known or not,
// limited or not, so that the page tells nobody whom the suite holds.
func (h *Handler) signinRequest(w http.ResponseWriter, r *http.Request) {
	f, errs := form.ParseSignin(r.PostForm)
	if len(errs) > 0 {
		h.show(w, r, http.StatusBadRequest, "signin", "Sign in", errs, f)
		return
	}
	switch err := h.requester.Request(r.Context(), f.Email, h.client(r)); {
	case errors.Is(err, signin.ErrTooManyRequests):
		// The limit counts each client's requests a minute at a time
		// (PORTAL_SIGNIN_PER_CLIENT), so the next minute, which the page names
		// too, is the longest the client waits.
		// Everyone behind one address (a campus's network) shares the allowance,
		// so the person refused may have asked only once: the page says why, and
		// gives the form back with what they typed, to send again.
		retryAfter(w, tryAgainIn)
		h.show(w, r, http.StatusTooManyRequests, "signin", "Sign in", []templates.FieldError{{Message: signinBusy}}, f)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.show(w, r, http.StatusOK, "signin_sent", "Check your email", nil, nil)
}

// confirm is the page a sign-in link opens: a button that signs in. The link is not
// used up by opening it, since mail scanners open links; only the button's post
// (which scanners do not send) uses it.
type confirm struct{ Action string }

func (h *Handler) signinLinkShow(w http.ResponseWriter, r *http.Request) {
	h.show(w, r, http.StatusOK, "signin_confirm", "Sign in", nil, confirm{Action: signin.LinkPath(r.PathValue("token"))})
}

func (h *Handler) signinLinkUse(w http.ResponseWriter, r *http.Request) {
	email, err := h.links.Consume(r.Context(), r.PathValue("token"))
	if errors.Is(err, signin.ErrLinkInvalid) {
		h.linkGone(w, r)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.startSession(w, r, signin.Session{Email: email})
}

// linkGone answers a sign-in link that no longer works.
func (h *Handler) linkGone(w http.ResponseWriter, r *http.Request) {
	h.show(w, r, http.StatusGone, "message", "This sign-in link has expired or been used", nil,
		message{Message: "Each link works once, for 15 minutes.", Link: "/signin", LinkText: "Ask for a new link"})
}

// startSession signs the visitor in, ending any session they had (a new sign-in
// never inherits an old one), and takes them where they were going.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, s signin.Session) {
	if v, ok := visitorFrom(r.Context()); ok {
		if err := h.sessions.End(r.Context(), v.secret); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	secret, err := h.sessions.Start(r.Context(), s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !s.Ops {
		// An erasure landing as the link was used deletes the person's sessions, then
		// their links: a session started after it read the sessions would keep their
		// address. Only an erasure takes an address's records away, so the records
		// are read again now that the session is written: not held, it goes, and the
		// link is answered as one the erasure deleted.
		held, err := h.people.Held(r.Context(), s.Email)
		if err != nil || !held {
			if eerr := h.sessions.End(r.Context(), secret); eerr != nil || err != nil {
				h.fail(w, r, errors.Join(err, eerr))
				return
			}
			h.linkGone(w, r)
			return
		}
	}
	h.setCookie(w, secret)
	next := "/account"
	if c, err := r.Cookie(h.nextCookieName()); err == nil {
		if p, err := url.QueryUnescape(c.Value); err == nil && localPath(p) {
			next = p
		}
	}
	http.SetCookie(w, h.cookie(h.nextCookieName(), "", -1))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	if v, ok := visitorFrom(r.Context()); ok {
		if err := h.sessions.End(r.Context(), v.secret); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.clearCookie(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// opsStart and opsFinish hand ITSS staff to the OpenID Connect flow.
func (h *Handler) opsStart(w http.ResponseWriter, r *http.Request) {
	if h.ops == nil {
		h.say(w, r, http.StatusNotFound, "ITSS staff sign-in is not available", "This portal has no ITSS identity provider configured.")
		return
	}
	if err := h.ops.Start(w, r); err != nil {
		h.logger.ErrorContext(r.Context(), "ops sign-in could not start", "error", err)
		if !h.opsUnavailable(w, r, err) {
			h.fail(w, r, err)
		}
	}
}

// opsUnavailable shows, when err says ITSS's identity provider did not answer, the
// page that says so and to sign in again in a few minutes (503, Retry-After), and
// reports whether it did: the person's account was not refused, and a page saying
// it "could not be signed in" sent them to ask for access they already have.
func (h *Handler) opsUnavailable(w http.ResponseWriter, r *http.Request, err error) bool {
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.Unavailable {
		return false
	}
	retryAfter(w, tryAgainIn)
	h.show(w, r, http.StatusServiceUnavailable, "message", "ITSS staff sign-in is unavailable at the moment", nil,
		message{Message: ae.Message, Link: "/signin/ops", LinkText: "Sign in again"})
	return true
}

func (h *Handler) opsFinish(w http.ResponseWriter, r *http.Request) {
	if h.ops == nil {
		h.notFound(w, r)
		return
	}
	p, err := h.ops.Finish(w, r)
	if err != nil {
		h.logger.WarnContext(r.Context(), "ops sign-in failed", "error", err)
		if h.opsUnavailable(w, r, err) {
			return
		}
		h.say(w, r, http.StatusForbidden, "Sign-in failed", "Your ITSS account could not be signed in to the portal.")
		return
	}
	if h.staff != nil {
		// The name only helps the console's histories read as people: a sign-in
		// goes ahead without it.
		if err := h.staff.Seen(r.Context(), p.Subject, p.Name); err != nil {
			h.logger.WarnContext(r.Context(), "record ops staff name", "error", err)
		}
	}
	h.startSession(w, r, signin.Session{Email: p.Email, Subject: p.Subject, Name: p.Name, Ops: true})
}
