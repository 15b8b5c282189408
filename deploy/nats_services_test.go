package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/deadletter"
	"github.com/itss/techcommit/libs/events"
)

// natsUse is what a service built on libs/platform does on the bus beyond publishing
// its events and running its durable consumers, as its code says.
type natsUse struct {
	user   string
	stream string // the stream of its own events
	// publishes: it stores and publishes events (notify publishes none, so its
	// rebuild finds its stream empty and reads nothing there).
	publishes bool
	// letters is a stream one of its consumers reads: the test dead-letters a message
	// of it and lists and replays it through libs/deadletter, as its dead-letter API does.
	letters string
	// lag: it keeps a projection of its own events, whose lag its metrics report
	// (platform.registerMetrics, bus.Consumer.Lag).
	lag bool
	// replays are the other services' streams its rebuild-projections reads with an
	// ordered consumer (its platform.Projection of another service's events).
	replays []string
	// forgets: an erasure deletes the person's aggregates' messages from its stream
	// (bus.ForgetAggregate: signatory's own erasure, and platform.SealPeople's).
	forgets bool
	// registers: it keeps the register of erasures (bus.ErasureRegister), which
	// no other service may write.
	registers bool
	// readsRegister: it reads the register of erasures at start (notify, before its
	// first sweep), and may not write it.
	readsRegister bool
	// keepsSent: it keeps its register of what it sent (notify), which it creates,
	// adds to and reads at start with an ordered consumer; no other service may
	// write it.
	keepsSent bool
	// foreign is a stream it neither owns nor may read message by message.
	foreign string
}

var natsUses = []natsUse{
	{user: "signatory", stream: events.StreamSignatory, publishes: true, letters: events.StreamSignatory, lag: true, forgets: true, registers: true, foreign: events.StreamFund},
	{user: "review", stream: events.StreamReview, publishes: true, letters: events.StreamReview, lag: true, replays: []string{events.StreamSignatory}, forgets: true, foreign: events.StreamSignatory},
	{user: "notify", stream: events.StreamNotify, letters: events.StreamSignatory, readsRegister: true, keepsSent: true, foreign: events.StreamSignatory},
	{user: "fund", stream: events.StreamFund, publishes: true, letters: events.StreamFund, lag: true, replays: []string{events.StreamSignatory, events.StreamPortalTokens}, forgets: true, foreign: events.StreamReview},
}

// connectRecording connects as user and follows the permissions violations the server
// reports on the connection: a request it refuses gets no answer, only this report.
func connectRecording(t testing.TB, url, caFile, user string) (jetstream.JetStream, *refusals) {
	t.Helper()
	r := &refusals{waiting: map[*refusalWait]bool{}}
	nc, err := nats.Connect(url, nats.UserInfo(user, "test-"+user), nats.RootCAs(caFile), nats.Name(user), nats.ErrorHandler(r.handle))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	r.nc = nc
	return js, r
}

// refusals are the permissions violations reported on one connection.
type refusals struct {
	nc      *nats.Conn
	mu      sync.Mutex
	seen    []string
	waiting map[*refusalWait]bool
}

type refusalWait struct {
	fragment string
	cancel   context.CancelFunc
}

func (r *refusals) handle(_ *nats.Conn, _ *nats.Subscription, err error) {
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, err.Error())
	for w := range r.waiting {
		if strings.Contains(err.Error(), w.fragment) {
			w.cancel()
		}
	}
}

