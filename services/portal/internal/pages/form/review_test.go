package form

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fullReview is a review form with every field filled in.
func fullReview() url.Values {
	v := url.Values{"summary": {"A credible plan."}}
	for i := range ReviewThemes {
		v.Set(ThemeField(i, "score"), "3")
		v.Set(ThemeField(i, "strengths"), "Clear.")
		v.Set(ThemeField(i, "recommendations"), "Publish it.")
	}
	return v
}

func TestParseReview(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		change func(url.Values)
		want   []string // "field: words of its message"
	}{
		"complete":             {change: func(url.Values) {}},
		"a score missing":      {change: func(v url.Values) { v.Del("themes.1.score") }, want: []string{"themes.1.score: Select a score for recognition"}},
		"a score out of range": {change: func(v url.Values) { v.Set("themes.2.score", "5") }, want: []string{"themes.2.score: from 1 to 4"}},
		"a score not a number": {change: func(v url.Values) { v.Set("themes.0.score", "three") }, want: []string{"themes.0.score: from 1 to 4"}},
		"blank strengths":      {change: func(v url.Values) { v.Set("themes.3.strengths", " \r\n ") }, want: []string{"themes.3.strengths: Enter the strengths"}},
		"no recommendations":   {change: func(v url.Values) { v.Del("themes.0.recommendations") }, want: []string{"themes.0.recommendations: Enter your recommendations on visibility"}},
		"no summary":           {change: func(v url.Values) { v.Del("summary") }, want: []string{"summary: Enter a summary"}},
		"too long":             {change: func(v url.Values) { v.Set("summary", strings.Repeat("é", 8001)) }, want: []string{"summary: 8000 characters or fewer"}},
		"every gap at once, in the page's order": {
			change: func(v url.Values) { v.Del("summary"); v.Del("themes.3.score"); v.Del("themes.0.strengths") },
			want:   []string{"themes.0.strengths: Enter", "themes.3.score: Select", "summary: Enter"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := fullReview()
			tc.change(v)
			_, errs := ParseReview(v)
			if len(errs) != len(tc.want) {
				t.Fatalf("errors = %v, want %v", errs, tc.want)
			}
			for i, w := range tc.want {
				field, words, _ := strings.Cut(w, ": ")
				if errs[i].Field != field || !strings.Contains(errs[i].Message, words) {
					t.Errorf("error %d = %+v, want %q", i, errs[i], w)
				}
			}
		})
	}
}

// A refused form keeps what was typed (line ends as the browser sent them become
// line feeds), so it can be shown again as it was.
func TestParseReviewKeepsInput(t *testing.T) {
	t.Parallel()
	v := fullReview()
	v.Set("themes.1.strengths", "  First line.\r\nSecond line.  ")
	v.Del("themes.2.score")
	f, errs := ParseReview(v)
	if len(errs) != 1 {
		t.Fatalf("errors = %v", errs)
	}
	got := []string{f.Themes[1].Strengths, f.Themes[2].Score, f.Themes[0].Score, f.Summary, f.Themes[3].Theme.ID}
	want := []string{"First line.\nSecond line.", "", "3", "A credible plan.", "sustainability"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
}

func TestReviewFieldName(t *testing.T) {
	t.Parallel()
	for field, want := range map[string]string{
		"themes.2.score": "The score for career development", "themes.0.strengths": "Strengths on visibility",
		"themes.3.recommendations": "Recommendations on sustainability", "summary": "The summary", "body": "", "themes.4.score": "",
	} {
		got, ok := ReviewFieldName(field)
		if got != want || ok != (want != "") {
			t.Errorf("ReviewFieldName(%q) = %q, %t; want %q", field, got, ok, want)
		}
	}
}

// TestParseReviewDraftTellsOnlyWhatWasWrittenAndCannotBeSent: a review saved part-way
// may leave anything empty; a score out of range or a text longer than the review
// service takes is still a problem, beside its field, and the form keeps it all.
func TestParseReviewDraftTellsOnlyWhatWasWrittenAndCannotBeSent(t *testing.T) {
	t.Parallel()
	if f, errs := ParseReviewDraft(url.Values{}); len(errs) != 0 || len(f.Themes) != len(ReviewThemes) {
		t.Errorf("an empty draft: %d themes, problems %v; want every theme and none", len(f.Themes), errs)
	}
	v := url.Values{"summary": {strings.Repeat("x", 100_001)}}
	v.Set(ThemeField(0, "score"), "9")
	v.Set(ThemeField(1, "strengths"), "Clear.")
	f, errs := ParseReviewDraft(v)
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	if diff := cmp.Diff([]string{ThemeField(0, "score"), "summary"}, fields); diff != "" {
		t.Errorf("problems of a draft with a bad score and a long summary (-want +got):\n%s", diff)
	}
	if f.Themes[1].Strengths != "Clear." {
		t.Errorf("the draft lost what was written: %+v", f.Themes[1])
	}
}
