package pages

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
	"github.com/itss/techcommit/services/portal/internal/templates"

	reviewapi "github.com/itss/techcommit/services/review/api"
)

// opsReviewRoutes is the console's review rounds and reviewer pool.
func (h *Handler) opsReviewRoutes(ops func(string, opsHandler)) {
	ops("GET /ops/review", h.opsReviewRounds)
	ops("GET /ops/review/rounds/new", h.opsReviewRoundNew)
	ops("POST /ops/review/rounds", h.opsReviewRoundOpen)
	ops("GET /ops/review/rounds/{round}", h.opsReviewRound)
	ops("GET /ops/review/rounds/{round}/progress.csv", h.opsReviewProgressCSV)
	ops("POST /ops/review/rounds/{round}/submissions", h.opsReviewAddSubmissions)
	ops("POST /ops/review/rounds/{round}/auto-assign", h.opsReviewAutoAssign)
	ops("POST /ops/review/rounds/{round}/assignments", h.opsReviewChangeAssignment)
	ops("POST /ops/review/rounds/{round}/close", h.opsReviewClose)
	ops("POST /ops/review/rounds/{round}/moves", h.opsReviewMove)
	ops("GET /ops/review/rounds/{round}/submissions/{sub}", h.opsReviewSubmission)
	ops("POST /ops/review/rounds/{round}/submissions/{sub}/reviews/{reviewer}/{action}", h.opsModerate)
	ops("POST /ops/review/rounds/{round}/submissions/{sub}/feedback", h.opsReleaseFeedback)
	ops("GET /ops/review/reviewers", h.opsReviewers)
	ops("GET /ops/review/reviewers/new", h.opsReviewerNew)
	ops("POST /ops/review/reviewers", h.opsReviewerAdd)
	ops("GET /ops/review/reviewers/{reviewer}", h.opsReviewerEdit)
	ops("POST /ops/review/reviewers/{reviewer}", h.opsReviewerSave)
}

type opsReviewRoundSummaryRow struct {
	ID, Name, Status, Deadline string
	Submissions                int
}

// opsReviewRounds lists the review rounds.
func (h *Handler) opsReviewRounds(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	limit := 200
	resp, err := c.set.Review.ListRoundsWithResponse(r.Context(), &reviewapi.ListRoundsParams{Limit: &limit})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	var rows []opsReviewRoundSummaryRow
	for _, s := range resp.JSON200.Items {
		rows = append(rows, opsReviewRoundSummaryRow{ID: s.Id, Name: s.Name, Status: opsHumanise(string(s.Status)), Deadline: longTime(s.ReviewDeadline),
			Submissions: s.SubmissionCount})
	}
	h.show(w, r, http.StatusOK, "ops_review", "Review rounds", nil, rows)
}

func (h *Handler) opsReviewRoundNew(w http.ResponseWriter, r *http.Request, _ *opsCtx) {
	h.opsShowReviewRoundForm(w, r, http.StatusOK, uuid.NewString(), opsform.Values{}, nil)
}

func (h *Handler) opsShowReviewRoundForm(w http.ResponseWriter, r *http.Request, status int, key string, typed opsform.Values, errs []templates.FieldError) {
	h.show(w, r, status, "ops_form", "Open a review round", errs, opsFormData{Action: "/ops/review/rounds", Button: "Open the round",
		Back: "/ops/review", Key: key, Fields: opsform.ReviewRound.Fields(typed, errs)})
}

// opsReviewRoundOpen opens a review round, once however often the same form is sent
// (a double click opened two rounds of one name).
func (h *Handler) opsReviewRoundOpen(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	typed, body, errs := opsform.ReviewRound.Parse(r.PostForm, london)
	key := opsFormKey(r)
	if len(errs) == 0 {
		resp, err := c.set.Review.OpenRoundWithBodyWithResponse(r.Context(), &reviewapi.OpenRoundParams{IdempotencyKey: &key}, "application/json", opsJSONBody(body))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p := clients.Check(resp.HTTPResponse, resp.Body)
		if p == nil && resp.JSON201 != nil {
			http.Redirect(w, r, "/ops/review/rounds/"+url.PathEscape(resp.JSON201.Id), http.StatusSeeOther) // the service's identifier, escaped: the address stays on this site
			return
		}
		if p == nil {
			h.fail(w, r, fmt.Errorf("open review round: answered %d without the round", resp.StatusCode()))
			return
		}
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		errs = opsRenamed(opsFieldProblems(p, nil), opsform.ReviewRound)
	}
	h.opsShowReviewRoundForm(w, r, opsStatusOf(errs), key, typed, errs)
}

// opsRoundForms are the round page's forms as last sent, with their problems, and
// the last automatic assignment's report.
type opsRoundForms struct {
	addTyped, changeTyped, closeTyped, moveTyped opsform.Values
	addErrs, changeErrs, closeErrs, moveErrs     []templates.FieldError
	report                                       *reviewapi.AssignmentReport
}

type opsReviewRoundData struct {
	Round                   reviewapi.RoundSummary
	Status, Deadline        string
	Open                    bool
	Submissions             []opsRoundSubmissionRow
	Progress                opsReviewRoundRow
	AddFields, ChangeFields []templates.OpsField
	CloseFields             []templates.OpsField
	// CloseKey is the close form's own: sent twice, it closes the round once and
	// both answers lead to the closed round (the second said "already closed").
	CloseKey string
	// MoveFields, on a closed round, put a submission it could not review into a
	// later, open round (none when no round is open).
	MoveFields []templates.OpsField
	Report     *opsAssignmentReport
	// First is false past the first page of assignments, which then links back to
	// it; Next links to the next page.
	First bool
	Next  string
}

