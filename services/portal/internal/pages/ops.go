package pages

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/templates"
)

// opsRoutes is the ITSS operations console: every page under /ops, for ops staff
// only. Each action calls the services as the signed-in person, so that the
// services' history names who did it.
func (h *Handler) opsRoutes(page func(string, http.HandlerFunc)) {
	ops := func(pattern string, f opsHandler) { page(pattern, h.signedIn(h.opsOnly(f))) }

	ops("GET /ops", h.opsToday)

	ops("GET /ops/organisations", h.opsOrganisations)
	ops("GET /ops/organisations.csv", h.opsOrganisationsCSV)
	ops("GET /ops/obligations.csv", h.opsObligationsCSV)
	ops("GET /ops/organisations/new", h.opsEnquiryShow)
	ops("POST /ops/organisations", h.opsEnquiryCreate)
	ops("GET /ops/organisations/{org}", h.opsOrganisation)
	ops("GET /ops/organisations/{org}/{step}", h.opsStepShow)
	ops("POST /ops/organisations/{org}/{step}", h.opsStepSave)

	ops("GET /ops/fund", h.opsFundRounds)
	ops("GET /ops/fund/rounds/new", h.opsRoundShow)
	ops("POST /ops/fund/rounds", h.opsRoundOpen)
	ops("GET /ops/fund/rounds/{round}/edit", h.opsRoundEdit)
	ops("POST /ops/fund/rounds/{round}", h.opsRoundCorrect)
	ops("GET /ops/fund/rounds/{round}/budget", h.opsRoundTermShow(opsRoundBudgetForm))
	ops("POST /ops/fund/rounds/{round}/budget", h.opsRoundTermCorrect(opsRoundBudgetForm))
	ops("GET /ops/fund/rounds/{round}/window", h.opsRoundTermShow(opsRoundWindowForm))
	ops("POST /ops/fund/rounds/{round}/window", h.opsRoundTermCorrect(opsRoundWindowForm))
	ops("GET /ops/fund/rounds/{round}/close", h.opsRoundCloseConfirm)
	ops("POST /ops/fund/rounds/{round}/close", h.opsRoundClose)
	ops("GET /ops/fund/applications", h.opsApplications)
	ops("GET /ops/fund/applications.csv", h.opsApplicationsCSV)
	ops("GET /ops/fund/applications/{app}", h.opsApplication)
	ops("POST /ops/fund/applications/{app}/assessment", h.opsAssess)
	ops("POST /ops/fund/applications/{app}/award", h.opsAward)
	ops("POST /ops/fund/applications/{app}/decline", h.opsDecline)
	ops("POST /ops/fund/applications/{app}/award-correction", h.opsAwardCorrect)

	h.opsEmailRoutes(ops)
	h.opsReviewRoutes(ops)
	h.opsPeopleRoutes(ops)
}

// opsHandler is a console page: it gets the services' clients acting for the
// signed-in ops person.
type opsHandler func(w http.ResponseWriter, r *http.Request, c *opsCtx)

// opsCtx is who is acting and the clients that act for them.
type opsCtx struct {
	set     *clients.Set
	subject string
}

// opsOnly admits ITSS staff signed in through the identity provider. Anyone else
// signed in (a lead, a reviewer) gets "page not found": the console does not admit
// it exists to them.
func (h *Handler) opsOnly(next opsHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, _ := visitorFrom(r.Context())
		if !v.session.Ops || v.session.Subject == "" {
			h.notFound(w, r)
			return
		}
		// The services record the token's subject as the actor of every change; the
		// token carries the person's own subject at their identity provider, never a
		// shared identity of the portal.
		set, err := h.clients.For(auth.Principal{Subject: v.session.Subject, Role: auth.RoleOps})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		next(w, r, &opsCtx{set: set, subject: v.session.Subject})
	}
}

// opsJSONBody encodes a request body for a generated client's WithBody call. The
// console sends what was typed and lets the service judge it, so that the service's
// own field errors (problem+json) are the ones shown beside the fields.
func opsJSONBody(v any) *bytes.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps, strings, numbers and booleans are encoded here.
		panic("encode request body: " + err.Error())
	}
	return bytes.NewReader(b)
}

// opsFieldProblems turns a service's refusal into errors beside the form's fields:
// rename maps the service's field names to the form's where they differ. A refusal
// naming no field becomes one message in the error summary.
func opsFieldProblems(p *clients.Problem, rename map[string]string) []templates.FieldError {
	if p.Status == http.StatusUnprocessableEntity {
		// A form carries the idempotency key it was shown with: sent again with other
		// values (the browser's back button, then a change), the service has already
		// done what it first said and will not take the key for something else.
		return []templates.FieldError{{Message: "This form was already sent, and what it did stands. To make another change, open the page again and use its form."}}
	}
	var out []templates.FieldError
	for _, f := range p.Fields() {
		name := f.Field
		if n, ok := rename[name]; ok {
			name = n
		}
		out = append(out, templates.FieldError{Field: name, Message: opsSentence(f.Message)})
	}
	if len(out) == 0 {
		out = append(out, templates.FieldError{Message: opsSentence(p.Detail)})
	}
	return out
}

