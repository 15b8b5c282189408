// Package ratelimit bounds how fast one caller may use a service (OWASP API4,
// unrestricted resource consumption), so that one misbehaving client tool cannot
// crowd out the others in the last hour before a round closes, and one address
// cannot keep a public endpoint busy.
//
// The buckets live in the memory of each replica: with N replicas a caller gets at
// most N times the rate, which is the bound we want from it. Their number is bounded
// too: a bucket left idle long enough to have refilled is forgotten (it would answer
// as a new one would), and past MaxKeys the oldest are forgotten first.
package ratelimit

import (
	"container/list"
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/inwords"
)

// MaxKeys is the most callers a Limiter remembers at once (a few hundred bytes
// each, so some 12 MB at most). An attacker cycling through addresses makes it
// forget the least recently seen first, never grow.
const MaxKeys = 50_000

// Limiter is a token bucket per key (a caller, a client address).
type Limiter struct {
	rate  rate.Limit
	burst int
	max   int
	now   func() time.Time

	mu   sync.Mutex
	seen map[string]*list.Element // of *entry, most recently used at the front
	lru  list.List
}

type entry struct {
	key  string
	l    *rate.Limiter
	last time.Time
}

// New allows each key perSecond requests a second on average and burst at once.
func New(perSecond float64, burst int) *Limiter {
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, max: MaxKeys, now: time.Now, seen: map[string]*list.Element{}}
}

// WithMaxKeys returns l remembering at most n keys (tests use a small n).
func (l *Limiter) WithMaxKeys(n int) *Limiter {
	l.max = max(n, 1)
	return l
}

// Allow takes one token from key's bucket. When there is none it returns false and
// how long until there will be one.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.evict(now)
	var e *entry
	if el, ok := l.seen[key]; ok {
		e = el.Value.(*entry)
		l.lru.MoveToFront(el)
	} else {
		e = &entry{key: key, l: rate.NewLimiter(l.rate, l.burst)}
		l.seen[key] = l.lru.PushFront(e)
	}
	e.last = now
	r := e.l.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Len is how many keys l remembers now.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// evict forgets the keys idle long enough for their bucket to be full again, which
// are exactly those a new bucket would answer alike, and then the least recently
// used while over the bound. The list is in order of last use, so it stops at the
// first key still in use.
func (l *Limiter) evict(now time.Time) {
	refill := time.Hour // a bucket that never refills is kept until the bound needs room
	if l.rate > 0 {
		refill = max(time.Duration(min(float64(l.burst)/float64(l.rate), 3600)*float64(time.Second)), time.Second)
	}
	for back := l.lru.Back(); back != nil; back = l.lru.Back() {
		e := back.Value.(*entry)
		if len(l.seen) < l.max && now.Sub(e.last) < refill {
			return
		}
		l.lru.Remove(back)
		delete(l.seen, e.key)
	}
}

// Refusal is the error of a request over its limit: 429 with Retry-After.
func Refusal(what string, d time.Duration) error {
	secs := max(int(math.Ceil(d.Seconds())), 1)
	return apperr.New(apperr.RateLimited, "too many %s; retry in %s", what, inwords.Duration(d)).Passing(time.Duration(secs) * time.Second)
}

// Caller names the authenticated caller of r, for a bucket of its own: the same
// person acting for another organisation is another caller.
func Caller(r *http.Request) (string, bool) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return "", false
	}
	return p.Org + "|" + p.Subject, true
}
