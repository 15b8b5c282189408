// Package http is the signatory service's HTTP port: it binds requests to the
// generated API types, calls the app, and maps results to responses. Authentication,
// role checks and validation against the OpenAPI document happen in middleware before
// these handlers run.
package http

import (
	"context"
	"encoding/json"
	"net/http"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/signatory/api"
	"github.com/itss/techcommit/services/signatory/internal/app"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

// Handlers implements the generated api.ServerInterface.
type Handlers struct {
	app *app.App
}

var _ api.ServerInterface = (*Handlers)(nil)

// New returns the handlers.
func New(a *app.App) *Handlers { return &Handlers{app: a} }

// Register adds the API's routes to e.
func Register(e httpserver.Router, h *Handlers) { api.RegisterHandlers(e, h) }

// CreateOrganisation records an enquiry.
func (h *Handlers) CreateOrganisation(c httpserver.Context, _ api.CreateOrganisationParams) error {
	return httpserver.Create(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.EnquiryRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.CreateOrganisation(ctx, by, organisation.Enquiry{
			EnquiredOn: optionalCivil(body.EnquiredOn), Name: body.Name, Kind: organisation.Kind(body.Kind), Sector: string(body.Sector), Country: body.Country,
			Website: httpserver.NormaliseWebAddress(body.Website), Contact: person(body.EnquiryContact),
		}))
	}, h.toOrganisation, func(o *organisation.Organisation) string { return "/v1/organisations/" + o.ID() })
}

// versioned answers with the organisation's version as the ETag, as every answer
// that carries the organisation does (its read, its create, each onboarding step and
// a contacts update), so that a tool may send If-Match with its next change without
// reading it again.
func versioned(c httpserver.Context) func(*organisation.Organisation, error) (*organisation.Organisation, error) {
	return func(o *organisation.Organisation, err error) (*organisation.Organisation, error) {
		if err == nil {
			httpserver.SetETag(c, o.Version())
		}
		return o, err
	}
}

// GetOrganisation reads one organisation.
// Its ETag is the organisation's version, which updateContacts's If-Match names.
// A withdrawn organisation's names the record that succeeds it, to ITSS.
func (h *Handlers) GetOrganisation(c httpserver.Context, id api.OrganisationID) error {
	var successor string
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (*organisation.Organisation, error) {
		o, err := h.app.Get(ctx, by, id)
		if err == nil && o.Status() == organisation.StatusWithdrawn {
			successor, err = h.app.SucceededBy(ctx, by, id)
		}
		return versioned(c)(o, err)
	}, func(o *organisation.Organisation) api.Organisation {
		out := h.toOrganisation(o)
		out.SucceededBy = optional(successor)
		return out
	})
}

// RecordMeeting records the meeting with ITSS.
func (h *Handlers) RecordMeeting(c httpserver.Context, id api.OrganisationID, _ api.RecordMeetingParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.MeetingRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.RecordMeeting(ctx, by, id, date(body.HeldOn), deref(body.Notes)))
	}, h.toOrganisation)
}

// ReceiveForm records the signed form.
func (h *Handlers) ReceiveForm(c httpserver.Context, id api.OrganisationID, _ api.ReceiveFormParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.FormRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.ReceiveForm(ctx, by, id, date(body.SignedOn), contacts(body.Leader, body.NominatedLead, body.PointOfContact, body.PlanPage)))
	}, h.toOrganisation)
}

// Announce records the joint announcement.
func (h *Handlers) Announce(c httpserver.Context, id api.OrganisationID, _ api.AnnounceParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.AnnouncementRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.AnnounceSucceeding(ctx, by, id, date(body.AnnouncedOn), deref(body.Succeeds)))
	}, h.toOrganisation)
}

// RecordSuccession records the record an announced organisation succeeds, which its
// announcement did not name.
func (h *Handlers) RecordSuccession(c httpserver.Context, id api.OrganisationID, _ api.RecordSuccessionParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.SuccessionRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.RecordSuccession(ctx, by, id, body.Succeeds))
	}, h.toOrganisation)
}

