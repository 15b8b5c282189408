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
