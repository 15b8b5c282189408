package personal

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/store"
)

// addressShape is what a mail relay would take for an address (as telemetry's
// redaction recognises one).
var addressShape = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+`)

// HoldsSubject reports whether some text of the document holds an address whose
// digest is sub: how a service that was told of an erasure by the digest alone
// (events.PersonErasedV1) finds the records of that person.
func HoldsSubject(doc map[string]any, sub string) bool {
	found := false
	walkStrings(doc, func(s string) {
		for _, a := range addressShape.FindAllString(s, -1) {
			if subject(a) == sub {
				found = true
			}
		}
	})
	return found
}

func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case bson.Binary: // a stored answer, an attachment: text in bytes
		f(string(x.Data))
	case []byte:
		f(string(x))
	case map[string]any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	}
}

// ForgetIn is what an erasure does to a collection: with Delete, it drops every
// document holding the person's address (a record that is nothing without them,
// an idempotency record's stored answer); otherwise it keeps the document and
// blanks the person in it (a delivery log entry).
type ForgetIn struct {
	Collection string
	Delete     bool
}

// Forget applies an erasure of the person whose address has digest sub to the
// documents of coll that hold it, and returns the ids of the documents it changed
// or deleted. Each document is read and then replaced or deleted by _id: no rule
// rests on it (these are logs and read models), so no guard is needed.
func Forget(ctx context.Context, coll *mongo.Collection, sub string, del bool) ([]any, error) {
	return ForgetMatching(ctx, coll, bson.D{}, sub, del)
}

// ForgetMatching is Forget over the documents of coll that filter matches: a
// collection some of whose documents are being written by a writer of their own
// leaves those to it, which forgets the person once it is done (notify's delivery
// log: an email being sent, whose sender records the outcome, replacing the entry,
// and then forgets an erased recipient). A replace beside that writer's would undo
// its change.
func ForgetMatching(ctx context.Context, coll *mongo.Collection, filter bson.D, sub string, del bool) ([]any, error) {
	cur, err := coll.Find(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", coll.Name(), store.Classify(err))
	}
	defer cur.Close(ctx)
	var hit []map[string]any
	for cur.Next(ctx) {
		var raw bson.M
		if err := cur.Decode(&raw); err != nil {
			return nil, fmt.Errorf("read %s: %w", coll.Name(), err)
		}
		if doc := plainOf(raw); HoldsSubject(doc, sub) {
			hit = append(hit, doc)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", coll.Name(), store.Classify(err))
	}
	ids := make([]any, 0, len(hit))
	for _, doc := range hit {
		id := doc["_id"]
		if del {
			if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
				return ids, fmt.Errorf("forget in %s: %w", coll.Name(), store.Classify(err))
			}
		} else {
			scrub(doc, sub)
			if _, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc); err != nil {
				return ids, fmt.Errorf("forget in %s: %w", coll.Name(), store.Classify(err))
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// plainOf views a decoded BSON document as plain maps and slices.
func plainOf(v any) map[string]any {
	m, _ := plain(v).(map[string]any)
	return m
}

func plain(v any) any {
	switch x := v.(type) {
	case bson.M:
		return plain(map[string]any(x))
	case bson.D:
		m := map[string]any{}
		for _, e := range x {
			m[e.Key] = plain(e.Value)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	case bson.A:
		return plain([]any(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

// scrub blanks, in place, the person whose address has digest sub: in each object
// where a field holds their address, that field, the person's fields beside it
// ("name", "title"; or "x_name", "x_title" beside "x_email") and it says erased.
func scrub(v any, sub string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			s, ok := e.(string)
			if !ok {
				scrub(e, sub)
				continue
			}
			if !holdsAddress(s, sub) {
				continue
			}
			x[k] = ""
			stem := strings.TrimSuffix(k, "email")
			for _, f := range []string{"name", "title"} {
				if _, ok := x[stem+f]; ok {
					x[stem+f] = ""
				}
			}
			x["erased"] = true
		}
	case []any:
		for i, e := range x {
			if s, ok := e.(string); ok && holdsAddress(s, sub) {
				x[i] = ""
				continue
			}
			scrub(e, sub)
		}
	}
}

func holdsAddress(s, sub string) bool {
	for _, a := range addressShape.FindAllString(s, -1) {
		if subject(a) == sub {
			return true
		}
	}
	return false
}

// TextHoldsSubject reports whether text (a message as a stream holds it, say) holds
// an address whose digest is sub.
func TextHoldsSubject(text, sub string) bool { return holdsAddress(text, sub) }

// Addresses returns every address text holds (as telemetry's redaction recognises
// one), in the order it holds them.
func Addresses(text string) []string { return addressShape.FindAllString(text, -1) }