// Withdraw records a withdrawal.
func (h *Handlers) Withdraw(c httpserver.Context, id api.OrganisationID, _ api.WithdrawParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.WithdrawalRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.Withdraw(ctx, by, id, date(body.WithdrawnOn), body.Reason, string(body.InitiatedBy)))
	}, h.toOrganisation)
}

// UpdateContacts replaces the contacts: with If-Match, only at the version it names.
func (h *Handlers) UpdateContacts(c httpserver.Context, id api.OrganisationID, params api.UpdateContactsParams) error {
	version, err := httpserver.IfMatch(params.IfMatch)
	if err != nil {
		return err
	}
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.ContactsRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.ChangeContacts(ctx, by, id, version, contacts(body.Leader, body.NominatedLead, body.PointOfContact, body.PlanPage)))
	}, h.toOrganisation)
}

// UpdateDetails corrects the organisation's name, website, sector and country:
// with If-Match, only at the version it names.
func (h *Handlers) UpdateDetails(c httpserver.Context, id api.OrganisationID, params api.UpdateDetailsParams) error {
	version, err := httpserver.IfMatch(params.IfMatch)
	if err != nil {
		return err
	}
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.DetailsRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.CorrectDetails(ctx, by, id, version, organisation.Details{
			Name: body.Name, Sector: string(body.Sector), Country: body.Country, Website: httpserver.NormaliseWebAddress(body.Website),
		}))
	}, h.toOrganisation)
}

// obligationPage is the listObligations response, which the document describes inline.
type obligationPage struct {
	OrganisationID string           `json:"organisation_id"`
	Items          []api.Obligation `json:"items"`
	NextCursor     *string          `json:"next_cursor,omitempty"`
}

// ListObligations pages through the organisation's obligations, each as it stands today.
func (h *Handlers) ListObligations(c httpserver.Context, id api.OrganisationID, params api.ListObligationsParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	page, today, err := h.app.Obligations(c.Request().Context(), by, id, app.PageQuery{Limit: limit(params.Limit), Cursor: deref(params.Cursor)})
	if err != nil {
		return err
	}
	out := obligationPage{OrganisationID: id, Items: make([]api.Obligation, 0, len(page.Items)), NextCursor: optional(page.NextCursor)}
	for _, ob := range page.Items {
		out.Items = append(out.Items, toObligation(ob, today))
	}
	return c.JSON(http.StatusOK, out)
}

// historyPage is the getHistory response, which the document describes inline.
type historyPage struct {
	OrganisationID string             `json:"organisation_id"`
	Items          []api.HistoryEntry `json:"items"`
	NextCursor     *string            `json:"next_cursor,omitempty"`
}

// GetHistory pages through the audit trail.
func (h *Handlers) GetHistory(c httpserver.Context, id api.OrganisationID, params api.GetHistoryParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	page, err := h.app.History(c.Request().Context(), by, id, app.PageQuery{Limit: limit(params.Limit), Cursor: deref(params.Cursor)})
	if err != nil {
		return err
	}
	out := historyPage{OrganisationID: id, Items: make([]api.HistoryEntry, 0, len(page.Items)), NextCursor: optional(page.NextCursor)}
	for _, e := range page.Items {
		var data map[string]any
		_ = json.Unmarshal(e.Data, &data)
		out.Items = append(out.Items, api.HistoryEntry{Id: e.ID, Type: e.Type, Version: e.Version, Time: e.Time, Actor: e.Actor, Data: data})
	}
	return c.JSON(http.StatusOK, out)
}

