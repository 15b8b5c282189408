package pages

import (
	"net/http"
	"time"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
	"github.com/itss/techcommit/services/portal/internal/templates"

	fundapi "github.com/itss/techcommit/services/fund/api"
)

// opsRoundBudgetIntro says what raising a round's budget does, before it is done.
const opsRoundBudgetIntro = "For a budget recorded too low or too high, or changed since. Awards are decided once a round has closed, and each draws on its budget: " +
	"raised, the awards it refused for want of budget can then be made; lowered, it may be to no less than the awards made hold."

// opsRoundBudgetShow shows the form that changes a round's budget, filled with the
// budget as it stands. It is the one change a closed round takes.
func (h *Handler) opsRoundBudgetShow(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	rd, version, ok := h.opsRound(w, r, c)
	if !ok {
		return
	}
	h.opsShowRoundBudget(w, r, http.StatusOK, rd, version, opsRoundBudgetValues(rd), nil)
}

// opsRoundBudgetRaise sends the round's terms as they stand with the budget typed
// (raised, or lowered to no less than its awards hold),
// applied only to the round as the form showed it (If-Match). The fund decides
// whether the budget may change; its refusal is shown beside the field.
func (h *Handler) opsRoundBudgetRaise(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	rd, version, ok := h.opsRound(w, r, c)
	if !ok {
		return
	}
	seen, versioned := seenVersion(r.PostForm.Get("version"))
	if !versioned {
		h.versionMissing(w, r, "/ops/fund/rounds/"+rd.Id+"/budget")
		return
	}
	typed, body, errs := opsform.FundRoundBudget.Parse(r.PostForm, london)
	if len(errs) > 0 {
		h.opsShowRoundBudget(w, r, http.StatusBadRequest, rd, seen, typed, errs)
		return
	}
	terms := opsRoundTerms(rd)
	terms["budget_pence"] = body["budget_pence"]
	resp, err := c.set.Fund.UpdateRoundWithBodyWithResponse(r.Context(), rd.Id, &fundapi.UpdateRoundParams{IfMatch: &seen}, "application/json", opsJSONBody(terms))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		switch {
		case p.Status == http.StatusPreconditionFailed:
			// The form sent twice (a double click) is refused the second time, the
			// first having raised the budget: it leads on as the first did.
			now, ok := h.opsRoundNow(r, c, rd.Id)
			if ok && now.BudgetPence == body["budget_pence"] {
				http.Redirect(w, r, "/ops/fund", http.StatusSeeOther)
				return
			}
			errs := opsStale("changed this round", "the round")
			if ok {
				errs = append(errs, opsform.FundRoundBudget.SavedNow(typed, opsRoundBudgetValues(now))...)
			}
			h.opsShowRoundBudget(w, r, http.StatusConflict, rd, version, typed, errs)
		case !opsFormRefusal(p):
			h.serviceProblem(w, r, p)
		default:
			fe := opsRenamed(opsFieldProblems(p, nil), opsform.FundRoundBudget)
			h.opsShowRoundBudget(w, r, opsStatusOf(fe), rd, seen, typed, fe)
		}
		return
	}
	http.Redirect(w, r, "/ops/fund", http.StatusSeeOther)
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

func opsRoundBudgetValues(rd fundapi.Round) opsform.Values {
	return opsform.Values{"budget": {opsform.PoundsTyped(rd.BudgetPence)}}
}

func (h *Handler) opsShowRoundBudget(w http.ResponseWriter, r *http.Request, status int, rd fundapi.Round, version string, typed opsform.Values, errs []templates.FieldError) {
	h.show(w, r, status, "ops_form", "Change the budget", errs, opsFormData{Caption: rd.Name, Intro: opsRoundBudgetIntro,
		Action: "/ops/fund/rounds/" + rd.Id + "/budget", Button: "Change the budget", Back: "/ops/fund", Version: version, Fields: opsform.FundRoundBudget.Fields(typed, errs)})
}
