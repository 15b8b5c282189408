package events

import (
	"testing"

	"github.com/itss/techcommit/libs/testenv"
)

// TestDurablesKeepWhatTheReleaseReads: each durable consumer the last release also
// has (testdata/released-durables.json, written from the released code) keeps its
// stream and subjects, or the runbook says how to roll the service (see
// testenv.ReleasedDurables).
func TestDurablesKeepWhatTheReleaseReads(t *testing.T) {
	t.Parallel()
	testenv.ReleasedDurables(t, "testdata/released-durables.json", "../../../../../deploy/README.md",
		testenv.Spec(Review(nil)), testenv.Spec(Organisations(nil)), testenv.Spec(Fund(nil)), testenv.Spec(FundCorrections(nil)), testenv.Spec(Portal(nil)))
}