// Seen returns every violation reported so far.
func (r *refusals) Seen() []string {
	_ = r.nc.Flush()
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// refusalPatience is how long a request that should be refused is given before it
// counts as refused without the server's word: long enough for an allowed request
// to be answered on a busy machine.
const refusalPatience = 5 * time.Second

// Until is the context for a request that should be refused: it ends as soon as the
// server reports a violation naming fragment (the request's subject, or the stream in
// it), or after refusalPatience. A refused request then fails at once instead of
// when a timeout ends it (the two NATS permission tests waited 40 s for theirs); one
// the server allows is answered, and fails its check, as before.
func (r *refusals) Until(t testing.TB, parent context.Context, fragment string) context.Context {
	ctx, cancel := context.WithTimeout(parent, refusalPatience)
	w := &refusalWait{fragment: fragment, cancel: cancel}
	r.mu.Lock()
	r.waiting[w] = true
	r.mu.Unlock()
	t.Cleanup(func() {
		r.mu.Lock()
		delete(r.waiting, w)
		r.mu.Unlock()
		cancel()
	})
	return ctx
}

// testEvent is an event of the service's as its relay publishes it.
func testEvent(user, id, aggregate string) *nats.Msg {
	return bus.Message(events.Envelope{ID: id, Source: "/tc/" + user, Type: "tc." + user + ".thing.recorded.v1",
		AggregateType: "thing", AggregateID: aggregate, Version: 1, Time: time.Now(), Actor: "system:test", Data: []byte(`{}`)})
}

// TestServiceNATSUsersMayMakeTheirCodesJetStreamRequests runs, against a real
// nats-server with the rendered accounts and TLS, as each service's own user, the
// JetStream requests its code makes besides publishing and consuming: its dead-letter
// API (libs/deadletter's List and Replay, on consumers of libs/bus), its projections'
// lag metric (bus.Consumer.Lag), rebuild-projections after a database restore (the
// requests libs/platform/rebuild.go makes: the own stream's last message, its purge,
// the republication, and the replay of other services' streams with an ordered
// consumer, one event per fetch as the read models of others' events are replayed),
// and an erasure (bus.ForgetAggregate). Each must succeed with no request refused,
// and no ordered consumer may be left behind but the last. It then checks that no
// service may read single messages of, or purge, a stream that is not its own.
func TestServiceNATSUsersMayMakeTheirCodesJetStreamRequests(t *testing.T) {
	url, caFile := startNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 3*time.Second)
		t.Cleanup(cancel)
		return c
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tp := noop.NewTracerProvider()

	// Every service ensures its stream and the dead-letter stream at start, and the
	// producers publish their events, as platform.New and the relay do.
	for _, u := range natsUses {
		_, js := connectAs(t, url, caFile, u.user)
		for _, spec := range []bus.StreamSpec{{Name: u.stream, Subjects: []string{"tc." + u.user + ".>"}}, bus.DeadLetterStream(1)} {
			if _, err := bus.EnsureStream(ctx, js, spec); err != nil {
				t.Fatalf("%s: %v", u.user, err)
			}
		}
		for i, agg := range []string{"a", "b"} {
			if !u.publishes {
				break
			}
			if _, err := js.PublishMsg(ctx, testEvent(u.user, fmt.Sprintf("%s-%d", u.user, i), u.user+"-"+agg)); err != nil {
				t.Fatalf("%s publishes: %v", u.user, err)
			}
		}
	}
	// The portal makes the stream of its API token events and publishes there: the
	// fund's rebuild replays it after a restore.
	_, portal := connectAs(t, url, caFile, "portal")
	if _, err := bus.EnsureStream(ctx, portal, bus.PortalTokenStream(1)); err != nil {
		t.Fatalf("portal: %v", err)
	}
	token := events.Envelope{ID: "portal-token-1", Source: "/tc/portal", Type: events.APITokenIssuedV1{}.EventType(), AggregateType: "apitoken",
		AggregateID: "tok-1", Version: 1, Time: time.Now(), Actor: "system:portal", Data: []byte(`{"token_id":"tok-1"}`)}
	if _, err := portal.PublishMsg(ctx, bus.Message(token)); err != nil {
		t.Fatalf("portal publishes a token event: %v", err)
	}
	_, ops := connectAs(t, url, caFile, "ops")
	// The signatory service keeps the register of erasures, which notify reads.
	_, signatory := connectAs(t, url, caFile, "signatory")
	if _, err := bus.OpenErasureRegister(ctx, signatory, 1); err != nil {
		t.Fatalf("signatory: %v", err)
	}
	// notify keeps its register of what it sent, which no other service may write.
	_, notify := connectAs(t, url, caFile, "notify")
	if _, err := bus.EnsureStream(ctx, notify, bus.NotifySentStream(1)); err != nil {
		t.Fatalf("notify: %v", err)
	}

	for _, u := range natsUses {
		t.Run(u.user, func(t *testing.T) {
			js, refused := connectRecording(t, url, caFile, u.user)
			// denied is the context of a request the server should refuse (see Until).
			denied := func(fragment string) context.Context { return refused.Until(t, ctx, fragment) }

			// The dead-letter API: a consumer gives up on every message of a stream,
			// then ops list this service's dead letters and replay them once the cause
			// is fixed.
			letters, err := js.Stream(short(), u.letters)
			if err != nil {
				t.Fatal(err)
			}
			want := int(letters.CachedInfo().State.Msgs)
			if want == 0 {
				t.Fatalf("%s holds no message to dead-letter", u.letters)
			}
			var broken atomic.Bool
			broken.Store(true)
			spec := bus.ConsumerSpec{Stream: u.letters, Durable: u.user + "-deploy-check", MaxDeliver: 1, Idempotent: true,
				FilterSubjects: []string{strings.ToLower("tc." + strings.TrimPrefix(u.letters, "TC_") + ".thing.recorded")}}
			c, err := bus.NewConsumer(js, spec, func(context.Context, events.Envelope) error {
				if broken.Load() {
					return bus.Permanent(errors.New("the cause ops fix"))
				}
				return nil
			}, nil, logger, tp)
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- c.Run(runCtx) }()
			box, err := deadletter.New(js, []*bus.Consumer{c})
			if err != nil {
				t.Fatal(err)
			}
			var page deadletter.Page
			var listErr error
			deadline := time.Now().Add(10 * time.Second)
			for len(page.Items) < want && time.Now().Before(deadline) {
				page, listErr = box.List(short(), 0, 50)
				time.Sleep(50 * time.Millisecond)
			}
			// A letter is kept before its message is terminated: the consumer runs
			// until the server has the last termination too, or the ack floor the lag
			// reads below may still be short of it.
			last := letters.CachedInfo().State.LastSeq
			for time.Now().Before(deadline) {
				cons, err := js.Consumer(short(), u.letters, spec.Durable)
				if err == nil && cons.CachedInfo().NumAckPending == 0 && cons.CachedInfo().AckFloor.Stream >= last {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			stop()
			if err := <-done; err != nil {
				t.Errorf("%s's consumer: %v", u.user, err)
			}
			if listErr != nil || len(page.Items) != want {
				t.Errorf("%s lists its dead letters: %d of %d, %v", u.user, len(page.Items), want, listErr)
			}
			broken.Store(false)
			for _, l := range page.Items {
				if _, err := box.Replay(short(), l.Sequence); err != nil {
					t.Errorf("%s replays dead letter %d: %v", u.user, l.Sequence, err)
				}
			}
			if page, err := box.List(short(), 0, 50); err != nil || len(page.Items) != 0 {
				t.Errorf("%s's replayed dead letters are still listed: %d, %v", u.user, len(page.Items), err)
			}

			// The lag metric of a projection of its own events, with a message
			// waiting behind what it has handled: the time of the message at its ack
			// floor is read from the stream.
			if u.lag {
				if _, err := js.PublishMsg(ctx, testEvent(u.user, u.user+"-later", u.user+"-a")); err != nil {
					t.Fatal(err)
				}
				// The message waits, or (when the stopped consumer's last pull request
				// was still open at the server) is delivered and not acknowledged: the
				// lag counts both.
				// The server counts the message for the consumer a moment after it
				// stores it (a filtered consumer's count is kept apart): until it has,
				// the lag rightly reads none.
				var info *jetstream.ConsumerInfo
				for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
					cons, err := js.Consumer(short(), u.stream, spec.Durable)
					if err != nil {
						t.Fatal(err)
					}
					info = cons.CachedInfo()
					if (info.AckFloor.Stream > 0 && info.NumPending+uint64(info.NumAckPending) > 0) || time.Now().After(deadline) {
						break
					}
				}
				if info.AckFloor.Stream == 0 || (info.NumPending == 0 && info.NumAckPending == 0) {
					t.Fatalf("%s: the lag would not read a message within 5s: ack floor %d, %d pending, %d unacknowledged",
						u.user, info.AckFloor.Stream, info.NumPending, info.NumAckPending)
				}
				if d, ok, err := c.Lag(short()); err != nil || !ok || d <= 0 {
					t.Errorf("%s's projection lag: %s, %t, %v", u.user, d, ok, err)
				}
			}

			// rebuild-projections after a database restore: the stream is ahead of
			// the event store, so it is read, purged and filled again from the store.
			s, err := js.Stream(short(), u.stream)
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Info(short())
			if err != nil {
				t.Fatal(err)
			}
			if u.publishes != (info.State.Msgs > 0) {
				t.Fatalf("%s's stream holds %d messages", u.user, info.State.Msgs)
			}
			if info.State.Msgs > 0 {
				if _, err := s.GetMsg(short(), info.State.LastSeq); err != nil {
					t.Errorf("%s's rebuild reads its stream's last event: %v", u.user, err)
				}
				if err := s.Purge(short()); err != nil {
					t.Errorf("%s's rebuild purges its stream: %v", u.user, err)
				}
				for i, agg := range []string{"a", "b"} {
					m := testEvent(u.user, fmt.Sprintf("%s-%d", u.user, i), u.user+"-"+agg)
					m.Header.Set(jetstream.MsgIDHeader, m.Header.Get(bus.HeaderID)+"/rebuilt")
					if _, err := js.PublishMsg(short(), m); err != nil {
						t.Errorf("%s's rebuild republishes: %v", u.user, err)
					}
				}
			}
			for _, stream := range u.replays {
				before := orderedConsumers(t, ops, stream)
				oc, err := js.OrderedConsumer(short(), stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
				if err != nil {
					t.Fatalf("%s's rebuild reads %s: %v", u.user, stream, err)
				}
				ci, err := oc.Info(short())
				if err != nil {
					t.Fatal(err)
				}
				for left := ci.NumPending; left > 0; left-- {
					msgs, err := oc.Fetch(1, jetstream.FetchMaxWait(3*time.Second))
					if err == nil {
						for range msgs.Messages() {
						}
						err = msgs.Error()
					}
					if err != nil {
						t.Fatalf("%s's rebuild reads %s: %v", u.user, stream, err)
					}
				}
				noOrderedLeftBut(t, ops, stream, before)
			}

			// An erasure drops the person's aggregate's messages from the stream.
			if u.forgets {
				before := orderedConsumers(t, ops, u.stream)
				if n, err := bus.ForgetAggregate(short(), js, u.stream, u.user+"-a"); err != nil || n != 1 {
					t.Errorf("%s forgets an aggregate: %d deleted, %v", u.user, n, err)
				}
				noOrderedLeftBut(t, ops, u.stream, before)
			}

			// An erasure is entered in the register of erasures, which every start
			// reads with an ordered consumer.
			sub := strings.Repeat("ab", 32)
			if u.registers {
				reg, err := bus.OpenErasureRegister(short(), js, 1)
				if err != nil {
					t.Fatalf("%s opens the register of erasures: %v", u.user, err)
				}
				before := orderedConsumers(t, ops, events.StreamErasures)
				if err := reg.Record(short(), bus.RegisteredErasure{Subject: sub, Version: 1, At: time.Now()}); err != nil {
					t.Errorf("%s records an erasure: %v", u.user, err)
				}
				if got, err := reg.Latest(short()); err != nil || len(got) != 1 {
					t.Errorf("%s reads the register of erasures: %v, %v", u.user, got, err)
				}
				noOrderedLeftBut(t, ops, events.StreamErasures, before)
			}
			if u.readsRegister {
				before := orderedConsumers(t, ops, events.StreamErasures)
				if _, err := bus.NewErasureRegister(js).Latest(short()); err != nil {
					t.Errorf("%s reads the register of erasures: %v", u.user, err)
				}
				noOrderedLeftBut(t, ops, events.StreamErasures, before)
			}
			if u.keepsSent {
				// As adapters.Sent does: create the stream, enter an email and a
				// reminder, read them all back at start.
				if _, err := bus.EnsureStream(short(), js, bus.NotifySentStream(1)); err != nil {
					t.Fatalf("%s creates its register of what it sent: %v", u.user, err)
				}
				before := orderedConsumers(t, ops, events.StreamNotifySent)
				for _, subject := range []string{"tc.sent.email.0123456789abcdef0123456789abcdef", "tc.sent.reminder." + sub} {
					if _, err := js.Publish(short(), subject, []byte(`{"at":"2026-12-05T08:00:00Z"}`)); err != nil {
						t.Errorf("%s enters %s: %v", u.user, subject, err)
					}
				}
				n := 0
				if err := bus.ReadStream(short(), js, events.StreamNotifySent, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy},
					func(jetstream.Msg) error { n++; return nil }); err != nil || n != 2 {
					t.Errorf("%s reads its register of what it sent: %d entries, %v", u.user, n, err)
				}
				noOrderedLeftBut(t, ops, events.StreamNotifySent, before)
			}

			if r := refused.Seen(); len(r) > 0 {
				t.Errorf("the server refused %s's requests: %s", u.user, strings.Join(r, "; "))
			}

			// Nothing broader: another service's stream is not its to read message by
			// message or to purge, nor is the dead-letter stream its to purge. (A
			// refused request is not answered: it fails when the server's report of the
			// violation ends its context.)
			if f, err := js.Stream(short(), u.foreign); err == nil {
				if _, err := f.GetMsg(denied(u.foreign), 1); err == nil || errors.Is(err, jetstream.ErrMsgNotFound) {
					t.Errorf("%s may read %s's messages (%v)", u.user, u.foreign, err)
				}
				if err := f.Purge(denied("PURGE." + u.foreign)); err == nil {
					t.Errorf("%s may purge %s", u.user, u.foreign)
				}
			}
			if dl, err := js.Stream(short(), events.StreamDeadLetter); err == nil {
				if err := dl.Purge(denied("PURGE." + events.StreamDeadLetter)); err == nil {
					t.Errorf("%s may purge the dead letters", u.user)
				}
			}
			if !u.keepsSent {
				if _, err := js.Publish(denied("tc.sent.email."), "tc.sent.email.0123456789abcdef0123456789abcdef", []byte(`{}`)); err == nil {
					t.Errorf("%s may write notify's register of what it sent", u.user)
				}
			}
			if !u.registers {
				reg, err := bus.OpenErasureRegister(denied(events.StreamErasures), js, 1)
				if err == nil {
					err = reg.Record(denied("tc.erasures."), bus.RegisteredErasure{Subject: sub, Version: 2, At: time.Now()})
				}
				if err == nil {
					t.Errorf("%s may write the register of erasures", u.user)
				}
			}
		})
	}
}

