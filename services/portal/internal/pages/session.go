package pages

import (
	"net/http"

	"github.com/itss/techcommit/libs/inwords"
	"github.com/itss/techcommit/services/portal/internal/signin"
	"github.com/itss/techcommit/services/portal/internal/templates"
)

// sessionNotice is what a page says of the visitor's sign-in: when it ends, and how
// to put that off while it can be (WCAG 2.2.1, Timing Adjustable). Every request
// renews the sign-in (signin.Sessions.Get), so the end it names is the lifetime
// from now, unless the longest lifetime comes first.
func (h *Handler) sessionNotice(r *http.Request, s signin.Session) *templates.Session {
	n := &templates.Session{Ends: longTime(s.Expires), Renewable: s.Renewable(),
		Renewed: inwords.Duration(h.sessions.Lifetime()), Latest: inwords.Duration(h.sessions.MaxLifetime()), SignIn: "/signin"}
	if s.Ops {
		n.SignIn = "/signin/ops" // ITSS staff sign in through their identity provider
	}
	if r.Method == http.MethodGet && localPath(r.URL.RequestURI()) {
		n.Page = r.URL.RequestURI()
	}
	return n
}

// staySignedIn is the "Stay signed in" button: the visitor's session was renewed on
// the way here (as by any request), and they go back to the page they pressed it on,
// which says until when. Pressed once the sign-in has ended (a tab left open
// overnight), it sent nothing that could be lost: it is the page opened again, so
// it leads to the sign-in (ITSS staff's for a console page) and from there back to
// the page, not to signedIn's word that what was sent was not saved.
func (h *Handler) staySignedIn(w http.ResponseWriter, r *http.Request) {
	page := r.PostFormValue("page")
	if !localPath(page) {
		page = "/account"
	}
	if _, ok := visitorFrom(r.Context()); !ok {
		h.toSignIn(w, r, page)
		return
	}
	http.Redirect(w, r, page+"#session", http.StatusSeeOther)
}
