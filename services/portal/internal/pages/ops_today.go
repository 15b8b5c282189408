package pages

import (
	"context"
	"fmt"
	"github.com/google/uuid"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/itss/techcommit/libs/money"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/portal/internal/clients"

	fundapi "github.com/itss/techcommit/services/fund/api"
	notifyapi "github.com/itss/techcommit/services/notify/api"
	reviewapi "github.com/itss/techcommit/services/review/api"
	sigapi "github.com/itss/techcommit/services/signatory/api"
)

// opsDueHorizon is how far ahead Today looks for obligations falling due.
const opsDueHorizon = 90

// opsMaxListPages bounds how many pages of a list one console page or export reads
// (200 items each): ops scale is 150 organisations and 300 applications a round. A
// list longer than that is refused with a problem that says so (opsTooLong), never
// shown or exported cut short.
const opsMaxListPages = 50

// opsTooLong is the problem of a list longer than a console page or export reads.
func opsTooLong(what string) *clients.Problem {
	return &clients.Problem{Status: http.StatusUnprocessableEntity, Title: "Too many to list",
		Detail: fmt.Sprintf("More than %d %s match: narrow the filters and try again.", opsMaxListPages*200, what)}
}

type opsTodayData struct {
	Onboarding  []opsOrgRow
	Due         []opsDueRow
	FundRounds  []opsFundRoundRow
	ReviewRound []opsReviewRoundRow
	Failed      []opsDeliveryRow
	DeadLetters []opsDeadLetterCount
	// Unavailable names the sections whose service did not answer: the rest of the
	// page stands without them.
	Unavailable []string
	// Missing says, by section ("onboarding", "due", "fund", "review", "failed",
	// "letters"), which could not be read, so that it does not say "none".
	Missing map[string]bool
}

type opsOrgRow struct {
	ID, Name, Kind, Status, NextDue string
	Listed                          bool
}

type opsDueRow struct {
	OrgID, Name, Due, Text string
	Days                   int
	Overdue                bool
}

type opsFundRoundRow struct {
	ID, Name, Status, Budget, Awarded, Left string
	ByStatus                                []opsStatusCount
}

type opsStatusCount struct {
	Status string
	Count  int
}

// opsByStatus is a ledger's count of a round's applications, each status that has
// any, in the order of an application's life, in words.
func opsByStatus(n fundapi.ApplicationCounts) []opsStatusCount {
	var out []opsStatusCount
	for _, c := range []opsStatusCount{{string(fundapi.Draft), n.Draft}, {string(fundapi.Submitted), n.Submitted},
		{string(fundapi.InAssessment), n.InAssessment}, {string(fundapi.Awarded), n.Awarded}, {string(fundapi.Declined), n.Declined},
		{string(fundapi.Withdrawn), n.Withdrawn}} {
		if c.Count > 0 {
			out = append(out, opsStatusCount{Status: opsHumanise(c.Status), Count: c.Count})
		}
	}
	return out
}

type opsReviewRoundRow struct {
	ID, Name, Status, Deadline                          string
	Submissions, Assigned, Accepted, Submitted, Overdue int
	Reviewers                                           []opsReviewerProgress
}

type opsReviewerProgress struct {
	Name                                          string
	Assigned, Accepted, Submitted, Overdue, Total int
}

type opsDeadLetterCount struct {
	Service string
	Count   int
}

type opsDeliveryRow struct {
	ID, Subject, Kind, Status, Error, Created string
	Attempts                                  int
	// To is whom the email went to and Sent when (at its latest sending), Earlier
	// whom and when a resend's earlier sendings went, before the role passed to
	// someone else: the log is kept to show that and when the suite told someone.
	To      []opsRecipient
	Sent    string
	Earlier []opsSending
	// OrgID is the organisation the email is about ("" for one about none, such as
	// a sign-in link), Org its name as the console shows it (see nameDeliveries).
	OrgID, Org string
	// Resendable is false for a sign-in link, which the log keeps without its link.
	Resendable bool
	// Key is the resend form's own: pressed twice, it sends the email once.
	Key string
}

