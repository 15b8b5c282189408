package bus_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/embedded"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// TestTheErasureRegisterGivesTheLastEntryOfEachPerson: an empty register gives
// nothing; with more people than one fetch takes, each recorded twice (and one
// entry sent twice, stored once), it gives each person once, at their last version;
// it keeps every entry for good; and it refuses an entry that names no digest.
func TestTheErasureRegisterGivesTheLastEntryOfEachPerson(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := testenv.NewEnv(t)
	reg, err := bus.OpenErasureRegister(ctx, env.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := reg.Latest(ctx); err != nil || len(got) != 0 {
		t.Fatalf("an empty register gives %v, %v", got, err)
	}
	at := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	const people = 300
	var want []string
	for i := range people {
		sub := personal.Subject(fmt.Sprintf("person%d@example.ac.uk", i))
		for v := 1; v <= 2; v++ {
			if err := reg.Record(ctx, bus.RegisteredErasure{Subject: sub, Version: v, At: at}); err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, sub+" 2")
	}
	if err := reg.Record(ctx, bus.RegisteredErasure{Subject: personal.Subject("person0@example.ac.uk"), Version: 2, At: at}); err != nil {
		t.Fatal(err)
	}
	got, err := reg.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, e := range got {
		have = append(have, fmt.Sprintf("%s %d", e.Subject, e.Version))
		if !e.At.Equal(at) {
			t.Errorf("entry %s at %v, want %v", e.Subject, e.At, at)
		}
	}
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(want, have) {
		t.Errorf("the register gives %d entries, want the last of each of %d people: %v", len(have), people, have[:3])
	}
	s, err := env.JS.Stream(ctx, events.StreamErasures)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2*people || info.Config.MaxAge != 0 || info.Config.MaxMsgs > 0 {
		t.Errorf("the register holds %d entries (max age %v, max %d), want every one of %d, for good", info.State.Msgs, info.Config.MaxAge, info.Config.MaxMsgs, 2*people)
	}
	for _, bad := range []bus.RegisteredErasure{{Subject: "", Version: 1}, {Subject: "s.patel@exampleton.ac.uk", Version: 1}, {Subject: strings.Repeat("a", 64), Version: 0}} {
		if err := reg.Record(ctx, bad); err == nil {
			t.Errorf("the register took %+v", bad)
		}
	}
}

// TestTheErasureRegisterKeepsWhenItWasMadeAcrossARestartOfNATS: the time the
// register's stream was made, by which the signatory service tells a register it
// filled from one made anew, is the same after the server restarts on its store.
func TestTheErasureRegisterKeepsWhenItWasMadeAcrossARestartOfNATS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	made := func() time.Time {
		t.Helper()
		n, err := embedded.StartNATS(dir, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer n.Stop()
		_, js := testenv.JetStream(t, n)
		reg, err := bus.OpenErasureRegister(ctx, js, 1)
		if err != nil {
			t.Fatal(err)
		}
		at, err := reg.Made(ctx)
		if err != nil || at.IsZero() {
			t.Fatalf("Made = %v, %v", at, err)
		}
		return at
	}
	first := made()
	if again := made(); !again.Equal(first) {
		t.Errorf("the register was made at %v, and at %v after a restart of NATS", first, again)
	}
}
