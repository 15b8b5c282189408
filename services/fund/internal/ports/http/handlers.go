// Package http is the fund service's HTTP port: bind the generated API types, call the
// app, map the result. Authentication, role checks, validation, idempotency and rate
// limits are middleware.
package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/fund/api"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/ledger"
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
	httpserver.SetETag(c, r.Version)
	return c.JSON(http.StatusOK, h.toRound(r))
}

// OpenRound creates a round (ops).
func (h *Handlers) OpenRound(c httpserver.Context, _ api.OpenRoundParams) error {
	return httpserver.Create(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.RoundRequest) (round.Round, error) {
		r, err := h.app.OpenRound(ctx, by, roundTerms(body))
		if err == nil {
			httpserver.SetETag(c, r.Version) // a correction's If-Match, without a read first
		}
		return r, err
	}, h.toRound, func(r round.Round) string { return "/v1/rounds/" + r.ID })
}

// UpdateRound corrects a round's terms (ops). exclude_previously_funded defaults to
// true only when a round is opened: a correction that leaves it out keeps what the
// round has, rather than silently turning the exclusion on. The round is read as
// the caller would have read it before sending the rest of its terms; like every
// other term of a PUT, the last correction wins.
func (h *Handlers) UpdateRound(c httpserver.Context, id api.ID, params api.UpdateRoundParams) error {
	version, err := httpserver.IfMatch(params.IfMatch)
	if err != nil {
		return err
	}
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.RoundCorrection) (round.Round, error) {
		next := roundTerms(api.RoundRequest(body))
		if body.ExcludePreviouslyFunded == nil {
			// A round that is not there is answered by UpdateRound, after it has
			// checked who is asking.
			r, err := h.app.Round(ctx, id)
			if err != nil && !apperr.Is(err, apperr.NotFound) {
				return round.Round{}, err
			}
			next.ExcludePreviouslyFunded = err != nil || r.ExcludePreviouslyFunded
		}
		r, err := h.app.UpdateRound(ctx, by, id, next, version)
		if err == nil {
			httpserver.SetETag(c, r.Version)
		}
		return r, err
	}, h.toRound)
}

// CreateRoundClosure closes a round early (ops).
func (h *Handlers) CreateRoundClosure(c httpserver.Context, id api.ID, _ api.CreateRoundClosureParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body httpserver.Optional[api.CreateRoundClosureJSONBody]) (round.Round, error) {
		r, err := h.app.CloseRound(ctx, by, id, deref(body.Value.Reason))
		if err == nil {
			httpserver.SetETag(c, r.Version)
		}
		return r, err
	}, h.toRound)
}

// roundTerms maps a round request onto the domain; exclude_previously_funded defaults
// to true (UpdateRound keeps the round's own instead).
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

// ledgerAndCounts is a round's ledger and its applications by status.
type ledgerAndCounts struct {
	ledger *ledger.Ledger
	counts map[application.Status]int
}

// GetLedger reads a round's budget ledger and how many applications stand in each
// status (ops).
func (h *Handlers) GetLedger(c httpserver.Context, id api.ID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (ledgerAndCounts, error) {
		l, counts, err := h.app.LedgerAndCounts(ctx, by, id)
		return ledgerAndCounts{l, counts}, err
	}, func(lc ledgerAndCounts) api.Ledger {
		l, n := lc.ledger, lc.counts
		return api.Ledger{RoundId: id, BudgetPence: l.Budget(), AwardedPence: l.Awarded(), RemainingPence: l.Remaining(), Entries: l.Entries(),
			Applications: api.ApplicationCounts{
				Draft: n[application.StatusDraft], Submitted: n[application.StatusSubmitted], Withdrawn: n[application.StatusWithdrawn],
				InAssessment: n[application.StatusInAssessment], Awarded: n[application.StatusAwarded], Declined: n[application.StatusDeclined],
			}}
	})
}

// CreateApplication drafts an application.
func (h *Handlers) CreateApplication(c httpserver.Context, params api.CreateApplicationParams) error {
	// The draft remembers the hash of the body as sent, to tell a retry of its
	// Idempotency-Key from another request with the same key.
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(raw))
	sum := sha256.Sum256(raw)
	return httpserver.Create(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.ApplicationRequest) (*application.Application, error) {
		a, _, err := h.app.CreateApplication(ctx, by, body.RoundId, requestContent(body), deref(params.IdempotencyKey), hex.EncodeToString(sum[:]))
		if err == nil {
			httpserver.SetETag(c, a.Version()) // a change's If-Match, without a read first
		}
		return a, err
	}, toApplication, func(a *application.Application) string { return "/v1/applications/" + a.ID() })
}

// GetApplication reads one application; its ETag is its version.
func (h *Handlers) GetApplication(c httpserver.Context, id api.ID) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (*application.Application, error) {
		a, err := h.app.Application(ctx, by, id)
		if err == nil {
			httpserver.SetETag(c, a.Version())
		}
		return a, err
	}, toApplication)
}

// UpdateApplication revises a draft, only if it is still at the version If-Match
// names (when it names one).
func (h *Handlers) UpdateApplication(c httpserver.Context, id api.ID, params api.UpdateApplicationParams) error {
	version, err := httpserver.IfMatch(params.IfMatch)
	if err != nil {
		return err
	}
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.ApplicationContent) (*application.Application, error) {
		a, err := h.app.UpdateApplication(ctx, by, id, content(body), version)
		if err == nil {
			httpserver.SetETag(c, a.Version())
		}
		return a, err
	}, toApplication)
}

