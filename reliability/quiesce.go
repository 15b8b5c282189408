package reliability

import (
	"context"
	"fmt"
	"time"
)

// quiesce waits until every durable consumer of every stream has been handed and has
// acknowledged everything in its stream: only then can a check for a duplicate effect
// say there is none, rather than none yet.
func quiesce(ctx context.Context, s *Stack, within time.Duration) error {
	js, closeJS, err := s.JetStream()
	if err != nil {
		return err
	}
	defer closeJS()
	return eventually(ctx, within, func() error {
		streams := js.ListStreams(ctx)
		for info := range streams.Info() {
			st, err := js.Stream(ctx, info.Config.Name)
			if err != nil {
				return err
			}
			consumers := st.ListConsumers(ctx)
			for ci := range consumers.Info() {
				if ci.NumPending > 0 || ci.NumAckPending > 0 {
					return fmt.Errorf("%s on %s: %d pending, %d unacknowledged", ci.Name, info.Config.Name, ci.NumPending, ci.NumAckPending)
				}
			}
			if err := consumers.Err(); err != nil {
				return err
			}
		}
		return streams.Err()
	})
}