// opsToday is what needs someone now, from all four services. A service that does
// not answer leaves its section saying so, not the whole page failing. The sections
// are read at once, each into its own part of the page, so the page takes about as
// long as its slowest section rather than the sum of a dozen calls.
func (h *Handler) opsToday(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	ctx := r.Context()
	var data opsTodayData
	deadLetters := make([]opsDeadLetterCount, len(clients.ServiceNames)+1)
	// unavailable[i] is what section i could not show, kept apart so that the page
	// lists them in the same order however the calls finish.
	const onboarding, obligations, fund, review, deliveries, letters = 0, 1, 2, 3, 4, 5
	// The dead letters' parts are the services' and the portal's own (opsReadDeadLetters).
	unavailable := make([][]string, letters+len(clients.ServiceNames)+1)
	missing := func(i int, what string, err error) {
		h.logger.WarnContext(ctx, "today: a section is unavailable", "section", what, "error", err)
		unavailable[i] = append(unavailable[i], what)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, st := range []sigapi.Status{sigapi.Enquiry, sigapi.MeetingHeld, sigapi.FormReceived} {
			orgs, err := opsListOrganisations(ctx, c.set, &st, nil)
			if err != nil {
				missing(onboarding, "Organisations", err)
				return
			}
			for _, o := range orgs {
				data.Onboarding = append(data.Onboarding, opsOrgRowOf(o))
			}
		}
	})
	wg.Go(func() {
		announced := sigapi.Announced
		if orgs, err := opsListOrganisations(ctx, c.set, &announced, nil); err != nil {
			missing(obligations, "Obligations", err)
		} else {
			data.Due = opsDueRows(orgs, h.opsDay())
		}
	})
	wg.Go(func() {
		if rounds, err := h.opsFundRoundRows(ctx, c.set, true); err != nil {
			missing(fund, "Collaboration Fund", err)
		} else {
			data.FundRounds = rounds
		}
	})
	wg.Go(func() {
		if rounds, err := opsReviewProgress(ctx, c.set); err != nil {
			missing(review, "Review rounds", err)
		} else {
			data.ReviewRound = rounds
		}
	})
	wg.Go(func() {
		for _, st := range []notifyapi.DeliveryStatus{notifyapi.GivenUp, notifyapi.Failed} {
			limit := 50
			resp, err := c.set.Notify.ListDeliveriesWithResponse(ctx, &notifyapi.ListDeliveriesParams{Status: &st, Limit: &limit})
			if err == nil {
				if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
					err = p
				}
			}
			if err != nil {
				missing(deliveries, "Email deliveries", err)
				return
			}
			for _, d := range resp.JSON200.Items {
				data.Failed = append(data.Failed, opsDeliveryRowOf(d))
			}
		}
	})
	wg.Go(func() {
		for i, part := range h.opsReadDeadLetters(ctx, c.subject) {
			if part.Err != nil {
				missing(letters+i, "Dead letters of "+part.Service, part.Err)
			} else if n := len(part.Rows); n > 0 {
				deadLetters[i] = opsDeadLetterCount{Service: opsHumanise(part.Service), Count: n}
			}
		}
	})
	wg.Wait()
	h.nameDeliveries(ctx, c.set, data.Failed)
	for _, d := range deadLetters {
		if d.Count > 0 {
			data.DeadLetters = append(data.DeadLetters, d)
		}
	}
	sections := [letters]string{onboarding: "onboarding", obligations: "due", fund: "fund", review: "review", deliveries: "failed"}
	data.Missing = map[string]bool{}
	for i, u := range unavailable {
		data.Unavailable = append(data.Unavailable, u...)
		switch {
		case len(u) == 0:
		case i < letters:
			data.Missing[sections[i]] = true
		default:
			data.Missing["letters"] = true
		}
	}
	h.show(w, r, http.StatusOK, "ops_today", "Today", nil, data)
}