// ListOrganisations pages through organisations.
func (h *Handlers) ListOrganisations(c httpserver.Context, params api.ListOrganisationsParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	q := app.ListQuery{Limit: limit(params.Limit), Cursor: deref(params.Cursor), Name: deref(params.Name)}
	if params.Status != nil {
		q.Status = organisation.Status(*params.Status)
	}
	if params.Kind != nil {
		q.Kind = organisation.Kind(*params.Kind)
	}
	page, err := h.app.List(c.Request().Context(), by, q)
	if err != nil {
		return err
	}
	today := h.app.Today()
	out := api.OrganisationPage{Items: make([]api.OrganisationSummary, 0, len(page.Items)), NextCursor: optional(page.NextCursor), Total: page.Total}
	for _, s := range page.Items {
		sector := api.Sector(s.Sector)
		out.Items = append(out.Items, api.OrganisationSummary{
			Id: s.ID, Name: s.Name, Kind: api.Kind(s.Kind), Sector: &sector, Country: optional(s.Country),
			Status: api.Status(s.Status), AnnouncedOn: optionalDate(s.AnnouncedOn), NextDue: optionalDate(s.NextDue), Version: s.Version,
			Listed: s.Status == organisation.StatusAnnounced && !s.AnnouncedOn.After(today),
		})
	}
	return c.JSON(http.StatusOK, out)
}

