package pages

import (
	"net/http"

	"github.com/itss/techcommit/services/portal/static"
)

// maxFormBytes bounds a request's body. The largest form is the submission editor's:
// four narratives of up to 20,000 characters and the consultation's 8,000, which a
// browser percent-encodes in up to 12 bytes a character (a four-byte character as
// four %XX), about 1.06 MB; 64 KiB, the bound before, was reached by four narratives
// of plain English at their limit.
const maxFormBytes = 3 << 19 // 1.5 MiB

// Routes is every URL the portal answers, at a glance. Forms are protected against
// cross-origin posts as a whole (http.CrossOriginProtection refuses a non-safe
// request that the browser says came from another site).
func (h *Handler) Routes() http.Handler {
	mux := http.NewServeMux()
	page := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, noStore(f)) }

	// Public.
	page("GET /{$}", h.home)
	page("GET /directory", h.directory)
	page("GET /fund/rounds", h.rounds)
	page("GET /privacy", h.privacy)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static.Files)))
	mux.Handle("GET /.well-known/jwks.json", h.minter.JWKS())

	// Signing in and out.
	page("GET /signin", h.signinShow)
	page("POST /signin", h.signinRequest)
	page("GET /signin/{token}", h.signinLinkShow)
	page("POST /signin/{token}", h.signinLinkUse)
	page("GET /signin/ops", h.opsStart)
	page("GET /auth/callback", h.opsFinish)
	page("POST /signout", h.signout)
	page("POST /stay-signed-in", h.staySignedIn) // signs in again itself, to the page

	// A signed-in person's own pages.
	page("GET /account", h.signedIn(h.account))
	page("GET /obligations/{org}", h.signedIn(h.obligations))
	page("POST /obligations/{org}/calendar/rotate", h.signedIn(h.calendarRotate))
	page("GET /obligations/{org}/feedback/{submission}", h.signedIn(h.feedback))
	page("GET /obligations/{org}/submissions/{submission}", h.signedIn(h.submitted))
	page("GET /reviews", h.signedIn(h.reviews))
	page("GET /reviews/{round}/{submission}", h.signedIn(h.reviewLink))
	page("POST /reviews/{round}/{submission}/respond", h.signedIn(h.reviewRespond))

	// A lead's organisation's fund applications, and the API tokens for its tools;
	// every organisation's tokens for ITSS staff.
	page("GET /organisations/{org}/fund", h.signedIn(h.fundApplications))
	page("GET /organisations/{org}/fund/{application}", h.signedIn(h.fundApplication))
	page("GET /organisations/{org}/tokens", h.signedIn(h.apiTokens))
	page("POST /organisations/{org}/tokens", h.signedIn(h.apiTokenCreate))
	page("GET /organisations/{org}/tokens/{token}/revoke", h.signedIn(h.apiTokenRevokeConfirm))
	page("POST /organisations/{org}/tokens/{token}/revoke", h.signedIn(h.apiTokenRevoke))
	page("POST /organisations/{org}/applicants", h.signedIn(h.applicantAdd))
	page("POST /organisations/{org}/applicants/remove", h.signedIn(h.applicantRemove))
	page("GET /ops/api-tokens", h.signedIn(h.opsOnly(h.opsAPITokens)))
	page("GET /ops/api-tokens/{token}/revoke", h.signedIn(h.opsOnly(h.opsAPITokenRevokeConfirm)))
	page("POST /ops/api-tokens/{token}/revoke", h.signedIn(h.opsAPITokenRevoke))

	// The reviewer's review of an assigned submission (its page is reviewLink, above).
	page("POST /reviews/{round}/{submission}", h.signedIn(h.reviewSubmit))
	page("POST /reviews/{round}/{submission}/draft", h.signedIn(h.reviewSave))
	// Where the fund's emails link: on to the lead's page of the application.
	page("GET /fund/applications/{application}", h.signedIn(h.fundApplicationLink))

	// The lead's submission editor and contacts.
	page("GET /obligations/{org}/submission", h.signedIn(h.submissionShow))
	page("POST /obligations/{org}/submission", h.signedIn(h.submissionSave))
	page("POST /obligations/{org}/submission/submit", h.signedIn(h.submissionSubmit))
	page("GET /obligations/{org}/submission/items/new", h.signedIn(h.itemNew))
	page("POST /obligations/{org}/submission/items", h.signedIn(h.itemSave))
	page("GET /obligations/{org}/submission/items/{n}", h.signedIn(h.itemEdit))
	page("POST /obligations/{org}/submission/items/{n}", h.signedIn(h.itemSave))
	page("POST /obligations/{org}/submission/items/{n}/remove", h.signedIn(h.itemRemove))
	page("POST /obligations/{org}/submission/previous/{n}/carry", h.signedIn(h.itemCarry))
	page("GET /obligations/{org}/contacts", h.signedIn(h.contactsShow))
	page("POST /obligations/{org}/contacts", h.signedIn(h.contactsSave))

	// The ITSS operations console (ops_*.go).
	h.opsRoutes(page)

	page("/", h.notFound)

	protect := http.NewCrossOriginProtection()
	protect.SetDenyHandler(http.HandlerFunc(h.crossOrigin))
	// A body over the bound is refused, saying so, before any handler reads a field.
	bounded := http.MaxBytesHandler(protect.Handler(h.session(h.formRead(routed(mux)))), maxFormBytes)
	return headers(h.hstsMaxAge, accessLog(h.logger, h.metrics, deadline(h.timeout, bounded)))
}