// opsListOrganisations reads every page of the organisations in a status and kind
// (either may be nil); more than opsMaxListPages of them is a problem (opsTooLong).
func opsListOrganisations(ctx context.Context, set *clients.Set, status *sigapi.Status, kind *sigapi.Kind) ([]sigapi.OrganisationSummary, error) {
	var out []sigapi.OrganisationSummary
	limit := 200
	var cursor *string
	for range opsMaxListPages {
		resp, err := set.Signatory.ListOrganisationsWithResponse(ctx, &sigapi.ListOrganisationsParams{Status: status, Kind: kind, Limit: &limit, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("list organisations: %w", err)
		}
		if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
			return nil, fmt.Errorf("list organisations: %w", p)
		}
		out = append(out, resp.JSON200.Items...)
		if resp.JSON200.NextCursor == nil {
			return out, nil
		}
		cursor = resp.JSON200.NextCursor
	}
	return nil, opsTooLong("organisations")
}

func opsOrgRowOf(o sigapi.OrganisationSummary) opsOrgRow {
	row := opsOrgRow{ID: o.Id, Name: o.Name, Kind: opsHumanise(string(o.Kind)), Status: opsHumanise(string(o.Status)), Listed: o.Listed}
	if o.NextDue != nil {
		row.NextDue = longDate(o.NextDue.Time)
	}
	return row
}

// opsDueRows are the organisations whose next obligation is overdue or due within
// opsDueHorizon days of today, the most overdue first.
func opsDueRows(orgs []sigapi.OrganisationSummary, today time.Time) []opsDueRow {
	var out []opsDueRow
	for _, o := range orgs {
		if o.NextDue == nil {
			continue
		}
		days := opsDaysBetween(today, o.NextDue.Time)
		if days > opsDueHorizon {
			continue
		}
		row := opsDueRow{OrgID: o.Id, Name: o.Name, Due: longDate(o.NextDue.Time), Days: days}
		switch {
		case days < 0:
			row.Overdue, row.Text = true, plural(-days, "day")+" overdue"
		case days == 0:
			row.Text = "Due today"
		default:
			row.Text = plural(days, "day") + " left"
		}
		out = append(out, row)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Days < out[j].Days })
	return out
}

// opsFundRoundRows are the fund's rounds with their applications by status and their
// budget; current leaves out rounds closed for more than a year.
func (h *Handler) opsFundRoundRows(ctx context.Context, set *clients.Set, current bool) ([]opsFundRoundRow, error) {
	rounds, err := fundRounds(ctx, set.Fund)
	if err != nil {
		return nil, err
	}
	var out []opsFundRoundRow
	for _, rd := range rounds {
		if current && rd.ClosedAt != nil && h.clock.Now().Sub(*rd.ClosedAt) > 365*24*time.Hour {
			continue
		}
		row := opsFundRoundRow{ID: rd.Id, Name: rd.Name, Status: opsHumanise(string(rd.Status)), Budget: money.Pounds(rd.BudgetPence)}
		ledger, err := set.Fund.GetLedgerWithResponse(ctx, rd.Id)
		if err != nil {
			return nil, fmt.Errorf("ledger of round %s: %w", rd.Id, err)
		}
		if p := clients.Check(ledger.HTTPResponse, ledger.Body); p != nil {
			return nil, fmt.Errorf("ledger of round %s: %w", rd.Id, p)
		}
		row.Awarded, row.Left = money.Pounds(ledger.JSON200.AwardedPence), money.Pounds(ledger.JSON200.RemainingPence)
		// The ledger counts the round's applications by status: the page does not
		// read them (it read up to a thousand per round, and grew with them).
		row.ByStatus = opsByStatus(ledger.JSON200.Applications)
		out = append(out, row)
	}
	return out, nil
}

