package personal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
)

// Fields lists, by event type, the fields of its payload that hold a person, sealed
// under the person's key (found by the person's email). An entry is either
//   - the path of an object holding a person (an events.Person: name, title, email),
//     a top-level field ("leader") or one nested in objects ("content.endorsement"); or
//   - a pair of flat fields "<name field>|<email field>" of the payload itself
//     ("reviewer_name|reviewer_email", "name|email"): both sealed under the key of
//     the address in the second.
type Fields map[string][]string

// Sealer seals the personal fields of events as they are stored, and opens them as
// they are read or published.
type Sealer struct {
	keys   *Keys
	fields Fields
}

// NewSealer returns a Sealer of the given fields under keys.
func NewSealer(keys *Keys, fields Fields) (*Sealer, error) {
	if keys == nil || len(fields) == 0 {
		return nil, errors.New("personal: keys and the personal fields are required")
	}
	return &Sealer{keys: keys, fields: fields}, nil
}

// Keys returns the key store the Sealer uses.
func (s *Sealer) Keys() *Keys { return s.keys }

// personFields are the fields of a person that identify them.
var personFields = []string{"name", "title", "email"}

// SealData returns an event's JSON payload with its people's fields sealed.
func (s *Sealer) SealData(ctx context.Context, eventType string, data []byte) ([]byte, error) {
	fields := s.fields[eventType]
	if len(fields) == 0 {
		return data, nil
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber() // amounts and versions come back as they were written
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("seal %s: %w", eventType, err)
	}
	changed := false
	for _, f := range fields {
		obj, names, emailField := at(m, f), personFields, "email"
		if nameField, addressField, pair := strings.Cut(f, "|"); pair {
			obj, names, emailField = m, []string{nameField, addressField}, addressField
		}
		if obj == nil {
			continue
		}
		email, _ := obj[emailField].(string)
		if IsSealed(email) || isEmpty(obj, names) {
			continue
		}
		id, key, err := s.keys.For(ctx, email)
		if err != nil {
			return nil, err
		}
		for _, pf := range names {
			if v, ok := obj[pf].(string); ok && !IsSealed(v) && v != "" {
				if obj[pf], err = Seal(id, key, v); err != nil {
					return nil, err
				}
				changed = true
			}
		}
	}
	if !changed {
		return data, nil // sealed already, or no one in it: the same bytes
	}
	return json.Marshal(m)
}