// opsRoundSubmissionRow is a submission and its reviewers on the page of the round's
// assignments (a submission whose assignments straddle two pages is on both).
type opsRoundSubmissionRow struct {
	ID, OrgID string
	// What is what the submission answers ("Self-assessment and action plan (cycle
	// 1)"), or its id when not known.
	What      string
	Org       string // the organisation's name, or its id when not known
	Released  bool
	Reviewers []opsAssignmentRow
}

type opsAssignmentRow struct {
	Reviewer, State, Note string
	Reviewed, Overdue     bool
}

type opsAssignmentReport struct {
	Added     int
	Uncovered []opsUncoveredRow
}

// opsUncoveredRow is a submission an automatic assignment left short of reviewers,
// named by what it answers as the round's table names it.
type opsUncoveredRow struct {
	ID, What, Reason string
	Missing          int
}

// opsReviewRound is a round's page; after an automatic assignment (its address
// names the run: assigned=id), with the run's report while the browser holds it.
func (h *Handler) opsReviewRound(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	var f opsRoundForms
	var report reviewapi.AssignmentReport
	if h.outcome(r, r.URL.Query().Get("assigned"), &report) {
		f.report = &report
	}
	h.opsShowReviewRound(w, r, c, http.StatusOK, f)
}

// opsAddSpecs offers the submitted submissions not yet in a round.
func opsAddSpecs(subs []reviewapi.Submission, orgs map[string]string) opsform.Specs {
	var opts []templates.OpsOption
	for _, s := range subs {
		opts = append(opts, templates.OpsOption{Value: s.Id, Text: opsOrgLabel(orgs, s.OrganisationId) + " (" + s.Id + ")"})
	}
	return opsform.Specs{{Name: "submission_ids", Label: "Submissions received", Type: opsform.Multiple, Required: true, Options: opts}}
}

// opsChangeSpecs is the form that assigns or removes one reviewer: the reviewer and
// the submission are typed as the pool and the table above name them. Choices of
// every pool member and every submission in the round made the page grow with the
// pool (400 reviewers) and the round.
var opsChangeSpecs = opsform.Specs{
	{Name: "action", Label: "Change", Type: opsform.Choice, Required: true, Options: opsform.Opts("assign", "Assign the reviewer", "remove", "Remove the reviewer")},
	{Name: "reviewer_id", Label: "Reviewer identifier", Hint: "As the reviewer pool lists it, for example rev-a", Type: opsform.Text, Required: true, Max: 64},
	{Name: "submission_id", Label: "Submission", Hint: "Its identifier, as the table of assignments or the review rounds list it", Type: opsform.Text, Required: true, Max: 64},
	// Named apart from the close form's reason on the same page, so that each field
	// has an id, and a label, of its own.
	{Name: "change_reason", API: "reason", Label: "Reason for the change", Type: opsform.Text, Required: true, Max: 500},
}

// opsRoundPage is how many of a round's assignments its page shows.
const opsRoundPage = 50

// opsRoundReads is what the round's page shows: its summary, a page of its
// assignments and the submissions waiting for a round.
type opsRoundReads struct {
	summary reviewapi.RoundSummary
	page    []reviewapi.Assignment
	next    *string
	waiting []reviewapi.Submission
}

// opsRoundAndPage reads a round's summary, a page of its assignments (after the
// cursor the page's address carries) and the submissions waiting for a round. The
// three reads are independent, so they run at once: the page waits for the slowest
// of them, not for their sum.
func (h *Handler) opsRoundAndPage(w http.ResponseWriter, r *http.Request, c *opsCtx) (opsRoundReads, bool) {
	ctx := r.Context()
	round := r.PathValue("round")
	cursor := r.URL.Query().Get("cursor")
	if len(cursor) >= 200 {
		h.pageGone(w, r)
		return opsRoundReads{}, false
	}
	var (
		out                      opsRoundReads
		sumErr, pageErr, waitErr error
		wg                       sync.WaitGroup
	)
	wg.Go(func() {
		resp, err := c.set.Review.GetRoundSummaryWithResponse(ctx, round)
		if err != nil {
			sumErr = err
			return
		}
		if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
			sumErr = p
			return
		}
		out.summary = *resp.JSON200
	})
	wg.Go(func() {
		limit := opsRoundPage
		params := &reviewapi.ListRoundAssignmentsParams{Limit: &limit}
		if cursor != "" {
			params.Cursor = &cursor
		}
		resp, err := c.set.Review.ListRoundAssignmentsWithResponse(ctx, round, params)
		if err != nil {
			pageErr = fmt.Errorf("list the round's assignments: %w", err)
			return
		}
		if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
			pageErr = p
			return
		}
		out.page, out.next = resp.JSON200.Items, resp.JSON200.NextCursor
	})
	wg.Go(func() {
		limit := 200
		st := reviewapi.SubmissionStatusSubmitted
		resp, err := c.set.Review.ListSubmissionsWithResponse(ctx, &reviewapi.ListSubmissionsParams{Status: &st, Limit: &limit})
		if err != nil {
			waitErr = fmt.Errorf("list submissions: %w", err)
			return
		}
		if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
			waitErr = p
			return
		}
		out.waiting = resp.JSON200.Items
	})
	wg.Wait()
	// The round's own problem (not found, say) comes first: it is what the page is about.
	for _, err := range []error{sumErr, pageErr, waitErr} {
		if err != nil {
			h.opsFailed(w, r, err)
			return opsRoundReads{}, false
		}
	}
	return out, true
}