// opsListApplications reads every page of a round's applications in a status (nil
// for any); more than opsMaxListPages of them is a problem (opsTooLong).
func opsListApplications(ctx context.Context, set *clients.Set, round string, status *fundapi.ApplicationStatus) ([]fundapi.Application, error) {
	var out []fundapi.Application
	limit := 200
	var cursor *string
	var roundID *string
	if round != "" {
		roundID = &round
	}
	for range opsMaxListPages {
		resp, err := set.Fund.ListApplicationsWithResponse(ctx, &fundapi.ListApplicationsParams{RoundId: roundID, Status: status, Limit: &limit, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("list applications: %w", err)
		}
		if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
			return nil, fmt.Errorf("list applications: %w", p)
		}
		out = append(out, resp.JSON200.Items...)
		if resp.JSON200.NextCursor == nil {
			return out, nil
		}
		cursor = resp.JSON200.NextCursor
	}
	return nil, opsTooLong("applications")
}

// opsReviewProgress is each review round with something left to do: its assignments
// by state and per reviewer. A round whose feedback is all out is done, and so is a
// closed round holding no submission (none added, or all moved to later rounds).
func opsReviewProgress(ctx context.Context, set *clients.Set) ([]opsReviewRoundRow, error) {
	limit := 200
	resp, err := set.Review.ListRoundsWithResponse(ctx, &reviewapi.ListRoundsParams{Limit: &limit})
	if err != nil {
		return nil, fmt.Errorf("list review rounds: %w", err)
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		return nil, fmt.Errorf("list review rounds: %w", p)
	}
	var out []opsReviewRoundRow
	for _, s := range resp.JSON200.Items {
		if s.Status == reviewapi.RoundStatusFeedbackReleased || s.Status != reviewapi.RoundStatusOpen && s.SubmissionCount == 0 {
			continue
		}
		rd, err := set.Review.GetRoundWithResponse(ctx, s.Id)
		if err != nil {
			return nil, fmt.Errorf("review round %s: %w", s.Id, err)
		}
		if p := clients.Check(rd.HTTPResponse, rd.Body); p != nil {
			return nil, fmt.Errorf("review round %s: %w", s.Id, p)
		}
		out = append(out, opsReviewRoundRowOf(*rd.JSON200))
	}
	return out, nil
}

func opsReviewRoundRowOf(rd reviewapi.Round) opsReviewRoundRow {
	row := opsReviewRoundRow{ID: rd.Id, Name: rd.Name, Status: opsHumanise(string(rd.Status)), Deadline: longTime(rd.ReviewDeadline),
		Submissions: len(rd.Submissions)}
	per := map[string]*opsReviewerProgress{}
	var order []string
	for _, a := range rd.Assignments {
		if a.State == reviewapi.AssignmentStateRemoved || a.State == reviewapi.AssignmentStateDeclined {
			continue
		}
		p, ok := per[a.ReviewerId]
		if !ok {
			p = &opsReviewerProgress{Name: a.ReviewerName}
			per[a.ReviewerId] = p
			order = append(order, a.ReviewerId)
		}
		p.Total++
		switch {
		case a.Reviewed:
			row.Submitted++
			p.Submitted++
		case a.State == reviewapi.AssignmentStateAccepted:
			row.Accepted++
			p.Accepted++
		default:
			row.Assigned++
			p.Assigned++
		}
		if a.Overdue {
			row.Overdue++
			p.Overdue++
		}
	}
	for _, id := range order {
		row.Reviewers = append(row.Reviewers, *per[id])
	}
	sort.SliceStable(row.Reviewers, func(i, j int) bool { return row.Reviewers[i].Name < row.Reviewers[j].Name })
	return row
}

