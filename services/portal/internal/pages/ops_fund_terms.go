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
		h.opsPutRound(w, r, c, rd, seen, version, terms, roundPut{
			typed: typed, specs: f.specs, values: f.values, changed: "changed this round",
			holds: func(now fundapi.Round) bool { return f.specs.Holds(typed, f.values(now)) },
			show: func(status int, version string, errs []templates.FieldError) {
				h.opsShowRoundTerm(w, r, f, status, rd, version, typed, errs)
			},
		})
	}
}

// roundPut is what opsPutRound needs of the form that sends a round's terms.
type roundPut struct {
	typed opsform.Values
	// specs are the form's fields as it was sent, which say what the round holds now
	// beside the fields where it differs, each filled from a round as values fills
	// it, and which a refusal naming a term is shown beside (unless named says).
	specs  opsform.Specs
	values func(fundapi.Round) opsform.Values
	// named are the fields the fund's refusal of a term is shown beside, when not
	// specs: those of the form as it is shown again.
	named opsform.Specs
	// holds says the round as it is now already reads as the form sent it: a
	// double click's first sending saved it.
	holds func(now fundapi.Round) bool
	// changed says what someone else did to the round since the form was filled,
	// after "Someone ...": "changed this round".
	changed string
	// show shows the form again, with status, the round's version it carries, and
	// what to say beside its fields.
	show func(status int, version string, errs []templates.FieldError)
}

// opsPutRound sends terms as round rd's, applied only to the round as the form showed
// it (seen, If-Match), and answers as every console form of a round does: on to the
// fund's page once saved; a form sent twice (a double click), refused the second time,
// leading on as the first did once the round reads as it was sent; someone else's
// change since shown with the form again as typed, carrying the round's version when
// it was filled (version), and what the round holds now; the fund's refusal of a term
// beside its field.
func (h *Handler) opsPutRound(w http.ResponseWriter, r *http.Request, c *opsCtx, rd fundapi.Round, seen, version string, terms map[string]any, f roundPut) {
	resp, err := c.set.Fund.UpdateRoundWithBodyWithResponse(r.Context(), rd.Id, &fundapi.UpdateRoundParams{IfMatch: &seen}, "application/json", opsJSONBody(terms))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		switch {
		case p.Status == http.StatusPreconditionFailed:
			now, ok := h.opsRoundNow(r, c, rd.Id)
			if ok && f.holds(now) {
				http.Redirect(w, r, "/ops/fund", http.StatusSeeOther)
				return
			}
			errs := opsStale(f.changed, "the round")
			if ok {
				errs = append(errs, f.specs.SavedNow(f.typed, f.values(now))...)
			}
			f.show(http.StatusConflict, version, errs)
		case !opsFormRefusal(p):
			h.serviceProblem(w, r, p)
		default:
			named := f.named
			if named == nil {
				named = f.specs
			}
			fe := opsRenamed(opsFieldProblems(p, nil), named)
			f.show(opsStatusOf(fe), seen, fe)
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

func (h *Handler) opsShowRoundTerm(w http.ResponseWriter, r *http.Request, f opsRoundTermForm, status int, rd fundapi.Round, version string, typed opsform.Values, errs []templates.FieldError) {
	h.show(w, r, status, "ops_form", f.title, errs, opsFormData{Caption: rd.Name, Intro: f.intro,
		Action: "/ops/fund/rounds/" + rd.Id + "/" + f.slug, Button: f.title, Back: "/ops/fund", Version: version, Fields: f.specs.Fields(typed, errs)})
}
