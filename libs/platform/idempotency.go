package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/itss/techcommit/libs/idempotency"
)

// IdempotencyCollection holds the stored answers of requests sent with an
// Idempotency-Key. They can name people: a service's erasure forgets them there.
const IdempotencyCollection = "idempotency_keys"

// idempotencySweepInterval is how often expired stored answers are deleted: a record
// outlives its period by at most this.
const idempotencySweepInterval = 10 * time.Minute

// Idempotent makes the service's POSTs idempotent by their Idempotency-Key
// (docs/API.md): the first answer is kept for ttl and given to every retry of the
// same request; a claim whose request has not answered well after its deadline has
// died with its process. The answers are swept on a schedule. A recheck, when given,
// looks at each answer once it is stored and says whether it must go at once
// (idempotency.Recheck).
func (p *Platform) Idempotent(ctx context.Context, ttl time.Duration, recheck ...idempotency.Recheck) error {
	keys, err := idempotency.NewStore(ctx, p.DB, IdempotencyCollection, ttl, p.cfg.HTTP.RequestTimeout+30*time.Second, p.Clock)
	if err != nil {
		return fmt.Errorf("idempotency store: %w", err)
	}
	if len(recheck) > 0 {
		keys.WithRecheck(func(ctx context.Context, body []byte) (bool, error) {
			for _, r := range recheck {
				if forget, err := r(ctx, body); forget || err != nil {
					return forget, err
				}
			}
			return false, nil
		})
	}
	p.HTTP.Echo().Use(keys.Middleware())
	p.Every("idempotency-sweep", idempotencySweepInterval, keys.Sweep)
	return nil
}
