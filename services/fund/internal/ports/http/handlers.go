// Package http is the fund service's HTTP port: bind the generated API types, call the
// app, map the result. Authentication, role checks, validation, idempotency and rate
// limits are middleware.
package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/fund/api"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
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

// ListRounds pages through rounds, newest first (public).
func (h *Handlers) ListRounds(c httpserver.Context, params api.ListRoundsParams) error {
	var status round.Status
	if params.Status != nil {
		status = round.Status(*params.Status)
	}
	limit, cursor := 50, ""
	if params.Limit != nil {
		limit = *params.Limit
	}
	if params.Cursor != nil {
		cursor = *params.Cursor
	}
	rounds, next, err := h.app.RoundsPage(c.Request().Context(), status, limit, cursor)
	if err != nil {
		return err
	}
	out := api.RoundPage{Items: make([]api.Round, 0, len(rounds))}
	if next != "" {
		out.NextCursor = &next
	}
	for _, r := range rounds {
		out.Items = append(out.Items, h.toRound(r))
	}
	return c.JSON(http.StatusOK, out)
}

// GetRound reads one round (public).
func (h *Handlers) GetRound(c httpserver.Context, id api.ID) error {
	r, err := h.app.Round(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.toRound(r))
}

// OpenRound creates a round (ops).
func (h *Handlers) OpenRound(c httpserver.Context, _ api.OpenRoundParams) error {
	var body api.RoundRequest
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	r, err := h.app.OpenRound(c.Request().Context(), by, roundTerms(body))
	if err != nil {
		return err
	}
	c.Response().Header().Set(httpserver.HeaderLocation, "/v1/rounds/"+r.ID)
	return c.JSON(http.StatusCreated, h.toRound(r))
}

// UpdateRound corrects a round's terms (ops).
func (h *Handlers) UpdateRound(c httpserver.Context, id api.ID) error {
	var body api.RoundRequest
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	r, err := h.app.UpdateRound(c.Request().Context(), by, id, roundTerms(body))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.toRound(r))
}

// CloseRound closes a round early (ops).
func (h *Handlers) CloseRound(c httpserver.Context, id api.ID, _ api.CloseRoundParams) error {
	var body api.CloseRoundJSONBody
	if c.Request().ContentLength > 0 {
		if err := httpserver.Decode(c, &body); err != nil {
			return err
		}
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	reason := ""
	if body.Reason != nil {
		reason = *body.Reason
	}
	r, err := h.app.CloseRound(c.Request().Context(), by, id, reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.toRound(r))
}

// roundTerms maps a round request onto the domain; exclude_previously_funded defaults to true.
func roundTerms(body api.RoundRequest) round.Round {
	themes := make([]string, len(body.Themes))
	for i, t := range body.Themes {
		themes[i] = string(t)
	}
	return round.Round{
		Name: body.Name, Opens: body.Opens, Closes: body.Closes, BudgetPence: body.BudgetPence,
		MinAwardPence: body.MinAwardPence, MaxAwardPence: body.MaxAwardPence,
		ProjectStart: civil.Of(body.ProjectStart.Time), ProjectEnd: civil.Of(body.ProjectEnd.Time),
		Themes: themes, ExcludePreviouslyFunded: body.ExcludePreviouslyFunded == nil || *body.ExcludePreviouslyFunded,
	}
}

// GetLedger reads a round's budget ledger (ops).
func (h *Handlers) GetLedger(c httpserver.Context, id api.ID) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	l, err := h.app.Ledger(c.Request().Context(), by, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.Ledger{RoundId: id, BudgetPence: l.Budget(), AwardedPence: l.Awarded(), RemainingPence: l.Remaining(), Entries: l.Entries()})
}

// CreateApplication drafts an application.
func (h *Handlers) CreateApplication(c httpserver.Context, params api.CreateApplicationParams) error {
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(raw))
	var body api.ApplicationRequest
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	key := ""
	if params.IdempotencyKey != nil {
		key = *params.IdempotencyKey
	}
	sum := sha256.Sum256(raw)
	a, _, err := h.app.CreateApplication(c.Request().Context(), by, body.RoundId, requestContent(body), key, hex.EncodeToString(sum[:]))
	if err != nil {
		return err
	}
	c.Response().Header().Set(httpserver.HeaderLocation, "/v1/applications/"+a.ID())
	return c.JSON(http.StatusCreated, toApplication(a))
}

