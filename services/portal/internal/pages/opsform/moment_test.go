package opsform

import (
	"net/url"
	"testing"
	"time"
)

// A London time the clocks going forward skip is refused, as is one they show
// twice going back unless its zone says which: read as either, it would be sent
// an hour from what was meant, and shown everywhere as that.
func TestMomentAtTheClockChanges(t *testing.T) {
	t.Parallel()
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ typed, sent, problem string }{
		{typed: "2027-03-28 00:59", sent: "2027-03-28T00:59:00Z"},
		{typed: "2027-03-28 01:30", problem: "01:30 on 28 March 2027 does not exist in London: the clocks go forward an hour at 01:00 that day. Enter a time before 01:00 or from 02:00."},
		{typed: "2027-03-28 01:00 GMT", problem: "01:00 on 28 March 2027 does not exist in London: the clocks go forward an hour at 01:00 that day. Enter a time before 01:00 or from 02:00."},
		{typed: "2027-03-28 02:00", sent: "2027-03-28T01:00:00Z"},
		{typed: "2027-10-31 00:59", sent: "2027-10-30T23:59:00Z"},
		{typed: "2027-10-31 01:30", problem: "01:30 on 31 October 2027 happens twice in London: the clocks go back an hour at 02:00 BST that day. Add BST for the first or GMT for the second, like 2027-10-31 01:30 BST."},
		{typed: "2027-10-31 01:00 UTC", problem: "01:00 on 31 October 2027 happens twice in London: the clocks go back an hour at 02:00 BST that day. Add BST for the first or GMT for the second, like 2027-10-31 01:00 BST."},
		{typed: "2027-10-31 01:30 BST", sent: "2027-10-31T00:30:00Z"},
		{typed: "2027-10-31 01:30 GMT", sent: "2027-10-31T01:30:00Z"},
		{typed: "2027-10-31T01:59 gmt", sent: "2027-10-31T01:59:00Z"},
		{typed: "2027-10-31 02:00", sent: "2027-10-31T02:00:00Z"},
		{typed: "2027-07-01 09:00", sent: "2027-07-01T08:00:00Z"},
		{typed: "2027-07-01T09:00 BST", sent: "2027-07-01T08:00:00Z"},
		{typed: "2027-12-01 09:00 GMT", sent: "2027-12-01T09:00:00Z"},
		{typed: "2027-07-01 09:00 GMT", problem: "London is on BST at 09:00 on 1 July 2027, not GMT: enter the time without a zone, or with BST."},
		{typed: "2027-07-01 9am", problem: "Reviews due by must be a real date and time"},
	}
	for _, tt := range tests {
		_, body, errs := ReviewRound.Parse(url.Values{"name": {"R"}, "review_deadline": {tt.typed}}, london)
		var problem string
		for _, e := range errs {
			if e.Field == "review_deadline" {
				problem = e.Message
			}
		}
		sent, _ := body["review_deadline"].(string)
		if sent != tt.sent || problem != tt.problem {
			t.Errorf("%q (London) sends %q with the problem %q; want %q with %q", tt.typed, sent, problem, tt.sent, tt.problem)
		}
	}
}
