package pages

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/itss/techcommit/libs/money"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
)

// penceAmount is an amount, or a range, as the fund's messages give it: "10000
// pence", "10000 and 100000 pence".
var penceAmount = regexp.MustCompile(`\b(\d{1,15})(?:( and | to )(\d{1,15}))? pence\b`)

// opsInPounds rewrites a service's message about a field ops type in pounds so that
// it speaks in pounds too: the fund counts in pence ("must be between 10000 and
// 100000 pence for this round"), which beside "Amount in pounds" reads as a hundred
// times too much. Amounts become "£100", and the API's names of the form's other
// money fields ("min_award_pence") their labels.
func opsInPounds(msg string, specs opsform.Specs) string {
	msg = penceAmount.ReplaceAllStringFunc(msg, func(m string) string {
		g := penceAmount.FindStringSubmatch(m)
		from, err := strconv.ParseInt(g[1], 10, 64)
		if err != nil {
			return m
		}
		if g[3] == "" {
			return money.Pounds(from)
		}
		to, err := strconv.ParseInt(g[3], 10, 64)
		if err != nil {
			return m
		}
		return money.Pounds(from) + g[2] + money.Pounds(to)
	})
	for _, s := range specs {
		if s.Type == opsform.Money && s.API != "" {
			msg = strings.ReplaceAll(msg, s.API, "the "+strings.ToLower(s.Label))
		}
	}
	return msg
}

// opsMoneyField reports whether the form's field of this name is typed in pounds.
func opsMoneyField(specs opsform.Specs, name string) bool {
	for _, s := range specs {
		if s.Name == name {
			return s.Type == opsform.Money
		}
	}
	return false
}
