package platform_test

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

// TestTheSealingPassReadsOnlyTheLogWhenNothingIsLeftToSeal: the pass every start
// runs over the event log rewrites only the aggregates with an event still to seal.
// With everything sealed it reads the log once and no aggregate: before, it loaded
// every aggregate of the log (here 6 finds: the log and one per aggregate held in
// memory; after a restart every commit of each), beside the first requests after the
// start, and the loads pushed what the service had preloaded out of the store's memory.
func TestTheSealingPassReadsOnlyTheLogWhenNothingIsLeftToSeal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, finds := sealingPlatform(t)
	typ := events.OrganisationContactsChangedV1{}.EventType()
	sealed, err := p.SealPeople(ctx, personal.Fields{typ: {"leader"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		for v := range 3 {
			p := events.OrganisationContactsChangedV1{OrganisationID: fmt.Sprint("org-", i),
				Leader: events.Person{Name: "Grace Hopper", Email: fmt.Sprintf("grace%d@example.ac.uk", v)}}
			if _, err := sealed.Execute(ctx, store.Command{AggregateType: "organisation", AggregateID: p.OrganisationID, Actor: "t",
				Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{p}, nil }}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, span := p.Telemetry.TracerProvider.Tracer("test").Start(ctx, "pass")
	before := finds()
	n, err := p.SealLegacyEvents(ctx)
	span.End()
	if err != nil || n != 0 {
		t.Fatalf("the pass rewrote %d commits (%v), want none: every event was stored sealed", n, err)
	}
	if got := finds() - before; got != 1 {
		t.Errorf("the pass sent %d finds to the event log, want 1 (the log, read once)", got)
	}
}

// TestTheSealingPassStopsOnceItFindsNothing: the start's pass reads the whole log, so
// once a pass finds every event sealed it is recorded, and later starts read one
// document instead (on the read scaling's larger set the passes took 140-490 ms of
// each start, beside the first requests). A pass that sealed something is not
// recorded (a replica of a release before sealing may still be writing during an
// upgrade); the runbook's seal-older-events runs the pass whatever the record says.
func TestTheSealingPassStopsOnceItFindsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, finds := sealingPlatform(t)
	typ := events.OrganisationContactsChangedV1{}.EventType()
	if _, err := p.SealPeople(ctx, personal.Fields{typ: {"leader"}}); err != nil {
		t.Fatal(err)
	}
	// Stored as a release before sealing stored them: straight into the log.
	for i := range 3 {
		changed := events.OrganisationContactsChangedV1{OrganisationID: fmt.Sprint("org-", i), Leader: events.Person{Name: "Grace Hopper", Email: "grace@example.ac.uk"}}
		if _, err := p.Events.Execute(ctx, store.Command{AggregateType: "organisation", AggregateID: changed.OrganisationID, Actor: "t",
			Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{changed}, nil }}); err != nil {
			t.Fatal(err)
		}
	}
	pass := func() (rewrote, logReads int) {
		t.Helper()
		ctx, span := p.Telemetry.TracerProvider.Tracer("test").Start(ctx, "pass")
		before := finds()
		n, err := p.SealOlderEventsUnlessDone(ctx)
		span.End()
		if err != nil {
			t.Fatal(err)
		}
		return n, finds() - before
	}
	recorded := func() bool {
		n, err := p.DB.Collection("sealing").CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	if n, _ := pass(); n != 3 || recorded() {
		t.Fatalf("first start: rewrote %d commits (want 3), recorded %v (want not: it sealed some)", n, recorded())
	}
	if n, reads := pass(); n != 0 || reads == 0 || !recorded() {
		t.Fatalf("second start: rewrote %d, read the log %d times, recorded %v; want 0, the log read, recorded", n, reads, recorded())
	}
	if n, reads := pass(); n != 0 || reads != 0 {
		t.Errorf("a start after the record: rewrote %d, read the log %d times; want nothing", n, reads)
	}
	// The runbook's command runs the pass whatever the record says.
	before := finds()
	cctx, span := p.Telemetry.TracerProvider.Tracer("test").Start(ctx, "command")
	err := platform.Dispatch(cctx, p, []string{"seal-older-events"})
	span.End()
	if err != nil {
		t.Fatal(err)
	}
	if reads := finds() - before; reads == 0 {
		t.Errorf("seal-older-events did not read the log")
	}
}

// sealingPlatform starts a platform on its own database and stream, and counts the
// finds its spans record on the event log.
func sealingPlatform(t *testing.T) (p *platform.Platform, finds func() int) {
	t.Helper()
	env := testenv.NewEnv(t)
	cfg := testConfig(t, env, "signatory")
	spans := tracetest.NewInMemoryExporter()
	p, cleanup, err := platform.New(context.Background(), platform.Options{Name: "own", Config: cfg, Logger: telemetry.Discard(), SpanExporter: spans,
		Stream: bus.StreamSpec{Name: "OWN", Subjects: []string{"tc.own.>"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return p, func() int {
		n := 0
		for _, s := range spans.GetSpans() {
			set := attribute.NewSet(s.Attributes...)
			if v, ok := set.Value("db.collection.name"); ok && s.Name == "mongodb.find" && v.AsString() == "events" {
				n++
			}
		}
		return n
	}
}
