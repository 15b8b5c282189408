package pages

import (
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/itss/techcommit/services/portal/internal/clients"
)

type scoreRow struct{ Theme, Score string }

type feedbackData struct {
	OrgID, OrgName string
	// When names the submission as the lead knows it (see submissionWhen).
	When       string
	Scores     []scoreRow
	Paragraphs []string
}

// feedback is the released feedback on one of the lead's submissions, where the
// email that announces it links. The review service decides whether it is released
// and whether the submission is the organisation's. The page says which submission
// by its cycle and the day it was received, which the submission itself says.
func (h *Handler) feedback(w http.ResponseWriter, r *http.Request) {
	org, set, ok := h.leadOf(w, r)
	if !ok {
		return
	}
	submission := r.PathValue("submission")
	resp, err := set.Review.GetFeedbackWithResponse(r.Context(), submission)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	sub, err := set.Review.GetSubmissionWithResponse(r.Context(), submission)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(sub.HTTPResponse, sub.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	data := feedbackData{OrgID: org, OrgName: h.orgName(r, org), When: submissionWhen(sub.JSON200.Cycle, sub.JSON200.SubmittedAt)}
	for _, s := range resp.JSON200.Scores {
		data.Scores = append(data.Scores, scoreRow{Theme: themeName(string(s.Theme)), Score: meanScore(float64(s.Score))})
	}
	for _, p := range strings.Split(resp.JSON200.Feedback, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			data.Paragraphs = append(data.Paragraphs, p)
		}
	}
	h.show(w, r, http.StatusOK, "feedback", "Feedback on your submission", nil, data)
}

// themeName is how a theme of the Commitment reads on a page.
func themeName(t string) string {
	if t == "" {
		return t
	}
	s := strings.ReplaceAll(t, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// meanScore is a theme's mean score to one decimal place, a half rounded up as a
// person would: the means of four reviews fall on quarters, and %.1f rounded 2.25 to
// 2.2 but 2.75 to 2.8 (to the even digit). The nudge keeps a mean that binary
// floating point holds a shade under its value (2.35 in the API's float32 reads
// 2.3499999) on the side it is written; means of at most 4 are far coarser than it.
func meanScore(mean float64) string {
	return fmt.Sprintf("%.1f out of 4", math.Floor(mean*10+0.5+1e-4)/10)
}
