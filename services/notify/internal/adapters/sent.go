package adapters

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
)

// Sent is notify's register of what it sent: every email, by its key, every step of
// an obligation's ladder its sweep settled as sent, and every new calendar feed
// address it issued (a rotation), on a JetStream stream of its own
// (events.StreamNotifySent, kept a day longer than a backup). It is outside notify's
// database, which a backup holds: restored from a backup, the database says due again
// the reminders sent since it was taken, lacks the emails sent since, and holds good
// again a feed address replaced since; MendSent enters them again, at start, before
// the first sweep, and replaces such an address again.
//
// An entry names no one: an email's key is a digest, and the rest is what its log
// entry says but its recipients and its body; a reminder is its organisation,
// obligation and step; a rotation its organisation and its number, never the
// address.
type Sent struct {
	js     jetstream.JetStream
	clock  clock.Clock
	logger *slog.Logger

	mu sync.Mutex
	// held are the entries not handed to NATS yet (it was away), oldest first;
	// inflight those handed to it, whose acknowledgements are awaited. An email
	// waits for neither: entering costs a send no round trip to NATS. failing says
	// NATS refused the last try, at tried.
	held     []*nats.Msg
	inflight []inflightEntry
	failing  bool
	tried    time.Time
	// dropping says the oldest held entries are being let go (said once).
	dropping bool

	// kept, when set (KeepHeldIn), keeps in notify's database the entries NATS has
	// not taken, so that a notify stopped (or killed) while NATS is away enters them
	// when it starts again; stored are the ids of those kept there.
	kept   *mongo.Collection
	stored map[string]bool
	// keepMu orders Flush's writes to kept.
	keepMu sync.Mutex
}

// heldDoc is an entry kept in notify's database until NATS takes it: its message
// id, subject and body (no personal data: see Sent).
type heldDoc struct {
	ID      string `bson:"_id"`
	Subject string `bson:"subject"`
	Data    []byte `bson:"data"`
}

// inflightEntry is an entry handed to NATS, with its acknowledgement to come.
type inflightEntry struct {
	msg *nats.Msg
	ack jetstream.PubAckFuture
	at  time.Time
}

var _ app.SentRegister = (*Sent)(nil)

// What an entry of the register names.
const (
	sentEmail    = "email"
	sentReminder = "reminder"
	sentFeed     = "feed"
)

const (
	// sentTimeout bounds Flush's wait for NATS to acknowledge what it was handed.
	sentTimeout = 3 * time.Second
	// sentAckWait is how long an entry handed to NATS waits for its acknowledgement
	// before it is held again, to be handed over once more (the register takes the
	// same entry twice as once).
	sentAckWait = 30 * time.Second
	// sentRetry is how long a register that failed is left before it is tried again:
	// meanwhile entries are held.
	sentRetry = 5 * time.Second
	// sentHeldMax bounds what is held while NATS is away (the oldest go first).
	sentHeldMax = 10_000
)

