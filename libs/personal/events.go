package personal

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/json/jsontext"
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
	sealed, _, err := s.seal(ctx, eventType, data)
	return sealed, err
}

// seal is SealData, and also names the people whose keys it sealed under. It finds
// the fields in the payload's bytes and replaces only their values, leaving every
// other byte as it was: decoding the whole payload into maps and encoding it again
// was most of the cost of storing a draft's two people.
func (s *Sealer) seal(ctx context.Context, eventType string, data []byte) ([]byte, []string, error) {
	fields := s.fields[eventType]
	if len(fields) == 0 {
		return data, nil, nil
	}
	if !json.Valid(data) {
		return nil, nil, fmt.Errorf("seal %s: the payload is not JSON", eventType)
	}
	root, ok := membersOf(data, skipSpace(data, 0))
	if !ok {
		return nil, nil, fmt.Errorf("seal %s: the payload is not a JSON object", eventType)
	}
	var people []string
	var edits []edit
	// sealed holds the values sealed so far, by where they start: a field list that
	// names one value twice (one object, or one address in two pairs) finds it sealed
	// the second time, as it would in a payload sealed value by value.
	sealed := map[int]bool{}
	for _, f := range fields {
		obj, names, emailField := root, personFields, "email"
		if nameField, addressField, pair := strings.Cut(f, "|"); pair {
			names, emailField = []string{nameField, addressField}, addressField
		} else {
			obj = objectAt(data, root, f)
		}
		if obj == nil {
			continue
		}
		email, _ := obj.str(data, emailField)
		if sp, ok := obj.get(data, emailField); (ok && sealed[sp.from]) || IsSealed(email) || obj.isEmpty(data, names) {
			continue
		}
		id, key, err := s.keys.For(ctx, email)
		if err != nil {
			return nil, nil, err
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, nil, err
		}
		for _, pf := range names {
			v, ok := obj.str(data, pf)
			sp, _ := obj.get(data, pf)
			if !ok || IsSealed(v) || v == "" || sealed[sp.from] {
				continue
			}
			value, err := sealWith(aead, id, v)
			if err != nil {
				return nil, nil, err
			}
			quoted, err := jsontext.AppendQuote(nil, value)
			if err != nil {
				return nil, nil, err
			}
			sealed[sp.from] = true
			edits = append(edits, edit{from: sp.from, to: sp.to, with: quoted})
			if !slices.Contains(people, id) {
				people = append(people, id)
			}
		}
	}
	if len(edits) == 0 {
		return data, nil, nil // sealed already, or no one in it: the same bytes
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.from - b.from })
	out := make([]byte, 0, len(data)+len(edits)*64)
	last := 0
	for _, e := range edits {
		out = append(append(out, data[last:e.from]...), e.with...)
		last = e.to
	}
	return append(out, data[last:]...), people, nil
}

// span is where a JSON value lies in a document: data[from:to].
type span struct{ from, to int }

// edit replaces a span of a document.
type edit struct {
	from, to int
	with     []byte
}

// member is one name of an object and its value, as spans of the document (the
// name's with its quotes).
type member struct{ name, value span }

// members are an object's members in the order written.
type members []member

// The scanners below read a document json.Valid has accepted, so they look only for
// where things end.

// membersOf reads the members of the object at data[i], or says there is none.
func membersOf(data []byte, i int) (members, bool) {
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	var m members
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] == '"' {
		name := span{from: i, to: skipString(data, i)}
		i = skipSpace(data, name.to)
		i = skipSpace(data, i+1) // the colon
		value := span{from: i, to: skipValue(data, i)}
		m = append(m, member{name: name, value: value})
		i = skipSpace(data, value.to)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return m, true
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the string starting at data[i].
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the end of the value starting at data[i].
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = skipString(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(data) && !strings.ContainsRune(" \t\n\r,}]", rune(data[i])) {
		i++
	}
	return i
}

// get returns the value of the last member called name (the one a decoder into a
// map would keep).
func (m members) get(data []byte, name string) (span, bool) {
	for i := len(m) - 1; i >= 0; i-- {
		raw := data[m[i].name.from+1 : m[i].name.to-1]
		if string(raw) == name {
			return m[i].value, true
		}
		if bytes.IndexByte(raw, '\\') >= 0 {
			if plain, err := jsontext.AppendUnquote(nil, data[m[i].name.from:m[i].name.to]); err == nil && string(plain) == name {
				return m[i].value, true
			}
		}
	}
	return span{}, false
}

// objectAt returns the members of the object at a dotted path below root, or nil
// when there is no object there.
func objectAt(data []byte, root members, path string) members {
	cur := root
	for _, part := range strings.Split(path, ".") {
		sp, ok := cur.get(data, part)
		if !ok {
			return nil
		}
		if cur, ok = membersOf(data, sp.from); !ok {
			return nil
		}
	}
	return cur
}

// str returns the string value of a member, and whether it is a string.
func (m members) str(data []byte, name string) (string, bool) {
	sp, ok := m.get(data, name)
	if !ok || data[sp.from] != '"' {
		return "", false
	}
	raw := data[sp.from+1 : sp.to-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw), true
	}
	v, err := jsontext.AppendUnquote(nil, data[sp.from:sp.to])
	if err != nil {
		return "", false
	}
	return string(v), true
}

