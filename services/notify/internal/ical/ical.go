// Package ical writes iCalendar (RFC 5545) calendars: CRLF line endings, lines folded
// at 75 octets, text escaped. Deadline emails attach one; each organisation's feed is one.
// An email telling someone that a deadline no longer applies to them attaches its
// cancellation (RFC 5546 CANCEL), so that a calendar application that took the entry
// from an earlier email removes it.
package ical

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/itss/techcommit/libs/civil"
)

// Event is an all-day event on On, or, when At is set, a moment (a deadline at 17:00).
type Event struct {
	UID string
	// Sequence is the event's revision (RFC 5545 SEQUENCE): each calendar that
	// changes or cancels an event carries a higher one than those before it, so that
	// a calendar application takes it over the entry it holds.
	Sequence    int
	On          civil.Date
	At          time.Time
	Summary     string
	Description string
	URL         string
}

// ContentType is the media type of what Calendar writes, wherever it goes (an email's
// attachment, a feed): RFC 5545 asks that text/calendar's method parameter and the
// METHOD property both be given, with one value, or neither.
const ContentType = "text/calendar; charset=utf-8; method=" + method

// method is the calendars' METHOD: published for reading, not an invitation to answer.
const method = "PUBLISH"

// cancel is the METHOD of a calendar that withdraws events published before.
const cancel = "CANCEL"

// ContentTypeOf is the media type of a calendar Calendar or Cancel wrote, its method
// parameter the calendar's METHOD.
func ContentTypeOf(cal []byte) string {
	if bytes.Contains(cal, []byte("\r\nMETHOD:"+cancel+"\r\n")) {
		return "text/calendar; charset=utf-8; method=" + cancel
	}
	return ContentType
}

// Organizer is who publishes the calendars, named in each event (RFC 5546 requires
// ORGANIZER in PUBLISH and CANCEL): the address the emails come from, so that a
// calendar application takes an emailed cancellation as the word of the sender
// whose entry it removes.
type Organizer struct {
	Name, Email string
}

// Calendar writes a VCALENDAR holding events, published by org, stamped at now.
func Calendar(name string, org Organizer, events []Event, now time.Time) []byte {
	return write(method, name, org, events, now)
}

// Cancel writes the cancellation of events (RFC 5546 3.2.5): for each, a VCALENDAR
// with METHOD:CANCEL holding it under the UID of the calendar that published it,
// with STATUS:CANCELLED; each event's Sequence must be above the one it was
// published with. A calendar application that imported one of them removes the
// entry, or marks it cancelled. Each event has a calendar of its own, since an iTIP
// message speaks of one UID; several make an iCalendar stream (RFC 5545 3.4), which
// Calendars splits for an email to attach each apart.
func Cancel(name string, org Organizer, events []Event, now time.Time) []byte {
	var out []byte
	for _, e := range events {
		out = append(out, write(cancel, name, org, []Event{e}, now)...)
	}
	return out
}

// Calendars splits what Calendar or Cancel wrote into its VCALENDAR objects.
func Calendars(stream []byte) [][]byte {
	const begin = "BEGIN:VCALENDAR\r\n"
	var out [][]byte
	for len(stream) > 0 {
		next := bytes.Index(stream[len(begin):], []byte(begin))
		if next < 0 || !bytes.HasPrefix(stream, []byte(begin)) {
			return append(out, stream)
		}
		out = append(out, stream[:len(begin)+next])
		stream = stream[len(begin)+next:]
	}
	return out
}

// sequenceEpoch is where SequenceAt counts from.
var sequenceEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// SequenceAt is a Sequence for an event whose record keeps no count of its
// revisions: the seconds since sequenceEpoch at now, when the calendar stating the
// event as it then is is written, so that it supersedes every one written before it.
// An INTEGER (RFC 5545 3.3.8) holds it until 2092.
func SequenceAt(now time.Time) int {
	s := now.Sub(sequenceEpoch) / time.Second
	return int(min(max(s, 0), math.MaxInt32))
}

func write(method, name string, org Organizer, events []Event, now time.Time) []byte {
	var b bytes.Buffer
	line := func(s string) { fold(&b, s) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//ITSS//Technician Commitment//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:" + method)
	line("X-WR-CALNAME:" + escape(name))
	stamp := now.UTC().Format("20060102T150405Z")
	for _, e := range events {
		line("BEGIN:VEVENT")
		line("UID:" + escape(e.UID))
		line("DTSTAMP:" + stamp)
		line("SEQUENCE:" + strconv.Itoa(e.Sequence))
		if org.Email != "" {
			line("ORGANIZER" + cn(org.Name) + ":mailto:" + org.Email)
		}
		switch {
		case !e.At.IsZero():
			// A deadline is a moment; a quarter of an hour makes it visible in a day view.
			line("DTSTART:" + e.At.UTC().Format("20060102T150405Z"))
			line("DURATION:PT15M")
		case !e.On.IsZero():
			line("DTSTART;VALUE=DATE:" + e.On.Time().Format("20060102"))
			line("DTEND;VALUE=DATE:" + e.On.AddDays(1).Time().Format("20060102"))
		}
		line("SUMMARY:" + escape(e.Summary))
		if e.Description != "" {
			line("DESCRIPTION:" + escape(e.Description))
		}
		if e.URL != "" {
			line("URL:" + e.URL)
		}
		if method == cancel {
			line("STATUS:CANCELLED")
		}
		line("TRANSP:TRANSPARENT")
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return b.Bytes()
}

// cn is the CN parameter naming the organizer, quoted (RFC 5545 3.2): a parameter
// value cannot hold a double quote or a control character, so those are left out.
func cn(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '"' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if name == "" {
		return ""
	}
	return `;CN="` + name + `"`
}

// escape applies RFC 5545's TEXT escaping.
func escape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return r.Replace(s)
}

// fold writes one content line, folded so no physical line exceeds 75 octets, never
// splitting a UTF-8 sequence.
func fold(b *bytes.Buffer, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}
