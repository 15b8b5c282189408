package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/reviewdrafts"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// erasedIn are the portal's records of a person: who may sign in, their sessions
// and the links sent to them. Each is nothing without the person, so an erasure
// deletes it: the person can no longer sign in, and nothing of them stays. The
// addresses that find the first three by _id hold no address, only its digest, and
// are deleted by it (signin.People.Forget).
var erasedIn = []string{"leads", "reviewers", "applicants", "sessions", "signin_links"}

// forgetErased consumes the signatory service's erasures (docs/PRIVACY.md): the
// portal forgets the person in every record that holds their address, and deletes
// the sign-in link requests for them still on its stream (kept there up to 15
// minutes, each naming the person).
func forgetErased(db *mongo.Database, js jetstream.JetStream, tokens *apitokens.Store, links *signin.Links) func(*signin.People) (bus.ConsumerSpec, bus.Handler) {
	return func(people *signin.People) (bus.ConsumerSpec, bus.Handler) {
		return platform.PersonErasures(Name, func(ctx context.Context, sub string) (err error) {
			// Said to be under way while it runs, so that a lead or reviewer written
			// anew beside it is written again once it is done (signin.People).
			done, err := personal.Forgetting(ctx, db.Collection(personal.UnderWayCollection))
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, done()) }()
			if err := people.Forget(ctx, sub); err != nil {
				return err
			}
			// An API token names its maker, whom the fund takes as the applicant of
			// what it drafts: the erased person's tokens are revoked, and their name
			// leaves the tokens' records, and those of the tokens they revoked.
			if _, err := tokens.Forget(ctx, sub); err != nil {
				return err
			}
			pseudonym := people.Pseudonyms().OfSubject(sub)
			if err := tokens.ForgetRevoker(ctx, pseudonym); err != nil {
				return err
			}
			// The sign-in requests they made this quarter of an hour are counted
			// under their pseudonym.
			if err := links.ForgetQuota(ctx, pseudonym); err != nil {
				return err
			}
			// A review saved part-way is the person's words and nothing without them.
			if _, err := reviewdrafts.Forget(ctx, db, sub); err != nil {
				return err
			}
			for _, name := range erasedIn {
				if _, err := personal.Forget(ctx, db.Collection(name), sub, true); err != nil {
					return err
				}
			}
			return forgetSigninRequests(ctx, js, sub)
		})
	}
}

// forgetSigninRequests overwrites the messages of the portal's sign-in stream that ask
// for a link to the person whose address's digest is sub.
func forgetSigninRequests(ctx context.Context, js jetstream.JetStream, sub string) error {
	stream, err := js.Stream(ctx, events.StreamPortal)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("erasure: the sign-in stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return err
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("erasure: read sign-in message %d: %w", seq, err)
		}
		e, err := bus.Envelope(m.Subject, m.Header, m.Data)
		if err != nil {
			continue
		}
		req, err := events.Decode[events.SigninLinkRequestedV1](e)
		if err != nil || personal.Subject(req.Email) != sub {
			continue
		}
		// Overwritten, not only marked deleted: the bytes would stay in the stream's
		// files until their block is compacted or expires.
		if err := stream.SecureDeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("erasure: delete sign-in message %d: %w", seq, err)
		}
	}
	return nil
}

// holdings is what the portal's own database holds about the person with this
// address, for the console's subject access download: every document holding the
// address (their lead, reviewer and applicant records, sessions, sign-in links) or
// a pseudonym the portal records them by (the API tokens they made, the colleagues
// they named, the reviews they saved part-way, which reviewdrafts keeps under it):
// the keyed one, and the unkeyed one of the records made before it. For ITSS staff,
// given their OpenID subject: the name the console shows their changes by
// (ops_staff, whose _id is the subject, compared whole). Each document is given as
// plain JSON (personal.PlainRecord), as the services give theirs.
func holdings(db *mongo.Database, ps signin.Pseudonyms) func(context.Context, string, string) ([]personal.Record, error) {
	return func(ctx context.Context, email, subject string) ([]personal.Record, error) {
		var whole []string
		if subject != "" {
			whole = []string{subject}
		}
		recs, err := personal.GatherAnyWhole(ctx, db, append([]string{email}, ps.All(email)...), whole)
		if err != nil {
			return nil, err
		}
		if recs, err = withTokenPeople(ctx, db, recs); err != nil {
			return nil, err
		}
		own := append(ps.All(email), whole...)
		for i, rec := range recs {
			if rec.Collection == apitokens.Collection {
				tokenOthers(rec.Document, own, personal.Subject(email))
			}
			// As the services give theirs: plain JSON, without the store's wrappers.
			recs[i] = personal.PlainRecord(rec)
		}
		return recs, nil
	}
}

