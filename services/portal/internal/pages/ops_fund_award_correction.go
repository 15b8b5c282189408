package pages

import (
	"net/http"

	"github.com/itss/techcommit/libs/money"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
	"github.com/itss/techcommit/services/portal/internal/templates"

	fundapi "github.com/itss/techcommit/services/fund/api"
)

// opsAwardCorrect corrects the amount of an award typed wrong, applied only to the
// application as the page showed it (If-Match from the version its form carries).
// The fund decides: a refusal naming a field is shown beside it, any other (the
// budget cannot cover a rise, the report spent more) above the form, and nothing is
// corrected.
func (h *Handler) opsAwardCorrect(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	id := r.PathValue("app")
	seen, versioned := seenVersion(r.PostForm.Get("version"))
	if !versioned {
		h.versionMissing(w, r, "/ops/fund/applications/"+id)
		return
	}
	key := opsFormKey(r)
	r.PostForm.Set("key", key)
	typed, body, errs := opsform.AwardCorrection.Parse(r.PostForm, london)
	if len(errs) > 0 {
		h.opsShowApplicationForms(w, r, c, http.StatusBadRequest, opsAppForms{correctTyped: typed, correctErrs: errs})
		return
	}
	resp, err := c.set.Fund.CreateAwardCorrectionWithBodyWithResponse(r.Context(), id,
		&fundapi.CreateAwardCorrectionParams{IdempotencyKey: &key, IfMatch: &seen}, "application/json", opsJSONBody(body))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := clients.Check(resp.HTTPResponse, resp.Body)
	if p == nil {
		http.Redirect(w, r, "/ops/fund/applications/"+id, http.StatusSeeOther)
		return
	}
	switch {
	case p.Status == http.StatusPreconditionFailed:
		// The form sent twice (a double click) is refused the second time, the first
		// having corrected the award: it leads on as the first did.
		now, err := c.set.Fund.GetApplicationWithResponse(r.Context(), id)
		if err == nil && now.JSON200 != nil && now.JSON200.AwardPence != nil && *now.JSON200.AwardPence == body["amount_pence"] {
			http.Redirect(w, r, "/ops/fund/applications/"+id, http.StatusSeeOther)
			return
		}
		fe := opsStale("changed this application", "the award")
		if err == nil && now.JSON200 != nil && now.JSON200.AwardPence != nil {
			fe = append(fe, opsform.AwardCorrection.SavedNow(typed, opsform.Values{"corrected_amount": {opsform.PoundsTyped(*now.JSON200.AwardPence)}})...)
		}
		h.opsShowApplicationForms(w, r, c, http.StatusConflict, opsAppForms{correctTyped: typed, correctErrs: fe})
	case !opsFormRefusal(p):
		h.serviceProblem(w, r, p)
	case p.Status == http.StatusConflict:
		amount, _ := body["amount_pence"].(int64)
		fe := []templates.FieldError{{Message: "Nothing was corrected to " + money.Pounds(amount) + ": " + p.Detail + "."}}
		h.opsShowApplicationForms(w, r, c, http.StatusConflict, opsAppForms{correctTyped: typed, correctErrs: fe})
	default:
		fe := opsRenamed(opsFieldProblems(p, nil), opsform.AwardCorrection)
		h.opsShowApplicationForms(w, r, c, opsStatusOf(fe), opsAppForms{correctTyped: typed, correctErrs: fe})
	}
}
