package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
)

// EventExample returns a JSON payload of the contract's type with every field set,
// so that a fuzzer starts from each type's whole shape.
func EventExample(tb testing.TB, c events.Contract) []byte {
	tb.Helper()
	p, err := c.Decode(events.Envelope{Type: c.Type, Data: []byte(`{}`)})
	if err != nil {
		tb.Fatalf("%s does not decode {}: %v", c.Type, err)
	}
	v := reflect.New(reflect.TypeOf(p)).Elem()
	fill(v)
	data, err := json.Marshal(v.Interface())
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// fill sets every exported field of v to a plausible value.
func fill(v reflect.Value) {
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.Date(2026, 3, 20, 9, 30, 0, 0, time.UTC)))
		return
	case v.Kind() == reflect.Struct && v.Addr().Type().Implements(unmarshalerType):
		_ = v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON([]byte(`"2026-03-20"`)) // a civil.Date
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x-" + v.Type().Name())
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(100)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem())
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}

var fuzzEventID atomic.Int64

// FuzzHandlers feeds arbitrary envelopes to a service's event handlers, which keep
// their state in db, seeded with every event type the contracts know. Whatever
// arrives, a handler must not panic; a payload that does not decode as its type (or
// of a type no contract has) must be ignored or refused as Permanent, since
// redelivery cannot mend it; and a handler that refuses an event permanently must
// leave db as it found it, not half changed.
func FuzzHandlers(f *testing.F, db *mongo.Database, handlers map[string]bus.Handler) {
	f.Helper()
	for _, c := range events.Contracts() {
		f.Add(c.Type, "organisation", "x-string", EventExample(f, c))
		f.Add(c.Type, "application", "", []byte(`{}`))
	}
	f.Add("tc.signatory.organisation.announced.v1", "organisation", "o1", []byte(`{"organisation_id":{"$ne":null}}`))
	f.Add("tc.fund.budget.reserved.v1", "ledger", "r1", []byte(`{"amount_pence":-1}`))
	f.Add("tc.unknown.thing.v9", "thing", "t1", []byte(`{`))
	names := make([]string, 0, len(handlers))
	for name := range handlers {
		names = append(names, name)
	}
	sort.Strings(names)
	f.Fuzz(func(t *testing.T, typ, aggregateType, aggregateID string, data []byte) {
		e := events.Envelope{
			ID: fmt.Sprintf("fuzz-%d", fuzzEventID.Add(1)), Source: "/tc/fuzz", Type: typ,
			AggregateType: aggregateType, AggregateID: aggregateID, Version: 1,
			Time: time.Date(2026, 3, 20, 9, 30, 0, 0, time.UTC), Actor: "system:fuzz", Data: data,
		}
		_, decodeErr := events.DecodeAny(e)
		// Each handler's database after it is the next one's before: nothing else
		// writes to db meanwhile, and counting every collection is most of a run's
		// work on the embedded store (a count reads every document).
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		after, serr := snapshot(ctx, db)
		cancel()
		if serr != nil {
			t.Fatal(serr)
		}
		for _, name := range names {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			before := after
			err := handlers[name](ctx, e)
			after, serr = snapshot(ctx, db)
			cancel()
			if serr != nil {
				t.Fatal(serr)
			}
			if decodeErr != nil && err != nil && !bus.IsPermanent(err) {
				t.Fatalf("%s: a %s event whose payload does not decode (%v) got a retryable error: %v", name, typ, decodeErr, err)
			}
			if (bus.IsPermanent(err) || decodeErr != nil) && !reflect.DeepEqual(before, after) {
				t.Fatalf("%s: a %s event it could not use (%v; handler: %v) changed the database from %v to %v", name, typ, decodeErr, err, before, after)
			}
		}
	})
}

// snapshot counts the documents of every collection of db: enough to see that an
// append-only store or a view gained nothing.
func snapshot(ctx context.Context, db *mongo.Database) (map[string]int64, error) {
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	counts := map[string]int64{}
	for _, name := range names {
		n, err := db.Collection(name).CountDocuments(ctx, bson.D{})
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", name, err)
		}
		counts[name] = n
	}
	return counts, nil
}
