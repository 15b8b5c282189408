package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Faults is what the injector does while the workload runs.
type Faults struct {
	// KillEvery is how often a random service is killed with SIGKILL; zero for never.
	KillEvery time.Duration
	// MaxDown is the longest a killed service stays down before it is started again.
	MaxDown time.Duration
	// NATSEvery is how often the NATS server is stopped and started again; zero for never.
	NATSEvery time.Duration
	// NATSDown is how long NATS stays down each time.
	NATSDown time.Duration
}

// faultLog counts what was injected.
type faultLog struct {
	mu          sync.Mutex
	kills       map[string]int
	natsRestart int
	errs        []error
	done        chan struct{}
}

func (l *faultLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	total := 0
	for _, n := range l.kills {
		total += n
	}
	return fmt.Sprintf("%d kill -9 (signatory %d, review %d, notify %d, fund %d), %d NATS restarts",
		total, l.kills["signatory"], l.kills["review"], l.kills["notify"], l.kills["fund"], l.natsRestart)
}

// inject runs the faults until ctx ends, then makes sure every service runs again.
func (f Faults) inject(ctx context.Context, s *Stack, seed uint64) *faultLog {
	log := &faultLog{kills: map[string]int{}, done: make(chan struct{})}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) // #nosec G404 -- a seeded, repeatable fault schedule, not a secret
	var wg sync.WaitGroup
	if f.KillEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sleep(ctx, jitter(rng, f.KillEvery)) {
				name := Services[rng.IntN(len(Services))]
				s.Kill(name)
				log.mu.Lock()
				log.kills[name]++
				log.mu.Unlock()
				down := time.Duration(rng.Int64N(int64(f.MaxDown) + 1))
				time.Sleep(down) // even when ctx ends: the service must come back
				if err := s.Restart(name); err != nil {
					log.mu.Lock()
					log.errs = append(log.errs, err)
					log.mu.Unlock()
				}
			}
		}()
	}
	if f.NATSEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sleep(ctx, jitter(rng, f.NATSEvery)) {
				err := s.RestartNATS(f.NATSDown)
				log.mu.Lock()
				log.natsRestart++
				if err != nil {
					log.errs = append(log.errs, err)
				}
				log.mu.Unlock()
			}
		}()
	}
	go func() {
		wg.Wait()
		close(log.done)
	}()
	return log
}

// wait blocks until the injector has stopped and restored every service.
func (l *faultLog) wait() { <-l.done }

// jitter is d ± 50%.
func jitter(rng *rand.Rand, d time.Duration) time.Duration {
	return d/2 + time.Duration(rng.Int64N(int64(d)+1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