// CreateApplicationSubmission submits a draft.
func (h *Handlers) CreateApplicationSubmission(c httpserver.Context, id api.ID, _ api.CreateApplicationSubmissionParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (*application.Application, error) {
		return h.app.Submit(ctx, by, id)
	}, toApplication)
}

// CreateApplicationWithdrawal withdraws an application.
func (h *Handlers) CreateApplicationWithdrawal(c httpserver.Context, id api.ID, _ api.CreateApplicationWithdrawalParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body httpserver.Optional[api.CreateApplicationWithdrawalJSONBody]) (*application.Application, error) {
		return h.app.Withdraw(ctx, by, id, deref(body.Value.Reason))
	}, toApplication)
}

// StartAssessment moves an application into assessment.
func (h *Handlers) StartAssessment(c httpserver.Context, id api.ID, _ api.StartAssessmentParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (*application.Application, error) {
		return h.app.StartAssessment(ctx, by, id)
	}, toApplication)
}

// AwardApplication awards a grant.
func (h *Handlers) AwardApplication(c httpserver.Context, id api.ID, _ api.AwardApplicationParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.AwardApplicationJSONBody) (*application.Application, error) {
		return h.app.Award(ctx, by, id, body.AmountPence)
	}, toApplication)
}

// CreateAwardCorrection corrects an award's amount typed wrong (ops): with If-Match,
// only at the version it names.
func (h *Handlers) CreateAwardCorrection(c httpserver.Context, id api.ID, params api.CreateAwardCorrectionParams) error {
	version, err := httpserver.IfMatch(params.IfMatch)
	if err != nil {
		return err
	}
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.CreateAwardCorrectionJSONBody) (*application.Application, error) {
		a, err := h.app.CorrectAward(ctx, by, id, body.AmountPence, body.Reason, version)
		if err == nil {
			httpserver.SetETag(c, a.Version())
		}
		return a, err
	}, toApplication)
}

// CreateApplicationRefusal declines with feedback.
func (h *Handlers) CreateApplicationRefusal(c httpserver.Context, id api.ID, _ api.CreateApplicationRefusalParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.CreateApplicationRefusalJSONBody) (*application.Application, error) {
		return h.app.Decline(ctx, by, id, body.Feedback)
	}, toApplication)
}

// SubmitReport records the project report.
func (h *Handlers) SubmitReport(c httpserver.Context, id api.ID, _ api.SubmitReportParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.SubmitReportJSONBody) (*application.Application, error) {
		return h.app.SubmitReport(ctx, by, id, application.Report{Summary: body.Summary, SpentPence: body.SpentPence})
	}, toApplication)
}

// ListApplications pages through applications.
func (h *Handlers) ListApplications(c httpserver.Context, params api.ListApplicationsParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, _ httpserver.None) (api.ApplicationPage, error) {
		return h.applications(ctx, by, params)
	}, same)
}

// applications reads one page of the applications by may see.
func (h *Handlers) applications(ctx context.Context, by auth.Principal, params api.ListApplicationsParams) (api.ApplicationPage, error) {
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
	apps, page, err := h.app.List(ctx, by, q)
	if err != nil {
		return api.ApplicationPage{}, err
	}
	out := api.ApplicationPage{Items: make([]api.Application, 0, len(apps)), Total: page.Total}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	for _, a := range apps {
		out.Items = append(out.Items, toApplication(a))
	}
	return out, nil
}

// same presents what is already the answer.
func same[T any](v T) T { return v }

// deref is the value of an optional string, or "" when it is absent.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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
	if why := a.WithdrawalReason(); why != "" {
		out.WithdrawalReason = &why
	}
	if r := a.Report(); r != nil {
		out.Report = &struct {
			SpentPence *int64  `json:"spent_pence,omitempty"`
			Summary    *string `json:"summary,omitempty"`
		}{SpentPence: &r.SpentPence, Summary: &r.Summary}
	}
	return out
}

// The actions' deprecated paths, named by verbs, answer as their nouns do until their
// sunset; httpserver adds the deprecation headers the document gives them.

// CloseRound is CreateRoundClosure at its deprecated path.
func (h *Handlers) CloseRound(c httpserver.Context, id api.ID, p api.CloseRoundParams) error {
	return h.CreateRoundClosure(c, id, api.CreateRoundClosureParams(p))
}

// SubmitApplication is CreateApplicationSubmission at its deprecated path.
func (h *Handlers) SubmitApplication(c httpserver.Context, id api.ID, p api.SubmitApplicationParams) error {
	return h.CreateApplicationSubmission(c, id, api.CreateApplicationSubmissionParams(p))
}

// WithdrawApplication is CreateApplicationWithdrawal at its deprecated path.
func (h *Handlers) WithdrawApplication(c httpserver.Context, id api.ID, p api.WithdrawApplicationParams) error {
	return h.CreateApplicationWithdrawal(c, id, api.CreateApplicationWithdrawalParams(p))
}

// DeclineApplication is CreateApplicationRefusal at its deprecated path.
func (h *Handlers) DeclineApplication(c httpserver.Context, id api.ID, p api.DeclineApplicationParams) error {
	return h.CreateApplicationRefusal(c, id, api.CreateApplicationRefusalParams(p))
}
