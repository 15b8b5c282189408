package testenv

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/bus"
)

// Spec is the consumer spec of a service's consumer constructor, its handler left
// aside: Spec(Projection(nil)) in a list of specs.
func Spec[H any](spec bus.ConsumerSpec, _ H) bus.ConsumerSpec { return spec }

// releasedDurable is a durable consumer as the last release creates it.
type releasedDurable struct {
	Stream         string   `json:"stream"`
	FilterSubjects []string `json:"filter_subjects"`
}

// ReleasedDurables holds a service's durable consumers to the last release's
// (file: durable name to stream and filter subjects, written from the released
// code). During a rolling update the release's pods and this version's share each
// durable consumer, and whichever pod starts last sets its subjects: a release pod
// handed a subject this version added acknowledges it unhandled, and the event is
// lost to both (a new notify pod widened notify-fund, and an old pod took the report
// whose receipt was never sent). So a durable keeps its released subjects, or the
// runbook (deploy/README.md, at runbook) names it, with how to roll the service so
// that no old pod reads beside a new one. A new durable, under a new name, needs
// neither.
//
// A release writes file from its own specs: TC_WRITE_RELEASED=1 go test -run the
// test that calls this (docs/API.md, Releasing).
func ReleasedDurables(tb testing.TB, file, runbook string, specs ...bus.ConsumerSpec) {
	tb.Helper()
	if os.Getenv("TC_WRITE_RELEASED") == "1" {
		out := map[string]releasedDurable{}
		for _, s := range specs {
			out[s.Durable] = releasedDurable{Stream: s.Stream, FilterSubjects: s.FilterSubjects}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err == nil {
			err = os.WriteFile(file, append(b, '\n'), 0o600)
		}
		if err != nil {
			tb.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(file) // #nosec G304 -- the test's own fixture
	if err != nil {
		tb.Fatal(err)
	}
	var released map[string]releasedDurable
	if err := json.Unmarshal(data, &released); err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	text, err := os.ReadFile(runbook) // #nosec G304 -- the repository's runbook
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range specs {
		r, ok := released[s.Durable]
		if !ok {
			continue
		}
		if r.Stream != s.Stream {
			tb.Errorf("durable %s reads %s; the release's reads %s: a durable consumer's stream never changes, give it a new name", s.Durable, s.Stream, r.Stream)
		}
		was, now := slices.Sorted(slices.Values(r.FilterSubjects)), slices.Sorted(slices.Values(s.FilterSubjects))
		if !slices.Equal(was, now) && !strings.Contains(string(text), "`"+s.Durable+"`") {
			tb.Errorf("durable %s takes %v; the release's takes %v. The release's pods, sharing it during a rolling update, would acknowledge events they do not handle and lose them: keep its subjects (read the new ones through a new durable), or name it in %s with how to roll the service", s.Durable, now, was, runbook)
		}
	}
}
