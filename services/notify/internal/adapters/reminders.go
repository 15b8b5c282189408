package adapters

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
)

// Reminders is the schedule of every obligation's ladder.
//
// The sweep must not read every organisation's reminders to find the few due: on
// the embedded FerretDB a query on any field but _id reads the whole collection.
// So besides each reminder (keyed by its id) there is a day's list of the reminders
// due that day, as numbered slot documents keyed "<day>/<slot>", written one by one
// with unique _ids (FerretDB does not apply read-modify-write updates atomically, so
// no document is ever appended to), and a cursor: the slot up to which the sweep
// has seen every reminder settled. The sweep reads slots by _id from the cursor up
// to today; its cost follows what is due, not the population. In the same way each
// organisation has a list of its reminders ("<organisation>/<slot>"), which Retire
// and Due read, so that an organisation's event costs what that organisation has.
//
// The ops preview pages through the pending reminders of every organisation, soonest
// first: it reads them from memory, where each replica keeps every reminder (a few
// dozen bytes each) in a list of the pending ones and a list per organisation, fed
// by a change log read by _id (store.Mirror) that Schedule, Settle and Retire append
// to. Settled reminders leave the pending lists, so a page costs what it shows.
type Reminders struct {
	coll    *mongo.Collection
	slots   *mongo.Collection
	orgs    *mongo.Collection
	cursors *mongo.Collection
	clock   clock.Clock

	mu sync.Mutex
	// next caches each day's (and organisation's) next free slot, so scheduling
	// rarely probes.
	next map[string]int
	// cursorKnown says this process has made sure the cursor exists.
	cursorKnown bool

	mirror *store.Mirror[reminderDoc]
	lists  *store.Lists[reminderDoc]
}

var _ app.Reminders = (*Reminders)(nil)

const pending = "pending"

type reminderDoc struct {
	ID             string `bson:"_id"` // organisation|obligation|due|step: scheduling twice inserts nothing
	OrganisationID string `bson:"organisation_id"`
	ObligationID   string `bson:"obligation_id"`
	Due            string `bson:"due"`
	Step           string `bson:"step"`
	On             string `bson:"on"` // YYYY-MM-DD sorts as a date
	Overdue        bool   `bson:"overdue"`
	DaysLeft       int    `bson:"days_left"`
	State          string `bson:"state"` // pending, or the outcome that settled it
	// Listed says the reminder has its slot in a day's list; a schedule that died
	// before listing it lists it when replayed.
	Listed bool `bson:"listed"`
}

// slotDoc lists one reminder in the day it is to be swept on.
type slotDoc struct {
	ID       string `bson:"_id"` // day/slot
	Reminder string `bson:"reminder"`
}

// cursorDoc is where the sweep resumes: every slot before (Day, Slot) holds a
// settled reminder. The cursor stays in yesterday's list at the latest (see DueBy),
// so the sweep, which runs all day, also remembers how far into today's list every
// reminder is settled: every slot of TodayDay before TodaySlot is (and once that day
// is yesterday, the cursor takes it from there).
type cursorDoc struct {
	ID        string `bson:"_id"`
	Day       string `bson:"day"`
	Slot      int    `bson:"slot"`
	TodayDay  string `bson:"today_day,omitempty"`
	TodaySlot int    `bson:"today_slot,omitempty"`
}

const cursorID = "sweep"

func slotID(day civil.Date, n int) string { return fmt.Sprintf("%s/%06d", day, n) }

// NewReminders opens the reminders, their days' lists and the sweep's cursor. clk
// says what today is, for reminders scheduled on a day already past (see Schedule).
func NewReminders(ctx context.Context, db *mongo.Database, clk clock.Clock) (*Reminders, error) {
	if clk == nil {
		return nil, fmt.Errorf("reminders: a clock is required")
	}
	coll := db.Collection("reminders")
	// No index: every read is by _id, or from memory.
	s := &Reminders{coll: coll, slots: db.Collection("reminder_slots"), orgs: db.Collection("reminder_organisations"),
		cursors: db.Collection("reminder_cursor"), clock: clk, next: map[string]int{}}
	s.lists = store.NewLists(
		func(r reminderDoc) string { return r.ID },
		func(r reminderDoc) []string {
			if r.State != pending {
				return nil
			}
			return []string{pending, pending + "/" + r.OrganisationID}
		},
		previewOrder,
		// A settled reminder is never pending again.
		func(held, given reminderDoc) bool { return given.State != pending || held.State == pending })
	var err error
	if s.mirror, err = store.NewMirror(coll, "reminders_changes", nil, s.lists.Apply); err != nil {
		return nil, err
	}
	if err := s.mirror.Sync(ctx); err != nil {
		return nil, fmt.Errorf("read the reminders: %w", err)
	}
	return s, nil
}

