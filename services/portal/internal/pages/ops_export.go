package pages

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/itss/techcommit/services/portal/internal/clients"

	fundapi "github.com/itss/techcommit/services/fund/api"
	sigapi "github.com/itss/techcommit/services/signatory/api"
)

// opsSafeCell keeps a spreadsheet from reading a cell as a formula: a value starting
// with = + - @ (or a tab or carriage return, which some spreadsheets skip before
// one) is prefixed with an apostrophe, so that a name typed by anyone outside ITSS
// cannot run in the spreadsheet of the person who opens the export.
func opsSafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeCSV sends rows as a CSV download (RFC 4180, through encoding/csv), every
// cell made safe.
func (h *Handler) opsWriteCSV(w http.ResponseWriter, r *http.Request, name string, header []string, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.csv"`, name, h.opsDay().Format(time.DateOnly)))
	cw := csv.NewWriter(w)
	write := func(rec []string) error {
		out := make([]string, len(rec))
		for i, c := range rec {
			out[i] = opsSafeCell(c)
		}
		return cw.Write(out)
	}
	if err := write(header); err != nil {
		h.logger.WarnContext(r.Context(), "write export", "error", err)
		return
	}
	for _, rec := range rows {
		if err := write(rec); err != nil {
			h.logger.WarnContext(r.Context(), "write export", "error", err)
			return
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		h.logger.WarnContext(r.Context(), "write export", "error", err)
	}
}

// opsOrganisationsCSV exports the organisations (filtered as the list is) with
// their next obligation and its days left or overdue.
func (h *Handler) opsOrganisationsCSV(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	q := r.URL.Query()
	var st *sigapi.Status
	if s := q.Get("status"); s != "" {
		v := sigapi.Status(s)
		st = &v
	}
	var kind *sigapi.Kind
	if k := q.Get("kind"); k != "" {
		v := sigapi.Kind(k)
		kind = &v
	}
	orgs, err := opsListOrganisations(r.Context(), c.set, st, kind)
	if err != nil {
		h.opsFailed(w, r, err)
		return
	}
	today := h.opsDay()
	needle := strings.ToLower(strings.TrimSpace(q.Get("q")))
	rows := make([][]string, 0, len(orgs))
	for _, o := range orgs {
		if needle != "" && !strings.Contains(strings.ToLower(o.Name), needle) {
			continue
		}
		rec := []string{o.Id, o.Name, string(o.Kind), "", "", string(o.Status), strconv.FormatBool(o.Listed), "", "", ""}
		if o.Sector != nil {
			rec[3] = string(*o.Sector)
		}
		if o.Country != nil {
			rec[4] = *o.Country
		}
		if o.NextDue != nil {
			rec[7] = o.NextDue.Format(time.DateOnly)
			if d := opsDaysBetween(today, o.NextDue.Time); d >= 0 {
				rec[8] = strconv.Itoa(d)
			} else {
				rec[9] = strconv.Itoa(-d)
			}
		}
		rows = append(rows, rec)
	}
	h.opsWriteCSV(w, r, "organisations", []string{"id", "name", "kind", "sector", "country", "status", "listed", "next_due", "days_left", "days_overdue"}, rows)
}

// opsApplicationsCSV exports a round's applications (or every round's) with
// their awards and reports (received, due, overdue or not_due, and the amount
// spent), naming each one's round and organisation as the console's pages do (the
// fund's records hold only their ids). A round's export is named after the round.
func (h *Handler) opsApplicationsCSV(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	ctx := r.Context()
	q := r.URL.Query()
	var st *fundapi.ApplicationStatus
	if s := q.Get("status"); s != "" {
		v := fundapi.ApplicationStatus(s)
		st = &v
	}
	rounds, ok := h.opsRoundList(w, r, c)
	if !ok {
		return
	}
	roundNames := map[string]string{}
	for _, rd := range rounds {
		roundNames[rd.Id] = rd.Name
	}
	apps, err := opsListApplications(ctx, c.set, q.Get("round"), st)
	if err != nil {
		h.opsFailed(w, r, err)
		return
	}
	orgs := opsNamesOf(ctx, h, c.set, apps, func(a fundapi.Application) string { return a.OrganisationId })
	today := h.opsDay()
	rows := make([][]string, 0, len(apps))
	for _, a := range apps {
		// The columns the export always had keep their places; the names and the
		// report follow them.
		rec := []string{a.Id, a.RoundId, a.OrganisationId, a.Title, string(a.Status), opsPenceText(a.RequestedAmountPence), "", "", "",
			roundNames[a.RoundId], orgs[a.OrganisationId], "", ""}
		if a.AwardPence != nil {
			rec[6] = opsPenceText(*a.AwardPence)
		}
		if a.SubmittedAt != nil {
			rec[7] = a.SubmittedAt.UTC().Format(time.RFC3339)
		}
		if a.ReportDue != nil {
			rec[8] = a.ReportDue.Format(time.DateOnly)
			rec[11] = "not_due"
			if due, overdue := opsReportState(a, today); due {
				rec[11] = "due"
			} else if overdue {
				rec[11] = "overdue"
			}
		}
		if a.Report != nil {
			rec[11] = "received"
			if a.Report.SpentPence != nil {
				rec[12] = opsPenceText(*a.Report.SpentPence)
			}
		}
		rows = append(rows, rec)
	}
	name := "applications"
	if slug := opsFileWords(roundNames[q.Get("round")]); slug != "" {
		name += "-" + slug
	}
	h.opsWriteCSV(w, r, name, []string{"id", "round_id", "organisation_id", "title", "status", "requested_gbp", "awarded_gbp", "submitted_at", "report_due",
		"round", "organisation", "report", "spent_gbp"}, rows)
}

// opsFileWords makes a name part of a file's name: its letters and digits (ASCII,
// lower case), each run of anything else one hyphen ("Technician Collaboration
// Fund 2027" is technician-collaboration-fund-2027), at most 60 characters.
func opsFileWords(s string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if gap && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			gap = false
			continue
		}
		gap = true
	}
	out := b.String()
	if len(out) > 60 {
		out = strings.TrimRight(out[:60], "-")
	}
	return out
}

