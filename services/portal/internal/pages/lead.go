package pages

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/signin"

	sigapi "github.com/itss/techcommit/services/signatory/api"
)

type accountData struct {
	Leads []leadRow
	// Applicant lists the organisations the person makes API tokens for.
	Applicant []signin.Applicant
	Reviewer  bool
	Known     bool
	Ops       bool
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request) {
	v, _ := visitorFrom(r.Context())
	data := accountData{Leads: h.leadRows(r, v.person), Applicant: v.person.Applicant, Reviewer: v.person.Reviewer != nil, Known: v.person.Known() || v.session.Ops, Ops: v.session.Ops}
	h.show(w, r, http.StatusOK, "account", "Your pages", nil, data)
}

// leadRow is an organisation the person leads, as their pages list it.
type leadRow struct {
	signin.Lead
	// Withdrawn is the day it withdrew, in words, or "" while it is in the
	// Commitment: an organisation that withdrew and signed again is two records of one
	// name (often with one lead), told apart so.
	Withdrawn string
	// NoTokens says no API tokens are offered for the organisation (a supporter's:
	// see offersTokens).
	NoTokens bool
}

// leadRows are the organisations person leads, those in the Commitment first, then
// those that withdrew, each saying so with its day, as the signatory service answers
// the lead. An organisation it does not answer for is listed as if in.
func (h *Handler) leadRows(r *http.Request, person signin.Person) []leadRow {
	rows := make([]leadRow, 0, len(person.Leads))
	for _, l := range person.Leads {
		row := leadRow{Lead: l}
		if set, err := h.clients.For(person.AsLead(l.OrgID)); err == nil {
			if o, err := set.Signatory.GetOrganisationWithResponse(r.Context(), l.OrgID); err == nil && o.JSON200 != nil {
				if o.JSON200.Status == sigapi.Withdrawn && o.JSON200.WithdrawnOn != nil {
					row.Withdrawn = longDate(o.JSON200.WithdrawnOn.Time)
				}
				row.NoTokens = !offersTokens(o.JSON200.Kind)
			} else if err != nil {
				h.logger.WarnContext(r.Context(), "organisation unavailable for the lead's list", "error", err)
			}
		}
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b leadRow) int {
		return cmp.Compare(boolInt(a.Withdrawn != ""), boolInt(b.Withdrawn != ""))
	})
	return rows
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// leadOf returns the clients acting as the visitor, the lead of the organisation in
// the path. Anyone else (another organisation's lead, a reviewer) gets "page not
// found": the page neither shows nor admits the organisation's records.
func (h *Handler) leadOf(w http.ResponseWriter, r *http.Request) (string, *clients.Set, bool) {
	v, _ := visitorFrom(r.Context())
	org := r.PathValue("org")
	if _, ok := v.person.LeadOf(org); !ok {
		h.notFound(w, r)
		return "", nil, false
	}
	set, err := h.clients.For(v.person.AsLead(org))
	if err != nil {
		h.fail(w, r, err)
		return "", nil, false
	}
	return org, set, true
}

type orgSummary struct {
	ID, Name, Status, Contact, PlanPage string
}

type obligationRow struct {
	What, Opens, Due, Status, StatusText string
}

type obligationsData struct {
	Org         orgSummary
	Obligations []obligationRow
	CalendarURL string
	// CalendarRotated says the lead has just made a new calendar address.
	CalendarRotated bool
	// Tokens says API tokens are offered for the organisation's tools (see offersTokens).
	Tokens bool
}