// previewOrder is the preview's: by day, then organisation (then id, to tell an
// organisation's reminders apart).
func previewOrder(a, b reminderDoc) int {
	return cmp.Or(cmp.Compare(a.On, b.On), cmp.Compare(a.OrganisationID, b.OrganisationID), cmp.Compare(a.ID, b.ID))
}

func reminderID(r ladder.Reminder) string {
	return r.OrganisationID + "|" + r.ObligationID + "|" + r.Due.String() + "|" + r.Step.Name
}

func (s *Reminders) today() civil.Date { return civil.Of(s.clock.Now().In(london)) }

// Schedule inserts reminders one by one, ignoring those already there, so that a
// replayed schedule never resets a settled reminder to pending, and lists each in
// the day it falls due, or today if that day is past: the sweep has finished with
// days before yesterday and does not read them again.
func (s *Reminders) Schedule(ctx context.Context, rs []ladder.Reminder) error {
	today := s.today()
	if err := s.ensureCursor(ctx, today); err != nil {
		return err
	}
	for _, r := range rs {
		doc := toReminderDoc(r, pending)
		if _, err := s.coll.InsertOne(ctx, doc); err != nil {
			if !mongo.IsDuplicateKeyError(err) {
				return fmt.Errorf("schedule reminder %s: %w", doc.ID, store.Classify(err))
			}
			var there reminderDoc
			if err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}).Decode(&there); err != nil {
				return fmt.Errorf("schedule reminder %s: %w", doc.ID, store.Classify(err))
			}
			if there.Listed {
				continue
			}
			doc = there // a schedule that died before listing it, perhaps before recording it
		}
		if err := s.mirror.Record(ctx, doc); err != nil {
			return fmt.Errorf("schedule reminder %s: %w", doc.ID, err)
		}
		day := r.Step.On
		if day.Before(today) {
			day = today
		}
		if err := s.list(ctx, s.slots, day.String(), doc.ID); err != nil {
			return err
		}
		if err := s.list(ctx, s.orgs, r.OrganisationID, doc.ID); err != nil {
			return err
		}
		if _, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "listed", Value: true}}}}); err != nil {
			return fmt.Errorf("schedule reminder %s: %w", doc.ID, store.Classify(err))
		}
	}
	return nil
}

// ensureCursor starts the sweep's cursor at today, the earliest day a reminder can
// be listed in from now on, unless it exists.
func (s *Reminders) ensureCursor(ctx context.Context, today civil.Date) error {
	s.mu.Lock()
	known := s.cursorKnown
	s.mu.Unlock()
	if known {
		return nil
	}
	_, err := s.cursors.InsertOne(ctx, cursorDoc{ID: cursorID, Day: today.String(), Slot: 1})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("start the reminder sweep's cursor: %w", store.Classify(err))
	}
	s.mu.Lock()
	s.cursorKnown = true
	s.mu.Unlock()
	return nil
}

// list takes the next free slot of a list (a day's, or an organisation's) for the
// reminder. Slots are filled in order with no gaps (a writer takes the first free one
// it finds, and a slot is never removed), so a reader that stops at the first missing
// slot has seen them all.
func (s *Reminders) list(ctx context.Context, coll *mongo.Collection, list, reminder string) error {
	key := coll.Name() + "/" + list
	s.mu.Lock()
	n := max(s.next[key], 1)
	s.mu.Unlock()
	for {
		_, err := coll.InsertOne(ctx, slotDoc{ID: fmt.Sprintf("%s/%06d", list, n), Reminder: reminder})
		if err == nil {
			break
		}
		if !mongo.IsDuplicateKeyError(err) {
			return fmt.Errorf("list reminder %s in %s: %w", reminder, list, store.Classify(err))
		}
		n++
	}
	s.mu.Lock()
	if len(s.next) > 4096 {
		clear(s.next)
	}
	s.next[key] = n + 1
	s.mu.Unlock()
	return nil
}

