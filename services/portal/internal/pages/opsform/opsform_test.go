package opsform

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A console form sends what was typed, nested as the API names it, with amounts in
// pence and London times in UTC; what it cannot read is refused beside its field.
func TestSpecsParse(t *testing.T) {
	t.Parallel()
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	specs := Specs{
		{Name: "name", Label: "Name", Type: Text, Required: true, Max: 5},
		{Name: "lead.email", Label: "Lead's email", Type: Email},
		{Name: "budget", API: "budget_pence", Label: "Budget", Type: Money, Required: true},
		{Name: "opens", Label: "Opens", Type: Moment},
		{Name: "day", Label: "Day", Type: Date},
		{Name: "kind", Label: "Kind", Type: Choice, Options: Opts("a", "A")},
		{Name: "themes", Label: "Themes", Type: Multiple, Options: Opts("x", "X", "y", "Y")},
	}
	_, body, errs := specs.Parse(url.Values{"name": {" Ann "}, "lead.email": {"a@b.c"}, "budget": {"£1,250.5"},
		"opens": {"2027-07-01T09:00"}, "day": {"2027-02-28"}, "kind": {"a"}, "themes": {"x", "y"}}, london)
	if len(errs) > 0 {
		t.Fatalf("errors %v", errs)
	}
	want := map[string]any{"name": "Ann", "lead": map[string]any{"email": "a@b.c"}, "budget_pence": int64(125050),
		"opens": "2027-07-01T08:00:00Z", "day": "2027-02-28", "kind": "a", "themes": []string{"x", "y"}}
	if d := cmp.Diff(want, body); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}

	_, body, errs = specs.Parse(url.Values{"name": {"Annabel"}, "budget": {"12.345"}, "opens": {"tomorrow"}, "day": {"2027-02-30"},
		"kind": {"b"}, "themes": {"z"}}, london)
	got := map[string]string{}
	for _, e := range errs {
		got[e.Field] = e.Message
	}
	wantErrs := map[string]string{"name": "Name must be 5 characters or fewer", "budget": "Budget must be an amount in pounds, like 750 or 750.50",
		"opens": "Opens must be a real date and time", "day": "Day must be a real date", "kind": "Select kind", "themes": "Select themes from the list"}
	if d := cmp.Diff(wantErrs, got); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	if len(body) != 0 {
		t.Errorf("a refused field was sent: %v", body)
	}
	if _, _, errs := specs.Parse(url.Values{}, london); len(errs) != 2 || errs[0].Message != "Enter name" || errs[1].Message != "Enter budget" {
		t.Errorf("empty required fields: %v", errs)
	}
	if got := specs.Rename("budget_pence"); got != "budget" {
		t.Errorf("budget_pence renamed %q", got)
	}
	if got := specs.Rename("themes.0"); got != "themes" {
		t.Errorf("themes.0 renamed %q", got)
	}
}

// Pounds take a comma only between thousands, as the console shows them (1,500): a
// decimal comma ("2500,00", read as £250,000), a comma in the wrong place ("1,5",
// read as £15) and a sign in the pence ("1.+5", read as 105 pence) are refused with
// the field's message, not read as another amount.
func TestMoneyTakesCommasOnlyBetweenThousands(t *testing.T) {
	t.Parallel()
	specs := Specs{{Name: "budget", API: "budget_pence", Label: "Budget", Type: Money, Required: true}}
	for typed, want := range map[string]int64{
		"750": 75000, "750.5": 75050, "750.50": 75050, "£750": 75000, "1,500": 150000, "£1,250.50": 125050,
		"7,500.00": 750000, "1500": 150000, "1,000,000": 100000000, "0.99": 99,
	} {
		_, body, errs := specs.Parse(url.Values{"budget": {typed}}, time.UTC)
		if len(errs) > 0 || body["budget_pence"] != want {
			t.Errorf("%q: %v with %v, want %d pence", typed, body["budget_pence"], errs, want)
		}
	}
	for _, typed := range []string{"2500,00", "1,5", "1,50", "1,5000", ",500", "1,500,", "1,,500", "15,00.50", "1.+5", "1.-5", "+750", "-750",
		"1.5.0", "750.", ".50", "12.345", "£", "£-1", "1 500", "１５００"} {
		_, body, errs := specs.Parse(url.Values{"budget": {typed}}, time.UTC)
		if len(errs) != 1 || errs[0].Field != "budget" || errs[0].Message != "Budget must be an amount in pounds, like 750 or 750.50" || len(body) != 0 {
			t.Errorf("%q: sent %v with errors %v, want it refused with the field's message", typed, body, errs)
		}
	}
}

