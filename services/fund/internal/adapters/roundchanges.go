package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

// RoundChanges reads from the fund's own stream which rounds a change of budget or of
// place in the order of rounds touched: a round's correction (RoundUpdatedV1), its
// ledger's budget (BudgetSetV1), a change to the order checked on the funding record
// (FundingReorderCheckedV1), a correction of its project window begun on its window
// records (WindowCorrectionBegunV1), which a request that stopped leaves there. The
// round sweep settles those rounds alone, so that its cost follows what changed, not
// how many rounds the fund has ever had. It reads with an ordered consumer from a
// position of the stream on (nothing is acknowledged, and no durable moves), so every
// replica reads every change.
type RoundChanges struct {
	js jetstream.JetStream
	// pending is how many events this process stored that its relay has not yet
	// published (store.EventStore.Pending).
	pending func() int
}

var _ app.RoundChanges = (*RoundChanges)(nil)

// NewRoundChanges reads the fund's stream through js. pending is how many events this
// process stored and has not yet published: a read waits a moment for them (see
// published).
func NewRoundChanges(js jetstream.JetStream, pending func() int) *RoundChanges {
	return &RoundChanges{js: js, pending: pending}
}

// publishWait bounds how long a read waits for this process's own events to be
// published.
const publishWait = time.Second

// published waits, up to publishWait, until the events this process stored are on
// the stream, so that a change made here is read by the next sweep here rather than
// the one after; another process's change is read once its relay publishes it.
func (c *RoundChanges) published(ctx context.Context) {
	if c.pending == nil {
		return
	}
	deadline := time.Now().Add(publishWait)
	for c.pending() > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// roundChangeSubjects are the events that can leave a round with something to settle.
var roundChangeSubjects = []string{events.SubjectRoundUpdated, events.SubjectBudgetSet, events.SubjectFundingReorderChecked,
	events.SubjectWindowCorrectionBegun}

// Last implements app.RoundChanges: the stream's last sequence.
func (c *RoundChanges) Last(ctx context.Context) (uint64, error) {
	c.published(ctx)
	s, err := c.js.Stream(ctx, events.StreamFund)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("round changes: %w", err)
	}
	return s.CachedInfo().State.LastSeq, nil
}

// Since implements app.RoundChanges: after and the position returned are sequences
// of the stream.
func (c *RoundChanges) Since(ctx context.Context, after uint64) ([]string, uint64, bool, error) {
	c.published(ctx)
	s, err := c.js.Stream(ctx, events.StreamFund)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, 0, after == 0, nil
	}
	if err != nil {
		return nil, after, false, fmt.Errorf("round changes: %w", err)
	}
	state := s.CachedInfo().State
	switch {
	case state.LastSeq < after || state.FirstSeq > after+1 && state.LastSeq > after:
		// A stream made again (NATS lost its volumes), or one that no longer holds
		// every message since: who asks cannot tell what changed, and settles every
		// round.
		return nil, state.LastSeq, false, nil
	case state.LastSeq == after:
		return nil, after, true, nil
	}
	seen := map[string]bool{}
	var rounds []string
	err = bus.ReadStream(ctx, c.js, events.StreamFund, jetstream.OrderedConsumerConfig{FilterSubjects: roundChangeSubjects,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: after + 1}, func(m jetstream.Msg) error {
		e, err := bus.Envelope(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			return nil // not an event: it touches no round
		}
		id := e.AggregateID
		if e.AggregateType != round.AggregateType {
			var p struct {
				RoundID string `json:"round_id"`
			}
			if json.Unmarshal(e.Data, &p) != nil || p.RoundID == "" {
				return nil
			}
			id = p.RoundID
		}
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			rounds = append(rounds, id)
		}
		return nil
	})
	if err != nil {
		return nil, after, false, fmt.Errorf("round changes: %w", err)
	}
	return rounds, state.LastSeq, true, nil
}
