package bus_test

import (
	"testing"

	"github.com/itss/techcommit/libs/bus"
)

func TestSubjectMatchIsNATSMatching(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		filter, subject string
		want            bool
	}{
		{"tc.fund.application.>", "tc.fund.application.submitted", true},
		{"tc.fund.application.>", "tc.fund.application", false},
		{"tc.fund.*.submitted", "tc.fund.application.submitted", true},
		{"tc.fund.*.submitted", "tc.fund.application.awarded", false},
		{"tc.fund.application.submitted", "tc.fund.application.submitted", true},
		{"tc.fund.application.submitted", "tc.fund.application.submitted.extra", false},
		{"tc.fund.application", "tc.fund.application.submitted", false},
	} {
		if got := bus.SubjectMatches(c.filter, c.subject); got != c.want {
			t.Errorf("SubjectMatches(%q, %q) = %v, want %v", c.filter, c.subject, got, c.want)
		}
	}
	if !bus.Takes(nil, "anything") {
		t.Error("a consumer without filters takes every subject")
	}
}
