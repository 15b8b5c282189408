package pages

import (
	"net/http"
	"net/url"
	"strings"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	"github.com/itss/techcommit/services/portal/internal/templates"

	sigapi "github.com/itss/techcommit/services/signatory/api"
)

// The lead's page of their organisation's contacts, as the signatory service holds
// them, which the lead may change (the service replaces all of them at once). The
// form carries the organisation's version it was filled from, and its save is
// applied only at that version, so that it does not put back a contact someone else
// changed since (the head of institution, to whom overdue emails go).

type contactsData struct {
	OrgID, OrgName string
	Form           form.Contacts
	Roles          []struct{ Field, Name string }
	// Parts are each contact's fields, as the service names them.
	Parts []string
	Saved bool
	// Version is the organisation's ETag the form was filled from (see seenVersion).
	Version string
	// Stale, when set, says the save was refused because the contacts were saved by
	// someone else since the page was opened, and is the address of the saved ones.
	Stale string
	// Withdrawn is the day the organisation withdrew, in words, or "": its contacts
	// are then shown, not offered to change, since the signatory service refuses
	// every change to them.
	Withdrawn string
}

// confirmLead is the field that confirms a hand-over: the new lead's address as the
// confirmation page showed it. A save naming another nominated lead is made only
// with it, so that the lead reads the address back before losing their access to it
// (a typo in it leaves the organisation with nobody who can sign in).
const confirmLead = "confirm_lead"

// contactsConfirmData is the page that asks the lead to confirm a hand-over: the
// typed contacts travel in it, hidden, with the version they were filled from.
type contactsConfirmData struct {
	contactsData
	Confirm string
	// Corrected says the lead named has the signed-in lead's own name: their
	// address is corrected, which the page (and notify's emails) say rather than a
	// hand-over; Email is the address it replaces.
	Corrected bool
	Email     string
}

var contactParts = []string{"name", "title", "email"}

func contactOf(name string, title *string, email string) form.Contact {
	c := form.Contact{Name: name, Email: email}
	if title != nil {
		c.Title = *title
	}
	return c
}

func (h *Handler) contactsShow(w http.ResponseWriter, r *http.Request) {
	org, set, ok := h.leadOf(w, r)
	if !ok {
		return
	}
	resp, err := set.Signatory.GetOrganisationWithResponse(r.Context(), org)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	d := contactsData{OrgID: org, OrgName: resp.JSON200.Name, Form: savedContacts(resp.JSON200), Roles: form.ContactRoles, Parts: contactParts,
		Version: resp.HTTPResponse.Header.Get("ETag")}
	d.Saved = d.Version != "" && `"`+r.URL.Query().Get("saved")+`"` == d.Version
	if resp.JSON200.Status == sigapi.Withdrawn && resp.JSON200.WithdrawnOn != nil {
		d.Withdrawn = longDate(resp.JSON200.WithdrawnOn.Time)
	}
	h.show(w, r, http.StatusOK, "contacts", "Your contacts", nil, d)
}