// ofOrganisation reads an organisation's list, and each of its reminders, by _id.
func (s *Reminders) ofOrganisation(ctx context.Context, org string) ([]reminderDoc, error) {
	var docs []reminderDoc
	seen := map[string]bool{}
	for n := 1; ; n++ {
		var sl slotDoc
		err := s.orgs.FindOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("%s/%06d", org, n)}}).Decode(&sl)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the reminders of %s: %w", org, store.Classify(err))
		}
		if seen[sl.Reminder] {
			continue // listed twice by a schedule that was replayed
		}
		seen[sl.Reminder] = true
		var r reminderDoc
		err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: sl.Reminder}}).Decode(&r)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return nil, fmt.Errorf("read reminder %s: %w", sl.Reminder, store.Classify(err))
		}
		if err == nil {
			docs = append(docs, r)
		}
	}
}

// DueBy lists pending reminders due by day, in the order they were listed. It reads
// the days' lists from the cursor to day, and moves the cursor up to the first
// reminder still pending (never past yesterday, whose list a schedule that began
// before midnight may still add to); within day's own list it starts from the first
// slot not known settled, which it remembers in the same way.
func (s *Reminders) DueBy(ctx context.Context, day civil.Date, limit int) ([]ladder.Reminder, error) {
	var c cursorDoc
	err := s.cursors.FindOne(ctx, bson.D{{Key: "_id", Value: cursorID}}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil // nothing was ever scheduled
	}
	if err != nil {
		return nil, fmt.Errorf("read the reminder sweep's cursor: %w", store.Classify(err))
	}
	from, err := civil.Parse(c.Day)
	if err != nil {
		return nil, fmt.Errorf("reminder sweep cursor %q: %w", c.Day, err)
	}
	type position struct {
		day  civil.Date
		slot int
	}
	at := position{from, c.Slot}
	moved, held := at, false
	// today is how far into day's own list every reminder is settled.
	today := 1
	if c.TodayDay == day.String() {
		today = max(c.TodaySlot, 1)
	}
	todayAt, todayHeld := today, false
	yesterday := day.AddDays(-1)
	var docs []reminderDoc
	seen := map[string]bool{}
	full := func() bool { return limit > 0 && len(docs) >= limit }
	for d := from; !d.After(day) && !full(); d = d.AddDays(1) {
		n := 1
		if d == from {
			n = c.Slot
		}
		if c.TodayDay == d.String() && c.TodaySlot > n {
			// Every slot of d before TodaySlot is settled: today's, or yesterday's the
			// first time the sweep runs after midnight.
			n = c.TodaySlot
			if !held && !d.After(yesterday) {
				moved = position{d, n}
			}
		}
		for ; !full(); n++ {
			var sl slotDoc
			err := s.slots.FindOne(ctx, bson.D{{Key: "_id", Value: slotID(d, n)}}).Decode(&sl)
			if errors.Is(err, mongo.ErrNoDocuments) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read reminders due on %s: %w", d, store.Classify(err))
			}
			var r reminderDoc
			err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: sl.Reminder}}).Decode(&r)
			if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
				return nil, fmt.Errorf("read reminder %s: %w", sl.Reminder, store.Classify(err))
			}
			if err == nil && r.State == pending {
				if !seen[r.ID] {
					seen[r.ID] = true
					docs = append(docs, r)
				}
				held, todayHeld = true, todayHeld || d == day
			}
			if !held && !d.After(yesterday) {
				moved = position{d, n + 1}
			}
			if d == day && !todayHeld {
				todayAt = n + 1
			}
		}
		if !held && d.Before(yesterday) {
			moved = position{d.AddDays(1), 1}
		}
	}
	if moved != at || todayAt != today {
		next := cursorDoc{ID: cursorID, Day: moved.day.String(), Slot: moved.slot, TodayDay: day.String(), TodaySlot: todayAt}
		if _, err := s.cursors.ReplaceOne(ctx, bson.D{{Key: "_id", Value: cursorID}}, next); err != nil {
			return nil, fmt.Errorf("move the reminder sweep's cursor: %w", store.Classify(err))
		}
	}
	return fromReminderDocs(docs), nil
}

