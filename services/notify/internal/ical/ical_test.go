package ical

import (
	"bytes"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/itss/techcommit/libs/civil"
)

// itss is the organizer the tests' calendars name.
var itss = Organizer{Name: "Technician Commitment", Email: "technician-commitment@example.org"}

func TestCalendarIsRFC5545(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Technicians’ voice, consulted; ", 10)
	out := string(Calendar("Exampleton", itss, []Event{{UID: "o1@tc", On: civil.New(2026, 9, 20), Summary: long, Description: "line1\nline2"}}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
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
	out := string(Calendar("Review", itss, []Event{{UID: "r@tc", At: time.Date(2027, 2, 1, 17, 0, 0, 0, time.UTC), Summary: "Review due"}}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
	for _, want := range []string{"DTSTART:20270201T170000Z\r\n", "DURATION:PT15M\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("calendar lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "VALUE=DATE") {
		t.Error("a timed deadline is written as an all-day event")
	}
}

// A deadline that no longer applies is withdrawn as RFC 5546 has it: a calendar with
// METHOD:CANCEL holding the event under its UID, STATUS:CANCELLED, and a SEQUENCE
// above the one of the calendar that published it; read by a real parser.
func TestACancellationSupersedesThePublishedEvent(t *testing.T) {
	t.Parallel()
	ev := Event{UID: "r1-s1-v1-review@tc", At: time.Date(2027, 2, 1, 17, 0, 0, 0, time.UTC), Summary: "Peer review due"}
	ev.Sequence = 3
	published := parse(t, Calendar("Review", itss, []Event{ev}, time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)))
	ev.Sequence = 4
	cancelled := Cancel("Review", itss, []Event{ev}, time.Date(2027, 1, 1, 9, 0, 1, 0, time.UTC))
	if ct := ContentTypeOf(cancelled); ct != "text/calendar; charset=utf-8; method=CANCEL" {
		t.Errorf("content type %q", ct)
	}
	got := parse(t, cancelled)
	if m := got.method; m != "CANCEL" {
		t.Errorf("METHOD %q, want CANCEL", m)
	}
	if got.uid != ev.UID || got.status != "CANCELLED" {
		t.Errorf("UID %q, STATUS %q: want %q, CANCELLED", got.uid, got.status, ev.UID)
	}
	if got.sequence <= published.sequence {
		t.Errorf("SEQUENCE %d of the cancellation is not above the %d of the published event", got.sequence, published.sequence)
	}
	if published.method != "PUBLISH" || published.status != "" {
		t.Errorf("the published event: METHOD %q, STATUS %q", published.method, published.status)
	}
	// RFC 5546 requires the ORGANIZER in both (3.2.1, 3.2.5): a calendar application
	// takes a cancellation from the one who published the entry.
	const want = "mailto:technician-commitment@example.org CN=Technician Commitment"
	if published.organizer != want || got.organizer != want {
		t.Errorf("ORGANIZER of the published event %q, of its cancellation %q; want %q", published.organizer, got.organizer, want)
	}
}

// An organizer's name is a quoted parameter value, which cannot hold a double quote.
func TestTheOrganizersNameIsAQuotedParameter(t *testing.T) {
	t.Parallel()
	ev := Event{UID: "x@tc", On: civil.New(2027, 3, 1), Summary: "Due"}
	got := parse(t, Calendar("C", Organizer{Name: `ITSS "TC"; Team: one`, Email: "tc@example.org"}, []Event{ev}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
	if got.organizer != "mailto:tc@example.org CN=ITSS TC; Team: one" {
		t.Errorf("ORGANIZER %q", got.organizer)
	}
}

type parsed struct {
	method, uid, status, organizer string
	sequence                       int
}

// parse reads a calendar of one event with go-ical.
func parse(t *testing.T, cal []byte) parsed {
	t.Helper()
	c, err := goical.NewDecoder(bytes.NewReader(cal)).Decode()
	if err != nil {
		t.Fatalf("calendar does not parse: %v\n%s", err, cal)
	}
	evs := c.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	var p parsed
	p.method, _ = c.Props.Text(goical.PropMethod)
	p.uid, _ = evs[0].Props.Text(goical.PropUID)
	p.status, _ = evs[0].Props.Text(goical.PropStatus)
	if o := evs[0].Props.Get(goical.PropOrganizer); o != nil {
		p.organizer = o.Value + " CN=" + o.Params.Get(goical.ParamCommonName)
	}
	seq := evs[0].Props.Get(goical.PropSequence)
	if seq == nil {
		t.Fatal("no SEQUENCE")
	}
	var err2 error
	if p.sequence, err2 = seq.Int(); err2 != nil {
		t.Fatal(err2)
	}
	return p
}

// An event whose record counts no revisions is written with the seconds since 2024
// as its SEQUENCE: a later calendar of it supersedes an earlier one.
func TestSequenceAtGrowsWithTime(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)
	if a, b := SequenceAt(at), SequenceAt(at.Add(time.Second)); b <= a || a <= 0 {
		t.Errorf("SequenceAt: %d then %d a second later", a, b)
	}
	if got := SequenceAt(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)); got != 0 {
		t.Errorf("SequenceAt before 2024 = %d, want 0", got)
	}
}

// A cancellation of several events is a calendar for each, as an iTIP message speaks
// of one UID; Calendars splits them for an email to attach apart, and leaves a
// single calendar whole.
func TestACancellationOfSeveralEventsIsACalendarEach(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)
	evs := []Event{{UID: "a@tc", On: civil.New(2027, 2, 1), Summary: "A", Sequence: 5}, {UID: "b@tc", On: civil.New(2027, 2, 2), Summary: "B", Sequence: 5}}
	cals := Calendars(Cancel("Review", itss, evs, now))
	if len(cals) != 2 {
		t.Fatalf("%d calendars, want 2", len(cals))
	}
	for i, cal := range cals {
		if got := parse(t, cal); got.method != "CANCEL" || got.uid != evs[i].UID || got.status != "CANCELLED" || got.sequence != 5 {
			t.Errorf("calendar %d: %+v", i, got)
		}
	}
	one := Calendar("Review", itss, evs[:1], now)
	if got := Calendars(one); len(got) != 1 || !bytes.Equal(got[0], one) {
		t.Errorf("a single calendar split into %d", len(got))
	}
}
