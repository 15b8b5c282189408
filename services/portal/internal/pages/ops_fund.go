package pages

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/itss/techcommit/libs/money"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
	"github.com/itss/techcommit/services/portal/internal/templates"

	fundapi "github.com/itss/techcommit/services/fund/api"
)

type opsFundData struct {
	Rounds  []opsFundRoundRow
	Reports []opsReportRow
}

// opsReportRow is an awarded project's report: not yet due, due (its project has
// ended), overdue (its due day has passed) or received.
type opsReportRow struct {
	ID, Title, OrgID, Org, Award, Due, Spent string
	Received, Overdue                        bool
	// DueNow is a report the project's end has made due, not yet late.
	DueNow bool
}

// opsFundRounds lists every round with its applications by status and its budget,
// and the awarded projects' reports, due and received.
func (h *Handler) opsFundRounds(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	rows, err := h.opsFundRoundRows(r.Context(), c.set, false)
	if err != nil {
		h.opsFailed(w, r, err)
		return
	}
	awarded := fundapi.Awarded
	apps, err := opsListApplications(r.Context(), c.set, "", &awarded)
	if err != nil {
		h.opsFailed(w, r, err)
		return
	}
	data := opsFundData{Rounds: rows}
	today := h.opsDay()
	orgs := opsNamesOf(r.Context(), h, c.set, apps, func(a fundapi.Application) string { return a.OrganisationId })
	for _, a := range apps {
		row := opsReportRow{ID: a.Id, Title: a.Title, OrgID: a.OrganisationId, Org: opsOrgLabel(orgs, a.OrganisationId), Received: a.Report != nil}
		row.DueNow, row.Overdue = opsReportState(a, today)
		if a.AwardPence != nil {
			row.Award = money.Pounds(*a.AwardPence)
		}
		if a.ReportDue != nil {
			row.Due = longDate(a.ReportDue.Time)
		}
		if a.Report != nil && a.Report.SpentPence != nil {
			row.Spent = money.Pounds(*a.Report.SpentPence)
		}
		data.Reports = append(data.Reports, row)
	}
	h.show(w, r, http.StatusOK, "ops_fund", "Collaboration Fund", nil, data)
}

// opsReportState says whether an awarded project's report, not yet received, is
// due (the fund marks it so once the project has ended) or overdue: only once the
// day it is due by (a month after the project ends) has passed on the London clock,
// today (a day as opsDay gives it).
func opsReportState(a fundapi.Application, today time.Time) (due, overdue bool) {
	if a.Report != nil {
		return false, false
	}
	overdue = a.ReportDue != nil && today.After(a.ReportDue.Time)
	return !overdue && a.ReportIsDue != nil && *a.ReportIsDue, overdue
}

func (h *Handler) opsRoundShow(w http.ResponseWriter, r *http.Request, _ *opsCtx) {
	h.opsShowRound(w, r, http.StatusOK, uuid.NewString(), opsform.Values{"themes": {"visibility", "recognition", "career_development", "sustainability"}}, nil)
}

func (h *Handler) opsShowRound(w http.ResponseWriter, r *http.Request, status int, key string, typed opsform.Values, errs []templates.FieldError) {
	h.show(w, r, status, "ops_form", "Open a fund round", errs, opsFormData{Action: "/ops/fund/rounds", Button: "Open the round",
		Back: "/ops/fund", Key: key, Fields: opsform.OpenFundRound.Fields(typed, errs)})
}

// opsFormKey is the idempotency key a form was rendered with (a fresh one when it
// has none, or not a UUID, as for a form shown afresh): the same form sent twice (a
// double click, a reload) has one effect, and its second answer is the first's; a
// form shown again to be corrected keeps its key.
func opsFormKey(r *http.Request) string {
	if k := r.PostForm.Get("key"); k != "" {
		if _, err := uuid.Parse(k); err == nil {
			return k
		}
	}
	return uuid.NewString()
}

