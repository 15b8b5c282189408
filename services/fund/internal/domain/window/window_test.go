package window_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/domain/window"
)

var t0 = time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)

type entry struct {
	at time.Time
	p  events.Payload
}

func history(entries ...entry) []events.Envelope {
	var h []events.Envelope
	for i, e := range entries {
		data, _ := json.Marshal(e.p)
		h = append(h, events.Envelope{Type: e.p.EventType(), Version: i + 1, Time: e.at, Data: data})
	}
	return h
}

func date(s string) civil.Date {
	d, err := civil.Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// A submission is held to the window of a correction begun before its check on the
// record, decided on the round's version it read or a later one, until the
// correction is dropped or Grace has passed since it began; one decided on an
// earlier version of the round is over (recorded, or never to be).
func TestASubmissionIsHeldToTheCorrectionsPendingOnItsRecord(t *testing.T) {
	t.Parallel()
	a := window.Begin("r", "a", 3, date("2027-05-01"), date("2027-11-30"))
	b := window.Begin("r", "b", 3, date("2027-06-01"), date("2027-12-31"))
	checked := window.Checked("r", "app", 2, 3, date("2027-12-15"), date("2027-12-15"))
	h := history(entry{t0, a}, entry{t0, checked}, entry{t0.Add(time.Second), b}, entry{t0.Add(2 * time.Second), window.Drop("r", "b")})
	tests := []struct {
		name         string
		history      []events.Envelope
		roundVersion int
		now          time.Time
		want         []string
	}{
		{"none begun", nil, 3, t0, nil},
		{"one begun, one dropped", h, 3, t0.Add(time.Second), []string{"a"}},
		{"a round read at an earlier version", h, 2, t0.Add(time.Second), []string{"a"}},
		{"the round recorded it since", h, 4, t0.Add(time.Second), nil},
		{"its request stopped", h, 3, t0.Add(window.Grace), nil},
		{"begun again after a drop", history(entry{t0, window.Drop("r", "c")}, entry{t0, window.Begin("r", "c", 3, date("2027-05-01"), date("2027-11-30"))}), 3, t0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := window.Pending(tt.history, tt.roundVersion, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("pending (-want +got):\n%s", diff)
			}
		})
	}
	if got, _ := window.Pending(h, 3, t0); got[0].Start != date("2027-05-01") || got[0].End != date("2027-11-30") || got[0].RoundVersion != 3 {
		t.Errorf("the pending correction %+v, want the window it was begun with, on version 3", got[0])
	}
}

// A correction reads every submission checked on a record, and takes one as under
// way while its application is still at the version checked and Grace has not
// passed: its submission may yet be recorded.
func TestACorrectionReadsTheSubmissionsChecked(t *testing.T) {
	t.Parallel()
	h := history(entry{t0, window.Checked("r", "app", 2, 3, date("2027-06-15"), date("2027-12-15"))},
		entry{t0, window.Begin("r", "a", 3, date("2027-05-01"), date("2027-11-30"))})
	checks, err := window.Checks(h)
	if err != nil {
		t.Fatal(err)
	}
	want := window.Check{ApplicationID: "app", ApplicationVersion: 2, First: date("2027-06-15"), Last: date("2027-12-15"), At: t0}
	if len(checks) != 1 || checks[0] != want {
		t.Fatalf("checks %+v, want only %+v", checks, want)
	}
	for _, tt := range []struct {
		version int
		now     time.Time
		want    bool
	}{{2, t0, true}, {2, t0.Add(window.Grace - time.Second), true}, {3, t0, false}, {2, t0.Add(window.Grace), false}} {
		if got := checks[0].UnderWay(tt.version, tt.now); got != tt.want {
			t.Errorf("under way at version %d, %s after: %v, want %v", tt.version, tt.now.Sub(t0), got, tt.want)
		}
	}
}

// A check whose request said it failed (DropCheck names its event) is no submission
// under way, whatever the application's version; another check of the same draft,
// not named, still is.
func TestADroppedCheckIsNoSubmissionUnderWay(t *testing.T) {
	t.Parallel()
	h := history(entry{t0, window.Checked("r", "app", 2, 3, date("2027-12-15"), date("2027-12-15"))},
		entry{t0, window.Checked("r", "app", 2, 3, date("2027-12-15"), date("2027-12-15"))})
	h[0].ID, h[1].ID = "check-1", "check-2"
	h = append(h, history(entry{t0, window.DropCheck("r", "app", "check-1")})...)
	checks, err := window.Checks(h)
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for _, c := range checks {
		got = append(got, c.UnderWay(2, t0))
	}
	if diff := cmp.Diff([]bool{false, true}, got); diff != "" {
		t.Errorf("under way, the dropped check and the other (-want +got):\n%s", diff)
	}
}

// The corrections open on a record, for the round sweep to drop once their request
// has stopped, are those begun and not dropped there while a submission may still be
// held to them: up to twice Grace, for clocks a little apart.
func TestTheCorrectionsOpenOnARecord(t *testing.T) {
	t.Parallel()
	h := history(entry{t0, window.Begin("r", "a", 3, date("2027-05-01"), date("2027-11-30"))},
		entry{t0, window.Begin("r", "b", 3, date("2027-05-01"), date("2027-10-31"))},
		entry{t0.Add(time.Second), window.Drop("r", "b")})
	for _, tt := range []struct {
		now  time.Time
		want []string
	}{{t0, []string{"a"}}, {t0.Add(window.Grace + time.Second), []string{"a"}}, {t0.Add(2 * window.Grace), nil}} {
		open, err := window.Open(h, tt.now)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range open {
			ids = append(ids, c.ID)
			if c.At != t0 {
				t.Errorf("correction %s begun at %s, want %s", c.ID, c.At, t0)
			}
		}
		if diff := cmp.Diff(tt.want, ids); diff != "" {
			t.Errorf("open %s after the beginning (-want +got):\n%s", tt.now.Sub(t0), diff)
		}
	}
}

// An application's submissions always check on the same record, one of the round's.
func TestAnApplicationChecksOnOneOfItsRoundsRecords(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, app := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		rec := window.Of("r", app)
		if rec != window.Of("r", app) {
			t.Fatalf("application %s checks on %s, then elsewhere", app, rec)
		}
		seen[rec] = true
	}
	ids := window.IDs("r")
	for rec := range seen {
		found := false
		for _, id := range ids {
			found = found || id == rec
		}
		if !found {
			t.Errorf("record %s is not one of the round's %v", rec, ids)
		}
	}
	if len(seen) < 2 {
		t.Errorf("twelve applications all check on one record: %v", seen)
	}
}
