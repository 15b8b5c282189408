package pages

import (
	"net/http"
	"slices"
	"time"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
	"github.com/itss/techcommit/services/portal/internal/templates"

	fundapi "github.com/itss/techcommit/services/fund/api"
)

// opsRoundCorrectIntro says what the fund lets ops correct, so that nobody types a
// change it will refuse without knowing why.
const opsRoundCorrectIntro = "Before the round opens, any of its terms may change. Once it is open, only its name, its closing time, its budget (lowered to no less than its awards hold) and its project window may: applicants have drafted against its rules. " +
	"A project window corrected moves each funded project's report to a month after its new end, and its applicant and nominated lead are told."

// opsRoundEdit shows a round's terms in the form that opened it, to correct them.
func (h *Handler) opsRoundEdit(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	rd, version, ok := h.opsRound(w, r, c)
	if !ok {
		return
	}
	if rd.Status == fundapi.RoundStatusClosed {
		h.show(w, r, http.StatusConflict, "message", "This round is closed", nil, message{Message: "A closed round's terms can no longer change; only its budget may still change, for the awards still to decide, and its project window be corrected (from the fund page).",
			Link: "/ops/fund/rounds/" + rd.Id + "/budget", LinkText: "Change the budget"})
		return
	}
	h.opsShowRoundCorrection(w, r, http.StatusOK, rd, version, opsRoundValues(rd), nil)
}

// opsRoundCorrect replaces a round's terms with the form's. The fund decides what
// may still change; its refusal naming a term is shown beside that term's field.
func (h *Handler) opsRoundCorrect(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	rd, version, ok := h.opsRound(w, r, c)
	if !ok {
		return
	}
	seen, versioned := seenVersion(r.PostForm.Get("version"))
	if !versioned {
		h.versionMissing(w, r, "/ops/fund/rounds/"+rd.Id+"/edit")
		return
	}
	// The form offers the choice on the previous round's grantees only for a round
	// that has not opened: a form sent without it leaves the round's own. A form that
	// offered it is read with it even if the round has opened since, so that a
	// change to it is refused by the fund, not dropped without a word.
	specs := opsform.FundRound
	if r.PostForm.Has(opsExclusionField) {
		specs = opsform.UpcomingFundRound
	}
	typed, body, errs := specs.Parse(r.PostForm, london)
	if len(errs) > 0 {
		h.opsShowRoundCorrection(w, r, http.StatusBadRequest, rd, seen, typed, errs)
		return
	}
	keepUntypedTimes(body, typed, rd)
	sendExclusionIfChanged(body, rd)
	// Applied only to the round as the form showed it (If-Match): another person's
	// correction since is not put back without a word. Sent twice, the round that
	// reads as typed was this correction.
	h.opsPutRound(w, r, c, rd, seen, version, body, roundPut{
		typed: typed, specs: specs, values: opsRoundValues, named: opsRoundSpecs(rd), changed: "corrected this round",
		holds: func(now fundapi.Round) bool { return opsRoundHasTerms(now, body) },
		show: func(status int, version string, errs []templates.FieldError) {
			h.opsShowRoundCorrection(w, r, status, rd, version, typed, errs)
		},
	})
}

// opsRound reads the round the path names, answering the request itself when it
// cannot.
func (h *Handler) opsRound(w http.ResponseWriter, r *http.Request, c *opsCtx) (fundapi.Round, string, bool) {
	resp, err := c.set.Fund.GetRoundWithResponse(r.Context(), r.PathValue("round"))
	if err != nil {
		h.fail(w, r, err)
		return fundapi.Round{}, "", false
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return fundapi.Round{}, "", false
	}
	return *resp.JSON200, resp.HTTPResponse.Header.Get("ETag"), true
}

// opsRoundNow reads a round as it stands now, or says it could not.
func (h *Handler) opsRoundNow(r *http.Request, c *opsCtx, id string) (fundapi.Round, bool) {
	resp, err := c.set.Fund.GetRoundWithResponse(r.Context(), id)
	if err != nil || resp.JSON200 == nil {
		return fundapi.Round{}, false
	}
	return *resp.JSON200, true
}