// opsRoundOpen opens a round, once however often the same form is sent.
func (h *Handler) opsRoundOpen(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	key := opsFormKey(r)
	typed, body, errs := opsform.OpenFundRound.Parse(r.PostForm, london)
	if len(errs) > 0 {
		h.opsShowRound(w, r, http.StatusBadRequest, key, typed, errs)
		return
	}
	resp, err := c.set.Fund.OpenRoundWithBodyWithResponse(r.Context(), &fundapi.OpenRoundParams{IdempotencyKey: &key}, "application/json", opsJSONBody(body))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		fe := opsRenamed(opsFieldProblems(p, nil), opsform.OpenFundRound)
		h.opsShowRound(w, r, opsStatusOf(fe), key, typed, fe)
		return
	}
	http.Redirect(w, r, "/ops/fund", http.StatusSeeOther)
}

// opsRoundCloseData is the page that asks ITSS to confirm a round's early close,
// which cannot be undone: what the round is, when it would close, what it holds,
// and why it is closed now.
type opsRoundCloseData struct {
	ID, Name, Status, Closes string
	// Upcoming is a round not yet open: closing it cancels it.
	Upcoming bool
	// Holds is the round's applications by status ("3 Draft, 1 Submitted"), from
	// its ledger; Total how many.
	Holds []opsStatusCount
	Total int
	// Key is the form's own: sent twice, it closes the round once and both answers
	// lead back to the rounds.
	Key    string
	Fields []templates.OpsField
}

// opsRoundCloseConfirm asks for a reason before a round is closed early: a press of
// Close on the rounds closed it at once, with a fixed reason, and nothing reopens it.
func (h *Handler) opsRoundCloseConfirm(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	h.opsShowRoundClose(w, r, c, http.StatusOK, uuid.NewString(), opsform.Values{}, nil)
}

