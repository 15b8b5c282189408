package personal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/store"
)

// Record is one document of a service's database that holds a person's address: the
// answer to a subject access request is every such document, as stored, but for the
// other people it names (RedactOthers).
type Record struct {
	Collection string         `json:"collection"`
	ID         string         `json:"id"`
	Document   map[string]any `json:"document"`
}

// notGathered are collections that hold no one's address: digests, ids and times.
var notGathered = map[string]bool{KeysCollection: true, "processed_messages": true}

// Gather reads every collection of db through and returns each document in which some
// text holds the address (compared lower-cased; an event's payload, stored as JSON
// text, counts). A subject access request is rare, and a service's database is the
// Commitment's size, so reading it all is affordable and misses nothing a more
// selective query would have to be told about.
func Gather(ctx context.Context, db *mongo.Database, email string) ([]Record, error) {
	return GatherOpened(ctx, db, email, nil)
}

// GatherOpened is Gather in a database whose events hold people sealed (a service
// with a Sealer): a document counts when it holds the address or a value sealed for
// the person with that address, and each is returned with its sealed values opened.
func GatherOpened(ctx context.Context, db *mongo.Database, email string, sealer *Sealer) ([]Record, error) {
	return GatherActing(ctx, db, email, nil, sealer)
}

// GatherActing is GatherOpened that also counts a document holding, as a whole string
// value, one of actors: the identities the services record the person by as the
// actor of what they changed ("lead:<pseudonym>", "ops:<OpenID subject>"), which hold
// no address. They are compared whole and as given (an OpenID subject is
// case-sensitive), so that "ops:ann" finds none of "ops:anna"'s commits.
func GatherActing(ctx context.Context, db *mongo.Database, email string, actors []string, sealer *Sealer) ([]Record, error) {
	target := Normalise(email)
	var sealedFor []byte
	if sealer != nil && target != "" {
		pid, err := sealer.keys.Lookup(ctx, email)
		if err != nil && !errors.Is(err, ErrNoSuchPerson) {
			return nil, err
		}
		if pid != "" {
			sealedFor = []byte(prefix + pid + ":")
		}
	}
	return gather(ctx, db, []string{target}, actors, sealedFor, sealer)
}

// GatherAny is Gather for the documents holding any of texts: an address and the
// other names a service records the person by (a pseudonym, say), in one reading of
// the database, each document once.
func GatherAny(ctx context.Context, db *mongo.Database, texts ...string) ([]Record, error) {
	targets := make([]string, 0, len(texts))
	for _, t := range texts {
		targets = append(targets, Normalise(t))
	}
	return gather(ctx, db, targets, nil, nil, nil)
}

// GatherAnyWhole is GatherAny that also counts a document holding one of whole as a
// whole string value (an OpenID subject, which may be short enough to be part of
// other text), compared as given.
func GatherAnyWhole(ctx context.Context, db *mongo.Database, texts, whole []string) ([]Record, error) {
	targets := make([]string, 0, len(texts))
	for _, t := range texts {
		targets = append(targets, Normalise(t))
	}
	return gather(ctx, db, targets, whole, nil, nil)
}