// isEmpty reports whether none of names is a non-empty string.
func (m members) isEmpty(data []byte, names []string) bool {
	for _, n := range names {
		if v, _ := m.str(data, n); v != "" {
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
	if p, ok := e.Carried().(sealedPayload); ok && p.plain != nil && bytes.Equal(e.Data, p.data) && s.keysHeld(p.people) {
		// This process sealed it, and holds every key it was sealed under as an
		// Open now would use them: opening would give back the payload it sealed.
		e.Data = p.plainData
		return e.Carrying(p.plain), nil
	}
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

// keysHeld reports whether this replica holds the key of every one of people in
// memory, as Keys.Open would find it: not erased here, and read less than cacheFor
// ago. Once one is not, a value sealed under it is opened the long way, which reads
// the key store and so finds an erasure.
func (s *Sealer) keysHeld(people []string) bool {
	for _, id := range people {
		if _, ok := s.keys.cached(id); !ok {
			return false
		}
	}
	return true
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

// sealedPayload is a payload as stored: its type and its sealed JSON. The event
// store carries it with the events it appended (events.Envelope.Carrying), so it also
// holds what was sealed: the payload decided, its plain JSON and the people sealed in
// it, and OpenEnvelope gives those back while their keys are held instead of parsing,
// decrypting and encoding the payload again (the relay and the projections open every
// new event; that was a tenth of the fund's CPU per draft).
type sealedPayload struct {
	typ  string
	data json.RawMessage

	plain     events.Payload // nil when opening is not that simple (see Execute)
	plainData json.RawMessage
	people    []string // person ids of the keys data was sealed under
}

func (p sealedPayload) EventType() string            { return p.typ }
func (p sealedPayload) MarshalJSON() ([]byte, error) { return p.data, nil }

// Execute runs cmd deciding on the opened history, stores the new events sealed,
// and returns them opened (carrying the payloads decided).
func (s *SealedStore) Execute(ctx context.Context, cmd store.Command) ([]events.Envelope, error) {
	decide := cmd.Decide
	var plain []events.Payload
	var plainData []json.RawMessage
	cmd.Decide = func(history []events.Envelope) ([]events.Payload, error) {
		opened, err := s.openAll(ctx, history)
		if err != nil {
			return nil, err
		}
		payloads, err := decide(opened)
		if err != nil {
			return nil, err
		}
		plain, plainData = payloads, make([]json.RawMessage, len(payloads))
		out := make([]events.Payload, len(payloads))
		for i, p := range payloads {
			data, err := json.Marshal(p)
			if err != nil {
				return nil, fmt.Errorf("encode %s: %w", p.EventType(), err)
			}
			sealed, people, err := s.sealer.seal(ctx, p.EventType(), data)
			if err != nil {
				return nil, err
			}
			plainData[i] = data
			sp := sealedPayload{typ: p.EventType(), data: sealed}
			// A payload that holds a sealed value of its own would be opened further
			// by OpenData than it reads here: such a one is always opened the long way.
			if !bytes.Contains(data, []byte(prefix)) {
				sp.plain, sp.plainData, sp.people = p, data, people
			}
			out[i] = sp
		}
		return out, nil
	}
	evs, err := s.inner.Execute(ctx, cmd)
	if err != nil || len(evs) != len(plain) {
		return evs, err
	}
	for i := range evs {
		evs[i].Data = plainData[i]
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
// Keys.Preload), and opens the long histories among them (see opened): the first
// requests after a start open nothing a later one would not.
func (s *SealedStore) Preload(ctx context.Context, limit int, aggregateTypes ...string) error {
	p, ok := s.inner.(interface {
		Preload(context.Context, int, ...string) error
	})
	if !ok {
		return errors.New("personal: the event store cannot preload")
	}
	return s.preloaded(ctx, p.Preload(ctx, limit, aggregateTypes...))
}

// PreloadIDs is Preload for aggregates named by id (see store.EventStore.PreloadIDs).
func (s *SealedStore) PreloadIDs(ctx context.Context, aggregateIDs []string) error {
	p, ok := s.inner.(interface {
		PreloadIDs(context.Context, []string) error
	})
	if !ok {
		return errors.New("personal: the event store cannot preload")
	}
	return s.preloaded(ctx, p.PreloadIDs(ctx, aggregateIDs))
}

// preloaded follows the wrapped store's preload (which returned err): it reads the
// people's keys, then opens each long history the wrapped store holds. A round of
// a few hundred assignments took its first request 2-5 ms to open after a start.
func (s *SealedStore) preloaded(ctx context.Context, err error) error {
	if err != nil {
		return err
	}
	if err := s.sealer.keys.Preload(ctx, keysPreloaded); err != nil {
		return err
	}
	r, ok := s.inner.(interface{ Remembered(minEvents int) []string })
	if !ok {
		return nil
	}
	for _, id := range r.Remembered(openedMin) {
		if _, err := s.Load(ctx, id); err != nil {
			return err
		}
	}
	return nil
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
	return s.openMany(ctx, many, err)
}

// LoadManyThrough loads several aggregates, each known to have reached a version,
// opened (see store.EventStore.LoadManyThrough).
func (s *SealedStore) LoadManyThrough(ctx context.Context, through map[string]int) (map[string][]events.Envelope, error) {
	l, ok := s.inner.(interface {
		LoadManyThrough(context.Context, map[string]int) (map[string][]events.Envelope, error)
	})
	if !ok {
		return nil, errors.New("personal: the event store cannot load many through their versions")
	}
	many, err := l.LoadManyThrough(ctx, through)
	return s.openMany(ctx, many, err)
}

// openMany opens each aggregate's events that a load of several returned (or its err).
func (s *SealedStore) openMany(ctx context.Context, many map[string][]events.Envelope, err error) (map[string][]events.Envelope, error) {
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