// ListDirectory pages through the public directory.
func (h *Handlers) ListDirectory(c httpserver.Context, params api.ListDirectoryParams) error {
	q := app.DirectoryQuery{Limit: limit(params.Limit), Cursor: deref(params.Cursor), Name: deref(params.Name)}
	if params.Kind != nil {
		q.Kind = organisation.Kind(*params.Kind)
	}
	page, err := h.app.Directory(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := api.DirectoryPage{Items: make([]api.DirectoryEntry, 0, len(page.Items)), NextCursor: optional(page.NextCursor)}
	for _, d := range page.Items {
		out.Items = append(out.Items, api.DirectoryEntry{
			Id: d.ID, Name: d.Name, Kind: api.Kind(d.Kind), AnnouncedOn: openapi_types.Date{Time: d.AnnouncedOn.Time()},
			Website: optional(d.Website), PlanPage: optional(d.PlanPage), PointOfContact: publicContact(d.PointOfContact),
		})
	}
	return c.JSON(http.StatusOK, out)
}

// toOrganisation presents an organisation as it stands today.
func (h *Handlers) toOrganisation(o *organisation.Organisation) api.Organisation {
	return toOrganisation(o, h.app.Today())
}

// toOrganisation presents the organisation as it stands on today (a London date):
// whether it is listed, and how its next obligation stands.
func toOrganisation(o *organisation.Organisation, today civil.Date) api.Organisation {
	q, ct := o.Enquiry(), o.Contacts()
	out := api.Organisation{
		Id: o.ID(), Name: q.Name, Kind: api.Kind(q.Kind), Sector: api.Sector(q.Sector), Country: q.Country, Website: q.Website,
		Status: api.Status(o.Status()), Listed: o.ListedOn(today), EnquiredOn: optionalDate(q.EnquiredOn),
		Version: o.Version(), CreatedAt: o.CreatedAt(), UpdatedAt: o.UpdatedAt(),
		PlanPage: optional(ct.PlanPage), MeetingHeldOn: optionalDate(o.MeetingHeldOn()), FormSignedOn: optionalDate(o.FormSignedOn()),
		AnnouncedOn: optionalDate(o.AnnouncedOn()), Succeeds: optional(o.Succeeds()),
	}
	// A person erased at their request is no one: the role is left out.
	present := func(p organisation.Person) *api.Person {
		if p.Name == "" {
			return nil
		}
		out := apiPerson(p)
		return &out
	}
	out.EnquiryContact, out.Leader, out.NominatedLead = present(q.Contact), present(ct.Leader), present(ct.NominatedLead)
	if ct.PointOfContact.Name != "" {
		poc := publicContact(ct.PointOfContact)
		out.PointOfContact = &poc
	}
	if o.NeedsNominatedLead() {
		needs := true
		out.NeedsNominatedLead = &needs
	}
	if on, reason := o.Withdrawal(); !on.IsZero() {
		out.WithdrawnOn, out.WithdrawalReason = optionalDate(on), &reason
	}
	if ob, ok := o.OpenObligation(); ok {
		next := toObligation(ob, today)
		out.NextObligation = &next
	}
	return out
}

func toObligation(ob organisation.Obligation, today civil.Date) api.Obligation {
	st := ob.On(today)
	out := api.Obligation{
		Id: ob.ID, Kind: api.ObligationKind(ob.Kind), Cycle: ob.Cycle,
		WindowOpens: openapi_types.Date{Time: ob.WindowOpens.Time()}, Due: openapi_types.Date{Time: ob.Due.Time()},
		Status: api.ObligationStatus(st.Status), MetOn: optionalDate(ob.MetOn), SubmissionId: optional(ob.SubmissionID),
	}
	switch st.Status {
	case organisation.ObligationOpen:
		out.DaysLeft = &st.DaysLeft
	case organisation.ObligationOverdue:
		out.DaysOverdue = &st.DaysOverdue
	}
	return out
}

func person(p api.Person) organisation.Person {
	return organisation.Person{Name: p.Name, Title: deref(p.Title), Email: string(p.Email)}
}

func contacts(leader, lead api.Person, poc api.PublicContact, plan *string) organisation.Contacts {
	c := organisation.Contacts{Leader: person(leader), NominatedLead: person(lead), PlanPage: httpserver.NormaliseWebAddress(deref(plan))}
	c.PointOfContact = organisation.Person{Name: poc.Name, Title: deref(poc.Title)}
	if poc.Email != nil {
		c.PointOfContact.Email = string(*poc.Email)
	}
	return c
}

func apiPerson(p organisation.Person) api.Person {
	return api.Person{Name: p.Name, Title: optional(p.Title), Email: openapi_types.Email(p.Email)}
}

// unconfirmedContact is what the directory shows for a point of contact erased at
// their request, until the organisation names another.
const unconfirmedContact = "To be confirmed"

func publicContact(p organisation.Person) api.PublicContact {
	if p.Name == "" {
		p = organisation.Person{Name: unconfirmedContact}
	}
	out := api.PublicContact{Name: p.Name, Title: optional(p.Title)}
	if p.Email != "" {
		e := openapi_types.Email(p.Email)
		out.Email = &e
	}
	return out
}

func date(d openapi_types.Date) civil.Date { return civil.Of(d.Time) }

func optionalCivil(d *openapi_types.Date) civil.Date {
	if d == nil {
		return civil.Date{}
	}
	return date(*d)
}

func optionalDate(d civil.Date) *openapi_types.Date {
	if d.IsZero() {
		return nil
	}
	return &openapi_types.Date{Time: d.Time()}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func limit(l *int) int {
	if l == nil {
		return 50
	}
	return *l
}

// CreateAnnouncementCorrection corrects the announcement's date: with If-Match, only
// at the version it names.
func (h *Handlers) CreateAnnouncementCorrection(c httpserver.Context, id api.OrganisationID, params api.CreateAnnouncementCorrectionParams) error {
	version, err := httpserver.IfMatch(params.IfMatch)
	if err != nil {
		return err
	}
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.AnnouncementCorrectionRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.CorrectAnnouncement(ctx, by, id, version, date(body.AnnouncedOn)))
	}, h.toOrganisation)
}

// CreateMeetingCorrection corrects the day of the meeting: with If-Match, only at the
// version it names.
func (h *Handlers) CreateMeetingCorrection(c httpserver.Context, id api.OrganisationID, params api.CreateMeetingCorrectionParams) error {
	version, err := httpserver.IfMatch(params.IfMatch)
	if err != nil {
		return err
	}
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.MeetingCorrectionRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.CorrectMeeting(ctx, by, id, version, date(body.HeldOn)))
	}, h.toOrganisation)
}

// CreateFormCorrection corrects the day the form was signed: with If-Match, only at
// the version it names.
func (h *Handlers) CreateFormCorrection(c httpserver.Context, id api.OrganisationID, params api.CreateFormCorrectionParams) error {
	version, err := httpserver.IfMatch(params.IfMatch)
	if err != nil {
		return err
	}
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.FormCorrectionRequest) (*organisation.Organisation, error) {
		return versioned(c)(h.app.CorrectForm(ctx, by, id, version, date(body.SignedOn)))
	}, h.toOrganisation)
}
