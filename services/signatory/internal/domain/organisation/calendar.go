package organisation

import (
	"time"
	_ "time/tzdata" // static images have no zoneinfo; the Commitment's days are London's

	"github.com/itss/techcommit/libs/civil"
)

// London is the Commitment's time zone: an announcement dated 10 December is in the
// directory from midnight in London, and an obligation due on 20 September is
// overdue from midnight in London, whatever the server's zone.
var London = mustLoad("Europe/London")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // embedded by time/tzdata: cannot fail
	}
	return loc
}

// DateOf returns the London date of the instant t: the day it is in London.
func DateOf(t time.Time) civil.Date { return civil.Of(t.In(London)) }