// opsRoundRows groups a page of a round's assignments by submission, in the page's
// order (by submission, then reviewer).
func opsRoundRows(page []reviewapi.Assignment) []opsRoundSubmissionRow {
	var rows []opsRoundSubmissionRow
	for _, a := range page {
		if len(rows) == 0 || rows[len(rows)-1].ID != a.SubmissionId {
			rows = append(rows, opsRoundSubmissionRow{ID: a.SubmissionId, OrgID: a.OrganisationId, Org: a.OrganisationId})
		}
		row := &rows[len(rows)-1]
		if a.FeedbackReleased != nil && *a.FeedbackReleased {
			row.Released = true
		}
		ar := opsAssignmentRow{Reviewer: a.ReviewerName, State: opsHumanise(string(a.State)), Reviewed: a.Reviewed, Overdue: a.Overdue}
		switch {
		case a.WithheldReason != nil:
			ar.Note = "Held back: " + *a.WithheldReason
		case a.ReturnedReason != nil:
			ar.Note = "Returned: " + *a.ReturnedReason
		case a.DeclinedReason != nil:
			// Often a conflict of interest, for ITSS to record in the pool.
			ar.Note = "Their reason: " + *a.DeclinedReason
		}
		row.Reviewers = append(row.Reviewers, ar)
	}
	return rows
}

func (h *Handler) opsShowReviewRound(w http.ResponseWriter, r *http.Request, c *opsCtx, status int, f opsRoundForms) {
	got, ok := h.opsRoundAndPage(w, r, c)
	if !ok {
		return
	}
	rd := got.summary
	data := opsReviewRoundData{Round: rd, Status: opsHumanise(string(rd.Status)), Deadline: longTime(rd.ReviewDeadline), Open: rd.Status == "open",
		Progress: opsReviewRoundRow{ID: rd.Id, Name: rd.Name, Submissions: rd.SubmissionCount}, Submissions: opsRoundRows(got.page),
		First: r.URL.Query().Get("cursor") == ""}
	if p := rd.Progress; p != nil {
		data.Progress.Assigned, data.Progress.Accepted, data.Progress.Submitted, data.Progress.Overdue = p.Assigned, p.Accepted, p.Reviewed, p.Overdue
	}
	if got.next != nil {
		data.Next = "/ops/review/rounds/" + url.PathEscape(rd.Id) + "?" + url.Values{"cursor": {*got.next}}.Encode()
	}
	ids := make([]string, 0, len(data.Submissions)+len(got.waiting))
	for _, row := range data.Submissions {
		ids = append(ids, row.OrgID)
	}
	for _, w := range got.waiting {
		ids = append(ids, w.OrganisationId)
	}
	orgs := h.opsNames(r.Context(), c.set, ids...)
	subIDs := make([]string, 0, len(data.Submissions))
	for _, row := range data.Submissions {
		subIDs = append(subIDs, row.ID)
	}
	whats := h.opsSubmissionWhats(r.Context(), c.set, subIDs...)
	for i := range data.Submissions {
		row := &data.Submissions[i]
		row.Org, row.What = opsOrgLabel(orgs, row.OrgID), cmp.Or(whats[row.ID], row.ID)
	}
	// Submitted submissions are those in no round yet (one in a round is in review).
	if len(got.waiting) > 0 || len(f.addErrs) > 0 {
		data.AddFields = opsAddSpecs(got.waiting, orgs).Fields(f.addTyped, f.addErrs)
	}
	data.ChangeFields = opsChangeSpecs.Fields(f.changeTyped, f.changeErrs)
	if !data.Open {
		if later, err := h.opsOpenRounds(r.Context(), c); err == nil && len(later) > 0 {
			data.MoveFields = opsMoveSpecs(later).Fields(f.moveTyped, f.moveErrs)
		}
	}
	data.CloseFields = opsform.CloseReviewRound.Fields(f.closeTyped, f.closeErrs)
	data.CloseKey = uuid.NewString()
	if r.Method == http.MethodPost && r.URL.Path == "/ops/review/rounds/"+data.Round.Id+"/close" {
		data.CloseKey = opsFormKey(r)
	}
	if f.report != nil {
		data.Report = &opsAssignmentReport{Added: f.report.Added}
		short := make([]string, 0, len(f.report.Uncovered))
		for _, u := range f.report.Uncovered {
			short = append(short, u.SubmissionId)
		}
		whats := h.opsSubmissionWhats(r.Context(), c.set, short...)
		for _, u := range f.report.Uncovered {
			data.Report.Uncovered = append(data.Report.Uncovered, opsUncoveredRow{ID: u.SubmissionId,
				What: cmp.Or(whats[u.SubmissionId], u.SubmissionId), Reason: u.Reason, Missing: u.Missing})
		}
	}
	errs := append(append(append(append([]templates.FieldError(nil), f.addErrs...), f.changeErrs...), f.closeErrs...), f.moveErrs...)
	h.show(w, r, status, "ops_review_round", rd.Name, errs, data)
}

func (h *Handler) opsReviewAddSubmissions(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	ids := r.PostForm["submission_ids"]
	typed := opsform.Values{"submission_ids": ids}
	if len(ids) == 0 {
		h.opsShowReviewRound(w, r, c, http.StatusBadRequest, opsRoundForms{addTyped: typed,
			addErrs: []templates.FieldError{{Field: "submission_ids", Message: "Select submissions received"}}})
		return
	}
	round := r.PathValue("round")
	resp, err := c.set.Review.AddSubmissionsWithBodyWithResponse(r.Context(), round, "application/json", opsJSONBody(map[string]any{"submission_ids": ids}))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		fe := opsRenamed(opsFieldProblems(p, nil), opsform.Specs{{Name: "submission_ids"}})
		h.opsShowReviewRound(w, r, c, opsStatusOf(fe), opsRoundForms{addTyped: typed, addErrs: fe})
		return
	}
	http.Redirect(w, r, "/ops/review/rounds/"+round, http.StatusSeeOther)
}