// opsFormRefusal reports whether a service's answer is about what was typed (and
// so belongs on the form), rather than a failure of the service.
func opsFormRefusal(p *clients.Problem) bool {
	return p.Status == http.StatusBadRequest || p.Status == http.StatusUnprocessableEntity || p.Status == http.StatusConflict
}

// opsSentence makes a service's detail, which starts as a clause ("feedback on
// ... is already released"), a sentence of its own for a page: its first letter a
// capital, whatever script it is in (an organisation's name may start with "Ł").
func opsSentence(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

// opsAsProblem reports whether err is (or wraps) a service's refusal.
func opsAsProblem(err error, p **clients.Problem) bool { return errors.As(err, p) }

// today is the day on the London clock.
func (h *Handler) opsDay() time.Time {
	n := h.clock.Now().In(london)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// opsDaysBetween counts whole days from a to b, both days (UTC midnight).
func opsDaysBetween(a, b time.Time) int {
	return int(b.Sub(a).Hours() / 24)
}

// opsActorNames returns how the console shows who did something, for the actors
// a page is about to show (each "role:subject" as the service recorded it): an ops
// person by the name the staff record holds for their subject, the signed-in person
// as "You (name)", ops staff the record does not know (who never signed in to the
// portal) as "ITSS operations staff (subject)", an organisation's lead as "The
// organisation's lead", and a service's own change by what made it (see
// opsSystemActor), never by the identity recorded ("system:review", "ops:ops-dev"),
// which says little to ITSS staff. A lead is recorded by a pseudonym of
// their address (signin.Pseudonyms), which is made not to say who they are, and the
// people read model finds a lead only by organisation or address, never by it: the
// pages an actor is shown on (an organisation's history) are about the one
// organisation whose lead it was, so the role is what is said. A failed lookup is
// logged and the page shows the identities instead.
func (h *Handler) opsActorNames(r *http.Request, actors []string, mySubject string) func(string) string {
	prefix := string(auth.RoleOps) + ":"
	leadPrefix := string(auth.RoleLead) + ":"
	var subjects []string
	for _, a := range actors {
		if sub, ok := strings.CutPrefix(a, prefix); ok && sub != "" && !slices.Contains(subjects, sub) {
			subjects = append(subjects, sub)
		}
	}
	names := map[string]string{}
	if h.staff != nil && len(subjects) > 0 {
		found, err := h.staff.Names(r.Context(), subjects)
		if err != nil {
			h.logger.WarnContext(r.Context(), "look up ops staff names", "route", r.Pattern, "error", err)
		} else {
			names = found
		}
	}
	return func(actor string) string {
		if sub, lead := strings.CutPrefix(actor, leadPrefix); lead && sub != "" {
			return "The organisation's lead"
		}
		if what, system := strings.CutPrefix(actor, "system:"); system && what != "" {
			return opsSystemActor(what)
		}
		sub, ops := strings.CutPrefix(actor, prefix)
		switch name := names[sub]; {
		case !ops || sub == "":
			return actor
		case sub == mySubject && name != "":
			return "You (" + name + ")"
		case sub == mySubject:
			return "You"
		case name != "":
			return name
		}
		return "ITSS operations staff (" + sub + ")"
	}
}

// opsSystemActor names what a service recorded as "system:what": the changes an
// organisation's history holds that no person made (the review service's receipt
// of a submission closes its obligation; the erasure register erases a person
// again after a restore), and any other by the process's own name.
func opsSystemActor(what string) string {
	switch what {
	case "review":
		return "The review service"
	case "erasure-register":
		return "The erasure register (erased again after a restore)"
	}
	return "An automatic process (" + what + ")"
}

// opsHumanise turns an API's snake_case value into words: "form_received" to "Form received".
func opsHumanise(s string) string {
	return opsSentence(strings.ReplaceAll(s, "_", " "))
}

// opsPageSize is how many rows a console list shows at once.
const opsPageSize = 50

// opsCursorPager is one page of a console list that a service chose by cursor: it
// shows the From-th to the To-th of Total rows; First says it is the first page, and
// FirstLink and Next link to the first page and the next, keeping the filters.
type opsCursorPager struct {
	Total, From, To int
	First           bool
	FirstLink, Next string
}

// opsCursorPage places a page of n rows out of total that a service chose by cursor
// (cursor "" for the first page): where it starts and ends in the list (the "from"
// its link carried, for the "Showing" line only, and never trusted beyond the total:
// a cursor says where a page starts, not how many come before it), whether it is
// the first, and the links to the first page and the next, which keep the filters.
func opsCursorPage(path string, filters, q url.Values, cursor string, n, total int, next *string) opsCursorPager {
	p := opsCursorPager{Total: total, First: cursor == ""}
	from, err := strconv.Atoi(q.Get("from"))
	if p.First || err != nil || from < 1 || from+n-1 > total {
		from = 1
	}
	p.From, p.To = from, from+n-1
	if !p.First {
		p.FirstLink = path + "?" + filters.Encode()
	}
	if next != nil {
		v := url.Values{}
		for k, vs := range filters {
			v[k] = vs
		}
		v.Set("cursor", *next)
		v.Set("from", strconv.Itoa(p.To+1))
		p.Next = path + "?" + v.Encode()
	}
	return p
}
