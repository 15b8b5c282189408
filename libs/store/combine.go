package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
)

// Commands on one aggregate that many people change at once (a review round: every
// reviewer's acceptance and review is an event of the round) race for its next
// version. Run one by one against the log, all but one of them lose each attempt,
// back off and decide again, so eight reviewers answering together wait for each
// other's retries, not for the work. A command marked Combine instead joins the
// aggregate's queue in this process: one runner at a time takes everything queued,
// loads the aggregate once, lets each command decide in turn on the history with the
// events of those before it in the batch, and appends all their events as one commit
// (one insert: all or none, guarded by the same unique _id as any commit). Eight
// concurrent commands then cost two appends, not eight rounds of retries.
//
// Each command still gets its own answer: its own events (with its own ids, actor
// and trace), its own error from Decide (that command's events are left out and the
// others go on), or nothing when it decided nothing or had already been applied. A
// batch that loses to another process's commit is decided again whole, like a lone
// command; between processes the unique _id is still the only guard.

// combineLimit bounds how many commands one combined commit holds.
const combineLimit = 64

type combining struct {
	mu     sync.Mutex
	queues map[string][]*queuedCommand // by aggregate id; present while a runner runs
}

type queuedCommand struct {
	ctx  context.Context
	cmd  Command
	done chan combinedOutcome
}

type combinedOutcome struct {
	evs []events.Envelope
	err error
}

// executeCombined queues cmd on its aggregate and waits for its outcome, starting the
// aggregate's runner when none is running.
func (s *EventStore) executeCombined(ctx context.Context, cmd Command) ([]events.Envelope, error) {
	q := &queuedCommand{ctx: ctx, cmd: cmd, done: make(chan combinedOutcome, 1)}
	s.combine.mu.Lock()
	if s.combine.queues == nil {
		s.combine.queues = map[string][]*queuedCommand{}
	}
	waiting, running := s.combine.queues[cmd.AggregateID]
	s.combine.queues[cmd.AggregateID] = append(waiting, q)
	s.combine.mu.Unlock()
	if !running {
		// The runner outlives this request if it must: others may have queued behind it.
		go s.runCombined(context.WithoutCancel(ctx), cmd.AggregateID)
	}
	select {
	case o := <-q.done:
		return o.evs, o.err
	case <-ctx.Done():
		// Its events may still be stored (as with a lone command whose caller left).
		return nil, Classify(ctx.Err())
	}
}

// runCombined runs the aggregate's queue a batch at a time until it is empty.
func (s *EventStore) runCombined(ctx context.Context, aggregateID string) {
	for {
		s.combine.mu.Lock()
		queued := s.combine.queues[aggregateID]
		if len(queued) == 0 {
			delete(s.combine.queues, aggregateID)
			s.combine.mu.Unlock()
			return
		}
		n := min(len(queued), combineLimit)
		batch := queued[:n:n]
		s.combine.queues[aggregateID] = queued[n:]
		s.combine.mu.Unlock()
		s.runBatch(ctx, aggregateID, batch)
	}
}

// combineTrust is how recently this process must have loaded or appended to an
// aggregate for a batch's first try to decide on the history it holds, without
// reading the log first (see runBatch).
const combineTrust = 10 * time.Second

// runBatch decides and appends one batch, retrying it whole after losing a race.
//
// Its first try decides on the history this process holds when it loaded or
// appended to the aggregate within combineTrust: a busy aggregate then costs one
// write per batch, not a read and a write. That history may lack another process's
// latest commits, and what makes this safe is what each outcome rests on:
//   - events: their commit takes the next version's unique _id, which a commit this
//     process has not seen already holds, so a batch decided on a stale history
//     loses its append and is decided again on the log, at once;
//   - a refusal, or nothing to do: no write checks those, so a batch of which any
//     command refused or decided nothing is decided again on the log before anyone
//     is answered (a reviewer whose acceptance another replica stored a moment ago
//     is not told to accept first).
func (s *EventStore) runBatch(ctx context.Context, aggregateID string, batch []*queuedCommand) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	limit := 0
	for _, q := range batch {
		limit = max(limit, q.cmd.MaxAttempts)
	}
	if limit <= 0 {
		limit = maxAttempts
	}
	answer := func(q *queuedCommand, evs []events.Envelope, err error) {
		q.done <- combinedOutcome{evs: evs, err: err}
	}
	fail := func(err error) {
		for _, q := range batch {
			answer(q, nil, err)
		}
	}
	trust := combineTrust // the next load may answer from memory (the first only)
	for attempt := 0; ; {
		// A caller that has gone gets no commit made for it.
		batch = slices.DeleteFunc(batch, func(q *queuedCommand) bool { return q.ctx.Err() != nil })
		if len(batch) == 0 {
			return
		}
		history, held, err := s.loadHeld(ctx, aggregateID, trust)
		trust = 0
		if err != nil {
			fail(err)
			return
		}
		outcomes, all, err := s.decideInTurn(batch, history)
		if err != nil {
			fail(err)
			return
		}
		if held && !eachDecidedEvents(outcomes) {
			continue // a refusal or nothing to do: again on the log, before answering
		}
		if len(all) == 0 {
			for i, q := range batch {
				answer(q, nil, outcomes[i].err)
			}
			return
		}
		err = s.Append(ctx, all)
		switch {
		case err == nil:
			for i, q := range batch {
				answer(q, outcomes[i].evs, outcomes[i].err)
			}
			return
		case errors.Is(err, ErrVersionConflict) && held:
			// The history held was behind the log: again on the log, at once.
		case errors.Is(err, ErrVersionConflict):
			if attempt++; attempt >= limit {
				fail(apperr.Wrap(apperr.Conflict, err, "%s %s is being changed by someone else; retry", batch[0].cmd.AggregateType, aggregateID).Passing(time.Second))
				return
			}
			if err := backoff(ctx, attempt-1); err != nil {
				fail(err)
				return
			}
		default:
			fail(err)
			return
		}
	}
}

// eachDecidedEvents says whether every command of a batch decided events: the
// outcomes that a lost append shows were decided on a stale history.
func eachDecidedEvents(outcomes []combinedOutcome) bool {
	for _, o := range outcomes {
		if o.err != nil || len(o.evs) == 0 {
			return false
		}
	}
	return true
}

// decideInTurn lets each command of the batch decide on history followed by the
// events of the commands before it, and returns each one's events or refusal, and
// all the events in order, stamped with one time (a commit has one time, and what
// this process returns must read as the log will). err is a failure to encode.
func (s *EventStore) decideInTurn(batch []*queuedCommand, history []events.Envelope) (outcomes []combinedOutcome, all []events.Envelope, err error) {
	outcomes = make([]combinedOutcome, len(batch))
	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	seen := slices.Clip(history)
	for i, q := range batch {
		if q.cmd.CausationID != "" && applied(seen, s.eventID(q.cmd, 0)) {
			continue
		}
		// Decide may keep the history it was given (store.Change does): it gets a
		// slice that later appends cannot write into.
		payloads, err := q.cmd.Decide(slices.Clip(seen))
		if err != nil {
			outcomes[i].err = err
			continue
		}
		if len(payloads) == 0 {
			continue
		}
		evs, err := s.Envelopes(q.ctx, q.cmd, len(seen), payloads)
		if err != nil {
			return nil, nil, err
		}
		for j := range evs {
			evs[j].Time = now
		}
		outcomes[i].evs = evs
		all = append(all, evs...)
		seen = append(slices.Clip(seen), evs...)
	}
	return outcomes, all, nil
}