// at returns the object at a dotted path of m, or nil.
func at(m map[string]any, path string) map[string]any {
	cur := m
	for _, part := range strings.Split(path, ".") {
		next, ok := cur[part].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

func isEmpty(p map[string]any, names []string) bool {
	for _, pf := range names {
		if v, _ := p[pf].(string); v != "" {
			return false
		}
	}
	return true
}

// OpenData returns a JSON payload with every sealed value in it opened. A person
// who was erased reads as {"name": "", "email": "", "erased": true}: the event still
// says that someone was named, and no longer who.
func (s *Sealer) OpenData(ctx context.Context, data []byte) ([]byte, error) {
	if !bytes.Contains(data, []byte(prefix)) {
		return data, nil
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	v, err := s.open(ctx, v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func (s *Sealer) open(ctx context.Context, v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		erased := false
		for k, e := range x {
			if str, ok := e.(string); ok && IsSealed(str) {
				plain, gone, err := s.keys.Open(ctx, str)
				if err != nil {
					return nil, err
				}
				x[k], erased = plain, erased || gone
				continue
			}
			opened, err := s.open(ctx, e)
			if err != nil {
				return nil, err
			}
			x[k] = opened
		}
		if erased {
			// Whatever of the person was readable is not any more: none of it stays.
			for _, pf := range personFields {
				if _, ok := x[pf]; ok {
					x[pf] = ""
				}
			}
			x["erased"] = true
		}
		return x, nil
	case []any:
		for i, e := range x {
			opened, err := s.open(ctx, e)
			if err != nil {
				return nil, err
			}
			x[i] = opened
		}
		return x, nil
	case string:
		if IsSealed(x) {
			plain, _, err := s.keys.Open(ctx, x)
			return plain, err
		}
	}
	return v, nil
}

// OpenEnvelope returns e with its payload opened (the relay publishes it so: other
// services read plain events, and an erased person reads as erased).
func (s *Sealer) OpenEnvelope(ctx context.Context, e events.Envelope) (events.Envelope, error) {
	data, err := s.OpenData(ctx, e.Data)
	if err != nil {
		return e, fmt.Errorf("open event %s: %w", e.ID, err)
	}
	if bytes.Equal(data, e.Data) {
		return e, nil
	}
	e.Data = data
	return e.Carrying(nil), nil
}

// Mentions reports whether the stored payload holds a value sealed for person id.
func Mentions(data []byte, id string) bool {
	return bytes.Contains(data, []byte(prefix+id+":"))
}

// EventStore is what a service's application needs of its event store.
type EventStore interface {
	Execute(ctx context.Context, cmd store.Command) ([]events.Envelope, error)
	Load(ctx context.Context, aggregateID string) ([]events.Envelope, error)
}

// SealedStore is an event store whose events are stored with their personal fields
// sealed and read with them opened: the application above it sees plain events.
type SealedStore struct {
	inner  EventStore
	sealer *Sealer

	// opened holds the latest opened history of recently loaded aggregates: opening
	// is a decryption and a JSON round trip per event, and a command on a long
	// aggregate (a review round of hundreds of events) opened its whole history at
	// every load and every decision. A load reuses the longest prefix whose event ids
	// match what it loaded (events never change but by legacy sealing, which opens to
	// the same) and opens only what follows. Every copy is dropped when this replica
	// forgets a key (an erasure here: rare, so all go), and none is kept longer than a
	// key is (cacheFor), so that an erasure on another replica reaches what this one
	// shows as soon as its cached key would have gone.
	mu       sync.Mutex
	opened   map[string]openedHistory
	openings atomic.Int64 // events opened, for tests
}

// openedHistory is an aggregate's events as opened, and when the first was.
type openedHistory struct {
	evs       []events.Envelope
	at        time.Time
	forgotten int64 // the key store's count of forgotten keys when the first was opened
}

// openedLimit bounds how many aggregates' opened histories a store keeps, and
// openedMin is the shortest history kept: opening a few events costs less than the
// memory of a copy for each of thousands of short aggregates (a burst of fund
// applications) would.
const (
	openedLimit = 4096
	openedMin   = 8
)

// NewSealedStore wraps inner.
func NewSealedStore(inner EventStore, sealer *Sealer) (*SealedStore, error) {
	if inner == nil || sealer == nil {
		return nil, errors.New("personal: an event store and a sealer are required")
	}
	return &SealedStore{inner: inner, sealer: sealer, opened: map[string]openedHistory{}}, nil
}

var _ EventStore = (*SealedStore)(nil)

// Raw loads an aggregate's events as stored (sealed).
func (s *SealedStore) Raw(ctx context.Context, aggregateID string) ([]events.Envelope, error) {
	return s.inner.Load(ctx, aggregateID)
}

// Load returns an aggregate's events with their personal fields opened.
func (s *SealedStore) Load(ctx context.Context, aggregateID string) ([]events.Envelope, error) {
	evs, err := s.inner.Load(ctx, aggregateID)
	if err != nil {
		return nil, err
	}
	return s.openAll(ctx, evs)
}

// openAll opens one aggregate's events (in version order), reusing what it opened
// of them before (see opened).
func (s *SealedStore) openAll(ctx context.Context, evs []events.Envelope) ([]events.Envelope, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	id := evs[0].AggregateID
	now, forgotten := time.Now(), s.sealer.keys.forgotten.Load()
	s.mu.Lock()
	held, ok := s.opened[id]
	s.mu.Unlock()
	if ok && (now.Sub(held.at) > cacheFor || held.forgotten != forgotten) {
		held = openedHistory{}
	}
	out := make([]events.Envelope, len(evs))
	same := 0
	for same < min(len(held.evs), len(evs)) && held.evs[same].ID == evs[same].ID {
		same++
	}
	copy(out, held.evs[:same])
	s.openings.Add(int64(len(evs) - same))
	for i := same; i < len(evs); i++ {
		var err error
		if out[i], err = s.sealer.OpenEnvelope(ctx, evs[i]); err != nil {
			return nil, err
		}
	}
	if (same == len(evs) && same == len(held.evs)) || len(evs) < openedMin {
		return out, nil
	}
	at := now
	if same > 0 {
		at = held.at // the prefix is as old as its first opening
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.opened[id]; !known && len(s.opened) >= openedLimit {
		for other := range s.opened { // forget one at random
			delete(s.opened, other)
			break
		}
	}
	s.opened[id] = openedHistory{evs: out, at: at, forgotten: forgotten}
	return slices.Clip(out), nil
}

// sealedPayload is a payload as stored: its type and its sealed JSON.
type sealedPayload struct {
	typ  string
	data json.RawMessage
}

func (p sealedPayload) EventType() string            { return p.typ }
func (p sealedPayload) MarshalJSON() ([]byte, error) { return p.data, nil }

// Execute runs cmd deciding on the opened history, stores the new events sealed,
// and returns them opened (carrying the payloads decided).
func (s *SealedStore) Execute(ctx context.Context, cmd store.Command) ([]events.Envelope, error) {
	decide := cmd.Decide
	var plain []events.Payload
	cmd.Decide = func(history []events.Envelope) ([]events.Payload, error) {
		opened, err := s.openAll(ctx, history)
		if err != nil {
			return nil, err
		}
		payloads, err := decide(opened)
		if err != nil {
			return nil, err
		}
		plain = payloads
		out := make([]events.Payload, len(payloads))
		for i, p := range payloads {
			data, err := json.Marshal(p)
			if err != nil {
				return nil, fmt.Errorf("encode %s: %w", p.EventType(), err)
			}
			sealed, err := s.sealer.SealData(ctx, p.EventType(), data)
			if err != nil {
				return nil, err
			}
			out[i] = sealedPayload{typ: p.EventType(), data: sealed}
		}
		return out, nil
	}
	evs, err := s.inner.Execute(ctx, cmd)
	if err != nil || len(evs) != len(plain) {
		return evs, err
	}
	for i := range evs {
		data, err := json.Marshal(plain[i])
		if err != nil {
			return nil, err
		}
		evs[i].Data = data
		evs[i] = evs[i].Carrying(plain[i])
	}
	return evs, nil
}

// The readers below are the event store's other ways of loading history, opened like
// Load. Each needs the wrapped store to offer it (store.EventStore offers them all).

// keysPreloaded bounds how many people's keys a preload reads: a few hundred
// organisations name about four people each; a key held costs a few hundred bytes.
const keysPreloaded = 4096

// Preload loads up to limit aggregates of these types into the wrapped store's
// memory at start, as stored, and the people's keys that open them (see
// Keys.Preload): a later Load opens them as it opens any other, without a read
// per person.
func (s *SealedStore) Preload(ctx context.Context, limit int, aggregateTypes ...string) error {
	p, ok := s.inner.(interface {
		Preload(context.Context, int, ...string) error
	})
	if !ok {
		return errors.New("personal: the event store cannot preload")
	}
	if err := p.Preload(ctx, limit, aggregateTypes...); err != nil {
		return err
	}
	return s.sealer.keys.Preload(ctx, keysPreloaded)
}

// PreloadIDs is Preload for aggregates named by id (see store.EventStore.PreloadIDs).
func (s *SealedStore) PreloadIDs(ctx context.Context, aggregateIDs []string) error {
	p, ok := s.inner.(interface {
		PreloadIDs(context.Context, []string) error
	})
	if !ok {
		return errors.New("personal: the event store cannot preload")
	}
	if err := p.PreloadIDs(ctx, aggregateIDs); err != nil {
		return err
	}
	return s.sealer.keys.Preload(ctx, keysPreloaded)
}

// LoadByType returns every event of an aggregate type, opened.
func (s *SealedStore) LoadByType(ctx context.Context, aggregateType string) ([]events.Envelope, error) {
	l, ok := s.inner.(interface {
		LoadByType(context.Context, string) ([]events.Envelope, error)
	})
	if !ok {
		return nil, errors.New("personal: the event store cannot load by type")
	}
	evs, err := l.LoadByType(ctx, aggregateType)
	if err != nil {
		return nil, err
	}
	return s.openAll(ctx, evs)
}

// LoadByTypeRecent is LoadByType answered from a copy at most maxAge old, opened.
func (s *SealedStore) LoadByTypeRecent(ctx context.Context, aggregateType string, maxAge time.Duration) ([]events.Envelope, error) {
	l, ok := s.inner.(interface {
		LoadByTypeRecent(context.Context, string, time.Duration) ([]events.Envelope, error)
	})
	if !ok {
		return nil, errors.New("personal: the event store cannot load by type")
	}
	evs, err := l.LoadByTypeRecent(ctx, aggregateType, maxAge)
	if err != nil {
		return nil, err
	}
	return s.openAll(ctx, evs)
}

// LoadRecent is Load answered from a copy at most maxAge old, opened.
func (s *SealedStore) LoadRecent(ctx context.Context, aggregateID string, maxAge time.Duration) ([]events.Envelope, error) {
	l, ok := s.inner.(interface {
		LoadRecent(context.Context, string, time.Duration) ([]events.Envelope, error)
	})
	if !ok {
		return nil, errors.New("personal: the event store cannot load recent copies")
	}
	evs, err := l.LoadRecent(ctx, aggregateID, maxAge)
	if err != nil {
		return nil, err
	}
	return s.openAll(ctx, evs)
}

// LoadThrough is Load when the aggregate is known to have reached version, opened.
func (s *SealedStore) LoadThrough(ctx context.Context, aggregateID string, version int) ([]events.Envelope, error) {
	l, ok := s.inner.(interface {
		LoadThrough(context.Context, string, int) ([]events.Envelope, error)
	})
	if !ok {
		return nil, errors.New("personal: the event store cannot load through a version")
	}
	evs, err := l.LoadThrough(ctx, aggregateID, version)
	if err != nil {
		return nil, err
	}
	return s.openAll(ctx, evs)
}

// LoadMany loads several aggregates at once, opened.
func (s *SealedStore) LoadMany(ctx context.Context, aggregateIDs []string) (map[string][]events.Envelope, error) {
	l, ok := s.inner.(interface {
		LoadMany(context.Context, []string) (map[string][]events.Envelope, error)
	})
	if !ok {
		return nil, errors.New("personal: the event store cannot load many at once")
	}
	many, err := l.LoadMany(ctx, aggregateIDs)
	if err != nil {
		return nil, err
	}
	for id, evs := range many {
		if many[id], err = s.openAll(ctx, evs); err != nil {
			return nil, err
		}
	}
	return many, nil
}

// IDsOfType returns the ids of a catalogued type's aggregates, in id order. Ids carry
// no personal data, so nothing is opened.
func (s *SealedStore) IDsOfType(ctx context.Context, aggregateType string) ([]string, error) {
	l, ok := s.inner.(interface {
		IDsOfType(context.Context, string) ([]string, error)
	})
	if !ok {
		return nil, errors.New("personal: the event store cannot list aggregates by type")
	}
	return l.IDsOfType(ctx, aggregateType)
}

// Log is what sealing older events needs of an event store.
type Log interface {
	EachCommit(ctx context.Context, f func([]events.Envelope) error) error
	Rewrite(ctx context.Context, aggregateID string, rewrite func(eventType string, data []byte) ([]byte, error)) (int, error)
}

// SealOlderEvents seals the people of the events in log stored before they were
// stored sealed (docs/PRIVACY.md, "Events written before sealing"), for the
// aggregates of the types named (none named: every type), and returns how many
// commits it rewrote. It changes no event's meaning, and what is sealed already it
// leaves alone.
//
// The log is read a batch at a time, and only the aggregates with an event still to
// seal are rewritten, after the read: loading every aggregate at every start read the
// whole log again one aggregate at a time, beside the first requests, and pushed the
// aggregates preloaded for them out of the store's memory; and holding the log whole
// cost the fund hundreds of MiB after a burst.
func (s *Sealer) SealOlderEvents(ctx context.Context, log Log, aggregateTypes ...string) (int, error) {
	seen := map[string]bool{}
	var rewrite []string
	err := log.EachCommit(ctx, func(evs []events.Envelope) error {
		for _, e := range evs { // one commit: one aggregate
			if seen[e.AggregateID] || (len(aggregateTypes) > 0 && !slices.Contains(aggregateTypes, e.AggregateType)) {
				return nil
			}
			sealed, err := s.SealData(ctx, e.Type, e.Data)
			if err != nil {
				return err
			}
			if !bytes.Equal(sealed, e.Data) {
				seen[e.AggregateID] = true
				rewrite = append(rewrite, e.AggregateID)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range rewrite {
		k, err := log.Rewrite(ctx, id, func(eventType string, data []byte) ([]byte, error) {
			return s.SealData(ctx, eventType, data)
		})
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