// opsRoundHasTerms says whether a round's terms are those of a correction's body (as
// FundRound and keepUntypedTimes make it): the same instants, amounts, days and
// themes, in whatever order, and the same choice on the previous round's grantees
// when it was sent.
func opsRoundHasTerms(rd fundapi.Round, body map[string]any) bool {
	at := func(name string, want time.Time) bool {
		s, _ := body[name].(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		return err == nil && t.Equal(want)
	}
	pence := func(name string, want int64) bool {
		p, ok := body[name].(int64)
		return ok && p == want
	}
	themes, _ := body["themes"].([]string)
	have := make([]string, 0, len(rd.Themes))
	for _, t := range rd.Themes {
		have = append(have, string(t))
	}
	themes = slices.Sorted(slices.Values(themes))
	slices.Sort(have)
	if exclude, sent := body["exclude_previously_funded"].(bool); sent && exclude != rd.ExcludePreviouslyFunded {
		return false
	}
	return body["name"] == rd.Name && at("opens", rd.Opens) && at("closes", rd.Closes) &&
		pence("budget_pence", rd.BudgetPence) && pence("min_award_pence", rd.MinAwardPence) && pence("max_award_pence", rd.MaxAwardPence) &&
		body["project_start"] == rd.ProjectStart.String() && body["project_end"] == rd.ProjectEnd.String() && slices.Equal(themes, have)
}

// keepUntypedTimes sends the round's opening and closing times as the round has
// them when the form's text is still the text it showed for them. The form shows
// times to the minute on the London clock: read back, an untouched time would lose
// a round's seconds (a change of opening time the fund refuses once the round is
// open), and text alone cannot always say which instant it was.
func keepUntypedTimes(body map[string]any, typed opsform.Values, rd fundapi.Round) {
	for name, at := range map[string]time.Time{"opens": rd.Opens, "closes": rd.Closes} {
		if t := typed[name]; len(t) == 1 && t[0] == opsform.MomentText(at, london) {
			body[name] = at.UTC().Format(time.RFC3339Nano)
		}
	}
}

// opsExclusionField is the correction form's field for whether organisations funded
// in the previous round may apply (exclude_previously_funded).
const opsExclusionField = "previously_funded"

// sendExclusionIfChanged sends the form's choice on the previous round's grantees
// only when it differs from the round's, which the form showed (the correction
// applies only to the round as the form showed it): a correction of other terms
// then changes only those.
func sendExclusionIfChanged(body map[string]any, rd fundapi.Round) {
	choice, typed := body["exclude_previously_funded"].(string)
	if !typed {
		return
	}
	if exclude := choice == opsform.PreviouslyFundedExcluded; exclude != rd.ExcludePreviouslyFunded {
		body["exclude_previously_funded"] = exclude
	} else {
		delete(body, "exclude_previously_funded")
	}
}

// opsRoundSpecs is the correction form for a round as it stands: the fund lets the
// choice on the previous round's grantees change only before the round opens.
func opsRoundSpecs(rd fundapi.Round) opsform.Specs {
	if rd.Status == fundapi.RoundStatusUpcoming {
		return opsform.UpcomingFundRound
	}
	return opsform.FundRound
}

func (h *Handler) opsShowRoundCorrection(w http.ResponseWriter, r *http.Request, status int, rd fundapi.Round, version string, typed opsform.Values, errs []templates.FieldError) {
	specs := opsRoundSpecs(rd)
	if specs.Has(opsExclusionField) && len(typed[opsExclusionField]) == 0 {
		typed[opsExclusionField] = opsRoundValues(rd)[opsExclusionField]
	}
	h.show(w, r, status, "ops_form", "Correct a fund round", errs, opsFormData{Caption: rd.Name, Intro: opsRoundCorrectIntro,
		Action: "/ops/fund/rounds/" + rd.Id, Button: "Save the round", Back: "/ops/fund", Version: version, Fields: specs.Fields(typed, errs)})
}

// opsRoundValues are a round's terms as the round form has them typed: times on the
// London clock (with the zone in the hour the clocks go back, which it shows
// twice), amounts in pounds, and its choice on the previous round's grantees.
func opsRoundValues(rd fundapi.Round) opsform.Values {
	inPounds := func(p int64) []string { return []string{opsform.PoundsTyped(p)} }
	themes := make([]string, 0, len(rd.Themes))
	for _, t := range rd.Themes {
		themes = append(themes, string(t))
	}
	exclusion := opsform.PreviouslyFundedMayApply
	if rd.ExcludePreviouslyFunded {
		exclusion = opsform.PreviouslyFundedExcluded
	}
	return opsform.Values{
		opsExclusionField: {exclusion},
		"name":            {rd.Name},
		"opens":           {opsform.MomentText(rd.Opens, london)},
		"closes":          {opsform.MomentText(rd.Closes, london)},
		"budget":          inPounds(rd.BudgetPence),
		"min_award":       inPounds(rd.MinAwardPence),
		"max_award":       inPounds(rd.MaxAwardPence),
		"project_start":   {rd.ProjectStart.String()},
		"project_end":     {rd.ProjectEnd.String()},
		"themes":          themes,
	}
}
