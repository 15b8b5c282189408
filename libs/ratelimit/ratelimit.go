// Package ratelimit bounds how fast one caller may write, so that one misbehaving
// client tool cannot crowd out the others in the last hour before a round closes.
// The buckets live in the memory of each replica: with N replicas a caller gets at
// most N times the rate, which is the bound we want from it.
package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
)

// Limiter is a token bucket per caller.
type Limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	seen  map[string]*entry
}

type entry struct {
	l    *rate.Limiter
	last time.Time
}

// New allows each caller perSecond writes a second on average and burst at once.
func New(perSecond float64, burst int) *Limiter {
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, seen: map[string]*entry{}}
}

// Middleware refuses writes (not GET or HEAD) over the rate with 429 and Retry-After.
func (l *Limiter) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			m := c.Request().Method
			p, ok := auth.FromContext(c.Request().Context())
			if m == http.MethodGet || m == http.MethodHead || !ok {
				return next(c)
			}
			r := l.reserve(p.Org + "|" + p.Subject)
			if d := r.Delay(); d > 0 {
				r.Cancel()
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
				return apperr.New(apperr.RateLimited, "too many writes; retry in %d seconds", int(math.Ceil(d.Seconds())))
			}
			return next(c)
		}
	}
}

func (l *Limiter) reserve(key string) *rate.Reservation {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.seen) > 10000 {
		for k, e := range l.seen {
			if now.Sub(e.last) > time.Minute {
				delete(l.seen, k)
			}
		}
	}
	e, ok := l.seen[key]
	if !ok {
		e = &entry{l: rate.NewLimiter(l.rate, l.burst)}
		l.seen[key] = e
	}
	e.last = now
	return e.l.ReserveN(now, 1)
}