// savedContacts is the form as the organisation's contacts are saved.
func savedContacts(o *sigapi.Organisation) form.Contacts {
	var f form.Contacts
	if o.Leader != nil {
		f.Leader = contactOf(o.Leader.Name, o.Leader.Title, string(o.Leader.Email))
	}
	if o.NominatedLead != nil {
		f.Lead = contactOf(o.NominatedLead.Name, o.NominatedLead.Title, string(o.NominatedLead.Email))
	}
	if pc := o.PointOfContact; pc != nil {
		email := ""
		if pc.Email != nil {
			email = string(*pc.Email)
		}
		f.Point = contactOf(pc.Name, pc.Title, email)
	}
	if o.PlanPage != nil {
		f.PlanPage = *o.PlanPage
	}
	return f
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (h *Handler) contactsSave(w http.ResponseWriter, r *http.Request) {
	org, set, ok := h.leadOf(w, r)
	if !ok {
		return
	}
	v, _ := visitorFrom(r.Context())
	lead, _ := v.person.LeadOf(org)
	version, versioned := seenVersion(r.PostForm.Get("version"))
	if !versioned {
		h.versionMissing(w, r, "/obligations/"+org+"/contacts")
		return
	}
	f, errs := form.ParseContacts(r.PostForm)
	d := contactsData{OrgID: org, OrgName: lead.OrgName, Form: f, Roles: form.ContactRoles, Parts: contactParts, Version: r.PostForm.Get("version")}
	if len(errs) > 0 {
		h.show(w, r, http.StatusBadRequest, "contacts", "Your contacts", errs, d)
		return
	}
	if r.PostForm.Get("change") != "" { // "Change the contacts" on the confirmation page
		h.show(w, r, http.StatusOK, "contacts", "Your contacts", nil, d)
		return
	}
	handOver := !strings.EqualFold(f.Lead.Email, v.session.Email)
	if handOver && r.PostForm.Get(confirmLead) != f.Lead.Email {
		c := contactsConfirmData{contactsData: d, Confirm: confirmLead, Email: v.session.Email}
		title := "Hand over the nominated lead"
		if c.Corrected = personal.SameName(f.Lead.Name, lead.Name); c.Corrected {
			title = "Change your address as the nominated lead"
		}
		h.show(w, r, http.StatusOK, "contacts_confirm", title, nil, c)
		return
	}
	body := sigapi.UpdateContactsJSONRequestBody{
		Leader:         sigapi.Person{Name: f.Leader.Name, Title: optional(f.Leader.Title), Email: openapi_types.Email(f.Leader.Email)},
		NominatedLead:  sigapi.Person{Name: f.Lead.Name, Title: optional(f.Lead.Title), Email: openapi_types.Email(f.Lead.Email)},
		PointOfContact: sigapi.PublicContact{Name: f.Point.Name, Title: optional(f.Point.Title)},
		PlanPage:       optional(f.PlanPage),
	}
	if f.Point.Email != "" {
		e := openapi_types.Email(f.Point.Email)
		body.PointOfContact.Email = &e
	}
	resp, err := set.Signatory.UpdateContactsWithResponse(r.Context(), org, body, ifMatch(version))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if p.Status == http.StatusPreconditionFailed {
			h.staleContacts(w, r, set, d)
			return
		}
		if p.Status != http.StatusBadRequest {
			h.serviceProblem(w, r, p)
			return
		}
		// The form's fields are named as the service names them.
		var errs []templates.FieldError
		for _, fe := range p.Fields() {
			if strings.HasPrefix(fe.Field, "leader.") || strings.HasPrefix(fe.Field, "nominated_lead.") ||
				strings.HasPrefix(fe.Field, "point_of_contact.") || fe.Field == "plan_page" {
				errs = append(errs, templates.FieldError{Field: fe.Field, Message: contactLabel(fe.Field) + ": " + fe.Message})
				continue
			}
			errs = append(errs, templates.FieldError{Message: fe.Message})
		}
		if len(errs) == 0 {
			errs = append(errs, templates.FieldError{Message: p.Detail})
		}
		h.show(w, r, http.StatusBadRequest, "contacts", "Your contacts", errs, d)
		return
	}
	// Naming someone else the nominated lead hands them the organisation's pages.
	if handOver {
		h.say(w, r, http.StatusOK, "Your contacts were saved",
			"You named "+isolated(f.Lead.Name)+" ("+f.Lead.Email+") the nominated lead: from now on they sign in for "+isolated(lead.OrgName)+" with that address, and you no longer do. "+
				"They will be emailed to say so, and so will you.")
		return
	}
	// The notice is of this save: shown while the contacts are as it left them, not
	// whenever the address is opened again (a bookmark, the history).
	http.Redirect(w, r, "/obligations/"+org+"/contacts?saved="+url.QueryEscape(strings.Trim(resp.HTTPResponse.Header.Get("ETag"), `"`)), http.StatusSeeOther)
}

// staleContacts shows the contacts form again when the contacts were saved by
// someone else since the page was opened: what the person typed, not saved, under a
// message that says so and links to the contacts as saved. The form now carries the
// version saved, so that saving it again, once checked, replaces that.
func (h *Handler) staleContacts(w http.ResponseWriter, r *http.Request, set *clients.Set, d contactsData) {
	resp, err := set.Signatory.GetOrganisationWithResponse(r.Context(), d.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	if savedContacts(resp.JSON200) == d.Form {
		// The contacts already read as typed: this form was sent twice (a double
		// click, or back and send again), and the first sending saved them.
		http.Redirect(w, r, "/obligations/"+d.OrgID+"/contacts?saved="+url.QueryEscape(strings.Trim(resp.HTTPResponse.Header.Get("ETag"), `"`)), http.StatusSeeOther)
		return
	}
	d.Version, d.Stale = resp.HTTPResponse.Header.Get("ETag"), "/obligations/"+d.OrgID+"/contacts"
	h.show(w, r, http.StatusConflict, "contacts", "Your contacts", nil, d)
}

// contactLabel is how a contacts field the service names reads in a message.
func contactLabel(field string) string {
	if field == "plan_page" {
		return "Plan page"
	}
	role, part, _ := strings.Cut(field, ".")
	for _, r := range form.ContactRoles {
		if r.Field == role {
			return r.Name + " " + strings.ReplaceAll(part, "_", " ")
		}
	}
	return field
}
