package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
)

// ErrVersionConflict means another writer appended to the aggregate first; reload and decide again.
var ErrVersionConflict = errors.New("store: aggregate version already taken")

// EventStore is a service's append-only event log. Each command's events are stored
// together as one commit document whose _id is the aggregate and the version of its
// first event ("<aggregate id>/<zero-padded version>"). A writer always appends at the
// version after the last commit it loaded, so two writers that loaded the same state
// collide on that _id and exactly one wins, on MongoDB and on FerretDB alike, and a
// command's events are stored all or nothing.
//
// Every read of the log is by _id, because on the embedded FerretDB (SQLite) a query
// on any other field scans the whole collection, so its cost would grow with the log:
// an aggregate is loaded by reading its commits one _id after another, skipping ahead
// through a cached head document when it has many.
//
// The outbox is a second, small collection: commits are written there first (a
// write-ahead record of a batch of commits, see outbox.go), then into the log; the
// relay publishes them and deletes the record. A writer that dies between the two
// writes leaves a record the relay completes later (see Unpublished), so a stored
// commit is always published and a published one is always stored. The log is also
// the audit trail.
type EventStore struct {
	coll   *mongo.Collection
	heads  *mongo.Collection
	outbox *mongo.Collection
	source string
	clock  clock.Clock
	// appended wakes the relay as soon as something is stored.
	appended chan struct{}
	// stored holds the commits this process stored itself whose outbox records are
	// not yet removed: the relay publishes them without reading the outbox. batchOf
	// says which outbox record holds each, and records how many of a record's
	// commits are still to publish (see outbox.go).
	mu      sync.Mutex
	stored  map[string]commitDoc
	batchOf map[string]string
	records map[string]*record
	// commits queues appends for the next batch, deletes outbox records to delete
	// (see outbox.go).
	commits batcher[*pendingCommit]
	deletes batcher[string]
	// swept is when Unpublished last read the outbox for other writers' records, and
	// sweptRecords how many records it found there.
	swept        time.Time
	sweptRecords int
	// writingHead holds the aggregates whose head this process is writing.
	writingHead map[string]bool
	// known holds the commits of recently loaded aggregates (see remember), and
	// checked when each was last found to have nothing after them (see LoadRecent).
	known   map[string][]commitDoc
	checked map[string]time.Time
	// catalogued holds the aggregate types that LoadByType lists, each with its
	// catalogue in memory (see Catalogue).
	catalogued map[string]*catalogue
	// inserters batch the inserts into each collection (see inserter).
	inserters map[string]*inserter
	// combine queues the commands marked Combine, per aggregate (see combine.go).
	combine combining
}

// commitDoc is one command's events as stored.
type commitDoc struct {
	ID            string     `bson:"_id"`       // aggregate id and first version; see commitKey
	CommitID      string     `bson:"commit_id"` // the first event's id
	AggregateType string     `bson:"aggregate_type"`
	AggregateID   string     `bson:"aggregate_id"`
	Version       int        `bson:"version"` // of the first event
	Source        string     `bson:"source"`
	Time          time.Time  `bson:"time"`
	Actor         string     `bson:"actor"`
	TraceParent   string     `bson:"traceparent,omitempty"`
	Events        []eventDoc `bson:"events"`

	// decoded holds each event's payload when this process appended the commit, so
	// that loads from memory hand them on (see events.Envelope.Carrying). Not stored.
	decoded []events.Payload
}

// headDoc caches the first commits of a long-lived aggregate (a budget ledger), so
// that loading it does not read every commit one by one. It only ever holds commits
// that are stored, so at worst it is behind, never wrong.
type headDoc struct {
	ID      string      `bson:"_id"`
	Commits []commitDoc `bson:"commits"`
}

// eventDoc is one event of a commit.
type eventDoc struct {
	ID      string `bson:"id"`
	Type    string `bson:"type"`
	Version int    `bson:"version"`
	Data    string `bson:"data"`
	// Actor and TraceParent are set only where they differ from the commit's: in a
	// commit of several combined commands (see combine.go), each event keeps its own
	// command's. Commits written before have neither, and read as before.
	Actor       string `bson:"actor,omitempty"`
	TraceParent string `bson:"traceparent,omitempty"`
}

