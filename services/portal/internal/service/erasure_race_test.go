package service

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
)

// raceErasure runs do, a request of the person with this address, and the portal's
// erasure of them (erase, from forgetErased) at once, the one late by a random delay of
// up to within (do when lateDo, else the erasure), and returns do's status.
func raceErasure(t *testing.T, erase bus.Handler, email string, lateDo bool, within time.Duration, do func() int) int {
	t.Helper()
	late := func() { time.Sleep(time.Duration(rand.Int64N(int64(within)))) }
	var wg sync.WaitGroup
	var status int
	wg.Go(func() {
		if lateDo {
			late()
		}
		status = do()
	})
	wg.Go(func() {
		if !lateDo {
			late()
		}
		ev := events.PersonErasedV1{Subject: personal.Subject(email)}
		data, err := json.Marshal(ev)
		if err != nil {
			t.Error(err)
			return
		}
		if err := erase(context.Background(), events.Envelope{ID: "erasure-" + email, Type: ev.EventType(), Time: time.Now(), Data: data}); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	return status
}