// opsPenceText is an amount in pounds with two decimals, as a spreadsheet reads it.
func opsPenceText(p int64) string { return fmt.Sprintf("%d.%02d", p/100, p%100) }

// opsObligationsCSV exports every obligation of every announced (or since
// withdrawn) organisation: its window, due date, status and days left or overdue.
func (h *Handler) opsObligationsCSV(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	ctx := r.Context()
	var orgs []sigapi.OrganisationSummary
	for _, st := range []sigapi.Status{sigapi.Announced, sigapi.Withdrawn} {
		some, err := opsListOrganisations(ctx, c.set, &st, nil)
		if err != nil {
			h.opsFailed(w, r, err)
			return
		}
		orgs = append(orgs, some...)
	}
	limit := 200
	var rows [][]string
	for _, o := range orgs {
		resp, err := c.set.Signatory.ListObligationsWithResponse(ctx, o.Id, &sigapi.ListObligationsParams{Limit: &limit})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
			h.serviceProblem(w, r, p)
			return
		}
		for _, ob := range resp.JSON200.Items {
			rec := []string{o.Id, o.Name, string(o.Status), ob.Id, string(ob.Kind), strconv.Itoa(ob.Cycle), ob.WindowOpens.Format(time.DateOnly),
				ob.Due.Format(time.DateOnly), string(ob.Status), "", "", ""}
			if ob.DaysLeft != nil {
				rec[9] = strconv.Itoa(*ob.DaysLeft)
			}
			if ob.DaysOverdue != nil {
				rec[10] = strconv.Itoa(*ob.DaysOverdue)
			}
			if ob.MetOn != nil {
				rec[11] = ob.MetOn.Format(time.DateOnly)
			}
			rows = append(rows, rec)
		}
	}
	h.opsWriteCSV(w, r, "obligations", []string{"organisation_id", "organisation", "organisation_status", "obligation_id", "kind", "cycle",
		"window_opens", "due", "status", "days_left", "days_overdue", "met_on"}, rows)
}