// commitKey is the _id of the commit of aggregateID that starts at version.
func commitKey(aggregateID string, version int) string {
	return fmt.Sprintf("%s/%010d", aggregateID, version)
}

// NewEventStore opens the event log in collection name of db, with its outbox, heads
// and per-type catalogs in the collections name_outbox, name_heads and
// name_type_<aggregate type>. Every read is by _id, which every MongoDB-compatible
// store indexes, so it creates no index. source is the CloudEvents source of the
// events it stores, e.g. "/tc/signatory".
func NewEventStore(ctx context.Context, db *mongo.Database, name, source string, clk clock.Clock) (*EventStore, error) {
	if db == nil || name == "" || source == "" {
		return nil, errors.New("store: database, collection name and source are required")
	}
	if clk == nil {
		clk = clock.System{}
	}
	coll := db.Collection(name)
	return &EventStore{coll: coll, heads: db.Collection(name + "_heads"), outbox: db.Collection(name + "_outbox"),
		source: source, clock: clk, appended: make(chan struct{}, 1),
		stored: map[string]commitDoc{}, batchOf: map[string]string{}, records: map[string]*record{}, writingHead: map[string]bool{},
		known: map[string][]commitDoc{}, checked: map[string]time.Time{}, catalogued: map[string]*catalogue{},
		inserters: map[string]*inserter{}}, nil
}

// Collection returns the underlying collection (for tests and operational queries).
func (s *EventStore) Collection() *mongo.Collection { return s.coll }

// headEvery is how many commits Load reads one by one before it looks for a head, and
// how far behind a head may fall before Load rewrites it.
const headEvery = 8

// Load returns the events of one aggregate in version order.
func (s *EventStore) Load(ctx context.Context, aggregateID string) ([]events.Envelope, error) {
	commits, err := s.loadCommits(ctx, aggregateID)
	if err != nil {
		return nil, fmt.Errorf("load aggregate %s: %w", aggregateID, err)
	}
	return envelopesOf(commits), nil
}

// loadCommits reads an aggregate's commits by _id: one read per commit, and one more
// to find there is none after the last. Past headEvery commits it continues from the
// cached head, and refreshes the head when it had to read headEvery commits past it.
func (s *EventStore) loadCommits(ctx context.Context, aggregateID string) ([]commitDoc, error) {
	began := time.Now()
	s.mu.Lock()
	commits := slices.Clone(s.known[aggregateID])
	s.mu.Unlock()
	// held is how many commits came from memory: whatever the load adds to them, from
	// the head or the log, is remembered, so that the next load reads only what follows.
	// (Counting only the commits read one by one forgot an aggregate whose head was
	// complete, and every later load read the head again.)
	held := len(commits)
	next, read, headed := 1, 0, false
	if n := len(commits); n > 0 {
		next = commits[n-1].Version + len(commits[n-1].Events)
	}
	for {
		if read == headEvery && !headed {
			headed = true
			var h headDoc // none yet: no commits
			if _, err := FindByID(ctx, s.heads, aggregateID, &h); err != nil {
				return nil, err
			}
			if n := len(h.Commits); n > len(commits) {
				commits, read = h.Commits, 0
				last := commits[n-1]
				next = last.Version + len(last.Events)
			}
		}
		c, found, err := s.commitAt(ctx, commitKey(aggregateID, next))
		if err != nil {
			return nil, err
		}
		if !found {
			break
		}
		if len(c.Events) == 0 {
			return nil, fmt.Errorf("commit %s has no events", c.ID)
		}
		commits = append(commits, c)
		next = c.Version + len(c.Events)
		read++
	}
	if headed && read >= headEvery {
		s.writeHead(ctx, aggregateID, commits)
	}
	if len(commits) > held {
		s.remember(aggregateID, commits)
	}
	if len(commits) > 0 {
		s.mu.Lock()
		if _, ok := s.known[aggregateID]; ok && began.After(s.checked[aggregateID]) {
			s.checked[aggregateID] = began
		}
		s.mu.Unlock()
	}
	return commits, nil
}