// opsReviewAutoAssign runs the automatic assignment and shows its report: how many
// assignments it made and which submissions it could not cover, and why.
func (h *Handler) opsReviewAutoAssign(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	resp, err := c.set.Review.CreateAutomaticAssignmentWithBodyWithResponse(r.Context(), r.PathValue("round"), "application/json", opsJSONBody(map[string]any{}))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if opsFormRefusal(p) {
			h.opsShowReviewRound(w, r, c, p.Status, opsRoundForms{changeErrs: []templates.FieldError{{Message: "Nothing was assigned: " + p.Detail}}})
			return
		}
		h.serviceProblem(w, r, p)
		return
	}
	// The report is shown on the round's page, redirected to, so that reloading it
	// does not run the assignment again; one too large to carry there is shown here.
	round, id := r.PathValue("round"), uuid.NewString()
	if h.keepOutcome(w, r, "/ops/review/rounds/"+round, id, resp.JSON200) {
		http.Redirect(w, r, "/ops/review/rounds/"+url.PathEscape(round)+"?assigned="+id, http.StatusSeeOther)
		return
	}
	h.opsShowReviewRound(w, r, c, http.StatusOK, opsRoundForms{report: resp.JSON200})
}

func (h *Handler) opsReviewChangeAssignment(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	specs := opsChangeSpecs
	typed, body, errs := specs.Parse(r.PostForm, london)
	round := r.PathValue("round")
	if len(errs) == 0 {
		resp, err := c.set.Review.ChangeAssignmentWithBodyWithResponse(r.Context(), round, "application/json", opsJSONBody(body))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p := clients.Check(resp.HTTPResponse, resp.Body)
		if p == nil {
			http.Redirect(w, r, "/ops/review/rounds/"+round, http.StatusSeeOther)
			return
		}
		if p.Status == http.StatusNotFound && body["action"] == "remove" && h.opsRemovedAlready(r, c, round, body) {
			// The form sent twice (a double click, or back and send again): the
			// first removed the reviewer, and this leads on as it did.
			http.Redirect(w, r, "/ops/review/rounds/"+round, http.StatusSeeOther)
			return
		}
		if p.Status == http.StatusNotFound {
			// "No assignment of rev-b to ... in this round": a slip in what was typed
			// (the reviewer, or the submission beside it), shown beside the form with
			// what was typed, answered 404 as the service did. A round that is not
			// there fails the page's own read of it, and answers "Page not found".
			errs = []templates.FieldError{{Field: "reviewer_id", Message: opsSentence(p.Detail)}}
			h.opsShowReviewRound(w, r, c, p.Status, opsRoundForms{changeTyped: typed, changeErrs: errs})
			return
		}
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		errs = opsRenamed(opsFieldProblems(p, nil), specs)
	}
	h.opsShowReviewRound(w, r, c, opsStatusOf(errs), opsRoundForms{changeTyped: typed, changeErrs: errs})
}

// opsRemovedAlready reports whether the round holds the reviewer the change names
// removed from its submission: a removal refused as "no assignment" was then done
// already, by this form sent before or by a colleague.
func (h *Handler) opsRemovedAlready(r *http.Request, c *opsCtx, round string, body map[string]any) bool {
	resp, err := c.set.Review.GetRoundWithResponse(r.Context(), round)
	if err != nil || resp.JSON200 == nil {
		return false
	}
	return slices.ContainsFunc(resp.JSON200.Assignments, func(a reviewapi.Assignment) bool {
		return a.ReviewerId == body["reviewer_id"] && a.SubmissionId == body["submission_id"] && a.State == reviewapi.AssignmentStateRemoved
	})
}

func (h *Handler) opsReviewClose(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	typed, body, errs := opsform.CloseReviewRound.Parse(r.PostForm, london)
	round := r.PathValue("round")
	if len(errs) == 0 {
		key := opsFormKey(r)
		resp, err := c.set.Review.CreateRoundClosureWithBodyWithResponse(r.Context(), round, &reviewapi.CreateRoundClosureParams{IdempotencyKey: &key}, "application/json", opsJSONBody(body))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p := clients.Check(resp.HTTPResponse, resp.Body)
		if p == nil {
			http.Redirect(w, r, "/ops/review/rounds/"+round, http.StatusSeeOther)
			return
		}
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		errs = opsRenamed(opsFieldProblems(p, nil), opsform.CloseReviewRound)
	}
	h.opsShowReviewRound(w, r, c, opsStatusOf(errs), opsRoundForms{closeTyped: typed, closeErrs: errs})
}

// opsMoveSpecs is a closed round's form that puts a submission it could not review
// (nobody's review of it counts, none returned awaits revision) into a later round:
// the submission typed as the round's table lists it, the round chosen from those open.
func opsMoveSpecs(open []reviewapi.RoundSummary) opsform.Specs {
	opts := make([]templates.OpsOption, 0, len(open))
	for _, o := range open {
		opts = append(opts, templates.OpsOption{Value: o.Id, Text: o.Name + ", reviews due " + longTime(o.ReviewDeadline)})
	}
	return opsform.Specs{
		{Name: "move_submission_id", API: "submission_id", Label: "Submission", Hint: "Its identifier, as the table above lists it. One with a review that counts has its feedback released here instead", Type: opsform.Text, Required: true, Max: 64},
		{Name: "to_round", Label: "Later round", Type: opsform.Choice, Required: true, Options: opts},
	}
}

