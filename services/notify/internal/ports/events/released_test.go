package events

import (
	"testing"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/testenv"
)

// TestDurablesKeepWhatTheReleaseReads: each durable consumer the last release also
// has (testdata/released-durables.json, written from the released code) keeps its
// stream and subjects, or the runbook says how to roll the service (see
// testenv.ReleasedDurables).
func TestDurablesKeepWhatTheReleaseReads(t *testing.T) {
	t.Parallel()
	var specs []bus.ConsumerSpec
	{
		s, _ := Review(nil)
		specs = append(specs, s)
	}
	{
		s, _ := Organisations(nil)
		specs = append(specs, s)
	}
	{
		s, _ := Fund(nil)
		specs = append(specs, s)
	}
	{
		s, _ := Portal(nil)
		specs = append(specs, s)
	}
	testenv.ReleasedDurables(t, "testdata/released-durables.json", "../../../../../deploy/README.md", specs...)
}
