package pages

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/templates"

	sigapi "github.com/itss/techcommit/services/signatory/api"
)

// opsPeopleRoutes is the console's personal-data pages (docs/PRIVACY.md): what the
// suite holds about a person, and erasing them. Every one is a POST once an address
// is typed, so that the address stays out of URLs, access logs and browser history.
func (h *Handler) opsPeopleRoutes(ops func(string, opsHandler)) {
	ops("GET /ops/people", h.opsPeople)
	ops("POST /ops/people/access", h.opsPeopleAccess)
	ops("POST /ops/people/erasure", h.opsPeopleConfirm)
	ops("POST /ops/people/erasures", h.opsPeopleErase)
	ops("GET /ops/people/erasures/{id}", h.opsPeopleErased)
}

type opsPeopleData struct {
	Email templates.OpsField
	// Subject is an ITSS staff member's OpenID subject, by which the services record
	// the changes they made (as ops:<subject>) and the portal their name.
	Subject templates.OpsField
	// Unanswered are the services that did not answer a subject access request.
	Unanswered []string
}

type opsPeopleConfirmData struct {
	Email   string
	Confirm templates.OpsField
	// Key is the erasure's idempotency key: the form pressed twice erases once, and
	// both answers list the organisations that named the person.
	Key string
}

type opsPeopleErasedRow struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	NeedsNominatedLead bool   `json:"needs_lead"`
}

// opsPeopleErasedData is the erasure's result. It does not name the person: the
// page is shown after a redirect (the address cannot be in its URL), and the portal
// keeps nothing more of them than it must to show it (see keepOutcome).
type opsPeopleErasedData struct {
	Organisations []opsPeopleErasedRow
	// NeedLead says how many of the organisations now need a new nominated lead, as
	// a sentence ("" when none does).
	NeedLead string
}

// opsNeedLeadSentence says that need of the of organisations that named an erased
// person now need a new nominated lead, and what to do ("" when none does).
func opsNeedLeadSentence(need, of int) string {
	switch {
	case need <= 0:
		return ""
	case need == 1 && of == 1:
		return "It now needs a new nominated lead: ask the organisation to name one."
	case need == 1:
		return "1 of them now needs a new nominated lead: ask the organisation to name one."
	case need == 2 && of == 2:
		return "Both now need a new nominated lead: ask each organisation to name one."
	case need == of:
		return fmt.Sprintf("All %d now need a new nominated lead: ask each organisation to name one.", need)
	}
	return fmt.Sprintf("%d of them now need a new nominated lead: ask each organisation to name one.", need)
}

func (h *Handler) opsPeople(w http.ResponseWriter, r *http.Request, _ *opsCtx) {
	h.opsPeopleForm(w, r, http.StatusOK, "", "", nil, nil)
}

func (h *Handler) opsPeopleForm(w http.ResponseWriter, r *http.Request, status int, email, subject string, errs []templates.FieldError, unanswered []string) {
	f := templates.OpsField{Name: "email", Label: "Email address", Type: "email", Value: email,
		Hint: "The address exactly as the person gave it to us."}
	sub := templates.OpsField{Name: "subject", Label: "OpenID subject (ITSS staff only, optional)", Type: "text", Value: subject,
		Hint: "For a member of ITSS staff: their subject at ITSS's identity provider, which the services record as who made each change. For the download only; leave it empty for anyone else."}
	for _, e := range errs {
		switch e.Field {
		case "email":
			f.Error = e.Message
		case "subject":
			sub.Error = e.Message
		}
	}
	h.show(w, r, status, "ops_people", "A person's data", errs, opsPeopleData{Email: f, Subject: sub, Unanswered: unanswered})
}

// opsPeopleSubject is the OpenID subject the form sent ("" when none), or the field
// error to show beside it. A subject is up to 255 ASCII characters (OpenID Connect
// Core, 2), none of them a space.
func opsPeopleSubject(r *http.Request) (string, []templates.FieldError) {
	sub := strings.TrimSpace(r.PostFormValue("subject"))
	ok := len(sub) <= 255
	for i := 0; ok && i < len(sub); i++ {
		ok = sub[i] > ' ' && sub[i] <= '~'
	}
	if !ok {
		return sub, []templates.FieldError{{Field: "subject", Message: "Enter the OpenID subject as ITSS's identity provider gives it: up to 255 letters, digits and signs, with no spaces"}}
	}
	return sub, nil
}