// GetApplication reads one application.
func (h *Handlers) GetApplication(c httpserver.Context, id api.ID) error {
	return h.respond(c, func(by auth.Principal) (*application.Application, error) {
		return h.app.Application(c.Request().Context(), by, id)
	})
}

// UpdateApplication revises a draft.
func (h *Handlers) UpdateApplication(c httpserver.Context, id api.ID) error {
	var body api.ApplicationContent
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	return h.respond(c, func(by auth.Principal) (*application.Application, error) {
		return h.app.UpdateApplication(c.Request().Context(), by, id, content(body))
	})
}

// SubmitApplication submits a draft.
func (h *Handlers) SubmitApplication(c httpserver.Context, id api.ID, _ api.SubmitApplicationParams) error {
	return h.respond(c, func(by auth.Principal) (*application.Application, error) {
		return h.app.Submit(c.Request().Context(), by, id)
	})
}

// WithdrawApplication withdraws an application.
func (h *Handlers) WithdrawApplication(c httpserver.Context, id api.ID, _ api.WithdrawApplicationParams) error {
	var body api.WithdrawApplicationJSONBody
	if c.Request().ContentLength > 0 {
		if err := httpserver.Decode(c, &body); err != nil {
			return err
		}
	}
	return h.respond(c, func(by auth.Principal) (*application.Application, error) {
		reason := ""
		if body.Reason != nil {
			reason = *body.Reason
		}
		return h.app.Withdraw(c.Request().Context(), by, id, reason)
	})
}

// StartAssessment moves an application into assessment.
func (h *Handlers) StartAssessment(c httpserver.Context, id api.ID) error {
	return h.respond(c, func(by auth.Principal) (*application.Application, error) {
		return h.app.StartAssessment(c.Request().Context(), by, id)
	})
}

// AwardApplication awards a grant.
func (h *Handlers) AwardApplication(c httpserver.Context, id api.ID, _ api.AwardApplicationParams) error {
	var body api.AwardApplicationJSONBody
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	return h.respond(c, func(by auth.Principal) (*application.Application, error) {
		return h.app.Award(c.Request().Context(), by, id, body.AmountPence)
	})
}

// DeclineApplication declines with feedback.
func (h *Handlers) DeclineApplication(c httpserver.Context, id api.ID) error {
	var body api.DeclineApplicationJSONBody
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	return h.respond(c, func(by auth.Principal) (*application.Application, error) {
		return h.app.Decline(c.Request().Context(), by, id, body.Feedback)
	})
}

// SubmitReport records the project report.
func (h *Handlers) SubmitReport(c httpserver.Context, id api.ID, _ api.SubmitReportParams) error {
	var body api.SubmitReportJSONBody
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	return h.respond(c, func(by auth.Principal) (*application.Application, error) {
		return h.app.SubmitReport(c.Request().Context(), by, id, application.Report{Summary: body.Summary, SpentPence: body.SpentPence})
	})
}

// ListApplications pages through applications.
func (h *Handlers) ListApplications(c httpserver.Context, params api.ListApplicationsParams) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	q := app.ListQuery{Limit: 50}
	if params.Limit != nil {
		q.Limit = *params.Limit
	}
	if params.Cursor != nil {
		q.Cursor = *params.Cursor
	}
	if params.RoundId != nil {
		q.RoundID = *params.RoundId
	}
	if params.Status != nil {
		q.Status = application.Status(*params.Status)
	}
	apps, next, err := h.app.List(c.Request().Context(), by, q)
	if err != nil {
		return err
	}
	out := api.ApplicationPage{Items: make([]api.Application, 0, len(apps))}
	if next != "" {
		out.NextCursor = &next
	}
	for _, a := range apps {
		out.Items = append(out.Items, toApplication(a))
	}
	return c.JSON(http.StatusOK, out)
}

func (h *Handlers) respond(c httpserver.Context, do func(auth.Principal) (*application.Application, error)) error {
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	a, err := do(by)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toApplication(a))
}

func (h *Handlers) toRound(r round.Round) api.Round {
	themes := make([]api.Theme, len(r.Themes))
	for i, t := range r.Themes {
		themes[i] = api.Theme(t)
	}
	london := r.Closes.In(round.London).Format("2006-01-02 15:04 MST")
	out := api.Round{
		Id: r.ID, Name: r.Name, Status: api.RoundStatus(r.StatusAt(h.app.Now())), Opens: r.Opens, Closes: r.Closes, ClosesLondon: &london,
		BudgetPence: r.BudgetPence, MinAwardPence: r.MinAwardPence, MaxAwardPence: r.MaxAwardPence,
		ProjectStart: openapi_types.Date{Time: r.ProjectStart.Time()}, ProjectEnd: openapi_types.Date{Time: r.ProjectEnd.Time()},
		Themes: themes, ExcludePreviouslyFunded: r.ExcludePreviouslyFunded, Version: &r.Version,
	}
	if !r.ClosedAt.IsZero() {
		out.ClosedAt, out.ClosedEarly = &r.ClosedAt, &r.ClosedEarly
	}
	return out
}

