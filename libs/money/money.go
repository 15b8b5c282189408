// Package money writes sums of money as people in the UK read them: "£1,000",
// "£1,250.50". The portal's pages and notify's emails both write amounts with it, so
// an email and the page it links to name the same sum the same way.
package money

import (
	"strconv"
	"strings"
)

// Pounds is pence in pounds: thousands grouped with commas, and pence shown only
// when there are some ("£750", "£1,250.50", "£0.05"; a negative sum "-£3.20").
func Pounds(pence int64) string {
	// Divided first, so that even the most negative sum has pounds and pence to negate.
	pounds, rest := pence/100, pence%100
	sign := ""
	if pence < 0 {
		sign, pounds, rest = "-", -pounds, -rest
	}
	whole := strconv.FormatInt(pounds, 10)
	var b strings.Builder
	b.WriteString(sign + "£")
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if rest != 0 {
		b.WriteByte('.')
		if rest < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.FormatInt(rest, 10))
	}
	return b.String()
}
