package reliability

import (
	"context"
	"time"

	"github.com/itss/techcommit/libs/bus"
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
	return eventually(ctx, within, func() error { return bus.Behind(ctx, js) })
}
