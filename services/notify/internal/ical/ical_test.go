package ical

import (
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
)

func TestCalendarIsRFC5545(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Technicians’ voice, consulted; ", 10)
	out := string(Calendar("Exampleton", []Event{{UID: "o1@tc", On: civil.New(2026, 9, 20), Summary: long, Description: "line1\nline2"}}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	if !strings.HasSuffix(out, "END:VCALENDAR\r\n") || strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") {
		t.Fatal("lines do not all end in CRLF")
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
	}
	unfolded := strings.ReplaceAll(out, "\r\n ", "")
	for _, want := range []string{"DTSTART;VALUE=DATE:20260920", "DTEND;VALUE=DATE:20260921", `DESCRIPTION:line1\nline2`, `voice\, consulted\;`} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("calendar lacks %q", want)
		}
	}
}

// A deadline at a moment (a review due at 17:00) is a timed event in UTC, not a day.
func TestADeadlineAtAMomentIsATimedEvent(t *testing.T) {
	t.Parallel()
	out := string(Calendar("Review", []Event{{UID: "r@tc", At: time.Date(2027, 2, 1, 17, 0, 0, 0, time.UTC), Summary: "Review due"}}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
	for _, want := range []string{"DTSTART:20270201T170000Z\r\n", "DURATION:PT15M\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("calendar lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "VALUE=DATE") {
		t.Error("a timed deadline is written as an all-day event")
	}
}
