package form

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ReviewTheme is one of the Commitment's four themes as the review form asks about it.
type ReviewTheme struct {
	ID   string // as the review service names it
	Name string // as a page shows it
}

// ReviewThemes are the themes in the order the form asks about them. The form's
// field names (themes.0.score, ...) index this list, and the portal sends the themes
// to the review service in the same order, so that a field the service names in its
// problem (themes.1.strengths) is the field of the same name on the page.
var ReviewThemes = []ReviewTheme{
	{ID: "visibility", Name: "Visibility"},
	{ID: "recognition", Name: "Recognition"},
	{ID: "career_development", Name: "Career development"},
	{ID: "sustainability", Name: "Sustainability"},
}

// The review service's limits (its ReviewRequest schema), checked here first so that
// a person is told in words of the page rather than the service's.
const (
	maxReviewText = 8000
	minScore      = 1
	maxScore      = 4
)

// ThemeReview is what the reviewer wrote about one theme. Score is kept as typed, so
// that a refused form shows it again as it was sent.
type ThemeReview struct {
	Theme           ReviewTheme
	Score           string
	Strengths       string
	Recommendations string
}

// ScoreValue is the score as a number, 0 when there is none.
func (t ThemeReview) ScoreValue() int {
	n, _ := strconv.Atoi(t.Score)
	return n
}

// Review is a reviewer's review of a submission: a score, strengths and
// recommendations per theme, and a summary.
type Review struct {
	Themes  []ThemeReview
	Summary string
}

// ThemeField names the field of a theme's part ("score", "strengths",
// "recommendations") as the form and the review service both name it.
func ThemeField(i int, part string) string { return fmt.Sprintf("themes.%d.%s", i, part) }

// EmptyReview is the form before anything is written in it.
func EmptyReview() Review {
	f := Review{}
	for _, t := range ReviewThemes {
		f.Themes = append(f.Themes, ThemeReview{Theme: t})
	}
	return f
}

// ParseReview reads the review form. Every theme needs a score of 1 to 4, its
// strengths and its recommendations, and the review a summary: the review service
// refuses blank text too, and a person is better told of every gap at once.
func ParseReview(v url.Values) (Review, Errors) {
	f := Review{Summary: text(v.Get("summary"))}
	var errs Errors
	for i, t := range ReviewThemes {
		tr := ThemeReview{Theme: t, Score: strings.TrimSpace(v.Get(ThemeField(i, "score"))),
			Strengths: text(v.Get(ThemeField(i, "strengths"))), Recommendations: text(v.Get(ThemeField(i, "recommendations")))}
		lower := strings.ToLower(t.Name)
		switch n, err := strconv.Atoi(tr.Score); {
		case tr.Score == "":
			errs.add(ThemeField(i, "score"), "Select a score for "+lower)
		case err != nil || n < minScore || n > maxScore:
			errs.add(ThemeField(i, "score"), fmt.Sprintf("Select a score for %s from %d to %d", lower, minScore, maxScore))
			tr.Score = ""
		}
		checkText(&errs, ThemeField(i, "strengths"), tr.Strengths, "Enter the strengths of the submission on "+lower, "Strengths on "+lower)
		checkText(&errs, ThemeField(i, "recommendations"), tr.Recommendations, "Enter your recommendations on "+lower, "Recommendations on "+lower)
		f.Themes = append(f.Themes, tr)
	}
	checkText(&errs, "summary", f.Summary, "Enter a summary of your review", "The summary")
	return f, errs
}

// ParseReviewDraft reads the review form as saved part-way: what is left empty is
// for later, so only what was written and cannot be sent (a score out of range, text
// longer than the review service takes) is a problem, told beside its field.
func ParseReviewDraft(v url.Values) (Review, Errors) {
	f, all := ParseReview(v)
	var errs Errors
	for _, e := range all {
		if strings.TrimSpace(v.Get(e.Field)) != "" {
			errs = append(errs, e)
		}
	}
	return f, errs
}

// text is a text area's value as the person meant it: without the white space
// around it, and with the browser's CR LF line ends as plain line feeds.
func text(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

func checkText(errs *Errors, field, s, missing, name string) {
	switch {
	case s == "":
		errs.add(field, missing)
	case utf8.RuneCountInString(s) > maxReviewText:
		errs.add(field, fmt.Sprintf("%s must be %d characters or fewer", name, maxReviewText))
	}
}

// ReviewFieldName is how a page names a field of the review form in a sentence
// ("Strengths on recognition"); ok is false for a field the form does not have.
func ReviewFieldName(field string) (name string, ok bool) {
	if field == "summary" {
		return "The summary", true
	}
	for i, t := range ReviewThemes {
		lower := strings.ToLower(t.Name)
		switch field {
		case ThemeField(i, "score"):
			return "The score for " + lower, true
		case ThemeField(i, "strengths"):
			return "Strengths on " + lower, true
		case ThemeField(i, "recommendations"):
			return "Recommendations on " + lower, true
		}
	}
	return "", false
}
