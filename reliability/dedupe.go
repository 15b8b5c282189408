package reliability

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// shrinkDuplicateWindow sets a stream's duplicate window to window so that the
// message ids it remembers are forgotten once they are older than that.
//
// One update is not enough: nats-server (2.15.3) resets its purge timer to fire at
// once before it stores the new window, so a purge that runs in between still uses
// the old one, purges nothing and sleeps for the rest of the old window. A second
// update, made once the first has stored its window, purges by the short window
// whichever way that race goes.
func shrinkDuplicateWindow(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, window time.Duration) error {
	for _, w := range []time.Duration{window + 100*time.Millisecond, window} {
		cfg.Duplicates = w
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("shrink the duplicate window of %s: %w", cfg.Name, err)
		}
	}
	return nil
}