// Due lists an organisation's pending reminders due by day, soonest first.
func (s *Reminders) Due(ctx context.Context, org string, day civil.Date) ([]ladder.Reminder, error) {
	all, err := s.ofOrganisation(ctx, org)
	if err != nil {
		return nil, err
	}
	var docs []reminderDoc
	for _, r := range all {
		if r.State == pending && r.On <= day.String() {
			docs = append(docs, r)
		}
	}
	slices.SortFunc(docs, func(a, b reminderDoc) int { return cmp.Or(cmp.Compare(a.On, b.On), cmp.Compare(a.ID, b.ID)) })
	return fromReminderDocs(docs), nil
}

// Pending calls each with the pending reminders after the day on and the
// organisation org (from the first when org is empty), by day and then organisation,
// until each returns false. It reads them from memory, a few at a time, so each may
// read the store.
func (s *Reminders) Pending(ctx context.Context, on civil.Date, org string, each func(ladder.Reminder) bool) error {
	if err := s.mirror.Sync(ctx); err != nil {
		return err
	}
	var after *reminderDoc
	if org != "" {
		after = &reminderDoc{On: on.String(), OrganisationID: org, ID: "\xff"} // after every one of org's that day
	}
	for {
		page, more := s.lists.Page([]string{pending}, after, nil, 64)
		for _, r := range fromReminderDocs(page) {
			if !each(r) {
				return nil
			}
		}
		if !more {
			return nil
		}
		after = &page[len(page)-1]
	}
}

// PendingOf lists an organisation's pending reminders, by day, from memory as the
// last Pending brought it up to date (a preview reads many organisations' at once).
func (s *Reminders) PendingOf(_ context.Context, org string) ([]ladder.Reminder, error) {
	docs, _ := s.lists.Page([]string{pending + "/" + org}, nil, func(r reminderDoc) bool { return r.OrganisationID == org }, math.MaxInt)
	return fromReminderDocs(docs), nil
}

// Settle records a reminder's outcome. Every writer of a reminder writes a final
// state, so racing sweeps can only agree that it is done.
func (s *Reminders) Settle(ctx context.Context, r ladder.Reminder, outcome ladder.Outcome) error {
	_, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: reminderID(r)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(outcome)}}}})
	if err != nil {
		return fmt.Errorf("settle reminder %s: %w", reminderID(r), store.Classify(err))
	}
	if err := s.mirror.Record(ctx, toReminderDoc(r, string(outcome))); err != nil {
		return fmt.Errorf("settle reminder %s: %w", reminderID(r), err)
	}
	return nil
}

// Retire settles an organisation's pending reminders other than those of one
// obligation's schedule. It is tidiness, not a guard: the sweep checks each reminder
// against the organisation's state before it sends anything.
func (s *Reminders) Retire(ctx context.Context, org, keepID string, keepDue civil.Date, outcome ladder.Outcome) error {
	all, err := s.ofOrganisation(ctx, org)
	if err != nil {
		return err
	}
	for _, r := range all {
		if r.State != pending || (keepID != "" && r.ObligationID == keepID && r.Due == keepDue.String()) {
			continue
		}
		if _, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(outcome)}}}}); err != nil {
			return fmt.Errorf("retire reminder %s: %w", r.ID, store.Classify(err))
		}
		r.State = string(outcome)
		if err := s.mirror.Record(ctx, r); err != nil {
			return fmt.Errorf("retire reminder %s: %w", r.ID, err)
		}
	}
	return nil
}

func toReminderDoc(r ladder.Reminder, state string) reminderDoc {
	return reminderDoc{ID: reminderID(r), OrganisationID: r.OrganisationID, ObligationID: r.ObligationID, Due: r.Due.String(),
		Step: r.Step.Name, On: r.Step.On.String(), Overdue: r.Step.Overdue, DaysLeft: r.Step.DaysLeft, State: state}
}

func fromReminderDocs(docs []reminderDoc) []ladder.Reminder {
	out := make([]ladder.Reminder, len(docs))
	for i, d := range docs {
		due, _ := civil.Parse(d.Due)
		on, _ := civil.Parse(d.On)
		out[i] = ladder.Reminder{OrganisationID: d.OrganisationID, ObligationID: d.ObligationID, Due: due,
			Step: ladder.Step{Name: d.Step, On: on, Overdue: d.Overdue, DaysLeft: d.DaysLeft}}
	}
	return out
}

// london is the calendar the reminders follow, as in the app.
var london, _ = time.LoadLocation("Europe/London")
