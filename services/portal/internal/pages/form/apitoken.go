package form

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/itss/techcommit/libs/httpserver"
)

// APIToken is the form that makes an API token: a name people will know it by, and
// how many days it lasts.
type APIToken struct {
	Name string
	Days string // as typed, to show again beside its error
	// DaysN is Days as a number, once valid.
	DaysN int
}

// ParseAPIToken reads the form; maxDays is the longest a token may last.
func ParseAPIToken(v url.Values, maxDays int) (APIToken, Errors) {
	f := APIToken{Name: strings.TrimSpace(v.Get("name")), Days: strings.TrimSpace(v.Get("days"))}
	var errs Errors
	switch n := utf8.RuneCountInString(f.Name); {
	case n == 0:
		errs.add("name", "Enter a name for the token, like the tool that will use it")
	case n > 100:
		errs.add("name", "Name must be 100 characters or fewer")
	case httpserver.CheckLine(f.Name) != nil:
		errs.add("name", "Name must be text on one line, without control characters")
	}
	days, err := strconv.Atoi(f.Days)
	switch {
	case f.Days == "":
		errs.add("days", "Enter how many days the token lasts")
	case err != nil:
		errs.add("days", "Days must be a whole number, like 30")
	case days < 1 || days > maxDays:
		errs.add("days", fmt.Sprintf("Days must be between 1 and %d", maxDays))
	default:
		f.DaysN = days
	}
	return f, errs
}

// Applicant is a colleague a lead names to make API tokens: their name and address.
type Applicant struct {
	Name, Email string
}

// ParseApplicant reads the form that names a colleague.
func ParseApplicant(v url.Values) (Applicant, Errors) {
	f := Applicant{Name: strings.TrimSpace(v.Get("applicant_name")), Email: strings.TrimSpace(v.Get("applicant_email"))}
	var errs Errors
	switch n := utf8.RuneCountInString(f.Name); {
	case n == 0:
		errs.add("applicant_name", "Enter your colleague's full name")
	case n > 200:
		errs.add("applicant_name", "Name must be 200 characters or fewer")
	case httpserver.CheckLine(f.Name) != nil:
		// A name goes into their sign-in email's greeting and the pages: one line.
		errs.add("applicant_name", "Name must be text on one line, without control characters")
	}
	// The same rules and messages as the sign-in form's address.
	if _, e := ParseSignin(url.Values{"email": {f.Email}}); len(e) > 0 {
		msg := e[0].Message
		if f.Email == "" {
			msg = "Enter your colleague's email address"
		}
		errs.add("applicant_email", msg)
	}
	return f, errs
}