// opsDeliveryKinds says what each kind of email notify logs is. A kind it does not
// list reads as its words (see opsDeliveryKind).
var opsDeliveryKinds = map[notifyapi.DeliveryKind]string{
	notifyapi.Reminder:            "Deadline reminder",
	notifyapi.ReviewAssigned:      "Review assigned",
	notifyapi.ReviewDueSoon:       "Review due soon",
	notifyapi.ReviewOverdue:       "Review overdue",
	notifyapi.ReviewUnassigned:    "Review unassigned",
	notifyapi.ReviewFeedback:      "Feedback released",
	notifyapi.ReviewReturned:      "Review returned for revision",
	notifyapi.ReviewNotNeeded:     "Review no longer needed",
	notifyapi.ReviewDeclined:      "Review declined",
	notifyapi.SigninLink:          "Sign-in link",
	notifyapi.FundReceived:        "Fund application received",
	notifyapi.FundAwarded:         "Fund application awarded",
	notifyapi.FundDeclined:        "Fund application declined",
	notifyapi.FundReportDue:       "Fund report due",
	notifyapi.FundReportReceived:  "Fund report received",
	notifyapi.FundWithdrawn:       "Fund application withdrawn",
	notifyapi.FundAwardCorrected:  "Fund award corrected",
	notifyapi.ObligationReceived:  "Submission received",
	notifyapi.ObligationWithdrawn: "Withdrawal recorded",
	notifyapi.LeadNamed:           "New nominated lead told",
	notifyapi.LeadReplaced:        "Previous nominated lead told",
	notifyapi.LeadChanged:         "Head told of a new nominated lead",
	notifyapi.HeadChanged:         "Change of head told",

	notifyapi.AnnouncementCorrected: "Corrected deadline told",
	notifyapi.FundReportDueMoved:    "Moved fund report day told",
}

// opsDeliveryKind is a kind of email in words: notify names its kinds with hyphens.
func opsDeliveryKind(k notifyapi.DeliveryKind) string {
	if label, ok := opsDeliveryKinds[k]; ok {
		return label
	}
	return opsHumanise(strings.ReplaceAll(string(k), "-", " "))
}

func opsDeliveryRowOf(d notifyapi.Delivery) opsDeliveryRow {
	row := opsDeliveryRow{ID: d.Id, Subject: d.Subject, Kind: opsDeliveryKind(d.Kind), Status: opsHumanise(string(d.Status)),
		Created: longTime(d.CreatedAt), Attempts: d.Attempts, OrgID: d.OrganisationId, Resendable: d.Kind != "signin-link", Key: uuid.NewString()}
	if d.LastError != nil {
		row.Error = *d.LastError
	}
	row.To = opsRecipients(d.To)
	if d.SentAt != nil {
		row.Sent = longTime(*d.SentAt)
	}
	if d.Earlier != nil {
		for _, e := range *d.Earlier {
			row.Earlier = append(row.Earlier, opsSending{To: opsRecipients(e.To), Sent: longTime(e.SentAt)})
		}
	}
	return row
}

// opsRecipient is one person an email went to: their name and address, or the name
// alone (as erased, when the person was erased since). The page shows the address
// apart from the name, kept whole as every address is (it is copied).
type opsRecipient struct{ Name, Email string }

// opsSending is an earlier sending of an email: whom it went to, and when.
type opsSending struct {
	To   []opsRecipient
	Sent string
}

// opsRecipients is whom an email went to.
func opsRecipients(to []notifyapi.Person) []opsRecipient {
	var out []opsRecipient
	for _, p := range to {
		switch {
		case p.Erased != nil && *p.Erased:
			out = append(out, opsRecipient{Name: personal.ErasedName})
		case p.Email == nil:
			out = append(out, opsRecipient{Name: opsDeref(p.Name)})
		default:
			out = append(out, opsRecipient{Name: opsDeref(p.Name), Email: string(*p.Email)})
		}
	}
	return out
}

// nameDeliveries gives each row the name of its organisation: notify's log names it
// by id alone, and a person looks for a name.
func (h *Handler) nameDeliveries(ctx context.Context, set *clients.Set, rows []opsDeliveryRow) {
	names := opsNamesOf(ctx, h, set, rows, func(d opsDeliveryRow) string { return d.OrgID })
	for i, d := range rows {
		if d.OrgID != "" {
			rows[i].Org = opsOrgLabel(names, d.OrgID)
		}
	}
}
