package platform_test

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/config"
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
	env := testenv.NewEnv(t)
	var cfg config.Platform
	if err := config.Defaults(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Addr, cfg.HTTP.AdminAddr, cfg.Mongo.Database = "127.0.0.1:0", "127.0.0.1:1", "signatory"
	cfg = env.Platform(t, cfg)
	spans := tracetest.NewInMemoryExporter()
	p, cleanup, err := platform.New(ctx, platform.Options{Name: "own", Config: cfg, Logger: telemetry.Discard(), SpanExporter: spans,
		Stream: bus.StreamSpec{Name: "OWN", Subjects: []string{"tc.own.>"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
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
	finds := func() int {
		n := 0
		for _, s := range spans.GetSpans() {
			set := attribute.NewSet(s.Attributes...)
			if v, ok := set.Value("db.collection.name"); ok && s.Name == "mongodb.find" && v.AsString() == "events" {
				n++
			}
		}
		return n
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
