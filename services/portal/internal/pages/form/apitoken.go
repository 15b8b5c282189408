package form

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
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
