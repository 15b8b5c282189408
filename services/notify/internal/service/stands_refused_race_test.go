package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// The email naming a lead, refused for now, is tried on a later day as that day's
// reminder by one replica's sweep, and the relay refuses it for good; while that
// replica is still sending it, the other replica's sweep tries the email's own entry
// again, finds the day's key being sent, and logged the email "superseded: it goes as
// that day's reminder to them, ..., being sent or to be tried again": for good, though
// a moment later that day's entry was given up with the relay's refusal, so the log
// said the person was being sent what never went. The first replica is held at the
// relay here, as the email goes; the other's sweep now waits for that attempt's
// outcome, and the email's own entry says, as with one replica, that it was tried as
// that day's reminder, which was not sent.
func TestALeadNamedEmailRefusedForGoodWhileAnotherReplicaRetriesItIsLoggedAsRefused(t *testing.T) {
	t.Parallel()
	h := start(t, 2, time.Date(2026, 11, 14, 9, 0, 0, 0, time.UTC))
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	org := "nlrefusedrace"
	namedAndRefusedForNow(h, org, chris)

	holding, release := make(chan struct{}), make(chan struct{})
	var once, released sync.Once
	free := func() { released.Do(func() { close(release) }) }
	t.Cleanup(free)
	h.box.mu.Lock()
	h.box.refuse = func(rcpt string) *smtp.SMTPError {
		if rcpt != chris.Email {
			return nil
		}
		once.Do(func() { close(holding) })
		<-release
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	h.box.mu.Unlock()

	// 7 December: the 7-day step is due. The first replica sends the email naming
	// Chris as that day's reminder, and is held at the relay.
	h.clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
	first := make(chan error, 1)
	go func() { _, err := h.svcs[0].App.Sweep(context.Background()); first <- err }()
	select {
	case <-holding:
	case <-time.After(10 * time.Second):
		t.Fatal("the first sweep never sent the email naming Chris as the day's reminder")
	}
	// The second replica's sweep meanwhile, its retries included. Once it has taken
	// the email's own entry to try it again, the relay refuses the first's attempt
	// for good: as soon as the second has logged that entry's outcome (before the
	// day's entry had one: the defect), or after a second in which it logged none
	// (it waits for the day's entry, as it should).
	second := make(chan error, 1)
	go func() { _, err := h.svcs[1].App.Sweep(context.Background()); second <- err }()
	ownAttempt := func() (map[string]any, bool) {
		for _, d := range logTo(h, org, chris.Email) {
			if d["kind"] == "lead-named" && d["attempts"].(float64) >= 2 {
				return d, true
			}
		}
		return nil, false
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, ok := ownAttempt(); !ok {
			return fmt.Errorf("the second replica has not tried the email naming Chris again: %v", logTo(h, org, chris.Email))
		}
		return nil
	})
	held := time.After(time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
hold:
	for {
		select {
		case <-held:
			break hold
		case <-tick.C:
			if d, _ := ownAttempt(); d["status"] != "sending" {
				break hold
			}
		}
	}
	free()
	for _, c := range []chan error{first, second} {
		select {
		case err := <-c:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a sweep did not end")
		}
	}
	h.clock.Advance(10 * time.Minute)
	h.runUntil(civil.New(2026, 12, 7))

	refusedAsTheDaysReminder(t, h, org, chris, "sending SMTP RCPT TO command: 550")
}
