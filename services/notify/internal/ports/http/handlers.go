// Package http is the notify service's HTTP port.
package http

import (
	"context"
	"net/http"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/notify/api"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/ical"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// Handlers implements the generated api.ServerInterface.
type Handlers struct {
	app *app.App
}

var _ api.ServerInterface = (*Handlers)(nil)

// New returns the handlers.
func New(a *app.App) *Handlers { return &Handlers{app: a} }

// Register adds the API's routes.
func Register(e httpserver.Router, h *Handlers) { api.RegisterHandlers(e, h) }

// person is a recipient as the API shows one. Someone erased at their request since
// (docs/PRIVACY.md) is kept in the log as a blank, and shown as erased, with neither
// name nor address: the document's Person holds an address to an email address's
// form, and a blank is none.
type person struct {
	Name   *string `json:"name,omitempty"`
	Email  *string `json:"email,omitempty"`
	Erased bool    `json:"erased,omitempty"`
}

func personOf(p mail.Person) person {
	if p.Email == "" && p.Name == personal.AnotherPerson { // in a subject access answer
		return person{Name: &p.Name}
	}
	if p.Email == "" {
		return person{Erased: true}
	}
	return person{Name: &p.Name, Email: &p.Email}
}

type delivery struct {
	ID             string     `json:"id"`
	OrganisationID string     `json:"organisation_id"`
	Kind           string     `json:"kind"`
	Step           string     `json:"step,omitempty"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"last_error,omitempty"`
	Subject        string     `json:"subject"`
	To             []person   `json:"to"`
	CreatedAt      time.Time  `json:"created_at"`
	SentAt         *time.Time `json:"sent_at,omitempty"`
	Earlier        []sent     `json:"earlier,omitempty"`
	// Text is the email's plain text, in a subject access answer only.
	Text string `json:"text,omitempty"`
}

// sent is an earlier sending of a delivery, before a resend re-addressed it.
type sent struct {
	To     []person  `json:"to"`
	SentAt time.Time `json:"sent_at"`
}

func toDelivery(d app.Delivery) delivery {
	out := delivery{ID: d.Key, OrganisationID: d.OrganisationID, Kind: d.Kind, Step: d.Step, Status: d.Status, Attempts: d.Attempts,
		LastError: d.LastError, Subject: d.Message.Subject, To: people(d.Message.To), CreatedAt: d.CreatedAt}
	for _, e := range d.Earlier {
		out.Earlier = append(out.Earlier, sent{To: people(e.To), SentAt: e.At})
	}
	if !d.SentAt.IsZero() {
		t := d.SentAt
		out.SentAt = &t
	}
	return out
}

func people(ps []mail.Person) []person {
	out := make([]person, len(ps))
	for i, p := range ps {
		out[i] = personOf(p)
	}
	return out
}

// ListDeliveries pages through the delivery log.
func (h *Handlers) ListDeliveries(c httpserver.Context, params api.ListDeliveriesParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	q := app.DeliveryQuery{Limit: 50}
	if params.Limit != nil {
		q.Limit = *params.Limit
	}
	if params.OrganisationId != nil {
		q.OrganisationID = *params.OrganisationId
	}
	if params.Status != nil {
		q.Status = string(*params.Status)
	}
	if params.Cursor != nil {
		q.Cursor = *params.Cursor
	}
	ds, next, err := h.app.Deliveries(c.Request().Context(), by, q)
	if err != nil {
		return err
	}
	items := make([]delivery, len(ds))
	for i, d := range ds {
		items[i] = toDelivery(d)
	}
	body := map[string]any{"items": items}
	if next != "" {
		body["next_cursor"] = next
	}
	return c.JSON(http.StatusOK, body)
}

// CreateDeliveryResend sends a logged email again.
func (h *Handlers) CreateDeliveryResend(c httpserver.Context, id string, _ api.CreateDeliveryResendParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (app.Delivery, error) {
		return h.app.Resend(ctx, by, id)
	}, toDelivery)
}

// PreviewReminders lists what the ladder sends next.
func (h *Handlers) PreviewReminders(c httpserver.Context, params api.PreviewRemindersParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	limit, cursor := 50, ""
	if params.Limit != nil {
		limit = *params.Limit
	}
	if params.Cursor != nil {
		cursor = *params.Cursor
	}
	rs, next, err := h.app.Preview(c.Request().Context(), by, limit, cursor)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(rs))
	for i, r := range rs {
		items[i] = map[string]any{"organisation_id": r.OrganisationID, "organisation_name": r.OrganisationName, "obligation_id": r.ObligationID,
			"step": r.Step, "on": r.On.String(), "subject": r.Subject, "to": people(r.To)}
	}
	body := map[string]any{"items": items}
	if next != "" {
		body["next_cursor"] = next
	}
	return c.JSON(http.StatusOK, body)
}

// GetCalendarURL returns the organisation's feed address.
func (h *Handlers) GetCalendarURL(c httpserver.Context, id string) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (string, error) {
		return h.app.CalendarURL(ctx, by, id)
	}, feed)
}

// RotateCalendar replaces the organisation's feed address.
func (h *Handlers) RotateCalendar(c httpserver.Context, id string) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (string, error) {
		return h.app.RotateCalendar(ctx, by, id)
	}, feed)
}

// feed is the answer naming a calendar feed's address.
func feed(url string) map[string]string { return map[string]string{"url": url} }

// GetCalendar serves a feed.
func (h *Handlers) GetCalendar(c httpserver.Context, token string) error {
	cal, err := h.app.Calendar(c.Request().Context(), token)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=300")
	return c.Blob(http.StatusOK, ical.ContentType, cal)
}

// ResendDelivery is CreateDeliveryResend at its deprecated path, named by a verb; it
// answers as the noun does until its sunset, with the deprecation headers the
// document gives it (httpserver adds them).
func (h *Handlers) ResendDelivery(c httpserver.Context, id string, p api.ResendDeliveryParams) error {
	return h.CreateDeliveryResend(c, id, api.CreateDeliveryResendParams(p))
}