// LoadRecent is Load, but it may answer from memory without reading the log: when
// this process loaded or appended to the aggregate within maxAge and found nothing
// after what it holds. What it returns is therefore at most maxAge behind changes
// made by other processes (this process's own appends it always sees). It suits
// reads that check a slowly changing aggregate (the round an application is drafted
// for). A lone command's decision is made on a fresh load; a combined batch's first
// try uses LoadRecent, and answers on it only what its append proves current (see
// runBatch). A maxAge of 0 is Load.
func (s *EventStore) LoadRecent(ctx context.Context, aggregateID string, maxAge time.Duration) ([]events.Envelope, error) {
	history, _, err := s.loadHeld(ctx, aggregateID, maxAge)
	return history, err
}

// loadHeld is LoadRecent, and says whether it answered from memory (the history
// held, which may be behind the log) rather than from a read of the log.
func (s *EventStore) loadHeld(ctx context.Context, aggregateID string, maxAge time.Duration) ([]events.Envelope, bool, error) {
	s.mu.Lock()
	commits, at := s.known[aggregateID], s.checked[aggregateID]
	s.mu.Unlock()
	if maxAge > 0 && len(commits) > 0 && time.Since(at) <= maxAge {
		return envelopesOf(commits), true, nil
	}
	history, err := s.Load(ctx, aggregateID)
	return history, false, err
}

// LoadThrough is Load, but it answers from memory without reading the log when this
// process holds the aggregate up to at least version: a projection handling the
// event of that version writes a state no older than the event, and a later event
// brings its own projection. A version of 0 or less names none (a read model's entry
// written before it kept its version), and is Load.
func (s *EventStore) LoadThrough(ctx context.Context, aggregateID string, version int) ([]events.Envelope, error) {
	s.mu.Lock()
	commits := s.known[aggregateID]
	s.mu.Unlock()
	if n := len(commits); version > 0 && n > 0 && commits[n-1].Version+len(commits[n-1].Events)-1 >= version {
		return envelopesOf(commits), nil
	}
	return s.Load(ctx, aggregateID)
}

func envelopesOf(commits []commitDoc) []events.Envelope {
	var out []events.Envelope
	for _, c := range commits {
		out = append(out, c.envelopes()...)
	}
	return out
}

// commitAt reads the log's commit with _id id, if there is one.
func (s *EventStore) commitAt(ctx context.Context, id string) (commitDoc, bool, error) {
	var c commitDoc
	found, err := FindByID(ctx, s.coll, id, &c)
	return c, found, err
}

// knownLimit bounds how many aggregates' commits a store keeps in memory.
const knownLimit = 4096

// Remembered returns the ids of the aggregates this store holds in memory with at
// least minEvents events (after a preload: what it preloaded), in no order.
func (s *EventStore) Remembered(minEvents int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, commits := range s.known {
		if n := len(commits); n > 0 && commits[n-1].Version+len(commits[n-1].Events)-1 >= minEvents {
			ids = append(ids, id)
		}
	}
	return ids
}

// remember keeps an aggregate's commits in memory, so that the next load of it reads
// only what came after them: commits never change, so any prefix of them stays true.
func (s *EventStore) remember(aggregateID string, commits []commitDoc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(commits) <= len(s.known[aggregateID]) {
		return
	}
	if _, ok := s.known[aggregateID]; !ok && len(s.known) >= knownLimit {
		for id := range s.known { // forget one at random
			delete(s.known, id)
			delete(s.checked, id)
			break
		}
	}
	s.known[aggregateID] = commits
}