// A console form holds each field to the service's own rule, so that its every
// problem is told on the first sending, in words saying what to type: a line of
// text, an address, a web address, a pattern said in words (each of a list's lines
// too), a number's bounds and a day not to come.
func TestSpecsParseChecksWhatTheServiceChecks(t *testing.T) {
	t.Parallel()
	specs := Specs{
		{Name: "name", Label: "Name", Type: Text},
		{Name: "email", Label: "Email", Type: Email},
		{Name: "site", Label: "Website", Type: URL},
		{Name: "country", Label: "Country", Type: Text, Pattern: regexp.MustCompile(`^[A-Z]{2}$`), Expect: "two capital letters, like GB"},
		{Name: "ids", Label: "Conflicts", Type: Lines, Pattern: regexp.MustCompile(`^[a-z-]+$`), Expect: "identifiers, one a line"},
		{Name: "capacity", Label: "Capacity", Type: Number, Most: 20},
		{Name: "per", Label: "Per submission", Type: Number, Least: 1, Most: 5},
		{Name: "on", Label: "Received on", Type: Date, NotFuture: true},
		{Name: "old", Label: "Old day", Type: Date},
	}
	_, body, errs := specs.Parse(url.Values{"name": {"\u202eReversed"}, "email": {"bad"}, "site": {"www.x.com"}, "country": {"gbr"},
		"ids": {"org-a\nnot one!"}, "capacity": {"-3"}, "per": {"0"}, "on": {time.Now().AddDate(0, 0, 2).Format(time.DateOnly)}, "old": {"0001-01-01"}}, time.UTC)
	got := map[string]string{}
	for _, e := range errs {
		got[e.Field] = e.Message
	}
	want := map[string]string{
		"name":     "Name must not contain invisible or direction-changing characters",
		"email":    "Email must be an email address such as name@example.ac.uk",
		"site":     "Website must be a web address starting https:// or http://",
		"country":  "Country must be two capital letters, like GB",
		"ids":      "Conflicts must be identifiers, one a line: “not one!” is not",
		"capacity": "Capacity must be a whole number from 0 to 20",
		"per":      "Per submission must be a whole number from 1 to 5",
		"on":       "Received on must be today or earlier",
		"old":      "Old day must be a date from 1900 to 2999",
	}
	for field, says := range want {
		if !strings.HasPrefix(got[field], says) {
			t.Errorf("%s: %q, want it to start %q", field, got[field], says)
		}
	}
	if len(errs) != len(want) || len(body) != 0 {
		t.Errorf("errors %v, body %v", errs, body)
	}
	if _, _, errs := specs.Parse(url.Values{"country": {"GB"}, "ids": {"org-a, org-b"}, "capacity": {"0"}, "per": {"5"},
		"on": {time.Now().Format(time.DateOnly)}, "site": {"https://www.x.com"}, "email": {"a@b.ac.uk"}, "name": {"جامعة"}}, time.UTC); len(errs) != 0 {
		t.Errorf("a form as the service takes it: %v", errs)
	}
	// A web address's scheme and host are read in any case (RFC 3986), and sent in
	// lower case, as the services keep them: "Https://..." was refused.
	if _, body, errs := specs.Parse(url.Values{"site": {"Https://WWW.X.com/About-Us"}}, time.UTC); len(errs) != 0 || body["site"] != "https://www.x.com/About-Us" {
		t.Errorf("a capitalised web address: %v, %v", body["site"], errs)
	}
}

// The pool form refuses an identifier that is an address, as the review service does:
// it is kept after the reviewer is erased at their request.
func TestTheReviewerFormRefusesAnAddressAsTheIdentifier(t *testing.T) {
	t.Parallel()
	_, _, errs := Reviewer.Parse(url.Values{"reviewer_id": {"rita.jones@example.ac.uk"}, "name": {"Rita Jones"}, "email": {"rita.jones@example.ac.uk"},
		"organisation_id": {"org-1"}, "capacity": {"2"}}, time.UTC)
	if len(errs) != 1 || errs[0].Field != "reviewer_id" || !strings.Contains(errs[0].Message, "like rev-0142") {
		t.Errorf("an address as the reviewer's identifier: %v, want it refused beside reviewer_id, with an identifier that names no one as the example", errs)
	}
	if _, _, errs := Reviewer.Parse(url.Values{"reviewer_id": {"rev-0142"}, "name": {"Rita Jones"}, "email": {"rita.jones@example.ac.uk"},
		"organisation_id": {"org-1"}, "capacity": {"2"}}, time.UTC); len(errs) != 0 {
		t.Errorf("rev-0142 refused: %v", errs)
	}
}
