package ratelimit

import (
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeNow is a clock the test moves by hand.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func TestConcurrentCallersGetExactlyTheBurst(t *testing.T) {
	t.Parallel()
	clock := &fakeNow{t: time.Unix(1_800_000_000, 0)}
	l := New(1, 5)
	l.now = clock.now
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed, retry := 0, time.Duration(0)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, d := l.Allow("org|u1")
			mu.Lock()
			defer mu.Unlock()
			if ok {
				allowed++
			} else if d > retry {
				retry = d
			}
		}()
	}
	wg.Wait()
	if allowed != 5 || retry <= 0 || retry > time.Second {
		t.Errorf("50 at once with burst 5: %d allowed, retry after %s; want 5 and at most 1s", allowed, retry)
	}
	clock.add(time.Second)
	if ok, _ := l.Allow("org|u1"); !ok {
		t.Error("a token did not come back after a second at 1/s")
	}
}

func TestIdleCallersAreForgottenAndMemoryIsBounded(t *testing.T) {
	t.Parallel()
	clock := &fakeNow{t: time.Unix(1_800_000_000, 0)}
	l := New(10, 20).WithMaxKeys(100)
	l.now = clock.now
	for i := range 1000 {
		l.Allow(fmt.Sprintf("198.51.100.%d", i))
		if n := l.Len(); n > 100 {
			t.Fatalf("%d keys remembered, bound 100", n)
		}
	}
	// A bucket refills in burst/rate = 2s; idle longer, a caller is forgotten.
	clock.add(3 * time.Second)
	l.Allow("another")
	if n := l.Len(); n != 1 {
		t.Errorf("%d keys remembered after every other went idle, want 1", n)
	}
	// A caller in use is not forgotten while it is at its limit: forgetting it would
	// give it a full bucket again.
	busy := New(0.1, 1).WithMaxKeys(100)
	busy.now = clock.now
	busy.Allow("busy")
	clock.add(2 * time.Second)
	busy.Allow("other")
	if ok, _ := busy.Allow("busy"); ok {
		t.Error("a caller at its limit was forgotten after 2s of a 10s refill")
	}
}

func TestClientAddrBelievesOnlyTrustedProxies(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tt := range []struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		{"192.0.2.7:5555", "203.0.113.1", nil, "192.0.2.7"},
		{"10.1.2.3:5555", "203.0.113.1", nil, "10.1.2.3"},
		{"10.1.2.3:5555", "203.0.113.1", trusted, "203.0.113.1"},
		{"10.1.2.3:5555", "198.51.100.9, 203.0.113.1, 10.9.9.9", trusted, "203.0.113.1"},
		{"10.1.2.3:5555", "", trusted, "10.1.2.3"},
		{"10.1.2.3:5555", "not-an-address", trusted, "10.1.2.3"},
		{"192.0.2.7:5555", "203.0.113.1", trusted, "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:5555", "", nil, "2001:db8:1:2::/64"},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := ClientAddr(r, tt.trusted); got != tt.want {
			t.Errorf("remote %s, X-Forwarded-For %q, trusted %v: %s, want %s", tt.remote, tt.xff, tt.trusted, got, tt.want)
		}
	}
}
