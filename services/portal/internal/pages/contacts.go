package pages

import (
	"net/http"
	"strings"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	"github.com/itss/techcommit/services/portal/internal/templates"

	sigapi "github.com/itss/techcommit/services/signatory/api"
)

// The lead's page of their organisation's contacts, as the signatory service holds
// them, which the lead may change (the service replaces all of them at once).

type contactsData struct {
	OrgID, OrgName string
	Form           form.Contacts
	Roles          []struct{ Field, Name string }
	// Parts are each contact's fields, as the service names them.
	Parts []string
	Saved bool
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
	o := resp.JSON200
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
	d := contactsData{OrgID: org, OrgName: o.Name, Form: f, Roles: form.ContactRoles, Parts: contactParts, Saved: r.URL.Query().Get("saved") == "1"}
	h.show(w, r, http.StatusOK, "contacts", "Your contacts", nil, d)
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
	if err := r.ParseForm(); err != nil {
		h.say(w, r, http.StatusBadRequest, "There is a problem", "The form could not be read. Go back and try again.")
		return
	}
	f, errs := form.ParseContacts(r.PostForm)
	d := contactsData{OrgID: org, OrgName: lead.OrgName, Form: f, Roles: form.ContactRoles, Parts: contactParts}
	if len(errs) > 0 {
		h.show(w, r, http.StatusBadRequest, "contacts", "Your contacts", errs, d)
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
	resp, err := set.Signatory.UpdateContactsWithResponse(r.Context(), org, body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
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
	if !strings.EqualFold(f.Lead.Email, v.session.Email) {
		h.say(w, r, http.StatusOK, "Your contacts were saved",
			"You named "+f.Lead.Name+" the nominated lead: from now on they sign in for "+lead.OrgName+", and you no longer do.")
		return
	}
	http.Redirect(w, r, "/obligations/"+org+"/contacts?saved=1", http.StatusSeeOther)
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
