package personal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
)

// Fields lists, by event type, the top-level fields of its payload that hold a person
// (an events.Person: name, title, email). Those are sealed under the person's key,
// found by the person's email.
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
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("seal %s: %w", eventType, err)
	}
	changed := false
	for _, f := range fields {
		raw, ok := m[f]
		if !ok || bytes.Equal(raw, []byte("null")) {
			continue
		}
		var p map[string]any
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("seal %s.%s: %w", eventType, f, err)
		}
		email, _ := p["email"].(string)
		if IsSealed(email) || isEmptyPerson(p) {
			continue
		}
		id, key, err := s.keys.For(ctx, email)
		if err != nil {
			return nil, err
		}
		for _, pf := range personFields {
			if v, ok := p[pf].(string); ok && !IsSealed(v) {
				if p[pf], err = Seal(id, key, v); err != nil {
					return nil, err
				}
			}
		}
		if m[f], err = json.Marshal(p); err != nil {
			return nil, err
		}
		changed = true
	}
	if !changed {
		return data, nil // sealed already, or no one in it: the same bytes
	}
	return json.Marshal(m)
}

func isEmptyPerson(p map[string]any) bool {
	for _, pf := range personFields {
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
}

// NewSealedStore wraps inner.
func NewSealedStore(inner EventStore, sealer *Sealer) (*SealedStore, error) {
	if inner == nil || sealer == nil {
		return nil, errors.New("personal: an event store and a sealer are required")
	}
	return &SealedStore{inner: inner, sealer: sealer}, nil
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

func (s *SealedStore) openAll(ctx context.Context, evs []events.Envelope) ([]events.Envelope, error) {
	out := make([]events.Envelope, len(evs))
	for i, e := range evs {
		var err error
		if out[i], err = s.sealer.OpenEnvelope(ctx, e); err != nil {
			return nil, err
		}
	}
	return out, nil
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