// withTokenPeople gives, for subject access, each API token's record with its maker
// and the person who revoked it, who are in documents of their own
// (apitokens.MakersCollection, apitokens.RevokersCollection) beside it: the
// maker's record of a token they made, or the revoker's of a token they revoked, is
// the token's record naming them, and it names the other too, for tokenOthers to
// show as another person. A revoker whose revocation the portal's own overwrote is
// given as their own record.
func withTokenPeople(ctx context.Context, db *mongo.Database, recs []personal.Record) ([]personal.Record, error) {
	found := map[string]map[string]map[string]any{apitokens.MakersCollection: {}, apitokens.RevokersCollection: {}}
	out := make([]personal.Record, 0, len(recs))
	for _, rec := range recs {
		if people, ok := found[rec.Collection]; ok {
			people[rec.ID] = rec.Document
			continue
		}
		out = append(out, rec)
	}
	read := func(coll, id string) (map[string]any, error) {
		raw, err := db.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Raw()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s %s: %w", coll, id, store.Classify(err))
		}
		ej, err := bson.MarshalExtJSON(raw, false, false)
		if err != nil {
			return nil, fmt.Errorf("read %s %s: %w", coll, id, err)
		}
		var doc map[string]any
		return doc, json.Unmarshal(ej, &doc)
	}
	// merge gives the token's record doc the people of its id, and says whether
	// the revoker, when there is one, went into it.
	merge := func(id string, doc map[string]any) (bool, error) {
		for _, coll := range []string{apitokens.MakersCollection, apitokens.RevokersCollection} {
			person, ok := found[coll][id]
			if !ok {
				var err error
				if person, err = read(coll, id); err != nil {
					return false, err
				}
			}
			if person == nil {
				continue
			}
			if _, words := doc["revoked_by"]; coll == apitokens.RevokersCollection && words {
				return false, nil // the portal's revocation landed last: its words stand
			}
			for k, v := range person {
				if k != "_id" && k != "expires_at" {
					doc[k] = v
				}
			}
		}
		return true, nil
	}
	// add merges the people into doc, the record of token id (given already when
	// fresh is false), and gives a revoker left out of it as their own record.
	seen := map[string]bool{}
	add := func(id string, doc map[string]any, fresh bool) error {
		seen[id] = true
		merged, err := merge(id, doc)
		if err != nil {
			return err
		}
		if fresh {
			out = append(out, personal.Record{Collection: apitokens.Collection, ID: id, Document: doc})
		}
		if r, ok := found[apitokens.RevokersCollection][id]; ok && !merged {
			out = append(out, personal.Record{Collection: apitokens.RevokersCollection, ID: id, Document: r})
		}
		return nil
	}
	for _, rec := range slices.Clone(out) {
		if rec.Collection == apitokens.Collection {
			if err := add(rec.ID, rec.Document, false); err != nil {
				return nil, err
			}
		}
	}
	for _, coll := range []string{apitokens.MakersCollection, apitokens.RevokersCollection} {
		for _, id := range slices.Sorted(maps.Keys(found[coll])) {
			if seen[id] {
				continue
			}
			doc, err := read(apitokens.Collection, id)
			if err != nil {
				return nil, err
			}
			if doc == nil { // swept meanwhile: the people alone
				doc = map[string]any{"_id": id}
			}
			if err := add(id, doc, true); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// tokenOthers shows, in an API token's record given to one person's subject access,
// the other person it names as personal.AnotherPerson (UK GDPR Art. 15(4)): its
// maker, found by their pseudonym or address's digest, to the person who revoked it,
// and who revoked it, found by their pseudonym or OpenID subject, to its maker. own
// are the pseudonyms (and subject) the person is recorded by, digest their address's.
// The record carries no address, which personal.RedactOthers would go by.
func tokenOthers(doc map[string]any, own []string, digest string) {
	is := func(key string, ids ...string) bool {
		v, _ := doc[key].(string)
		return v != "" && slices.Contains(ids, v)
	}
	other := func(keys ...string) {
		for _, k := range keys {
			if v, _ := doc[k].(string); v != "" {
				doc[k] = personal.AnotherPerson
			}
		}
	}
	if !is("creator", own...) && !is("subject", digest) {
		other("created_by", "creator", "subject")
	}
	if r, _ := doc["revoker"].(string); r != "" && !is("revoker", own...) {
		other("revoked_by", "revoker")
	}
}
