package pages

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/itss/techcommit/libs/money"
	"github.com/itss/techcommit/services/portal/internal/clients"

	fundapi "github.com/itss/techcommit/services/fund/api"
	sigapi "github.com/itss/techcommit/services/signatory/api"
)

type applicationRow struct {
	ID, Title, Requested, Status, StatusText, Submitted string
	// Round is the name of the round the application is to, as the console shows
	// it: a lead with applications in two rounds can tell them apart.
	Round string
}

type fundApplicationsData struct {
	OrgID, OrgName string
	// CannotApply says why the organisation may not apply to the fund (a supporter,
	// or withdrawn), when it may not.
	CannotApply string
	// Tokens says the organisation's tools may use the fund's API (see offersTokens).
	Tokens       bool
	Applications []applicationRow
	More         bool
}

// fundApplications is the lead's list of their organisation's fund applications,
// as the fund service answers the lead (it shows only the lead's organisation's).
func (h *Handler) fundApplications(w http.ResponseWriter, r *http.Request) {
	org, set, ok := h.leadOf(w, r)
	if !ok {
		return
	}
	limit := 200
	resp, err := set.Fund.ListApplicationsWithResponse(r.Context(), &fundapi.ListApplicationsParams{Limit: &limit})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	data := fundApplicationsData{OrgID: org, OrgName: h.orgName(r, org), More: resp.JSON200.NextCursor != nil, Tokens: true}
	// Said when the signatory service answers; the list stands without it.
	if o, err := set.Signatory.GetOrganisationWithResponse(r.Context(), org); err == nil && o.JSON200 != nil {
		data.OrgName = o.JSON200.Name
		data.CannotApply = cannotApply(o.JSON200.Name, o.JSON200.Kind, o.JSON200.Status)
		data.Tokens = offersTokens(o.JSON200.Kind)
	} else if err != nil {
		h.logger.WarnContext(r.Context(), "organisation unavailable for the fund page", "error", err)
	}
	rounds := roundNames(r.Context(), set.Fund)
	for _, a := range resp.JSON200.Items {
		if a.OrganisationId != org {
			continue // the service scopes by the token's organisation; this is belt and braces
		}
		row := applicationRow{ID: a.Id, Title: a.Title, Requested: money.Pounds(a.RequestedAmountPence), Status: string(a.Status),
			StatusText: applicationStatus(a.Status), Round: rounds[a.RoundId]}
		if a.SubmittedAt != nil {
			row.Submitted = longDate(a.SubmittedAt.In(london))
		}
		data.Applications = append(data.Applications, row)
	}
	h.show(w, r, http.StatusOK, "fund_applications", "Fund applications", nil, data)
}

// roundNames are the fund's rounds' names by id (fundRounds). Rounds that could not
// be read have no name, and the applications are listed without it.
func roundNames(ctx context.Context, fund *fundapi.ClientWithResponses) map[string]string {
	names := map[string]string{}
	rounds, err := fundRounds(ctx, fund)
	if err != nil {
		return names
	}
	for _, rd := range rounds {
		names[rd.Id] = rd.Name
	}
	return names
}

// fundRounds are the fund's rounds, newest first: the first 200, more than the fund
// has ever held. A refusal comes back as the *clients.Problem it was.
func fundRounds(ctx context.Context, fund *fundapi.ClientWithResponses) ([]fundapi.Round, error) {
	limit := 200
	resp, err := fund.ListRoundsWithResponse(ctx, &fundapi.ListRoundsParams{Limit: &limit})
	if err != nil {
		return nil, fmt.Errorf("list rounds: %w", err)
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		return nil, fmt.Errorf("list rounds: %w", p)
	}
	return resp.JSON200.Items, nil
}

type fundApplicationData struct {
	OrgID, OrgName          string
	Title, Status, StatusTx string
	Summary, Themes         string
	Requested, Award        string
	Submitted, Feedback     string
	ReportDue, ReportState  string
	Partners, Endorsement   string
	// WithdrawalReason is why the application was withdrawn, as the fund gives it:
	// the applicant's tool's words, or the organisation's withdrawal from the
	// Commitment, which the lead did not make for this application.
	WithdrawalReason string
	Budget           []applicationLine
	Milestones       []applicationLine
	// Report is the project's report once the applicant's tool has sent it.
	Report *fundReport
	// ReportOwed is an awarded project whose report is not in: the page says what
	// sends it (the organisation's software, through the fund's API), since nothing
	// on the page does.
	ReportOwed bool
}

// fundReport is a funded project's report as the fund holds it: what the project
// did, in the applicant's words, and what the grant paid for.
type fundReport struct{ Summary, Spent string }