// sentEntry is one entry's body.
type sentEntry struct {
	At           time.Time `json:"at"`
	Organisation string    `json:"organisation_id,omitempty"`
	Step         string    `json:"step,omitempty"`
	// An email's, as its log entry says.
	Kind     string `json:"kind,omitempty"`
	About    string `json:"about,omitempty"`
	Role     string `json:"role,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	// A reminder's: the obligation as scheduled, and the day of the step.
	Obligation string `json:"obligation_id,omitempty"`
	Due        string `json:"due,omitempty"`
	On         string `json:"on,omitempty"`
	// A rotation's number: the organisation's feed address was replaced for the
	// n-th time.
	Rotation int `json:"rotation,omitempty"`
}

// delivery is the log entry of the email with this key the entry says was sent: what
// the log said of it, but whom it went to and what it said.
func (e sentEntry) delivery(key string) app.Delivery {
	return app.Delivery{Key: key, OrganisationID: e.Organisation, Kind: e.Kind, Step: e.Step, About: e.About, Role: e.Role,
		Status: app.StatusSent, Attempts: max(e.Attempts, 1), CreatedAt: e.At, UpdatedAt: e.At, SentAt: e.At}
}

// NewSent is the register on its stream (bus.NotifySentStream), made already.
func NewSent(js jetstream.JetStream, clk clock.Clock, logger *slog.Logger) (*Sent, error) {
	if js == nil || clk == nil || logger == nil {
		return nil, fmt.Errorf("the register of what was sent needs JetStream, a clock and a logger")
	}
	return &Sent{js: js, clock: clk, logger: logger}, nil
}

// Email enters an email sent.
func (s *Sent) Email(ctx context.Context, d app.Delivery) {
	if !isEmailKey(d.Key) {
		s.logger.ErrorContext(ctx, "an email's key is not one the register of what was sent takes", "key", d.Key)
		return
	}
	at := d.SentAt
	if at.IsZero() {
		at = s.clock.Now()
	}
	s.enter(ctx, sentEmail, d.Key, strconv.Itoa(d.Attempts), sentEntry{At: at.UTC(), Organisation: d.OrganisationID, Step: d.Step,
		Kind: d.Kind, About: d.About, Role: d.Role, Attempts: d.Attempts})
}

// Reminder enters a step of a ladder settled as sent.
func (s *Sent) Reminder(ctx context.Context, r ladder.Reminder) {
	sum := sha256.Sum256([]byte(reminderID(r)))
	s.enter(ctx, sentReminder, hex.EncodeToString(sum[:]), "", sentEntry{At: s.clock.Now().UTC(), Organisation: r.OrganisationID, Step: r.Step.Name,
		Obligation: r.ObligationID, Due: r.Due.String(), On: r.Step.On.String()})
}

// Rotated enters the n-th replacement of an organisation's calendar feed address.
func (s *Sent) Rotated(ctx context.Context, org string, n int) {
	sum := sha256.Sum256([]byte(org))
	s.enter(ctx, sentFeed, hex.EncodeToString(sum[:]), strconv.Itoa(n), sentEntry{At: s.clock.Now().UTC(), Organisation: org, Rotation: n})
}

func (s *Sent) enter(ctx context.Context, kind, digest, n string, e sentEntry) {
	data, err := json.Marshal(e)
	if err != nil {
		s.logger.ErrorContext(ctx, "an entry of the register of what was sent did not encode", "error", err)
		return
	}
	msg := nats.NewMsg(strings.TrimSuffix(events.SubjectsNotifySent, ">") + kind + "." + digest)
	msg.Data = data
	// One entry an email's attempt, or a reminder: the same entered twice (a retry
	// of a publish whose ack was lost) is stored once.
	msg.Header.Set(jetstream.MsgIDHeader, "sent-"+kind+"-"+digest+"-"+n)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reapLocked(ctx)
	if len(s.held) >= sentHeldMax {
		s.held = s.held[1:]
		if !s.dropping {
			s.logger.ErrorContext(ctx, "the register of what was sent holds too many entries NATS has not taken: the oldest are let go", "held", sentHeldMax)
		}
		s.dropping = true
	}
	s.held = append(s.held, msg)
	if s.failing && s.clock.Now().Sub(s.tried) < sentRetry {
		return
	}
	s.handLocked(ctx)
}

// handLocked hands every held entry to NATS, without waiting for its
// acknowledgement.
func (s *Sent) handLocked(ctx context.Context) {
	for len(s.held) > 0 {
		s.tried = s.clock.Now()
		ack, err := s.js.PublishMsgAsync(s.held[0])
		if err != nil {
			s.failedLocked(ctx, err)
			return
		}
		s.inflight = append(s.inflight, inflightEntry{msg: s.held[0], ack: ack, at: s.tried})
		s.held[0] = nil
		s.held = s.held[1:]
	}
}

// reapLocked lets go of the entries NATS has taken, and holds again those it refused
// or has not acknowledged for sentAckWait. It returns how many NATS took.
func (s *Sent) reapLocked(ctx context.Context) int {
	took := 0
	var again []*nats.Msg
	kept := s.inflight[:0]
	for _, e := range s.inflight {
		select {
		case <-e.ack.Ok():
			took++
		case err := <-e.ack.Err():
			s.failedLocked(ctx, err)
			again = append(again, e.msg)
		default:
			if s.clock.Now().Sub(e.at) < sentAckWait {
				kept = append(kept, e)
				continue
			}
			s.failedLocked(ctx, errors.New("no acknowledgement"))
			again = append(again, e.msg)
		}
	}
	clear(s.inflight[len(kept):])
	s.inflight = kept
	s.held = append(again, s.held...)
	if s.failing && len(s.held) == 0 && len(s.inflight) == 0 {
		s.logger.InfoContext(ctx, "the register of what was sent took the entries it held")
		s.failing, s.dropping = false, false
	}
	return took
}

func (s *Sent) failedLocked(ctx context.Context, err error) {
	if !s.failing {
		s.logger.WarnContext(ctx, "the register of what was sent did not take an entry: held, to enter later", "error", err)
	}
	s.failing = true
}

// KeepHeldIn keeps the entries NATS has not taken in coll, from each Flush on (its
// timer's, and the last one when notify stops), and takes back as held those a
// notify before this one left there: a notify that stops, or is killed, while NATS is
// away would otherwise lose them, and a restore from a backup taken before they were
// sent would then send those emails again. It returns how many it took back; they are
// entered with the next Flush.
func (s *Sent) KeepHeldIn(ctx context.Context, coll *mongo.Collection) (int, error) {
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		return 0, fmt.Errorf("read the entries of the register of what was sent kept while NATS was away: %w", store.Classify(err))
	}
	var docs []heldDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("read the entries of the register of what was sent kept while NATS was away: %w", store.Classify(err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kept, s.stored = coll, make(map[string]bool, len(docs))
	back := make([]*nats.Msg, 0, len(docs))
	for _, d := range docs {
		msg := nats.NewMsg(d.Subject)
		msg.Data = d.Data
		msg.Header.Set(jetstream.MsgIDHeader, d.ID)
		back = append(back, msg)
		s.stored[d.ID] = true
	}
	s.held = append(back, s.held...)
	return len(docs), nil
}

// keep brings kept in line with what is still to be entered: the entries pending
// are stored, and those stored that NATS has taken since are deleted.
func (s *Sent) keep(ctx context.Context) error {
	s.keepMu.Lock()
	defer s.keepMu.Unlock()
	s.mu.Lock()
	if s.kept == nil {
		s.mu.Unlock()
		return nil
	}
	pending := map[string]*nats.Msg{}
	for _, m := range s.held {
		pending[m.Header.Get(jetstream.MsgIDHeader)] = m
	}
	for _, e := range s.inflight {
		pending[e.msg.Header.Get(jetstream.MsgIDHeader)] = e.msg
	}
	var add []any
	for id, m := range pending {
		if !s.stored[id] {
			add = append(add, heldDoc{ID: id, Subject: m.Subject, Data: m.Data})
		}
	}
	var gone []string
	for id := range s.stored {
		if pending[id] == nil {
			gone = append(gone, id)
		}
	}
	coll := s.kept
	s.mu.Unlock()

	var failed error
	if len(add) > 0 {
		errs := store.InsertEach(ctx, coll, add)
		kept := add[:0]
		for i, err := range errs {
			switch {
			case err == nil, errors.Is(err, store.ErrDuplicate):
				kept = append(kept, add[i])
			case failed == nil:
				failed = fmt.Errorf("keep the entries NATS has not taken: %w", err)
			}
		}
		add = kept
	}
	if len(gone) > 0 {
		if _, err := coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: gone}}}}); err != nil {
			return fmt.Errorf("let go of the kept entries NATS has taken: %w", store.Classify(err))
		}
	}
	s.mu.Lock()
	for _, d := range add {
		s.stored[d.(heldDoc).ID] = true
	}
	for _, id := range gone {
		delete(s.stored, id)
	}
	s.mu.Unlock()
	return failed
}

// Flush hands NATS what is held and waits (up to sentTimeout) for it to acknowledge
// everything handed to it. It runs on a timer, so that entries held while NATS was
// away are entered when no email follows. It returns how many entries NATS took, and
// an error when some are still held.
func (s *Sent) Flush(ctx context.Context) (took int, err error) {
	defer func() { err = errors.Join(err, s.keep(ctx)) }()
	s.mu.Lock()
	took = s.reapLocked(ctx)
	if !s.failing || s.clock.Now().Sub(s.tried) >= sentRetry {
		s.handLocked(ctx)
	}
	s.mu.Unlock()
	// Waited for without the lock, so that an email sent meanwhile is not held up, and
	// without reading the acknowledgements, which reapLocked alone reads: until NATS
	// has answered every asynchronous publish of this connection.
	select {
	case <-s.js.PublishAsyncComplete():
	case <-time.After(sentTimeout):
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	took += s.reapLocked(ctx)
	if n := len(s.held) + len(s.inflight); n > 0 {
		return took, fmt.Errorf("the register of what was sent holds %d entries NATS has not taken", n)
	}
	return took, nil
}

// isEmailKey says s is an email's key: 32 lower-case hex digits (app.key).
func isEmailKey(s string) bool {
	return len(s) == 32 && strings.Trim(s, "0123456789abcdef") == ""
}

// sentEntries is what the register holds: each email's latest entry, by key, the
// reminders, and each organisation's latest rotation of its feed address.
type sentEntries struct {
	emails    map[string]sentEntry
	reminders []sentEntry
	rotations map[string]int
}

func (s *Sent) entries(ctx context.Context) (sentEntries, error) {
	got := sentEntries{emails: map[string]sentEntry{}, rotations: map[string]int{}}
	prefix := strings.TrimSuffix(events.SubjectsNotifySent, ">")
	err := bus.ReadStream(ctx, s.js, events.StreamNotifySent, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy},
		func(m jetstream.Msg) error {
			kind, digest, ok := strings.Cut(strings.TrimPrefix(m.Subject(), prefix), ".")
			var e sentEntry
			if !ok || json.Unmarshal(m.Data(), &e) != nil {
				return fmt.Errorf("entry on %s is not one", m.Subject())
			}
			switch {
			case kind == sentEmail && isEmailKey(digest):
				if held, ok := got.emails[digest]; !ok || e.At.After(held.At) {
					got.emails[digest] = e
				}
			case kind == sentReminder && bus.IsDigest(digest):
				got.reminders = append(got.reminders, e)
			case kind == sentFeed && bus.IsDigest(digest) && e.Organisation != "" && e.Rotation > 0:
				got.rotations[e.Organisation] = max(got.rotations[e.Organisation], e.Rotation)
			default:
				return fmt.Errorf("entry on %s is not one", m.Subject())
			}
			return nil
		})
	if err != nil {
		return sentEntries{}, fmt.Errorf("the register of what was sent: %w", err)
	}
	return got, nil
}

// MendedSent is what MendSent entered again: emails logged, reminders settled, feed
// addresses replaced.
type MendedSent struct{ Emails, Reminders, Feeds int }

// MendSent makes notify's database say again what the register says was sent:
// nothing on a database that was never restored; after a restore from a backup, the
// emails sent since it was taken are logged as sent (without their recipients and
// bodies, which only the lost log held), so that none is sent again, and the steps
// of the ladders sent since are settled as sent, and the earlier steps of the same
// ladder as superseded, as the sweep settled them; and each organisation whose feed
// address was replaced since has it replaced again (the address given out since is
// lost with the database's record of it: the lead fetches the new one; the address
// replaced stops answering, as it did).
func MendSent(ctx context.Context, s *Sent, d *Deliveries, r *Reminders, c *CalendarTokens) (MendedSent, error) {
	got, err := s.entries(ctx)
	if err != nil {
		return MendedSent{}, err
	}
	var m MendedSent
	var absent []app.Delivery
	for key, e := range got.emails {
		held, ok := d.lists.Get(key)
		switch {
		case ok && statusOf(held) == app.StatusSent && !held.UpdatedAt.Before(e.At.Add(-time.Second)):
			// Logged as sent when the register says, or later.
		case ok:
			// Not sent, or sent before the register's send: an ops' resend since the
			// backup, which the log restored does not show.
			mended, err := d.mendSent(ctx, key, e)
			if err != nil {
				return m, err
			}
			if mended {
				m.Emails++
			}
		default:
			absent = append(absent, e.delivery(key))
		}
	}
	// After a restore, most are not in the log at all: they are written many at a time,
	// so that a backup weeks old costs a start seconds, not minutes.
	n, err := d.logSent(ctx, absent)
	m.Emails += n
	if err != nil {
		return m, err
	}
	for _, e := range got.reminders {
		n, err := r.mendSent(ctx, e)
		if err != nil {
			return m, err
		}
		m.Reminders += n
	}
	for org, n := range got.rotations {
		mended, err := c.rotateTo(ctx, org, n)
		if err != nil {
			return m, err
		}
		if mended {
			m.Feeds++
		}
	}
	return m, nil
}

// sentBatch is how many entries of the log logSent writes at a time.
const sentBatch = 500

// logSent writes the log entries of emails sent that the log does not hold, many at a
// time (store.InsertEach); an entry another replica wrote meanwhile is left as it
// wrote it. It returns how many it wrote.
func (d *Deliveries) logSent(ctx context.Context, sent []app.Delivery) (int, error) {
	n := 0
	for start := 0; start < len(sent); start += sentBatch {
		batch := sent[start:min(start+sentBatch, len(sent))]
		docs := make([]any, len(batch))
		for i, del := range batch {
			docs[i], _ = toDeliveryDoc(del)
		}
		var written []deliveryEntry
		var failed error
		for i, err := range store.InsertEach(ctx, d.log, docs) {
			switch {
			case err == nil:
				written = append(written, entryOf(docs[i].(deliveryDoc)))
			case !errors.Is(err, store.ErrDuplicate):
				failed = cmp.Or(failed, err)
			}
		}
		if err := cmp.Or(d.mirror.Record(ctx, written...), failed); err != nil {
			return n, fmt.Errorf("log emails sent since a restore's backup: %w", err)
		}
		n += len(written)
	}
	return n, nil
}

// mendSent logs an email the register says was sent at e.At as sent, when the log
// holds it otherwise (failed, to be retried; claimed, being sent).
func (d *Deliveries) mendSent(ctx context.Context, key string, e sentEntry) (bool, error) {
	del, ok, err := d.Get(ctx, key)
	if err != nil {
		return false, err
	}
	// Sent at e.At or later as the log says: an ops' resend of it that failed, to be
	// retried, is left alone.
	if ok && !del.SentAt.IsZero() && !del.SentAt.Before(e.At.Add(-time.Second)) {
		return false, nil
	}
	if !ok {
		del = e.delivery(key)
	}
	del.Status, del.SentAt, del.UpdatedAt, del.LastError, del.NextAttemptAt = app.StatusSent, e.At, e.At, "", time.Time{}
	del.Attempts = max(del.Attempts, e.Attempts, 1)
	return true, d.Record(ctx, del)
}

// mendSent settles as sent a reminder the register says was, and as superseded the
// pending steps of the same ladder on or before its day, as the sweep that sent it
// did; it returns how many it settled.
func (s *Reminders) mendSent(ctx context.Context, e sentEntry) (int, error) {
	on, err := civil.Parse(e.On)
	if err != nil {
		return 0, fmt.Errorf("the register of what was sent: a reminder's day %q: %w", e.On, err)
	}
	pending, err := s.PendingOf(ctx, e.Organisation)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range pending {
		if r.ObligationID != e.Obligation || r.Due.String() != e.Due || r.Step.On.After(on) {
			continue
		}
		outcome := ladder.Superseded
		if r.Step.Name == e.Step {
			outcome = ladder.Send
		}
		if err := s.Settle(ctx, r, outcome); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