func (h *Handler) opsShowRoundClose(w http.ResponseWriter, r *http.Request, c *opsCtx, status int, key string, typed opsform.Values, errs []templates.FieldError) {
	rd, _, ok := h.opsRound(w, r, c)
	if !ok {
		return
	}
	if rd.Status == fundapi.RoundStatusClosed {
		h.show(w, r, http.StatusConflict, "message", "This round is closed", nil, message{Message: "The round " + isolated(rd.Name) + " is already closed.",
			Link: "/ops/fund", LinkText: "Fund rounds"})
		return
	}
	ledger, err := c.set.Fund.GetLedgerWithResponse(r.Context(), rd.Id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(ledger.HTTPResponse, ledger.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	data := opsRoundCloseData{ID: rd.Id, Name: rd.Name, Status: opsHumanise(string(rd.Status)), Closes: longTime(rd.Closes),
		Upcoming: rd.Status == fundapi.RoundStatusUpcoming, Key: key, Fields: opsform.CloseFundRound.Fields(typed, errs)}
	data.Holds = opsByStatus(ledger.JSON200.Applications)
	for _, sc := range data.Holds {
		data.Total += sc.Count
	}
	h.show(w, r, status, "ops_fund_close", "Close "+rd.Name+" early", errs, data)
}

// opsRoundClose closes a round before its closing time, with the reason the
// confirmation page asked for, once however often its form is sent.
func (h *Handler) opsRoundClose(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	round := r.PathValue("round")
	key := opsFormKey(r)
	typed, body, errs := opsform.CloseFundRound.Parse(r.PostForm, london)
	if len(errs) > 0 {
		h.opsShowRoundClose(w, r, c, http.StatusBadRequest, key, typed, errs)
		return
	}
	// The closure's reason is one line: a reason typed over several is kept in
	// its words.
	body["reason"] = strings.Join(strings.Fields(body["reason"].(string)), " ")
	resp, err := c.set.Fund.CreateRoundClosureWithBodyWithResponse(r.Context(), round, &fundapi.CreateRoundClosureParams{IdempotencyKey: &key}, "application/json",
		opsJSONBody(body))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		fe := opsRenamed(opsFieldProblems(p, nil), opsform.CloseFundRound)
		h.opsShowRoundClose(w, r, c, opsStatusOf(fe), key, typed, fe)
		return
	}
	http.Redirect(w, r, "/ops/fund", http.StatusSeeOther)
}

type opsAppsData struct {
	Fields []templates.OpsField
	Apps   []opsAppRow
	// Export is the address of the CSV of the applications the filters select,
	// built whole (see opsOrgsData.Export): a round's export gave every round's.
	Export string
	Page   opsCursorPager
}

type opsAppRow struct {
	ID, Title, OrgID, Org, Round, Status, Requested, Award, Submitted string
}

var opsAppStatusOptions = opsform.Opts("", "Any", "draft", "Draft", "submitted", "Submitted", "in_assessment", "In assessment",
	"awarded", "Awarded", "declined", "Declined", "withdrawn", "Withdrawn")

// opsApplications is the applications queue, by round and status.
func (h *Handler) opsApplications(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	ctx := r.Context()
	q := r.URL.Query()
	rounds, ok := h.opsRoundList(w, r, c)
	if !ok {
		return
	}
	roundOpts := opsform.Opts("", "Any")
	names := map[string]string{}
	for _, rd := range rounds {
		roundOpts = append(roundOpts, templates.OpsOption{Value: rd.Id, Text: rd.Name})
		names[rd.Id] = rd.Name
	}
	filter := opsform.Specs{
		{Name: "round", Label: "Round", Type: opsform.Choice, Options: roundOpts},
		{Name: "status", Label: "Status", Type: opsform.Choice, Options: opsAppStatusOptions},
	}
	typed, _, errs := filter.Parse(q, london)
	round, status := q.Get("round"), q.Get("status")
	if slices.ContainsFunc(errs, func(e templates.FieldError) bool { return e.Field == "round" }) {
		round = ""
	}
	if slices.ContainsFunc(errs, func(e templates.FieldError) bool { return e.Field == "status" }) {
		status = ""
	}
	var st *fundapi.ApplicationStatus
	if status != "" {
		v := fundapi.ApplicationStatus(status)
		st = &v
	}
	// One page from the fund, which says how many match: the page reads its own 50
	// applications, not every one (it read up to a thousand, and grew with them).
	size := opsPageSize
	params := &fundapi.ListApplicationsParams{Status: st, Limit: &size}
	if round != "" {
		params.RoundId = &round
	}
	cursor := q.Get("cursor")
	if cursor != "" {
		if len(cursor) >= 200 {
			h.pageGone(w, r)
			return
		}
		params.Cursor = &cursor
	}
	resp, err := c.set.Fund.ListApplicationsWithResponse(ctx, params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	filters := url.Values{"round": {round}, "status": {status}}
	data := opsAppsData{Fields: filter.Fields(typed, errs), Export: "/ops/fund/applications.csv?" + filters.Encode()}
	orgs := opsNamesOf(ctx, h, c.set, resp.JSON200.Items, func(a fundapi.Application) string { return a.OrganisationId })
	for _, a := range resp.JSON200.Items {
		row := opsAppRow{ID: a.Id, Title: a.Title, OrgID: a.OrganisationId, Org: opsOrgLabel(orgs, a.OrganisationId), Round: names[a.RoundId], Status: opsHumanise(string(a.Status)),
			Requested: money.Pounds(a.RequestedAmountPence)}
		if a.AwardPence != nil {
			row.Award = money.Pounds(*a.AwardPence)
		}
		if a.SubmittedAt != nil {
			row.Submitted = longTime(*a.SubmittedAt)
		}
		data.Apps = append(data.Apps, row)
	}
	data.Page = opsCursorPage("/ops/fund/applications", filters, q, cursor, len(data.Apps), resp.JSON200.Total, resp.JSON200.NextCursor)
	code := http.StatusOK
	if len(errs) > 0 {
		code = http.StatusBadRequest
	}
	h.show(w, r, code, "ops_apps", "Applications", errs, data)
}

type opsAppData struct {
	App                          fundapi.Application
	Status, Requested, Award     string
	RoundName, BudgetLeft        string
	Themes, Partners             string
	Lines                        []opsSummaryRow
	Milestones                   []opsSummaryRow
	CanAssess, CanAward, CanDecl bool
	AwardFields, DeclineFields   []templates.OpsField
	AwardKey                     string
	// AssessKey and DeclineKey are those forms' own: pressed twice, each acts once
	// (the second press said "cannot decline an application that is declined").
	AssessKey, DeclineKey string
	Submitted, ReportDue  string
	// Report is the project's report once received, for ITSS to read.
	Report *fundReport
	Org    string // the organisation's name, or its id when not known
	// BudgetSpent is a round with nothing left to award: the page says so beside
	// the award form, which it leaves empty.
	BudgetSpent bool
	// BelowMinimum is the round's smallest award, in pounds, when the budget left
	// is less than it but not spent: no award can be made from what is left, and
	// the page says so beside the award form, which it leaves empty.
	BelowMinimum string
	// CanCorrect offers the correction of an awarded application's amount, its form
	// filled with the award as it stands and carrying the version the page showed
	// (Version, the application's ETag), to which alone it is applied.
	CanCorrect    bool
	CorrectFields []templates.OpsField
	CorrectKey    string
	Version       string
}

// opsAppForms are what the forms of an application's page were filled with, and
// what was refused in them, when the page is shown again after a refusal.
type opsAppForms struct {
	awardTyped, declineTyped, correctTyped opsform.Values
	awardErrs, declineErrs, correctErrs    []templates.FieldError
}

// opsApplication is an application in full, with the actions its status allows:
// start assessment, award (showing the budget left), decline with feedback.
func (h *Handler) opsApplication(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	h.opsShowApplication(w, r, c, http.StatusOK, opsform.Values{}, nil, opsform.Values{}, nil)
}

func (h *Handler) opsShowApplication(w http.ResponseWriter, r *http.Request, c *opsCtx, status int, awardTyped opsform.Values, awardErrs []templates.FieldError,
	declineTyped opsform.Values, declineErrs []templates.FieldError) {
	h.opsShowApplicationForms(w, r, c, status, opsAppForms{awardTyped: awardTyped, awardErrs: awardErrs, declineTyped: declineTyped, declineErrs: declineErrs})
}

// opsShowApplicationForms is opsShowApplication with every form's values and refusals.
func (h *Handler) opsShowApplicationForms(w http.ResponseWriter, r *http.Request, c *opsCtx, status int, f opsAppForms) {
	awardTyped, awardErrs, declineTyped, declineErrs := f.awardTyped, f.awardErrs, f.declineTyped, f.declineErrs
	ctx := r.Context()
	id := r.PathValue("app")
	resp, err := c.set.Fund.GetApplicationWithResponse(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	a := *resp.JSON200
	data := opsAppData{App: a, Status: opsHumanise(string(a.Status)), Requested: money.Pounds(a.RequestedAmountPence),
		Org:       opsOrgLabel(h.opsNames(ctx, c.set, a.OrganisationId), a.OrganisationId),
		CanAssess: a.Status == fundapi.Submitted, CanAward: a.Status == fundapi.InAssessment,
		CanDecl: a.Status == fundapi.Submitted || a.Status == fundapi.InAssessment}
	if a.AwardPence != nil {
		data.Award = money.Pounds(*a.AwardPence)
	}
	if a.SubmittedAt != nil {
		data.Submitted = longTime(*a.SubmittedAt)
	}
	if a.ReportDue != nil {
		data.ReportDue = longDate(a.ReportDue.Time)
	}
	data.Report = fundReportOf(a)
	var themes, partners []string
	for _, t := range a.Themes {
		themes = append(themes, opsHumanise(string(t)))
	}
	for _, p := range a.Partners {
		partners = append(partners, p.Name)
	}
	data.Themes, data.Partners = strings.Join(themes, ", "), strings.Join(partners, ", ")
	for _, l := range a.BudgetLines {
		data.Lines = append(data.Lines, opsSummaryRow{l.Description, money.Pounds(l.AmountPence)})
	}
	for _, m := range a.Milestones {
		data.Milestones = append(data.Milestones, opsSummaryRow{m.Description, longDate(m.Due.Time)})
	}
	minAward := int64(0) // not known
	if rd, err := c.set.Fund.GetRoundWithResponse(ctx, a.RoundId); err == nil && rd.JSON200 != nil {
		data.RoundName, minAward = rd.JSON200.Name, rd.JSON200.MinAwardPence
	}
	left := int64(-1) // not known
	if l, err := c.set.Fund.GetLedgerWithResponse(ctx, a.RoundId); err == nil && l.JSON200 != nil {
		left = l.JSON200.RemainingPence
		data.BudgetLeft, data.BudgetSpent = money.Pounds(left), left == 0
		if left > 0 && left < minAward {
			data.BelowMinimum = money.Pounds(minAward)
		}
	}
	if len(awardTyped) == 0 {
		prefill := opsAwardPrefill(a.RequestedAmountPence, left)
		if data.BelowMinimum != "" {
			prefill = "" // the fund refuses any award of what is left
		}
		awardTyped = opsform.Values{"amount": {prefill}}
	}
	data.AwardFields = opsform.Award.Fields(awardTyped, awardErrs)
	// A refused award's form keeps its key (a refusal frees it); any other page
	// gets a new one.
	if data.AwardKey = r.PostForm.Get("key"); data.AwardKey == "" {
		data.AwardKey = uuid.NewString()
	}
	data.AssessKey, data.DeclineKey = uuid.NewString(), uuid.NewString()
	if strings.HasSuffix(r.URL.Path, "/decline") && r.PostForm.Get("key") != "" {
		data.DeclineKey = opsFormKey(r) // a refused decline's form keeps its key
	}
	data.DeclineFields = opsform.Decline.Fields(declineTyped, declineErrs)
	if data.CanCorrect = a.Status == fundapi.Awarded && a.AwardPence != nil; data.CanCorrect {
		data.Version = resp.HTTPResponse.Header.Get("ETag")
		correctTyped := f.correctTyped
		if len(correctTyped) == 0 {
			correctTyped = opsform.Values{"corrected_amount": {opsform.PoundsTyped(*a.AwardPence)}}
		}
		data.CorrectFields = opsform.AwardCorrection.Fields(correctTyped, f.correctErrs)
		if data.CorrectKey = uuid.NewString(); strings.HasSuffix(r.URL.Path, "/award-correction") && r.PostForm.Get("key") != "" {
			data.CorrectKey = opsFormKey(r) // a refused correction's form keeps its key
		}
	}
	h.show(w, r, status, "ops_app", a.Title, append(append(awardErrs, declineErrs...), f.correctErrs...), data)
}

// opsAwardPrefill is the amount the award form is filled with, in pounds as typed:
// what the application requested, or the round's budget left (in pence; negative
// when not known) when that is less, as the fund refuses an award the budget cannot
// cover. A spent budget fills in nothing: an award of £0 is no award.
func opsAwardPrefill(requested, left int64) string {
	amount := requested
	if left >= 0 {
		amount = min(requested, left)
	}
	if amount == 0 {
		return ""
	}
	return opsform.PoundsTyped(amount)
}

// opsAssess starts the assessment of a submitted application.
func (h *Handler) opsAssess(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	id := r.PathValue("app")
	key := opsFormKey(r)
	resp, err := c.set.Fund.StartAssessmentWithResponse(r.Context(), id, &fundapi.StartAssessmentParams{IdempotencyKey: &key})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if p.Status == http.StatusConflict {
			h.opsShowApplication(w, r, c, http.StatusConflict, nil, []templates.FieldError{{Message: opsSentence(p.Detail)}}, nil, nil)
			return
		}
		h.serviceProblem(w, r, p)
		return
	}
	http.Redirect(w, r, "/ops/fund/applications/"+id, http.StatusSeeOther)
}

// opsAward awards an application. When the round's budget cannot cover it (another
// award took what was left first), the page says so plainly with what is left now;
// nothing is awarded.
func (h *Handler) opsAward(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	ctx := r.Context()
	id := r.PathValue("app")
	key := opsFormKey(r)
	r.PostForm.Set("key", key)
	typed, body, errs := opsform.Award.Parse(r.PostForm, london)
	if len(errs) > 0 {
		h.opsShowApplication(w, r, c, http.StatusBadRequest, typed, errs, nil, nil)
		return
	}
	resp, err := c.set.Fund.AwardApplicationWithBodyWithResponse(ctx, id, &fundapi.AwardApplicationParams{IdempotencyKey: &key}, "application/json", opsJSONBody(body))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := clients.Check(resp.HTTPResponse, resp.Body)
	if p == nil {
		http.Redirect(w, r, "/ops/fund/applications/"+id, http.StatusSeeOther)
		return
	}
	if !opsFormRefusal(p) {
		h.serviceProblem(w, r, p)
		return
	}
	fe := opsRenamed(opsFieldProblems(p, nil), opsform.Award)
	if p.Status == http.StatusConflict {
		fe = []templates.FieldError{{Message: h.opsAwardConflict(r, c, id, body["amount_pence"], p)}}
	}
	h.opsShowApplication(w, r, c, opsStatusOf(fe), typed, fe, nil, nil)
}

// opsAwardConflict explains a refused award: when the budget left is less than the
// amount, another award took it first.
func (h *Handler) opsAwardConflict(r *http.Request, c *opsCtx, id string, amount any, p *clients.Problem) string {
	amt, _ := amount.(int64)
	app, err := c.set.Fund.GetApplicationWithResponse(r.Context(), id)
	if err != nil || app.JSON200 == nil {
		return opsSentence(p.Detail)
	}
	l, err := c.set.Fund.GetLedgerWithResponse(r.Context(), app.JSON200.RoundId)
	if err != nil || l.JSON200 == nil {
		return opsSentence(p.Detail)
	}
	if left := l.JSON200.RemainingPence; left < amt {
		return fmt.Sprintf("Nothing was awarded: the round's budget has %s left, not enough for %s. Another award may have taken it first.", money.Pounds(left), money.Pounds(amt))
	}
	return "Nothing was awarded: " + p.Detail
}

// opsDecline declines an application with feedback for the applicant.
func (h *Handler) opsDecline(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	id := r.PathValue("app")
	typed, body, errs := opsform.Decline.Parse(r.PostForm, london)
	if len(errs) > 0 {
		h.opsShowApplication(w, r, c, http.StatusBadRequest, nil, nil, typed, errs)
		return
	}
	key := opsFormKey(r)
	resp, err := c.set.Fund.CreateApplicationRefusalWithBodyWithResponse(r.Context(), id, &fundapi.CreateApplicationRefusalParams{IdempotencyKey: &key}, "application/json", opsJSONBody(body))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		fe := opsRenamed(opsFieldProblems(p, nil), opsform.Decline)
		h.opsShowApplication(w, r, c, opsStatusOf(fe), nil, nil, typed, fe)
		return
	}
	http.Redirect(w, r, "/ops/fund/applications/"+id, http.StatusSeeOther)
}

// opsRoundList is the fund's rounds (fundRounds), or false when it has answered
// with why they could not be read.
func (h *Handler) opsRoundList(w http.ResponseWriter, r *http.Request, c *opsCtx) ([]fundapi.Round, bool) {
	rounds, err := fundRounds(r.Context(), c.set.Fund)
	if err != nil {
		h.opsFailed(w, r, err)
		return nil, false
	}
	return rounds, true
}