// orderedConsumers names the stream's consumers other than the durables (an ordered
// consumer's name is a NUID and a serial number), as the ops user lists them.
func orderedConsumers(t testing.TB, ops jetstream.JetStream, stream string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s, err := ops.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("%s: %v", stream, err)
	}
	var ordered []string
	names := s.ConsumerNames(ctx)
	for n := range names.Name() {
		if strings.LastIndexByte(n, '_') > 0 && !strings.Contains(n, "-") {
			ordered = append(ordered, n)
		}
	}
	if err := names.Err(); err != nil {
		t.Fatalf("list %s's consumers: %v", stream, err)
	}
	return ordered
}

// noOrderedLeftBut waits until the stream has at most one ordered consumer besides
// those it had before a read: an ordered consumer deletes each consumer it replaces
// at a fetch (unless its user may not), and the last goes when it has been idle for
// five minutes.
func noOrderedLeftBut(t testing.TB, ops jetstream.JetStream, stream string, before []string) {
	t.Helper()
	var added []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		added = slices.DeleteFunc(orderedConsumers(t, ops, stream), func(n string) bool { return slices.Contains(before, n) })
		if len(added) <= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(added) > 1 {
		t.Errorf("%s keeps %d ordered consumers from one read, want at most 1: the read could not delete those it replaced", stream, len(added))
	}
}