// writeHead caches commits as the aggregate's head, unless this process is writing
// that head already (many loads of a contended aggregate all find it behind at once).
// Loads in other processes may overwrite each other's heads, which leaves one that
// is behind, and the next load reads a few more commits. It is only a cache, so a
// failure to write it fails nothing.
func (s *EventStore) writeHead(ctx context.Context, aggregateID string, commits []commitDoc) {
	s.mu.Lock()
	busy := s.writingHead[aggregateID]
	s.writingHead[aggregateID] = true
	s.mu.Unlock()
	if busy {
		return
	}
	_ = Replace(ctx, s.heads, aggregateID, headDoc{ID: aggregateID, Commits: commits})
	s.mu.Lock()
	delete(s.writingHead, aggregateID)
	s.mu.Unlock()
}

// LoadMany returns the events of several aggregates, each in version order; an
// aggregate with no events is left out. The aggregates are read a few at a time.
func (s *EventStore) LoadMany(ctx context.Context, aggregateIDs []string) (map[string][]events.Envelope, error) {
	return s.loadMany(ctx, aggregateIDs, 0)
}

// LoadManyThrough is LoadMany for aggregates known to have reached a version each
// (through: id → version), each through LoadThrough: one this process holds up to its
// version is answered from memory, and only the others are read. A list whose read
// model names each entry's version so costs no read of the log for what it holds,
// and shows nothing older than its own entries; an entry naming no version (0) is
// read afresh.
func (s *EventStore) LoadManyThrough(ctx context.Context, through map[string]int) (map[string][]events.Envelope, error) {
	ids := make([]string, 0, len(through))
	for id := range through {
		ids = append(ids, id)
	}
	return s.loadEach(ctx, ids, func(ctx context.Context, id string) ([]events.Envelope, error) {
		return s.LoadThrough(ctx, id, through[id])
	})
}

// loadMany is LoadMany through LoadRecent with maxAge (0: every one read afresh).
func (s *EventStore) loadMany(ctx context.Context, aggregateIDs []string, maxAge time.Duration) (map[string][]events.Envelope, error) {
	return s.loadEach(ctx, aggregateIDs, func(ctx context.Context, id string) ([]events.Envelope, error) {
		return s.LoadRecent(ctx, id, maxAge)
	})
}

