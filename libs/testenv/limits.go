package testenv

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// Race sends n requests at once (do(i) sends the i-th) and counts the answers by
// status. Every 429 must be problem+json of type rate_limited with a Retry-After
// of at least one second, or the test fails.
func (c *Client) Race(n int, do func(i int) Response) map[int]int {
	c.TB.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := do(i)
			if r.Status == http.StatusTooManyRequests {
				var p struct {
					Type string `json:"type"`
				}
				_ = json.Unmarshal(r.Body, &p)
				secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
				if r.Header.Get("Content-Type") != "application/problem+json" || p.Type == "" || err != nil || secs < 1 {
					c.TB.Errorf("429 is not a rate_limited problem with a Retry-After: %q %q %s", r.Header.Get("Content-Type"), r.Header.Get("Retry-After"), r.Body)
				}
			}
			mu.Lock()
			counts[r.Status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}
