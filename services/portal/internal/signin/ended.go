package signin

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
)

// Ended is the register of ended sign-ins: the digest of every session signed out and
// of every sign-in link used, on a JetStream stream of the portal's own
// (events.StreamPortalEnded), kept as long as either could still be good; and of every
// colleague a lead removed (their organisation and address), on another
// (events.StreamPortalRemoved), kept as long as a backup is. Both are outside the
// portal's database, which a backup holds: restored from a backup, the database holds
// the sessions, unused links and colleagues as they were when it was taken, and Mend
// ends again, at start, those the register says have ended since.
type Ended struct {
	js    jetstream.JetStream
	clock clock.Clock
}

// What an entry of the register names.
const (
	endedSession   = "session"
	endedLink      = "link"
	endedColleague = "colleague"
)

// recordTimeout bounds the wait for JetStream to store an entry.
const recordTimeout = 3 * time.Second

// NewEnded is the register on its streams (bus.PortalEndedStream and
// bus.PortalRemovedStream), made already.
func NewEnded(js jetstream.JetStream, clk clock.Clock) (*Ended, error) {
	if js == nil || clk == nil {
		return nil, fmt.Errorf("signin: the register of ended sign-ins needs JetStream and a clock")
	}
	return &Ended{js: js, clock: clk}, nil
}

// record enters a session, a link or a colleague (by its digest) and returns once
// JetStream has stored the entry. A session or link recorded twice is stored once; a
// colleague removed, named again and removed again has an entry for each removal.
func (e *Ended) record(ctx context.Context, kind, digest string) error {
	if !bus.IsDigest(digest) {
		return fmt.Errorf("ended sign-ins: %q is not a digest", digest)
	}
	at := e.clock.Now().UTC()
	data, err := json.Marshal(struct {
		At time.Time `json:"at"`
	}{at})
	if err != nil {
		return err
	}
	msg := nats.NewMsg(endedSubject(kind, digest))
	msg.Data = data
	id := "ended-" + kind + "-" + digest
	if kind == endedColleague {
		id += "-" + strconv.FormatInt(at.UnixNano(), 10)
	}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	// A visitor waits on it: a NATS that is away is told in seconds, not at the
	// request's deadline.
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	if _, err := e.js.PublishMsg(ctx, msg); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "the register of ended sign-ins did not take the entry")
	}
	return nil
}

func endedSubject(kind, digest string) string {
	return strings.TrimSuffix(endedStreams[kind].subjects, ">") + kind + "." + digest
}

// endedStream is one of the register's streams.
type endedStream struct{ name, subjects string }

// The register's streams, and where each kind of entry goes. The removed colleagues
// have a stream of their own: kept longer, and out of the way of the portal's earlier
// releases, which read every entry of the ended sign-ins' stream and take no other
// kind.
var (
	signedOut    = endedStream{events.StreamPortalEnded, events.SubjectsPortalEnded}
	removed      = endedStream{events.StreamPortalRemoved, events.SubjectsPortalRemoved}
	endedStreams = map[string]endedStream{endedSession: signedOut, endedLink: signedOut, endedColleague: removed}
)

// entries reads the register: the digests it holds of each kind, and when each
// ended (the latest time it was entered).
func (e *Ended) entries(ctx context.Context) (map[string]map[string]time.Time, error) {
	got := map[string]map[string]time.Time{}
	for kind := range endedStreams {
		got[kind] = map[string]time.Time{}
	}
	for _, stream := range []endedStream{signedOut, removed} {
		prefix := strings.TrimSuffix(stream.subjects, ">")
		err := bus.ReadStream(ctx, e.js, stream.name, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy},
			func(m jetstream.Msg) error {
				kind, digest, ok := strings.Cut(strings.TrimPrefix(m.Subject(), prefix), ".")
				var body struct {
					At time.Time `json:"at"`
				}
				if !ok || endedStreams[kind] != stream || !bus.IsDigest(digest) || json.Unmarshal(m.Data(), &body) != nil {
					return fmt.Errorf("entry on %s is not one", m.Subject())
				}
				if body.At.After(got[kind][digest]) {
					got[kind][digest] = body.At
				}
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("ended sign-ins: %w", err)
		}
	}
	return got, nil
}

// Mended is what Mend ended again.
type Mended struct{ Sessions, Links, Colleagues int }

// Mend ends every session, spends every sign-in link and removes every colleague in
// the portal's records that the register says has ended: nothing on records that
// were never restored; after a restore from a backup, the sessions signed out, the
// links used and the colleagues removed since it was taken. It reads the records'
// own keys (the sessions and links that are good now, a few; the colleagues named)
// and deletes only those the register names and the records still hold good (a
// colleague named again after their removal stays).
func Mend(ctx context.Context, e *Ended, s *Sessions, l *Links, p *People) (Mended, error) {
	ended, err := e.entries(ctx)
	if err != nil {
		return Mended{}, err
	}
	var m Mended
	if len(ended[endedSession]) > 0 {
		sessions, err := ids(ctx, s.coll)
		if err != nil {
			return m, err
		}
		if m.Sessions, err = deleteNamed(ctx, s.coll, sessions, ended[endedSession]); err != nil {
			return m, err
		}
	}
	if len(ended[endedLink]) > 0 {
		// A link used before the backup is in the records already as used.
		links, err := ids(ctx, l.links)
		if err != nil {
			return m, err
		}
		used, err := ids(ctx, l.used)
		if err != nil {
			return m, err
		}
		spent := map[string]bool{}
		for _, id := range used {
			spent[id] = true
		}
		unused := slices.DeleteFunc(links, func(id string) bool { return spent[id] })
		if m.Links, err = deleteNamed(ctx, l.links, unused, ended[endedLink]); err != nil {
			return m, err
		}
	}
	if len(ended[endedColleague]) > 0 {
		if m.Colleagues, err = p.removeEnded(ctx, ended[endedColleague]); err != nil {
			return m, err
		}
	}
	return m, nil
}

// ids are the _ids of coll's documents.
func ids(ctx context.Context, coll *mongo.Collection) ([]string, error) {
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", coll.Name(), store.Classify(err))
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read %s: %w", coll.Name(), store.Classify(err))
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out, nil
}

// deleteNamed deletes the documents of coll among held whose _id is one of names.
func deleteNamed(ctx context.Context, coll *mongo.Collection, held []string, names map[string]time.Time) (int, error) {
	return deleteIDs(ctx, coll, slices.DeleteFunc(held, func(id string) bool {
		_, named := names[id]
		return !named
	}))
}

// deleteIDs deletes the documents of coll with these _ids, and returns how many it
// deleted.
func deleteIDs(ctx context.Context, coll *mongo.Collection, ids []string) (int, error) {
	n := 0
	for _, id := range ids {
		res, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return n, fmt.Errorf("end %s: %w", coll.Name(), store.Classify(err))
		}
		n += int(res.DeletedCount)
	}
	return n, nil
}