// loadEach loads each aggregate with load, a few at a time; one with no events is
// left out.
func (s *EventStore) loadEach(ctx context.Context, aggregateIDs []string, load func(context.Context, string) ([]events.Envelope, error)) (map[string][]events.Envelope, error) {
	out := make(map[string][]events.Envelope, len(aggregateIDs))
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, id := range aggregateIDs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			evs, err := load(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && firstErr == nil:
				firstErr = err
			case err == nil && len(evs) > 0:
				out[id] = evs
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// Catalogue makes the store list the aggregates of these types, so that LoadByType
// can find them: each aggregate's id goes into its type's catalogue before its first
// commit. A service names the types it lists before it appends; other types cost no
// catalogue write.
func (s *EventStore) Catalogue(aggregateTypes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range aggregateTypes {
		if s.catalogued[t] == nil {
			s.catalogued[t] = newCatalogue(s, t)
		}
	}
}

// LoadByType returns every event of an aggregate type, oldest first. It reads the
// type's catalog (one small document per aggregate of that type, so the cost follows
// how many there are of that type, not the whole log) and loads each aggregate. The
// type must have been named to Catalogue.
func (s *EventStore) LoadByType(ctx context.Context, aggregateType string) ([]events.Envelope, error) {
	return s.loadByType(ctx, aggregateType, 0)
}

// LoadByTypeRecent is LoadByType through LoadRecent: the catalogue and each
// aggregate may be up to maxAge behind other processes' changes.
func (s *EventStore) LoadByTypeRecent(ctx context.Context, aggregateType string, maxAge time.Duration) ([]events.Envelope, error) {
	return s.loadByType(ctx, aggregateType, maxAge)
}

func (s *EventStore) loadByType(ctx context.Context, aggregateType string, maxAge time.Duration) ([]events.Envelope, error) {
	op := "load " + aggregateType + " events"
	ids, err := s.catalogueIDs(ctx, aggregateType, maxAge)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	byID, err := s.loadMany(ctx, ids, maxAge)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out []events.Envelope
	for _, evs := range byID {
		if len(evs) > 0 && evs[0].AggregateType == aggregateType {
			out = append(out, evs...)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return logBefore(a.Time, a.AggregateID, a.Version, b.Time, b.AggregateID, b.Version)
	})
	return out, nil
}

// IDsOfType returns the ids of a catalogued type's aggregates, in id order, as of
// now. A reader that wants a page of them loads only the page's aggregates.
func (s *EventStore) IDsOfType(ctx context.Context, aggregateType string) ([]string, error) {
	ids, err := s.catalogueIDs(ctx, aggregateType, 0)
	if err != nil {
		return nil, fmt.Errorf("list %s aggregates: %w", aggregateType, err)
	}
	return slices.Clone(ids), nil
}

// Preload loads the aggregates of these catalogued types into memory (up to limit of
// them, and never more than the store remembers), so that the first reads after a
// start cost what later ones do: one read after each aggregate's last commit, not
// every commit. A service calls it while starting, before it says it is ready; it
// costs start-up time and memory in proportion to the aggregates loaded.
func (s *EventStore) Preload(ctx context.Context, limit int, aggregateTypes ...string) error {
	limit = min(limit, knownLimit)
	for _, t := range aggregateTypes {
		// Read into the catalogue's copy in memory, so that the first list costs what a
		// later one does, and the aggregates to load taken from it, in id order.
		ids, err := s.catalogueIDs(ctx, t, 0)
		if err != nil {
			return fmt.Errorf("preload %s: %w", t, err)
		}
		if limit <= 0 {
			return nil
		}
		ids = ids[:min(len(ids), limit)]
		if _, err := s.loadMany(ctx, ids, 0); err != nil {
			return fmt.Errorf("preload %s: %w", t, err)
		}
		limit -= len(ids)
	}
	return nil
}

// PreloadIDs is Preload for aggregates a service finds by other means than a
// catalogue (the ids its own read models hold, newest first): it loads them into
// memory, as many as the store remembers at most, in the order given.
func (s *EventStore) PreloadIDs(ctx context.Context, aggregateIDs []string) error {
	ids := aggregateIDs[:min(len(aggregateIDs), knownLimit)]
	if _, err := s.loadMany(ctx, ids, 0); err != nil {
		return fmt.Errorf("preload %d aggregates: %w", len(ids), err)
	}
	return nil
}

// inserter returns the batching inserter of coll.
func (s *EventStore) inserter(coll *mongo.Collection) *inserter {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.inserters[coll.Name()]
	if !ok {
		in = newInserter(coll)
		s.inserters[coll.Name()] = in
	}
	return in
}

// catalog is the collection listing the aggregates of one type, by id.
func (s *EventStore) catalog(aggregateType string) *mongo.Collection {
	return s.coll.Database().Collection(s.coll.Name() + "_type_" + aggregateType)
}

// Append stores the events of one command as one commit: all of them or none. It
// fails with ErrVersionConflict when another writer took the first version (or the
// same commit is being written concurrently).
func (s *EventStore) Append(ctx context.Context, evs []events.Envelope) error {
	if len(evs) == 0 {
		return nil
	}
	doc := toCommit(evs)
	if c := s.catalogueOf(doc.AggregateType); doc.Version == 1 && c != nil {
		// Catalogued before it exists, so that LoadByType never misses it: an entry
		// whose commit then loses or never comes loads as no aggregate. Recorded as a
		// change for every replica's copy before the commit too, also when another
		// writer's entry was there first (it may have stopped before recording it).
		err := s.inserter(s.catalog(doc.AggregateType)).insert(ctx, bson.D{{Key: "_id", Value: doc.AggregateID}})
		if err != nil && !errors.Is(err, ErrDuplicate) {
			return fmt.Errorf("catalogue %s %s: %w", doc.AggregateType, doc.AggregateID, err)
		}
		if err := c.mirror.Record(ctx, catalogueEntry{ID: doc.AggregateID}); err != nil {
			return fmt.Errorf("catalogue %s %s: %w", doc.AggregateType, doc.AggregateID, err)
		}
	}
	// Into the outbox and then the log, with whatever other appends are waiting;
	// a winner is in s.stored for the relay when this returns.
	storing := time.Now()
	won, err := s.appendCommit(ctx, doc)
	if err != nil {
		return fmt.Errorf("append to %s: %w", doc.AggregateID, err)
	}
	if !won {
		return ErrVersionConflict
	}
	s.mu.Lock()
	if known := s.known[doc.AggregateID]; len(known) > 0 && known[len(known)-1].Version+len(known[len(known)-1].Events) == doc.Version {
		// Nothing can follow this commit before it is stored, so what this process
		// holds was the whole aggregate when the insert began.
		s.known[doc.AggregateID] = append(slices.Clip(known), doc)
		s.checked[doc.AggregateID] = storing
	}
	s.mu.Unlock()
	if doc.Version == 1 {
		s.remember(doc.AggregateID, []commitDoc{doc})
		s.mu.Lock()
		s.checked[doc.AggregateID] = storing
		s.mu.Unlock()
	}
	return nil
}

// Appended is signalled (without blocking) after each batch of appends that stored a
// commit (see writeBatch), and when Republish hands commits back.
func (s *EventStore) Appended() <-chan struct{} { return s.appended }

// Pending counts the events stored and not yet published that this process is seeing
// through: those it stored and those of other writers' outbox records it took on.
// It reads memory only, so it is cheap enough to report at every scrape.
func (s *EventStore) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.stored {
		n += len(c.Events)
	}
	return n
}

// Command describes how to run one command against one aggregate.
type Command struct {
	AggregateType string
	AggregateID   string
	Actor         string
	// New says the aggregate id was made for this command (a fresh random id), so it
	// has no history to load: the first attempt decides on none. Should the id be
	// taken after all, the version 1 commit collides and the retry loads it.
	New bool
	// CausationID, when set, makes the new events' ids a function of it, so that the
	// same cause (a redelivered message) can never append its events twice.
	CausationID string
	// Combine runs the command in one commit with the others queued on the same
	// aggregate in this process at the time (see combine.go): for an aggregate that
	// many people change at once. Its Decide runs on another goroutine, one command
	// after another; it must not be New.
	Combine bool
	// MaxAttempts bounds retries after losing a race (default 25). An aggregate many
	// writers contend for at once (a budget ledger) sets it higher; the request's
	// deadline still bounds the wait.
	MaxAttempts int
	// Decide receives the aggregate's history and returns the payloads of the new events,
	// or an error (which aborts the command and is returned as it is).
	Decide func(history []events.Envelope) ([]events.Payload, error)
}

// maxAttempts bounds how often a command is retried after losing a race.
const maxAttempts = 25

// Execute runs cmd: load, decide, append at the next versions; on a version conflict
// it reloads and decides again, up to a bound after which it answers Conflict. It
// returns the events appended (none when Decide returned none or the command had
// already been applied).
//
// Its first try decides on the history this process holds, when it loaded or appended
// to the aggregate within combineTrust, as a combined batch's does (see runBatch):
// events decided on it are answered only when their append proves the history was
// the log's (a commit it lacked holds the next version's _id), and a refusal or
// nothing to do is decided again on the log before it is answered.
func (s *EventStore) Execute(ctx context.Context, cmd Command) ([]events.Envelope, error) {
	if cmd.Combine && !cmd.New {
		return s.executeCombined(ctx, cmd)
	}
	trust := combineTrust // the next load may answer from memory (the first only)
	for attempt := 0; ; {
		var history []events.Envelope
		held := false // history is what this process holds, maybe behind the log
		if !cmd.New || attempt > 0 {
			var err error
			if history, held, err = s.loadHeld(ctx, cmd.AggregateID, trust); err != nil {
				return nil, err
			}
		}
		trust = 0
		if cmd.CausationID != "" && applied(history, s.eventID(cmd, 0)) {
			return nil, nil // what is held the log holds: applied before
		}
		payloads, err := cmd.Decide(history)
		if held && (err != nil || len(payloads) == 0) {
			continue // a refusal or nothing to do: again on the log, before answering
		}
		if err != nil {
			return nil, err
		}
		if len(payloads) == 0 {
			return nil, nil
		}
		evs, err := s.Envelopes(ctx, cmd, len(history), payloads)
		if err != nil {
			return nil, err
		}
		err = s.Append(ctx, evs)
		switch {
		case err == nil:
			return evs, nil
		case errors.Is(err, ErrVersionConflict) && held:
			// The history held was behind the log: again on the log, at once.
		case errors.Is(err, ErrVersionConflict):
			limit := cmd.MaxAttempts
			if limit <= 0 {
				limit = maxAttempts
			}
			if attempt++; attempt >= limit {
				return nil, apperr.Wrap(apperr.Conflict, err, "%s %s is being changed by someone else; retry", cmd.AggregateType, cmd.AggregateID).Passing(time.Second)
			}
			if err := backoff(ctx, attempt-1); err != nil {
				return nil, err
			}
		default:
			return nil, err
		}
	}
}

// Envelopes wraps payloads as the events following version `after` of an aggregate.
func (s *EventStore) Envelopes(ctx context.Context, cmd Command, after int, payloads []events.Payload) ([]events.Envelope, error) {
	// The log keeps times to the millisecond (a BSON date), so events carry their time
	// as stored: the process that appended them reads them from memory, every other
	// one (and this one after a restart or a restore) from the log, and both must
	// answer alike.
	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	tp := traceParent(ctx)
	out := make([]events.Envelope, len(payloads))
	for i, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", p.EventType(), err)
		}
		out[i] = events.Envelope{
			ID: s.eventID(cmd, i), Source: s.source, Type: p.EventType(),
			AggregateType: cmd.AggregateType, AggregateID: cmd.AggregateID,
			Version: after + i + 1, Time: now, Actor: cmd.Actor, TraceParent: tp, Data: data,
		}.Carrying(p)
	}
	return out, nil
}

