package pages

import (
	"net/http"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
	"github.com/itss/techcommit/services/portal/internal/templates"

	fundapi "github.com/itss/techcommit/services/fund/api"
)

// opsRoundWindowIntro says what correcting a closed round's project window does,
// before it is done.
const opsRoundWindowIntro = "For a project window recorded wrong. Each funded project's report is due a month after the window ends: " +
	"correcting it moves every report not yet in to its new day, and the applicant and the organisation's nominated lead are told, with the calendar entry moved. " +
	"The window must still fit the round, and hold the milestones of the applications submitted, in assessment or funded."

// opsRoundWindowShow shows the form that corrects a closed round's project window,
// filled with the window as it stands. (An open round's is corrected with the rest
// of its terms, Fund → Correct.)
func (h *Handler) opsRoundWindowShow(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	rd, version, ok := h.opsRound(w, r, c)
	if !ok {
		return
	}
	h.opsShowRoundWindow(w, r, http.StatusOK, rd, version, opsRoundWindowValues(rd), nil)
}

// opsRoundWindowCorrect sends the round's terms as they stand with the window typed,
// applied only to the round as the form showed it (If-Match). The fund decides
// whether the window fits; its refusal is shown beside the field it names.
func (h *Handler) opsRoundWindowCorrect(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	rd, version, ok := h.opsRound(w, r, c)
	if !ok {
		return
	}
	seen, versioned := seenVersion(r.PostForm.Get("version"))
	if !versioned {
		h.versionMissing(w, r, "/ops/fund/rounds/"+rd.Id+"/window")
		return
	}
	typed, body, errs := opsform.FundRoundWindow.Parse(r.PostForm, london)
	if len(errs) > 0 {
		h.opsShowRoundWindow(w, r, http.StatusBadRequest, rd, seen, typed, errs)
		return
	}
	terms := opsRoundTerms(rd)
	terms["project_start"], terms["project_end"] = body["project_start"], body["project_end"]
	resp, err := c.set.Fund.UpdateRoundWithBodyWithResponse(r.Context(), rd.Id, &fundapi.UpdateRoundParams{IfMatch: &seen}, "application/json", opsJSONBody(terms))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		switch {
		case p.Status == http.StatusPreconditionFailed:
			// The form sent twice (a double click) is refused the second time, the
			// first having corrected the window: it leads on as the first did.
			now, ok := h.opsRoundNow(r, c, rd.Id)
			if ok && now.ProjectStart.String() == body["project_start"] && now.ProjectEnd.String() == body["project_end"] {
				http.Redirect(w, r, "/ops/fund", http.StatusSeeOther)
				return
			}
			errs := opsStale("changed this round", "the round")
			if ok {
				errs = append(errs, opsform.FundRoundWindow.SavedNow(typed, opsRoundWindowValues(now))...)
			}
			h.opsShowRoundWindow(w, r, http.StatusConflict, rd, version, typed, errs)
		case !opsFormRefusal(p):
			h.serviceProblem(w, r, p)
		default:
			fe := opsRenamed(opsFieldProblems(p, nil), opsform.FundRoundWindow)
			h.opsShowRoundWindow(w, r, opsStatusOf(fe), rd, seen, typed, fe)
		}
		return
	}
	http.Redirect(w, r, "/ops/fund", http.StatusSeeOther)
}

func opsRoundWindowValues(rd fundapi.Round) opsform.Values {
	return opsform.Values{"project_start": {rd.ProjectStart.String()}, "project_end": {rd.ProjectEnd.String()}}
}

func (h *Handler) opsShowRoundWindow(w http.ResponseWriter, r *http.Request, status int, rd fundapi.Round, version string, typed opsform.Values, errs []templates.FieldError) {
	h.show(w, r, status, "ops_form", "Correct the project window", errs, opsFormData{Caption: rd.Name, Intro: opsRoundWindowIntro,
		Action: "/ops/fund/rounds/" + rd.Id + "/window", Button: "Correct the project window", Back: "/ops/fund", Version: version, Fields: opsform.FundRoundWindow.Fields(typed, errs)})
}