// obligations is the lead's page of their organisation: its status and contact, the
// obligations with their dates and days left, and the calendar feed.
func (h *Handler) obligations(w http.ResponseWriter, r *http.Request) {
	org, set, ok := h.leadOf(w, r)
	if !ok {
		return
	}
	orgResp, err := set.Signatory.GetOrganisationWithResponse(r.Context(), org)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(orgResp.HTTPResponse, orgResp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	o := orgResp.JSON200
	data := obligationsData{Org: orgSummary{ID: o.Id, Name: o.Name, Status: organisationStatus(o.Status, o.Kind)}, Tokens: offersTokens(o.Kind)}
	if o.PointOfContact != nil {
		data.Org.Contact = o.PointOfContact.Name
	}
	if o.PlanPage != nil {
		data.Org.PlanPage = *o.PlanPage
	}
	limit := 200
	obResp, err := set.Signatory.ListObligationsWithResponse(r.Context(), org, &sigapi.ListObligationsParams{Limit: &limit})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(obResp.HTTPResponse, obResp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	for _, ob := range obResp.JSON200.Items {
		data.Obligations = append(data.Obligations, obligationRowOn(ob, londonDay(h.clock.Now())))
	}
	// The calendar is a convenience: the page stands without it when notify is down.
	if cal, err := set.Notify.GetCalendarURLWithResponse(r.Context(), org); err == nil && cal.JSON200 != nil {
		data.CalendarURL = cal.JSON200.Url
		data.CalendarRotated = r.URL.Query().Get("calendar") == "new"
	} else if err != nil {
		h.logger.WarnContext(r.Context(), "calendar address unavailable", "error", err)
	}
	h.show(w, r, http.StatusOK, "obligations", "Your organisation", nil, data)
}

func (h *Handler) calendarRotate(w http.ResponseWriter, r *http.Request) {
	org, set, ok := h.leadOf(w, r)
	if !ok {
		return
	}
	resp, err := set.Notify.RotateCalendarWithResponse(r.Context(), org)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	// Said on the page it leads back to (reloaded at its top), not only seen in the
	// address that changed further down.
	http.Redirect(w, r, "/obligations/"+org+"?calendar=new", http.StatusSeeOther)
}

func obligationKind(kind string, cycle int) string {
	switch kind {
	case "action_plan":
		return "Action plan"
	case "self_assessment_and_action_plan":
		return fmt.Sprintf("Self-assessment and action plan (cycle %d)", cycle)
	}
	return kind
}

// obligationRowOn is an obligation as the lead's page and the console show it on
// the London day today. Signatory calls an obligation open until it is met or
// overdue, its window open or not: one whose window has not opened reads as when it
// opens, not as "1096 days left" tagged open, a deadline running now.
func obligationRowOn(ob sigapi.Obligation, today time.Time) obligationRow {
	row := obligationRow{What: obligationKind(string(ob.Kind), ob.Cycle),
		Opens: longDate(ob.WindowOpens.Time), Due: longDate(ob.Due.Time), Status: string(ob.Status), StatusText: obligationStatus(ob)}
	if ob.Status == sigapi.Open && today.Before(ob.WindowOpens.Time) {
		row.Status, row.StatusText = "upcoming", "Window opens "+longDate(ob.WindowOpens.Time)
	}
	return row
}

func obligationStatus(ob sigapi.Obligation) string {
	switch {
	case ob.Status == "open" && ob.DaysLeft != nil && *ob.DaysLeft == 0:
		return "Due today"
	case ob.Status == "open" && ob.DaysLeft != nil:
		return plural(*ob.DaysLeft, "day") + " left"
	case ob.Status == "overdue" && ob.DaysOverdue != nil:
		return plural(*ob.DaysOverdue, "day") + " overdue"
	case ob.Status == "met" && ob.MetOn != nil:
		return "Met on " + longDate(ob.MetOn.Time)
	case ob.Status == sigapi.Lapsed:
		return "Lapsed when the organisation withdrew" // the only way one lapses
	case ob.Status == sigapi.Open:
		return "Open"
	case ob.Status == sigapi.Overdue:
		return "Overdue"
	case ob.Status == sigapi.Met:
		return "Met"
	}
	return string(ob.Status)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// organisationStatus is where an organisation stands, in words: "announced" read as
// a word of the code, not of the Commitment.
func organisationStatus(status sigapi.Status, kind sigapi.Kind) string {
	switch status {
	case "enquiry":
		return "Enquiry received"
	case "meeting_held":
		return "Meeting held"
	case "form_received":
		return "Signed form received"
	case "announced":
		if kind == "supporter" {
			return "Supporter of the Technician Commitment"
		}
		return "Signatory of the Technician Commitment"
	case "withdrawn":
		return "Withdrawn from the Technician Commitment"
	}
	return strings.ReplaceAll(string(status), "_", " ")
}

// londonDay is the start of t's day in London, as a civil date at UTC midnight (the
// form the services give dates in).
func londonDay(t time.Time) time.Time {
	y, m, d := t.In(london).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
