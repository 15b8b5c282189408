package deadletter

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
)

// ForgetPerson overwrites every dead letter, whichever consumer gave up on it, whose
// message holds an address with the digest sub (personal.Subject), and returns how
// many it removed. A dead letter is a copy of an event as it was published, people
// opened: kept for its month (bus.DeadLetterMaxAge) it named a person erased since,
// listed them to ops, and a replay would have put them back in a read model. The
// letters are overwritten on disk (SecureDeleteMsg), as bus.ForgetAggregate does.
func ForgetPerson(ctx context.Context, js jetstream.JetStream, sub string) (int, error) {
	stream, err := js.Stream(ctx, events.StreamDeadLetter)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("forget a person in the dead letters: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("forget a person in the dead letters: %w", err)
	}
	n := 0
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted, replayed or expired
		}
		if err != nil {
			return n, fmt.Errorf("forget a person in the dead letters: read %d: %w", seq, err)
		}
		if !personal.TextHoldsSubject(string(m.Data), sub) {
			continue
		}
		if err := stream.SecureDeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return n, fmt.Errorf("forget a person in the dead letters: delete %d: %w", seq, err)
		}
		n++
	}
	return n, nil
}
