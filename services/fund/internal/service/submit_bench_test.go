package service_test

import (
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/itss/techcommit/libs/auth"
)

// BenchmarkSubmit submits drafts of one round from 32 clients at once over a real
// socket: the path a round's submissions take near its close, which checks each on
// one of the round's window records (package window) before recording it. The
// drafts are made first, untimed. cpu-ns/op is the process's CPU time per
// submission (client and embedded FerretDB included).
func BenchmarkSubmit(b *testing.B) {
	h := start(b)
	h.announce("org-a", "signatory")
	round := h.openRound(100000000, 100, 100000)
	applicant := h.Token(auth.RoleApplicant, "org-a")
	h.eligible(applicant, round, 500)
	ids := make([]string, b.N)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
				ids[i] = h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, draft(round, 500))).JSON(b)["id"].(string)
			}
		})
	}
	wg.Wait()
	next.Store(0)

	// 32 clients at once, as `make bench` runs them, whatever GOMAXPROCS is.
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)-1]
			if r := h.Do("POST", "/v1/applications/"+id+"/submission", applicant, nil); r.Status != http.StatusOK {
				b.Errorf("submission %s: %d %s", id, r.Status, r.Body)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