// eventID is the id of a command's i-th new event: a function of the cause when it
// has one, so that the same cause is recognised in the history (see applied).
func (s *EventStore) eventID(cmd Command, i int) string {
	if cmd.CausationID != "" {
		return uuid.NewSHA1(causationSpace, fmt.Appendf(nil, "%s|%s|%d", cmd.AggregateID, cmd.CausationID, i)).String()
	}
	return uuid.Must(uuid.NewV7()).String()
}

// applied reports whether history holds the event id, i.e. the command whose first
// event it is ran before.
func applied(history []events.Envelope, id string) bool {
	for _, e := range history {
		if e.ID == id {
			return true
		}
	}
	return false
}

var causationSpace = uuid.MustParse("6f1c8a52-3a0e-4c55-9d6c-2f3c1e7b9a10")

func backoff(ctx context.Context, attempt int) error {
	// Jitter only spreads retries apart; nothing depends on it being unpredictable.
	d := time.Duration(1+rand.IntN(3+min(attempt, 20)*2)) * time.Millisecond // #nosec G404 -- jitter, not a secret
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return Classify(ctx.Err())
	case <-t.C:
		return nil
	}
}

// traceParent returns the W3C traceparent of the span in ctx, if any.
func traceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// toCommit builds the commit document of one command's events.
func toCommit(evs []events.Envelope) commitDoc {
	first := evs[0]
	d := commitDoc{
		ID: commitKey(first.AggregateID, first.Version), CommitID: first.ID, AggregateType: first.AggregateType, AggregateID: first.AggregateID,
		Version: first.Version, Source: first.Source, Time: first.Time, Actor: first.Actor, TraceParent: first.TraceParent,
		Events: make([]eventDoc, len(evs)),
	}
	for i, e := range evs {
		d.Events[i] = eventDoc{ID: e.ID, Type: e.Type, Version: e.Version, Data: string(e.Data)}
		if e.Actor != first.Actor {
			d.Events[i].Actor = e.Actor
		}
		if e.TraceParent != first.TraceParent {
			d.Events[i].TraceParent = e.TraceParent
		}
		if p := e.Carried(); p != nil {
			if d.decoded == nil {
				d.decoded = make([]events.Payload, len(evs))
			}
			d.decoded[i] = p
		}
	}
	return d
}