// gather reads every collection of db and returns the documents in which some text
// holds one of targets (lower-cased; empty ones match nothing), or some string is
// one of whole, or which hold a value sealed with sealedFor, opened by sealer when
// given.
func gather(ctx context.Context, db *mongo.Database, targets, whole []string, sealedFor []byte, sealer *Sealer) ([]Record, error) {
	targets = slices.DeleteFunc(slices.Clone(targets), func(t string) bool { return t == "" })
	whole = slices.DeleteFunc(slices.Clone(whole), func(t string) bool { return t == "" })
	out := []Record{}
	if len(targets) == 0 && len(whole) == 0 {
		return out, nil
	}
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", store.Classify(err))
	}
	for _, name := range names {
		if notGathered[name] {
			continue
		}
		cur, err := db.Collection(name).Find(ctx, bson.D{})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, store.Classify(err))
		}
		for cur.Next(ctx) {
			raw := cur.Current
			if !slices.ContainsFunc(targets, func(t string) bool { return holds(raw, t) }) && (sealedFor == nil || !bytes.Contains(raw, sealedFor)) &&
				!slices.ContainsFunc(whole, func(t string) bool { return holdsWhole(raw, t) }) {
				continue
			}
			ej, err := bson.MarshalExtJSON(raw, false, false)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			var doc map[string]any
			if err := json.Unmarshal(ej, &doc); err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			if sealer != nil {
				if err := sealer.openDocument(ctx, doc); err != nil {
					return nil, fmt.Errorf("read %s: %w", name, err)
				}
			}
			// An event's payload, stored as JSON text, is given as what it says.
			doc, _ = decoded(doc).(map[string]any)
			// Someone else the document names is not the person's to be given.
			doc, _ = RedactOthers(doc, targets...).(map[string]any)
			out = append(out, Record{Collection: name, ID: fmt.Sprint(doc["_id"]), Document: doc})
		}
		if err := cur.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", name, store.Classify(err))
		}
		_ = cur.Close(ctx)
	}
	return out, nil
}

// holdsWhole reports whether some string of the document, at any depth, is s.
func holdsWhole(raw bson.Raw, s string) bool {
	elems, err := raw.Elements()
	if err != nil {
		return false
	}
	for _, e := range elems {
		if valueIs(e.Value(), s) {
			return true
		}
	}
	return false
}

func valueIs(v bson.RawValue, s string) bool {
	switch v.Type {
	case bson.TypeString:
		return v.StringValue() == s
	case bson.TypeEmbeddedDocument:
		return holdsWhole(v.Document(), s)
	case bson.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			return false
		}
		for _, x := range vals {
			if valueIs(x, s) {
				return true
			}
		}
	}
	return false
}

// holds reports whether some string in the document holds the address.
func holds(raw bson.Raw, target string) bool {
	elems, err := raw.Elements()
	if err != nil {
		return false
	}
	for _, e := range elems {
		if valueHolds(e.Value(), target) {
			return true
		}
	}
	return false
}

func valueHolds(v bson.RawValue, target string) bool {
	switch v.Type {
	case bson.TypeString:
		return strings.Contains(strings.ToLower(v.StringValue()), target)
	case bson.TypeBinary: // a stored answer to a retried request: text in bytes
		_, data := v.Binary()
		return strings.Contains(strings.ToLower(string(data)), target)
	case bson.TypeEmbeddedDocument:
		return holds(v.Document(), target)
	case bson.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			return false
		}
		for _, x := range vals {
			if valueHolds(x, target) {
				return true
			}
		}
	}
	return false
}

// openDocument opens, in place, every sealed value of a stored document: a sealed
// string, or an event payload stored as JSON text holding sealed values.
func (s *Sealer) openDocument(ctx context.Context, doc map[string]any) error {
	for k, v := range doc {
		switch x := v.(type) {
		case string:
			if IsSealed(x) {
				plain, _, err := s.keys.Open(ctx, x)
				if err != nil {
					return err
				}
				doc[k] = plain
			} else if strings.Contains(x, prefix) && json.Valid([]byte(x)) {
				opened, err := s.OpenData(ctx, []byte(x))
				if err != nil {
					return err
				}
				doc[k] = string(opened)
			}
		case map[string]any:
			if err := s.openDocument(ctx, x); err != nil {
				return err
			}
		case []any:
			for _, e := range x {
				if m, ok := e.(map[string]any); ok {
					if err := s.openDocument(ctx, m); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// decoded is v with every string that is a JSON object or array (an event's payload,
// stored as JSON text) replaced by its value, so that an answer to a subject access
// request reads as what it holds, not as escaped JSON.
func decoded(v any) any {
	switch x := v.(type) {
	case string:
		t := strings.TrimSpace(x)
		if (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
			var out any
			if json.Unmarshal([]byte(t), &out) == nil {
				return decoded(out)
			}
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = decoded(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = decoded(e)
		}
		return x
	}
	return v
}
