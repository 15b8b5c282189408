package form

import (
	"net/url"
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
	if _, errs := ParseRespond(url.Values{"reason": {strings.Repeat("x", 501)}}); len(errs) != 1 || errs[0].Field != "reason" {
		t.Errorf("a long reason: %v", errs)
	}
}
