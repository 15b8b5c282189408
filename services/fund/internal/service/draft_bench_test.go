package service_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
)

// BenchmarkDraft posts draft applications over a real socket from many clients at
// once, as `make bench` does, so that a CPU profile of it shows what the HTTP
// pipeline (middleware, validation, token checks, tracing, logging) costs per draft.
// cpu-ns/op is the process's CPU time per draft: the client and the embedded
// FerretDB run in the same process, so it is an upper bound on the service's own.
func BenchmarkDraft(b *testing.B) {
	h := start(b)
	h.announce("org-a", "signatory")
	round := h.openRound(100000000, 100, 100000)
	applicant := h.Token(auth.RoleApplicant, "org-a")
	h.eligible(applicant, round, 500)
	body, err := json.Marshal(draft(round, 500))
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	post := func() error {
		req, err := http.NewRequest(http.MethodPost, h.URL+"/v1/applications", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+applicant)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusCreated {
			return &statusError{resp.StatusCode, data}
		}
		return nil
	}

	// 32 clients at once, as `make bench` runs them, whatever GOMAXPROCS is.
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := post(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

type statusError struct {
	status int
	body   []byte
}

func (e *statusError) Error() string {
	return "status " + http.StatusText(e.status) + ": " + string(e.body)
}

// processCPU is the user and system CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