// opsOpenRounds are the review rounds still open, which can take a submission.
func (h *Handler) opsOpenRounds(ctx context.Context, c *opsCtx) ([]reviewapi.RoundSummary, error) {
	limit := 200
	resp, err := c.set.Review.ListRoundsWithResponse(ctx, &reviewapi.ListRoundsParams{Limit: &limit})
	if err != nil {
		return nil, err
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		return nil, p
	}
	var open []reviewapi.RoundSummary
	for _, s := range resp.JSON200.Items {
		if s.Status == reviewapi.RoundStatusOpen {
			open = append(open, s)
		}
	}
	return open, nil
}

// opsReviewMove puts a submission the closed round could not review into the later
// round chosen: the review service moves it (or says why it does not).
func (h *Handler) opsReviewMove(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	later, err := h.opsOpenRounds(r.Context(), c)
	if err != nil {
		h.opsFailed(w, r, err)
		return
	}
	specs := opsMoveSpecs(later)
	typed, body, errs := specs.Parse(r.PostForm, london)
	if len(errs) == 0 {
		to, sub := r.PostForm.Get("to_round"), body["submission_id"]
		resp, err := c.set.Review.AddSubmissionsWithBodyWithResponse(r.Context(), to, "application/json", opsJSONBody(map[string]any{"submission_ids": []any{sub}}))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p := clients.Check(resp.HTTPResponse, resp.Body)
		if p == nil {
			// To the later round's page, by the id the review service listed (the
			// form's choice was checked against those).
			for _, o := range later {
				if o.Id == to {
					http.Redirect(w, r, "/ops/review/rounds/"+url.PathEscape(o.Id), http.StatusSeeOther)
					return
				}
			}
			http.Redirect(w, r, "/ops/review", http.StatusSeeOther)
			return
		}
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		errs = []templates.FieldError{{Field: "move_submission_id", Message: "Submission " + p.Detail}}
		if fe := opsFieldProblems(p, nil); len(fe) > 0 {
			errs = []templates.FieldError{{Field: "move_submission_id", Message: "Submission " + fe[0].Message}}
		}
	}
	h.opsShowReviewRound(w, r, c, opsStatusOf(errs), opsRoundForms{moveTyped: typed, moveErrs: errs})
}

type opsReviewSubmissionData struct {
	RoundID, RoundName, SubmissionID, OrgID string
	Org                                     string // the organisation's name, or its id when not known
	Released, Closed                        bool
	Reviews                                 []opsReviewView
	FeedbackFields                          []templates.OpsField
}

type opsReviewView struct {
	Author, ReviewerID, Summary, Returned, Withheld string
	Themes                                          []opsThemeReview
	ReturnFields, WithholdFields                    []templates.OpsField
}

// opsThemeReview is a review's word on one theme, the theme named as people read it.
type opsThemeReview struct {
	Theme, Strengths, Recommendations string
	Score                             int
}

// opsModerationForm is a posted moderation form, for the review it is about: the
// form as sent, which the page checks again with the review's fields (labelled with
// its reviewer's name, which only the page's list of reviews says), and the review
// service's refusal of it, if it got that far.
type opsModerationForm struct {
	reviewer, action string
	posted           url.Values
	refused          []templates.FieldError
}

func (h *Handler) opsReviewSubmission(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	h.opsShowReviewSubmission(w, r, c, http.StatusOK, opsModerationForm{}, nil, nil)
}

// opsModerationSpecs are a review's moderation fields: named after its reviewer's id,
// so that each review's reason field has an id of its own, and labelled with their
// name (as the review's heading is), which people know them by; by the id only when
// no name is known.
func opsModerationSpecs(action, reviewer, name string) opsform.Specs {
	label := map[string]string{"return": "Reason for returning", "withhold": "Reason for holding back"}[action]
	if name == "" {
		name = reviewer
	}
	return opsform.Specs{{Name: action + "-" + reviewer, API: "reason", Label: label + " the review by " + name, Type: opsform.Text, Required: true, Max: 500}}
}