// opsPeopleActors are how the services' audit trails record the person as the actor
// of what they changed: as a lead, by the pseudonyms the portal gave them (the keyed
// one, and the unkeyed one of commits made before it); as ITSS staff, by their
// OpenID subject.
func (h *Handler) opsPeopleActors(email, subject string) []string {
	var actors []string
	for _, p := range h.people.Pseudonyms().All(email) {
		actors = append(actors, string(auth.RoleLead)+":"+p)
	}
	if subject != "" {
		actors = append(actors, string(auth.RoleOps)+":"+subject)
	}
	return actors
}

// opsPeopleEmail is the address the form sent, or the field error to show beside it.
func opsPeopleEmail(r *http.Request, field string) (string, []templates.FieldError) {
	email := strings.TrimSpace(r.PostFormValue(field))
	if email == "" {
		return email, []templates.FieldError{{Field: field, Message: "Enter the person's email address"}}
	}
	if err := httpserver.CheckEmail(email); err != nil {
		return email, []templates.FieldError{{Field: field, Message: opsSentence("the email address " + err.Error())}}
	}
	return email, nil
}

// opsPeopleAccess answers a subject access request: the four services' records of
// the address, and the changes the person made (found by the actors the services
// record them by), joined into one download. A download missing a service would read as
// everything the suite holds, so when any service does not answer there is no
// download, and the page names the services that did not answer.
func (h *Handler) opsPeopleAccess(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	email, errs := opsPeopleEmail(r, "email")
	subject, subErrs := opsPeopleSubject(r)
	if errs = append(errs, subErrs...); errs != nil {
		h.opsPeopleForm(w, r, http.StatusBadRequest, email, subject, errs, nil)
		return
	}
	got := h.clients.SubjectAccess(r.Context(), auth.Principal{Subject: c.subject, Role: auth.RoleOps}, email, h.opsPeopleActors(email, subject), func(service string, err error) {
		h.logger.WarnContext(r.Context(), "subject access", "route", r.Pattern, "service", service, "error", err)
	})
	// What the portal itself holds: the records it signs the person in by, their
	// sessions, the tokens they made, the colleagues they named and, for ITSS
	// staff, the name it shows their changes by.
	if h.holdings != nil {
		recs, err := h.holdings(r.Context(), email, subject)
		var b []byte
		if err == nil {
			b, err = json.Marshal(struct {
				Email   string            `json:"email"`
				Records []personal.Record `json:"records"`
			}{email, recs})
		}
		if err != nil {
			h.logger.WarnContext(r.Context(), "subject access", "route", r.Pattern, "service", "portal", "error", err)
			got.Failed = append(got.Failed, "portal")
		} else {
			got.Answers["portal"] = b
		}
	}
	if len(got.Failed) > 0 {
		msg := "Nothing was downloaded: " + opsPeopleList(got.Failed) + " did not answer. Try again in a few minutes."
		h.opsPeopleForm(w, r, http.StatusBadGateway, email, subject, []templates.FieldError{{Message: msg}}, got.Failed)
		return
	}
	now := h.clock.Now().UTC()
	doc := struct {
		Email         string                     `json:"email"`
		OpenIDSubject string                     `json:"openid_subject,omitempty"`
		GatheredAt    time.Time                  `json:"gathered_at"`
		Services      map[string]json.RawMessage `json:"services"`
	}{email, subject, now, got.Answers}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		h.fail(w, r, fmt.Errorf("join subject access answers: %w", err))
		return
	}
	// The file name says when, not whom: it is seen in download lists and logs.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="subject-access-`+now.Format("20060102T150405Z")+`.json"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// opsPeopleList names services in a sentence: "review", "review and fund", ...
func opsPeopleList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return "the " + names[0] + " service"
	}
	return "the " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " services"
}

// opsPeopleConfirm asks, before an erasure, for the address again: an erasure cannot
// be undone, and a slip in one letter would erase someone else.
func (h *Handler) opsPeopleConfirm(w http.ResponseWriter, r *http.Request, _ *opsCtx) {
	email, errs := opsPeopleEmail(r, "email")
	if errs != nil {
		h.opsPeopleForm(w, r, http.StatusBadRequest, email, "", errs, nil)
		return
	}
	h.opsPeopleShowConfirm(w, r, http.StatusOK, email, nil)
}

