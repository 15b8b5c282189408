package testenv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/bus"
)

// Readable returns, lower-cased, everything a database and the named streams hold
// in readable form (each document as extended JSON, each message's subject, headers
// and payload), for a test that must find a person in none of it.
func Readable(tb testing.TB, db *mongo.Database, js jetstream.JetStream, streams ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var b strings.Builder
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range names {
		cur, err := db.Collection(name).Find(ctx, bson.D{})
		if err != nil {
			tb.Fatal(err)
		}
		var docs []bson.M
		if err := cur.All(ctx, &docs); err != nil {
			tb.Fatal(err)
		}
		for _, d := range docs {
			ej, err := bson.MarshalExtJSON(d, false, false)
			if err != nil {
				tb.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s\n", name, ej)
			binaries(&b, d) // extended JSON shows bytes in base64: a stored answer's text is in them
		}
	}
	for _, name := range streams {
		s, err := js.Stream(ctx, name)
		if err != nil {
			tb.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				continue // deleted
			}
			fmt.Fprintf(&b, "%s %s %v %s\n", name, m.Subject, m.Header, m.Data)
		}
	}
	return strings.ToLower(b.String())
}

// ReadableStack is Readable over a running stack reached at its addresses: the
// named databases and every stream of the NATS server.
func ReadableStack(tb testing.TB, mongoURI, natsURL string, databases ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(mongoURI))
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	var streams []string
	names := js.StreamNames(ctx)
	for n := range names.Name() {
		streams = append(streams, n)
	}
	if err := names.Err(); err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for i, name := range databases {
		if i == 0 {
			b.WriteString(Readable(tb, client.Database(name), js, streams...))
			continue
		}
		b.WriteString(Readable(tb, client.Database(name), js))
	}
	return b.String()
}

// Unreadable fails the test for each of the strings (compared lower-cased) that text
// holds, showing where.
func Unreadable(tb testing.TB, text string, forgotten ...string) {
	tb.Helper()
	text = strings.ToLower(text)
	for _, s := range forgotten {
		s = strings.ToLower(s)
		if i := strings.Index(text, s); i >= 0 {
			tb.Errorf("%q is still readable: …%s…", s, text[max(0, i-300):min(len(text), i+100)])
		}
	}
}

// Documents returns a collection's documents ordered by _id, for comparing a view
// rebuilt from the log with the live one.
func Documents(tb testing.TB, coll *mongo.Collection) []bson.M {
	tb.Helper()
	cur, err := coll.Find(context.Background(), bson.D{})
	if err != nil {
		tb.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(context.Background(), &docs); err != nil {
		tb.Fatal(err)
	}
	slices.SortFunc(docs, func(a, b bson.M) int { return strings.Compare(fmt.Sprint(a["_id"]), fmt.Sprint(b["_id"])) })
	return docs
}

// binaries writes the bytes held in a document as text.
func binaries(b *strings.Builder, v any) {
	switch x := v.(type) {
	case bson.Binary:
		fmt.Fprintf(b, " %s\n", x.Data)
	case []byte:
		fmt.Fprintf(b, " %s\n", x)
	case bson.M:
		for _, e := range x {
			binaries(b, e)
		}
	case bson.D:
		for _, e := range x {
			binaries(b, e.Value)
		}
	case bson.A:
		for _, e := range x {
			binaries(b, e)
		}
	}
}

// Consumed waits until the durable consumer on stream has acknowledged everything it
// was given, through the stream's last message when its filter takes that message: a
// handler acknowledges after its last step, so what a test reads then is what the
// handler left, not a moment in its middle (an erasure's views are empty between being
// dropped and rebuilt). The consumer's own counts alone can be read a moment before it
// counts a message just published, and say nothing is left to do.
func Consumed(tb testing.TB, js jetstream.JetStream, stream, durable string) {
	tb.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		tb.Fatalf("stream %s: %v", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		tb.Fatalf("stream %s: %v", stream, err)
	}
	if info.State.LastSeq == 0 {
		ConsumedThrough(tb, js, stream, durable, "", 0)
		return
	}
	last, err := s.GetMsg(ctx, info.State.LastSeq)
	if err != nil {
		tb.Fatalf("stream %s, message %d: %v", stream, info.State.LastSeq, err)
	}
	ConsumedThrough(tb, js, stream, durable, last.Subject, last.Sequence)
}

// ConsumedThrough is Consumed, and more: it waits until the durable consumer has
// taken in the message at stream sequence seq, published on subject, when its filter
// takes that subject. Consumed alone can read the consumer's state a moment before it
// counts a message just published as pending, and report nothing left to do.
func ConsumedThrough(tb testing.TB, js jetstream.JetStream, stream, durable, subject string, seq uint64) {
	tb.Helper()
	Eventually(tb, 20*time.Second, func() error {
		ctx := context.Background()
		c, err := js.Consumer(ctx, stream, durable)
		if err != nil {
			return err
		}
		info, err := c.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return fmt.Errorf("%s: %d messages still to deliver, %d awaiting acknowledgement", durable, info.NumPending, info.NumAckPending)
		}
		if takes(info.Config, subject) && info.AckFloor.Stream < seq {
			return fmt.Errorf("%s: acknowledged through %d, waiting for %d", durable, info.AckFloor.Stream, seq)
		}
		return nil
	})
}

// takes says whether a consumer's filter takes subject.
func takes(cfg jetstream.ConsumerConfig, subject string) bool {
	filters := cfg.FilterSubjects
	if cfg.FilterSubject != "" {
		filters = append(filters, cfg.FilterSubject)
	}
	return bus.Takes(filters, subject)
}