// requestContent is the content of a new application's request.
func requestContent(b api.ApplicationRequest) application.Content {
	return content(api.ApplicationContent{
		Title: b.Title, Summary: b.Summary, Themes: b.Themes, RequestedAmountPence: b.RequestedAmountPence,
		Partners: b.Partners, Endorsement: b.Endorsement, BudgetLines: b.BudgetLines, Milestones: b.Milestones,
	})
}

func content(b api.ApplicationContent) application.Content {
	c := application.Content{
		Title: b.Title, Summary: b.Summary, RequestedAmountPence: b.RequestedAmountPence,
		Endorsement: application.Person{Name: b.Endorsement.Name, Email: string(b.Endorsement.Email)},
	}
	for _, t := range b.Themes {
		c.Themes = append(c.Themes, string(t))
	}
	for _, p := range b.Partners {
		partner := application.Partner{Name: p.Name}
		if p.OrganisationId != nil {
			partner.OrganisationID = *p.OrganisationId
		}
		c.Partners = append(c.Partners, partner)
	}
	for _, l := range b.BudgetLines {
		c.BudgetLines = append(c.BudgetLines, application.BudgetLine{Description: l.Description, AmountPence: l.AmountPence})
	}
	for _, m := range b.Milestones {
		c.Milestones = append(c.Milestones, application.Milestone{Description: m.Description, Due: civil.Of(m.Due.Time)})
	}
	return c
}

// endorsement is the endorsing lead as served; every endorsement is made with an
// address, so one without is of a person since erased.
func endorsement(p application.Person) api.Endorsement {
	if p.Email == "" {
		return api.Endorsement{Name: personal.ErasedName, Email: personal.ErasedEmail}
	}
	return api.Endorsement{Name: p.Name, Email: openapi_types.Email(p.Email)}
}

func toApplication(a *application.Application) api.Application {
	c := a.Content()
	out := api.Application{
		Id: a.ID(), RoundId: a.RoundID(), OrganisationId: a.OrganisationID(), Status: api.ApplicationStatus(a.Status()),
		Title: c.Title, Summary: c.Summary, RequestedAmountPence: c.RequestedAmountPence,
		Endorsement: endorsement(c.Endorsement),
		Version:     a.Version(), CreatedAt: a.CreatedAt(), UpdatedAt: a.UpdatedAt(),
		Themes: []api.Theme{}, Partners: []api.Partner{}, BudgetLines: []api.BudgetLine{}, Milestones: []api.Milestone{},
	}
	for _, t := range c.Themes {
		out.Themes = append(out.Themes, api.Theme(t))
	}
	for _, p := range c.Partners {
		partner := api.Partner{Name: p.Name}
		if p.OrganisationID != "" {
			id := p.OrganisationID
			partner.OrganisationId = &id
		}
		out.Partners = append(out.Partners, partner)
	}
	for _, l := range c.BudgetLines {
		out.BudgetLines = append(out.BudgetLines, api.BudgetLine{Description: l.Description, AmountPence: l.AmountPence})
	}
	for _, m := range c.Milestones {
		out.Milestones = append(out.Milestones, api.Milestone{Description: m.Description, Due: openapi_types.Date{Time: m.Due.Time()}})
	}
	if t := a.SubmittedAt(); !t.IsZero() {
		out.SubmittedAt = &t
	}
	if a.Status() == application.StatusAwarded {
		amount := a.AwardPence()
		out.AwardPence = &amount
		due := openapi_types.Date{Time: a.ReportDue().Time()}
		out.ReportDue = &due
		isDue := a.ReportIsDue()
		out.ReportIsDue = &isDue
	}
	if f := a.Feedback(); f != "" {
		out.Feedback = &f
	}
	if r := a.Report(); r != nil {
		out.Report = &struct {
			SpentPence *int64  `json:"spent_pence,omitempty"`
			Summary    *string `json:"summary,omitempty"`
		}{SpentPence: &r.SpentPence, Summary: &r.Summary}
	}
	return out
}