// fundReportOf is the application's report, or nil before one is received.
func fundReportOf(a fundapi.Application) *fundReport {
	if a.Report == nil {
		return nil
	}
	r := &fundReport{}
	if a.Report.Summary != nil {
		r.Summary = *a.Report.Summary
	}
	if a.Report.SpentPence != nil {
		r.Spent = money.Pounds(*a.Report.SpentPence)
	}
	return r
}

type applicationLine struct{ What, Value string }

// reportState is where an awarded project's report stands, in words, on the London
// day today, as the console judges it (opsReportState): a report past its due day
// is overdue to its lead as to ITSS staff, not "Due now".
func reportState(a fundapi.Application, today time.Time) string {
	due, overdue := opsReportState(a, today)
	switch {
	case a.Report != nil:
		return "Received"
	case overdue:
		return "Overdue"
	case due:
		return "Due now"
	case a.ReportDue != nil:
		return "Not yet due"
	}
	return ""
}

// fundApplication is one application in full, with its decision, award and report.
// Another organisation's application is "page not found", as the fund answers.
func (h *Handler) fundApplication(w http.ResponseWriter, r *http.Request) {
	org, set, ok := h.leadOf(w, r)
	if !ok {
		return
	}
	resp, err := set.Fund.GetApplicationWithResponse(r.Context(), r.PathValue("application"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	a := resp.JSON200
	if a.OrganisationId != org {
		h.notFound(w, r)
		return
	}
	data := fundApplicationData{OrgID: org, OrgName: h.orgName(r, org), Title: a.Title, Status: string(a.Status), StatusTx: applicationStatus(a.Status),
		Summary: a.Summary, Requested: money.Pounds(a.RequestedAmountPence), Endorsement: a.Endorsement.Name}
	themes := make([]string, 0, len(a.Themes))
	for _, t := range a.Themes {
		themes = append(themes, strings.ReplaceAll(string(t), "_", " "))
	}
	data.Themes = strings.Join(themes, ", ")
	partners := make([]string, 0, len(a.Partners))
	for _, p := range a.Partners {
		partners = append(partners, p.Name)
	}
	data.Partners = strings.Join(partners, ", ")
	if a.SubmittedAt != nil {
		data.Submitted = longTime(*a.SubmittedAt)
	}
	if a.AwardPence != nil {
		data.Award = money.Pounds(*a.AwardPence)
	}
	if a.Feedback != nil {
		data.Feedback = *a.Feedback
	}
	if a.WithdrawalReason != nil {
		data.WithdrawalReason = *a.WithdrawalReason
	}
	if a.ReportDue != nil {
		data.ReportDue = longDate(a.ReportDue.Time)
	}
	data.ReportState = reportState(*a, londonDay(h.clock.Now()))
	data.ReportOwed = a.Status == fundapi.Awarded && a.Report == nil
	data.Report = fundReportOf(*a)
	for _, b := range a.BudgetLines {
		data.Budget = append(data.Budget, applicationLine{What: b.Description, Value: money.Pounds(int64(b.AmountPence))})
	}
	for _, m := range a.Milestones {
		data.Milestones = append(data.Milestones, applicationLine{What: m.Description, Value: longDate(m.Due.Time)})
	}
	h.show(w, r, http.StatusOK, "fund_application", a.Title, nil, data)
}

// orgName is the organisation's name as the sign-in records hold it, or its id.
// cannotApply says why an organisation may not apply to the Collaboration Fund, or ""
// when it may: only announced signatories that have not withdrawn apply (DESIGN.md),
// as the fund service enforces. One that withdrew still reports on a project the fund
// awarded it (the award stays, and the fund takes the report), from its tools.
func cannotApply(name string, kind sigapi.Kind, status sigapi.Status) string {
	switch {
	case status == sigapi.Withdrawn:
		return name + " withdrew from the Technician Commitment, so it can no longer apply to the Collaboration Fund. The report on a project the fund awarded it is still due: its tools send it through the fund's API."
	case kind == sigapi.Supporter:
		return name + " is a supporter of the Technician Commitment: only signatories may apply to the Collaboration Fund."
	}
	return ""
}

// offersTokens says whether an organisation's pages offer API tokens for its tools:
// not a supporter's, which the fund never takes an application from, and so never
// funds or asks a report of.
func offersTokens(kind sigapi.Kind) bool { return kind != sigapi.Supporter }

func (h *Handler) orgName(r *http.Request, org string) string {
	v, _ := visitorFrom(r.Context())
	if l, ok := v.person.LeadOf(org); ok && l.OrgName != "" {
		return l.OrgName
	}
	return org
}

func applicationStatus(s fundapi.ApplicationStatus) string {
	switch s {
	case fundapi.Draft:
		return "Draft"
	case fundapi.Submitted:
		return "Submitted"
	case fundapi.InAssessment:
		return "Being assessed"
	case fundapi.Awarded:
		return "Awarded"
	case fundapi.Declined:
		return "Not funded"
	case fundapi.Withdrawn:
		return "Withdrawn"
	}
	return string(s)
}