func (d commitDoc) envelopes() []events.Envelope {
	out := make([]events.Envelope, len(d.Events))
	for i, e := range d.Events {
		out[i] = events.Envelope{
			ID: e.ID, Source: d.Source, Type: e.Type, AggregateType: d.AggregateType, AggregateID: d.AggregateID,
			Version: e.Version, Time: d.Time, Actor: d.Actor, TraceParent: d.TraceParent, Data: json.RawMessage(e.Data),
		}
		if e.Actor != "" {
			out[i].Actor = e.Actor
		}
		if e.TraceParent != "" {
			out[i].TraceParent = e.TraceParent
		}
		if d.decoded != nil && d.decoded[i] != nil {
			out[i] = out[i].Carrying(d.decoded[i])
		}
	}
	return out
}

// Executor runs commands; *EventStore is one.
type Executor interface {
	Execute(ctx context.Context, cmd Command) ([]events.Envelope, error)
}

var _ Executor = (*EventStore)(nil)

// Change runs cmd with its decision made on the aggregate that rebuild makes of the
// history, and returns the aggregate as the command left it (rebuilt from the history
// it decided on and the events it appended) with the events appended. cmd.Decide is
// set here.
func Change[A any](ctx context.Context, es Executor, cmd Command, rebuild func([]events.Envelope) (A, error), decide func(A) ([]events.Payload, error)) (A, []events.Envelope, error) {
	var seen []events.Envelope
	cmd.Decide = func(history []events.Envelope) ([]events.Payload, error) {
		seen = history
		agg, err := rebuild(history)
		if err != nil {
			return nil, err
		}
		return decide(agg)
	}
	appended, err := es.Execute(ctx, cmd)
	if err != nil {
		var zero A
		return zero, nil, err
	}
	agg, err := rebuild(append(seen, appended...))
	return agg, appended, err
}