func (h *Handler) opsShowReviewSubmission(w http.ResponseWriter, r *http.Request, c *opsCtx, status int, mod opsModerationForm,
	feedbackTyped opsform.Values, feedbackErrs []templates.FieldError) {
	ctx := r.Context()
	round, sub := r.PathValue("round"), r.PathValue("sub")
	data, found, err := opsRoundSubmission(r, c, round, sub)
	if err != nil {
		h.opsFailed(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	data.Org = opsOrgLabel(h.opsNames(ctx, c.set, data.OrgID), data.OrgID)
	reviews, err := c.set.Review.ListReviewsWithResponse(ctx, round, sub)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(reviews.HTTPResponse, reviews.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	var errs []templates.FieldError
	for _, rv := range reviews.JSON200.Items {
		v := opsReviewView{Author: rv.Author, Summary: rv.Summary}
		for _, t := range rv.Themes {
			v.Themes = append(v.Themes, opsThemeReview{Theme: form.ThemeName(string(t.Theme)), Score: t.Score, Strengths: t.Strengths, Recommendations: t.Recommendations})
		}
		if rv.ReviewerId != nil {
			v.ReviewerID = *rv.ReviewerId
		}
		if rv.ReturnedReason != nil {
			v.Returned = *rv.ReturnedReason
		}
		if rv.WithheldReason != nil {
			v.Withheld = *rv.WithheldReason
		}
		for _, action := range []string{"return", "withhold"} {
			specs := opsModerationSpecs(action, v.ReviewerID, v.Author)
			var typed opsform.Values
			var fe []templates.FieldError
			if mod.reviewer == v.ReviewerID && mod.action == action {
				// Checked again here, so that a problem names the reviewer as the
				// label does; what the form's checks passed, the service refused.
				typed, _, fe = specs.Parse(mod.posted, london)
				if len(fe) == 0 {
					fe = mod.refused
				}
				errs = append(errs, fe...)
			}
			fields := specs.Fields(typed, fe)
			if action == "return" {
				v.ReturnFields = fields
			} else {
				v.WithholdFields = fields
			}
		}
		data.Reviews = append(data.Reviews, v)
	}
	data.FeedbackFields = opsform.Feedback.Fields(feedbackTyped, feedbackErrs)
	h.show(w, r, status, "ops_review_submission", "Reviews of "+data.Org+"'s submission", append(errs, feedbackErrs...), data)
}

// opsRoundSubmission is what the page of a submission's reviews says of the round
// and the submission: the round's summary, and the submission's organisation and
// whether its feedback is out from its assignments (not from the whole round).
// A submission with no assignment yet is looked for in the round itself.
func opsRoundSubmission(r *http.Request, c *opsCtx, round, sub string) (opsReviewSubmissionData, bool, error) {
	ctx := r.Context()
	sum, err := c.set.Review.GetRoundSummaryWithResponse(ctx, round)
	if err != nil {
		return opsReviewSubmissionData{}, false, fmt.Errorf("read review round %s: %w", round, err)
	}
	if p := clients.Check(sum.HTTPResponse, sum.Body); p != nil {
		return opsReviewSubmissionData{}, false, p
	}
	data := opsReviewSubmissionData{RoundID: round, RoundName: sum.JSON200.Name, SubmissionID: sub, Closed: sum.JSON200.Status != "open"}
	limit := 1
	as, err := c.set.Review.ListRoundAssignmentsWithResponse(ctx, round, &reviewapi.ListRoundAssignmentsParams{Limit: &limit, SubmissionId: &sub})
	if err != nil {
		return opsReviewSubmissionData{}, false, fmt.Errorf("list the assignments of %s: %w", sub, err)
	}
	if p := clients.Check(as.HTTPResponse, as.Body); p != nil {
		return opsReviewSubmissionData{}, false, p
	}
	if items := as.JSON200.Items; len(items) > 0 {
		data.OrgID, data.Released = items[0].OrganisationId, items[0].FeedbackReleased != nil && *items[0].FeedbackReleased
		return data, true, nil
	}
	rd, err := c.set.Review.GetRoundWithResponse(ctx, round)
	if err != nil {
		return opsReviewSubmissionData{}, false, fmt.Errorf("read review round %s: %w", round, err)
	}
	if p := clients.Check(rd.HTTPResponse, rd.Body); p != nil {
		return opsReviewSubmissionData{}, false, p
	}
	for _, s := range rd.JSON200.Submissions {
		if s.SubmissionId == sub {
			data.OrgID, data.Released = s.OrganisationId, s.FeedbackReleased
			return data, true, nil
		}
	}
	return data, false, nil
}

// opsModerate returns a review to its reviewer, or holds it back from the
// feedback, with a reason.
func (h *Handler) opsModerate(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	round, sub, reviewer, action := r.PathValue("round"), r.PathValue("sub"), r.PathValue("reviewer"), r.PathValue("action")
	if action != "return" && action != "withhold" {
		h.notFound(w, r)
		return
	}
	// The fields' labels (in the problems the form's checks find) are the page's
	// concern: it names the reviewer, whose name this request does not carry.
	specs := opsModerationSpecs(action, reviewer, "")
	_, body, errs := specs.Parse(r.PostForm, london)
	var refused []templates.FieldError
	if len(errs) == 0 {
		var httpResp *http.Response
		var respBody []byte
		if action == "return" {
			resp, err := c.set.Review.CreateReviewRevisionRequestWithBodyWithResponse(r.Context(), round, sub, reviewer, "application/json", opsJSONBody(body))
			if err != nil {
				h.fail(w, r, err)
				return
			}
			httpResp, respBody = resp.HTTPResponse, resp.Body
		} else {
			resp, err := c.set.Review.CreateReviewWithholdingWithBodyWithResponse(r.Context(), round, sub, reviewer, "application/json", opsJSONBody(body))
			if err != nil {
				h.fail(w, r, err)
				return
			}
			httpResp, respBody = resp.HTTPResponse, resp.Body
		}
		p := clients.Check(httpResp, respBody)
		if p == nil || p.Status == http.StatusConflict && h.opsModeratedAlready(r, c, round, sub, reviewer, action, body["reason"]) {
			// Refused as done already when the review stands as this form asks: the
			// form sent twice (a double click), and it leads on as the first did.
			http.Redirect(w, r, "/ops/review/rounds/"+round+"/submissions/"+sub, http.StatusSeeOther)
			return
		}
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		errs = opsRenamed(opsFieldProblems(p, nil), specs)
		refused = errs
	}
	h.opsShowReviewSubmission(w, r, c, opsStatusOf(errs), opsModerationForm{reviewer: reviewer, action: action, posted: r.PostForm, refused: refused}, nil, nil)
}

// opsReleaseFeedback writes the consolidated feedback and releases it to the
// organisation.
func (h *Handler) opsReleaseFeedback(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	round, sub := r.PathValue("round"), r.PathValue("sub")
	typed, body, errs := opsform.Feedback.Parse(r.PostForm, london)
	if len(errs) == 0 {
		resp, err := c.set.Review.ReleaseFeedbackWithBodyWithResponse(r.Context(), round, sub, "application/json", opsJSONBody(body))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p := clients.Check(resp.HTTPResponse, resp.Body)
		if p == nil || p.Status == http.StatusConflict && h.opsReleasedAlready(r, c, sub, body["feedback"]) {
			// Refused as released already with this feedback: the form sent twice
			// (a double click), and it leads on as the first did.
			http.Redirect(w, r, "/ops/review/rounds/"+round, http.StatusSeeOther)
			return
		}
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		errs = opsRenamed(opsFieldProblems(p, nil), opsform.Feedback)
	}
	h.opsShowReviewSubmission(w, r, c, opsStatusOf(errs), opsModerationForm{}, typed, errs)
}

// opsModeratedAlready reports whether the reviewer's review of the submission is
// returned (or held back) for the reason given, as a moderation form asks.
func (h *Handler) opsModeratedAlready(r *http.Request, c *opsCtx, round, sub, reviewer, action string, reason any) bool {
	resp, err := c.set.Review.ListReviewsWithResponse(r.Context(), round, sub)
	if err != nil || resp.JSON200 == nil {
		return false
	}
	for _, rv := range resp.JSON200.Items {
		if rv.ReviewerId == nil || *rv.ReviewerId != reviewer {
			continue
		}
		given := rv.ReturnedReason
		if action == "withhold" {
			given = rv.WithheldReason
		}
		return given != nil && *given == reason
	}
	return false
}

// opsReleasedAlready reports whether the submission's feedback is released with
// this text.
func (h *Handler) opsReleasedAlready(r *http.Request, c *opsCtx, sub string, feedback any) bool {
	resp, err := c.set.Review.GetFeedbackWithResponse(r.Context(), sub)
	return err == nil && resp.JSON200 != nil && resp.JSON200.Feedback == feedback
}

type opsReviewerRow struct {
	ID, Name, Org, Themes, Conflicts string
	Trained                          bool
	Capacity                         int
	// Workload is the reviewer's reviews in force per round, latest deadline first,
	// so that ops can see who has carried the most over the last rounds.
	Workload []string
}

// opsWorkloadText is one round of a reviewer's workload history: "Review round
// 2027: 2 reviews, due Friday 1 January 2027".
func opsWorkloadText(l reviewapi.RoundLoad) string {
	n := strconv.Itoa(l.Reviews) + " reviews"
	if l.Reviews == 1 {
		n = "1 review"
	}
	return l.RoundName + ": " + n + ", due " + longDate(l.ReviewDeadline.In(london))
}

// opsPoolPage is how many reviewers one page of the pool shows. The whole pool
// (hundreds, each with the workload the service counts for them) made the page cost
// one service read per member.
const opsPoolPage = 50

// opsReviewersData is a page of the pool and the link to the next.
type opsReviewersData struct {
	Rows []opsReviewerRow
	// First is false past the first page, which then links back to it.
	First bool
	Next  string
}

// opsReviewers is the reviewer pool, a page at a time.
func (h *Handler) opsReviewers(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	limit := opsPoolPage
	params := &reviewapi.ListReviewersParams{Limit: &limit}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		if len(cur) >= 200 {
			h.pageGone(w, r)
			return
		}
		params.Cursor = &cur
	}
	resp, err := c.set.Review.ListReviewersWithResponse(r.Context(), params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	data := opsReviewersData{First: params.Cursor == nil}
	if resp.JSON200.NextCursor != nil {
		data.Next = "/ops/review/reviewers?" + url.Values{"cursor": {*resp.JSON200.NextCursor}}.Encode()
	}
	orgs := opsNamesOf(r.Context(), h, c.set, resp.JSON200.Items, func(p reviewapi.Reviewer) string { return p.OrganisationId })
	for _, p := range resp.JSON200.Items {
		row := opsReviewerRow{ID: p.ReviewerId, Name: p.Name, Org: opsOrgLabel(orgs, p.OrganisationId), Trained: p.Trained, Capacity: p.Capacity}
		if p.Themes != nil {
			var ts []string
			for _, t := range *p.Themes {
				ts = append(ts, form.ThemeName(string(t)))
			}
			row.Themes = strings.Join(ts, ", ")
		}
		if p.Conflicts != nil {
			row.Conflicts = strings.Join(*p.Conflicts, ", ")
		}
		if p.Workload != nil {
			for _, l := range *p.Workload {
				row.Workload = append(row.Workload, opsWorkloadText(l))
			}
		}
		data.Rows = append(data.Rows, row)
	}
	h.show(w, r, http.StatusOK, "ops_reviewers", "Reviewer pool", nil, data)
}

// opsReviewerNew shows the pool form, its organisation filled in when the
// organisation's page led here.
func (h *Handler) opsReviewerNew(w http.ResponseWriter, r *http.Request, _ *opsCtx) {
	typed := opsform.Values{"capacity": {"2"}}
	if org := r.URL.Query().Get("organisation_id"); opsOrgIDPattern.MatchString(org) {
		typed["organisation_id"] = []string{org}
	}
	h.opsShowReviewerForm(w, r, http.StatusOK, "", "", typed, nil)
}

// opsReviewerSpecs is the pool form; editing keeps the identifier as it is.
func opsReviewerSpecs(editing bool) opsform.Specs {
	if !editing {
		return opsform.Reviewer
	}
	return slices.DeleteFunc(slices.Clone(opsform.Reviewer), func(s opsform.Spec) bool { return s.Name == "reviewer_id" })
}

func (h *Handler) opsShowReviewerForm(w http.ResponseWriter, r *http.Request, status int, id, version string, typed opsform.Values, errs []templates.FieldError) {
	d := opsFormData{Action: "/ops/review/reviewers", Button: "Add to the pool", Back: "/ops/review/reviewers", Fields: opsReviewerSpecs(id != "").Fields(typed, errs),
		Version: version}
	if id == "" {
		// A registration sent twice (a double click) registers once, and its second
		// answer is the first's: it said "already in the pool".
		d.Key = opsFormKey(r)
	}
	title := "Add a reviewer"
	if id != "" {
		d.Action, d.Button, d.Caption, title = "/ops/review/reviewers/"+id, "Save the reviewer", id, "Change a reviewer"
	}
	h.show(w, r, status, "ops_form", title, errs, d)
}

func (h *Handler) opsReviewerAdd(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	typed, body, errs := opsform.Reviewer.Parse(r.PostForm, london)
	errs, err := h.opsUnannouncedConflict(r.Context(), c.set, body, errs)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(errs) == 0 {
		key := opsFormKey(r)
		resp, err := c.set.Review.RegisterReviewerWithBodyWithResponse(r.Context(), &reviewapi.RegisterReviewerParams{IdempotencyKey: &key}, "application/json", opsJSONBody(body))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p := clients.Check(resp.HTTPResponse, resp.Body)
		if p == nil {
			http.Redirect(w, r, "/ops/review/reviewers", http.StatusSeeOther)
			return
		}
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		errs = opsRenamed(opsConflictsWorded(opsFieldProblems(p, nil), body), opsform.Reviewer)
	}
	h.opsShowReviewerForm(w, r, opsStatusOf(errs), "", "", typed, errs)
}

// opsReviewerEdit shows a pool member's record to change, read on its own.
func (h *Handler) opsReviewerEdit(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	id := r.PathValue("reviewer")
	resp, err := c.set.Review.GetReviewerWithResponse(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	h.opsShowReviewerForm(w, r, http.StatusOK, id, resp.HTTPResponse.Header.Get("ETag"), opsReviewerValues(*resp.JSON200), nil)
}

// opsReviewerValues fills the reviewer's form from their record.
func opsReviewerValues(p reviewapi.Reviewer) opsform.Values {
	typed := opsform.Values{"name": {p.Name}, "email": {string(p.Email)}, "organisation_id": {p.OrganisationId},
		"trained": {strconv.FormatBool(p.Trained)}, "capacity": {strconv.Itoa(p.Capacity)}}
	if p.Themes != nil {
		for _, t := range *p.Themes {
			typed["themes"] = append(typed["themes"], string(t))
		}
	}
	if p.Conflicts != nil {
		typed["conflicts"] = []string{strings.Join(*p.Conflicts, "\n")}
	}
	return typed
}

func (h *Handler) opsReviewerSave(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	id := r.PathValue("reviewer")
	version, versioned := seenVersion(r.PostForm.Get("version"))
	if !versioned {
		h.versionMissing(w, r, "/ops/review/reviewers/"+id)
		return
	}
	specs := opsReviewerSpecs(true)
	typed, body, errs := specs.Parse(r.PostForm, london)
	errs, err := h.opsUnannouncedConflict(r.Context(), c.set, body, errs)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(errs) == 0 {
		body["reviewer_id"] = id
		// Applied only to the record as the form showed it: another person's change
		// since (capacity, say) is not put back without a word.
		resp, err := c.set.Review.UpdateReviewerWithBodyWithResponse(r.Context(), id, "application/json", opsJSONBody(body), ifMatch(version))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p := clients.Check(resp.HTTPResponse, resp.Body)
		switch {
		case p == nil:
			http.Redirect(w, r, "/ops/review/reviewers", http.StatusSeeOther)
			return
		case p.Status == http.StatusPreconditionFailed:
			// Shown again as typed, not saved, carrying the record's version now, so
			// that a save once checked replaces it; unless the record already reads
			// as typed, as after this form sent twice (a double click), when it leads
			// on as the first sending did.
			version, errs := "", opsStale("changed this reviewer", "the reviewer's record")
			if now, err := c.set.Review.GetReviewerWithResponse(r.Context(), id); err == nil && now.JSON200 != nil {
				saved := opsReviewerValues(*now.JSON200)
				if specs.Holds(typed, saved) {
					http.Redirect(w, r, "/ops/review/reviewers", http.StatusSeeOther)
					return
				}
				version, errs = now.HTTPResponse.Header.Get("ETag"), append(errs, specs.SavedNow(typed, saved)...)
			}
			h.opsShowReviewerForm(w, r, http.StatusConflict, id, version, typed, errs)
			return
		case !opsFormRefusal(p):
			h.serviceProblem(w, r, p)
			return
		}
		errs = opsRenamed(opsConflictsWorded(opsFieldProblems(p, nil), body), specs)
	}
	h.opsShowReviewerForm(w, r, opsStatusOf(errs), id, r.PostForm.Get("version"), typed, errs)
}

// opsReviewProgressCSV exports a round's assignments: who reviews what, and where
// each stands.
func (h *Handler) opsReviewProgressCSV(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	resp, err := c.set.Review.GetRoundWithResponse(r.Context(), r.PathValue("round"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	rd := resp.JSON200
	// The round's read keeps the assignments of a submission it let go to a later
	// round (its reviewers here are off it); the round no longer lists it, nor does
	// its progress.
	in := make(map[string]bool, len(rd.Submissions))
	for _, s := range rd.Submissions {
		in[s.SubmissionId] = true
	}
	rows := make([][]string, 0, len(rd.Assignments))
	for _, a := range rd.Assignments {
		if !in[a.SubmissionId] {
			continue
		}
		rows = append(rows, []string{rd.Id, rd.Name, a.SubmissionId, a.OrganisationId, a.ReviewerId, a.ReviewerName, string(a.State),
			strconv.FormatBool(a.Reviewed), strconv.FormatBool(a.Overdue), opsDeref(a.ReturnedReason), opsDeref(a.WithheldReason)})
	}
	h.opsWriteCSV(w, r, "review-progress", []string{"round_id", "round", "submission_id", "organisation_id", "reviewer_id", "reviewer",
		"state", "reviewed", "overdue", "returned_reason", "withheld_reason"}, rows)
}
