// Package window is where a correction of a round's project window and the
// submissions of the round's applications meet, so that they cannot both be recorded
// when the one would leave a milestone of the other outside the window. Each is
// decided on a different aggregate (the round; the application), and the event
// store's unique (aggregate, version) guards only one aggregate at a time, so both
// also append to a record of the round's: a submission, before its own event, the
// check it made (Checked), on one of the round's Records records chosen by its
// application; a correction, before its checks of the applications, that it has
// begun (Begin), on every one of them. Whichever lands first on a record is known
// to the other: a check made after the correction began is held to the corrected
// window too (Pending), and a correction reads every check made before it (Checks).
// The checks of a round are spread over several records so that its submissions,
// the busy path, do not all queue for one record's next version.
package window

import (
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// AggregateType names a round's window records in the event store.
const AggregateType = "window"

// Records is how many window records a round has. A submission appends to one, a
// correction to all: a correction is made once or twice in a round's life, while
// its submissions come together near its close, which Records records take apart
// (each also combining the checks of one replica into one commit).
const Records = 8

// Grace is how long after a correction began its request may still record it, and
// after a submission was checked its request may still record the submission: a
// request stops within the service's request timeout (10 s unless configured), so
// either, older than that, is taken to have stopped. The service's request timeout
// must stay below it.
const Grace = time.Minute

// ID is a round's n-th window record.
func ID(roundID string, n int) string { return fmt.Sprintf("%s-window-%d", roundID, n) }

// IDs are all of a round's window records.
func IDs(roundID string) []string {
	ids := make([]string, Records)
	for n := range ids {
		ids[n] = ID(roundID, n)
	}
	return ids
}

// Of is the window record an application's submission checks on: always the same
// for one application.
func Of(roundID, applicationID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(applicationID)) // a hash.Hash never fails to write
	return ID(roundID, int(h.Sum32()%Records))
}

// Correction is a correction of a round's project window begun on a record.
type Correction struct {
	ID string
	// RoundVersion is the round's version it was decided on: it records the round's
	// next version, or nothing.
	RoundVersion int
	Start, End   civil.Date
	// At is when it began on the record.
	At time.Time
}

// Begin records that a correction (id) of round roundID's project window to start
// to end, decided on the round's version roundVersion, has begun.
func Begin(roundID, id string, roundVersion int, start, end civil.Date) events.Payload {
	return events.WindowCorrectionBegunV1{RoundID: roundID, CorrectionID: id, RoundVersion: roundVersion, ProjectStart: start, ProjectEnd: end}
}

// Drop records that the correction id was not recorded (refused, or failed).
func Drop(roundID, id string) events.Payload {
	return events.WindowCorrectionDroppedV1{RoundID: roundID, CorrectionID: id}
}

// Pending are the corrections begun on a record (its history) that a submission
// checked on it now must fit as well as the round as it read it, at the version
// roundVersion: those neither dropped nor older than Grace, decided on that version
// of the round or a later one. One decided on an earlier version is over: the round
// records it at the version read, or has moved on, and it can no longer be recorded.
func Pending(history []events.Envelope, roundVersion int, now time.Time) ([]Correction, error) {
	// The record's events come in time order: those older than twice Grace (room for
	// clocks a little apart) cannot be pending, so the search stops at them, and
	// costs what the last minutes brought, not the round's every submission.
	recent := len(history)
	for recent > 0 && now.Sub(history[recent-1].Time) <= 2*Grace {
		recent--
	}
	var begun []Correction
	dropped := map[string]bool{}
	for _, e := range history[recent:] {
		switch e.Type {
		case events.WindowCorrectionDroppedV1{}.EventType():
			p, err := events.Decode[events.WindowCorrectionDroppedV1](e)
			if err != nil {
				return nil, fmt.Errorf("window: %w", err)
			}
			dropped[p.CorrectionID] = true // before its beginning too, should that come late
		case events.WindowCorrectionBegunV1{}.EventType():
			p, err := events.Decode[events.WindowCorrectionBegunV1](e)
			if err != nil {
				return nil, fmt.Errorf("window: %w", err)
			}
			if p.RoundVersion >= roundVersion && now.Sub(e.Time) < Grace {
				begun = append(begun, Correction{ID: p.CorrectionID, RoundVersion: p.RoundVersion, Start: p.ProjectStart, End: p.ProjectEnd, At: e.Time})
			}
		}
	}
	return slices.DeleteFunc(begun, func(c Correction) bool { return dropped[c.ID] }), nil
}

// Open are the corrections begun on a record (its history) and not dropped there,
// that a submission may yet be held to: those begun less than Grace ago as the
// record's events tell it, with room for clocks a little apart (twice Grace). The
// round sweep drops those whose request has stopped (see app.SweepRounds).
func Open(history []events.Envelope, now time.Time) ([]Correction, error) {
	return Pending(history, 0, now.Add(-Grace))
}

// Check is a submission checked on a record.
type Check struct {
	// ID is the id of the event that recorded it.
	ID            string
	ApplicationID string
	// ApplicationVersion is the version of the application (a draft) it was checked
	// at: its submission, if recorded, is the next.
	ApplicationVersion int
	// First and Last are the days its first and last milestones are due.
	First, Last civil.Date
	At          time.Time
	// Dropped says its request failed after it (DropCheck): it is no submission
	// under way, whatever the application's version.
	Dropped bool
}

// Checked records that an application at its version (a draft), submitting with
// milestones due first on first and last on last, was checked against round
// roundID's window at the round's version roundVersion and the corrections pending.
func Checked(roundID, applicationID string, applicationVersion, roundVersion int, first, last civil.Date) events.Payload {
	return events.WindowSubmissionCheckedV1{RoundID: roundID, ApplicationID: applicationID, ApplicationVersion: applicationVersion,
		RoundVersion: roundVersion, FirstMilestone: first, LastMilestone: last}
}

// DropCheck records that the submission of application applicationID checked by the
// event checkID was not recorded: its request failed after the check.
func DropCheck(roundID, applicationID, checkID string) events.Payload {
	return events.WindowSubmissionDroppedV1{RoundID: roundID, ApplicationID: applicationID, CheckID: checkID}
}

// Checks are the submissions checked on a record (its history), each marked Dropped
// when its request said it failed.
func Checks(history []events.Envelope) ([]Check, error) {
	var checks []Check
	dropped := map[string]bool{}
	for _, e := range history {
		switch e.Type {
		case events.WindowSubmissionDroppedV1{}.EventType():
			p, err := events.Decode[events.WindowSubmissionDroppedV1](e)
			if err != nil {
				return nil, fmt.Errorf("window: %w", err)
			}
			dropped[p.CheckID] = true
		case events.WindowSubmissionCheckedV1{}.EventType():
			p, err := events.Decode[events.WindowSubmissionCheckedV1](e)
			if err != nil {
				return nil, fmt.Errorf("window: %w", err)
			}
			checks = append(checks, Check{ID: e.ID, ApplicationID: p.ApplicationID, ApplicationVersion: p.ApplicationVersion, First: p.FirstMilestone, Last: p.LastMilestone, At: e.Time})
		}
	}
	for i := range checks {
		checks[i].Dropped = dropped[checks[i].ID]
	}
	return checks, nil
}

// UnderWay says whether the submission checked may still be recorded, its
// application being at version (a draft, still at the version checked) now: its
// request has neither said it failed nor stopped yet.
func (c Check) UnderWay(version int, now time.Time) bool {
	return !c.Dropped && version == c.ApplicationVersion && now.Sub(c.At) < Grace
}