// logBefore is the log's order, for events and commits alike: by time, then aggregate,
// then version.
func logBefore(at time.Time, aid string, av int, bt time.Time, bid string, bv int) bool {
	if !at.Equal(bt) {
		return at.Before(bt)
	}
	if aid != bid {
		return aid < bid
	}
	return av < bv
}

// EachCommit calls f with the events of each commit of the log in turn, in no
// particular order, reading the log a batch at a time: a pass over the whole log
// (the sealing pass at every start) then holds a batch in memory, not the log, which
// after a burst of 60,000 applications is hundreds of MiB decoded. f must not
// change the log; a pass that rewrites collects what to rewrite and does it after.
func (s *EventStore) EachCommit(ctx context.Context, f func([]events.Envelope) error) error {
	cur, err := s.coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(commitBatch))
	if err != nil {
		return fmt.Errorf("read the event log: %w", Classify(err))
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var c commitDoc
		if err := cur.Decode(&c); err != nil {
			return fmt.Errorf("read the event log: %w", err)
		}
		if err := f(c.envelopes()); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("read the event log: %w", Classify(err))
	}
	return nil
}

// commitBatch is how many commits EachCommit reads at a time.
const commitBatch = 256

// All returns every event in the log, oldest first (by commit time, then aggregate
// and version), for rebuilding projections. It reads the whole log into memory: the
// suite's logs are thousands of events, not millions; a larger one would page.
func (s *EventStore) All(ctx context.Context) ([]events.Envelope, error) {
	cur, err := s.coll.Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("read the event log: %w", Classify(err))
	}
	var commits []commitDoc
	if err := cur.All(ctx, &commits); err != nil {
		return nil, fmt.Errorf("read the event log: %w", Classify(err))
	}
	var out []events.Envelope
	for _, c := range commits {
		out = append(out, c.envelopes()...)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return logBefore(a.Time, a.AggregateID, a.Version, b.Time, b.AggregateID, b.Version)
	})
	return out, nil
}
