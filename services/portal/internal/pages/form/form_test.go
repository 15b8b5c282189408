package form

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestParseSignin(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"lead@example.ac.uk":       "",
		"  lead@example.ac.uk  ":   "",
		"":                         "Enter your email address",
		"lead":                     "correct format",
		"lead@localhost":           "correct format",
		"Sam <lead@example.ac.uk>": "correct format",
		strings.Repeat("a", 250) + "@example.ac.uk": "correct format",
	} {
		f, errs := ParseSignin(url.Values{"email": {in}})
		switch {
		case want == "" && len(errs) != 0:
			t.Errorf("%q: %v", in, errs)
		case want == "" && f.Email != strings.TrimSpace(in):
			t.Errorf("%q: email = %q", in, f.Email)
		case want != "" && (len(errs) != 1 || errs[0].Field != "email" || !strings.Contains(errs[0].Message, want)):
			t.Errorf("%q: errors = %v, want one on email saying %q", in, errs, want)
		}
	}
}

func TestParseRespond(t *testing.T) {
	t.Parallel()
	if f, errs := ParseRespond(url.Values{"accept": {"true"}}); len(errs) != 0 || !f.Accept {
		t.Errorf("accept: %+v %v", f, errs)
	}
	if _, errs := ParseRespond(url.Values{"accept": {"false"}}); len(errs) != 1 || errs[0].Field != "reason" {
		t.Errorf("a decline without a reason: %v", errs)
	}
	// The review service takes a reason of up to 2,000 characters (its maxLength).
	if _, errs := ParseRespond(url.Values{"reason": {strings.Repeat("x", 2000)}}); len(errs) != 0 {
		t.Errorf("a reason the review service takes: %v", errs)
	}
	if _, errs := ParseRespond(url.Values{"reason": {strings.Repeat("x", 2001)}}); len(errs) != 1 || errs[0].Field != "reason" {
		t.Errorf("a long reason: %v", errs)
	}
}

func TestParseAPIToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, days string
		fields     []string
		want       int
	}{
		{"CI uploader", "30", nil, 30},
		{"CI uploader", "90", nil, 90},
		{"", "30", []string{"name"}, 30},
		{strings.Repeat("x", 101), "30", []string{"name"}, 30},
		{"CI", "", []string{"days"}, 0},
		{"CI", "thirty", []string{"days"}, 0},
		{"CI", "0", []string{"days"}, 0},
		{"CI", "91", []string{"days"}, 0},
		{"", "-1", []string{"name", "days"}, 0},
		{"CI\nuploader", "30", []string{"name"}, 30},
		{"CI \u202euploader", "30", []string{"name"}, 30},
	}
	for _, c := range cases {
		f, errs := ParseAPIToken(url.Values{"name": {c.name}, "days": {c.days}}, 90)
		var fields []string
		for _, e := range errs {
			fields = append(fields, e.Field)
		}
		if !slices.Equal(fields, c.fields) || f.DaysN != c.want {
			t.Errorf("%q, %q: fields %v, days %d; want %v, %d", c.name, c.days, fields, f.DaysN, c.fields, c.want)
		}
	}
}

// A colleague's name goes into their sign-in email and onto pages: one clean line.
// A line break in it made notify give up the sign-in email while the page said
// "check your email".
func TestParseApplicantTakesANameOnOneLine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		fields []string
	}{
		{"Robin Lee", nil},
		{"Robin\nLee", []string{"applicant_name"}},
		{"Robin\rLee", []string{"applicant_name"}},
		{"Robin \u202eLee", []string{"applicant_name"}},
		{"Robin\x00Lee", []string{"applicant_name"}},
	} {
		_, errs := ParseApplicant(url.Values{"applicant_name": {c.name}, "applicant_email": {"robin@example.ac.uk"}})
		var fields []string
		for _, e := range errs {
			fields = append(fields, e.Field)
		}
		if !slices.Equal(fields, c.fields) {
			t.Errorf("%q: fields %v, want %v", c.name, fields, c.fields)
		}
	}
}
