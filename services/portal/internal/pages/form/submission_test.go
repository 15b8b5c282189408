package form

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func fields(errs Errors) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestParseSubmission(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   url.Values
		want []string
	}{
		// A draft may be incomplete: whatever is written so far is kept.
		{"empty", url.Values{}, nil},
		{"rated without a narrative", url.Values{"rating-visibility": {"3"}}, nil},
		{"a narrative without a rating", url.Values{"narrative-recognition": {"An award"}}, nil},
		{"a rating out of range", url.Values{"rating-sustainability": {"5"}, "narrative-sustainability": {"x"}}, []string{"rating-sustainability"}},
		{"a count that is no number", url.Values{"participants": {"lots"}}, []string{"participants"}},
		{"a negative count", url.Values{"participants": {"-1"}}, []string{"participants"}},
		{"a long narrative", url.Values{"narrative-visibility": {strings.Repeat("x", 20001)}, "rating-visibility": {"1"}}, []string{"narrative-visibility"}},
		{"a long webpage", url.Values{"webpage": {"https://" + strings.Repeat("x", 2041)}}, []string{"webpage"}},
		// Every mistake in one answer: the service's check of the address is made here
		// too, beside the count, rather than at the next save.
		{"a count and an address wrong together", url.Values{"participants": {"abc"}, "webpage": {"notaurl"}}, []string{"participants", "webpage"}},
	} {
		_, errs := ParseSubmission(tc.in)
		if diff := cmp.Diff(tc.want, fields(errs)); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tc.name, diff)
		}
	}
	f, _ := ParseSubmission(url.Values{"participants": {" 42 "}, "rating-career_development": {"4"}})
	if f.ParticipantCount() != 42 || f.Themes[2].Theme != "career_development" || f.Themes[2].Rating != 4 {
		t.Errorf("parsed %+v", f)
	}
}

func TestParseItem(t *testing.T) {
	t.Parallel()
	whole := url.Values{"theme": {"recognition"}, "action": {"An award"}, "owner": {"HR"}, "success_measure": {"Yearly"},
		"target_day": {"29"}, "target_month": {"2"}, "target_year": {"2028"}}
	f, errs := ParseItem(whole)
	if len(errs) != 0 || f.TargetDate() != "2028-02-29" {
		t.Fatalf("a whole item: %+v %v", f, errs)
	}
	if _, errs := ParseItem(url.Values{}); !cmp.Equal(fields(errs), []string{"theme", "action", "owner", "success_measure", "target_date"}) {
		t.Errorf("an empty item: %v", fields(errs))
	}
	for change, want := range map[[2]string]string{
		{"target_year", "2027"}:  "target_date", // 29 February 2027 is no day
		{"target_month", "13"}:   "target_date",
		{"target_day", "x"}:      "target_date",
		{"theme", "wellbeing"}:   "theme",
		{"progress", "finished"}: "progress",
	} {
		v := url.Values{}
		for k, x := range whole {
			v[k] = x
		}
		v.Set(change[0], change[1])
		if _, errs := ParseItem(v); !cmp.Equal(fields(errs), []string{want}) {
			t.Errorf("%s=%s: %v, want %s", change[0], change[1], fields(errs), want)
		}
	}
}

// A target year out of range says which years are taken, not that the date is no
// real date (1 January 9999 is one).
func TestATargetYearOutOfRangeSaysWhichYears(t *testing.T) {
	t.Parallel()
	v := url.Values{"theme": {"recognition"}, "action": {"An award"}, "owner": {"HR"}, "success_measure": {"Yearly"},
		"target_day": {"1"}, "target_month": {"1"}, "target_year": {"9999"}}
	_, errs := ParseItem(v)
	if len(errs) != 1 || errs[0].Field != "target_date" || !strings.Contains(errs[0].Message, "from 2000 to 2100") {
		t.Errorf("a target in 9999: %v", errs)
	}
}

func TestParseContacts(t *testing.T) {
	t.Parallel()
	whole := url.Values{"leader.name": {"Prof. Smith"}, "leader.email": {"vc@example.ac.uk"},
		"nominated_lead.name": {"Sam"}, "nominated_lead.email": {"sam@example.ac.uk"}, "point_of_contact.name": {"Office"}}
	if f, errs := ParseContacts(whole); len(errs) != 0 || f.Point.Email != "" {
		t.Fatalf("whole contacts: %+v %v", f, errs)
	}
	if _, errs := ParseContacts(url.Values{}); !cmp.Equal(fields(errs), []string{"leader.name", "leader.email", "nominated_lead.name", "nominated_lead.email", "point_of_contact.name"}) {
		t.Errorf("empty contacts: %v", fields(errs))
	}
	whole.Set("point_of_contact.email", "office at example")
	if _, errs := ParseContacts(whole); !cmp.Equal(fields(errs), []string{"point_of_contact.email"}) {
		t.Errorf("a bad email: %v", fields(errs))
	}
}

// A text area's line ends come from the browser as CR LF, each counted as one
// character against its maxlength: the form counts them so too, and keeps plain line
// feeds, so that a text the browser let through at its limit is not refused here.
func TestATextAreaAtTheBrowsersLimitIsTaken(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("x", 99)
	full := strings.TrimSuffix(strings.Repeat(line+"\r\n", 80), "\r\n") // 7,999 characters as the browser counts them
	v := url.Values{"how_consulted": {full}}
	f, errs := ParseSubmission(v)
	if len(errs) != 0 || strings.Contains(f.HowConsulted, "\r") || utf8.RuneCountInString(f.HowConsulted) != 7999 {
		t.Errorf("8,000 characters as the browser counts them: %v, %d characters kept", errs, utf8.RuneCountInString(f.HowConsulted))
	}
}

// A web address pasted from a document whose editor capitalised it at the start of
// a sentence ("Https://...") is the same address: its scheme is read in either case
// (RFC 3986, 3.1), and the portal sends it in lower case, as the services take it.
// It was refused as not starting https://, which a lead could not see it did not.
func TestAWebAddressWithACapitalisedSchemeIsTaken(t *testing.T) {
	t.Parallel()
	f, errs := ParseSubmission(url.Values{"webpage": {"Https://www.example.ac.uk/Technicians?a=1"}})
	if len(errs) != 0 || f.Webpage != "https://www.example.ac.uk/Technicians?a=1" {
		t.Errorf("the editor's webpage: %q, %v", f.Webpage, errs)
	}
	c, errs := ParseContacts(url.Values{"leader.name": {"Jo"}, "leader.email": {"jo@example.ac.uk"}, "nominated_lead.name": {"Sam"},
		"nominated_lead.email": {"sam@example.ac.uk"}, "point_of_contact.name": {"Office"}, "plan_page": {"HTTP://www.example.ac.uk/TC"}})
	if len(errs) != 0 || c.PlanPage != "http://www.example.ac.uk/TC" {
		t.Errorf("the contacts' plan page: %q, %v", c.PlanPage, errs)
	}
}