func (h *Handler) opsPeopleShowConfirm(w http.ResponseWriter, r *http.Request, status int, email string, errs []templates.FieldError) {
	f := templates.OpsField{Name: "confirm", Label: "Type the email address again", Type: "email"}
	for _, e := range errs {
		if e.Field == "confirm" {
			f.Error = e.Message
		}
	}
	h.show(w, r, status, "ops_people_confirm", "Erase this person", errs, opsPeopleConfirmData{Email: email, Confirm: f, Key: opsFormKey(r)})
}

// opsPeopleErase erases the person through the signatory service, which tells every
// other service to forget them, and redirects to the page of its result, the
// organisations that named them: reloading that page, or going Back to it, erases
// nobody again and offers to send nothing.
func (h *Handler) opsPeopleErase(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	email, errs := opsPeopleEmail(r, "email")
	if errs != nil {
		h.opsPeopleForm(w, r, http.StatusBadRequest, email, "", errs, nil)
		return
	}
	if again := strings.TrimSpace(r.PostFormValue("confirm")); !strings.EqualFold(again, email) {
		msg := "Type the same email address as above"
		if again == "" {
			msg = "Type the email address again to erase this person"
		}
		h.opsPeopleShowConfirm(w, r, http.StatusBadRequest, email, []templates.FieldError{{Field: "confirm", Message: msg}})
		return
	}
	key := opsFormKey(r)
	resp, err := c.set.Signatory.ErasePersonWithBodyWithResponse(r.Context(), &sigapi.ErasePersonParams{IdempotencyKey: &key}, "application/json",
		opsJSONBody(map[string]string{"email": email}))
	if err != nil {
		h.fail(w, r, fmt.Errorf("erase a person: %w", err))
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if opsFormRefusal(p) {
			h.opsPeopleShowConfirm(w, r, p.Status, email, opsFieldProblems(p, map[string]string{"email": "confirm"}))
			return
		}
		h.serviceProblem(w, r, p)
		return
	}
	var rows []opsPeopleErasedRow
	if resp.JSON200 != nil {
		for _, o := range resp.JSON200.Organisations {
			row := opsPeopleErasedRow{ID: o.Id, Name: o.Id, NeedsNominatedLead: o.NeedsNominatedLead}
			if org, err := c.set.Signatory.GetOrganisationWithResponse(r.Context(), sigapi.OrganisationID(o.Id)); err == nil && org.JSON200 != nil {
				row.Name = org.JSON200.Name
			}
			rows = append(rows, row)
		}
	}
	id := uuid.NewString()
	if h.keepOutcome(w, r, "/ops/people/erasures/"+id, id, rows) {
		http.Redirect(w, r, "/ops/people/erasures/"+id, http.StatusSeeOther)
		return
	}
	h.opsPeopleShowErased(w, r, rows) // too many organisations to carry: shown here
}

// opsPeopleErased is the page of an erasure's result, while the browser that made
// the erasure holds it (see keepOutcome).
func (h *Handler) opsPeopleErased(w http.ResponseWriter, r *http.Request, _ *opsCtx) {
	var rows []opsPeopleErasedRow
	if !h.outcome(r, r.PathValue("id"), &rows) {
		h.show(w, r, http.StatusNotFound, "message", "This erasure's result is not shown any more", nil, message{
			Message: "An erasure's result is shown for ten minutes after it, in the browser that made it. An organisation's page says whether it has a nominated lead.",
			Link:    "/ops/people", LinkText: "Back to a person's data"})
		return
	}
	h.opsPeopleShowErased(w, r, rows)
}

func (h *Handler) opsPeopleShowErased(w http.ResponseWriter, r *http.Request, rows []opsPeopleErasedRow) {
	need := 0
	for _, row := range rows {
		if row.NeedsNominatedLead {
			need++
		}
	}
	data := opsPeopleErasedData{Organisations: rows, NeedLead: opsNeedLeadSentence(need, len(rows))}
	h.show(w, r, http.StatusOK, "ops_people_erased", "Person erased", nil, data)
}
