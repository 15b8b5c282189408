// Package placement is a submission's placement record: the review round it is in.
// It exists for one rule that spans rounds: a submission is in one round at a time.
// Each addition of a submission to a round claims its placement first; the event
// store's unique index on the record's versions puts concurrent claims in an order,
// so only one of two additions of a submission to two rounds can pass (as the fund's
// funding record does for awards).
package placement

import (
	"fmt"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
)

// AggregateType names placement records in the event store.
const AggregateType = "review_placement"

// ID is the placement record of a submission.
func ID(submission string) string { return "placement-" + submission }

// Placement is where a submission is placed, as its record says.
type Placement struct {
	submission string
	round      string
	from       string
	version    int
}

// Rebuild replays a submission's placement record.
func Rebuild(submission string, history []events.Envelope) (*Placement, error) {
	p := &Placement{submission: submission}
	for _, e := range history {
		if e.Type != (events.SubmissionPlacedV1{}).EventType() {
			return nil, fmt.Errorf("placement of %s: unknown event type %s", submission, e.Type)
		}
		ev, err := events.Decode[events.SubmissionPlacedV1](e)
		if err != nil {
			return nil, fmt.Errorf("placement of %s: %w", submission, err)
		}
		p.round, p.from, p.version = ev.RoundID, ev.FromRoundID, e.Version
	}
	return p, nil
}

// Recorded says whether the submission was ever placed by its record; a submission
// put in a round before placements were recorded has none (see Seen).
func (p *Placement) Recorded() bool { return p.version > 0 }

// Round is the round the record places the submission in ("" when none).
func (p *Placement) Round() string { return p.round }

// From is the round the last placement took the submission from ("" when none).
func (p *Placement) From() string { return p.from }

// Version is the record's version: the placement's sequence, which the round it is
// put in keeps with it.
func (p *Placement) Version() int { return p.version }

// Seen is the placement a command read and decided on: the record's version and the
// round it placed the submission in or, with no record, the round the read model
// says holds it (a submission put in a round before placements were recorded).
type Seen struct {
	Version int
	Round   string
}

// Place puts the submission in round to, from the placement seen. Placing it again
// where it is changes nothing, so that a repeated request finishes what the first
// began; a placement changed since it was seen is refused naming the round it is in
// now, for the caller to decide again.
func (p *Placement) Place(to string, seen Seen) ([]events.Payload, error) {
	if p.Recorded() && p.round == to {
		return nil, nil
	}
	if p.version != seen.Version {
		return nil, apperr.New(apperr.Conflict, "submission %s was just put in review round %s", p.submission, p.round)
	}
	from := seen.Round
	if from == to { // put there before placements were recorded
		from = ""
	}
	return []events.Payload{events.SubmissionPlacedV1{SubmissionID: p.submission, RoundID: to, FromRoundID: from}}, nil
}
