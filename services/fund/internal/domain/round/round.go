// Package round is a Collaboration Fund round: when it takes applications, how much it
// may award in all and per project, the project window and the themes in scope.
package round

import (
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // static images have no zoneinfo; rounds are in Europe/London

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// AggregateType names rounds in the event store.
const AggregateType = "round"

// Themes are the Commitment's four themes, the only ones a round or project may name.
var Themes = []string{"visibility", "recognition", "career_development", "sustainability"}

// Status is where a round is in its calendar.
type Status string

// Round statuses, derived from the time.
const (
	Upcoming Status = "upcoming"
	OpenNow  Status = "open"
	Closed   Status = "closed"
)

// Round is a fund round as opened by ops. Rounds do not change once opened.
type Round struct {
	ID                      string
	Name                    string
	Opens, Closes           time.Time
	BudgetPence             int64
	MinAwardPence           int64
	MaxAwardPence           int64
	ProjectStart            civil.Date
	ProjectEnd              civil.Date
	Themes                  []string
	ExcludePreviouslyFunded bool
}

// London is the time zone the fund's dates and times are given in.
var London = mustLoad("Europe/London")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded in the binary, so this cannot happen
	}
	return loc
}

// StatusAt says whether the round takes applications at t.
func (r Round) StatusAt(t time.Time) Status {
	switch {
	case t.Before(r.Opens):
		return Upcoming
	case t.Before(r.Closes):
		return OpenNow
	default:
		return Closed
	}
}

// ReportDue is when a funded project's report is due: a month after the project window ends.
func (r Round) ReportDue() civil.Date { return r.ProjectEnd.AddMonths(1) }

// Open checks a new round and returns the event that opens it.
func Open(r Round, now time.Time) (events.Payload, error) {
	r.Name = strings.TrimSpace(r.Name)
	switch {
	case r.Name == "":
		return nil, apperr.Field("name", "is required")
	case !r.Closes.After(r.Opens):
		return nil, apperr.Field("closes", "must be after opens")
	case !r.Closes.After(now):
		return nil, apperr.Field("closes", "is in the past")
	case r.BudgetPence <= 0:
		return nil, apperr.Field("budget_pence", "must be positive")
	case r.MinAwardPence <= 0:
		return nil, apperr.Field("min_award_pence", "must be positive")
	case r.MaxAwardPence < r.MinAwardPence:
		return nil, apperr.Field("max_award_pence", "must be at least min_award_pence")
	case r.MaxAwardPence > r.BudgetPence:
		return nil, apperr.Field("max_award_pence", "must not exceed the budget")
	case !r.ProjectEnd.After(r.ProjectStart):
		return nil, apperr.Field("project_end", "must be after project_start")
	case len(r.Themes) == 0:
		return nil, apperr.Field("themes", "name at least one theme")
	}
	for _, t := range r.Themes {
		if !slices.Contains(Themes, t) {
			return nil, apperr.Field("themes", "%q is not a Commitment theme", t)
		}
	}
	return events.RoundOpenedV1{
		RoundID: r.ID, Name: r.Name, Opens: r.Opens.UTC(), Closes: r.Closes.UTC(), BudgetPence: r.BudgetPence,
		MinAwardPence: r.MinAwardPence, MaxAwardPence: r.MaxAwardPence, ProjectStart: r.ProjectStart, ProjectEnd: r.ProjectEnd,
		Themes: r.Themes, ExcludePreviouslyFunded: r.ExcludePreviouslyFunded,
	}, nil
}

// FromEvent rebuilds a round from its opening event.
func FromEvent(e events.RoundOpenedV1) Round {
	return Round{
		ID: e.RoundID, Name: e.Name, Opens: e.Opens, Closes: e.Closes, BudgetPence: e.BudgetPence,
		MinAwardPence: e.MinAwardPence, MaxAwardPence: e.MaxAwardPence, ProjectStart: e.ProjectStart, ProjectEnd: e.ProjectEnd,
		Themes: e.Themes, ExcludePreviouslyFunded: e.ExcludePreviouslyFunded,
	}
}
