package pages

import (
	"net/http"
	"time"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
	"github.com/itss/techcommit/services/portal/internal/templates"

	fundapi "github.com/itss/techcommit/services/fund/api"
)

// opsRoundTermForm is a form that corrects one term of a round, open or closed (its
// budget, its project window), by sending the round's terms as they stand with that
// term as typed.
type opsRoundTermForm struct {
	slug   string // the form's path under the round: /ops/fund/rounds/{round}/{slug}
	title  string // the page's heading and its button
	intro  string // what the correction does, before it is done
	specs  opsform.Specs
	values func(fundapi.Round) opsform.Values // the form filled from the round as it stands
}

// opsRoundBudgetForm changes a round's budget, raised, or lowered to no less than
// its awards hold. It is the change a closed round most often needs.
var opsRoundBudgetForm = opsRoundTermForm{
	slug: "budget", title: "Change the budget", specs: opsform.FundRoundBudget,
	intro: "For a budget recorded too low or too high, or changed since. Awards are decided once a round has closed, and each draws on its budget: " +
		"raised, the awards it refused for want of budget can then be made; lowered, it may be to no less than the awards made hold.",
	values: func(rd fundapi.Round) opsform.Values {
		return opsform.Values{"budget": {opsform.PoundsTyped(rd.BudgetPence)}}
	},
}

// opsRoundWindowForm corrects a round's project window. (An open round's is also
// corrected with the rest of its terms, Fund → Correct.)
var opsRoundWindowForm = opsRoundTermForm{
	slug: "window", title: "Correct the project window", specs: opsform.FundRoundWindow,
	intro: "For a project window recorded wrong. Each funded project's report is due a month after the window ends: " +
		"correcting it moves every report not yet in to its new day, and the applicant and the organisation's nominated lead are told, with the calendar entry moved. " +
		"The window must still fit the round, and hold the milestones of the applications submitted, in assessment or funded.",
	values: func(rd fundapi.Round) opsform.Values {
		return opsform.Values{"project_start": {rd.ProjectStart.String()}, "project_end": {rd.ProjectEnd.String()}}
	},
}

// opsRoundTermShow shows the form filled with the round's term as it stands.
func (h *Handler) opsRoundTermShow(f opsRoundTermForm) opsHandler {
	return func(w http.ResponseWriter, r *http.Request, c *opsCtx) {
		rd, version, ok := h.opsRound(w, r, c)
		if !ok {
			return
		}
		h.opsShowRoundTerm(w, r, f, http.StatusOK, rd, version, f.values(rd), nil)
	}
}

// opsRoundTermCorrect sends the round's terms as they stand with the form's term as
// typed, applied only to the round as the form showed it (If-Match). The fund
// decides whether the term may change; its refusal is shown beside the field it names.
func (h *Handler) opsRoundTermCorrect(f opsRoundTermForm) opsHandler {
	return func(w http.ResponseWriter, r *http.Request, c *opsCtx) {
		rd, version, ok := h.opsRound(w, r, c)
		if !ok {
			return
		}
		seen, versioned := seenVersion(r.PostForm.Get("version"))
		if !versioned {
			h.versionMissing(w, r, "/ops/fund/rounds/"+rd.Id+"/"+f.slug)
			return
		}
		typed, body, errs := f.specs.Parse(r.PostForm, london)
		if len(errs) > 0 {
			h.opsShowRoundTerm(w, r, f, http.StatusBadRequest, rd, seen, typed, errs)
			return
		}
		terms := opsRoundTerms(rd)
		for k, v := range body {
			terms[k] = v
		}
		resp, err := c.set.Fund.UpdateRoundWithBodyWithResponse(r.Context(), rd.Id, &fundapi.UpdateRoundParams{IfMatch: &seen}, "application/json", opsJSONBody(terms))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
			switch {
			case p.Status == http.StatusPreconditionFailed:
				// The form sent twice (a double click) is refused the second time, the
				// first having made the change: it leads on as the first did.
				now, ok := h.opsRoundNow(r, c, rd.Id)
				if ok && f.specs.Holds(typed, f.values(now)) {
					http.Redirect(w, r, "/ops/fund", http.StatusSeeOther)
					return
				}
				errs := opsStale("changed this round", "the round")
				if ok {
					errs = append(errs, f.specs.SavedNow(typed, f.values(now))...)
				}
				h.opsShowRoundTerm(w, r, f, http.StatusConflict, rd, version, typed, errs)
			case !opsFormRefusal(p):
				h.serviceProblem(w, r, p)
			default:
				fe := opsRenamed(opsFieldProblems(p, nil), f.specs)
				h.opsShowRoundTerm(w, r, f, opsStatusOf(fe), rd, seen, typed, fe)
			}
			return
		}
		http.Redirect(w, r, "/ops/fund", http.StatusSeeOther)
	}
}

// opsRoundTerms are a round's terms as the fund holds them, to send back with one
// changed: its choice on the previous round's grantees is left out, which the round
// keeps.
func opsRoundTerms(rd fundapi.Round) map[string]any {
	themes := make([]string, 0, len(rd.Themes))
	for _, t := range rd.Themes {
		themes = append(themes, string(t))
	}
	return map[string]any{
		"name": rd.Name, "opens": rd.Opens.UTC().Format(time.RFC3339Nano), "closes": rd.Closes.UTC().Format(time.RFC3339Nano),
		"budget_pence": rd.BudgetPence, "min_award_pence": rd.MinAwardPence, "max_award_pence": rd.MaxAwardPence,
		"project_start": rd.ProjectStart.String(), "project_end": rd.ProjectEnd.String(), "themes": themes,
	}
}

func (h *Handler) opsShowRoundTerm(w http.ResponseWriter, r *http.Request, f opsRoundTermForm, status int, rd fundapi.Round, version string, typed opsform.Values, errs []templates.FieldError) {
	h.show(w, r, status, "ops_form", f.title, errs, opsFormData{Caption: rd.Name, Intro: f.intro,
		Action: "/ops/fund/rounds/" + rd.Id + "/" + f.slug, Button: f.title, Back: "/ops/fund", Version: version, Fields: f.specs.Fields(typed, errs)})
}
